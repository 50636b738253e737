"""What citizens really do today: sparse draws by thinning, with deterrence (S2-N8).

Each citizen's static propensity for an event type (traits, age limits, fixed eligibility)
is computed once into an alias table (behaviour/alias.py), so the day's candidates are drawn
in proportion to it in O(1) each. Only the dynamic factor (deterrence, reward response, unemployment) is
thinned: a candidate is kept with probability factor / max_factor. Work grows with events,
not with citizens x event types. Event types whose pool changes daily (unpaid judgment
debtors, job seekers, borrowers) are drawn from that pool.
Every random number is drawn before the regime's influence is applied, so a run and its
baseline share them (common random numbers): deterrence only moves acceptance thresholds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scorelab.behaviour.alias import build_alias, draw_alias
from scorelab.behaviour.thinning import DETERRED, NO_RESPONSE, REWARDED, keep_candidates, payment_codes
from scorelab.streams import stream
from scorelab.tables import CitizenState, EventBatch
from scorelab.vocabulary import (
    ACCOUNT_OPEN,
    CASH,
    DIGITAL,
    EVENT_INDEX,
    EVENTS,
    SECTOR_INDEX,
    UNEMPLOYED,
    UNPAID,
    WORKING_SECTORS,
)
from scorelab.world import world_of

BehaviourState = CitizenState  # the name earlier code used

# Rates, the trait cap, yearly application shares, instalment risk and job seekers' target sectors
# are the world's (scorelab.world, `events:` and `behaviour:`), read when a Behaviour is made.
# Bounds of the dynamic factor are constants, not regime parameters, so that a run and its
# baseline draw the same candidates (common random numbers) and differ only in acceptance.
MAX_REWARD_RESPONSE = 1.0   # rewarded acts rise at most 2x (Deterrence.reward_response <= 1)
MAX_RATE_MODIFIER = 2.0     # S2-N3: advice lowers, coupons raise a purchase rate, within [0, 2]
COLLEGE_DAY = 157  # early June, the national college entrance exam
SCHOOL_DAY = 244   # 1 September
WORK_SECTORS = np.array([SECTOR_INDEX[s] for s in WORKING_SECTORS], np.int8)


@dataclass
class Perception:
    """What aware citizens believe a regime does; zeros for the baseline `none`."""

    p: np.ndarray        # float64[E], chance of being recorded
    penalty: np.ndarray  # float64[E], stake in [0, 1]
    reward: np.ndarray   # float64[E]
    a: float             # certainty exponent
    b: float             # severity exponent
    reward_response: float


def eligible_now(name: str, st: CitizenState, white_collar: np.ndarray, dog_owner: np.ndarray) -> np.ndarray:
    """Who may do an act with this eligibility today (scorelab.vocabulary.ELIGIBILITY)."""
    if name == "has_loan":
        return st.has_loan
    if name == "unpaid_judgment":
        return st.unpaid_judgment
    if name == "job_seeker":
        return st.sector == UNEMPLOYED
    if name == "white_collar":
        return white_collar
    if name == "dog_owner":
        return dog_owner
    if name == "unbanked":
        return st.account != ACCOUNT_OPEN
    if name == "seller":
        return st.seller
    raise KeyError(name)


STATIC_ELIGIBILITY = (None, "white_collar", "dog_owner")  # fixed for the run: folded into the alias tables


class Behaviour:
    """Draws each day's true events for one society."""

    def __init__(self, society, seed: int, perception: Perception, world=None) -> None:
        self.world = world if world is not None else world_of(society.spec.marginals)  # scorelab.world
        b = self.world.spec.behaviour
        self.rates = self.world.rates()
        self.max_trait = b.number("max_trait_multiplier")
        self.college_apply, self.high_fee_school = b.number("college_apply"), b.number("high_fee_school")
        self.loan_late, self.loan_missed = b.number("loan_late"), b.number("loan_missed")
        self.work_weights = np.array([b.job_targets.get(s, 0.0) for s in WORKING_SECTORS])
        self.society = society
        self.seed = seed
        self.perception = perception
        self.n = society.n
        self.age = society.cols["age"]
        self.cashless = society.cols["cashless"]
        self.cashless_scale = 1.0  # today's cash share relative to the start (a dated parameter)
        self.white_collar = society.white_collar()
        self.dog_owner = society.cols["dog_owner"]
        self._cov: dict[str, np.ndarray] = {}
        for r in self.rates:
            for t in r.traits:
                if t != "unemployed" and t not in self._cov:
                    self._cov[t] = society.covariate(t)
        # static propensity per event type: an alias table, or a plain pool when weights are equal
        self._alias: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        self._pool: dict[int, np.ndarray] = {}
        static = [k for k, e in enumerate(EVENTS)
                  if e.schedule is None and e.eligible in STATIC_ELIGIBILITY and self.rates[k].per_day > 0]
        # two types at a time: exp and the alias construction release the GIL (issue 12)
        with ThreadPoolExecutor(2, thread_name_prefix="scorelab-alias") as pool:
            for k, table in zip(static, pool.map(self._static_table, static), strict=True):
                (self._alias if isinstance(table, tuple) else self._pool)[k] = table
        due = society.cols["loan_due_day"].astype(np.int64)
        order = np.argsort(due, kind="stable")
        self._due_order = order.astype(np.int32)
        self._due_ptr = np.searchsorted(due[order], np.arange(31))
        self._age18 = np.flatnonzero(self.age == 18).astype(np.int32)
        self.economy = None  # consequences.economy.Economy, attached by the engine
        self._bounds = [self._dynamic_max(k, e) for k, e in enumerate(EVENTS)]  # (dyn_max, unemployment) per type
        self._age6_17 = np.flatnonzero((self.age >= 6) & (self.age <= 17)).astype(np.int32)

    def new_state(self) -> CitizenState:
        return CitizenState.of(self.society.cols)

    # ------------------------------------------------------------------ per day
    def draw_day(self, day: int, st: CitizenState, injected: list[tuple[int, np.ndarray]] = ()) -> EventBatch:
        """The day's events (job applications carry their target sector), and any events the
        consequences injected (police stops after yesterday's alerts)."""
        parts: list[tuple[int, np.ndarray, np.ndarray]] = []
        static = self._static_draws(day)
        for k, e in enumerate(EVENTS):
            if e.schedule is None and self.rates[k].per_day > 0:
                cit, paid = self._poisson_type(k, e, day, st, static.get(k))
                parts.append((k, cit, paid))
        parts += self._month(day, st)
        parts += self._yearly(day)
        for k, cit in injected:
            parts.append((k, cit, np.zeros(len(cit), np.int8)))
        etype = np.concatenate([np.full(len(c), k, np.int16) for k, c, _ in parts])
        citizen = np.concatenate([c for _, c, _ in parts]).astype(np.int32)
        paid = np.concatenate([d for _, _, d in parts]).astype(np.int8)
        events = EventBatch.of(etype, citizen, paid, st.next_event_id)
        st.next_event_id += len(events)
        jobs = np.flatnonzero(etype == EVENT_INDEX["job_application"])
        if len(jobs):
            rng = stream(self.seed, "behaviour.job_target", day)
            events.target[jobs] = WORK_SECTORS[rng.choice(len(WORK_SECTORS), len(jobs), p=self.work_weights)]
        self._update_state(events, st)
        return events

    def _static_table(self, k: int) -> tuple[np.ndarray, np.ndarray, float] | np.ndarray:
        """A type's alias table (prob, alias, total weight), or its pool when the weights are equal."""
        w = self._static_weight(k)
        total = float(w.sum())
        if self.rates[k].traits and total > 0:
            prob, alias = build_alias(w)
            return prob, alias, total
        return np.flatnonzero(w > 0).astype(np.int32)

    def _static_weight(self, k: int, cand: np.ndarray | None = None) -> np.ndarray:
        """Propensity from fixed attributes: exp(sum coef * covariate), capped; 0 if ineligible.
        Of the candidates `cand`, or of every citizen (the columns as they are, not gathered)."""
        e, traits = EVENTS[k], self.rates[k].traits

        def of(column: np.ndarray) -> np.ndarray:
            return column if cand is None else column[cand]

        size = self.n if cand is None else len(cand)
        w = np.ones(size, np.float64)
        z = np.zeros(size, np.float32)
        for t, coef in traits.items():
            if t != "unemployed":
                z += coef * of(self._cov[t])
        if traits:
            w = np.minimum(np.exp(z, dtype=np.float64), self.max_trait)
        a = of(self.age)
        ok = (a >= e.min_age) & (a <= e.max_age)
        if e.eligible == "dog_owner":
            ok &= of(self.dog_owner)
        if e.eligible == "white_collar":
            ok &= of(self.white_collar)
        return np.where(ok, w, 0.0)

    def _dynamic_max(self, k: int, e) -> tuple[float, float]:
        """(dyn_max, unemployment coefficient): the bound of the dynamic factor of a type, fixed for the run."""
        rate = self.rates[k]
        boost = 1.0 + MAX_REWARD_RESPONSE if e.polarity > 0 else 1.0
        if e.category == "consumption":
            boost *= MAX_RATE_MODIFIER
        unemp = rate.traits.get("unemployed", 0.0)
        return boost * (np.exp(unemp) if unemp > 0 else 1.0), unemp

    def _static_draws(self, day: int) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """The day's candidates and uniforms of every type drawn from a fixed table or pool: they
        depend on nothing that happens in the run (nor on the regime: a run and its baseline share them)."""
        out = {}
        for k, e in enumerate(EVENTS):
            if k not in self._alias and k not in self._pool:
                continue
            rng = stream(self.seed, "behaviour", k, day)
            dyn_max = self._bounds[k][0]
            if k in self._alias:
                prob, alias, total = self._alias[k]
                count = rng.poisson(self.rates[k].per_day * total * dyn_max)
                cand = draw_alias(prob, alias, rng.random(count), rng.random(count))
            else:
                pool = self._pool[k]
                count = rng.poisson(self.rates[k].per_day * len(pool) * dyn_max) if len(pool) else 0
                cand = pool[rng.integers(0, max(len(pool), 1), count)]
            out[k] = cand, rng.random(count), rng.random(count) if e.paid else None
        return out

    def _poisson_type(self, k: int, e, day: int, st: CitizenState,
                      drawn: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Today's acts of one type: candidates (`drawn` by _static_draws for the static types, from
        today's pool otherwise), thinned by the dynamic factor, with the way each purchase is paid."""
        dyn_max, unemp = self._bounds[k]
        weight_ok = None
        if drawn is not None:
            cand, u, u_paid = drawn
        else:
            rate = self.rates[k]
            rng = stream(self.seed, "behaviour", k, day)
            pool = np.flatnonzero(eligible_now(e.eligible, st, self.white_collar, self.dog_owner))
            lam = rate.per_day * (self.max_trait if rate.traits else 1.0) * dyn_max
            count = rng.poisson(lam * len(pool)) if len(pool) else 0
            cand = pool[rng.integers(0, max(len(pool), 1), count)]
            weight_ok = self._static_weight(k, cand) / (self.max_trait if rate.traits else 1.0)
            u = rng.random(count)
            u_paid = rng.random(count) if e.paid else None
        keep = self._keep(k, e, cand, u, weight_ok, dyn_max, unemp, st)
        cand = cand[keep].astype(np.int32)
        if u_paid is None:
            return cand, np.full(len(cand), UNPAID, np.int8)
        share = self.cashless.dtype.type
        return cand, payment_codes(cand, u_paid[keep], share(1.0), share(self.cashless_scale), self.cashless,
                                   st.account, ACCOUNT_OPEN, DIGITAL, CASH)

    def _keep(self, k: int, e, cand: np.ndarray, u: np.ndarray, weight_ok: np.ndarray | None, dyn_max: float,
              unemp: float, st: CitizenState) -> np.ndarray:
        """Candidates kept with probability weight x factor / dyn_max (behaviour/thinning.py), the
        factor being deterrence or reward response (_deterrence), the rate modifier, unemployment
        and internet access (without it the online share of an act does not happen; a citizen
        whose access a regime cut still tries, and is refused: consequences/daily.py)."""
        per = self.perception
        response, stake = self._response(k, e)
        rate_mod = st.rate_mod.get(k)
        online = e.online_share > 0
        # NumPy divides a float32 rate modifier by a Python float in float32 when nothing else
        # multiplies it (dyn_max is a NumPy float only when unemployment raises the rate)
        f32 = (response == NO_RESPONSE and rate_mod is not None and not unemp and not online
               and weight_ok is None and not isinstance(dyn_max, np.floating))
        return keep_candidates(
            cand, u, weight_ok if weight_ok is not None else u, weight_ok is not None, response,
            float(per.p[k]), float(per.a), float(stake), float(per.reward_response), st.belief, st.aware,
            rate_mod if rate_mod is not None else st.belief, rate_mod is not None, f32,
            float(np.exp(np.full(1, unemp, np.float64))[0]), st.sector, UNEMPLOYED, bool(unemp),
            st.online, st.online_back, 1.0 - e.online_share, online, float(dyn_max))

    def cashless_today(self, cit: np.ndarray) -> np.ndarray:
        """Each citizen's share of payments made digitally today (S1-M3; grows when the share is dated)."""
        return 1.0 - (1.0 - self.cashless[cit]) * self.cashless_scale

    def _response(self, k: int, e) -> tuple[int, float]:
        """How the regime's perceived risk moves an act of type k (behaviour/thinning.py's
        NO_RESPONSE, DETERRED or REWARDED), and its stake: penalty^b or reward^b."""
        per = self.perception
        if e.deterrable and per.penalty[k] > 0 and per.p[k] > 0:
            return DETERRED, per.penalty[k] ** per.b
        if e.polarity > 0 and per.reward[k] > 0 and per.p[k] > 0 and per.reward_response > 0:
            return REWARDED, per.reward[k] ** per.b
        return NO_RESPONSE, 0.0

    def _deterrence(self, k: int, e, cand: np.ndarray, st: CitizenState) -> np.ndarray | float:
        """S2-N8 and Becker: an aware citizen's rate falls with (p^a)(f^b); the unaware do not react."""
        per = self.perception
        response, stake = self._response(k, e)
        if response == NO_RESPONSE:
            return 1.0
        p = np.minimum(st.belief[cand] * per.p[k], 1.0)
        if response == DETERRED:
            return 1.0 - st.aware[cand] * (p ** per.a) * stake
        return 1.0 + st.aware[cand] * per.reward_response * (p ** per.a) * stake

    def _month(self, day: int, st: CitizenState) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """S2-N1: each borrower's monthly instalment is on time, late or missed; 3 missed = default.

        The citizens whose month turns over today also get their income and pay their living
        costs (consequences/economy.py, when the engine attached one); a balance under the
        minimum is a recorded breach.
        """
        due = day % 30
        everyone = self._due_order[self._due_ptr[due]:self._due_ptr[due + 1]]
        u = stream(self.seed, "behaviour.loans", day).random(len(everyone))
        active = st.has_loan[everyone]
        group, u = everyone[active], u[active]
        cons = self._cov_or("conscientiousness", group)
        inc = self._cov_or("income_z", group)
        unemployed = st.sector[group] == UNEMPLOYED
        stress = np.exp(-0.5 * cons - 0.4 * inc + 1.2 * unemployed)
        if self.economy is not None:
            stress = stress * np.where(self.economy.shortfall(group), 4.0, 1.0)
        k_late, k_miss = EVENT_INDEX["loan_late"], EVENT_INDEX["loan_missed"]
        p_late = self.loan_late * stress * self._deterrence(k_late, EVENTS[k_late], group, st)
        p_miss = self.loan_missed * stress * self._deterrence(k_miss, EVENTS[k_miss], group, st)
        missed = u < p_miss
        late = ~missed & (u < p_miss + p_late)
        on_time = ~missed & ~late
        st.missed_streak[group[~missed]] = 0
        st.missed_streak[group[missed]] += 1
        default = missed & (st.missed_streak[group] >= 3)
        missed &= ~default
        st.has_loan[group[default]] = False
        st.missed_streak[group[default]] = 0
        outcomes = ((EVENT_INDEX["loan_on_time"], on_time), (k_late, late), (k_miss, missed),
                    (EVENT_INDEX["loan_default"], default))
        out = [(k, group[mask], np.zeros(int(mask.sum()), np.int8)) for k, mask in outcomes]
        if self.economy is not None:
            paid = np.zeros(len(everyone), bool)
            paid[np.flatnonzero(active)[on_time | late]] = True
            below = self.economy.month(day, everyone, st, paid, self.cashless_today(everyone), self._due_order,
                                       (int(self._due_ptr[due]), int(self._due_ptr[due + 1])))
            out.append((EVENT_INDEX["min_balance_breach"], below, np.zeros(len(below), np.int8)))
        return out

    def _cov_or(self, name: str, idx: np.ndarray) -> np.ndarray:
        col = self._cov.get(name)
        return col[idx] if col is not None else np.zeros(len(idx), np.float32)

    def _yearly(self, day: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """College applications (S1-M6) and high-fee school enrolments, once a year each."""
        out = []
        if day % 365 == COLLEGE_DAY:
            rng = stream(self.seed, "behaviour.college", day)
            who = self._age18[rng.random(len(self._age18)) < self.college_apply]
            out.append((EVENT_INDEX["college_application"], who, np.zeros(len(who), np.int8)))
        if day % 365 == SCHOOL_DAY:
            rng = stream(self.seed, "behaviour.school", day)
            who = self._age6_17[rng.random(len(self._age6_17)) < self.high_fee_school]
            out.append((EVENT_INDEX["school_enrolment"], who, np.zeros(len(who), np.int8)))
        return out

    def _update_state(self, events: EventBatch, st: CitizenState) -> None:
        """True events that change circumstances: a judgment debt starts or is repaid."""
        st.unpaid_judgment[events.citizen[events.etype == EVENT_INDEX["court_judgment_unpaid"]]] = True
        st.unpaid_judgment[events.citizen[events.etype == EVENT_INDEX["judgment_repaid"]]] = False
