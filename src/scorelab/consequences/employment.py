"""Job loss and hiring (S1-M6, S2-N2, S1-M12): decisions move citizens in and out of work."""

from __future__ import annotations

import numpy as np

from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.streams import stream
from scorelab.tables import Decisions, EventBatch
from scorelab.vocabulary import MADE, SECTOR_INDEX, UNEMPLOYED, WORKING_SECTORS

WORKING = np.zeros(len(SECTOR_INDEX), bool)
WORKING[[SECTOR_INDEX[s] for s in WORKING_SECTORS]] = True


@handles("dismiss")
def dismiss(dec: Decisions, idx: np.ndarray, world: World) -> None:
    """The citizen loses their job; the income lost is counted each month until a new one."""
    cit = dec.citizen[idx]
    working = WORKING[world.state.sector[cit]]
    cit, wrongful = cit[working], dec.wrongful[idx][working]
    world.state.sector[cit] = UNEMPLOYED
    world.economy.dismissed[cit] = True
    world.economy.dismissed_wrongful[cit] = wrongful


def hire(world: World, jobs: np.ndarray) -> None:
    """Job applications (positions in today's events) that were made may lead to a job.

    The hiring draw is made for every application (refused or not) so that a run and its
    baseline consume the same random numbers.
    """
    if not len(jobs):
        return
    ev: EventBatch = world.events
    u = stream(world.seed, "consequences.hiring", world.day).random(len(jobs))
    hired = jobs[(u < world.params.hire_probability) & (ev.outcome[jobs] == MADE)]
    hired = hired[world.state.sector[ev.citizen[hired]] == UNEMPLOYED]
    cit = ev.citizen[hired]
    world.state.sector[cit] = ev.target[hired]
    world.economy.dismissed[cit] = False
