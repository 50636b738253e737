"""The daily loop: society -> behaviour -> regime gates -> consequences -> surveillance -> regime
-> consequences -> metrics.

The engine holds no regime-specific code: it composes the stages over shared tables. One day:

1. behaviour draws the day's acts and attempts (scorelab.tables.EventBatch);
2. circumstances close doors (no account, no internet, payments suspended);
3. every scorer's gates decide on the attempts, from what it knew at the start of the day
   (scorelab.tables.Decisions); the audit marks what rested on false records; the
   consequences' registry applies the decisions (a refused attempt is not made);
4. what the attempts that were made lead to (places, loans, jobs, accounts, schooling, sales);
5. surveillance records the acts that happened (Records for the regime, RecordTruth for the
   audit); each scorer scores them (points, tiers, lists, decisions), and the registry
   applies those decisions;
6. contacts and family respond to new listings; contacts learn of the system.

The recorder writes every table; a run writes into a folder given by the store (which makes
the folder appear atomically).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from scorelab.audit.auditor import Auditor
from scorelab.behaviour.draw import Behaviour, Perception
from scorelab.consequences.daily import Consequences
from scorelab.consequences.economy import Economy, EconomyParams, cashless_scale, economy_breakpoints
from scorelab.consequences.network import Households, Network
from scorelab.consequences.world import World
from scorelab.ledger.recorder import Recorder
from scorelab.regime.compiled import CompiledRegime
from scorelab.regime.scorer import Scorer
from scorelab.society.model import Society
from scorelab.surveillance.observe import observe
from scorelab.tables import Decisions, EventBatch
from scorelab.vocabulary import EVENT_INDEX, EVENTS, MADE, N_EVENT_TYPES, OUTCOMES, UNEMPLOYED

OFFENCE = np.array([e.offence for e in EVENTS])
NEGATIVE_IDX = np.flatnonzero(OFFENCE)
POLICE_STOP = EVENT_INDEX["police_stop"]


@dataclass
class RunOptions:
    ledger_cohort: float = 1.0   # share of citizens whose ledger rows are kept
    events: str = "notable"      # all | notable | none: which true events are written
    world: object = None         # the run's world (scorelab.world.LoadedWorld); None: the society's


@dataclass
class RunResult:
    scorers: list[Scorer]
    auditors: list[Auditor]
    state: object
    daily: list[dict] = field(default_factory=list)
    event_counts: np.ndarray | None = None  # [days, E]: attempts and acts, whatever their outcome
    wall_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    network: Network | None = None
    days: int = 0
    economy: Economy | None = None
    consequences: Consequences | None = None
    world: World | None = None

    @property
    def runtimes(self) -> list[Scorer]:
        """The scorers (the name earlier code used)."""
        return self.scorers

    @property
    def behaviour_state(self):
        return self.state


def perception_of(cr: CompiledRegime) -> Perception:
    return Perception(cr.perceived_p, cr.perceived_penalty, cr.perceived_reward, cr.certainty_exponent,
                      cr.severity_exponent, cr.reward_response)


def simulate(society: Society, cr: CompiledRegime, days: int, seed: int, folder: Path,
             options: RunOptions | None = None, progress: Callable[[int], None] | None = None,
             behaviour: Behaviour | None = None, world_file=None) -> RunResult:
    """Run `days` days and write ledger, records, events, lists and decisions into `folder`.

    `behaviour` replaces the drawn behaviour (the scenario runner passes scripted events).
    `world_file` is the run's world (scorelab.world.LoadedWorld; default: the one the society's
    marginals name).
    """
    options = options or RunOptions()
    t0 = time.perf_counter()
    n = society.n
    sample = None
    if options.ledger_cohort < 1.0:
        from scorelab.streams import stream

        sample = stream(seed, "ledger.cohort").random(n) < options.ledger_cohort
    recorder = Recorder(folder, [s.name for s in cr.scorers], cr.labels,
                        [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists], options.events, sample)
    world_file = world_file if world_file is not None else options.world
    behaviour = behaviour or Behaviour(society, seed, perception_of(cr), world_file)
    world_file = world_file if world_file is not None else behaviour.world
    state = behaviour.new_state()
    economy = Economy(society.cols, seed, EconomyParams.of(world_file))
    behaviour.economy = economy
    network = Network(society.graph_indptr, society.graph_indices)
    households = Households(state.household, society.household_indptr, society.household_members)
    world = World(seed, economy.p, society.cols, state, economy, network, households)
    scorers, auditors = [], []
    base = 0
    for cs in cr.scorers:
        auditor = Auditor(cs, n, recorder, seed, base)
        scorer = Scorer(cs, n, households, network, state, society.cols["age"], seed, auditor, auditor, base, days)
        auditor.scorer = scorer
        scorers.append(scorer)
        auditors.append(auditor)
        base += len(cs.lists)
    consequences = Consequences(world, (cr.learning_probability, cr.learning_step, cr.learning_max), recorder,
                                scorers[0].score if scorers else None)
    result = RunResult(scorers, auditors, state, network=network, economy=economy, consequences=consequences,
                       world=world)
    economy_schedule = economy_breakpoints(world_file)
    for day in range(days):
        if day in cr.schedule:  # dated regime values: today's parameters (perceived risk follows them)
            later = cr.schedule[day]
            for sc, auditor, cs in zip(scorers, auditors, later.scorers, strict=True):
                sc.retune(cs)
                auditor.retune(cs)
            behaviour.perception = perception_of(later)
        if day in economy_schedule:  # dated society values: the economy's constants, the cashless share
            economy.p = world.params = EconomyParams.of(world_file, day)
            behaviour.cashless_scale = world.cashless_scale = cashless_scale(society.spec, day, world_file)
        gated = [(sc, m) for sc in scorers for m in sc.gates]
        injected = [(POLICE_STOP, np.concatenate(world.police_due.pop(day)))] if day in world.police_due else []
        events = behaviour.draw_day(day, state, injected)
        world.begin_day(day, events)
        economy.step(day)
        consequences.before_gates()
        if gated:
            made = _MadeByType(events)
            for sc, m in gated:
                sel = made.of(m.gate_types)
                if len(sel):
                    sc.gate(m, events.take(sel), day)
            gate_decisions = consequences.apply([d for a in auditors for d in a.take_decisions()])
        else:
            gate_decisions = Decisions.empty()
        consequences.after_gates()
        recorder.day_events(day, events, world.wrongful)
        happened = events.take(events.outcome == MADE)
        for sc, auditor in zip(scorers, auditors, strict=True):
            rec, truth = observe(happened, sc.cs, day, seed, n, sc.next_record_id, network, society.cols["age"])
            sc.next_record_id += len(rec)
            auditor.learn(truth)
            keep = sc.cs.acted_on[rec.etype] | ~truth.true | OFFENCE[rec.etype]  # offences: missed_offence_share
            recorder.observed(sc.index, rec, truth, keep)
            sc.receive(rec)
            sc.process_day(day)
            auditor.witness(happened.citizen, happened.etype)
        later = consequences.apply([d for a in auditors for d in a.take_decisions()])
        entries = [(sc, li, cit) for sc, a in zip(scorers, auditors, strict=True) for li, cit in a.take_entries()]
        decisions = Decisions.concat([gate_decisions, later])
        consequences.after_decisions(decisions, entries)
        recorder.decisions(decisions)
        result.daily.append(_daily_row(day, events, economy, state, scorers, recorder))
        if progress:
            progress(day)
    result.rows = recorder.close()
    result.event_counts = np.stack(recorder.counts).reshape(days, N_EVENT_TYPES, len(OUTCOMES) * 2).sum(axis=2) \
        if days else np.zeros((0, N_EVENT_TYPES), np.int64)
    result.days = days
    result.wall_seconds = time.perf_counter() - t0
    _write_daily(folder, result)
    return result


class _MadeByType:
    """The day's made attempts grouped by event type (a counting sort), so each gate takes its own
    types' slices instead of scanning every event (issue 12)."""

    def __init__(self, events: EventBatch) -> None:
        self.order, self.bounds = _made_by_type(events.etype, events.outcome, MADE, N_EVENT_TYPES)

    def of(self, types: np.ndarray) -> np.ndarray:
        """Indices of the made events of these types (bool[E]), ascending."""
        parts = [self.order[self.bounds[t]:self.bounds[t + 1]] for t in np.flatnonzero(types)]
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))


@njit(cache=True)
def _made_by_type(etype, outcome, made, n_types):  # pragma: no cover - compiled
    """A counting sort of the made events by type: (indices, bounds), each type's indices ascending."""
    bounds = np.zeros(n_types + 1, np.int64)
    for i in range(len(etype)):
        if outcome[i] == made:
            bounds[etype[i] + 1] += 1
    for t in range(n_types):
        bounds[t + 1] += bounds[t]
    at = bounds[:-1].copy()
    order = np.empty(bounds[n_types], np.int64)
    for i in range(len(etype)):
        if outcome[i] == made:
            order[at[etype[i]]] = i
            at[etype[i]] += 1
    return order, bounds


def _daily_row(day: int, events, economy: Economy, state, scorers: list[Scorer], recorder: Recorder) -> dict:
    counts = recorder.counts[-1].reshape(N_EVENT_TYPES, -1).sum(axis=1)
    row = {"day": day, "events": len(events), "true_offences": int(counts[NEGATIVE_IDX].sum()),
           "mean_savings": float(economy.savings.mean()), "unemployed": int((state.sector == UNEMPLOYED).sum()),
           "refused": int((events.outcome != MADE).sum())}
    for sc in scorers:
        pre = "" if len(scorers) == 1 else f"{sc.cs.name}:"
        row[f"{pre}mean_score"] = float(sc.score.mean())
        for li, lst in enumerate(sc.cs.lists):
            row[f"{pre}listed:{lst.name}"] = int(sc.list_size[li])
    row["ledger_rows"] = recorder.ledger_sink.rows
    return row


def _write_daily(folder: Path, result: RunResult) -> None:
    """daily.parquet: one row per day (ledger_rows is cumulative)."""
    days = len(result.daily)
    table = {k: [r.get(k, 0) for r in result.daily] for k in result.daily[0]} if days else {"day": []}
    pq.write_table(pa.table(table), folder / "daily.parquet")
