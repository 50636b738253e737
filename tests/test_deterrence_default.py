"""Without a `deterrence` block rewarded acts do not rise (docs/REGIME_LANGUAGE.md promises
reward_response 0, not the schema default of 0.5)."""

from __future__ import annotations

import numpy as np

from _support import compiled, regime_dict, run_sim
from scorelab.behaviour.catalogue import EVENT_INDEX
from scorelab.society.model import SocietySpec, build_society

REWARD_VOLUNTEERING = regime_dict(
    "reward-volunteering",
    channels={"community": {"assumption": True, "coverage": 1.0}},
    rules=[{"name": "volunteer", "event": "volunteering", "points": 50}],
)
NONE = {"name": "none", "title": "t", "description": "d", "topology": "none"}


def test_no_deterrence_block_means_no_reward_response():
    assert compiled(REWARD_VOLUNTEERING).reward_response == 0.0
    with_block = {**REWARD_VOLUNTEERING, "deterrence": {"assumption": True}}
    assert compiled(with_block).reward_response == 0.5  # the schema's default, when a block is given


def test_aware_citizens_do_not_volunteer_more_without_a_deterrence_block(tmp_path):
    soc = build_society(SocietySpec(citizens=3000, seed=3, awareness=1.0))
    base = run_sim(soc, NONE, 60, 3, tmp_path / "none")
    rewarded = run_sim(soc, REWARD_VOLUNTEERING, 60, 3, tmp_path / "reward")
    k = EVENT_INDEX["volunteering"]
    assert base.event_counts[:, k].sum() > 50
    assert np.array_equal(base.event_counts[:, k], rewarded.event_counts[:, k])
