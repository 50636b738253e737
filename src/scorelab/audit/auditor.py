"""The audit of one scorer: what each of its decisions rested on, measured against the truth.

The scorer works on the record (scorelab.tables.Records, without truth); the auditor knows,
for every record id, whether the record was true (RecordTruth), and follows the scorer's
outputs one way: every ledger row, listing and decision passes through it to the recorder,
and it marks what rested on false records. To do so it keeps the counterfactual standing of
each citizen, the standing they would have without false records:

- `false_delta`: the part of the score that false records (and association from them) made;
- `seen_true`: the record types remembered from true records only;
- `count_true`: true records toward each list's entry;
- `entered_false`: whether the citizen's current listing would not have happened without
  false records (a tier reached only through false points; a record list entered on false
  records only, or on fewer true records than `min_count`), or no longer rests on the truth
  (the citizen did what the list's exit asks, and the record of it never came: a late removal).

A decision is wrongful when its condition would not hold on that counterfactual standing.

Appeals consult the truth. An appeal is an investigation by a body outside the scoring
algorithm (a court, a bank's dispute desk, the credit bureau's reinvestigation under FCRA);
the model assumes that such a body finds a false record with probability `success_if_false`
and wrongly overturns a true one with `success_if_true`. The verdict is the only thing the
scorer learns from the audit, and it learns it as the regime would: this record was corrected.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from scorelab.regime.compiled import CompiledMeasure, CompiledScorer
from scorelab.regime.conditions import Standing, holds
from scorelab.regime.kernels import or_bits
from scorelab.streams import stream
from scorelab.tables import Decisions, Records, RecordTruth
from scorelab.vocabulary import LIST_REASONS, MEASURE_KINDS, TIME_CHANNEL

BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
REDEMPTION_CODE = 0


class Auditor:
    def __init__(self, cs: CompiledScorer, n: int, recorder, seed: int, list_code_base: int) -> None:
        self.cs = cs
        self.n = n
        self.recorder = recorder
        self.seed = seed
        self.list_code_base = list_code_base
        self.scorer = None  # the Scorer it audits (read only), attached once built
        L = len(cs.lists)
        self._true = np.ones(1024, bool)  # truth by record id (record ids count up from 0 per scorer)
        self.false_delta = np.zeros(n, np.float64)
        self.seen_true = np.zeros(n, np.uint64)
        self.memory_true = {int(k): np.zeros(n, np.int16) for k in np.flatnonzero(cs.condition_types)}
        self.count_true = {li: np.zeros(n, np.int32) for li, lst in enumerate(cs.lists) if lst.entry_records}
        self.entered_false = np.zeros((L, n), bool)
        self.ever_false = np.zeros((L, n), bool)
        self.measures = {m.code: m for m in cs.measures}
        self.counters: dict[str, float] = defaultdict(float)
        self._decisions: list[Decisions] = []
        self._entries: list[tuple[int, np.ndarray]] = []
        self._calls = 0

    def retune(self, cs: CompiledScorer) -> None:
        """The audited scorer's parameters in effect from today (dated values)."""
        self.cs = cs
        self.measures = {m.code: m for m in cs.measures}

    # ------------------------------------------------------------------ truth in
    def learn(self, truth: RecordTruth) -> None:
        """Truth of the records a scorer's channels just made (ids may arrive before the records land)."""
        if not len(truth):
            return
        top = int(truth.record_id.max()) + 1
        if top > len(self._true):
            grown = np.ones(max(top, 2 * len(self._true)), bool)
            grown[:len(self._true)] = self._true
            self._true = grown
        self._true[truth.record_id] = truth.true
        self.counters["records_false"] += int((~truth.true).sum())

    def witness(self, citizen: np.ndarray, etype: np.ndarray) -> None:
        """Acts that really happened today, recorded or not. A listed citizen who truly did what
        the list's exit asks (repaid the judgment) but whose compliance was not recorded stays
        listed on a record that is no longer true: from now on their listing is wrongful (a late
        removal)."""
        s = self.scorer
        for li, lst in enumerate(self.cs.lists):
            if not lst.exit_records:
                continue
            did = citizen[(BIT[etype] & lst.exit_records) != 0]
            stale = did[s.member[li, did] & ~self.entered_false[li, did]]
            if len(stale):  # what follows is wrongful; the entry was not (ever_false stays)
                self.entered_false[li, stale] = True
                self.counters[f"listed_after_compliance:{lst.name}"] += len(stale)

    def true_of(self, record_id: np.ndarray) -> np.ndarray:
        """Whether each record was true; rows that rest on no record (-1) count as true."""
        record_id = np.asarray(record_id)
        return np.where(record_id >= 0, self._true[np.maximum(record_id, 0)], True)

    # ------------------------------------------------------------------ the outlet (from the scorer)
    def points(self, scorer, day, citizen, delta, rule, channel, record_id, source_citizen) -> None:
        true = self.true_of(np.broadcast_to(record_id, np.shape(citizen)))
        if (~true).any():
            np.add.at(self.false_delta, citizen[~true], delta[~true])
        self.recorder.ledger(citizen=citizen, day=day, scorer=scorer, rule=rule, delta=delta, channel=channel,
                             record_id=record_id, record_true=true, source_citizen=source_citizen)

    def redeemed(self, scorer, day, citizen, delta, keep) -> None:
        self.false_delta[citizen] *= 1.0 - keep
        self.recorder.ledger(citizen=citizen, day=day, scorer=scorer, rule=REDEMPTION_CODE, delta=delta,
                             channel=TIME_CHANNEL, record_id=-1, record_true=True, source_citizen=-1)

    def remembered(self, scorer, records: Records, lists: np.ndarray) -> None:
        true = self.true_of(records.record_id)
        t = records.take(true)
        or_bits(self.seen_true, t.citizen, BIT[t.etype])
        for k, count in self.memory_true.items():
            np.add.at(count, t.citizen[t.etype == k], 1)
        for li, count in self.count_true.items():
            np.add.at(count, records.citizen[lists[li] & true], 1)

    def forgotten(self, scorer, record_id, citizen, etype, lists) -> None:
        true = self.true_of(record_id)
        for k, count in self.memory_true.items():
            mine = true & (etype == k)
            if mine.any():
                np.subtract.at(count, citizen[mine], 1)
                c = citizen[mine]
                self.seen_true[c[count[c] <= 0]] &= ~BIT[k]
        for li, count in self.count_true.items():
            if lists[li].any():
                np.subtract.at(count, citizen[lists[li] & true], 1)

    def entered(self, scorer, li, day, citizen, by_tier, score, trigger_citizen, trigger_record) -> None:
        lst = self.cs.lists[li]
        if by_tier:
            truthful = self.cs.tier_of(score - self.false_delta[citizen])
            wrongful = ~lst.entry_tiers[truthful]
        elif lst.min_count > 1:
            wrongful = self.count_true[li][citizen] < lst.min_count
        else:  # listed on today's records: rightful if any of them was true
            true_hit = trigger_citizen[self.true_of(trigger_record)]
            wrongful = ~np.isin(citizen, true_hit)
        self.entered_false[li, citizen] = wrongful
        self.ever_false[li, citizen] |= wrongful
        self.recorder.list_event(day=day, citizen=citizen, scorer=scorer, list=self.list_code_base + li, action=0,
                                 reason=LIST_REASONS.index("tier" if by_tier else "record"), wrongful=wrongful)
        self._entries.append((li, citizen))

    def exited(self, scorer, li, day, citizen, reason) -> None:
        self.recorder.list_event(day=day, citizen=citizen, scorer=scorer, list=self.list_code_base + li, action=1,
                                 reason=LIST_REASONS.index(reason), wrongful=self.entered_false[li, citizen])

    def decided(self, dec: Decisions) -> None:
        """Mark each decision wrongful when it rested on false records; queue it for the consequences."""
        if not len(dec):
            return
        m = self.measures[int(dec.measure[0])]
        dec.wrongful[:] = self._wrongful(m, dec)
        kind = MEASURE_KINDS[int(dec.kind[0])]
        self.counters[f"{kind}s_wrongful"] += int(dec.wrongful.sum())
        self._decisions.append(dec)

    def appealed(self, scorer, day_filed, day_decided, citizen, kind, rule, li, record_id, success) -> None:
        if kind == "record":
            true = self.true_of(record_id)
        else:
            true = ~self.entered_false[li - self.list_code_base, citizen]
        self.recorder.appeal(day_filed=day_filed, day_decided=day_decided, citizen=citizen, scorer=scorer,
                             kind=0 if kind == "record" else 1, rule=rule, list=li, record_id=record_id,
                             record_true=true, success=success)

    # ------------------------------------------------------------------ the appeal body
    def decide_records(self, scorer, record_id: np.ndarray, day: int) -> np.ndarray:
        true = self.true_of(record_id)
        p = np.where(true, self.cs.appeal_success_true, self.cs.appeal_success_false)
        return self._rng("audit.record_appeal", day).random(len(record_id)) < p

    def decide_listings(self, scorer, li: int, citizen: np.ndarray, day: int) -> np.ndarray:
        lst = self.cs.lists[li]
        false = self.entered_false[li, citizen]
        p = np.where(false, lst.appeal_success_false, lst.appeal_success_true)
        return self._rng("audit.list_appeal", day, li).random(len(citizen)) < p

    def _rng(self, name: str, day: int, *keys: int):
        self._calls += 1
        return stream(self.seed, name, self.cs.index, day, self._calls, *keys)

    # ------------------------------------------------------------------ counterfactual standing
    def truthful_standing(self, cit: np.ndarray) -> Standing:
        s = self.scorer
        return Standing(len(cit), lambda li: s.member[li, cit] & ~self.entered_false[li, cit],
                        lambda: s.score[cit] - self.false_delta[cit], self.cs.tier_of, lambda: self.seen_true[cit],
                        lambda: s.circumstances.sector[cit])

    def _wrongful(self, m: CompiledMeasure, dec: Decisions) -> np.ndarray:
        if m.on_record >= 0:  # a response to a record: wrongful if the record was false, or there was none
            return ~self.true_of(dec.cause_record) | (dec.cause_record < 0)
        if m.on_list_entry >= 0:
            return self.entered_false[m.on_list_entry, dec.citizen]
        return ~holds(self.cs, m.when, self.truthful_standing(dec.cause_citizen))

    # ------------------------------------------------------------------ handed to the engine
    def take_decisions(self) -> list[Decisions]:
        out, self._decisions = self._decisions, []
        return out

    def take_entries(self) -> list[tuple[int, np.ndarray]]:
        out, self._entries = self._entries, []
        return out
