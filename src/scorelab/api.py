"""The Python API; the command line (scorelab.cli) is a thin layer over these functions.

Reading runs (summary, explain, stories) stays light; making runs loads the engine
(scorelab.engine.runs) only when called.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scorelab.regime.loader import load_regime
from scorelab.store.catalogue import refresh_catalogue
from scorelab.store.runfolder import read_manifest, resolve_run

if TYPE_CHECKING:
    from scorelab.society.model import Society

DEFAULT_RUNS = Path("runs")

__all__ = ["build_society", "describe_run", "explain", "list_runs", "list_sets", "load_regime", "run", "stories",
           "summary"]


def build_society(citizens: int, seed: int = 0, **spec) -> Society:
    """Draw a society: `citizens` rows from the census marginals (see SocietySpec)."""
    from scorelab.engine import runs

    return runs.build_society(citizens, seed, **spec)


def run(regime: str | Path, citizens: int = 100_000, days: int = 365, seed: int = 0,
        baseline: str | None = "none", out: str | Path = DEFAULT_RUNS, society: str | Path | Society | None = None,
        ledger_cohort: float | None = None, events: str = "notable",
        progress: Callable[[str, int, int], None] | None = None, replications: int | None = None) -> Path:
    """Run a regime (and its paired baseline) and return the new run folder.

    The baseline, when given, runs on the same society with the same seed (common random
    numbers), so the difference between the two runs is the regime's effect.

    With `replications=N`, runs seeds seed..seed+N-1 (each with its paired baseline) on one shared
    society (drawn with `seed`, or the one given) and returns the replication set's folder
    (store/sets.py; `summary(set)` gives every measure with its 95% interval).
    """
    from scorelab.engine import runs

    if replications is not None:
        return _replications(regime, citizens, days, seed, baseline, Path(out), society, ledger_cohort, events,
                             progress, replications)
    return runs.run(regime, citizens=citizens, days=days, seed=seed, baseline=baseline, out=out, society=society,
                    ledger_cohort=ledger_cohort, events=events, progress=progress)


def _replications(regime, citizens, days, seed, baseline, out: Path, society, ledger_cohort, events, progress,
                  replications: int) -> Path:
    """N runs sharing one society draw: the runs differ in their seeds only (docs/METRICS.md, sets)."""
    from scorelab.engine import runs
    from scorelab.errors import ScorelabError, check_positive_int
    from scorelab.society.model import Society, load_society
    from scorelab.store.sets import write_set

    check_positive_int(replications, "replications", maximum=1000)
    if not isinstance(seed, int) or seed < 0:
        raise ScorelabError(f"got {seed!r}", key="seed", allowed="a whole number from 0 up")
    load_regime(regime)  # a bad regime fails before a society is drawn
    if isinstance(society, Society):
        soc = society
    elif society is not None:
        soc = load_society(society)
    else:
        soc = runs.build_society(citizens, seed)
    ids = [runs.run(regime, citizens=soc.n, days=days, seed=seed + i, baseline=baseline, out=out, society=soc,
                    ledger_cohort=ledger_cohort, events=events, progress=progress).name for i in range(replications)]
    return write_set(out, ids, society_shared=True)


def list_runs(out: str | Path = DEFAULT_RUNS) -> list[dict]:
    return refresh_catalogue(Path(out))


def list_sets(out: str | Path = DEFAULT_RUNS) -> list[dict]:
    """The replication sets in a runs directory (store/sets.py)."""
    from scorelab.store.sets import list_sets as _list_sets

    return _list_sets(Path(out))


def summary(run: str | Path, out: str | Path = DEFAULT_RUNS) -> dict:
    """A run's summary, or a replication set's (every measure with its 95% interval)."""
    from scorelab.store.sets import read_set_summary, resolve_set

    found = resolve_set(run, Path(out))
    if found is not None:
        return read_set_summary(found)
    folder = resolve_run(run, Path(out))
    cached = folder / "summary.json"
    if cached.exists():
        return json.loads(cached.read_text())
    from scorelab.metrics.summary import summarize

    return summarize(folder)


def describe_run(run: str | Path, out: str | Path = DEFAULT_RUNS) -> dict:
    return read_manifest(resolve_run(run, Path(out)))


def explain(run: str | Path, citizen: int, out: str | Path = DEFAULT_RUNS) -> dict:
    """One citizen's timeline and plain-language account (scorelab.ledger.explain)."""
    from scorelab.ledger.explain import explain as _explain

    return _explain(resolve_run(run, Path(out)), citizen)


def stories(run: str | Path, out: str | Path = DEFAULT_RUNS) -> list[dict]:
    """Illustrative citizens by criterion, each explained (scorelab.ledger.stories)."""
    from scorelab.ledger.stories import stories as _stories

    return _stories(resolve_run(run, Path(out)))
