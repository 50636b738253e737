"""The Python API; the command line (scorelab.cli) is a thin layer over these functions.

Reading runs (summary, explain, stories) stays light; making runs loads the engine
(scorelab.engine.runs) only when called. `runs` is the runs folder everywhere (`out`, its
old name, still works for one release with a DeprecationWarning).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from scorelab.errors import ScorelabError
from scorelab.regime.loader import load_regime
from scorelab.store.catalogue import HEADLINE, RUN_COLUMNS, Scan, open_catalogue, refresh
from scorelab.store.runfolder import read_manifest, resolve_run, write_json_atomic
from scorelab.store.writing import clean_stale

if TYPE_CHECKING:
    from scorelab.society.model import Society

DEFAULT_RUNS = Path("runs")

__all__ = ["analyse_experiment", "build_society", "catalogue", "describe_run", "experiment", "explain",
           "list_experiments", "list_runs", "list_sets", "load_regime", "run", "scan_runs", "stories", "summary"]


def build_society(citizens: int, seed: int = 0, **spec) -> Society:
    """Draw a society: `citizens` rows from the census marginals (see SocietySpec), or from a world's
    (`world="us2020"` or a world file; docs/WORLD.md)."""
    from scorelab.engine import runs

    return runs.build_society(citizens, seed, **spec)


def run(regime: str | Path, citizens: int = 100_000, days: int = 365, seed: int | None = None,
        baseline: str | None = "none", runs: str | Path = DEFAULT_RUNS, society: str | Path | Society | None = None,
        ledger_cohort: float | None = None, events: str = "notable",
        progress: Callable[[str, int, int], None] | None = None, *, force: bool = False,
        notify: Callable[[str], None] | None = None, out: str | Path | None = None,
        replications: int | None = None, overrides: Mapping[str, object] | None = None,
        world: str | Path | None = None) -> Path:
    """Run a regime (and its paired baseline) into the runs folder and return the run's folder.

    The baseline, when given, runs on the same society with the same seed (common random
    numbers), so the difference between the two runs is the regime's effect. `seed` defaults to
    the society's own seed (0 for a new society). An identical run already in the folder (same
    regime text, society, seed, days, baseline and options) is returned instead of running again,
    and `notify` is told so; `force=True` makes a new one.

    `overrides` is a reform, {path: value}: `{"scorers.state.channels.cameras.misattribution": 0.01,
    "society.mean_degree": 12}` (paths in scorelab.reform and docs/EXPERIMENTS.md); the run id and
    manifest record it, and the run folder's regime.yaml is the effective regime.

    `world` is the world the run happens in (a preset, `census2020` or `us2020`, or a world file;
    docs/WORLD.md): a new society is drawn from its marginals, and its event rates, behaviour,
    deterrence defaults and economy apply. The run folder keeps it as world.yaml.

    With `replications=N`, runs seeds seed..seed+N-1 (each with its paired baseline) on one shared
    society (drawn with `seed`, or the one given) and returns the replication set's folder
    (store/sets.py; `summary(set)` gives every measure with its 95% interval).
    """
    from scorelab.engine import runs as engine

    folder = _runs(runs, out)
    if replications is not None:
        return _replications(regime, citizens, days, seed, baseline, folder, society, ledger_cohort, events,
                             progress, replications, force, notify, overrides, world)
    return engine.run(regime, citizens=citizens, days=days, seed=seed, baseline=baseline, out=folder,
                      society=society, ledger_cohort=ledger_cohort, events=events, progress=progress, force=force,
                      notify=notify, overrides=overrides, world=world)


def _replications(regime, citizens, days, seed, baseline, out: Path, society, ledger_cohort, events, progress,
                  replications: int, force: bool, notify, overrides=None, world=None) -> Path:
    """N runs sharing one society draw: the runs differ in their seeds only (docs/METRICS.md, sets)."""
    from scorelab.engine import runs as engine
    from scorelab.errors import check_positive_int
    from scorelab.society.model import Society, load_society
    from scorelab.store.sets import write_set

    check_positive_int(replications, "replications", maximum=1000)
    load_regime(regime)  # a bad regime fails before a society is drawn
    if isinstance(society, Society):
        soc = society
    elif society is not None:
        soc = load_society(society)
    else:
        soc = engine.build_society(citizens, 0 if seed is None else seed, world=world)
    first = soc.spec.seed if seed is None else seed
    ids = [engine.run(regime, citizens=soc.n, days=days, seed=first + i, baseline=baseline, out=out, society=soc,
                      ledger_cohort=ledger_cohort, events=events, progress=progress, force=force,
                      notify=notify, overrides=overrides, world=world).name for i in range(replications)]
    return write_set(out, ids, society_shared=True)


def list_runs(runs: str | Path = DEFAULT_RUNS, *, out: str | Path | None = None) -> list[dict]:
    """The runs in the folder with their headline measures (the catalogue's `runs` table), oldest first."""
    folder = _runs(runs, out)
    clean_stale(folder)
    return refresh(folder).rows


def scan_runs(runs: str | Path = DEFAULT_RUNS, sort: str | None = None) -> Scan:
    """The runs (with headline measures) and the damaged folders, after cleaning up after crashed
    writers; `sort` ranks the runs by a column of the catalogue (highest first) with DuckDB."""
    folder = _runs(runs, None)
    if folder.exists() and not folder.is_dir():
        raise ScorelabError("is a file, not a runs folder", path=str(folder), key="runs",
                            allowed="a folder of runs written by `scorelab run`")
    clean_stale(folder)
    if sort is None:
        return refresh(folder)
    columns = {**RUN_COLUMNS, **HEADLINE}
    if sort not in columns:
        raise ScorelabError(f"unknown column '{sort}'", key="--sort", allowed=", ".join(columns))
    con, scan = open_catalogue(folder)
    try:
        order = [r[0] for r in con.execute(f'SELECT run_id FROM runs ORDER BY "{sort}" DESC NULLS LAST, run_id')
                 .fetchall()]
    finally:
        con.close()
    by_id = {r["run_id"]: r for r in scan.rows}
    scan.rows = [by_id[i] for i in order if i in by_id]
    return scan


def catalogue(runs: str | Path = DEFAULT_RUNS):
    """A read-only DuckDB connection to the folder's catalogue (tables `runs` and `measures`)."""
    return open_catalogue(_runs(runs, None))[0]


def list_sets(runs: str | Path = DEFAULT_RUNS) -> list[dict]:
    """The replication sets in a runs folder (store/sets.py)."""
    from scorelab.store.sets import list_sets as _list_sets

    return _list_sets(_runs(runs, None))


def summary(run: str | Path, runs: str | Path = DEFAULT_RUNS, *, out: str | Path | None = None) -> dict:
    """A run's headline measures (keys in docs/METRICS.md): its summary.json, remade if damaged; or a
    replication set's, every measure with its 95% interval."""
    from scorelab.store.sets import read_set_summary, resolve_set

    found = resolve_set(run, _runs(runs, out))
    if found is not None:
        return read_set_summary(found)
    folder = resolve_run(run, _runs(runs, out))
    cached = folder / "summary.json"
    try:
        s = json.loads(cached.read_bytes())
        if isinstance(s, dict):
            return s
    except FileNotFoundError:
        pass
    except (OSError, ValueError, RecursionError):
        pass  # damaged: remade from the tables below
    from scorelab.metrics.summary import summarize

    with damaged_run(folder):
        s = summarize(folder)
    try:
        write_json_atomic(cached, s)
    except OSError:
        pass  # a read-only folder: the summary is still answered
    return s


def describe_run(run: str | Path, runs: str | Path = DEFAULT_RUNS, *, out: str | Path | None = None) -> dict:
    return read_manifest(resolve_run(run, _runs(runs, out)))


def explain(run: str | Path, citizen: int, runs: str | Path = DEFAULT_RUNS, *, out: str | Path | None = None
            ) -> dict:
    """One citizen's timeline and plain-language account (scorelab.ledger.explain)."""
    from scorelab.ledger.explain import explain as _explain

    folder = resolve_run(run, _runs(runs, out))
    with damaged_run(folder):
        return _explain(folder, citizen)


def stories(run: str | Path, runs: str | Path = DEFAULT_RUNS, *, out: str | Path | None = None) -> list[dict]:
    """Illustrative citizens by criterion, each explained (scorelab.ledger.stories)."""
    from scorelab.ledger.stories import stories as _stories

    folder = resolve_run(run, _runs(runs, out))
    with damaged_run(folder):
        return _stories(folder)


DEFAULT_EXPERIMENTS = Path("experiments")


def experiment(file: str | Path, out: str | Path = DEFAULT_EXPERIMENTS, executor: str = "local",
               workers: int | None = None, address: str | None = None, keep_runs: bool = False,
               progress: Callable[[str, int, int, int], None] | None = None) -> Path:
    """Run (or resume) an experiment file (docs/EXPERIMENTS.md); returns `out/<name>/` with results.parquet.

    `progress(stage, done, failed, total)` is called as runs finish (stage: baselines, runs).
    """
    from scorelab.experiments import run_experiment

    return run_experiment(file, out, executor=executor, workers=workers, address=address, keep_runs=keep_runs,
                          progress=progress)


def analyse_experiment(folder: str | Path, where: str | None = None) -> dict:
    """Per-point means with 95% intervals, SALib indices and PRIM boxes (`where`: "outcome > 0.01")."""
    from scorelab.experiments import analyse

    return analyse(folder, where=where)


def list_experiments(out: str | Path = DEFAULT_EXPERIMENTS) -> list[dict]:
    """The experiments under `out` (and their DuckDB catalogue, experiments.duckdb)."""
    from scorelab.experiments import refresh_experiments

    return refresh_experiments(Path(out)) if Path(out).is_dir() else []


@contextmanager
def damaged_run(folder: Path):
    """A table that cannot be read (truncated, not Parquet, missing) as one clear error naming the run."""
    try:
        yield
    except ScorelabError:
        raise
    except Exception as exc:
        if not _is_data_error(exc):
            raise
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ScorelabError(f"damaged run folder: {detail}", path=str(folder),
                            allowed="a run folder written by `scorelab run`; run it again") from None


def _is_data_error(exc: Exception) -> bool:
    """Errors of reading files: OS errors, DuckDB's and Arrow's (known by module: both are imported lazily)."""
    modules = {(k.__module__ or "").lstrip("_").split(".")[0] for k in type(exc).__mro__}
    return isinstance(exc, OSError | KeyError | ValueError | IndexError) or bool(modules & {"duckdb", "pyarrow"})


def _runs(runs: str | Path | None, out: str | Path | None) -> Path:
    if out is not None:
        warnings.warn("`out` as the runs folder is deprecated; use `runs`", DeprecationWarning, stacklevel=3)
        if runs is not None and Path(runs) != DEFAULT_RUNS and Path(runs) != Path(out):
            raise ScorelabError(f"`runs` ({runs}) and `out` ({out}) name different folders", key="runs",
                                allowed="one runs folder, given as `runs`")
        return Path(out)
    return Path(runs if runs is not None else DEFAULT_RUNS)
