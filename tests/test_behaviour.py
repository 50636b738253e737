"""Deterrence (S2-N8): aware citizens commit fewer punished acts; the unaware do not react.

A run and its baseline share every behavioural random number (common random numbers), so the
unaware must produce exactly the baseline's events, not merely a similar number.
"""

from __future__ import annotations

import numpy as np
import pytest

from _support import read, regime_dict, run_sim
from scorelab.behaviour.catalogue import CATALOGUE, EVENT_INDEX
from scorelab.society.model import SocietySpec, build_society

N, DAYS, SEED = 5000, 60, 2
TRAFFIC = EVENT_INDEX["traffic_violation"]
POINTS = -50.0
# Without a `deterrence:` block the defaults are a = 1, b = 0.5, severity scale 100 points,
# no reward response.
A, B, SCALE = 1.0, 0.5, 100.0
PUNISH_TRAFFIC = regime_dict(
    "punish-traffic",
    channels={"police": {"assumption": True, "coverage": 1.0}, "cameras": {"assumption": True, "coverage": 1.0}},
    rules=[{"name": "ticket", "event": "traffic_violation", "points": POINTS}],
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for aware in (0.0, 1.0):
        soc = build_society(SocietySpec(citizens=N, seed=SEED, awareness=aware))
        for name, regime in (("none", {"name": "none", "title": "t", "description": "d", "topology": "none"}),
                             ("punish", PUNISH_TRAFFIC)):
            folder = tmp_path_factory.mktemp(f"{name}-{aware}")
            out[aware, name] = (run_sim(soc, regime, DAYS, SEED, folder), folder)
    return out


def test_unaware_citizens_do_not_react(runs):
    base, _ = runs[0.0, "none"]
    regime, _ = runs[0.0, "punish"]
    assert np.array_equal(base.event_counts, regime.event_counts)


def test_aware_citizens_commit_fewer_punished_acts(runs):
    base, _ = runs[1.0, "none"]
    regime, _ = runs[1.0, "punish"]
    b, r = base.event_counts[:, TRAFFIC].sum(), regime.event_counts[:, TRAFFIC].sum()
    assert b > 200  # enough events for the ratio below to mean something
    # Becker: rate x (1 - p^a f^b) with p = 1 (full coverage) and f = 50/100.
    expected = 1 - 1.0**A * (abs(POINTS) / SCALE) ** B
    # ~500 baseline events thinned binomially: SD of the ratio ~0.02; tolerance 0.08 is 4 SD
    assert r / b == pytest.approx(expected, abs=0.08)


def test_aware_citizens_change_only_the_punished_act(runs):
    base, _ = runs[1.0, "none"]
    regime, _ = runs[1.0, "punish"]
    other = np.arange(len(CATALOGUE)) != TRAFFIC
    assert np.array_equal(base.event_counts[:, other], regime.event_counts[:, other])


def test_deterred_events_are_a_subset_of_the_baseline(runs):
    """Common random numbers: deterrence only raises the bar, so every traffic violation that still
    happens under the regime also happened, on the same day by the same citizen, in the baseline."""
    _, base_dir = runs[1.0, "none"]
    _, reg_dir = runs[1.0, "punish"]
    b = read(base_dir, "events.parquet")
    r = read(reg_dir, "events.parquet")
    assert _traffic(r) < _traffic(b)  # a proper subset: some were deterred


def _traffic(events) -> set[tuple[int, int]]:
    t = events[events.event_type == "traffic_violation"]
    return set(zip(t.day.tolist(), t.citizen.tolist(), strict=True))


def test_unaware_citizens_do_not_react_with_a_deterrence_block(tmp_path):
    """A deterrence block (reward_response 0.5 by default) must not change the candidate draws of
    rewarded acts either: with nobody aware, every event count equals the baseline's."""
    regime = {**PUNISH_TRAFFIC, "deterrence": {"assumption": True}}  # default reward_response 0.5
    soc = build_society(SocietySpec(citizens=N, seed=SEED, awareness=0.0))
    none = {"name": "none", "title": "t", "description": "d", "topology": "none"}
    base = run_sim(soc, none, DAYS, SEED, tmp_path / "base")
    reg = run_sim(soc, regime, DAYS, SEED, tmp_path / "reg")
    assert np.array_equal(base.event_counts, reg.event_counts)

