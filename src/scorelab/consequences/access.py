"""Doors at the moment of an attempt (S1-M2, S1-M6, S1-M9): refusals, prices, priority, deposits.

A refused attempt does not happen: its outcome is `refused`, and nothing downstream treats it
as made (the trip is not taken, the meal not eaten, the loan not granted). A refused trip may
be replaced by a slower one (`substituted`), at a cost in time the economy counts.
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences.registry import handles
from scorelab.consequences.world import PURPOSE, World, purpose_code
from scorelab.streams import stream
from scorelab.tables import Decisions
from scorelab.vocabulary import EVENTS, MADE, REFUSED, SECTOR_INDEX, SUBSTITUTED, WORKING_SECTORS

SUBSTITUTE_HOURS = np.array([e.substitute_hours if e.substitute else 0.0 for e in EVENTS])
HAS_SUBSTITUTE = np.array([e.substitute is not None for e in EVENTS])
WORKING = np.zeros(len(SECTOR_INDEX), bool)
WORKING[[SECTOR_INDEX[s] for s in WORKING_SECTORS]] = True
LOAN = purpose_code("loan")


def refuse_events(world: World, pos: np.ndarray, wrongful: np.ndarray, cause: str) -> np.ndarray:
    """Refuse the attempts at `pos` (each rightful if any of its refusals was); return the positions
    refused now. Trips with a substitute are replaced by it with the world's substitute share."""
    ev = world.events
    open_ = ev.outcome[pos] == MADE
    pos, wrongful = pos[open_], wrongful[open_]
    if not len(pos):
        return pos
    uniq, inv = np.unique(pos, return_inverse=True)
    all_wrong = np.ones(len(uniq), bool)
    np.logical_and.at(all_wrong, inv, wrongful)
    ev.outcome[uniq] = REFUSED
    world.wrongful[uniq] = all_wrong
    sub = uniq[HAS_SUBSTITUTE[ev.etype[uniq]]]
    if len(sub):
        u = stream(world.seed, "consequences.substitute", world.day, world.next_call()).random(len(sub))
        took = sub[u < world.params.substitute_share]
        ev.outcome[took] = SUBSTITUTED
        cit = ev.citizen[took]
        hours = SUBSTITUTE_HOURS[ev.etype[took]]
        workers = WORKING[world.state.sector[cit]]
        world.economy.lose(cit[workers], hours[workers] * world.economy.hourly(cit[workers]),
                           world.wrongful[took][workers])
    world.counters[f"refused:{cause}"] += len(uniq)
    return uniq


@handles("refuse")
def refuse(dec: Decisions, idx: np.ndarray, world: World) -> None:
    refuse_events(world, world.positions(dec.event_id[idx]), dec.wrongful[idx], "decision")


@handles("price")
def price(dec: Decisions, idx: np.ndarray, world: World) -> None:
    """A surcharge or a discount on an attempt that goes ahead; a loan's rate for its whole life."""
    pos = world.positions(dec.event_id[idx])
    made = world.events.outcome[pos] == MADE
    idx, pos = idx[made], pos[made]
    loan = PURPOSE[world.events.etype[pos]] == LOAN
    np.multiply.at(world.loan_factor, pos[loan], dec.price_factor[idx[loan]].astype(np.float64))
    rest, rpos = idx[~loan], pos[~loan]
    money = -(dec.price_factor[rest].astype(np.float64) - 1.0) * world.economy.prices[world.events.etype[rpos]]
    dec.money[rest] = money
    world.economy.pay(dec.citizen[rest], money, "measures", world.day)


@handles("priority")
def priority(dec: Decisions, idx: np.ndarray, world: World) -> None:
    """S1-M9 preferred access: the citizen gets in when the place is full."""
    world.priority[world.positions(dec.event_id[idx])] = True


@handles("waive_deposit")
def waive_deposit(dec: Decisions, idx: np.ndarray, world: World) -> None:
    pos = world.positions(dec.event_id[idx])
    world.waived[pos] = True
    dec.money[idx] = world.economy.prices[world.events.etype[pos]]  # the deposit left in savings
