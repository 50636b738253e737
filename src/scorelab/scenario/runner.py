"""Run scenario files against regimes (`scorelab test-regime FILE_OR_DIR`).

A scenario replaces the drawn society and behaviour with hand-made ones, runs the real
engine (surveillance, regime, consequences) for its days, and checks its expectations
against the run's own tables. It is the same code path as a full run, so a passing scenario
proves the mechanism as the engine executes it.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from pydantic import ValidationError

from scorelab.behaviour.draw import Behaviour
from scorelab.engine.simulation import RunOptions, perception_of, simulate
from scorelab.errors import ScorelabError
from scorelab.reform import set_path
from scorelab.regime.compiled import compile_regime
from scorelab.regime.loader import _friendly, read_regime_file, read_yaml, validate_regime
from scorelab.regime.schema import Regime
from scorelab.scenario.model import Scenario
from scorelab.society.graph import household_groups
from scorelab.society.model import Society, SocietySpec
from scorelab.tables import CITIZEN_COLUMNS, EventBatch, symmetric_csr
from scorelab.vocabulary import ACCOUNT_OPEN, ACCOUNT_STATES, CASH, DIGITAL, EVENT_INDEX, EVENTS, SECTOR_INDEX, UNPAID

SECTOR_NAMES = list(SECTOR_INDEX)
PERFECT = {"coverage": 1.0, "coverage_growth_per_year": 0.0, "miss": 0.0, "misattribution": 0.0,
           "invented_per_million": 0.0, "delay_days": 0}


@dataclass
class Check:
    citizen: int
    what: str
    expected: object
    actual: object
    ok: bool
    comment: str = ""


@dataclass
class ScenarioResult:
    path: str
    scenario: Scenario
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def load_scenario(path: Path) -> Scenario:
    data = read_yaml(read_regime_file(path), str(path))  # the regime files' limits (size, UTF-8)
    if not isinstance(data, dict):
        raise ScorelabError("a scenario file must be a mapping of keys to values", path=str(path))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _friendly(exc, str(path), Scenario) from None


def scenario_files(target: Path) -> list[Path]:
    if target.is_dir():
        files = sorted(p for p in target.rglob("*.yaml") if p.is_file())
        if not files:
            raise ScorelabError("no scenario files (*.yaml) in this folder", path=str(target))
        return files
    if not target.is_file():
        raise ScorelabError("no such scenario file or folder", path=str(target))
    return [target]


def run_scenarios(target: str | Path) -> list[ScenarioResult]:
    return [run_scenario(p) for p in scenario_files(Path(target))]


# ---------------------------------------------------------------------------- the regime
def scenario_regime(sc: Scenario, base: Path) -> Regime:
    """The regime with the scenario's channel settings and `set` values applied."""
    data, origin = _regime_data(sc.regime, base)
    data = copy.deepcopy(data)
    for scorer in data.get("scorers", []):
        for name, ch in (scorer.get("channels") or {}).items():
            if sc.perfect_channels:
                ch.update(PERFECT)
            ch.update(sc.channels.get(name, {}))
    for path, value in sc.set.items():
        set_path(data, _regime_path(path), value, schema=Regime, origin=f"{base}: set")
    return validate_regime(data, f"{origin} (as set by {base})")


def _regime_data(regime: str, base: Path) -> tuple[dict, str]:
    candidate = (base.parent / regime) if regime.endswith((".yaml", ".yml")) else None
    if candidate is not None:
        if not candidate.is_file():
            raise ScorelabError("regime file not found", path=str(candidate))
        return read_yaml(read_regime_file(candidate), str(candidate)), str(candidate)
    ref = resources.files("scorelab") / "regimes" / f"{regime}.yaml"
    if not ref.is_file():
        from scorelab.regime.loader import preset_names

        raise ScorelabError(f"unknown regime '{regime}'", path=str(base), key="regime",
                            allowed=f"a preset ({', '.join(preset_names())}) or a .yaml path")
    return read_yaml(ref.read_text(encoding="utf-8"), f"preset:{regime}"), f"preset:{regime}"


def _regime_path(path: str) -> str:
    """Scenario files may leave out `scorers.`: `state.rules.x.points` is `scorers.state.rules.x.points`."""
    head = path.split(".", 1)[0]
    return path if head in Regime.model_fields else f"scorers.{path}"


# ---------------------------------------------------------------------------- society and behaviour
def scenario_society(sc: Scenario) -> Society:
    n = len(sc.citizens)
    by_id = sorted(sc.citizens, key=lambda c: c.id)
    cols: dict[str, np.ndarray] = {}
    for name, dtype in CITIZEN_COLUMNS.items():
        if name in ("income_decile", "loan_due_day", "conscientiousness", "impulsivity", "civic_mindedness",
                    "outspokenness", "household", "sector", "sex", "account"):
            continue
        cols[name] = np.array([getattr(c, name) for c in by_id], dtype=dtype)
    cols["sex"] = np.array([1 if c.sex == "male" else 0 for c in by_id], np.int8)
    cols["sector"] = np.array([SECTOR_INDEX[c.sector] for c in by_id], np.int8)
    cols["account"] = np.array([ACCOUNT_STATES.index(c.account) for c in by_id], np.int8)
    if any(c.savings is not None for c in by_id):  # the economy starts from these savings (others: 6 months)
        cols["savings"] = np.array([c.savings if c.savings is not None else c.income / 12 * 6
                                    for c in by_id], np.float64)
    for trait in ("conscientiousness", "impulsivity", "civic_mindedness", "outspokenness"):
        cols[trait] = np.zeros(n, np.float32)
    cols["loan_due_day"] = np.zeros(n, np.int8)
    ranks = np.argsort(np.argsort(cols["income"], kind="stable"), kind="stable")
    cols["income_decile"] = np.minimum(ranks * 10 // n, 9).astype(np.int8)
    # households: given ids, and a household of one for everyone without
    given = [c.household for c in by_id]
    next_id = max([h for h in given if h is not None], default=-1) + 1
    household = []
    for h in given:
        household.append(h if h is not None else next_id)
        next_id += h is None
    _, household_ids = np.unique(np.array(household), return_inverse=True)
    cols["household"] = household_ids.astype(np.int32)
    hi, hm = household_groups(cols["household"])
    gi, gx = _contacts(n, sc.contacts)
    spec = SocietySpec(citizens=n, seed=sc.seed, marginals="scenario")
    return Society(spec, cols, hi, hm, gi, gx)


def scenario_world(sc: Scenario, path: Path):
    """The default world with the scenario's values (`world: {section: {key: value}}`), set through
    the one reform walker (scorelab.reform), so a bad key names what is allowed there."""
    from scorelab.reform import Reform
    from scorelab.world import load_world

    paths = {f"world.{section}.{key}": value for section, values in sc.world.items() for key, value in values.items()}
    try:
        return load_world(None, Reform.of(paths))
    except ScorelabError as err:
        raise ScorelabError(err.detail, path=str(path), key=err.key, allowed=err.allowed) from None


def _contacts(n: int, pairs) -> tuple[np.ndarray, np.ndarray]:
    if not pairs:
        return np.zeros(n + 1, np.int64), np.empty(0, np.int32)
    return symmetric_csr(n, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))


class ScriptedBehaviour(Behaviour):
    """Events from the scenario instead of drawn ones; state changes as in a drawn run."""

    def __init__(self, society: Society, seed: int, perception, sc: Scenario, world=None) -> None:
        super().__init__(society, seed, perception, world)
        self.script: dict[int, list] = {}
        for e in sc.events:
            self.script.setdefault(e.day, []).extend([e] * e.repeat)

    def draw_day(self, day: int, st, injected=()):
        todays = self.script.get(day, [])
        etype = np.array([EVENT_INDEX[e.event] for e in todays], np.int16)
        citizen = np.array([e.citizen for e in todays], np.int32)
        paid = np.array([(DIGITAL if e.digital and st.account[e.citizen] == ACCOUNT_OPEN else CASH)
                         if EVENTS[EVENT_INDEX[e.event]].paid else UNPAID for e in todays], np.int8)
        target = np.array([SECTOR_INDEX[e.sector] if e.sector else -1 for e in todays], np.int8)
        for k, cit in injected:
            etype = np.concatenate([etype, np.full(len(cit), k, np.int16)])
            citizen = np.concatenate([citizen, cit.astype(np.int32)])
            paid = np.concatenate([paid, np.full(len(cit), UNPAID, np.int8)])
            target = np.concatenate([target, np.full(len(cit), -1, np.int8)])
        events = EventBatch.of(etype, citizen, paid, st.next_event_id, target)
        st.next_event_id += len(events)
        self._update_state(events, st)
        self._turn_over(day, events, st)
        return events

    def _turn_over(self, day: int, events: EventBatch, st) -> None:
        """Money still moves: the month of citizens due today turns over (income, living costs, the
        instalment if a scripted repayment was made today). No balance breach is invented: acts are
        the script's."""
        if self.economy is None:
            return
        due = self._due_order[self._due_ptr[day % 30]:self._due_ptr[day % 30 + 1]]
        repaid = events.citizen[np.isin(events.etype, [EVENT_INDEX["loan_on_time"], EVENT_INDEX["loan_late"]])]
        self.economy.month(day, due, st, np.isin(due, repaid) & st.has_loan[due], self.cashless_today(due))


# ---------------------------------------------------------------------------- running and checking
def run_scenario(path: Path) -> ScenarioResult:
    sc = load_scenario(path)
    regime = scenario_regime(sc, path)
    world = scenario_world(sc, path)
    cr = compile_regime(regime, str(path), world)
    society = scenario_society(sc)
    with tempfile.TemporaryDirectory(prefix="scorelab-scenario-") as tmp:
        folder = Path(tmp)
        behaviour = ScriptedBehaviour(society, sc.seed, perception_of(cr), sc, world)
        res = simulate(society, cr, sc.days, sc.seed, folder, RunOptions(events="all"), behaviour=behaviour,
                       world_file=world)
        tables = {name: pq.read_table(folder / f"{name}.parquet").to_pandas()
                  for name in ("ledger", "records", "measures", "list_events", "appeals", "events")}
    result = ScenarioResult(str(path), sc)
    for x in sc.expect:
        result.checks.extend(_check(x, res, tables, cr))
    return result


def _check(x, res, t, cr) -> list[Check]:
    out: list[Check] = []
    c = x.citizen

    def add(what, expected, actual, ok):
        out.append(Check(c, what, expected, actual, bool(ok), x.comment))

    rts = {rt.cs.name: rt for rt in res.runtimes}
    rt = rts.get(x.scorer) if x.scorer else (res.runtimes[0] if res.runtimes else None)
    if x.scorer and rt is None:
        raise ScorelabError(f"no scorer '{x.scorer}'", key="expect.scorer", allowed=", ".join(rts) or "none")
    if x.score is not None:
        actual = float(rt.score[c]) if rt else None
        add("score", x.score, actual, actual is not None and abs(actual - x.score) <= x.tolerance)
    if x.tier is not None:
        actual = rt.cs.tier_names[rt.tier[c]] if rt and rt.cs.tier_names else None
        add("tier", x.tier, actual, actual == x.tier)
    if x.on_lists is not None:
        actual = sorted(f"{r.cs.name}:{lst.name}" if x.scorer is None and len(rts) > 1 else lst.name
                        for r in res.runtimes for li, lst in enumerate(r.cs.lists)
                        if r.member[li, c] and (x.scorer is None or r is rt))
        add("on_lists", sorted(x.on_lists), actual, actual == sorted(x.on_lists))
    if x.ever_lists is not None:
        ever = {lst.name for r in res.runtimes for li, lst in enumerate(r.cs.lists) if r.ever[li, c]}
        ever |= {f"{r.cs.name}:{lst.name}" for r in res.runtimes for li, lst in enumerate(r.cs.lists)
                 if r.ever[li, c]}
        missing = [name for name in x.ever_lists if name not in ever]
        add("ever_lists", x.ever_lists, sorted(ever), not missing)
    rec = t["records"]
    mine = rec[rec.citizen == c]
    if x.records is not None:
        add("records", x.records, len(mine), len(mine) == x.records)
    if x.false_records is not None:
        k = int((~mine.record_true).sum())
        add("false_records", x.false_records, k, k == x.false_records)
    led = t["ledger"]
    led_c = led[led.citizen == c]
    if x.points is not None:
        for rule, pts in x.points.items():
            actual = float(led_c[led_c.rule.astype(str) == rule].delta.sum())
            add(f"points[{rule}]", pts, actual, abs(actual - pts) <= x.tolerance)
    if x.association_from is not None:
        src = sorted(set(int(s) for s in led_c[led_c.channel.astype(str) == "association"].source_citizen))
        add("association_from", sorted(x.association_from), src, src == sorted(x.association_from))
    ms = t["measures"]
    ms_c = ms[ms.citizen == c]
    for kind, wanted in (("sanction", x.sanctions), ("reward", x.rewards), ("response", x.responses)):
        if wanted is None:
            continue
        for name, k in wanted.items():
            actual = int(((ms_c.kind.astype(str) == kind) & (ms_c.measure.astype(str) == name)).sum())
            add(f"{kind}s[{name}]", k, actual, actual == k)
    if x.wrongful_sanctions is not None:
        k = int(((ms_c.kind.astype(str) == "sanction") & ms_c.wrongful).sum())
        add("wrongful_sanctions", x.wrongful_sanctions, k, k == x.wrongful_sanctions)
    if x.appeals_won is not None:
        ap = t["appeals"]
        k = int(((ap.citizen == c) & ap.success).sum())
        add("appeals_won", x.appeals_won, k, k == x.appeals_won)
    _check_consequences(x, res, t, add)
    return out


def _check_consequences(x, res, t, add) -> None:
    """Issue 9: what decisions did to the citizen's circumstances."""
    c = x.citizen
    st, eco, w = res.state, res.economy, res.world
    if x.sector is not None:
        actual = SECTOR_NAMES[st.sector[c]]
        add("sector", x.sector, actual, actual == x.sector)
    if x.savings is not None:
        actual = float(eco.savings[c])
        add("savings", x.savings, actual, abs(actual - x.savings) <= x.tolerance)
    if x.savings_below is not None:
        actual = float(eco.savings[c])
        add("savings_below", x.savings_below, actual, actual < x.savings_below)
    if x.income_lost is not None:
        actual = float(eco.lost[c] + eco.lost_wrongful[c])
        add("income_lost", x.income_lost, actual, abs(actual - x.income_lost) <= x.tolerance)
    if x.college is not None:
        add("college", x.college, bool(st.college[c]), bool(st.college[c]) == x.college)
    if x.education_lost is not None:
        actual = int(w.education_lost[c] + w.education_lost_wrongful[c])
        add("education_lost", x.education_lost, actual, actual == x.education_lost)
    if x.account is not None:
        actual = ACCOUNT_STATES[st.account[c]]
        if actual == "open" and eco.suspended_until[c] >= res.days - 1:
            actual = "suspended"
        add("account", x.account, actual, actual == x.account)
    if x.online is not None:
        add("online", x.online, bool(st.online[c]), bool(st.online[c]) == x.online)
    ev = t["events"]
    ev_c = ev[ev.citizen == c]
    for what, wanted, outcomes in (("made", x.made, ("made",)), ("refused", x.refused, ("refused",)),
                                   ("substituted", x.substituted, ("substituted",))):
        for name, k in (wanted or {}).items():
            actual = int(((ev_c.event_type.astype(str) == name) & ev_c.outcome.astype(str).isin(outcomes)).sum())
            add(f"{what}[{name}]", k, actual, actual == k)
    if x.ties is not None:
        actual = int(res.network.degree()[c])
        add("ties", x.ties, actual, actual == x.ties)
    if x.police_contacts is not None:
        actual = int(w.police_contacts[c] + w.police_contacts_wrongful[c])
        add("police_contacts", x.police_contacts, actual, actual == x.police_contacts)
    if x.instalment is not None:
        actual = float(eco.instalment[c])
        add("instalment", x.instalment, actual, abs(actual - x.instalment) <= x.tolerance)
    for flow, amount in (x.money or {}).items():
        from scorelab.consequences.economy import FLOWS

        if flow not in FLOWS:
            raise ScorelabError(f"unknown money flow '{flow}'", key="expect.money", allowed=", ".join(FLOWS))
        actual = float(eco.flows[FLOWS.index(flow), c])
        add(f"money[{flow}]", amount, actual, abs(actual - amount) <= x.tolerance)
    if x.has_loan is not None:
        add("has_loan", x.has_loan, bool(st.has_loan[c]), bool(st.has_loan[c]) == x.has_loan)
    if x.left_household is not None:
        actual = bool(st.household[c] != res.world.cols["household"][c])
        add("left_household", x.left_household, actual, actual == x.left_household)
