"""The recorder: the one owner of a run's output tables (docs/RUN_FORMAT.md).

Stages hand it batches; it streams them to Parquet (ledger/sink.py). Codes are written as
dictionary columns with the labels of scorelab.vocabulary and the compiled regime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scorelab.ledger.sink import TableSink, writer_thread
from scorelab.tables import Decisions, EventBatch, Records, RecordTruth
from scorelab.vocabulary import (
    APPEAL_KINDS,
    DOMAINS,
    EFFECTS,
    EVENT_NAMES,
    EVENTS,
    LEDGER_CHANNELS,
    LIST_ACTIONS,
    LIST_REASONS,
    MEASURE_KINDS,
    N_EVENT_TYPES,
    OUTCOMES,
    PAID,
    REFUSED,
    SUBSTITUTED,
)

NOTABLE_ACT = np.array([e.polarity != 0 and e.category != "attempt" for e in EVENTS])


class Recorder:
    def __init__(self, folder: Path, scorer_names: list[str], rule_labels: list[str], list_labels: list[str],
                 events: str = "notable", sample: np.ndarray | None = None) -> None:
        """`events`: which true events are written (all | notable | none); notable are the acts a
        regime judges and every attempt refused or replaced (places full and acts impossible without an
        account are only counted). `sample` keeps a cohort's ledger only."""
        self.folder = folder
        self.events_policy = events
        self._pool = writer_thread()
        self.ledger_sink = TableSink(
            folder / "ledger.parquet",
            {"citizen": np.int32, "day": np.int16, "scorer": np.int16, "rule": np.int16, "delta": np.float64,
             "channel": np.int16, "record_id": np.int64, "record_true": np.bool_, "source_citizen": np.int32},
            labels={"scorer": scorer_names, "rule": rule_labels, "channel": list(LEDGER_CHANNELS)}, sample=sample,
            writer=self._pool)
        self.lists = TableSink(
            folder / "list_events.parquet",
            {"day": np.int16, "citizen": np.int32, "scorer": np.int16, "list": np.int16, "action": np.int16,
             "reason": np.int16, "wrongful": np.bool_},
            labels={"scorer": scorer_names, "list": list_labels, "action": list(LIST_ACTIONS),
                    "reason": list(LIST_REASONS)}, writer=self._pool)
        self.measures = TableSink(
            folder / "measures.parquet",
            {"day": np.int16, "citizen": np.int32, "scorer": np.int16, "measure": np.int16, "kind": np.int16,
             "domain": np.int16, "effect": np.int16, "event_id": np.int64, "event_type": np.int16,
             "cause_record": np.int64, "cause_citizen": np.int32, "price_factor": np.float32,
             "duration": np.int16, "money": np.float32, "wrongful": np.bool_},
            labels={"scorer": scorer_names, "measure": rule_labels, "kind": list(MEASURE_KINDS),
                    "domain": list(DOMAINS), "effect": list(EFFECTS), "event_type": list(EVENT_NAMES)},
                    writer=self._pool)
        self.records = TableSink(
            folder / "records.parquet",
            {"record_id": np.int64, "event_id": np.int64, "citizen": np.int32, "actor": np.int32,
             "event_type": np.int16, "channel": np.int16, "scorer": np.int16, "day_event": np.int16,
             "day_recorded": np.int16, "record_true": np.bool_},
            labels={"event_type": list(EVENT_NAMES), "channel": list(LEDGER_CHANNELS), "scorer": scorer_names},
            writer=self._pool)
        self.events = TableSink(
            folder / "events.parquet",
            {"event_id": np.int64, "day": np.int16, "citizen": np.int32, "event_type": np.int16,
             "paid": np.int16, "digital": np.bool_, "outcome": np.int16, "wrongful": np.bool_},
            labels={"event_type": list(EVENT_NAMES), "paid": list(PAID), "outcome": list(OUTCOMES)}, writer=self._pool)
        self.appeals = TableSink(
            folder / "appeals.parquet",
            {"day_filed": np.int16, "day_decided": np.int16, "citizen": np.int32, "scorer": np.int16,
             "kind": np.int16, "rule": np.int16, "list": np.int16, "record_id": np.int64, "record_true": np.bool_,
             "success": np.bool_},
            labels={"scorer": scorer_names, "kind": list(APPEAL_KINDS), "rule": rule_labels, "list": list_labels},
            writer=self._pool)
        self.ties = TableSink(
            folder / "ties_cut.parquet",
            {"day": np.int16, "citizen": np.int32, "contact": np.int32, "scorer": np.int16, "list": np.int16,
             "household": np.bool_},
            labels={"scorer": scorer_names, "list": list_labels}, writer=self._pool)
        self.sinks = (self.ledger_sink, self.lists, self.measures, self.records, self.events, self.appeals,
                      self.ties)
        # counts of every event by (day, type, outcome, wrongful): attempts are many, so the
        # table of events keeps only the notable ones, and the counts keep all
        self.counts: list[np.ndarray] = []

    def ledger(self, **cols) -> None:
        self.ledger_sink.add(**cols)

    def list_event(self, **cols) -> None:
        self.lists.add(**cols)

    def appeal(self, **cols) -> None:
        self.appeals.add(**cols)

    def tie_cut(self, **cols) -> None:
        self.ties.add(**cols)

    def decisions(self, dec: Decisions) -> None:
        self.measures.add(day=dec.day, citizen=dec.citizen, scorer=dec.scorer, measure=dec.measure, kind=dec.kind,
                          domain=dec.domain, effect=dec.effect, event_id=dec.event_id, event_type=dec.event_type,
                          cause_record=dec.cause_record, cause_citizen=dec.cause_citizen,
                          price_factor=dec.price_factor, duration=dec.duration, money=dec.money,
                          wrongful=dec.wrongful)

    def observed(self, scorer: int, rec: Records, truth: RecordTruth, keep: np.ndarray) -> None:
        self.records.add(record_id=rec.record_id[keep], event_id=truth.event_id[keep], citizen=rec.citizen[keep],
                         actor=truth.actor[keep], event_type=rec.etype[keep], channel=rec.channel[keep],
                         scorer=scorer, day_event=rec.day_event[keep], day_recorded=rec.day_recorded[keep],
                         record_true=truth.true[keep])

    def day_events(self, day: int, ev: EventBatch, wrongful: np.ndarray) -> None:
        """The day's events: counts of all, rows of the notable (or all, or none)."""
        key = (ev.etype.astype(np.int64) * len(OUTCOMES) + ev.outcome) * 2 + wrongful
        self.counts.append(np.bincount(key, minlength=N_EVENT_TYPES * len(OUTCOMES) * 2))
        if self.events_policy == "none":
            return
        if self.events_policy == "all":
            keep = slice(None)
        else:
            keep = NOTABLE_ACT[ev.etype] | (ev.outcome == REFUSED) | (ev.outcome == SUBSTITUTED)
        self.events.add(event_id=ev.event_id[keep], day=day, citizen=ev.citizen[keep], event_type=ev.etype[keep],
                        paid=ev.paid[keep], digital=ev.digital[keep], outcome=ev.outcome[keep],
                        wrongful=wrongful[keep])

    def close(self) -> dict[str, int]:
        try:
            for sink in self.sinks:
                sink.close()
        finally:
            self._pool.shutdown(wait=True)
        self._write_counts()
        return {"ledger": self.ledger_sink.rows, "list_events": self.lists.rows, "measures": self.measures.rows,
                "records": self.records.rows, "events": self.events.rows, "appeals": self.appeals.rows,
                "ties_cut": self.ties.rows}

    def _write_counts(self) -> None:
        """event_counts.parquet: one row per (day, event type, outcome, wrongful) with a count > 0,
        plus a zero row per (day, type) so that every type appears every day."""
        days = len(self.counts)
        if not days:
            pq.write_table(pa.table({"day": np.empty(0, np.int16), "event_type": pa.array([], pa.string()),
                                     "outcome": pa.array([], pa.string()), "wrongful": np.empty(0, bool),
                                     "count": np.empty(0, np.int64)}), self.folder / "event_counts.parquet")
            return
        c = np.stack(self.counts).reshape(days, N_EVENT_TYPES, len(OUTCOMES), 2)
        made = c[:, :, 0, 0]
        d, t, o, w = np.nonzero(c)
        keep = ~((o == 0) & (w == 0))  # the made, rightful count is written below for every (day, type)
        d, t, o, w = d[keep], t[keep], o[keep], w[keep]
        dd = np.concatenate([np.repeat(np.arange(days), N_EVENT_TYPES), d])
        tt = np.concatenate([np.tile(np.arange(N_EVENT_TYPES), days), t])
        oo = np.concatenate([np.zeros(days * N_EVENT_TYPES, np.int64), o])
        ww = np.concatenate([np.zeros(days * N_EVENT_TYPES, bool), w.astype(bool)])
        nn = np.concatenate([made.reshape(-1), c[d, t, o, w]])
        names = np.array(EVENT_NAMES)
        outcomes = np.array(OUTCOMES)
        pq.write_table(pa.table({"day": dd.astype(np.int16), "event_type": names[tt], "outcome": outcomes[oo],
                                 "wrongful": ww, "count": nn.astype(np.int64)}), self.folder / "event_counts.parquet")
