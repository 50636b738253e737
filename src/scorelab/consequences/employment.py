"""Job loss and hiring (S1-M6, S2-N2, S1-M12): sanctions move citizens in and out of work."""

from __future__ import annotations

import numpy as np

from scorelab.streams import stream
from scorelab.tables import SECTOR_INDEX

HIRE_PROBABILITY = 0.08  # chance a job application not refused leads to a job (assumption)
WORKING = np.zeros(len(SECTOR_INDEX), bool)
WORKING[[SECTOR_INDEX[s] for s in ("agriculture", "manufacturing", "services", "finance", "public",
                                   "security_linked")]] = True


def apply_employment(state, citizen: np.ndarray, is_job: np.ndarray, target: np.ndarray, refused: np.ndarray,
                     dismissed: list[np.ndarray], seed: int, day: int) -> None:
    """Dismissed workers become unemployed; applications that no sanction refused may succeed.

    The hiring draw is made for every application (refused or not) so that a run and its
    baseline consume the same random numbers.
    """
    for cit in dismissed:
        if len(cit):
            working = cit[WORKING[state.sector[cit]]]
            state.sector[working] = SECTOR_INDEX["unemployed"]
    apps = np.flatnonzero(is_job)
    if not len(apps):
        return
    u = stream(seed, "consequences.hiring", day).random(len(apps))
    hired = apps[(u < HIRE_PROBABILITY) & ~refused[apps]]
    hired = hired[state.sector[citizen[hired]] == SECTOR_INDEX["unemployed"]]
    state.sector[citizen[hired]] = target[hired]
