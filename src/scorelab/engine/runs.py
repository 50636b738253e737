"""Making runs: a society and a regime (and its paired baseline) into run folders.

The heavy part of the API (scorelab.api.run); kept apart so that reading runs (summary,
explain) does not load the engine.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import scorelab
from scorelab.engine.simulation import RunOptions, RunResult, simulate
from scorelab.errors import ScorelabError, check_positive_int
from scorelab.metrics.network import network_measures
from scorelab.metrics.summary import PUNITIVE, summarize
from scorelab.reform import Reform
from scorelab.regime.compiled import compile_regime
from scorelab.regime.loader import LoadedRegime
from scorelab.regime.loader import load_regime as _load_regime
from scorelab.society.model import Society, SocietySpec, load_society
from scorelab.society.model import build_society as _build_society
from scorelab.store.catalogue import refresh_catalogue
from scorelab.store.runfolder import FORMAT_VERSION, new_run_id, partial_folder, read_manifest, write_manifest
from scorelab.tables import SECTORS

DEFAULT_RUNS = Path("runs")
MAX_DAYS = 3650
FULL_LEDGER_UP_TO = 2_000_000  # citizens; beyond this a cohort ledger is kept by default
DEFAULT_COHORT = 0.1



def build_society(citizens: int, seed: int = 0, **spec) -> Society:
    """Draw a society: `citizens` rows from the census marginals (see SocietySpec)."""
    check_positive_int(citizens, "citizens", maximum=50_000_000)
    return _build_society(SocietySpec(citizens=citizens, seed=seed, **spec))


def run(regime: str | Path, citizens: int = 100_000, days: int = 365, seed: int = 0,
        baseline: str | None = "none", out: str | Path = DEFAULT_RUNS, society: str | Path | Society | None = None,
        ledger_cohort: float | None = None, events: str = "notable",
        progress: Callable[[str, int, int], None] | None = None, overrides: Mapping | Reform | None = None,
        baseline_run: str | None = None, catalogue: bool = True) -> Path:
    """Run a regime (and its paired baseline) and return the new run folder.

    The baseline, when given, runs on the same society with the same seed (common random
    numbers), so the difference between the two runs is the regime's effect. `overrides`
    ({path: value}, scorelab.reform) change the regime or the society without a new file;
    `baseline_run` pairs the run with an existing baseline in `out` (same society, seed and
    days) instead of running one: experiments share one baseline across many runs.
    """
    check_positive_int(days, "days", maximum=MAX_DAYS)
    if not isinstance(seed, int) or seed < 0:
        raise ScorelabError(f"got {seed!r}", key="seed", allowed="a whole number from 0 up")
    if events not in ("all", "notable", "none"):
        raise ScorelabError(f"got {events!r}", key="events", allowed="all, notable, none")
    reform = Reform.of(overrides)
    loaded = reform.load_regime(regime)
    base_loaded = _load_regime(baseline) if baseline and not baseline_run else None
    # compile both before anything is written, so that a bad regime leaves no folder behind
    compile_regime(loaded.regime, loaded.origin)
    if base_loaded is not None:
        compile_regime(base_loaded.regime, base_loaded.origin)
    soc = _society(society, citizens, seed, reform.society())
    cohort = ledger_cohort if ledger_cohort is not None else (1.0 if soc.n <= FULL_LEDGER_UP_TO else DEFAULT_COHORT)
    if not 0 < cohort <= 1:
        raise ScorelabError(f"got {cohort!r}", key="ledger_cohort", allowed="a share in (0, 1]")
    options = RunOptions(ledger_cohort=cohort, events=events)
    out = Path(out)
    run_id = new_run_id(out, f"{loaded.regime.name}-{soc.n}x{days}-s{seed}{reform.suffix(len(loaded.regime.scorers))}")
    base_id = _existing_baseline(out, baseline_run, soc, days, seed) if baseline_run else None
    extra = {"overrides": reform.manifest()} if reform else {}
    if base_loaded is not None:
        base_id = new_run_id(out, f"{run_id}--baseline-{base_loaded.regime.name}")
        _run_one(base_loaded, soc, days, seed, out, base_id, options, progress, baseline_of=run_id)
    try:
        folder = _run_one(loaded, soc, days, seed, out, run_id, options, progress, baseline=base_id, extra=extra)
    except BaseException:
        if base_id is not None and not baseline_run:  # no baseline without the run it belongs to
            shutil.rmtree(out / base_id, ignore_errors=True)
        raise
    if catalogue:
        refresh_catalogue(out)
    return folder


def _society(society, citizens: int, seed: int, spec: dict | None = None) -> Society:
    if spec and society is not None:
        raise ScorelabError("society.* overrides apply to a drawn society, not to a given one", key="society",
                            allowed="drop --society, or drop the society.* overrides")
    if isinstance(society, Society):
        return society
    if society is not None:
        return load_society(society)
    check_positive_int(citizens, "citizens", maximum=50_000_000)
    return _build_society(SocietySpec(citizens=citizens, seed=seed, **(spec or {})))


def _existing_baseline(out: Path, run_id: str, soc: Society, days: int, seed: int) -> str:
    """The id of an existing run in `out` fit to be this run's baseline (same society, seed, days)."""
    folder = out / str(run_id)
    if not (folder / "manifest.json").is_file():
        raise ScorelabError(f"no run '{run_id}' in {out}", key="baseline_run", allowed="a run folder in the same --out")
    m = read_manifest(folder)
    if m.get("society") != soc.spec.model_dump() or m.get("seed") != seed or m.get("days") != days:
        raise ScorelabError("was made on another society, seed or number of days", key="baseline_run",
                            allowed="a run of the same society spec, seed and days")
    return folder.name


def _run_one(loaded: LoadedRegime, soc: Society, days: int, seed: int, out: Path, run_id: str,
             options: RunOptions, progress, baseline: str | None = None, baseline_of: str | None = None,
             extra: dict | None = None) -> Path:
    cr = compile_regime(loaded.regime, loaded.origin)
    label = loaded.regime.name
    with partial_folder(out, run_id) as tmp:
        tick = (lambda day: progress(label, day + 1, days)) if progress else None
        res = simulate(soc, cr, days, seed, tmp, options, tick)
        _write_citizens(tmp, soc, res)
        (tmp / "regime.yaml").write_text(loaded.text)
        manifest = {
            "format_version": FORMAT_VERSION, "scorelab_version": scorelab.__version__, "run_id": run_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "regime": {"name": loaded.regime.name, "title": loaded.regime.title, "origin": loaded.origin,
                       "sha256": loaded.sha256},
            "society": soc.spec.model_dump(), "seed": seed, "days": days,
            "baseline": baseline, "baseline_of": baseline_of,
            "scorers": [s.name for s in cr.scorers],
            "lists": [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists],
            "ledger": {"policy": "full" if options.ledger_cohort >= 1 else "cohort",
                       "cohort_share": options.ledger_cohort, "cohort_stream": "ledger.cohort"},
            "events_written": options.events, "rows": res.rows,
            "counters": {rt.cs.name: {k: float(v) for k, v in sorted(rt.counters.items())} for rt in res.runtimes},
            "tiers": {rt.cs.name: {"names": rt.cs.tier_names, "transitions": rt.transitions.tolist()}
                      for rt in res.runtimes},
            "punitive_lists": [f"{s.name}:{lst.name}" for s in cr.scorers for lst in s.lists
                               if lst.kind in ("black", "gray", "watch", "no_fly")],
            "network": _network_measures(soc, res, cr),
            "economy": {"money_saved_by_measures": res.economy.money_in,
                        "money_lost_to_measures": res.economy.money_out,
                        "citizens_who_learned": res.consequences.learned},
            "wall_seconds": round(res.wall_seconds, 3),
            "agent_days_per_second": round(soc.n * days / max(res.wall_seconds, 1e-9)),
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "numpy": np.__version__},
        }
        manifest.update(extra or {})
        write_manifest(tmp, manifest)
        (tmp / "summary.json").write_text(json.dumps(summarize(tmp), indent=2, default=float))
    return out / run_id


def _network_measures(soc: Society, res: RunResult, cr) -> dict:
    listed = np.zeros(soc.n, bool)
    for rt in res.runtimes:
        for li, lst in enumerate(rt.cs.lists):
            if lst.kind in PUNITIVE:
                listed |= rt.ever[li]
    score = res.runtimes[0].score if res.runtimes else None
    return network_measures(res.network, soc.graph_indptr, soc.graph_indices, listed, score)


def _write_citizens(folder: Path, soc: Society, res: RunResult) -> None:
    """citizens.parquet: one row per citizen; final score, tier and lists, plus group attributes."""
    c = soc.cols
    n = soc.n
    sector_names = np.array(SECTORS)
    table: dict[str, object] = {"citizen": np.arange(n, dtype=np.int32)}
    multi = len(res.runtimes) > 1
    for i, rt in enumerate(res.runtimes):
        tier_names = np.array(rt.cs.tier_names or [""])
        suffix = f":{rt.cs.name}" if multi else ""
        if i == 0:
            table["score"] = rt.score
            table["tier"] = _labels(rt.tier, tier_names)
        if multi:
            table[f"score{suffix}"] = rt.score
            table[f"tier{suffix}"] = _labels(rt.tier, tier_names)
        if i == 0:
            table["days_bottom_tier"] = rt.days_in_bottom_tier(res.days)
            table["first_below_day"] = rt.first_below
            table["redeemed_day"] = rt.redeemed_day
            table["penalised_own"] = rt.penalised_own
            table["penalised_by_association"] = rt.penalised_assoc
        for li, lst in enumerate(rt.cs.lists):
            key = f"{rt.cs.name}:{lst.name}" if multi else lst.name
            table[f"on:{key}"] = rt.member[li]
            table[f"ever:{key}"] = rt.ever[li]
            table[f"wrongly:{key}"] = rt.ever_false[li]
    if not res.runtimes:
        table["score"] = np.full(n, np.nan)
        table["tier"] = _labels(np.zeros(n, np.int8), [""])
    st = res.behaviour_state
    for name in ("age", "sex", "region", "urban", "college", "income", "income_decile", "household",
                 "aware", "conscientiousness", "impulsivity", "civic_mindedness", "outspokenness"):
        table[name] = c[name]
    table["sex"] = _labels(c["sex"], ["female", "male"])
    table["sector_initial"] = _labels(c["sector"], sector_names)
    table["sector"] = _labels(st.sector, sector_names)
    table["degree_initial"] = np.diff(soc.graph_indptr).astype(np.int32)
    table["degree"] = res.network.degree()
    table["new_ties"] = res.network.new_degree()
    table["savings"] = res.economy.savings.astype(np.float32)
    table["income_final"] = (res.economy.monthly * 12 * np.where(st.sector == SECTORS.index("unemployed"),
                                                                 res.economy.p.unemployed_income, 1.0)
                             ).astype(np.float32)
    table["aware_final"] = st.aware
    pq.write_table(pa.table(table), folder / "citizens.parquet", compression="lz4")




def _labels(codes: np.ndarray, names) -> pa.DictionaryArray:
    """A string column stored as codes and a small dictionary (fast to write, read as strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, np.int16)), pa.array(list(names), pa.string()))
