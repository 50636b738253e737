"""Association (S1-M7): household members of a penalised citizen inherit a share of the penalty."""

from __future__ import annotations

import numpy as np
import pytest

from _support import read, regime_dict, run_sim
from scorelab.society.model import SocietySpec, build_society

SHARE = 0.5
POINTS = -300.0
N, DAYS, SEED = 20_000, 120, 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    soc = build_society(SocietySpec(citizens=N, seed=SEED))
    regime = regime_dict(
        "drunk-association",
        channels={"police": {"assumption": True, "coverage": 1.0}, "cameras": {"assumption": True, "coverage": 1.0}},
        rules=[{"name": "drunk", "event": "drunk_driving", "points": POINTS}],
        association={"household_share": SHARE, "contact_share": 0.0},
    )
    folder = tmp_path_factory.mktemp("assoc")
    run_sim(soc, regime, DAYS, SEED, folder)
    return soc, read(folder, "ledger.parquet")


def test_offences_and_spill_over_happened(run):
    _, ledger = run
    assert (ledger.channel != "association").sum() > 20
    assert (ledger.channel == "association").sum() > 20


def test_household_members_of_offenders_receive_association_rows(run):
    soc, ledger = run
    household = soc.cols["household"]
    own = ledger[ledger.channel != "association"]
    assoc = ledger[ledger.channel == "association"]
    assert (own.source_citizen == -1).all()
    assert set(own.rule) == {"state:drunk"} and set(assoc.rule) == {"state:assoc:drunk"}
    # expected: for every penalising row, every other member of the offender's household, same day
    expected = []
    for day, offender, delta in zip(own.day, own.citizen, own.delta, strict=True):
        if delta < 0:
            h = household[offender]
            members = soc.household_members[soc.household_indptr[h]:soc.household_indptr[h + 1]]
            expected += [(day, offender, m) for m in members if m != offender]
    got = list(zip(assoc.day, assoc.source_citizen, assoc.citizen, strict=True))
    assert sorted(got) == sorted(expected)


def test_nobody_else_is_touched(run):
    soc, ledger = run
    household = soc.cols["household"]
    assoc = ledger[ledger.channel == "association"]
    src, tgt = assoc.source_citizen.to_numpy(), assoc.citizen.to_numpy()
    assert np.all(household[src] == household[tgt]) and np.all(src != tgt)
    own = ledger[ledger.channel != "association"]
    offenders = set(own.citizen)
    touched = set(ledger.citizen)
    assert touched <= offenders | set(tgt)


def test_association_delta_is_the_share_of_the_penalty(run):
    _, ledger = run
    own = ledger[ledger.channel != "association"]
    assoc = ledger[ledger.channel == "association"]
    penalty = {(d, c): x for d, c, x in zip(own.day, own.citizen, own.delta, strict=True)}
    for day, src, delta in zip(assoc.day, assoc.source_citizen, assoc.delta, strict=True):
        inherited = SHARE * penalty[(day, src)]
        assert inherited <= delta <= 0  # equal unless the member's score hit the floor
    exact = [abs(d - SHARE * penalty[(day, s)]) < 1e-9 for day, s, d in
             zip(assoc.day, assoc.source_citizen, assoc.delta, strict=True)]
    assert np.mean(exact) > 0.9
