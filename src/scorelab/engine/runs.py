"""Making runs: a society and a regime (and its paired baseline) into run folders.

The heavy part of the API (scorelab.api.run); kept apart so that reading runs (summary,
explain) does not load the engine.
"""

from __future__ import annotations

import importlib
import json
import platform
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import scorelab
from scorelab.consequences.economy import FLOWS
from scorelab.engine.forked import Forked, can_fork
from scorelab.engine.simulation import RunOptions, RunResult, simulate
from scorelab.errors import ScorelabError, check_positive_int, check_seed
from scorelab.ledger.sink import parquet_options
from scorelab.metrics.network import network_measures
from scorelab.metrics.summary import summarize
from scorelab.reform import Reform
from scorelab.regime.compiled import compile_regime
from scorelab.regime.loader import LoadedRegime
from scorelab.regime.loader import load_regime as _load_regime
from scorelab.society.model import Society, SocietySpec, load_society
from scorelab.society.model import build_society as _build_society
from scorelab.store.catalogue import refresh_catalogue
from scorelab.store.faults import crash_point
from scorelab.store.runfolder import FORMAT_VERSION, read_manifest, write_manifest
from scorelab.store.writing import (
    Notify,
    Pending,
    Slot,
    begin,
    ensure_runs_dir,
    request_key,
    run_request,
    society_fingerprint,
)
from scorelab.vocabulary import ACCOUNT_OPEN, ACCOUNT_STATES, ACCOUNT_SUSPENDED, PUNITIVE_LIST_KINDS, SECTORS
from scorelab.world import DEFAULT as DEFAULT_WORLD
from scorelab.world import LoadedWorld, load_world

DEFAULT_RUNS = Path("runs")
MAX_DAYS = 3650
FULL_LEDGER_UP_TO = 2_000_000  # citizens; beyond this a cohort ledger is kept by default
DEFAULT_COHORT = 0.1
# what a baseline process adds beside its run, per citizen: an upper estimate (a whole 1M-citizen
# run process peaks near 2.1 GB, society included; benchmarks/RESULTS.md); a baseline that would
# not fit in the available memory (with a margin, engine/forked.py) is made after its run instead
BASELINE_BYTES_PER_CITIZEN = 1_500



def build_society(citizens: int, seed: int = 0, world: str | Path | LoadedWorld | None = None, **spec) -> Society:
    """Draw a society: `citizens` rows from the census marginals (see SocietySpec), or from a world's."""
    check_positive_int(citizens, "citizens", maximum=50_000_000)
    check_seed(seed)
    if world is not None:
        loaded = load_world(world)
        spec.setdefault("marginals", loaded.ref)
        return _build_society(SocietySpec(citizens=citizens, seed=seed, **spec), world=loaded)
    return _build_society(SocietySpec(citizens=citizens, seed=seed, **spec))


def run(regime: str | Path, citizens: int = 100_000, days: int = 365, seed: int | None = None,
        baseline: str | None = "none", out: str | Path = DEFAULT_RUNS, society: str | Path | Society | None = None,
        ledger_cohort: float | None = None, events: str = "notable",
        progress: Callable[[str, int, int], None] | None = None, *, force: bool = False,
        notify: Notify | None = None, overrides: Mapping | Reform | None = None, baseline_run: str | None = None,
        catalogue: bool = True, world: str | Path | LoadedWorld | None = None) -> Path:
    """Run a regime (and its paired baseline) and return the new run folder.

    The baseline, when given, runs on the same society with the same seed (common random
    numbers), so the difference between the two runs is the regime's effect. `seed` defaults to
    the society's seed (0 for a new society). An identical run already in `out` is reused (and
    `notify` told so) unless `force`. `overrides` ({path: value}, scorelab.reform) change the
    regime or the society without a new file; `baseline_run` pairs the run with an existing
    baseline in `out` (same society, seed and days) instead of running one: experiments share
    one baseline across many runs. `world` (a preset such as `us2020` or a world file; scorelab.world)
    is the world the run happens in: a new society is drawn from its marginals, and its rates,
    behaviour, deterrence defaults and economy apply; by default the world the society's marginals
    name. `world.` overrides change it.
    """
    check_positive_int(days, "days", maximum=MAX_DAYS)
    if seed is not None:
        check_seed(seed)
    if events not in ("all", "notable", "none"):
        raise ScorelabError(f"got {events!r}", key="events", allowed="all, notable, none")
    reform = Reform.of(overrides)
    loaded = reform.load_regime(regime)
    base_loaded = _load_regime(baseline) if baseline and not baseline_run else None
    # compile both before anything is written, so that a bad regime leaves no folder behind
    compile_regime(loaded.regime, loaded.origin)
    if base_loaded is not None:
        compile_regime(base_loaded.regime, base_loaded.origin)
    if world is not None or reform.for_root("world"):  # a bad world fails before anything is written
        load_world(world, reform)
    out = ensure_runs_dir(Path(out))  # before the society, which may take a while to build
    spec = reform.society()
    if society is None:  # a new society is drawn from the run's world
        if world is not None:
            spec.setdefault("marginals", load_world(world).ref)
        world_loaded = load_world(world if world is not None else spec.get("marginals", DEFAULT_WORLD), reform)
        soc = _society(None, citizens, 0 if seed is None else seed, spec, world_loaded)
    else:
        soc = _society(society, citizens, 0 if seed is None else seed, spec)
        world_loaded = _world(world, soc, reform)
    seed = soc.spec.seed if seed is None else seed
    check_seed(seed)
    cohort = ledger_cohort if ledger_cohort is not None else (1.0 if soc.n <= FULL_LEDGER_UP_TO else DEFAULT_COHORT)
    if not 0 < cohort <= 1:
        raise ScorelabError(f"got {cohort!r}", key="ledger_cohort", allowed="a share in (0, 1]")
    options = RunOptions(ledger_cohort=cohort, events=events, world=world_loaded)
    shared = _existing_baseline(out, baseline_run, soc, days, seed, world_loaded) if baseline_run else None
    request = run_request(loaded.sha256, base_loaded.sha256 if base_loaded else shared, soc.spec.model_dump(), seed,
                          days, cohort, events, FORMAT_VERSION, scorelab.__version__)
    if reform:
        request["overrides"] = reform.manifest()
    request["world"] = world_loaded.sha256  # another world is another run
    if isinstance(society, Society):  # made in memory: its spec need not say what it holds
        request["society_data"] = society_fingerprint(soc)
    stem = f"{loaded.regime.name}-{soc.n}x{days}-s{seed}{reform.suffix(len(loaded.regime.scorers))}"
    if world_loaded.name != DEFAULT_WORLD:
        stem += f"+world={world_loaded.name}"
    pending = begin(out, stem, request, base_loaded.regime.name if base_loaded else None, force=force, notify=notify)
    if not isinstance(pending, Pending):
        return pending  # an identical run, reused
    extra = {"overrides": reform.manifest()} if reform else {}
    # both are written before either is published: no baseline without its run
    base, making_base = pending.baseline, None
    try:
        if base is not None:
            def make_base(progress=None) -> None:
                _run_one(base_loaded, soc, days, seed, base, options, progress, baseline_of=pending.run.run_id)

            if can_fork(BASELINE_BYTES_PER_CITIZEN * soc.n):  # issue 12: the baseline on the second core
                making_base = Forked(make_base, "baseline")
            else:
                make_base(progress)
        _run_one(loaded, soc, days, seed, pending.run, options, progress,
                 baseline=base.run_id if base else shared,
                 baseline_folder=base.partial if base else (out / shared if shared else None), request=request,
                 extra=extra, before_summary=making_base.wait if making_base else None)
        folder = pending.publish()
    except BaseException:
        if making_base is not None:
            making_base.stop()
        pending.abandon()
        raise
    if catalogue:
        refresh_catalogue(out)
    return folder


def _society(society, citizens: int, seed: int, spec: dict | None = None, world: LoadedWorld | None = None
             ) -> Society:
    if isinstance(society, Society):
        return society
    if society is not None:
        return load_society(society)
    check_positive_int(citizens, "citizens", maximum=50_000_000)
    return _build_society(SocietySpec(citizens=citizens, seed=seed, **(spec or {})), world=world)


def _world(world, soc: Society, reform: Reform) -> LoadedWorld:
    """The world of a run on a given society: the one given, else the one its marginals name (the
    default one for a hand-made society that names none), with the reform's `world.` paths."""
    if world is not None:
        return load_world(world, reform)
    try:
        return load_world(soc.spec.marginals, reform)
    except ScorelabError:
        return load_world(DEFAULT_WORLD, reform)


def _existing_baseline(out: Path, run_id: str, soc: Society, days: int, seed: int, world: LoadedWorld) -> str:
    """The id of an existing run in `out` fit to be this run's baseline (same society, seed, days)."""
    folder = out / str(run_id)
    if not (folder / "manifest.json").is_file():
        raise ScorelabError(f"no run '{run_id}' in {out}", key="baseline_run",
                            allowed="a run folder in the same --runs")
    m = read_manifest(folder)
    if m.get("society") != soc.spec.model_dump() or m.get("seed") != seed or m.get("days") != days:
        raise ScorelabError("was made on another society, seed or number of days", key="baseline_run",
                            allowed="a run of the same society spec, seed and days")
    if m.get("world", {}).get("sha256", world.sha256) != world.sha256:
        raise ScorelabError("was made in another world", key="baseline_run",
                            allowed="a run of the same world (world.yaml) as this one")
    return folder.name


def _run_one(loaded: LoadedRegime, soc: Society, days: int, seed: int, slot: Slot,
             options: RunOptions, progress, baseline: str | None = None, baseline_of: str | None = None,
             baseline_folder: Path | None = None, request: dict | None = None, extra: dict | None = None,
             before_summary: Callable[[], None] | None = None) -> Path:
    world = options.world if options.world is not None else load_world(DEFAULT_WORLD)
    cr = compile_regime(loaded.regime, loaded.origin, world)  # with the world's deterrence defaults
    label = loaded.regime.name
    run_id = slot.run_id
    with slot.writing() as tmp:
        tick = (lambda day: progress(label, day + 1, days)) if progress else None
        res = simulate(soc, cr, days, seed, tmp, options, tick, world_file=world)
        crash_point("tables")
        # citizens.parquet is encoded on a second thread (pyarrow lets go of the GIL) while the
        # network measures are computed: neither reads what the other makes (issue 12); the
        # statistics the summary's tests need (scipy.stats, a second to import) load meanwhile
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scorelab-citizens") as pool:
            citizens_written = pool.submit(_write_citizens, tmp, soc, res)
            pool.submit(importlib.import_module, "scipy.stats")
            network = _network_measures(soc, res, cr)
            citizens = citizens_written.result()
        (tmp / "regime.yaml").write_text(loaded.text)
        (tmp / "world.yaml").write_text(world.text)
        manifest = {
            "format_version": FORMAT_VERSION, "scorelab_version": scorelab.__version__, "run_id": run_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "regime": {"name": loaded.regime.name, "title": loaded.regime.title, "origin": loaded.origin,
                       "sha256": loaded.sha256},
            "world": {"name": world.name, "origin": world.origin, "sha256": world.sha256},
            "society": soc.spec.model_dump(), "seed": seed, "days": days,
            "baseline": baseline, "baseline_of": baseline_of,
            "scorers": [s.name for s in cr.scorers],
            "lists": [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists],
            "ledger": {"policy": "full" if options.ledger_cohort >= 1 else "cohort",
                       "cohort_share": options.ledger_cohort, "cohort_stream": "ledger.cohort"},
            "events_written": options.events, "rows": res.rows,
            "counters": {sc.cs.name: {k: float(v) for k, v in sorted({**sc.counters, **au.counters}.items())}
                         for sc, au in zip(res.scorers, res.auditors, strict=True)},
            "consequences": {k: float(v) for k, v in sorted(res.world.counters.items())},
            "tiers": {sc.cs.name: {"names": sc.cs.tier_names, "transitions": sc.transitions.tolist()}
                      for sc in res.scorers},
            "punitive_lists": [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists
                               if lst.kind in PUNITIVE_LIST_KINDS],
            "network": network,
            "economy": {"money_saved_by_measures": res.economy.money_in,
                        "money_lost_to_measures": res.economy.money_out,
                        "citizens_who_learned": res.consequences.learned},
            "wall_seconds": round(res.wall_seconds, 3),
            "agent_days_per_second": round(soc.n * days / max(res.wall_seconds, 1e-9)),
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "numpy": np.__version__},
        }
        manifest.update(extra or {})
        if request is not None:  # what makes an identical re-run (store/writing.py)
            manifest["request"], manifest["request_key"] = request, request_key(request)
        write_manifest(tmp, manifest)
        if before_summary is not None:  # the summary reads the baseline: wait until it is made
            before_summary()
        summary = summarize(tmp, baseline_folder=baseline_folder, citizens=citizens)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return slot.final


def _network_measures(soc: Society, res: RunResult, cr) -> dict:
    listed = np.zeros(soc.n, bool)
    for rt in res.scorers:
        for li, lst in enumerate(rt.cs.lists):
            if lst.kind in PUNITIVE_LIST_KINDS:
                listed |= rt.ever[li]
    score = res.scorers[0].score if res.scorers else None
    return network_measures(res.network, soc.graph_indptr, soc.graph_indices, listed, score)


def _write_citizens(folder: Path, soc: Society, res: RunResult) -> pa.Table:
    """citizens.parquet: one row per citizen; final score, tier and lists, circumstances, money,
    plus group attributes."""
    c = soc.cols
    n = soc.n
    sector_names = np.array(SECTORS)
    table: dict[str, object] = {"citizen": np.arange(n, dtype=np.int32)}
    multi = len(res.scorers) > 1
    for i, (sc, au) in enumerate(zip(res.scorers, res.auditors, strict=True)):
        tier_names = np.array(sc.cs.tier_names or [""])
        suffix = f":{sc.cs.name}" if multi else ""
        if i == 0:
            table["score"] = sc.score
            table["tier"] = _labels(sc.tier, tier_names)
        if multi:
            table[f"score{suffix}"] = sc.score
            table[f"tier{suffix}"] = _labels(sc.tier, tier_names)
        if i == 0:
            table["days_bottom_tier"] = sc.days_in_bottom_tier(res.days)
            table["first_below_day"] = sc.first_below
            table["redeemed_day"] = sc.redeemed_day
            table["penalised_own"] = sc.penalised_own
            table["penalised_by_association"] = sc.penalised_assoc
        for li, lst in enumerate(sc.cs.lists):
            key = f"{sc.cs.name}:{lst.name}" if multi else lst.name
            table[f"on:{key}"] = sc.member[li]
            table[f"ever:{key}"] = sc.ever[li]
            table[f"wrongly:{key}"] = au.ever_false[li]
    if not res.scorers:
        table["score"] = np.full(n, np.nan)
        table["tier"] = _labels(np.zeros(n, np.int8), [""])
    st = res.state
    w = res.world
    eco = res.economy
    for name in ("age", "sex", "region", "urban", "college", "income", "income_decile", "household",
                 "aware", "conscientiousness", "impulsivity", "civic_mindedness", "outspokenness", "seller"):
        table[name] = c[name]
    table["sex"] = _labels(c["sex"], ["female", "male"])
    table["sector_initial"] = _labels(c["sector"], sector_names)
    table["sector"] = _labels(st.sector, sector_names)
    table["household_final"] = st.household
    table["degree_initial"] = np.diff(soc.graph_indptr).astype(np.int32)
    table["degree"] = res.network.degree()
    table["new_ties"] = res.network.new_degree()
    table["savings"] = eco.savings.astype(np.float32)
    table["savings_initial"] = eco.savings_initial.astype(np.float32)
    flows = eco.flows
    for k, flow in enumerate(FLOWS):
        table[f"money_{flow}"] = flows[k]
    table["income_lost"] = eco.lost.astype(np.float32)
    table["income_lost_wrongful"] = eco.lost_wrongful.astype(np.float32)
    table["income_final"] = (eco.monthly * 12 * np.where(st.sector == SECTORS.index("unemployed"),
                                                         eco.p.unemployed_income, 1.0)).astype(np.float32)
    table["aware_final"] = st.aware
    table["online_initial"] = c["online"]
    table["online"] = st.online
    account = np.where((st.account == ACCOUNT_OPEN) & (eco.suspended_until >= res.days - 1), ACCOUNT_SUSPENDED,
                       st.account)
    table["account_initial"] = _labels(c["account"], ACCOUNT_STATES)
    table["account"] = _labels(account, ACCOUNT_STATES)
    table["account_closed"] = w.accounts_closed
    table["account_closed_wrongful"] = w.accounts_closed_wrongful
    table["suspended_first_day"] = eco.suspended_first
    table["broke_first_day"] = eco.broke_first
    table["broke_after_suspension_days"] = eco.broke_after_suspension
    table["college_final"] = st.college
    table["expected_income"] = w.expected_income.astype(np.float32)
    table["education_lost"] = w.education_lost
    table["education_lost_wrongful"] = w.education_lost_wrongful
    table["police_contacts"] = w.police_contacts
    table["police_contacts_wrongful"] = w.police_contacts_wrongful
    out = pa.table(table)
    pq.write_table(out, folder / "citizens.parquet", **parquet_options(out.schema))
    return out


def _labels(codes: np.ndarray, names) -> pa.DictionaryArray:
    """A string column stored as codes and a small dictionary (fast to write, read as strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, np.int16)), pa.array(list(names), pa.string()))
