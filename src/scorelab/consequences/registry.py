"""The registry of effects: each effect of scorelab.vocabulary.EFFECT_TABLE has one handler.

A handler receives the day's decisions of its effect (by their positions in the batch) and
the World, and changes what happens next: an attempt refused is not made, money moves, a
job is lost, an account closes. A new effect is one handler here plus its vocabulary entry.
Refusals run first, so that a price or a priority never applies to an attempt refused.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scorelab.consequences.world import World
from scorelab.tables import Decisions
from scorelab.vocabulary import EFFECTS

Handler = Callable[[Decisions, np.ndarray, World], None]
HANDLERS: dict[str, Handler] = {}


def handles(effect: str) -> Callable[[Handler], Handler]:
    """Register `fn` as the handler of `effect` (one handler per effect)."""
    if effect not in EFFECTS:
        raise KeyError(f"unknown effect {effect!r}")

    def register(fn: Handler) -> Handler:
        if effect in HANDLERS:
            raise KeyError(f"effect {effect!r} already has a handler")
        HANDLERS[effect] = fn
        return fn

    return register


def apply(dec: Decisions, world: World) -> None:
    """Apply every decision's effect, refusals first."""
    if not len(dec):
        return
    _load()
    for name in sorted(set(EFFECTS[int(e)] for e in np.unique(dec.effect)), key=lambda x: x != "refuse"):
        idx = np.flatnonzero(dec.effect == EFFECTS.index(name))
        HANDLERS[name](dec, idx, world)


def _load() -> None:
    """Import the handler modules (each registers its handlers when imported)."""
    if len(HANDLERS) == len(EFFECTS):
        return
    from scorelab.consequences import access, accounts, employment, internet, nudges, payments, police  # noqa: F401

    missing = set(EFFECTS) - set(HANDLERS)
    if missing:
        raise RuntimeError(f"effects without a handler: {', '.join(sorted(missing))}")
