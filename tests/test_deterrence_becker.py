"""Deterrence (S2-N8) in Becker's risk-neutral case, through the whole engine (scorelab.api.run).

Becker (1968): a risk-neutral citizen offends when the gain exceeds the expected penalty p f. With gains
uniform on [0, 1] the offence rate falls to 1 - p f of its undeterred level. scorelab's aware citizen
offends at rate x (1 - p^a f^b) (behaviour/draw.py, `_deterrence`); with a = b = 1 that is Becker's case.

Set-up: everyone is aware (SocietySpec(awareness=1.0)); one channel (cameras, which observe traffic
violations) with coverage p and miss 0, so the perceived chance of a record is p; one rule, a traffic
violation costs 100 f points with severity_scale 100, so the perceived stake is f; list_weight 0 and no
lists. The baseline `none` runs on the same society with the same seed: every behavioural random number
is shared (common random numbers), so each baseline violation survives in the regime run with probability
exactly 1 - p f, independently, and nothing else changes.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from scorelab.api import run
from scorelab.society.model import SocietySpec, build_society
from scorelab.store.runfolder import read_manifest

CITIZENS, DAYS, SEED = 60_000, 120, 8
EVENT = "traffic_violation"  # rate 0.0015 per adult-day: 11,677 in the baseline at this size and seed
CASES = [(0.4, 0.25), (0.4, 0.5), (0.8, 0.25), (0.8, 0.5)]  # (p, f)


def regime_yaml(p: float, f: float) -> str:
    data = {
        "name": f"becker-p{round(100 * p)}-f{round(100 * f)}",
        "title": "Becker's risk-neutral deterrence",
        "description": "one channel with coverage p, one rule costing 100 f points; a = b = 1",
        "references": {"becker": {"title": "Becker 1968, Crime and punishment: an economic approach"}},
        "deterrence": {"source": "becker", "certainty_exponent": 1.0, "severity_exponent": 1.0,
                       "severity_scale": 100, "list_weight": 0.0, "reward_response": 0.0},
        "topology": "unified",
        "scorers": [{
            "name": "state",
            "score": {"assumption": True, "initial": 1000, "min": -1.0e9, "max": 1.0e9},
            "channels": {"cameras": {"assumption": True, "coverage": p, "miss": 0.0}},
            "rules": [{"name": "ticket", "event": EVENT, "points": -100.0 * f, "assumption": True}],
        }],
    }
    return yaml.safe_dump(data, sort_keys=False)


def counts(folder) -> dict[str, int]:
    t = pq.read_table(folder / "event_counts.parquet").to_pandas()
    return {str(k): int(v) for k, v in t.groupby("event_type", observed=True)["count"].sum().items()}


@pytest.fixture(scope="module")
def society():
    return build_society(SocietySpec(citizens=CITIZENS, seed=SEED, awareness=1.0))


@pytest.fixture(scope="module")
def runs(society, tmp_path_factory):
    """Run each regime; the first also runs the paired baseline, which the others share (same society, seed)."""
    out = tmp_path_factory.mktemp("becker")
    folders, base = {}, None
    for p, f in CASES:
        path = out / f"becker-{p}-{f}.yaml"
        path.write_text(regime_yaml(p, f))
        folder = run(path, society=society, days=DAYS, seed=SEED, baseline="none" if base is None else None,
                     out=out / "runs", events="none")
        if base is None:
            base = out / "runs" / read_manifest(folder)["baseline"]
        folders[(p, f)] = folder
    return counts(base), {k: counts(v) for k, v in folders.items()}


def test_everyone_is_aware(society):
    assert society.cols["aware"].all()


@pytest.mark.parametrize(("p", "f"), CASES)
def test_offence_rate_is_one_minus_p_f(runs, p, f):
    base, regimes = runs
    got = regimes[(p, f)]
    n_base = base[EVENT]
    assert n_base > 10_000
    ratio = got[EVENT] / n_base
    expected = 1.0 - p * f
    # Given the baseline's violations, the regime run keeps each with probability 1 - p f independently
    # (common random numbers): Binomial(n_base, 1 - p f). 4 binomial sd: at most 0.018 here (p f = 0.4),
    # a false alarm once in 16,000. The severity exponent 0.5 of the unified preset would give
    # 1 - p sqrt(f), 0.04 to 0.08 lower: well outside.
    # Measured (p, f): (0.4, 0.25) 0.8974 vs 0.9; (0.4, 0.5) and (0.8, 0.25) 0.7929 vs 0.8 (-1.9 sd);
    # (0.8, 0.5) 0.5966 vs 0.6.
    sd = np.sqrt(p * f * (1 - p * f) / n_base)
    assert abs(ratio - expected) < 4 * sd, (ratio, expected, sd, n_base)
    # and nothing else moved: every other event type has exactly the baseline's count
    others = {k: v for k, v in got.items() if k != EVENT}
    assert others == {k: v for k, v in base.items() if k != EVENT}


def test_only_the_expected_penalty_matters(runs):
    # a = b = 1: (p, f) = (0.4, 0.5) and (0.8, 0.25) share p f = 0.2, and with common random numbers
    # they keep exactly the same violations
    _, regimes = runs
    assert regimes[(0.4, 0.5)] == regimes[(0.8, 0.25)]
