"""One scorer at work: records to points, tiers, lists, sanctions and rewards.

A unified regime has one ScorerRuntime; a fragmented one (S2-N6) has several that share
nothing: each has its own channels, score, memory, lists and sanctions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from scorelab.behaviour.catalogue import CHANNELS
from scorelab.consequences.network import Network
from scorelab.regime.compiled import CompiledMeasure, CompiledScorer
from scorelab.regime.kernels import apply_points, or_bits
from scorelab.streams import stream
from scorelab.tables import RecordBatch, csr_gather

ASSOCIATION = len(CHANNELS)      # channel code of association rows
TIME = len(CHANNELS) + 1         # channel code of redemption rows
CHANNEL_LABELS = [*CHANNELS, "association", "time"]
REDEMPTION_CODE = 0              # label code of 'redemption' (compile_regime puts it first)
LIST_ACTIONS = ["enter", "exit"]
LIST_REASONS = ["tier", "record", "time", "compliance", "appeal", "recovery"]
MEASURE_KINDS = ["sanction", "reward", "response"]
BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


APPEAL_KINDS = ["record", "list"]


@dataclass
class Sinks:
    ledger: object
    lists: object
    measures: object
    appeals: object
    ties: object


@dataclass
class Reversal:
    """Points to give back later: a corrected (appealed) or expunged record (issue 5, ways back)."""

    citizen: np.ndarray
    delta: np.ndarray      # the amount to add back (minus what the record cost)
    rule: np.ndarray
    record_id: np.ndarray
    etype: np.ndarray
    channel: np.ndarray
    true: np.ndarray
    landed: np.ndarray     # day the record was scored


class ScorerRuntime:
    def __init__(self, cs: CompiledScorer, n: int, household: np.ndarray, hh_indptr: np.ndarray,
                 hh_members: np.ndarray, network: Network, seed: int, sinks: Sinks, list_code_base: int) -> None:
        self.cs = cs
        self.n = n
        self.seed = seed
        self.sinks = sinks
        self.household, self.hh_indptr, self.hh_members = household, hh_indptr, hh_members
        self.network = network
        self.list_code_base = list_code_base
        L = len(cs.lists)
        self.score = np.full(n, cs.initial, np.float64)
        self.false_delta = np.zeros(n, np.float64)
        self.tier = cs.tier_of(self.score)
        self.member = np.zeros((L, n), bool)
        self.ever = np.zeros((L, n), bool)
        self.entered_false = np.zeros((L, n), bool)
        self.ever_false = np.zeros((L, n), bool)
        self.entered_by_tier = np.zeros((L, n), bool)
        self.entry_day = np.full((L, n), -1, np.int32)
        self.seen = np.zeros(n, np.uint64)
        self.seen_true = np.zeros(n, np.uint64)
        self.counts = {li: np.zeros(n, np.int16) for li, lst in enumerate(cs.lists) if lst.min_count > 1}
        caps = max(cs.n_caps, 1)
        self.cap_used = np.zeros((caps, n if cs.n_caps else 1), np.float64)
        self.cap_period_seen = np.full((caps, n if cs.n_caps else 1), -1, np.int64)
        self.pending: dict[int, list[RecordBatch]] = defaultdict(list)     # delayed records
        self.remedy_due: dict[int, list[RecordBatch]] = defaultdict(list)  # S2-N9 windows
        self.exits_due: dict[int, list[tuple[int, np.ndarray, np.ndarray, int]]] = defaultdict(list)
        self.corrections_due: dict[int, list[Reversal]] = defaultdict(list)  # successful appeals
        self.expiries_due: dict[int, list[Reversal]] = defaultdict(list)     # expungement
        self.corrected: set[int] = set()  # record ids given back on appeal (not expunged again)
        self.expunged: set[int] = set()   # record ids given back on expiry (not corrected again)
        # Record memory read by conditions: per such event type, how many live records a citizen
        # has (all, and true ones), so that expiry and correction can clear a bit of `seen`.
        self.horizon = 1 << 30  # the engine sets the run's length: nothing is scheduled beyond it
        self.memory_counts = {int(k): (np.zeros(n, np.int16), np.zeros(n, np.int16))
                              for k in np.flatnonzero(cs.condition_types)}
        self.next_record_id = 0
        self.day = 0
        self._calls = 0
        self.counters: dict[str, float] = defaultdict(float)
        self.list_size = np.zeros(L, np.int64)
        self.dismissed: list[np.ndarray] = []
        self.rate_changes: list[tuple[int, np.ndarray, float]] = []  # S2-N3 (event type, citizens, factor)
        self.prices = np.zeros(len(BIT))     # base price per event type (set by the engine's economy)
        self.money: list[tuple[np.ndarray, np.ndarray]] = []  # measures' money effects today
        self.suspended: list[np.ndarray] = []  # S1-M8 payment suspensions today
        self.sanctioned: list[np.ndarray] = []  # citizens sanctioned today (S2-N8 learning)
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
        # initial tier-based lists (e.g. everyone starts in a middle tier)
        self._update_tiers(np.arange(n), day=0)

    def days_in_bottom_tier(self, days: int) -> np.ndarray:
        """Days each citizen spent in the lowest tier, counting a stay still open at the end."""
        open_ = self.bottom_since >= 0
        return self.bottom_days + np.where(open_, days - self.bottom_since, 0)

    # ------------------------------------------------------------------ records in
    def receive(self, records: RecordBatch) -> None:
        """Queue records by the day they reach the scorer (channel delays)."""
        if not len(records):
            return
        days = np.unique(records.day_recorded)
        for d in days:
            self.pending[int(d)].append(records.take(records.day_recorded == d))

    def _rng(self, name: str, day: int, *keys: int):
        """A stream per call: a step that runs twice a day (e.g. rules on landed records, then on
        records whose remediation window ends) never reuses the same uniforms."""
        self._calls += 1
        return stream(self.seed, name, self.cs.index, day, self._calls, *keys)

    def process_day(self, day: int) -> None:
        self.day = day
        self._calls = 0
        landed = RecordBatch.concat(self.pending.pop(day, []))
        self.counters["records"] += len(landed)
        self.counters["records_false"] += int((~landed.true).sum())
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

    def _remember(self, r: RecordBatch) -> None:
        bits = BIT[r.etype]
        or_bits(self.seen, r.citizen, bits)
        or_bits(self.seen_true, r.citizen[r.true], bits[r.true])
        for k in np.unique(r.etype[self.cs.condition_types[r.etype]]):
            count, count_true = self.memory_counts[int(k)]
            mine = r.etype == k
            np.add.at(count, r.citizen[mine], 1)
            np.add.at(count_true, r.citizen[mine & r.true], 1)
            expires = self.day + int(self.cs.retention[k])
            if self.cs.retention[k] > 0 and expires < self.horizon:
                self.expiries_due[expires].append(
                    Reversal(r.citizen[mine], np.zeros(int(mine.sum())), np.full(int(mine.sum()), -1),
                             r.record_id[mine], r.etype[mine], r.channel[mine], r.true[mine],
                             np.full(int(mine.sum()), self.day)))

    # ------------------------------------------------------------------ points
    def _score(self, r: RecordBatch, day: int) -> np.ndarray:
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
        due = RecordBatch.concat(self.remedy_due.pop(day, []))
        return self._apply_rules(due, day) if len(due) else np.empty(0, np.int64)

    def _apply_rules(self, r: RecordBatch, day: int) -> np.ndarray:
        cs = self.cs
        if not len(r):
            return np.empty(0, np.int64)
        rule = cs.rule_of_type[r.etype]
        delta = self._apply(r.citizen, cs.points[rule], cs.cap_slot[rule], cs.cap_points[rule],
                            cs.cap_period[rule], day, ~r.true)
        self.sinks.ledger.add(citizen=r.citizen, day=day, scorer=cs.index, rule=cs.rule_codes[rule], delta=delta,
                              channel=r.channel, record_id=r.record_id, record_true=r.true, source_citizen=-1)
        self.counters["points"] += float(delta.sum())
        self.penalised_own[r.citizen[delta < 0]] = True
        self._appeal_or_expire(r, delta, rule, day)
        touched = [r.citizen.astype(np.int64)]
        spill = (delta < 0) & (-delta >= cs.assoc_min_points) & cs.associate[rule]
        if cs.hops and spill.any():
            touched.append(self._associate(r.take(spill), delta[spill], rule[spill], day))
        return np.concatenate(touched)

    def _appeal_or_expire(self, r: RecordBatch, delta: np.ndarray, rule: np.ndarray, day: int) -> None:
        """Ways back for penalising records: some are appealed (decided later), all may expire."""
        cs = self.cs
        neg = delta < 0
        if cs.appeal_probability > 0 and neg.any():
            rng = self._rng("regime.record_appeal", day)
            u_file, u_win = rng.random(len(r)), rng.random(len(r))
            filed = neg & (u_file < cs.appeal_probability)
            win = filed & (u_win < np.where(r.true, cs.appeal_success_true, cs.appeal_success_false))
            if filed.any():
                self.sinks.appeals.add(day_filed=day, day_decided=day + cs.appeal_delay, citizen=r.citizen[filed],
                                       scorer=cs.index, kind=0, rule=cs.rule_codes[rule[filed]], list=-1,
                                       record_id=r.record_id[filed], record_true=r.true[filed],
                                       success=win[filed])
                self.counters["appeals_filed"] += int(filed.sum())
                self.counters["appeal_costs_yuan"] += cs.appeal_cost * int(filed.sum())
            if win.any() and day + cs.appeal_delay < self.horizon:
                self.corrections_due[day + cs.appeal_delay].append(self._reversal(r, delta, rule, win, day))
        expiring = neg & (cs.retention[r.etype] > 0) & (day + cs.retention[r.etype] < self.horizon)
        for d in np.unique(cs.retention[r.etype[expiring]]):
            sel = expiring & (cs.retention[r.etype] == d)
            self.expiries_due[day + int(d)].append(self._reversal(r, delta, rule, sel, day))

    @staticmethod
    def _reversal(r: RecordBatch, delta, rule, sel, day: int) -> Reversal:
        return Reversal(r.citizen[sel], -delta[sel], rule[sel], r.record_id[sel], r.etype[sel], r.channel[sel],
                        r.true[sel], np.full(int(sel.sum()), day))

    def _reverse(self, items: list[Reversal], day: int, appeal: bool) -> np.ndarray:
        """Give back points of corrected or expired records; forget expired records."""
        if not items:
            return np.empty(0, np.int64)
        cs = self.cs
        touched = []
        for it in items:
            if not appeal and len(it.rule) and it.rule[0] < 0:  # a memory item (see _remember)
                self._forget(it)
                continue
            # a record already given back (corrected, or expunged) has nothing left to give back
            done = self.expunged if appeal else self.corrected
            scored = ~np.fromiter((int(x) in done for x in it.record_id), bool, len(it.record_id)) if done \
                else np.ones(len(it.rule), bool)
            if not scored.any():
                continue
            c = it.citizen[scored]
            delta = self._apply(c, it.delta[scored], np.full(len(c), -1, np.int64), np.zeros(len(c)),
                                np.ones(len(c), np.int64), day, ~it.true[scored])
            codes = (cs.appeal_codes if appeal else cs.expunge_codes)[it.rule[scored]]
            self.sinks.ledger.add(citizen=c, day=day, scorer=cs.index, rule=codes, delta=delta,
                                  channel=it.channel[scored] if appeal else TIME, record_id=it.record_id[scored],
                                  record_true=it.true[scored], source_citizen=-1)
            key = "corrected" if appeal else "expunged"
            self.counters[f"records_{key}"] += len(c)
            self.counters[f"false_records_{key}"] += int((~it.true[scored]).sum())
            self.counters[f"{key}_points"] += float(delta.sum())
            (self.corrected if appeal else self.expunged).update(int(x) for x in it.record_id[scored])
            if appeal:
                self._forget(Reversal(c, it.delta[scored], it.rule[scored], it.record_id[scored],
                                      it.etype[scored], it.channel[scored], it.true[scored], it.landed[scored]))
                self._leave_lists_joined_on(c, it.etype[scored], it.landed[scored], day)
            touched.append(c.astype(np.int64))
        return np.concatenate(touched) if touched else np.empty(0, np.int64)

    def _forget(self, it: Reversal) -> None:
        """Expungement of record memory: a type's bit clears when no unexpired record is left."""
        for k in np.unique(it.etype):
            if int(k) not in self.memory_counts:
                continue
            count, count_true = self.memory_counts[int(k)]
            mine = it.etype == k
            np.subtract.at(count, it.citizen[mine], 1)
            np.subtract.at(count_true, it.citizen[mine & it.true], 1)
            c = it.citizen[mine]
            self.seen[c[count[c] <= 0]] &= ~BIT[k]
            self.seen_true[c[count_true[c] <= 0]] &= ~BIT[k]

    def _leave_lists_joined_on(self, citizen, etype, landed, day: int) -> None:
        """A corrected record takes its citizen off a list joined on that record that day."""
        for li, lst in enumerate(self.cs.lists):
            if not lst.entry_records:
                continue
            hit = ((BIT[etype] & lst.entry_records) != 0) & self.member[li, citizen] & (
                self.entry_day[li, citizen] == landed) & ~self.entered_by_tier[li, citizen]
            if hit.any():
                self._exit(li, np.unique(citizen[hit]), day, "appeal")

    def _apply(self, citizen, delta, cap_slot, cap_points, cap_period, day, false_flag) -> np.ndarray:
        return apply_points(self.score, self.cs.lo, self.cs.hi, citizen.astype(np.int64), delta.astype(np.float64),
                            cap_slot.astype(np.int64), cap_points.astype(np.float64),
                            cap_period.astype(np.int64), day, self.cap_used, self.cap_period_seen,
                            false_flag.astype(np.bool_), self.false_delta)

    def _associate(self, r: RecordBatch, delta: np.ndarray, rule: np.ndarray, day: int) -> np.ndarray:
        """S1-M7: household members and contacts inherit part of a penalty, once each.

        Contacts are reached breadth first: a citizen h ties away from the offender inherits
        share^h (the shortest path, not every walk), and one who is both household member
        and contact inherits the larger share. The offender inherits nothing.
        """
        cs = self.cs
        origins, targets, shares = [], [], []
        if cs.household_share > 0:
            o, t = csr_gather(self.hh_indptr, self.hh_members, self.household[r.citizen].astype(np.int64))
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
        if not origins:
            return np.empty(0, np.int64)
        o = np.concatenate(origins)
        t = np.concatenate(targets).astype(np.int32)
        share = np.concatenate(shares)
        if not len(t):
            return np.empty(0, np.int64)
        # one row per (offender's record, citizen): the largest share wins
        order = np.lexsort((-share, t, o))
        o, t, share = o[order], t[order], share[order]
        first = np.ones(len(t), bool)
        first[1:] = (o[1:] != o[:-1]) | (t[1:] != t[:-1])
        o, t, shares = o[first], t[first], [share[first]]
        d = delta[o] * np.concatenate(shares)
        none = np.full(len(t), -1, np.int64)
        applied = self._apply(t, d, none, np.zeros(len(t)), np.ones(len(t), np.int64), day, ~r.true[o])
        self.sinks.ledger.add(citizen=t, day=day, scorer=cs.index, rule=cs.assoc_codes[rule[o]], delta=applied,
                              channel=ASSOCIATION, record_id=r.record_id[o], record_true=r.true[o],
                              source_citizen=r.citizen[o])
        self.counters["association_points"] += float(applied.sum())
        self.penalised_assoc[t[applied < 0]] = True
        return t.astype(np.int64)

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
        self.false_delta[idx] *= 1.0 - keep
        self.sinks.ledger.add(citizen=idx, day=day, scorer=cs.index, rule=REDEMPTION_CODE, delta=d, channel=TIME,
                              record_id=-1, record_true=True, source_citizen=-1)
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
            enter = idx[qualifies & ~member]
            if len(enter):
                truthful_tier = cs.tier_of(self.score[enter] - self.false_delta[enter])
                self._enter(li, enter, day, wrongful=~lst.entry_tiers[truthful_tier], by_tier=True)
            if lst.on_tier_recovery:
                leave = idx[~qualifies & member & self.entered_by_tier[li, idx]]
                if len(leave):
                    self._exit(li, leave, day, "recovery")

    def _record_entries(self, r: RecordBatch, day: int) -> None:
        for li, lst in enumerate(self.cs.lists):
            if not lst.entry_records:
                continue
            hit = (BIT[r.etype] & lst.entry_records) != 0
            if not hit.any():
                continue
            cit, true = r.citizen[hit], r.true[hit]
            if lst.min_count > 1:
                np.add.at(self.counts[li], cit, 1)
                ok = self.counts[li][cit] >= lst.min_count
                cit, true = cit[ok], true[ok]
            # a citizen entering on several records today is wrongful only if all were false
            order = np.lexsort((~true, cit))
            cit, true = cit[order], true[order]
            first = np.ones(len(cit), bool)
            first[1:] = cit[1:] != cit[:-1]
            cit, true = cit[first], true[first]
            new = ~self.member[li, cit]
            if new.any():
                self._enter(li, cit[new], day, wrongful=~true[new], by_tier=False)

    def _compliance_exits(self, r: RecordBatch, day: int) -> None:
        for li, lst in enumerate(self.cs.lists):
            if not lst.exit_records:
                continue
            hit = (BIT[r.etype] & lst.exit_records) != 0
            cit = np.unique(r.citizen[hit])
            cit = cit[self.member[li, cit]]
            if len(cit):
                self._exit(li, cit, day, "compliance")

    def _enter(self, li: int, cit: np.ndarray, day: int, wrongful: np.ndarray, by_tier: bool) -> None:
        lst = self.cs.lists[li]
        self.member[li, cit] = True
        self.list_size[li] += len(cit)
        self.ever[li, cit] = True
        self.entered_false[li, cit] = wrongful
        self.ever_false[li, cit] |= wrongful
        self.entered_by_tier[li, cit] = by_tier
        self.entry_day[li, cit] = day
        self.sinks.lists.add(day=day, citizen=cit, scorer=self.cs.index, list=self.list_code_base + li, action=0,
                             reason=0 if by_tier else 1, wrongful=wrongful)
        self.counters[f"entries:{lst.name}"] += len(cit)
        if lst.after_days:
            self.exits_due[day + lst.after_days].append((li, cit, np.full(len(cit), day), 2))
        if lst.appeal_probability > 0:
            rng = self._rng("regime.appeal", day, li)
            appeal = rng.random(len(cit)) < lst.appeal_probability
            p = np.where(wrongful, lst.appeal_success_false, lst.appeal_success_true)
            win = appeal & (rng.random(len(cit)) < p)
            self.counters["list_appeals_filed"] += int(appeal.sum())
            if appeal.any():
                self.sinks.appeals.add(day_filed=day, day_decided=day + lst.appeal_delay, citizen=cit[appeal],
                                       scorer=self.cs.index, kind=1, rule=-1, list=self.list_code_base + li,
                                       record_id=-1, record_true=~wrongful[appeal], success=win[appeal])
            if win.any():
                self.exits_due[day + lst.appeal_delay].append((li, cit[win], np.full(int(win.sum()), day), 4))
        for m in self.cs.measures:
            if m.on_list_entry == li:
                self._entry_measure(m, cit, day, wrongful)
        if self.cs.avoid_lists[li]:
            self._calls += 1
            # S1-M7 (issue 4): the more a contact would inherit by association, the likelier they leave
            inherited = self.cs.contact_share * np.maximum(self.cs.initial - self.score[cit], 0.0)
            p = np.minimum(self.cs.avoid_probability + self.cs.avoid_per_point * inherited, 1.0)
            target, contact = self.network.avoid(cit, p, self.seed,
                                                 (self.cs.index * 64 + li) * 1024 + self._calls, day)
            self.sinks.ties.add(day=day, citizen=target, contact=contact, scorer=self.cs.index,
                                list=self.list_code_base + li)
            self.counters["ties_cut"] += len(target)

    def _exit(self, li: int, cit: np.ndarray, day: int, reason: str) -> None:
        self.member[li, cit] = False
        self.list_size[li] -= len(cit)
        self.sinks.lists.add(day=day, citizen=cit, scorer=self.cs.index, list=self.list_code_base + li, action=1,
                             reason=LIST_REASONS.index(reason), wrongful=self.entered_false[li, cit])

    def _timed_exits(self, day: int) -> None:
        for li, cit, entered, reason in self.exits_due.pop(day, []):
            still = self.member[li, cit] & (self.entry_day[li, cit] == entered)
            if still.any():
                self._exit(li, cit[still], day, LIST_REASONS[reason])

    # ------------------------------------------------------------------ sanctions and rewards
    def condition(self, m: CompiledMeasure, cit: np.ndarray, truthful: bool = False) -> np.ndarray:
        """Whether the measure's condition holds; `truthful` re-evaluates without false records."""
        w = m.when
        out = np.zeros(len(cit), bool)
        for li in w.lists:
            on = self.member[li, cit]
            out |= on & ~self.entered_false[li, cit] if truthful else on
        score = self.score[cit] - self.false_delta[cit] if truthful else self.score[cit]
        if w.tiers.any() and len(self.cs.tier_names):
            tier = self.cs.tier_of(score) if truthful else self.tier[cit]
            out |= w.tiers[tier]
        if w.records:
            seen = self.seen_true[cit] if truthful else self.seen[cit]
            out |= (seen & w.records) != 0
        if w.score_below is not None:
            out |= score < w.score_below
        if w.score_at_least is not None:
            out |= score >= w.score_at_least
        return out

    def gate(self, m: CompiledMeasure, actor: np.ndarray, sector_target: np.ndarray, day: int,
             event_etype_code: int) -> np.ndarray:
        """Apply a gate measure to today's attempts by `actor`; return which attempts it hit."""
        if m.who == "household":
            o, member = csr_gather(self.hh_indptr, self.hh_members, self.household[actor].astype(np.int64))
            other = member != actor[o]
            o, member = o[other], member[other]
            holds_m = self.condition(m, member)
            truthful_m = np.zeros(len(member), bool)
            truthful_m[holds_m] = self.condition(m, member[holds_m], truthful=True)
            holds = np.zeros(len(actor), bool)
            truthful = np.zeros(len(actor), bool)
            cause = np.full(len(actor), -1, np.int32)
            holds[o[holds_m]] = True
            truthful[o[truthful_m]] = True
            cause[o[holds_m]] = member[holds_m]
        else:
            holds = self.condition(m, actor)
            truthful = np.zeros(len(actor), bool)
            truthful[holds] = self.condition(m, actor[holds], truthful=True)
            cause = actor.astype(np.int32)
        if m.sectors.any():
            holds &= m.sectors[np.maximum(sector_target, 0)] & (sector_target >= 0)
        rng = self._rng("regime.gate", day, m.code)
        hit = holds & (rng.random(len(actor)) < m.probability)
        if hit.any():
            self._measure_rows(m, actor[hit], day, wrongful=~truthful[hit], cause=cause[hit],
                               etype=event_etype_code)
        return hit

    def _entry_measure(self, m: CompiledMeasure, cit: np.ndarray, day: int, wrongful: np.ndarray) -> None:
        rng = self._rng("regime.entry_measure", day, m.code)
        hit = rng.random(len(cit)) < m.probability
        if hit.any():
            self._measure_rows(m, cit[hit], day, wrongful=wrongful[hit], cause=cit[hit].astype(np.int32), etype=-1)
            if m.effect == "dismiss":
                self.dismissed.append(cit[hit])

    def _measure_rows(self, m: CompiledMeasure, cit, day, wrongful, cause, etype) -> None:
        money = self._money(m, etype)
        self.sinks.measures.add(day=day, citizen=cit, scorer=self.cs.index, measure=m.code,
                                kind=MEASURE_KINDS.index(m.kind), domain=m.domain_code, effect=m.effect_code,
                                price_factor=m.price_factor, money=money, wrongful=wrongful, cause_citizen=cause,
                                event_type=etype)
        if money:
            self.money.append((cit, np.full(len(cit), money)))
        if m.effect == "suspend":
            self.suspended.append(cit)
        if m.kind == "sanction":
            self.sanctioned.append(cit)
        self.counters[f"{m.kind}:{m.name}"] += len(cit)
        self.counters[f"{m.kind}s"] += len(cit)
        self.counters[f"{m.kind}s_wrongful"] += int(np.sum(wrongful))

    def _record_measures(self, r: RecordBatch, day: int) -> None:
        """Measures that answer a record: advice or coupons (S2-N3), alerts (S1-M4, S1-M9), dismissal (S1-M12)."""
        for m in self.cs.measures:
            if m.on_record < 0:
                continue
            sel = np.flatnonzero(r.etype == m.on_record)
            if not len(sel):
                continue
            cit = r.citizen[sel]
            holds = self.condition(m, cit) if m.has_condition else np.ones(len(sel), bool)
            rng = self._rng("regime.record_measure", day, m.code)
            hit = holds & (rng.random(len(sel)) < m.probability)
            if not hit.any():
                continue
            self._measure_rows(m, cit[hit], day, wrongful=~r.true[sel[hit]], cause=cit[hit].astype(np.int32),
                               etype=m.on_record)
            if m.effect == "dismiss":
                self.dismissed.append(cit[hit])
            elif m.effect in ("advice", "coupon"):
                self.rate_changes.append((m.on_record, cit[hit], m.rate_factor))

    def _money(self, m: CompiledMeasure, etype: int) -> float:
        """Yuan the measure moves: a surcharge costs, a discount or a waived deposit saves (S1-M9)."""
        if etype < 0:
            return 0.0
        if m.effect == "price":
            return -(m.price_factor - 1.0) * float(self.prices[etype])
        return 0.0  # refusals, waived (refundable) deposits and priority move no money

    def take_day(self) -> tuple[list, list, list]:
        """Hand the day's money effects, suspensions and sanctioned citizens to the engine."""
        out = (self.money, self.suspended, self.sanctioned)
        self.money, self.suspended, self.sanctioned = [], [], []
        return out

    def take_dismissed(self) -> np.ndarray:
        out = np.concatenate(self.dismissed) if self.dismissed else np.empty(0, np.int64)
        self.dismissed = []
        return out


def _distinct(idx: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct citizens; a mark array beats hashing when the batch is large."""
    if len(idx) < n // 64:
        return np.unique(idx)
    mark = np.zeros(n, bool)
    mark[idx] = True
    return np.flatnonzero(mark)
