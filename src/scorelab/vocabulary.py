"""The one home of the domain's words: events and their attributes, channels, sectors, list
kinds, domains, effects and outcomes.

Everything that names a kind of thing lives here, and the regime schema's allowed values,
the engine's codes and the output tables' labels are all derived from these tuples. What is
a number about the world (how often an event happens, how traits change its rate) is not
vocabulary: it lives in behaviour/catalogue.py (the world's base rates).

Per-event attributes say how an act meets the system (S1-M2, S1-M3, S1-M6):
- `check`: how a gate at this attempt recognises the citizen: `id` (tickets, flights, hotels,
  enrolment, hiring, loans, account opening: cannot be escaped), `payment` (the gate sees the
  citizen only through a cashless payment: paying cash escapes it), or `none` (no gate can
  stand here);
- `paid`: the act is paid for, in cash or digitally (by the citizen's cashless share, S1-M3);
- `online_share`: share of these acts done online (a citizen without internet access does not
  do them at all);
- `needs`: what the act cannot happen without (a bank `account`, `internet` access): an attempt
  without it is refused by circumstance, not by a decision;
- `purpose`: what a made attempt leads to (a trip, a visit, a job, a loan, an account, a
  college place ...); consequences select events by purpose, never by name;
- `substitute`: for refused trips, the slower way that may replace them, and its cost in hours.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------- channels
# Observation channels (S1-M1, S1-M3, S1-M4, S1-M10, S2-N5). Order matters: an event is
# attributed to the first channel of a scorer that records it.
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
# Ledger rows that come from no channel: association (S1-M7), time (redemption, expiry).
LEDGER_CHANNELS: tuple[str, ...] = (*CHANNELS, "association", "time")
ASSOCIATION_CHANNEL = len(CHANNELS)
TIME_CHANNEL = ASSOCIATION_CHANNEL + 1

# ---------------------------------------------------------------------------- sectors
# Codes are positions here: new sectors are added at the end, so saved societies keep their meaning.
# `arms`: makers of firearms and ammunition, the industry banks "have already closed accounts of"
# (S1-M13); a tiny sector whose whole workforce a regime can debank.
SECTORS: tuple[str, ...] = (
    "child", "student", "agriculture", "manufacturing", "services", "finance", "public",
    "security_linked", "unemployed", "inactive", "retired", "arms",
)
SECTOR_INDEX = {s: i for i, s in enumerate(SECTORS)}
WORKING_SECTORS: tuple[str, ...] = ("agriculture", "manufacturing", "services", "finance", "public",
                                    "security_linked", "arms")
WHITE_COLLAR: tuple[str, ...] = ("finance", "public", "security_linked")
# Citizen attributes an event's rate may depend on (a world file's `events.<type>.traits`): the
# four traits (standard normal), `young` (under 35), `urban`, `unemployed` (0/1) and `income_z`
# (standardised log income); society/model.py Society.covariate computes them.
RATE_COVARIATES: tuple[str, ...] = ("conscientiousness", "impulsivity", "civic_mindedness", "outspokenness",
                                    "young", "urban", "unemployed", "income_z")
UNEMPLOYED = SECTOR_INDEX["unemployed"]

# ---------------------------------------------------------------------------- lists, measures
LIST_KINDS: tuple[str, ...] = ("red", "black", "white", "gray", "watch", "no_fly")
PUNITIVE_LIST_KINDS: tuple[str, ...] = ("black", "gray", "watch", "no_fly")
LIST_ACTIONS: tuple[str, ...] = ("enter", "exit")
LIST_REASONS: tuple[str, ...] = ("tier", "record", "time", "compliance", "appeal", "recovery", "correction")
MEASURE_KINDS: tuple[str, ...] = ("sanction", "reward", "response")
APPEAL_KINDS: tuple[str, ...] = ("record", "list")
DOMAINS: tuple[str, ...] = ("travel", "finance", "insurance", "venues", "education", "employment", "payments",
                            "housing", "utilities", "internet", "commerce", "policing", "other")


@dataclass(frozen=True)
class Effect:
    """What a decision does. `triggers` are the ways it may be set off (gate, on_list_entry,
    on_record, every_days); `lasting` effects hold for `duration_days`."""

    name: str
    description: str
    triggers: tuple[str, ...]
    lasting: bool = False


EFFECT_TABLE: tuple[Effect, ...] = (
    Effect("refuse", "the attempt is refused and does not happen (a trip may be replaced by a slower one)",
           ("gate",)),
    Effect("price", "the attempt goes ahead at price_factor x its price; a loan's instalment for the loan's life",
           ("gate",)),
    Effect("suspend", "S1-M8 digital payments and digital income blocked for duration_days",
           ("gate", "on_list_entry", "on_record", "every_days"), lasting=True),
    Effect("dismiss", "S1-M6/S1-M12 the citizen loses their job", ("on_list_entry", "on_record", "every_days")),
    Effect("advice", "S2-N3 health advice: the citizen's rate of the recorded purchase falls by rate_factor",
           ("on_record",)),
    Effect("coupon", "S2-N3 coupons: the citizen's rate of the recorded purchase rises by rate_factor",
           ("on_record",)),
    Effect("priority", "S1-M9 preferred access: the citizen gets in when places are short", ("gate",)),
    Effect("waive_deposit", "no deposit is locked for the rental", ("gate",)),
    Effect("alert", "S1-M4/S1-M9 a police contact: a stop with time and income lost, and a police record "
           "(at a gate: secondary screening)", ("on_record", "on_list_entry", "gate")),
    Effect("close_account", "S1-M13 the citizen's bank account is closed: cash only, no loans",
           ("on_list_entry", "on_record", "every_days")),
    Effect("cut_internet", "the citizen's internet access is cut for duration_days: nothing online",
           ("on_list_entry", "on_record", "every_days"), lasting=True),
)
EFFECTS: tuple[str, ...] = tuple(e.name for e in EFFECT_TABLE)
EFFECT_BY_NAME = {e.name: e for e in EFFECT_TABLE}
TRIGGERS: tuple[str, ...] = ("gate", "on_list_entry", "on_record", "every_days")

# ---------------------------------------------------------------------------- events and outcomes
# made; refused (by a decision, or by a state a decision caused: a closed account, a suspension, an
# internet cut); replaced by a slower substitute; turned away because the place was full; or
# impossible in the citizen's circumstances, no decision involved (never had an account)
OUTCOMES: tuple[str, ...] = ("made", "refused", "substituted", "full", "unable")
MADE, REFUSED, SUBSTITUTED, FULL, UNABLE = range(5)
PAID: tuple[str, ...] = ("unpaid", "cash", "digital")
UNPAID, CASH, DIGITAL = range(3)
ACCOUNT_STATES: tuple[str, ...] = ("none", "open", "suspended", "closed")
NO_ACCOUNT, ACCOUNT_OPEN, ACCOUNT_SUSPENDED, ACCOUNT_CLOSED = range(4)
CHECKS: tuple[str, ...] = ("id", "payment", "none")
PURPOSES: tuple[str, ...] = ("act", "trip", "visit", "purchase", "loan", "insurance", "account", "rental",
                             "utility", "job", "college", "school", "sale")
# Who may do an act beyond its age limits: a column of the citizens' state that must be true.
ELIGIBILITY: tuple[str, ...] = ("has_loan", "unpaid_judgment", "job_seeker", "white_collar", "dog_owner",
                                "unbanked", "seller")
# Categories of acts; `attempt` is what a regime may gate; `system` is what the system itself does
# to a citizen (a police stop), never an offence of theirs.
CATEGORIES: tuple[str, ...] = ("finance", "legal", "civic", "nuisance", "consumption", "travel", "online",
                               "presence", "attempt", "system")


@dataclass(frozen=True)
class EventKind:
    name: str
    category: str
    channels: tuple[str, ...]
    mechanisms: tuple[str, ...]
    description: str
    polarity: int = 0           # -1 what a regime usually punishes, +1 what it rewards
    min_age: int = 18
    max_age: int = 120
    eligible: str | None = None  # a name from ELIGIBILITY
    paid: bool = False           # paid in cash or digitally (S1-M3)
    check: str = "none"          # how a gate here recognises the citizen (CHECKS)
    purpose: str = "act"         # what a made attempt leads to (PURPOSES)
    online_share: float = 0.0    # share done online (needs internet access)
    needs: tuple[str, ...] = ()  # what the act cannot happen without: "account", "internet"
    substitute: str | None = None  # a refused trip may be made this slower way instead
    substitute_hours: float = 0.0  # ... at this cost in time
    deterrable: bool = False
    antisocial: bool = False     # the behaviour a regime claims to reduce (S2-N7's benefit)
    expression: bool = False     # lawful expression and movement (the chilling effect)
    schedule: str | None = None  # None: drawn at a daily rate; otherwise by a scheduler

    @property
    def offence(self) -> bool:
        """An act of the citizen's that regimes punish (the missed-offence measure counts these)."""
        return self.polarity < 0 and self.category not in ("attempt", "system")


def _e(*args, **kw) -> EventKind:
    return EventKind(*args, **kw)


EVENTS: tuple[EventKind, ...] = (
    # --- finance (S2-N1): loan repayments are scheduled monthly per borrower
    _e("loan_on_time", "finance", ("bank",), ("S2-N1",), "a loan instalment paid on time",
       polarity=+1, schedule="loan", eligible="has_loan"),
    _e("loan_late", "finance", ("bank",), ("S2-N1",), "a loan instalment paid late",
       polarity=-1, schedule="loan", eligible="has_loan", deterrable=True, antisocial=True),
    _e("loan_missed", "finance", ("bank",), ("S2-N1",), "a loan instalment missed",
       polarity=-1, schedule="loan", eligible="has_loan", deterrable=True, antisocial=True),
    _e("loan_default", "finance", ("bank",), ("S2-N1",), "a loan defaulted (three missed instalments)",
       polarity=-1, schedule="loan", eligible="has_loan", antisocial=True),
    _e("min_balance_breach", "finance", ("bank",), ("S2-N1",),
       "account balance below the required minimum (from the monthly money turnover)", polarity=-1,
       schedule="economy"),
    _e("court_judgment_unpaid", "finance", ("courts",), ("S2-N1",),
       "a court judgment debt left unpaid (the court blacklist's trigger)", polarity=-1,
       deterrable=True, antisocial=True),
    _e("judgment_repaid", "finance", ("courts",), ("S2-N1",),
       "an outstanding judgment debt repaid (compliance)", polarity=+1, eligible="unpaid_judgment"),
    # --- legal (S2-N2, S1-M5)
    _e("traffic_violation", "legal", ("cameras", "police"), ("S1-M4", "S2-N2"),
       "a traffic violation", polarity=-1, deterrable=True, antisocial=True),
    _e("drunk_driving", "legal", ("police", "cameras"), ("S2-N2",),
       "driving drunk", polarity=-1, deterrable=True, antisocial=True),
    _e("theft_mischief", "legal", ("police", "neighbours", "cameras"), ("S2-N2",),
       "theft or mischief", polarity=-1, min_age=14, deterrable=True, antisocial=True),
    _e("embezzlement", "legal", ("courts", "bank"), ("S2-N2",),
       "embezzlement or money laundering", polarity=-1, eligible="white_collar", deterrable=True,
       antisocial=True),
    # --- civic (S1-M5)
    _e("volunteering", "civic", ("community",), ("S1-M5",), "volunteering", polarity=+1, min_age=14),
    _e("helping_elderly", "civic", ("community", "neighbours"), ("S1-M5",),
       "helping an elderly neighbour with a chore", polarity=+1, min_age=14),
    _e("blood_donation", "civic", ("community",), ("S1-M5",), "giving blood", polarity=+1, max_age=60),
    _e("heroic_act", "civic", ("community", "police"), ("S1-M5",), "a heroic act (Rongcheng: +30)",
       polarity=+1),
    _e("leader_speech", "civic", ("devices", "internet"), ("S1-M5",),
       "listening to a speech of the leader in the study app", polarity=+1, online_share=1.0),
    # --- nuisance (S1-M5, S2-N9)
    _e("dog_fouling", "nuisance", ("cameras", "neighbours"), ("S1-M5",),
       "letting a dog foul the pavement", polarity=-1, eligible="dog_owner", deterrable=True, antisocial=True),
    _e("noise_complaint", "nuisance", ("neighbours",), ("S2-N9",),
       "a barking dog or noise a neighbour complains of", polarity=-1, deterrable=True, antisocial=True),
    # --- consumption (S2-N3); observable only when paid digitally (S1-M3)
    _e("junk_food_purchase", "consumption", ("payments",), ("S2-N3",),
       "buying a lot of crisps and sweets", min_age=12, paid=True, check="payment", purpose="purchase"),
    _e("alcohol_purchase", "consumption", ("payments",), ("S2-N3",),
       "buying alcohol", paid=True, check="payment", purpose="purchase"),
    _e("gaming_purchase", "consumption", ("payments",), ("S2-N3",),
       "buying video games or game credit", min_age=12, paid=True, check="payment", purpose="purchase",
       online_share=0.5),
    # --- travel (S2-N4)
    _e("foreign_trip", "travel", ("transport",), ("S2-N4",), "a trip abroad", expression=True),
    _e("undesirable_trip", "travel", ("transport",), ("S2-N4",),
       "a trip to a country the state deems undesirable", polarity=-1, deterrable=True, expression=True),
    # --- online life (S2-N5, S1-M5): only for citizens with internet access
    _e("online_benign", "online", ("internet",), ("S2-N5",), "ordinary searches and site visits", min_age=10,
       online_share=1.0),
    _e("illegal_site_visit", "online", ("internet",), ("S2-N5",),
       "visiting an illegal site", polarity=-1, min_age=12, deterrable=True, antisocial=True, online_share=1.0),
    _e("antigov_post", "online", ("internet", "peers"), ("S2-N5",),
       "posting criticism of the government", polarity=-1, deterrable=True, expression=True, online_share=1.0),
    _e("antigov_site_visit", "online", ("internet",), ("S2-N5",),
       "visiting an anti-government site", polarity=-1, deterrable=True, expression=True, online_share=1.0),
    _e("snarky_comment", "online", ("internet", "peers"), ("S1-M5", "S2-N5"),
       "a snarky comment on social media", polarity=-1, min_age=12, deterrable=True, expression=True,
       online_share=1.0),
    # --- presence (S1-M4)
    _e("restricted_place", "presence", ("cameras",), ("S1-M4",),
       "entering a place forbidden to the citizen (a church, say)", polarity=-1, deterrable=True,
       expression=True),
    _e("against_crowd", "presence", ("cameras",), ("S1-M4",),
       "walking in the opposite direction of a crowd", polarity=-1, min_age=10, deterrable=True,
       expression=True),
    # --- attempts a regime may gate (S1-M2, S1-M6, S1-M8, S1-M9, S2-N2, S2-N4)
    _e("flight_purchase", "attempt", ("transport",), ("S1-M6", "S2-N4"), "buying a plane ticket",
       check="id", purpose="trip", substitute="a long journey by slow train or coach", substitute_hours=16.0),
    _e("rail_purchase", "attempt", ("transport",), ("S1-M6",), "buying a high-speed rail ticket",
       check="id", purpose="trip", substitute="a slow train or a coach", substitute_hours=5.0),
    _e("restaurant_visit", "attempt", ("payments",), ("S1-M6",), "going to a better restaurant",
       paid=True, check="payment", purpose="visit"),
    _e("venue_visit", "attempt", ("payments", "cameras"), ("S1-M9",),
       "a concert, sporting event or other assembly (ticket paid at the door)", min_age=14, paid=True,
       check="payment", purpose="visit"),
    _e("loan_application", "attempt", ("bank",), ("S2-N1", "S1-M9"),
       "applying for a car, house or consumer loan", min_age=20, max_age=65, check="id", purpose="loan",
       needs=("account",)),
    _e("insurance_purchase", "attempt", ("payments",), ("S1-M9",), "buying or renewing insurance",
       check="id", purpose="insurance"),
    _e("account_opening", "attempt", ("bank",), ("S1-M13", "S1-M14"),
       "opening a bank account (banks screen the applicant's records)", eligible="unbanked", check="id",
       purpose="account"),
    _e("rental", "attempt", ("payments",), ("S1-M9",),
       "renting a flat, bike or hotel room (deposit-free for the trusted)", check="id", purpose="rental"),
    _e("large_purchase", "attempt", ("payments",), ("S1-M2", "S1-M8"), "a large purchase",
       paid=True, check="payment", purpose="purchase"),
    _e("utility_payment", "attempt", ("payments",), ("S1-M9",),
       "paying the monthly heating and utility bill", min_age=25, paid=True, check="payment",
       purpose="utility"),
    _e("job_application", "attempt", ("devices",), ("S1-M6", "S2-N2", "S1-M12"), "applying for a job",
       eligible="job_seeker", max_age=60, check="id", purpose="job", online_share=0.6),
    _e("college_application", "attempt", ("community",), ("S1-M6",),
       "a school leaver applying to college (once a year, day 157)", min_age=18, max_age=18,
       schedule="college", check="id", purpose="college"),
    _e("school_enrolment", "attempt", ("community",), ("S1-M6",),
       "a child enrolling at a high-fee school (once a year, day 244)", min_age=6, max_age=17,
       schedule="school", check="id", purpose="school"),
    _e("platform_sale", "attempt", ("payments",), ("S1-M2",),
       "a seller's sales on an online platform (a batch of orders)", eligible="seller", paid=True,
       check="payment", purpose="sale", needs=("account", "internet")),
    # --- what the system does to citizens (recorded, and scorable, but no act of theirs)
    _e("police_stop", "system", ("police",), ("S1-M4", "S1-M9"),
       "stopped by the police after an alert (a police contact)", polarity=-1, min_age=0, schedule="alert"),
)

EVENT_INDEX: dict[str, int] = {e.name: i for i, e in enumerate(EVENTS)}
EVENT_NAMES: tuple[str, ...] = tuple(e.name for e in EVENTS)
N_EVENT_TYPES = len(EVENTS)
assert N_EVENT_TYPES <= 64, "record-type bitmasks are uint64"
ATTEMPT_NAMES: tuple[str, ...] = tuple(e.name for e in EVENTS if e.category == "attempt")
CONSUMPTION_NAMES: tuple[str, ...] = tuple(e.name for e in EVENTS if e.category == "consumption")
# Gate groups: one name that gates several attempts at once. `commerce` is the general
# participation gate (the "mark" without which one cannot buy or sell, S1-M2): every paid act.
GATE_GROUPS: dict[str, tuple[str, ...]] = {
    "commerce": tuple(e.name for e in EVENTS if e.paid),
}


def event_kind(name: str) -> EventKind:
    return EVENTS[EVENT_INDEX[name]]


def events_with(**attrs) -> tuple[str, ...]:
    """Names of the events whose attributes equal the given values (e.g. purpose='trip')."""
    return tuple(e.name for e in EVENTS if all(getattr(e, k) == v for k, v in attrs.items()))


def channel_observes() -> list[list[bool]]:
    """Matrix [channel][event type]: whether the channel can see the event type at all."""
    return [[ch in e.channels for e in EVENTS] for ch in CHANNELS]
