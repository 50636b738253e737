"""The consequences stage: what follows from the day's events and decisions.

The engine calls it three times a day:
1. `before_gates`: doors closed by circumstance (no account, no internet, payments suspended);
2. `after_gates`, once the regime's gate decisions have been applied (consequences/registry.py):
   places full except for the preferred, deposits, loans, jobs, accounts, schooling and sales
   from the attempts that were made, and citizens learning from refusals;
3. `after_decisions`, once the records of the day have been scored: contacts and family who
   cut ties with the newly listed (S1-M7), contacts who learn of the system from a sanction
   (S2-N8), new ties (Wei et al. 2016), internet cuts that end.
"""

from __future__ import annotations

import numpy as np

from scorelab.consequences import accounts, education, employment, internet, registry
from scorelab.consequences.access import refuse_events
from scorelab.consequences.payments import block_digital_payments
from scorelab.consequences.world import PURPOSE, World, purpose_code
from scorelab.streams import stream
from scorelab.tables import Decisions
from scorelab.vocabulary import (
    ACCOUNT_OPEN,
    EVENTS,
    FULL,
    MADE,
    MEASURE_KINDS,
    REFUSED,
    SUBSTITUTED,
    UNABLE,
)

NEEDS_ACCOUNT = np.array(["account" in e.needs for e in EVENTS])
# share of each act done online: 1 for what needs the internet outright
ONLINE_SHARE = np.array([1.0 if "internet" in e.needs else e.online_share for e in EVENTS])
RATE_OF_SALES = 0.1  # platform sales batches per seller per day (behaviour/catalogue.py)
ADULT = 18
SANCTION = MEASURE_KINDS.index("sanction")


class Consequences:
    def __init__(self, world: World, learning: tuple[float, float, float], recorder=None,
                 score: np.ndarray | None = None) -> None:
        """`score`: the first scorer's scores, by which new ties are homophilous (None: no regime)."""
        self.world = world
        self.score = score
        self.learn_p, self.learn_step, self.learn_max = learning
        self.recorder = recorder
        self.learned = 0
        self.sales_per_day = world.params.sales_per_day or RATE_OF_SALES  # the world's events.platform_sale

    # ------------------------------------------------------------------ 1. circumstances
    def before_gates(self) -> None:
        w = self.world
        ev = w.events
        if NEEDS_ACCOUNT[ev.etype].any():
            pos = np.flatnonzero(NEEDS_ACCOUNT[ev.etype])
            cit = ev.citizen[pos]
            closed = w.accounts_closed[cit] & (w.state.account[cit] != ACCOUNT_OPEN)
            suspended = w.economy.is_suspended(cit, w.day) & ~closed
            never = (w.state.account[cit] != ACCOUNT_OPEN) & ~closed
            refuse_events(w, pos[closed], w.accounts_closed_wrongful[cit[closed]], "account_closed")
            refuse_events(w, pos[suspended], w.economy.suspension_wrongful[cit[suspended]], "suspension")
            ev.outcome[pos[never & (ev.outcome[pos] == MADE)]] = UNABLE
        online = ONLINE_SHARE[ev.etype] > 0
        if online.any():  # acts done online, by citizens without access now
            pos = np.flatnonzero(online)
            cit = ev.citizen[pos]
            off = ~w.state.online[cit]
            pos, cit = pos[off], cit[off]
            # an act done partly online needs the internet with its online share
            u = stream(w.seed, "consequences.online", w.day).random(len(pos))
            needs = u < ONLINE_SHARE[ev.etype[pos]]
            pos, cit = pos[needs], cit[needs]
            # only a citizen whose access a regime cut tries online and is refused; one who never had
            # access does not try the online share at all (behaviour/draw.py already left it out)
            cut = w.state.online_back[cit] >= 0
            refuse_events(w, pos[cut], w.internet_cut_wrongful[cit[cut]], "internet_cut")
        block_digital_payments(w)

    # ------------------------------------------------------------------ 2. what the attempts lead to
    def apply(self, decisions: list[Decisions]) -> Decisions:
        dec = Decisions.concat(decisions)
        registry.apply(dec, self.world)
        return dec

    def after_gates(self) -> None:
        w = self.world
        ev = w.events
        purpose = PURPOSE[ev.etype]

        def of(name: str) -> np.ndarray:
            return np.flatnonzero(purpose == purpose_code(name))

        visits = of("visit")
        if len(visits):  # S1-M9: when a place is full, only those with preferred access get in
            u = stream(w.seed, "consequences.shortage", w.day).random(len(visits))
            full = visits[(u < w.params.shortage) & (ev.outcome[visits] == MADE) & ~w.priority[visits]]
            ev.outcome[full] = FULL
            w.counters["preferred_visits"] += int(((u < w.params.shortage) & w.priority[visits]
                                                   & (ev.outcome[visits] == MADE)).sum())
        rentals = of("rental")
        made = rentals[(ev.outcome[rentals] == MADE) & ~w.waived[rentals]]
        w.economy.lock_deposits(ev.citizen[made], w.economy.prices[ev.etype[made]], w.day)
        loans = of("loan")
        made = loans[ev.outcome[loans] == MADE]
        w.economy.grant_loans(ev.citizen[made], w.loan_factor[made], w.state, w.day)
        employment.hire(w, of("job"))
        accounts.open_accounts(w, of("account"))
        education.college(w, of("college"))
        education.school(w, of("school"))
        self._sales(of("sale"))
        self._learn_from_refusals()

    def _sales(self, sales: np.ndarray) -> None:
        """A seller's platform income arrives with each batch of sales made; refused ones are lost."""
        if not len(sales):
            return
        w = self.world
        ev = w.events
        cit = ev.citizen[sales]
        value = w.economy.monthly[cit] * w.params.platform_income_share / (30.0 * self.sales_per_day)
        made = ev.outcome[sales] == MADE
        w.economy.pay(cit[made], value[made], "sales", w.day)
        w.economy.lose(cit[~made], value[~made], w.wrongful[sales[~made]])

    def _learn_from_refusals(self) -> None:
        """Refused citizens try less: each refusal lowers their rate of every attempt of that purpose."""
        w = self.world
        ev = w.events
        refused = np.flatnonzero((ev.outcome == REFUSED) | (ev.outcome == SUBSTITUTED))
        if not len(refused):
            return
        for p in np.unique(PURPOSE[ev.etype[refused]]):
            who = ev.citizen[refused[PURPOSE[ev.etype[refused]] == p]]
            for k in np.flatnonzero(PURPOSE == p):
                if EVENTS[k].category == "attempt" and EVENTS[k].schedule is None:
                    w.state.modify_rate(int(k), who, w.params.refusal_learning, low=0.02, high=2.0)
        w.counters["learned_from_refusal"] += len(refused)

    # ------------------------------------------------------------------ 3. after the records are scored
    def after_decisions(self, decisions: Decisions, entries: list[tuple[object, int, np.ndarray]]) -> None:
        w = self.world
        for scorer, li, cit in entries:
            if scorer.cs.avoid_lists[li]:
                self._avoid(scorer, li, cit)
        sanctioned = decisions.citizen[decisions.kind == SANCTION]
        if self.learn_p > 0 and len(sanctioned):
            self._learn(sanctioned)
        internet.restore(w)
        if w.day % 30 == 29:
            self._new_ties()

    def _avoid(self, scorer, li: int, cit: np.ndarray) -> None:
        """S1-M7: contacts cut ties with a newly listed citizen, the more so the more they would
        inherit by association; adult household members may break with them too."""
        w = self.world
        cs = scorer.cs
        inherited = cs.contact_share * np.maximum(cs.initial - scorer.score[cit], 0.0)
        p = np.minimum(cs.avoid_probability + cs.avoid_per_point * inherited, 1.0)
        key = (cs.index * 64 + li) * 1024 + w.next_call()
        target, contact = w.network.avoid(cit, p, w.seed, key, w.day)
        if self.recorder is not None:
            self.recorder.tie_cut(day=w.day, citizen=target, contact=contact, scorer=cs.index,
                                  list=scorer.list_code_base + li, household=False)
        scorer.counters["ties_cut"] += len(target)
        if cs.avoid_household > 0:
            o, member = w.households.others(cit.astype(np.int64))
            adult = w.cols["age"][member] >= ADULT
            o, member = o[adult], member[adult]
            u = stream(w.seed, "consequences.family", w.day, key).random(len(member))
            leave = u < cs.avoid_household
            o, member = o[leave], np.unique(member[leave])
            if len(member):
                w.households.leave(member)
                if self.recorder is not None:
                    _, first = np.unique(member, return_index=True)
                    self.recorder.tie_cut(day=w.day, citizen=cit[o][first] if len(o) else cit[:0], contact=member,
                                          scorer=cs.index, list=scorer.list_code_base + li, household=True)
                scorer.counters["family_left"] += len(member)

    def _learn(self, sanctioned: np.ndarray) -> None:
        """S2-N8: contacts who see a sanction become aware and believe detection likelier."""
        w = self.world
        _, contact = w.network.neighbours(np.unique(sanctioned).astype(np.int64))
        if not len(contact):
            return
        u = stream(w.seed, "consequences.learning", w.day).random(len(contact))
        who = np.unique(contact[u < self.learn_p])
        st = w.state
        self.learned += int((~st.aware[who]).sum())
        st.aware[who] = True
        st.belief[who] = np.minimum(st.belief[who] * (1.0 + self.learn_step), self.learn_max)

    def _new_ties(self) -> None:
        """Monthly new ties; each newcomer picks, among a few candidates, the closest in score."""
        w = self.world
        p = w.params
        n = len(w.cols["age"])
        count = int(round(n * p.new_ties_per_year * 30 / 365))
        if count <= 0 or n < 2:
            return
        rng = stream(w.seed, "consequences.new_ties", w.day)
        a = rng.integers(0, n, count)
        cands = rng.integers(0, n, (count, max(p.tie_candidates, 1)))
        if self.score is not None:
            pick = np.argmin(np.abs(self.score[cands] - self.score[a][:, None]), axis=1)
        else:
            pick = np.zeros(count, np.int64)
        w.network.add_ties(a, cands[np.arange(count), pick])
