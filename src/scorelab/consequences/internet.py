"""Internet access as a citizen's state: a regime can cut it (nothing online: posts, searches,
online job applications, platform sales) for a while."""

from __future__ import annotations

import numpy as np

from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.tables import Decisions


@handles("cut_internet")
def cut_internet(dec: Decisions, idx: np.ndarray, world: World) -> None:
    cit = dec.citizen[idx]
    st = world.state
    st.online[cit] = False
    world.internet_cut_wrongful[cit] = dec.wrongful[idx]
    st.online_back[cit] = np.maximum(st.online_back[cit], world.day + dec.duration[idx].astype(np.int32))


def restore(world: World) -> None:
    """Cuts that end today: those who had access get it back."""
    st = world.state
    back = np.flatnonzero(st.online_back == world.day)
    st.online[back] = world.cols["online"][back]
    st.online_back[back] = -1
