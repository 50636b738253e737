"""The event catalogue: every behaviour the source documents name, with a daily base rate.

Rates are per eligible citizen per day. They are order-of-magnitude assumptions unless a
source is given; presets calibrate what they need (e.g. court judgments, issue 3). Trait
coefficients multiply the rate by exp(sum(coef * column)) where the columns are citizen
attributes (traits are standard normal; `young`, `urban`, `unemployed` are 0/1).

Categories:
- finance, legal, civic, nuisance, consumption, travel, online, presence: things people do;
- attempt: things people try that a regime may gate (buy a ticket, apply for a job or loan).

`polarity` is -1 for what a regime usually punishes, +1 for what it rewards, 0 for neutral.
`antisocial` marks the behaviour a regime claims to reduce (S2-N7's benefit); `expression`
marks lawful expression and movement whose fall is the chilling effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Channels (S1-M1, S1-M3, S1-M4, S1-M10, S2-N5). Order matters: an event is attributed to
# the first channel of a scorer that records it.
CHANNELS: tuple[str, ...] = (
    "payments",    # S1-M3 app and face payments; banks (S2-N1)
    "bank",        # S2-N1 loan repayments, balances
    "courts",      # court judgments, enforcement
    "police",      # police reports
    "cameras",     # S1-M4 cameras with face recognition
    "internet",    # S2-N5 internet monitoring
    "transport",   # ID-checked ticketing and border records (S2-N4)
    "devices",     # S1-M10 smartphones, wearables, IoT, smart-city sensors
    "community",   # neighbourhood committees, information collectors (Rongcheng)
    "neighbours",  # S2-N9 neighbour complaints
    "peers",       # S1-M11 peer reports, pile-ons
)
CHANNEL_INDEX = {name: i for i, name in enumerate(CHANNELS)}

SCHEDULED = "scheduled"


@dataclass(frozen=True)
class EventType:
    name: str
    category: str
    rate: float  # per eligible citizen per day; for scheduled events, see `schedule`
    channels: tuple[str, ...]
    mechanisms: tuple[str, ...]
    description: str
    polarity: int = 0
    traits: dict[str, float] = field(default_factory=dict)
    min_age: int = 18
    max_age: int = 120
    eligible: str | None = None  # name of a boolean citizen/state column that must be true
    purchase: bool = False  # paid for: observable by payments only if paid digitally (S1-M3)
    deterrable: bool = False
    antisocial: bool = False
    expression: bool = False
    schedule: str | None = None  # None: Poisson rate; otherwise drawn by a scheduler


def _e(*args, **kw) -> EventType:
    return EventType(*args, **kw)


CATALOGUE: tuple[EventType, ...] = (
    # --- finance (S2-N1): loan repayments are scheduled monthly per borrower
    _e("loan_on_time", "finance", 0.0, ("bank",), ("S2-N1",), "a loan instalment paid on time",
       polarity=+1, schedule="loan", eligible="has_loan"),
    _e("loan_late", "finance", 0.0, ("bank",), ("S2-N1",), "a loan instalment paid late",
       polarity=-1, schedule="loan", eligible="has_loan", deterrable=True, antisocial=True),
    _e("loan_missed", "finance", 0.0, ("bank",), ("S2-N1",), "a loan instalment missed",
       polarity=-1, schedule="loan", eligible="has_loan", deterrable=True, antisocial=True),
    _e("loan_default", "finance", 0.0, ("bank",), ("S2-N1",), "a loan defaulted (three missed instalments)",
       polarity=-1, schedule="loan", eligible="has_loan", antisocial=True),
    _e("min_balance_breach", "finance", 0.0, ("bank",), ("S2-N1",),
       "account balance below the required minimum (from the monthly money turnover)", polarity=-1,
       schedule="economy"),
    _e("court_judgment_unpaid", "finance", 0.00002, ("courts",), ("S2-N1",),
       "a court judgment debt left unpaid (the court blacklist's trigger)", polarity=-1,
       traits={"conscientiousness": -0.5, "income_z": -0.3}, deterrable=True, antisocial=True),
    _e("judgment_repaid", "finance", 0.004, ("courts",), ("S2-N1",),
       "an outstanding judgment debt repaid (compliance)", polarity=+1,
       traits={"conscientiousness": 0.4, "income_z": 0.3}, eligible="unpaid_judgment"),
    # --- legal (S2-N2, S1-M5)
    _e("traffic_violation", "legal", 0.0015, ("cameras", "police"), ("S1-M4", "S2-N2"),
       "a traffic violation", polarity=-1, traits={"impulsivity": 0.4, "conscientiousness": -0.3,
                                                   "young": 0.4}, deterrable=True, antisocial=True),
    _e("drunk_driving", "legal", 0.00004, ("police", "cameras"), ("S2-N2",),
       "driving drunk", polarity=-1, traits={"impulsivity": 0.6, "young": 0.4},
       deterrable=True, antisocial=True),
    _e("theft_mischief", "legal", 0.00008, ("police", "neighbours", "cameras"), ("S2-N2",),
       "theft or mischief", polarity=-1, traits={"impulsivity": 0.6, "conscientiousness": -0.4,
                                                 "young": 0.5}, min_age=14,
       deterrable=True, antisocial=True),
    _e("embezzlement", "legal", 0.00002, ("courts", "bank"), ("S2-N2",),
       "embezzlement or money laundering", polarity=-1, traits={"conscientiousness": -0.5},
       eligible="white_collar", deterrable=True, antisocial=True),
    # --- civic (S1-M5)
    _e("volunteering", "civic", 0.002, ("community",), ("S1-M5",), "volunteering",
       polarity=+1, traits={"civic_mindedness": 0.6}, min_age=14),
    _e("helping_elderly", "civic", 0.003, ("community", "neighbours"), ("S1-M5",),
       "helping an elderly neighbour with a chore", polarity=+1, traits={"civic_mindedness": 0.5},
       min_age=14),
    _e("blood_donation", "civic", 0.0003, ("community",), ("S1-M5",), "giving blood",
       polarity=+1, traits={"civic_mindedness": 0.4}, max_age=60),
    _e("heroic_act", "civic", 0.00001, ("community", "police"), ("S1-M5",),
       "a heroic act (Rongcheng: +30)", polarity=+1, traits={"civic_mindedness": 0.4}),
    _e("leader_speech", "civic", 0.004, ("devices", "internet"), ("S1-M5",),
       "listening to a speech of the leader in the study app", polarity=+1,
       traits={"civic_mindedness": 0.3, "outspokenness": -0.3}),
    # --- nuisance (S1-M5, S2-N9)
    _e("dog_fouling", "nuisance", 0.001, ("cameras", "neighbours"), ("S1-M5",),
       "letting a dog foul the pavement", polarity=-1, traits={"conscientiousness": -0.5},
       deterrable=True, antisocial=True),
    _e("noise_complaint", "nuisance", 0.0008, ("neighbours",), ("S2-N9",),
       "a barking dog or noise a neighbour complains of", polarity=-1,
       traits={"conscientiousness": -0.4}, deterrable=True, antisocial=True),
    # --- consumption (S2-N3); observable only when paid digitally (S1-M3)
    _e("junk_food_purchase", "consumption", 0.006, ("payments",), ("S2-N3",),
       "buying a lot of crisps and sweets", traits={"impulsivity": 0.5, "young": 0.3},
       min_age=12, purchase=True),
    _e("alcohol_purchase", "consumption", 0.004, ("payments",), ("S2-N3",),
       "buying alcohol", traits={"impulsivity": 0.4}, purchase=True),
    _e("gaming_purchase", "consumption", 0.003, ("payments",), ("S2-N3",),
       "buying video games or game credit", traits={"impulsivity": 0.4, "young": 0.8},
       min_age=12, purchase=True),
    # --- travel (S2-N4)
    _e("foreign_trip", "travel", 0.0004, ("transport",), ("S2-N4",), "a trip abroad",
       traits={"income_z": 0.6, "urban": 0.5}, expression=True),
    _e("undesirable_trip", "travel", 0.00003, ("transport",), ("S2-N4",),
       "a trip to a country the state deems undesirable", polarity=-1,
       traits={"outspokenness": 0.5, "income_z": 0.3}, deterrable=True, expression=True),
    # --- online life (S2-N5, S1-M5)
    _e("online_benign", "online", 0.01, ("internet",), ("S2-N5",),
       "ordinary searches and site visits", min_age=10),
    _e("illegal_site_visit", "online", 0.0003, ("internet",), ("S2-N5",),
       "visiting an illegal site", polarity=-1, traits={"impulsivity": 0.4, "young": 0.5},
       min_age=12, deterrable=True, antisocial=True),
    _e("antigov_post", "online", 0.0002, ("internet", "peers"), ("S2-N5",),
       "posting criticism of the government", polarity=-1,
       traits={"outspokenness": 0.8, "civic_mindedness": -0.2}, deterrable=True, expression=True),
    _e("antigov_site_visit", "online", 0.0004, ("internet",), ("S2-N5",),
       "visiting an anti-government site", polarity=-1, traits={"outspokenness": 0.6},
       deterrable=True, expression=True),
    _e("snarky_comment", "online", 0.0015, ("internet", "peers"), ("S1-M5", "S2-N5"),
       "a snarky comment on social media", polarity=-1,
       traits={"outspokenness": 0.6, "young": 0.4}, min_age=12, deterrable=True, expression=True),
    # --- presence (S1-M4)
    _e("restricted_place", "presence", 0.0008, ("cameras",), ("S1-M4",),
       "entering a place forbidden to the citizen (a church, say)", polarity=-1,
       traits={"outspokenness": 0.3}, deterrable=True, expression=True),
    _e("against_crowd", "presence", 0.0005, ("cameras",), ("S1-M4",),
       "walking in the opposite direction of a crowd", polarity=-1,
       traits={"impulsivity": 0.3}, min_age=10, deterrable=True, expression=True),
    # --- attempts a regime may gate (S1-M2, S1-M6, S1-M8, S1-M9, S2-N2, S2-N4)
    _e("flight_purchase", "attempt", 0.004, ("transport",), ("S1-M6", "S2-N4"),
       "buying a plane ticket", traits={"income_z": 0.6, "urban": 0.4}),
    _e("rail_purchase", "attempt", 0.008, ("transport",), ("S1-M6",),
       "buying a high-speed rail ticket", traits={"income_z": 0.4, "urban": 0.3}),
    _e("restaurant_visit", "attempt", 0.01, ("payments",), ("S1-M6",),
       "going to a better restaurant", traits={"income_z": 0.5, "urban": 0.3}, purchase=True),
    _e("venue_visit", "attempt", 0.002, ("payments", "cameras"), ("S1-M9",),
       "a concert, sporting event or other assembly", traits={"young": 0.5, "urban": 0.3},
       min_age=14),
    _e("loan_application", "attempt", 0.0006, ("bank",), ("S2-N1", "S1-M9"),
       "applying for a car, house or consumer loan", traits={"income_z": 0.3}, min_age=20, max_age=65),
    _e("insurance_purchase", "attempt", 0.0004, ("payments",), ("S1-M9",),
       "buying or renewing insurance", traits={"income_z": 0.3}),
    _e("account_opening", "attempt", 0.0002, ("bank",), ("S1-M13", "S1-M14"),
       "opening a bank account"),
    _e("rental", "attempt", 0.0005, ("payments",), ("S1-M9",),
       "renting a flat, bike or hotel room (deposit-free for the trusted)",
       traits={"young": 0.6, "urban": 0.5}),
    _e("large_purchase", "attempt", 0.004, ("payments",), ("S1-M2", "S1-M8"),
       "a large digital payment", purchase=True),
    _e("utility_payment", "attempt", 1.0 / 30.0, ("payments",), ("S1-M9",),
       "paying the monthly heating and utility bill", min_age=25),
    _e("job_application", "attempt", 0.02, ("devices",), ("S1-M6", "S2-N2", "S1-M12"),
       "applying for a job", eligible="job_seeker", max_age=60),
    _e("college_application", "attempt", 0.0, ("community",), ("S1-M6",),
       "a school leaver applying to college (once a year, day 157)", min_age=18, max_age=18,
       schedule="college"),
    _e("school_enrolment", "attempt", 0.0, ("community",), ("S1-M6",),
       "a child enrolling at a high-fee school (once a year, day 244)", min_age=6, max_age=17,
       schedule="school"),
)

EVENT_INDEX: dict[str, int] = {e.name: i for i, e in enumerate(CATALOGUE)}
N_EVENT_TYPES = len(CATALOGUE)
assert N_EVENT_TYPES <= 64, "record-type bitmasks are uint64"


def event_type(name: str) -> EventType:
    return CATALOGUE[EVENT_INDEX[name]]


def channel_observes() -> list[list[bool]]:
    """Matrix [channel][event type]: whether the channel can see the event type at all."""
    return [[ch in e.channels for e in CATALOGUE] for ch in CHANNELS]
