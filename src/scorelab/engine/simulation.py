"""The daily loop: society -> behaviour -> surveillance -> regime -> consequences -> metrics.

The engine holds no regime-specific code: it composes the stages over shared tables. A run
writes its tables into a folder given by the store (which makes the folder appear atomically).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scorelab.behaviour.catalogue import CATALOGUE, N_EVENT_TYPES
from scorelab.behaviour.draw import Behaviour, Perception
from scorelab.consequences.daily import Consequences
from scorelab.consequences.economy import Economy, EconomyParams
from scorelab.consequences.network import Network
from scorelab.ledger.sink import TableSink
from scorelab.regime.compiled import CompiledRegime
from scorelab.regime.runtime import (
    APPEAL_KINDS,
    CHANNEL_LABELS,
    LIST_ACTIONS,
    LIST_REASONS,
    MEASURE_KINDS,
    ScorerRuntime,
    Sinks,
)
from scorelab.regime.schema import DOMAINS, EFFECTS
from scorelab.society.model import Society
from scorelab.surveillance.observe import observe
from scorelab.tables import SECTOR_INDEX

EVENT_NAMES = [e.name for e in CATALOGUE]
NOTABLE = np.array([e.polarity != 0 and e.category != "attempt" for e in CATALOGUE])
OFFENCE = np.array([e.polarity < 0 and e.category != "attempt" for e in CATALOGUE])


@dataclass
class RunOptions:
    ledger_cohort: float = 1.0   # share of citizens whose ledger rows are kept
    events: str = "notable"      # all | notable | none: which true events are written


@dataclass
class RunResult:
    runtimes: list[ScorerRuntime]
    behaviour_state: object
    daily: list[dict] = field(default_factory=list)
    event_counts: np.ndarray | None = None  # [days, E]
    wall_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    network: Network | None = None
    days: int = 0
    economy: Economy | None = None
    consequences: Consequences | None = None


def perception_of(cr: CompiledRegime) -> Perception:
    return Perception(cr.perceived_p, cr.perceived_penalty, cr.perceived_reward, cr.certainty_exponent,
                      cr.severity_exponent, cr.reward_response)


def simulate(society: Society, cr: CompiledRegime, days: int, seed: int, folder: Path,
             options: RunOptions | None = None, progress: Callable[[int], None] | None = None,
             behaviour: Behaviour | None = None) -> RunResult:
    """Run `days` days and write ledger, records, events, lists and measures into `folder`.

    `behaviour` replaces the drawn behaviour (the scenario runner passes scripted events).
    """
    options = options or RunOptions()
    t0 = time.perf_counter()
    n = society.n
    scorer_names = [s.name for s in cr.scorers]
    list_labels = [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists]
    sample = None
    if options.ledger_cohort < 1.0:
        from scorelab.streams import stream

        sample = stream(seed, "ledger.cohort").random(n) < options.ledger_cohort
    ledger = TableSink(folder / "ledger.parquet",
                       {"citizen": np.int32, "day": np.int16, "scorer": np.int16, "rule": np.int16,
                        "delta": np.float64, "channel": np.int16, "record_id": np.int64, "record_true": np.bool_,
                        "source_citizen": np.int32},
                       labels={"scorer": scorer_names, "rule": cr.labels, "channel": CHANNEL_LABELS}, sample=sample)
    lists = TableSink(folder / "list_events.parquet",
                      {"day": np.int16, "citizen": np.int32, "scorer": np.int16, "list": np.int16,
                       "action": np.int16, "reason": np.int16, "wrongful": np.bool_},
                      labels={"scorer": scorer_names, "list": list_labels, "action": LIST_ACTIONS,
                              "reason": LIST_REASONS})
    measures = TableSink(folder / "measures.parquet",
                         {"day": np.int16, "citizen": np.int32, "scorer": np.int16, "measure": np.int16,
                          "kind": np.int16, "domain": np.int16, "effect": np.int16, "price_factor": np.float32,
                          "money": np.float32,
                          "wrongful": np.bool_, "cause_citizen": np.int32, "event_type": np.int16},
                         labels={"scorer": scorer_names, "measure": cr.labels, "kind": MEASURE_KINDS,
                                 "domain": list(DOMAINS), "effect": list(EFFECTS), "event_type": EVENT_NAMES})
    records = TableSink(folder / "records.parquet",
                        {"record_id": np.int64, "event_id": np.int64, "citizen": np.int32, "actor": np.int32,
                         "event_type": np.int16, "channel": np.int16, "scorer": np.int16, "day_event": np.int16,
                         "day_recorded": np.int16, "record_true": np.bool_},
                        labels={"event_type": EVENT_NAMES, "channel": CHANNEL_LABELS, "scorer": scorer_names})
    events_sink = TableSink(folder / "events.parquet",
                            {"event_id": np.int64, "day": np.int16, "citizen": np.int32, "event_type": np.int16,
                             "digital": np.bool_}, labels={"event_type": EVENT_NAMES})
    appeals = TableSink(folder / "appeals.parquet",
                        {"day_filed": np.int16, "day_decided": np.int16, "citizen": np.int32, "scorer": np.int16,
                         "kind": np.int16, "rule": np.int16, "list": np.int16, "record_id": np.int64,
                         "record_true": np.bool_, "success": np.bool_},
                        labels={"scorer": scorer_names, "kind": APPEAL_KINDS, "rule": cr.labels, "list": list_labels})
    ties = TableSink(folder / "ties_cut.parquet",
                     {"day": np.int16, "citizen": np.int32, "contact": np.int32, "scorer": np.int16,
                      "list": np.int16}, labels={"scorer": scorer_names, "list": list_labels})
    sinks = Sinks(ledger, lists, measures, appeals, ties)
    network = Network(society.graph_indptr, society.graph_indices)
    c = society.cols
    runtimes = []
    base = 0
    for cs in cr.scorers:
        runtimes.append(ScorerRuntime(cs, n, c["household"], society.household_indptr, society.household_members,
                                      network, seed, sinks, base))
        base += len(cs.lists)
    behaviour = behaviour or Behaviour(society, seed, perception_of(cr))
    state = behaviour.new_state()
    economy = Economy(society, seed, EconomyParams.of(society.spec.marginals))
    behaviour.economy = economy
    for rt in runtimes:
        rt.prices = economy.prices
        rt.horizon = days
    consequences = Consequences(economy, network, seed,
                                (cr.learning_probability, cr.learning_step, cr.learning_max), n)
    result = RunResult(runtimes, state, network=network, economy=economy, consequences=consequences)
    counts = np.zeros((days, N_EVENT_TYPES), np.int64)
    gates = [(rt, m) for rt in runtimes for m in rt.cs.measures if m.gate >= 0]
    for day in range(days):
        events, target = behaviour.draw_day(day, state)
        counts[day] = np.bincount(events.etype, minlength=N_EVENT_TYPES)
        if options.events != "none":
            keep = NOTABLE[events.etype] if options.events == "notable" else slice(None)
            ev = events.take(keep)
            events_sink.add(event_id=ev.event_id, day=day, citizen=ev.citizen, event_type=ev.etype,
                            digital=ev.digital)
        for rt in runtimes:
            rec = observe(events, rt.cs, day, seed, n, rt.next_record_id, network, c["age"])
            rt.next_record_id += len(rec)
            keep = rt.cs.acted_on[rec.etype] | ~rec.true | OFFENCE[rec.etype]  # offences: missed_offence_share
            records.add(record_id=rec.record_id[keep], event_id=rec.event_id[keep], citizen=rec.citizen[keep],
                        actor=rec.actor[keep], event_type=rec.etype[keep], channel=rec.channel[keep],
                        scorer=rt.cs.index, day_event=rec.day_event[keep], day_recorded=rec.day_recorded[keep],
                        record_true=rec.true[keep])
            rt.receive(rec)
            rt.process_day(day)
        refused = np.zeros(len(events), bool)
        for rt, m in gates:
            sel = np.flatnonzero(events.etype == m.gate)
            if len(sel):
                hit = rt.gate(m, events.citizen[sel], target[sel], day, m.gate)
                if m.kind == "sanction" and m.effect == "refuse":
                    refused[sel[hit]] = True
        consequences.step(day, events, target, refused, runtimes, state)
        row = {"day": day, "events": len(events), "true_offences": int(counts[day][NEGATIVE_IDX].sum()),
               "mean_savings": float(economy.savings.mean()),
               "unemployed": int((state.sector == SECTOR_INDEX["unemployed"]).sum())}
        for rt in runtimes:
            pre = "" if len(runtimes) == 1 else f"{rt.cs.name}:"
            row[f"{pre}mean_score"] = float(rt.score.mean())
            for li, lst in enumerate(rt.cs.lists):
                row[f"{pre}listed:{lst.name}"] = int(rt.list_size[li])
        row["ledger_rows"] = ledger.rows
        result.daily.append(row)
        if progress:
            progress(day)
    for sink in (ledger, lists, measures, records, events_sink, appeals, ties):
        sink.close()
    result.event_counts = counts
    result.days = days
    result.rows = {"ledger": ledger.rows, "list_events": lists.rows, "measures": measures.rows,
                   "records": records.rows, "events": events_sink.rows, "appeals": appeals.rows,
                   "ties_cut": ties.rows}
    result.wall_seconds = time.perf_counter() - t0
    _write_daily(folder, result, runtimes)
    return result


NEGATIVE_IDX = np.array([i for i, e in enumerate(CATALOGUE) if e.polarity < 0 and e.category != "attempt"])


def _write_daily(folder: Path, result: RunResult, runtimes: list[ScorerRuntime]) -> None:
    """daily.parquet: one row per day (ledger_rows is cumulative); event_counts.parquet per type."""
    days = len(result.daily)
    table = {k: [r.get(k, 0) for r in result.daily] for k in result.daily[0]} if days else {"day": []}
    pq.write_table(pa.table(table), folder / "daily.parquet")
    ec = result.event_counts
    long = {"day": np.repeat(np.arange(days, dtype=np.int16), N_EVENT_TYPES),
            "event_type": np.tile(np.array(EVENT_NAMES), days), "count": ec.reshape(-1)}
    pq.write_table(pa.table(long), folder / "event_counts.parquet")
