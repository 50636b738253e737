"""S1-M8 payment access: "the power to bankrupt dissidents instantly by cutting off access".

A suspension blocks digital payments and digital income for its duration, and freezes the
digital share of savings; the citizen lives on cash. Digital purchases during it are paid in
cash where the seller still takes cash, and otherwise do not happen.
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.access import refuse_events
from scorelab.consequences.registry import handles
from scorelab.consequences.world import World
from scorelab.streams import stream
from scorelab.tables import Decisions
from scorelab.vocabulary import CASH, DIGITAL, MADE


@handles("suspend")
def suspend(dec: Decisions, idx: np.ndarray, world: World) -> None:
    cit = dec.citizen[idx]
    world.economy.suspend(cit, world.day, dec.duration[idx], dec.wrongful[idx], world.cashless(cit))


def block_digital_payments(world: World) -> None:
    """Today's digital payments by suspended citizens: cash where accepted, else refused."""
    ev = world.events
    digital = np.flatnonzero((ev.paid == DIGITAL) & (ev.outcome == MADE))
    if not len(digital):
        return
    blocked = digital[world.economy.is_suspended(ev.citizen[digital], world.day)]
    if not len(blocked):
        return
    u = stream(world.seed, "consequences.cash_acceptance", world.day).random(len(blocked))
    cash = u < world.params.cash_acceptance
    ev.paid[blocked[cash]] = CASH
    no = blocked[~cash]
    refuse_events(world, no, world.economy.suspension_wrongful[ev.citizen[no]], "suspension")
