"""The world's base rates: how often each act happens, and how traits change that.

The rates live in the world file (`events:`, scorelab.world; docs/WORLD.md); `RATES` holds the
default world's. Rates are per eligible citizen per day (eligibility: scorelab.vocabulary). They are
order-of-magnitude assumptions unless a source is given; presets calibrate what they need
(e.g. court judgments, issue 3). Trait coefficients multiply the rate by
exp(sum(coef * column)) where the columns are citizen attributes (traits are standard normal;
`young`, `urban`, `unemployed` are 0/1; `income_z` is standardised log income).

Scheduled events (loan instalments, the economy's balance checks, college and school
applications, police stops) have no rate here: their schedulers draw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The vocabulary is re-exported for code that still imports it from here (kept while other
# branches move their imports to scorelab.vocabulary).
from scorelab.vocabulary import CHANNEL_INDEX, CHANNELS, EVENT_INDEX, N_EVENT_TYPES  # noqa: F401
from scorelab.vocabulary import EVENTS as CATALOGUE  # noqa: F401
from scorelab.vocabulary import event_kind as event_type  # noqa: F401


@dataclass(frozen=True)
class Rate:
    per_day: float
    traits: dict[str, float] = field(default_factory=dict)


def _default_rates() -> dict[str, Rate]:
    """The default world's rates (society/data/census2020.yaml `events`; a run reads its own world's)."""
    from scorelab.world import RATED, default_world

    events = default_world().spec.events
    return {name: Rate(r.rate, dict(r.traits)) for name in RATED if (r := getattr(events, name)) is not None}


RATES: dict[str, Rate] = _default_rates()


def rate_of(name: str) -> Rate:
    """The base rate of an event type; scheduled events have none (0 per day)."""
    return RATES.get(name, Rate(0.0))
