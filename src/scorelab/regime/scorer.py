"""One scorer at work: records to points, tiers, lists and decisions.

A unified regime has one Scorer; a fragmented one (S2-N6) has several that share nothing:
each has its own channels, score, memory, lists and measures.

The scorer sees records as the regime does (scorelab.tables.Records: no truth flag, no true
actor), so no decision can rest on the truth. What it produces goes one way, to an `Outlet`
(the audit marks what rested on false records and passes everything on to the recorder); it
never reads anything back. The one place where truth reaches the regime is the appeal body
(`AppealBody`): an appeal is an investigation, so its verdict may depend on whether the record
was false (see scorelab.audit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scorelab.regime.compiled import CompiledMeasure, CompiledScorer
from scorelab.regime.conditions import Standing, holds
from scorelab.regime.kernels import apply_points, or_bits
from scorelab.streams import stream
from scorelab.tables import Decisions, EventBatch, Records, csr_gather
from scorelab.vocabulary import (
    ASSOCIATION_CHANNEL,
    DIGITAL,
    EVENTS,
    LIST_REASONS,
    TIME_CHANNEL,
)

REDEMPTION_CODE = 0  # label code of 'redemption' (compile_regime puts it first)
BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
PAYMENT_CHECKED = np.array([e.check == "payment" for e in EVENTS])
ADULT_AGE = 14  # false alarms fall on people this old or older


class Outlet(Protocol):
    """Where a scorer's outputs go. Every method returns nothing: the scorer never reads back."""

    def points(self, scorer: int, day: int, citizen: np.ndarray, delta: np.ndarray, rule: np.ndarray,
               channel: np.ndarray | int, record_id: np.ndarray | int, source_citizen: np.ndarray | int) -> None: ...

    def redeemed(self, scorer: int, day: int, citizen: np.ndarray, delta: np.ndarray, keep: float) -> None: ...

    def remembered(self, scorer: int, records: Records, lists: np.ndarray) -> None: ...

    def forgotten(self, scorer: int, record_id: np.ndarray, citizen: np.ndarray, etype: np.ndarray,
                  lists: np.ndarray) -> None: ...

    def entered(self, scorer: int, li: int, day: int, citizen: np.ndarray, by_tier: bool, score: np.ndarray,
                trigger_citizen: np.ndarray, trigger_record: np.ndarray) -> None: ...

    def exited(self, scorer: int, li: int, day: int, citizen: np.ndarray, reason: str) -> None: ...

    def decided(self, decisions: Decisions) -> None: ...

    def appealed(self, scorer: int, day_filed: int, day_decided: int, citizen: np.ndarray, kind: str,
                 rule: np.ndarray | int, li: int, record_id: np.ndarray | int, success: np.ndarray) -> None: ...


class AppealBody(Protocol):
    """Decides appeals: the only place where the truth of a record may weigh (an investigation)."""

    def decide_records(self, scorer: int, record_id: np.ndarray, day: int) -> np.ndarray: ...

    def decide_listings(self, scorer: int, li: int, citizen: np.ndarray, day: int) -> np.ndarray: ...


@dataclass
class Reversal:
    """Points to give back later: a corrected (appealed) or expunged record (ways back, issue 5).

    A corrected record also gives back what it cost others by association (`assoc_*`)."""

    citizen: np.ndarray
    delta: np.ndarray      # the amount to add back (minus what the record cost)
    rule: np.ndarray
    record_id: np.ndarray
    etype: np.ndarray
    channel: np.ndarray
    landed: np.ndarray     # day the record was scored
    assoc_target: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    assoc_delta: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))
    assoc_rule: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    assoc_record: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    assoc_source: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))


class Scorer:
    def __init__(self, cs: CompiledScorer, n: int, households, network, circumstances, age: np.ndarray,
                 seed: int, outlet: Outlet, appeal_body: AppealBody, list_code_base: int, horizon: int) -> None:
        self.cs = cs
        self.n = n
        self.seed = seed
        self.out = outlet
        self.appeal_body = appeal_body
        self.households = households      # consequences.network.Households (changes when families break)
        self.network = network            # consequences.network.Network (ties cut and formed)
        self.circumstances = circumstances  # tables.CitizenState (read: sector)
        self.age = age
        self.list_code_base = list_code_base
        self.horizon = horizon            # nothing is scheduled beyond the run's last day
        L = len(cs.lists)
        self.score = np.full(n, cs.initial, np.float64)
        self.tier = cs.tier_of(self.score)
        self.member = np.zeros((L, n), bool)
        self.ever = np.zeros((L, n), bool)
        self.entered_by_tier = np.zeros((L, n), bool)
        self.entry_day = np.full((L, n), -1, np.int32)
        self.appeal_exempt = np.zeros((L, n), bool)  # a won list appeal holds until a new record
        self.seen = np.zeros(n, np.uint64)
        # live records of each list's entry types, per citizen (corrections take them away)
        self.entry_counts = {li: np.zeros(n, np.int32) for li, lst in enumerate(cs.lists) if lst.entry_records}
        caps = max(cs.n_caps, 1)
        self.cap_used = np.zeros((caps, n if cs.n_caps else 1), np.float64)
        self.cap_period_seen = np.full((caps, n if cs.n_caps else 1), -1, np.int64)
        self.pending: dict[int, list[Records]] = defaultdict(list)     # delayed records
        self.remedy_due: dict[int, list[Records]] = defaultdict(list)  # S2-N9 windows
        self.exits_due: dict[int, list[tuple[int, np.ndarray, np.ndarray, int]]] = defaultdict(list)
        self.corrections_due: dict[int, list[Reversal]] = defaultdict(list)  # won record appeals
        self.expiries_due: dict[int, list[Reversal]] = defaultdict(list)     # expungement
        self.corrected: set[int] = set()  # record ids given back on appeal (not expunged again)
        self.expunged: set[int] = set()   # record ids given back on expiry (not corrected again)
        # Record memory read by conditions: per such event type, how many live records a citizen
        # has, so that expiry and correction can clear a bit of `seen`.
        self.memory_counts = {int(k): np.zeros(n, np.int16) for k in np.flatnonzero(cs.condition_types)}
        self.last_review = {m.code: np.full(n, -(1 << 30), np.int32) for m in cs.measures if m.every_days}
        self.next_record_id = 0
        self.day = 0
        self._calls = 0
        self.counters: dict[str, float] = defaultdict(float)
        self.list_size = np.zeros(L, np.int64)
        k = max(len(cs.tier_names), 1)
        self.transitions = np.zeros((k, k), np.int64)  # tier changes, from row to column
        self.bottom_since = np.where(self.tier == k - 1, 0, -1).astype(np.int32) if len(cs.tier_names) > 1 \
            else np.full(n, -1, np.int32)
        self.bottom_days = np.zeros(n, np.int32)
        # redemption (issue 5) and collateral harm (issue 4), tracked for the citizens touched
        self.first_below = np.full(n, -1, np.int32)   # first day more than a point under the start
        self.redeemed_day = np.full(n, -1, np.int32)  # first day back within a point after that
        self.penalised_own = np.zeros(n, bool)
        self.penalised_assoc = np.zeros(n, bool)
        self.gates = [m for m in cs.measures if m.is_gate]
        # initial tier-based lists (e.g. everyone starts in a middle tier)
        self._update_tiers(np.arange(n), day=0)

    @property
    def index(self) -> int:
        return self.cs.index

    def retune(self, cs: CompiledScorer) -> None:
        """Take the scorer's parameters in effect from today (dated values); the structure is the same."""
        self.cs = cs
        self.gates = [m for m in cs.measures if m.is_gate]

    def days_in_bottom_tier(self, days: int) -> np.ndarray:
        """Days each citizen spent in the lowest tier, counting a stay still open at the end."""
        open_ = self.bottom_since >= 0
        return self.bottom_days + np.where(open_, days - self.bottom_since, 0)

    def standing(self, cit: np.ndarray) -> Standing:
        """The scorer's view of these citizens, as conditions read it."""
        return Standing(len(cit), lambda li: self.member[li, cit], lambda: self.score[cit],
                        lambda _score: self.tier[cit], lambda: self.seen[cit], lambda: self.circumstances.sector[cit])

    def condition(self, m: CompiledMeasure, cit: np.ndarray) -> np.ndarray:
        return holds(self.cs, m.when, self.standing(cit))

    # ------------------------------------------------------------------ records in
    def receive(self, records: Records) -> None:
        """Queue records by the day they reach the scorer (channel delays)."""
        if not len(records):
            return
        for d in np.unique(records.day_recorded):
            self.pending[int(d)].append(records.take(records.day_recorded == d))

    def _rng(self, name: str, day: int, *keys: int):
        """A stream per call: a step that runs twice a day (e.g. rules on landed records, then on
        records whose remediation window ends) never reuses the same uniforms."""
        self._calls += 1
        return stream(self.seed, name, self.cs.index, day, self._calls, *keys)

    def process_day(self, day: int) -> None:
        self.day = day
        self._calls = 0
        landed = Records.concat(self.pending.pop(day, []))
        self.counters["records"] += len(landed)
        touched = [np.empty(0, np.int64)]
        if len(landed):
            self._remember(landed)
            self._compliance_exits(landed, day)
            touched.append(self._score(landed, day))
            self._record_entries(landed, day)
            self._record_measures(landed, day)
        touched.append(self._due_remedies(day))
        touched.append(self._reverse(self.corrections_due.pop(day, []), day, appeal=True))
        touched.append(self._reverse(self.expiries_due.pop(day, []), day, appeal=False))
        t = _distinct(np.concatenate(touched), self.n)
        if len(t):  # tiers and lists see the day's penalties before any redemption softens them
            self._update_tiers(t, day)
        redeemed = self._redeem(day)
        if len(redeemed):
            self._update_tiers(redeemed, day)
        self._timed_exits(day)
        self._reviews(day)

    def _entry_lists_of(self, etype: np.ndarray) -> np.ndarray:
        """bool[L, k]: which lists each record's type can put a citizen on."""
        bits = BIT[etype]
        return np.array([(bits & lst.entry_records) != 0 for lst in self.cs.lists], bool).reshape(
            len(self.cs.lists), len(etype))

    def _remember(self, r: Records) -> None:
        or_bits(self.seen, r.citizen, BIT[r.etype])
        for k in np.unique(r.etype[self.cs.condition_types[r.etype]]):
            mine = r.etype == k
            np.add.at(self.memory_counts[int(k)], r.citizen[mine], 1)
            expires = self.day + int(self.cs.retention[k])
            if self.cs.retention[k] > 0 and expires < self.horizon:
                self.expiries_due[expires].append(
                    Reversal(r.citizen[mine], np.zeros(int(mine.sum())), np.full(int(mine.sum()), -1),
                             r.record_id[mine], r.etype[mine], r.channel[mine], np.full(int(mine.sum()), self.day)))
        lists = self._entry_lists_of(r.etype)
        for li, counts in self.entry_counts.items():
            if lists[li].any():
                np.add.at(counts, r.citizen[lists[li]], 1)
        self.out.remembered(self.index, r, lists)

    # ------------------------------------------------------------------ points
    def _score(self, r: Records, day: int) -> np.ndarray:
        rule = self.cs.rule_of_type[r.etype]
        scored = r.take(rule >= 0)
        if not len(scored):
            return np.empty(0, np.int64)
        rule = self.cs.rule_of_type[scored.etype]
        windowed = self.cs.remed_days[rule] > 0
        if windowed.any():
            w = scored.take(windowed)
            wr = rule[windowed]
            rng = self._rng("regime.remediation", day)
            remedied = rng.random(len(w)) < self.cs.remed_prob[wr]
            self.counters["remedied"] += int(remedied.sum())
            w = w.take(~remedied)
            for d in np.unique(self.cs.remed_days[wr[~remedied]]):
                self.remedy_due[day + int(d)].append(w.take(self.cs.remed_days[self.cs.rule_of_type[w.etype]] == d))
            scored = scored.take(~windowed)
        return self._apply_rules(scored, day)

    def _due_remedies(self, day: int) -> np.ndarray:
        due = Records.concat(self.remedy_due.pop(day, []))
        return self._apply_rules(due, day) if len(due) else np.empty(0, np.int64)

    def _apply_rules(self, r: Records, day: int) -> np.ndarray:
        cs = self.cs
        if not len(r):
            return np.empty(0, np.int64)
        rule = cs.rule_of_type[r.etype]
        delta = self._apply(r.citizen, cs.points[rule], cs.cap_slot[rule], cs.cap_points[rule], cs.cap_period[rule],
                            day)
        self.out.points(self.index, day, r.citizen, delta, cs.rule_codes[rule], r.channel, r.record_id, -1)
        self.counters["points"] += float(delta.sum())
        penalised = r.citizen[delta < 0]
        self.penalised_own[penalised] = True
        self.appeal_exempt[:, penalised] = False  # a new penalty is a new cause: old appeals no longer shield
        won = self._file_appeals(r, delta, rule, day)
        self._schedule_expiry(r, delta, rule, day)
        touched = [r.citizen.astype(np.int64)]
        spill = (delta < 0) & (-delta >= cs.assoc_min_points) & cs.associate[rule]
        assoc = None
        if cs.hops and spill.any():
            idx = np.flatnonzero(spill)
            assoc = self._associate(r.take(idx), delta[idx], rule[idx], day)
            touched.append(assoc[1].astype(np.int64))
            assoc = (idx[assoc[0]], assoc[1], assoc[2])
        if won.any() and day + cs.appeal_delay < self.horizon:
            self.corrections_due[day + cs.appeal_delay].append(self._correction(r, delta, rule, won, day, assoc))
        return np.concatenate(touched)

    def _file_appeals(self, r: Records, delta: np.ndarray, rule: np.ndarray, day: int) -> np.ndarray:
        """Ways back: some penalising records are contested; the appeal body decides (issue 5)."""
        cs = self.cs
        won = np.zeros(len(r), bool)
        if cs.appeal_probability <= 0 or not (delta < 0).any():
            return won
        rng = self._rng("regime.record_appeal", day)
        filed = (delta < 0) & (rng.random(len(r)) < cs.appeal_probability)
        if not filed.any():
            return won
        won[filed] = self.appeal_body.decide_records(self.index, r.record_id[filed], day)
        self.out.appealed(self.index, day, day + cs.appeal_delay, r.citizen[filed], "record",
                          cs.rule_codes[rule[filed]], -1, r.record_id[filed], won[filed])
        self.counters["appeals_filed"] += int(filed.sum())
        self.counters["appeal_costs_yuan"] += cs.appeal_cost * int(filed.sum())
        return won

    def _schedule_expiry(self, r: Records, delta: np.ndarray, rule: np.ndarray, day: int) -> None:
        cs = self.cs
        expiring = (delta < 0) & (cs.retention[r.etype] > 0) & (day + cs.retention[r.etype] < self.horizon)
        for d in np.unique(cs.retention[r.etype[expiring]]):
            sel = expiring & (cs.retention[r.etype] == d)
            self.expiries_due[day + int(d)].append(self._reversal(r, delta, rule, sel, day))

    @staticmethod
    def _reversal(r: Records, delta, rule, sel, day: int) -> Reversal:
        return Reversal(r.citizen[sel], -delta[sel], rule[sel], r.record_id[sel], r.etype[sel], r.channel[sel],
                        np.full(int(sel.sum()), day))

    def _correction(self, r: Records, delta, rule, won, day: int, assoc) -> Reversal:
        """What a won appeal will give back: the record's own points and what it cost others."""
        rev = self._reversal(r, delta, rule, won, day)
        if assoc is not None:
            origin, target, applied = assoc
            mine = won[origin]
            rev.assoc_target = target[mine].astype(np.int32)
            rev.assoc_delta = -applied[mine]
            rev.assoc_rule = rule[origin[mine]]
            rev.assoc_record = r.record_id[origin[mine]]
            rev.assoc_source = r.citizen[origin[mine]].astype(np.int32)
        return rev

    def _reverse(self, items: list[Reversal], day: int, appeal: bool) -> np.ndarray:
        """Give back points of corrected or expired records; forget them."""
        if not items:
            return np.empty(0, np.int64)
        cs = self.cs
        touched = []
        for it in items:
            if not appeal and len(it.rule) and it.rule[0] < 0:  # a memory item (see _remember)
                self._forget(it.record_id, it.citizen, it.etype, lists=False)
                continue
            # a record already given back (corrected, or expunged) has nothing left to give back
            done = self.expunged if appeal else self.corrected
            scored = ~np.fromiter((int(x) in done for x in it.record_id), bool, len(it.record_id)) if done \
                else np.ones(len(it.rule), bool)
            if not scored.any():
                continue
            c = it.citizen[scored]
            delta = self._apply(c, it.delta[scored], np.full(len(c), -1, np.int64), np.zeros(len(c)),
                                np.ones(len(c), np.int64), day)
            codes = (cs.appeal_codes if appeal else cs.expunge_codes)[it.rule[scored]]
            self.out.points(self.index, day, c, delta, codes, it.channel[scored] if appeal else TIME_CHANNEL,
                            it.record_id[scored], -1)
            key = "corrected" if appeal else "expunged"
            self.counters[f"records_{key}"] += len(c)
            self.counters[f"{key}_points"] += float(delta.sum())
            ids = it.record_id[scored]
            (self.corrected if appeal else self.expunged).update(int(x) for x in ids)
            touched.append(c.astype(np.int64))
            if appeal:
                touched.append(self._give_back_association(it, ids, day))
                self._forget(ids, c, it.etype[scored], lists=True)
                self._leave_lists_resting_on(c, day)
        return np.concatenate(touched) if touched else np.empty(0, np.int64)

    def _give_back_association(self, it: Reversal, ids: np.ndarray, day: int) -> np.ndarray:
        """A corrected record's association penalties are returned to the household and contacts."""
        mine = np.isin(it.assoc_record, ids)
        if not mine.any():
            return np.empty(0, np.int64)
        t = it.assoc_target[mine]
        none = np.full(len(t), -1, np.int64)
        back = self._apply(t, it.assoc_delta[mine], none, np.zeros(len(t)), np.ones(len(t), np.int64), day)
        self.out.points(self.index, day, t, back, self.cs.appeal_codes[it.assoc_rule[mine]], ASSOCIATION_CHANNEL,
                        it.assoc_record[mine], it.assoc_source[mine])
        self.counters["association_points_corrected"] += float(back.sum())
        return t.astype(np.int64)

    def _forget(self, record_id: np.ndarray, citizen: np.ndarray, etype: np.ndarray, lists: bool) -> None:
        """A record leaves memory: a type's bit clears when no live record of it is left; a
        corrected record also stops counting toward list entry."""
        for k in np.unique(etype):
            if int(k) not in self.memory_counts:
                continue
            count = self.memory_counts[int(k)]
            mine = etype == k
            np.subtract.at(count, citizen[mine], 1)
            c = citizen[mine]
            self.seen[c[count[c] <= 0]] &= ~BIT[k]
        entry = self._entry_lists_of(etype) if lists else np.zeros((len(self.cs.lists), len(etype)), bool)
        for li, counts in self.entry_counts.items():
            if entry[li].any():
                np.subtract.at(counts, citizen[entry[li]], 1)
        self.out.forgotten(self.index, record_id, citizen, etype, entry)

    def _leave_lists_resting_on(self, citizen: np.ndarray, day: int) -> None:
        """A citizen listed on records leaves the list once the remaining records no longer qualify."""
        for li, counts in self.entry_counts.items():
            lst = self.cs.lists[li]
            c = np.unique(citizen)
            gone = c[self.member[li, c] & ~self.entered_by_tier[li, c] & (counts[c] < lst.min_count)]
            if len(gone):
                self._exit(li, gone, day, "appeal")

    def _apply(self, citizen, delta, cap_slot, cap_points, cap_period, day) -> np.ndarray:
        return apply_points(self.score, self.cs.lo, self.cs.hi, citizen.astype(np.int64), delta.astype(np.float64),
                            cap_slot.astype(np.int64), cap_points.astype(np.float64),
                            cap_period.astype(np.int64), day, self.cap_used, self.cap_period_seen)

    def _associate(self, r: Records, delta: np.ndarray, rule: np.ndarray, day: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """S1-M7: household members and contacts inherit part of a penalty, once each.

        Contacts are reached breadth first: a citizen h ties away from the offender inherits
        share^h (the shortest path, not every walk), and one who is both household member
        and contact inherits the larger share. The offender inherits nothing.
        Returns (origin index into r, target, points applied).
        """
        cs = self.cs
        origins, targets, shares = [], [], []
        hh = self.households
        if cs.household_share > 0:
            o, t = csr_gather(hh.indptr, hh.members, hh.household[r.citizen].astype(np.int64))
            keep = t != r.citizen[o]
            origins.append(o[keep])
            targets.append(t[keep])
            shares.append(np.full(int(keep.sum()), cs.household_share))
        if cs.contact_share > 0:
            n = np.int64(self.n)
            seen = r.citizen.astype(np.int64) + np.arange(len(r), dtype=np.int64) * n  # (origin, citizen) keys
            frontier_o = np.arange(len(r), dtype=np.int64)
            frontier_t = r.citizen.astype(np.int64)
            for hop in range(1, cs.hops + 1):
                o, t = self.network.neighbours(frontier_t)
                o = frontier_o[o]
                key = o * n + t
                key, first = np.unique(key, return_index=True)
                fresh = ~np.isin(key, seen, assume_unique=False)
                o, t = o[first[fresh]], t[first[fresh]]
                seen = np.concatenate([seen, key[fresh]])
                origins.append(o)
                targets.append(t)
                shares.append(np.full(len(t), cs.contact_share ** hop))
                frontier_o, frontier_t = o, t.astype(np.int64)
        empty = (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.float64))
        if not origins:
            return empty
        o = np.concatenate(origins)
        t = np.concatenate(targets).astype(np.int32)
        share = np.concatenate(shares)
        if not len(t):
            return empty
        # one row per (offender's record, citizen): the largest share wins
        order = np.lexsort((-share, t, o))
        o, t, share = o[order], t[order], share[order]
        first = np.ones(len(t), bool)
        first[1:] = (o[1:] != o[:-1]) | (t[1:] != t[:-1])
        o, t, share = o[first], t[first], share[first]
        d = delta[o] * share
        none = np.full(len(t), -1, np.int64)
        applied = self._apply(t, d, none, np.zeros(len(t)), np.ones(len(t), np.int64), day)
        self.out.points(self.index, day, t, applied, cs.assoc_codes[rule[o]], ASSOCIATION_CHANNEL, r.record_id[o],
                        r.citizen[o])
        self.counters["association_points"] += float(applied.sum())
        self.penalised_assoc[t[applied < 0]] = True
        return o, t, applied

    def _redeem(self, day: int) -> np.ndarray:
        """Scores drift back toward the initial score; one ledger row per citizen per period."""
        cs = self.cs
        if cs.redemption_rate <= 0 or (day + 1) % cs.redemption_period:
            return np.empty(0, np.int64)
        gap = cs.initial - self.score
        idx = np.flatnonzero(gap > 1e-9) if cs.redemption_only_below else np.flatnonzero(np.abs(gap) > 1e-9)
        if not len(idx):
            return idx
        keep = 1.0 - (1.0 - cs.redemption_rate) ** cs.redemption_period
        d = gap[idx] * keep
        self.score[idx] += d
        self.out.redeemed(self.index, day, idx, d, keep)
        self.counters["redemption_points"] += float(d.sum())
        return idx

    # ------------------------------------------------------------------ tiers and lists
    def _update_tiers(self, idx: np.ndarray, day: int) -> None:
        cs = self.cs
        below = self.score[idx] < cs.initial - 1.0
        fell = idx[below & (self.first_below[idx] < 0)]
        self.first_below[fell] = day
        back = idx[~below & (self.first_below[idx] >= 0) & (self.redeemed_day[idx] < 0)]
        self.redeemed_day[back] = day
        old = self.tier[idx]
        new = cs.tier_of(self.score[idx])
        self.tier[idx] = new
        if not len(cs.tier_names):
            return
        moved = old != new
        if moved.any():
            # mobility: every tier change is counted; time in the bottom tier is accumulated
            np.add.at(self.transitions, (old[moved], new[moved]), 1)
            bottom = len(cs.tier_names) - 1
            came = idx[moved & (new == bottom)]
            left = idx[moved & (old == bottom)]
            self.bottom_since[came] = day
            self.bottom_days[left] += day - self.bottom_since[left]
            self.bottom_since[left] = -1
        for li, lst in enumerate(cs.lists):
            if not lst.entry_tiers.any():
                continue
            qualifies = lst.entry_tiers[self.tier[idx]]
            member = self.member[li, idx]
            enter = idx[qualifies & ~member & ~self.appeal_exempt[li, idx]]
            if len(enter):
                self._enter(li, enter, day, by_tier=True)
            if lst.on_tier_recovery:
                leave = idx[~qualifies & member & self.entered_by_tier[li, idx]]
                if len(leave):
                    self._exit(li, leave, day, "recovery")

    def _record_entries(self, r: Records, day: int) -> None:
        lists = self._entry_lists_of(r.etype)
        for li, lst in enumerate(self.cs.lists):
            if not lists[li].any():
                continue
            cit, rid = r.citizen[lists[li]], r.record_id[lists[li]]
            self.appeal_exempt[li, cit] = False  # a new record is a new cause
            ok = self.entry_counts[li][cit] >= lst.min_count
            cit, rid = cit[ok], rid[ok]
            new = ~self.member[li, cit]
            if new.any():
                self._enter(li, np.unique(cit[new]), day, by_tier=False, trigger=(cit[new], rid[new]))

    def _compliance_exits(self, r: Records, day: int) -> None:
        for li, lst in enumerate(self.cs.lists):
            if not lst.exit_records:
                continue
            hit = (BIT[r.etype] & lst.exit_records) != 0
            cit = np.unique(r.citizen[hit])
            cit = cit[self.member[li, cit]]
            if len(cit):
                self._exit(li, cit, day, "compliance")

    def _enter(self, li: int, cit: np.ndarray, day: int, by_tier: bool, trigger=None) -> None:
        lst = self.cs.lists[li]
        self.member[li, cit] = True
        self.list_size[li] += len(cit)
        self.ever[li, cit] = True
        self.entered_by_tier[li, cit] = by_tier
        self.entry_day[li, cit] = day
        none = np.empty(0, np.int32)
        tc, tr = trigger if trigger is not None else (none, np.empty(0, np.int64))
        self.out.entered(self.index, li, day, cit, by_tier, self.score[cit], tc, tr)
        self.counters[f"entries:{lst.name}"] += len(cit)
        if lst.after_days:
            self.exits_due[day + lst.after_days].append((li, cit, np.full(len(cit), day), LIST_REASONS.index("time")))
        if lst.appeal_probability > 0:
            rng = self._rng("regime.appeal", day, li)
            appeal = rng.random(len(cit)) < lst.appeal_probability
            self.counters["list_appeals_filed"] += int(appeal.sum())
            if appeal.any():
                win = self.appeal_body.decide_listings(self.index, li, cit[appeal], day)
                self.out.appealed(self.index, day, day + lst.appeal_delay, cit[appeal], "list", -1,
                                  self.list_code_base + li, -1, win)
                if win.any():
                    self.exits_due[day + lst.appeal_delay].append(
                        (li, cit[appeal][win], np.full(int(win.sum()), day), LIST_REASONS.index("appeal")))
        for m in self.cs.measures:
            if m.on_list_entry == li:
                self._entry_measure(m, cit, day)

    def _exit(self, li: int, cit: np.ndarray, day: int, reason: str) -> None:
        self.member[li, cit] = False
        self.list_size[li] -= len(cit)
        self.out.exited(self.index, li, day, cit, reason)

    def _timed_exits(self, day: int) -> None:
        for li, cit, entered, reason in self.exits_due.pop(day, []):
            still = self.member[li, cit] & (self.entry_day[li, cit] == entered)
            if still.any():
                gone = cit[still]
                self._exit(li, gone, day, LIST_REASONS[reason])
                if LIST_REASONS[reason] == "appeal":  # the verdict holds: no relisting on the same grounds
                    self.appeal_exempt[li, gone] = True

    # ------------------------------------------------------------------ decisions
    def decide(self, m: CompiledMeasure, cit: np.ndarray, day: int, *, cause_citizen=None, cause_record=-1,
               event_id=-1, event_type=-1) -> Decisions:
        """Decisions of measure `m` on citizens `cit`, handed to the outlet and returned."""
        k = len(cit)
        if not k:
            return Decisions.empty()
        dec = Decisions(np.full(k, day, np.int16), cit.astype(np.int32), np.full(k, self.index, np.int16),
                        np.full(k, m.code, np.int16), np.full(k, m.kind_code, np.int8),
                        np.full(k, m.effect_code, np.int8), np.full(k, m.domain_code, np.int8),
                        np.broadcast_to(np.asarray(event_id, np.int64), (k,)).copy(),
                        np.broadcast_to(np.asarray(event_type, np.int16), (k,)).copy(),
                        np.broadcast_to(np.asarray(cause_record, np.int64), (k,)).copy(),
                        (cit if cause_citizen is None else cause_citizen).astype(np.int32),
                        np.full(k, m.price_factor, np.float64), np.full(k, m.duration, np.int16),
                        np.full(k, m.rate_factor, np.float64), np.zeros(k, np.float64), np.zeros(k, bool))
        self.counters[f"{m.kind}:{m.name}"] += k
        self.counters[f"{m.kind}s"] += k
        self.out.decided(dec)
        return dec

    def gate(self, m: CompiledMeasure, ev: EventBatch, day: int) -> Decisions:
        """Apply a gate measure to today's attempts `ev` (of its gated types, not yet refused).

        A gate that checks through a payment sees only cashless payments: cash escapes it
        (S1-M3); an ID-checked gate sees everyone.
        """
        actor = ev.citizen
        visible = ~PAYMENT_CHECKED[ev.etype] | (ev.paid == DIGITAL)
        if m.who == "household":
            hh = self.households
            o, member = csr_gather(hh.indptr, hh.members, hh.household[actor].astype(np.int64))
            other = member != actor[o]
            o, member = o[other], member[other]
            holds_m = self.condition(m, member)
            hold = np.zeros(len(actor), bool)
            cause = np.full(len(actor), -1, np.int32)
            hold[o[holds_m]] = True
            cause[o[holds_m]] = member[holds_m]
        else:
            hold = self.condition(m, actor)
            cause = actor.astype(np.int32)
        hold &= visible
        if m.sectors.any():
            hold &= m.sectors[np.maximum(ev.target, 0)] & (ev.target >= 0)
        rng = self._rng("regime.gate", day, m.code)
        hit = hold & (rng.random(len(actor)) < m.probability)
        return self.decide(m, actor[hit], day, cause_citizen=cause[hit], event_id=ev.event_id[hit],
                           event_type=ev.etype[hit])

    def _entry_measure(self, m: CompiledMeasure, cit: np.ndarray, day: int) -> None:
        rng = self._rng("regime.entry_measure", day, m.code)
        hit = rng.random(len(cit)) < m.probability
        if hit.any():
            self.decide(m, cit[hit], day)

    def _record_measures(self, r: Records, day: int) -> None:
        """Measures that answer a record: advice or coupons (S2-N3), alerts (S1-M4, S1-M9), dismissal (S1-M12)."""
        for m in self.cs.measures:
            if m.on_record < 0:
                continue
            sel = np.flatnonzero(r.etype == m.on_record)
            if not len(sel) and not m.false_alarms_per_million:
                continue
            rng = self._rng("regime.record_measure", day, m.code)
            if len(sel):
                cit = r.citizen[sel]
                hold = self.condition(m, cit) if m.has_condition else np.ones(len(sel), bool)
                u = rng.random(len(sel))
                hit = hold & (u < m.probability * (1.0 - m.triage_miss))
                self.counters[f"triage_missed:{m.name}"] += int((hold & (u >= m.probability * (1.0 - m.triage_miss))
                                                                 & (u < m.probability)).sum())
                if hit.any():
                    self.decide(m, cit[hit], day, cause_record=r.record_id[sel[hit]], event_type=m.on_record)
            if m.false_alarms_per_million > 0:
                self._false_alarms(m, day, rng)

    def _false_alarms(self, m: CompiledMeasure, day: int, rng) -> None:
        """S1-M9: the triage raises alerts on people with no record behind them."""
        k = rng.poisson(m.false_alarms_per_million * self.n / 1e6)
        if not k:
            return
        cit = rng.integers(0, self.n, k)
        cit = cit[self.age[cit] >= ADULT_AGE]
        if len(cit):
            self.decide(m, cit, day, event_type=m.on_record)

    def _reviews(self, day: int) -> None:
        """Periodic measures: every `every_days`, everyone meeting the condition not already reached."""
        for m in self.cs.measures:
            if not m.every_days or (day + 1) % m.every_days:
                continue
            last = self.last_review[m.code]
            due = np.flatnonzero(day - last >= max(m.duration, 1) if m.duration else last < 0)
            cit = due[self.condition(m, due)]
            rng = self._rng("regime.review", day, m.code)
            cit = cit[rng.random(len(cit)) < m.probability]
            if len(cit):
                last[cit] = day
                self.decide(m, cit, day)


def _distinct(idx: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct citizens; a mark array beats hashing when the batch is large."""
    if len(idx) < n // 64:
        return np.unique(idx)
    mark = np.zeros(n, bool)
    mark[idx] = True
    return np.flatnonzero(mark)
