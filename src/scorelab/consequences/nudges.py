"""S2-N3: the same data, different answers: health advice lowers a purchase habit, coupons raise it."""

from __future__ import annotations

import numpy as np

from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.tables import Decisions


def _nudge(dec: Decisions, idx: np.ndarray, world: World) -> None:
    for etype in np.unique(dec.event_type[idx]):
        sel = idx[dec.event_type[idx] == etype]
        for factor in np.unique(dec.rate_factor[sel]):
            who = dec.citizen[sel[dec.rate_factor[sel] == factor]]
            world.state.modify_rate(int(etype), who, float(factor))


handles("advice")(_nudge)
handles("coupon")(_nudge)
