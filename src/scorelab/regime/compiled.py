"""Compile a validated regime into arrays (architecture principle 1: no regime code in the engine)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scorelab.errors import ScorelabError
from scorelab.regime.schema import Condition, Deterrence, Measure, Regime, Scorer
from scorelab.vocabulary import (
    CHANNEL_INDEX,
    DOMAINS,
    EFFECT_BY_NAME,
    EFFECTS,
    EVENT_INDEX,
    EVENTS,
    GATE_GROUPS,
    MEASURE_KINDS,
    N_EVENT_TYPES,
    PUNITIVE_LIST_KINDS,
    SECTOR_INDEX,
)

NO_RULE = -1


def bitmask(event_names) -> np.uint64:
    m = 0
    for name in event_names:
        m |= 1 << EVENT_INDEX[name]
    return np.uint64(m)


@dataclass
class CompiledChannel:
    index: int  # global channel index (CHANNELS)
    name: str
    coverage: float
    growth: float
    miss: float
    misattribution: float
    invented_per_million: float
    delay: int
    observes: np.ndarray  # bool[E]
    coverage_by_type: np.ndarray | None = None  # float[E]: NaN where the channel's `coverage` applies
    crowd_max_age: np.ndarray | None = None  # S1-M11 pile-on: age bands (ascending upper ages)
    crowd_share: np.ndarray | None = None
    crowd_often: float = 0.0
    crowd_threshold: int = 0
    crowd_spread: float = 0.0
    crowd_generations: int = 0

    def crowd_participation(self, age: np.ndarray) -> np.ndarray:
        """Chance each contact joins a pile-on, by age band (beyond the last band: the last share)."""
        band = np.minimum(np.searchsorted(self.crowd_max_age, age, side="left"), len(self.crowd_share) - 1)
        return self.crowd_share[band] * self.crowd_often

    def coverage_on(self, day: int) -> float:
        return min(1.0, self.coverage + self.growth * day / 365.0)

    def coverage_of(self, etype: np.ndarray, day: int) -> np.ndarray | float:
        """Coverage of each event: the channel's (growing) coverage, or the type's own where given."""
        base = self.coverage_on(day)
        if self.coverage_by_type is None:
            return base
        own = self.coverage_by_type[etype]
        return np.where(np.isnan(own), base, own)


@dataclass
class CompiledCondition:
    lists: np.ndarray       # int indices into the scorer's lists
    tiers: np.ndarray       # bool[n_tiers]
    records: np.uint64
    score_below: float | None
    score_at_least: float | None
    sectors: np.ndarray | None = None  # bool[n sectors]: works in one of these now; None: any


@dataclass
class CompiledMeasure:
    code: int               # global label code for output tables
    name: str
    kind: str               # sanction | reward | response
    domain: str
    gate: int               # event type index, or -1 (see gate_types for groups)
    on_list_entry: int      # list index, or -1
    on_record: int          # event type index, or -1
    who: str
    effect: str
    price_factor: float
    probability: float
    sectors: np.ndarray     # bool[n sectors]; all False = any sector
    when: CompiledCondition
    rate_factor: float = 1.0
    has_condition: bool = True
    gate_types: np.ndarray | None = None  # bool[E]: the attempts it gates (one type, or a group)
    every_days: int = 0     # periodic review; 0 none
    duration: int = 30
    triage_miss: float = 0.0
    false_alarms_per_million: float = 0.0

    @property
    def domain_code(self) -> int:
        return DOMAINS.index(self.domain)

    @property
    def effect_code(self) -> int:
        return EFFECTS.index(self.effect)

    @property
    def kind_code(self) -> int:
        return MEASURE_KINDS.index(self.kind)

    @property
    def is_gate(self) -> bool:
        return self.gate_types is not None


@dataclass
class CompiledList:
    name: str
    kind: str
    entry_tiers: np.ndarray  # bool[n_tiers]
    entry_records: np.uint64
    min_count: int
    after_days: int | None
    exit_records: np.uint64
    on_tier_recovery: bool
    appeal_probability: float
    appeal_success_false: float
    appeal_success_true: float
    appeal_delay: int


@dataclass
class CompiledScorer:
    index: int
    name: str
    initial: float
    lo: float
    hi: float
    redemption_rate: float
    redemption_period: int
    redemption_only_below: bool
    channels: list[CompiledChannel]
    observable: np.ndarray         # bool[E]: any channel of this scorer sees the type
    rule_of_type: np.ndarray       # int32[E]
    rule_names: list[str]
    rule_codes: np.ndarray         # int32[R]: global label codes
    assoc_codes: np.ndarray        # int32[R]: label codes of 'assoc:<rule>'
    points: np.ndarray             # float64[R]
    cap_slot: np.ndarray           # int32[R], -1 uncapped
    cap_points: np.ndarray         # float64[R]
    cap_period: np.ndarray         # int32[R]
    remed_days: np.ndarray         # int32[R], 0 none
    remed_prob: np.ndarray         # float64[R]
    associate: np.ndarray          # bool[R]
    tier_names: list[str]
    tier_mins_ascending: np.ndarray
    lists: list[CompiledList]
    measures: list[CompiledMeasure]
    household_share: float
    contact_share: float
    hops: int
    assoc_min_points: float
    acted_on: np.ndarray           # bool[E]: record types this scorer uses at all
    appeal_codes: np.ndarray       # int32[R]: label codes of '<scorer>:appeal:<rule>'
    expunge_codes: np.ndarray      # int32[R]: label codes of '<scorer>:expunge:<rule>'
    retention: np.ndarray          # int32[E]: days a record is remembered, 0 = for ever
    appeal_probability: float
    appeal_success_false: float
    appeal_success_true: float
    appeal_delay: int
    appeal_cost: float
    condition_types: np.ndarray    # bool[E]: record types that conditions and list entries read
    avoid_lists: np.ndarray        # bool[L]: joining these lists makes contacts cut ties (S1-M7)
    avoid_probability: float
    avoid_per_point: float
    avoid_household: float = 0.0
    rule_sources: list[str] = field(default_factory=list)

    @property
    def punitive_lists(self) -> np.ndarray:
        return np.array([lst.kind in PUNITIVE_LIST_KINDS for lst in self.lists], bool)

    @property
    def n_caps(self) -> int:
        return int((self.cap_slot >= 0).sum())

    def tier_of(self, score: np.ndarray) -> np.ndarray:
        """Tier index, 0 = best. Without tiers everyone is tier 0."""
        if not len(self.tier_mins_ascending):
            return np.zeros(len(score), np.int8)
        k = len(self.tier_mins_ascending)
        # position among ascending mins: number of mins <= score
        pos = np.searchsorted(self.tier_mins_ascending, score, side="right")
        return np.clip(k - pos, 0, k - 1).astype(np.int8)


@dataclass
class CompiledRegime:
    name: str
    scorers: list[CompiledScorer]
    labels: list[str]              # global labels for rules/measures/etc.
    perceived_p: np.ndarray        # float64[E]: chance an act is recorded by any scorer
    perceived_penalty: np.ndarray  # float64[E]: stake in [0, 1]
    perceived_reward: np.ndarray   # float64[E]
    certainty_exponent: float
    severity_exponent: float
    reward_response: float
    learning_probability: float = 0.0
    learning_step: float = 0.0
    learning_max: float = 1.0
    schedule: dict[int, CompiledRegime] = field(default_factory=dict)  # day -> parameters from that day


class _Labels:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
        return self.index[name]


def compile_regime(regime: Regime, origin: str = "<regime>", world=None) -> CompiledRegime:
    """`world` (scorelab.world.LoadedWorld; default: the default world) gives the deterrence model of
    a regime without a `deterrence` block."""
    from scorelab.world import default_world

    defaults = (world if world is not None else default_world()).spec.deterrence
    labels = _Labels()
    for fixed in ("redemption",):
        labels.code(fixed)
    scorers = [_compile_scorer(i, s, labels, origin, regime) for i, s in enumerate(regime.scorers)]
    p, pen, rew = _perceptions(regime, scorers, defaults)
    d = regime.deterrence
    lr = regime.learning
    d = d or Deterrence.model_construct(**_fields(defaults))  # no block: the world's defaults (rewards draw no rise)
    cr = CompiledRegime(regime.name, scorers, labels.names, p, pen, rew,
                        d.certainty_exponent, d.severity_exponent, d.reward_response, lr.probability if lr else 0.0,
                        lr.belief_step if lr else 0.0, lr.max_belief if lr else 1.0)
    for day, later in sorted(regime.schedule.items()):
        cr.schedule[day] = compile_regime(later, f"{origin} (values from day {day})", world)
        if cr.schedule[day].labels != cr.labels:  # only numbers may change over time
            raise ScorelabError("dated values changed the regime's structure", path=origin,
                                allowed="dated numbers only")
    return cr


def _compile_scorer(i: int, s: Scorer, labels: _Labels, origin: str, regime: Regime) -> CompiledScorer:
    E = N_EVENT_TYPES
    channels = []
    for name, ch in s.channels.items():
        obs = np.array([name in e.channels for e in EVENTS])
        if ch.observes is not None:
            limit = np.zeros(E, bool)
            limit[[EVENT_INDEX[e] for e in ch.observes]] = True
            obs &= limit
        cc = CompiledChannel(CHANNEL_INDEX[name], name, ch.coverage, ch.coverage_growth_per_year,
                             ch.miss, ch.misattribution, ch.invented_per_million, ch.delay_days, obs)
        if ch.coverage_by_event:
            cc.coverage_by_type = np.full(E, np.nan)
            for e, cov in ch.coverage_by_event.items():
                cc.coverage_by_type[EVENT_INDEX[e]] = cov
        if ch.crowd:
            bands = sorted(ch.crowd.participation, key=lambda b: b.max_age)
            cc.crowd_max_age = np.array([b.max_age for b in bands])
            cc.crowd_share = np.array([b.share for b in bands])
            cc.crowd_often, cc.crowd_threshold = ch.crowd.often, ch.crowd.threshold
            cc.crowd_spread, cc.crowd_generations = ch.crowd.spread, ch.crowd.max_generations
        channels.append(cc)
    observable = np.zeros(E, bool)
    for ch in channels:
        observable |= ch.observes
    rule_of_type = np.full(E, NO_RULE, np.int32)
    for ri, rule in enumerate(s.rules):
        et = EVENT_INDEX[rule.event]
        if rule_of_type[et] != NO_RULE:
            raise ScorelabError(f"two rules of scorer '{s.name}' score '{rule.event}'; merge them into one",
                                path=origin, key=f"scorers[{i}].rules[{ri}].event")
        rule_of_type[et] = ri
    R = len(s.rules)
    cap_slot = np.full(R, -1, np.int32)
    slot = 0
    for ri, rule in enumerate(s.rules):
        if rule.cap:
            cap_slot[ri] = slot
            slot += 1
    tier_names = [t.name for t in s.tiers.tiers] if s.tiers else []
    tier_mins = np.array([t.min for t in s.tiers.tiers][::-1] if s.tiers else [], dtype=np.float64)
    lists = []
    for lst in s.lists:
        et = np.zeros(max(len(tier_names), 1), bool)
        for t in lst.entry.tiers:
            et[tier_names.index(t)] = True
        ap = lst.exit.appeal
        lists.append(CompiledList(lst.name, lst.kind, et, bitmask(lst.entry.records), lst.entry.min_count,
                                  lst.exit.after_days, bitmask(lst.exit.on_records), lst.exit.on_tier_recovery,
                                  ap.probability if ap else 0.0, ap.success_if_false if ap else 0.0,
                                  ap.success_if_true if ap else 0.0, ap.delay_days if ap else 1))
    list_names = [lst.name for lst in s.lists]
    measures = [_compile_measure(m, "sanction", s, labels, tier_names, list_names) for m in s.sanctions]
    measures += [_compile_measure(m, "reward", s, labels, tier_names, list_names) for m in s.rewards]
    measures += [_compile_measure(m, "response", s, labels, tier_names, list_names) for m in s.responses]
    acted = rule_of_type >= 0
    for lst in lists:
        acted |= _bits(lst.entry_records | lst.exit_records)
    for m in measures:
        acted |= _bits(m.when.records)
        if m.on_record >= 0:
            acted[m.on_record] = True
    a = s.association
    return CompiledScorer(
        index=i, name=s.name, initial=s.score.initial, lo=s.score.min, hi=s.score.max,
        redemption_rate=s.score.redemption.per_day if s.score.redemption else 0.0,
        redemption_period=s.score.redemption.period_days if s.score.redemption else 30,
        redemption_only_below=s.score.redemption.only_below if s.score.redemption else True,
        channels=channels, observable=observable, rule_of_type=rule_of_type,
        rule_names=[r.name for r in s.rules],
        rule_codes=np.array([labels.code(f"{s.name}:{r.name}") for r in s.rules], np.int32),
        assoc_codes=np.array([labels.code(f"{s.name}:assoc:{r.name}") for r in s.rules], np.int32),
        points=np.array([r.points for r in s.rules], np.float64),
        cap_slot=cap_slot,
        cap_points=np.array([r.cap.points if r.cap else np.inf for r in s.rules], np.float64),
        cap_period=np.array([r.cap.period_days if r.cap else 1 for r in s.rules], np.int32),
        remed_days=np.array([r.remediation.days if r.remediation else 0 for r in s.rules], np.int32),
        remed_prob=np.array([r.remediation.probability if r.remediation else 0.0 for r in s.rules]),
        associate=np.array([r.associate for r in s.rules], bool),
        tier_names=tier_names, tier_mins_ascending=tier_mins, lists=lists, measures=measures,
        household_share=a.household_share if a else 0.0, contact_share=a.contact_share if a else 0.0,
        hops=a.hops if a else 0, assoc_min_points=a.min_points if a else 0.0, acted_on=acted,
        appeal_codes=np.array([labels.code(f"{s.name}:appeal:{r.name}") for r in s.rules], np.int32),
        expunge_codes=np.array([labels.code(f"{s.name}:expunge:{r.name}") for r in s.rules], np.int32),
        retention=_retention(s),
        appeal_probability=s.appeals.probability if s.appeals else 0.0,
        appeal_success_false=s.appeals.success_if_false if s.appeals else 0.0,
        appeal_success_true=s.appeals.success_if_true if s.appeals else 0.0,
        appeal_delay=s.appeals.delay_days if s.appeals else 1,
        appeal_cost=s.appeals.cost_yuan if s.appeals else 0.0,
        condition_types=_condition_types(lists, measures),
        avoid_lists=np.array([bool(s.avoidance) and lst.name in s.avoidance.lists for lst in s.lists], bool),
        avoid_probability=s.avoidance.probability if s.avoidance else 0.0,
        avoid_per_point=s.avoidance.per_inherited_point if s.avoidance else 0.0,
        avoid_household=s.avoidance.household_probability if s.avoidance else 0.0,
        rule_sources=[_cite(regime, r) for r in s.rules],
    )


def _condition_types(lists: list[CompiledList], measures: list[CompiledMeasure]) -> np.ndarray:
    mask = np.uint64(0)
    for lst in lists:
        mask |= lst.entry_records
    for m in measures:
        mask |= m.when.records
    return _bits(mask)


def _retention(s: Scorer) -> np.ndarray:
    days = np.zeros(N_EVENT_TYPES, np.int32)
    if s.memory:
        if s.memory.default_days:
            days[:] = s.memory.default_days
        for e, d in s.memory.by_event.items():
            days[EVENT_INDEX[e]] = d
    return days


def _cite(regime: Regime, block) -> str:
    if block.source:
        ref = regime.references[block.source]
        return ref.title + (f" ({ref.url})" if ref.url else "") + (f" ({ref.document})" if ref.document else "")
    return "assumption"


def _bits(mask: np.uint64) -> np.ndarray:
    m = int(mask)
    return np.array([(m >> k) & 1 == 1 for k in range(N_EVENT_TYPES)])


def _compile_measure(m: Measure, kind: str, s: Scorer, labels: _Labels, tier_names, list_names) -> CompiledMeasure:
    tiers = np.zeros(max(len(tier_names), 1), bool)
    for t in (m.when.tiers if m.when else ()):
        tiers[tier_names.index(t)] = True
    sectors = np.zeros(len(SECTOR_INDEX), bool)
    for sec in m.sectors:
        sectors[SECTOR_INDEX[sec]] = True
    cond = _compile_condition(m.when, tiers, list_names)
    gate_types = None
    if m.gate is not None:
        gate_types = np.zeros(N_EVENT_TYPES, bool)
        gate_types[[EVENT_INDEX[g] for g in GATE_GROUPS.get(m.gate, (m.gate,))]] = True
    triage = m.triage
    return CompiledMeasure(labels.code(f"{s.name}:{m.name}"), m.name, kind, m.domain,
                           EVENT_INDEX[m.gate] if m.gate in EVENT_INDEX else -1,
                           list_names.index(m.on_list_entry) if m.on_list_entry else -1,
                           EVENT_INDEX[m.on_record] if m.on_record else -1,
                           m.who, m.effect, m.price_factor, m.probability, sectors, cond, m.rate_factor,
                           m.when is not None, gate_types, m.every_days or 0,
                           m.duration_days if EFFECT_BY_NAME[m.effect].lasting else 0,
                           triage.miss if triage else 0.0, triage.false_alarms_per_million if triage else 0.0)


def _compile_condition(c: Condition | None, tiers: np.ndarray, list_names) -> CompiledCondition:
    if c is None:
        return CompiledCondition(np.empty(0, np.int64), tiers, np.uint64(0), None, None)
    sectors = None
    if c.sectors:
        sectors = np.zeros(len(SECTOR_INDEX), bool)
        sectors[[SECTOR_INDEX[x] for x in c.sectors]] = True
    return CompiledCondition(np.array([list_names.index(x) for x in c.lists], np.int64), tiers,
                             bitmask(c.records), c.score_below, c.score_at_least, sectors)


def _fields(defaults) -> dict:
    """The numbers of the world's deterrence defaults, as a Deterrence block's fields."""
    return {k: getattr(defaults, k) for k in ("certainty_exponent", "severity_exponent", "severity_scale",
                                              "list_weight", "reward_response")}


def _perceptions(regime: Regime, scorers: list[CompiledScorer], defaults=None) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray]:
    """What an aware citizen believes about each act: chance of record, penalty and reward at stake."""
    E = N_EVENT_TYPES
    not_seen = np.ones(E)
    penalty = np.zeros(E)
    reward = np.zeros(E)
    d = regime.deterrence or Deterrence.model_construct(**(_fields(defaults) if defaults is not None else {}))
    scale = d.severity_scale
    list_weight = d.list_weight
    for s in scorers:
        miss_all = np.ones(E)
        for ch in s.channels:
            p = ch.coverage * (1 - ch.miss)
            miss_all = np.where(ch.observes, miss_all * (1 - p), miss_all)
        not_seen *= miss_all
        pts = np.where(s.rule_of_type >= 0, s.points[np.maximum(s.rule_of_type, 0)] if len(s.points) else 0.0, 0.0)
        penalty += np.maximum(-pts, 0) / scale
        reward += np.maximum(pts, 0) / scale
        for lst in s.lists:
            if lst.kind in PUNITIVE_LIST_KINDS:
                penalty += list_weight * _bits(lst.entry_records)
    return 1 - not_seen, np.minimum(penalty, 1.0), np.minimum(reward, 1.0)
