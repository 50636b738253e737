"""The world's base rates: how often each act happens, and how traits change that.

Rates are per eligible citizen per day (eligibility: scorelab.vocabulary). They are
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


RATES: dict[str, Rate] = {
    "court_judgment_unpaid": Rate(0.00002, {"conscientiousness": -0.5, "income_z": -0.3}),
    "judgment_repaid": Rate(0.004, {"conscientiousness": 0.4, "income_z": 0.3}),
    "traffic_violation": Rate(0.0015, {"impulsivity": 0.4, "conscientiousness": -0.3, "young": 0.4}),
    "drunk_driving": Rate(0.00004, {"impulsivity": 0.6, "young": 0.4}),
    "theft_mischief": Rate(0.00008, {"impulsivity": 0.6, "conscientiousness": -0.4, "young": 0.5}),
    "embezzlement": Rate(0.00002, {"conscientiousness": -0.5}),
    "volunteering": Rate(0.002, {"civic_mindedness": 0.6}),
    "helping_elderly": Rate(0.003, {"civic_mindedness": 0.5}),
    "blood_donation": Rate(0.0003, {"civic_mindedness": 0.4}),
    "heroic_act": Rate(0.00001, {"civic_mindedness": 0.4}),
    "leader_speech": Rate(0.004, {"civic_mindedness": 0.3, "outspokenness": -0.3}),
    "dog_fouling": Rate(0.001, {"conscientiousness": -0.5}),
    "noise_complaint": Rate(0.0008, {"conscientiousness": -0.4}),
    "junk_food_purchase": Rate(0.006, {"impulsivity": 0.5, "young": 0.3}),
    "alcohol_purchase": Rate(0.004, {"impulsivity": 0.4}),
    "gaming_purchase": Rate(0.003, {"impulsivity": 0.4, "young": 0.8}),
    "foreign_trip": Rate(0.0004, {"income_z": 0.6, "urban": 0.5}),
    "undesirable_trip": Rate(0.00003, {"outspokenness": 0.5, "income_z": 0.3}),
    "online_benign": Rate(0.01),
    "illegal_site_visit": Rate(0.0003, {"impulsivity": 0.4, "young": 0.5}),
    "antigov_post": Rate(0.0002, {"outspokenness": 0.8, "civic_mindedness": -0.2}),
    "antigov_site_visit": Rate(0.0004, {"outspokenness": 0.6}),
    "snarky_comment": Rate(0.0015, {"outspokenness": 0.6, "young": 0.4}),
    "restricted_place": Rate(0.0008, {"outspokenness": 0.3}),
    "against_crowd": Rate(0.0005, {"impulsivity": 0.3}),
    "flight_purchase": Rate(0.004, {"income_z": 0.6, "urban": 0.4}),
    "rail_purchase": Rate(0.008, {"income_z": 0.4, "urban": 0.3}),
    "restaurant_visit": Rate(0.01, {"income_z": 0.5, "urban": 0.3}),
    "venue_visit": Rate(0.002, {"young": 0.5, "urban": 0.3}),
    "loan_application": Rate(0.0006, {"income_z": 0.3}),
    "insurance_purchase": Rate(0.0004, {"income_z": 0.3}),
    "account_opening": Rate(0.0005),
    "rental": Rate(0.0005, {"young": 0.6, "urban": 0.5}),
    "large_purchase": Rate(0.004),
    "utility_payment": Rate(1.0 / 30.0),
    "job_application": Rate(0.02),
    "platform_sale": Rate(0.1),  # a batch of orders every ten days per seller (assumption)
}


def rate_of(name: str) -> Rate:
    """The base rate of an event type; scheduled events have none (0 per day)."""
    return RATES.get(name, Rate(0.0))
