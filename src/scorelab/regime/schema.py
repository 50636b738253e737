"""The regime language: YAML regime files validated into typed objects.

Units are part of the schema (`unit` in each field's metadata, shown by `scorelab describe`
and docs/REGIME_LANGUAGE.md). Every block that carries numbers (score model, channel, rule,
tier set, list, sanction, reward, association) must say where its numbers come from:
`source:` naming a key of the file's `references`, or `assumption: true`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from scorelab.vocabulary import (
    ATTEMPT_NAMES,
    CHANNELS,
    CONSUMPTION_NAMES,
    DOMAINS,
    EFFECT_BY_NAME,
    EFFECTS,
    EVENT_INDEX,
    EVENT_NAMES,
    EVENTS,
    GATE_GROUPS,
    LIST_KINDS,
    SECTORS,
    WORKING_SECTORS,
)

ATTEMPT_NAMES_AND_GROUPS = (*ATTEMPT_NAMES, *GATE_GROUPS)
CONSUMPTION = CONSUMPTION_NAMES
SECTOR_NAMES = WORKING_SECTORS  # sectors a job application can target


def unit(u: str, description: str, **kw) -> object:
    return Field(json_schema_extra={"unit": u}, description=description, **kw)


# Engine limits (robustness, issue 13): tier codes are int8, and the engine loops over scorers
# each day; docs/REGIME_LANGUAGE.md "Limits" lists these with the loader's limits.
MAX_TIERS = 100
MAX_SCORERS = 64
MAX_INVENTED_PER_MILLION = 100_000.0  # a tenth of the citizens a day: the order of the true events


class Strict(BaseModel):
    # numbers must be finite everywhere (no NaN or infinity reaches the engine)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """A block whose numbers cite a reference or are marked as an assumption."""

    source: str | None = Field(None, description="key of `references` this block's numbers come from")
    assumption: bool = Field(False, description="true when the numbers have no published source")
    description: str = Field("", description="what this block models, in a sentence")

    @model_validator(mode="after")
    def _provenance(self):
        if not self.source and not self.assumption:
            raise ValueError("give `source: <reference key>` or `assumption: true`")
        return self


class Reference(Strict):
    title: str
    url: str | None = None
    document: str | None = None
    reliability: Literal["A", "B", "C"] | None = None


class Redemption(Strict):
    """Scores drift back toward a target over time (forgiveness); a ledger row per period."""

    per_day: float = unit("share of the gap per day", "share of the distance to the target recovered daily",
                          ge=0, le=1)
    period_days: int = unit("days", "how often the drift is applied and written to the ledger", ge=1, le=365,
                            default=30)
    toward: Literal["initial"] = "initial"
    only_below: bool = Field(True, description="redeem low scores only (high scores do not decay)")


class ScoreModel(Sourced):
    initial: float = unit("points", "score every citizen starts with")
    min: float = unit("points", "lowest possible score")
    max: float = unit("points", "highest possible score")
    redemption: Redemption | None = None

    @model_validator(mode="after")
    def _bounds(self):
        if not self.min <= self.initial <= self.max:
            raise ValueError(f"need min <= initial <= max, got {self.min}, {self.initial}, {self.max}")
        return self


class AgeShare(Strict):
    max_age: int = unit("years", "upper age of the band (inclusive)", ge=0, le=120)
    share: float = unit("probability", "share of people in the band who ever take part", ge=0, le=1)


class Crowd(Strict):
    """S1-M11: a record is a pile-on; the actor's contacts report, by their age band.

    Each live contact takes part with probability share(age) x `often`; the act is recorded
    when at least `threshold` contacts do. `coverage` still applies (was the act seen at all).
    """

    participation: tuple[AgeShare, ...] = Field(min_length=1, description="bands by rising max_age")
    often: float = unit("probability", "chance a participant joins a given pile-on", ge=0, le=1)
    threshold: int = unit("reports", "reports that make a pile-on", ge=1, le=1000)
    spread: float = unit("probability", "chance each reporter draws each of their own contacts in (an "
                         "independent cascade through the contact graph; 0: only the actor's contacts report)",
                         default=0.0, ge=0, le=1)
    max_generations: int = unit("generations", "how many steps the cascade may take beyond the actor's contacts",
                                default=3, ge=0, le=10)


class Channel(Sourced):
    """An observation channel as one scorer runs it (S1-M1, S1-M3, S1-M4, S1-M10, S2-N5)."""

    coverage: float = unit("probability", "chance an observable event falls within the channel's reach",
                           ge=0, le=1)
    coverage_growth_per_year: float = unit("probability per year", "coverage added each year (S1-M10)",
                                           default=0.0, ge=0, le=1)
    miss: float = unit("probability", "chance a covered event is not recorded (e.g. FNIR)", default=0.0,
                       ge=0, le=1)
    misattribution: float = unit("probability", "chance a record lands on the wrong citizen (false match)",
                                 default=0.0, ge=0, le=1)
    invented_per_million: float = unit("records per million citizens per day",
                                       "reports of events that never happened", default=0.0, ge=0,
                                       le=MAX_INVENTED_PER_MILLION)
    delay_days: int = unit("days", "days between the event and its record reaching the scorer", default=0,
                           ge=0, le=365)
    observes: tuple[str, ...] | None = Field(None, description="limit to these event types (default: all it can see)")
    coverage_by_event: dict[str, float] = Field(default_factory=dict, description="coverage for particular event "
                                                "types, replacing `coverage` for them (probability each)")
    crowd: Crowd | None = None


class Cap(Strict):
    points: float = unit("points", "most points this rule may change a citizen's score by in one period", gt=0)
    period_days: int = unit("days", "length of the cap's period", ge=1, le=3650)


class Remediation(Strict):
    """S2-N9: the penalty waits; a citizen who takes action in time is not penalised."""

    days: int = unit("days", "window in which the citizen may remedy the cause", ge=1, le=365)
    probability: float = unit("probability", "chance the citizen remedies in time", ge=0, le=1)


NAME = r"^[A-Za-z0-9_-]+$"  # no ':' so that ledger labels '<scorer>:<kind>:<rule>' stay unambiguous


class Rule(Sourced):
    name: str = Field(pattern=NAME)
    event: str = Field(description="event type whose records trigger the rule")
    points: float = unit("points", "score change per record")
    cap: Cap | None = None
    remediation: Remediation | None = None
    associate: bool = Field(True, description="whether a penalty under this rule spills over (S1-M7)")


class Tier(Strict):
    name: str
    min: float = unit("points", "lowest score in this tier")


class TierSet(Sourced):
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _ordered(self):
        mins = [t.min for t in self.tiers]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("tiers must be listed best first with strictly falling `min`")
        return self


class ListEntry(Strict):
    tiers: tuple[str, ...] = Field((), description="join while in one of these tiers")
    records: tuple[str, ...] = Field((), description="join on a record of one of these event types")
    min_count: int = unit("records", "records needed before joining", default=1, ge=1)


class Appeal(Strict):
    probability: float = unit("probability", "share of listed citizens who appeal", ge=0, le=1)
    success_if_false: float = unit("probability", "chance an appeal against a false listing succeeds", ge=0, le=1)
    success_if_true: float = unit("probability", "chance an appeal against a true listing succeeds", ge=0, le=1,
                                  default=0.0)
    delay_days: int = unit("days", "time from listing to the appeal's decision", ge=1, le=3650, default=60)


class ListExit(Strict):
    after_days: int | None = unit("days", "fixed listing period", default=None, ge=1, le=36500)
    on_records: tuple[str, ...] = Field((), description="leave on a record of compliance, e.g. judgment_repaid")
    on_tier_recovery: bool = Field(True, description="tier-entered lists: leave when the tier recovers")
    appeal: Appeal | None = None


class ListDef(Sourced):
    name: str = Field(pattern=NAME)
    kind: Literal[LIST_KINDS]
    entry: ListEntry
    exit: ListExit = ListExit()

    @model_validator(mode="after")
    def _entry(self):
        if not self.entry.tiers and not self.entry.records:
            raise ValueError("`entry` needs `tiers` or `records`")
        return self


class Condition(Strict):
    """Who a sanction or reward applies to: any of these holds (OR)."""

    lists: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    records: tuple[str, ...] = Field((), description="ever recorded for one of these event types")
    score_below: float | None = unit("points", "score strictly below this", default=None)
    score_at_least: float | None = unit("points", "score at least this", default=None)
    sectors: tuple[str, ...] = Field((), description="works in one of these sectors now (S1-M13: a whole "
                                     "industry can be debanked)")

    @model_validator(mode="after")
    def _nonempty(self):
        if not (self.lists or self.tiers or self.records or self.score_below is not None
                or self.score_at_least is not None or self.sectors):
            raise ValueError("a condition needs at least one of lists, tiers, records, score_below, score_at_least, "
                             "sectors")
        return self


class Triage(Strict):
    """S1-M9: the AI that sends some events for immediate action errs both ways."""

    miss: float = unit("probability", "chance an alert the rule calls for is archived instead", default=0.0,
                       ge=0, le=1)
    false_alarms_per_million: float = unit("alerts per million citizens per day", "alerts raised on citizens "
                                           "who did nothing recorded", default=0.0, ge=0, le=1000)


class Measure(Sourced):
    """A sanction, a reward or a response: a decision with an effect (scorelab.vocabulary.EFFECT_TABLE).

    Set off by exactly one trigger: at a `gate` (an attempted act), `on_list_entry`, `on_record`
    (a response to data), or `every_days` (a periodic review of everyone meeting `when`).
    """

    name: str = Field(pattern=NAME)
    domain: Literal[DOMAINS]
    when: Condition | None = Field(None, description="who it applies to (required with `gate` and `every_days`)")
    gate: str | None = Field(None, description="attempt event type at which it applies, or `commerce` for every "
                             "paid act (the general participation gate, S1-M2)")
    on_list_entry: str | None = Field(None, description="list whose entry triggers it (instead of a gate)")
    on_record: str | None = Field(None, description="event type whose records trigger it (a response to data: "
                                  "health advice or coupons S2-N3, alert triage S1-M4/S1-M9, dismissal S1-M12)")
    every_days: int | None = unit("days", "a periodic review: every so many days, apply to everyone meeting "
                                  "`when` (e.g. closing the accounts of a whole sector, S1-M13)", default=None,
                                  ge=1, le=3650)
    rate_factor: float = unit("multiplier", "advice/coupon: factor on the citizen's future rate of the recorded "
                              "act (kept within 0..2)", default=1.0, ge=0, le=2)
    who: Literal["self", "household"] = Field("self", description="household: applies when a household "
                                              "member other than the actor meets the condition (S1-M6)")
    effect: Literal[EFFECTS] = "refuse"
    price_factor: float = unit("multiplier", "price or rate multiplier (sanction > 1, reward < 1)", default=1.0,
                               ge=0, le=100)
    probability: float = unit("probability", "chance the measure is applied when its condition holds",
                              default=1.0, ge=0, le=1)
    duration_days: int = unit("days", "how long a lasting effect (suspend, cut_internet) holds", default=30,
                              ge=1, le=3650)
    sectors: tuple[str, ...] = Field((), description="employment sectors it applies to (job gates)")
    triage: Triage | None = Field(None, description="alerts: the triage's own errors (S1-M9)")

    @model_validator(mode="after")
    def _trigger(self):
        given = [t for t, v in (("gate", self.gate), ("on_list_entry", self.on_list_entry),
                                ("on_record", self.on_record), ("every_days", self.every_days)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `gate`, `on_list_entry`, `on_record` or `every_days`")
        allowed = EFFECT_BY_NAME[self.effect].triggers
        if given[0] not in allowed:
            raise ValueError(f"effect `{self.effect}` cannot be set off by `{given[0]}` "
                             f"(allowed: {', '.join(allowed)})")
        if given[0] in ("gate", "every_days") and self.when is None:
            raise ValueError(f"a measure with `{given[0]}` needs `when`")
        if self.gate is None and (self.who != "self" or self.sectors):
            raise ValueError("`who: household` and `sectors` apply only to measures with a `gate`")
        if self.on_list_entry is not None and self.when is not None:
            raise ValueError("a measure `on_list_entry` applies to everyone joining the list; drop `when`")
        if self.triage is not None and self.effect != "alert":
            raise ValueError("`triage` belongs to alerts only")
        return self


class Association(Sourced):
    """S1-M7: a share of a penalty passes to household members and contacts."""

    household_share: float = unit("share", "share of a penalty passed to each household member", ge=0, le=1)
    contact_share: float = unit("share", "share of a penalty passed to each contact", ge=0, le=1)
    hops: int = unit("hops", "how far through the contact graph it spreads (share^hop)", ge=1, le=3, default=1)
    min_points: float = unit("points", "only penalties at least this large spill over", ge=0, default=0.0)


class RecordAppeals(Sourced):
    """Ways back (issue 5): a citizen contests a record that cost points.

    A successful appeal corrects the record: its points are given back (a ledger row
    `<scorer>:appeal:<rule>`), and a list joined on that record the same day is left.
    """

    probability: float = unit("probability", "share of penalising records that are appealed", ge=0, le=1)
    success_if_false: float = unit("probability", "chance an appeal against a false record succeeds", ge=0, le=1)
    success_if_true: float = unit("probability", "chance an appeal against a true record succeeds", ge=0, le=1,
                                  default=0.0)
    delay_days: int = unit("days", "time from filing to decision", ge=1, le=3650, default=30)
    cost_yuan: float = unit("yuan", "what filing costs the citizen (reported, not yet deducted)", ge=0,
                            default=0.0)


class Memory(Sourced):
    """Expungement: records are forgotten after a retention period (US: 7 years, bankruptcy 10)."""

    default_days: int | None = unit("days", "retention of every record type (none: kept for ever)", default=None,
                                    ge=1, le=36500)
    by_event: dict[str, int] = Field(default_factory=dict,
                                     description="retention in days for particular event types")


class Avoidance(Sourced):
    """S1-M7: contacts cut ties with a citizen who joins a list (the offender becomes 'radioactive')."""

    lists: tuple[str, ...] = Field(min_length=1, description="lists whose entry makes contacts avoid the citizen")
    probability: float = unit("probability", "chance each contact cuts the tie", ge=0, le=1)
    per_inherited_point: float = unit("probability per point", "added chance of cutting per point the contact "
                                      "would inherit by association (contact_share x the points the listed "
                                      "citizen has lost)", ge=0, le=1, default=0.0)
    household_probability: float = unit("probability", "chance each adult household member breaks with the "
                                        "listed citizen and leaves the household ('radioactive, even to family')",
                                        ge=0, le=1, default=0.0)


class Scorer(Strict):
    name: str = Field(pattern=NAME)
    description: str = ""
    score: ScoreModel
    channels: dict[str, Channel] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    tiers: TierSet | None = None
    lists: tuple[ListDef, ...] = ()
    sanctions: tuple[Measure, ...] = ()
    rewards: tuple[Measure, ...] = ()
    responses: tuple[Measure, ...] = Field((), description="answers to data that are neither sanction nor "
                                           "reward: health advice or coupons (S2-N3)")
    association: Association | None = None
    appeals: RecordAppeals | None = None
    memory: Memory | None = None
    avoidance: Avoidance | None = None


class Deterrence(Sourced):
    """How aware citizens react: rate x (1 - (p^a) (f^b)) for punished acts (Becker 1968; Nagin 2013)."""

    certainty_exponent: float = unit("elasticity", "a: weight of the perceived chance of being recorded",
                                     default=1.0, ge=0, le=5)
    severity_exponent: float = unit("elasticity", "b: weight of the perceived penalty (b < a: certainty "
                                    "deters more)", default=0.5, ge=0, le=5)
    severity_scale: float = unit("points", "penalty felt as the full stake (f = min(1, points/scale))",
                                 default=100.0, gt=0)
    list_weight: float = unit("share of stake", "extra perceived penalty when an act can lead to a list",
                              default=0.5, ge=0, le=1)
    reward_response: float = unit("multiplier", "rise of rewarded acts at full perceived reward", default=0.5,
                                  ge=0, le=1)


class Learning(Sourced):
    """S2-N8: citizens who see a contact sanctioned become aware and believe detection likelier."""

    probability: float = unit("probability", "chance a contact of a sanctioned citizen becomes aware", ge=0, le=1)
    belief_step: float = unit("share", "rise of the contact's believed detection chance", ge=0, le=5, default=0.2)
    max_belief: float = unit("multiplier", "cap on the believed detection chance relative to the truth", ge=1,
                             le=10, default=3.0)


class Regime(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    description: str
    mechanisms: tuple[str, ...] = ()
    references: dict[str, Reference] = Field(default_factory=dict)
    topology: Literal["unified", "fragmented", "none"]
    deterrence: Deterrence | None = None
    learning: Learning | None = None
    scorers: tuple[Scorer, ...] = Field((), max_length=MAX_SCORERS)
    # the regime as it stands from later days, where a value is dated (regime/dated.py); day -> Regime
    _schedule: dict[int, Regime] = PrivateAttr(default_factory=dict)

    @property
    def schedule(self) -> dict[int, Regime]:
        return self._schedule

    @model_validator(mode="after")
    def _consistent(self):
        _check_regime(self)
        return self


def _allowed(values) -> str:
    return ", ".join(values)


def _check_regime(r: Regime) -> None:
    """Cross-field checks with messages that name the key path and the allowed values."""
    if r.topology == "unified" and len(r.scorers) != 1:
        raise ValueError(f"topology 'unified' needs exactly one scorer, found {len(r.scorers)}")
    if r.topology == "fragmented" and len(r.scorers) < 2:
        raise ValueError("topology 'fragmented' needs at least two independent scorers")
    if r.topology == "none" and r.scorers:
        raise ValueError("topology 'none' takes no scorers")
    names = [s.name for s in r.scorers]
    if len(set(names)) != len(names):
        raise ValueError("scorer names must be unique")
    for si, s in enumerate(r.scorers):
        where = f"scorers[{si}]"
        _check_sourced(r, s.score, f"{where}.score")
        for ch, c in s.channels.items():
            if ch not in CHANNELS:
                raise ValueError(f"{where}.channels.{ch}: unknown channel (allowed: {_allowed(CHANNELS)})")
            _check_sourced(r, c, f"{where}.channels.{ch}")
            for e in c.observes or ():
                _check_event(e, f"{where}.channels.{ch}.observes")
            for e, cov in c.coverage_by_event.items():
                _check_event(e, f"{where}.channels.{ch}.coverage_by_event")
                if not 0 <= cov <= 1:
                    raise ValueError(f"{where}.channels.{ch}.coverage_by_event.{e}: got {cov} (allowed: 0 to 1)")
        for kind, items in (("rules", s.rules), ("sanctions, rewards and responses",
                                                  (*s.sanctions, *s.rewards, *s.responses))):
            names_seen = [x.name for x in items]
            dup = sorted({x for x in names_seen if names_seen.count(x) > 1})
            if dup:
                raise ValueError(f"{where}: names of {kind} must be unique (repeated: {', '.join(dup)})")
        for ri, rule in enumerate(s.rules):
            _check_sourced(r, rule, f"{where}.rules[{ri}]")
            _check_event(rule.event, f"{where}.rules[{ri}].event")
        tier_names = [t.name for t in s.tiers.tiers] if s.tiers else []
        if s.tiers:
            _check_sourced(r, s.tiers, f"{where}.tiers")
        list_names = [lst.name for lst in s.lists]
        if len(set(list_names)) != len(list_names):
            raise ValueError(f"{where}.lists: list names must be unique")
        for li, lst in enumerate(s.lists):
            _check_sourced(r, lst, f"{where}.lists[{li}]")
            for t in lst.entry.tiers:
                _check_in(t, tier_names, f"{where}.lists[{li}].entry.tiers", "tier")
            for e in (*lst.entry.records, *lst.exit.on_records):
                _check_event(e, f"{where}.lists[{li}]")
        for kind, measures in (("sanctions", s.sanctions), ("rewards", s.rewards), ("responses", s.responses)):
            for mi, m in enumerate(measures):
                w = f"{where}.{kind}[{mi}]"
                _check_sourced(r, m, w)
                when = m.when or Condition.model_construct(lists=(), tiers=(), records=())
                for lname in when.lists:
                    _check_in(lname, list_names, f"{w}.when.lists", "list")
                for t in when.tiers:
                    _check_in(t, tier_names, f"{w}.when.tiers", "tier")
                for e in when.records:
                    _check_event(e, f"{w}.when.records")
                for sec in when.sectors:
                    _check_in(sec, SECTORS, f"{w}.when.sectors", "sector")
                if m.gate is not None:
                    _check_in(m.gate, ATTEMPT_NAMES_AND_GROUPS, f"{w}.gate", "gate")
                if m.on_list_entry is not None:
                    _check_in(m.on_list_entry, list_names, f"{w}.on_list_entry", "list")
                if m.on_record is not None:
                    _check_event(m.on_record, f"{w}.on_record")
                    if m.effect in ("advice", "coupon") and EVENTS[EVENT_INDEX[m.on_record]].category != \
                            "consumption":
                        raise ValueError(f"{w}.on_record: advice and coupons change purchase habits only "
                                         f"(allowed: {', '.join(CONSUMPTION)})")
                for sec in m.sectors:
                    _check_in(sec, SECTOR_NAMES, f"{w}.sectors", "sector")
        if s.association:
            _check_sourced(r, s.association, f"{where}.association")
        if s.appeals:
            _check_sourced(r, s.appeals, f"{where}.appeals")
        if s.avoidance:
            _check_sourced(r, s.avoidance, f"{where}.avoidance")
            for lname in s.avoidance.lists:
                _check_in(lname, list_names, f"{where}.avoidance.lists", "list")
        if s.memory:
            _check_sourced(r, s.memory, f"{where}.memory")
            for e, d in s.memory.by_event.items():
                _check_event(e, f"{where}.memory.by_event")
                if not 1 <= d <= 36500:
                    raise ValueError(f"{where}.memory.by_event.{e}: got {d} (allowed: 1 to 36500 days)")
    if r.deterrence:
        _check_sourced(r, r.deterrence, "deterrence")
    if r.learning:
        _check_sourced(r, r.learning, "learning")


def _check_sourced(r: Regime, block: Sourced, where: str) -> None:
    if block.source and block.source not in r.references:
        raise ValueError(f"{where}.source: '{block.source}' is not a key of `references` "
                         f"(allowed: {_allowed(r.references) or 'none defined'})")


def _check_event(name: str, where: str) -> None:
    if name not in EVENT_INDEX:
        raise ValueError(f"{where}: unknown event type '{name}' (allowed: {_allowed(EVENT_NAMES)})")


def _check_in(name: str, allowed, where: str, what: str) -> None:
    if name not in allowed:
        raise ValueError(f"{where}: unknown {what} '{name}' (allowed: {_allowed(allowed) or 'none defined'})")
