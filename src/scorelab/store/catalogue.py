"""The DuckDB catalogue of the runs in a runs folder, rebuilt from their manifests and summaries.

The manifests are the source of truth; the catalogue (`catalogue.duckdb`) is an index that other
tools query, e.g. to rank runs: `SELECT run_id, wrongful_sanction_share FROM runs ORDER BY 2 DESC`.
It holds three kinds of table:

- `runs`: one row per run, what was run and its headline measures (HEADLINE);
- `measures`: one row per run and numeric summary key (`run_id`, `measure`, `value`), every key of
  docs/METRICS.md that is a number, flattened with dots (`network.collateral_share`);
- `sets`: one row per replication set (store/sets.py, when present: its `list_sets`), with the
  means of its runs' headline measures;
- tables contributed by other modules (EXTENSIONS): a module listed there may define
  `catalogue_tables(runs_dir) -> {name: (columns, rows)}` with columns as {name: DuckDB type}.

A refresh builds a new file beside the old one and renames it into place, so a reader never sees
a half-written catalogue and a crash leaves the old one; a catalogue that another process holds
open (locked) is simply replaced. Damaged run folders are skipped and reported, never fatal.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.store.faults import crash_point
from scorelab.store.runfolder import read_manifest, run_folders

CATALOGUE = "catalogue.duckdb"
TMP_PREFIX = ".catalogue-"
EXTENSIONS = ("scorelab.store.sets",)  # modules that may add tables (imported if present)

RUN_COLUMNS = {
    "run_id": "VARCHAR", "regime": "VARCHAR", "citizens": "BIGINT", "days": "INTEGER", "seed": "BIGINT",
    "baseline": "VARCHAR", "baseline_of": "VARCHAR", "created": "VARCHAR", "wall_seconds": "DOUBLE",
    "path": "VARCHAR", "regime_sha256": "VARCHAR", "request_key": "VARCHAR",
}
# headline measures: summary keys (docs/METRICS.md), sums of per-measure rates, or the share of
# citizens ever on a punitive list
HEADLINE = {
    "sanctions_total": "BIGINT", "sanctions_per_1000": "DOUBLE", "wrongful_sanction_share": "DOUBLE",
    "listed_share": "DOUBLE", "wrongly_listed_share": "DOUBLE", "antisocial_change": "DOUBLE",
    "expression_change": "DOUBLE", "collateral_share": "DOUBLE", "rewards_per_1000": "DOUBLE",
    "mean_score": "DOUBLE",
}
MEASURE_COLUMNS = {"run_id": "VARCHAR", "measure": "VARCHAR", "value": "DOUBLE"}
SET_COLUMNS = {"set_id": "VARCHAR", "regime": "VARCHAR", "citizens": "BIGINT", "days": "INTEGER",
               "replications": "INTEGER", "seeds": "VARCHAR", "runs": "VARCHAR", "runs_found": "INTEGER",
               "created": "VARCHAR", "path": "VARCHAR"}
_SKIP_MEASURES = ("by_group", "mobility")  # tables of their own in the summary, not single measures


@dataclass
class Scan:
    """What a runs folder holds: a row per readable run, and the damaged folders with the reason."""

    rows: list[dict] = field(default_factory=list)
    measures: list[dict] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)   # (folder, message)


def scan_runs(runs_dir: Path) -> Scan:
    """Read every run folder's manifest and summary; skip (and report) the damaged ones."""
    scan = Scan()
    for folder in run_folders(Path(runs_dir)):
        try:
            m = read_manifest(folder)
        except ScorelabError as exc:
            scan.damaged.append((folder.name, str(exc)))
            continue
        regime = m["regime"]
        row = {
            "run_id": folder.name, "regime": regime.get("name"), "citizens": _int(m["society"].get("citizens")),
            "days": _int(m.get("days"), 2**31), "seed": _int(m.get("seed")), "baseline": m.get("baseline"),
            "baseline_of": m.get("baseline_of"), "created": _text(m.get("created")),
            "wall_seconds": _number(m.get("wall_seconds")), "path": str(folder.resolve()),
            "regime_sha256": _text(regime.get("sha256")), "request_key": _text(m.get("request_key")),
        }
        summary, problem = _read_summary(folder)
        if problem:
            scan.damaged.append((folder.name, problem))
        row.update(headline(summary, m))
        scan.rows.append(row)
        scan.measures.extend({"run_id": folder.name, "measure": k, "value": v} for k, v in flat_measures(summary))
    scan.rows.sort(key=lambda r: (r["created"] or "", r["run_id"]))
    return scan


def refresh_catalogue(runs_dir: Path) -> list[dict]:
    """Rescan the run folders and replace the catalogue; return its rows, oldest first."""
    return refresh(runs_dir).rows


def refresh(runs_dir: Path) -> Scan:
    """Rescan and replace the catalogue (atomically); a folder that cannot be written is left as it is.

    A run published while we scanned would be missing from what we write, so the scan is repeated
    (a few times at most) until the folder's runs are the ones written.
    """
    runs_dir = Path(runs_dir)
    for _ in range(3):
        before = _run_names(runs_dir)
        scan = scan_runs(runs_dir)
        if not runs_dir.is_dir():
            return scan
        try:
            write_catalogue(runs_dir, scan)
        except (OSError, ScorelabError):
            return scan  # a read-only folder: the listing still works
        if _run_names(runs_dir) == before:
            break
    return scan


def write_catalogue(runs_dir: Path, scan: Scan) -> Path:
    """Build the catalogue in a new file, then rename it over the old one."""
    import duckdb

    target = runs_dir / CATALOGUE
    tmp = runs_dir / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.duckdb"
    try:
        con = duckdb.connect(str(tmp))
        try:
            fill(con, scan, runs_dir)
        finally:
            con.close()
        crash_point("catalogue")
        Path(f"{target}.wal").unlink(missing_ok=True)  # a log of the old file must not replay onto the new
        os.replace(tmp, target)
    except duckdb.Error as exc:
        raise ScorelabError(f"cannot write the catalogue: {str(exc).splitlines()[0]}", path=str(target)) from None
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def fill(con, scan: Scan, runs_dir: Path) -> None:
    """Create and fill the catalogue's tables on a DuckDB connection."""
    _table(con, "runs", {**RUN_COLUMNS, **HEADLINE}, scan.rows)
    _table(con, "measures", MEASURE_COLUMNS, scan.measures)
    for name, (columns, rows) in _extension_tables(runs_dir, scan).items():
        _table(con, name, columns, rows)


def open_catalogue(runs_dir: Path):
    """A read-only DuckDB connection to a fresh catalogue of the folder's runs.

    If the file cannot be replaced (a read-only folder) or opened (damaged, or locked by another
    process), the catalogue is built in memory from the manifests instead.
    """
    import duckdb

    runs_dir = Path(runs_dir)
    scan = refresh(runs_dir)
    try:
        return duckdb.connect(str(runs_dir / CATALOGUE), read_only=True), scan
    except duckdb.Error:
        con = duckdb.connect()
        fill(con, scan, runs_dir)
        return con, scan


def headline(summary: dict | None, manifest: dict) -> dict:
    """The headline measures of a run from its summary (None where it has none)."""
    s = summary or {}
    out = {k: None for k in HEADLINE}
    for k in ("sanctions_total", "wrongful_sanction_share", "wrongly_listed_share", "antisocial_change",
              "expression_change", "mean_score"):
        out[k] = _number(s.get(k))
    for k in ("sanctions_per_1000", "rewards_per_1000"):
        rates = s.get(k)
        if isinstance(rates, dict):
            out[k] = _number(sum(v for v in rates.values() if _number(v) is not None))
    network = s.get("network")
    if isinstance(network, dict):
        out["collateral_share"] = _number(network.get("collateral_share"))
    out["listed_share"] = _punitive_listed_share(s, manifest)
    if out["sanctions_total"] is not None:
        out["sanctions_total"] = int(out["sanctions_total"])
    return out


def _punitive_listed_share(s: dict, manifest: dict) -> float | None:
    """Share of citizens ever on a punitive list: from the income-decile groups (which cover
    everyone), else the largest punitive list's share."""
    try:
        groups = s["by_group"]["groups"]["income_decile"].values()
        n = sum(g["citizens"] for g in groups)
        if n:
            return float(sum(g["citizens"] * g["listed_share"] for g in groups) / n)
    except (KeyError, TypeError, AttributeError, ValueError):
        pass
    listed = s.get("listed_share")
    punitive = {str(p).split(":")[-1] for p in manifest.get("punitive_lists") or []}
    if isinstance(listed, dict):
        shares = [_number(v) for k, v in listed.items() if k.split(":")[-1] in punitive]
        shares = [v for v in shares if v is not None]
        return max(shares) if shares else (0.0 if listed else None)
    return None


def flat_measures(summary: dict | None, prefix: str = ""):
    """(dotted key, value) for every number in a summary, except its group and mobility tables."""
    if not isinstance(summary, dict):
        return
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if key in _SKIP_MEASURES:
            continue
        if isinstance(v, dict):
            yield from flat_measures(v, key + ".")
        elif _number(v) is not None:
            yield key, float(v)


def _read_summary(folder: Path) -> tuple[dict | None, str | None]:
    path = folder / "summary.json"
    try:
        s = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, RecursionError):
        return None, f"{path}: damaged summary.json (`scorelab summary` recomputes it)"
    if not isinstance(s, dict):
        return None, f"{path}: damaged summary.json (`scorelab summary` recomputes it)"
    return s, None


def _extension_tables(runs_dir: Path, scan: Scan) -> dict:
    tables = {}
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        build = getattr(module, "catalogue_tables", None)
        if build is not None:
            tables.update(build(runs_dir))
        elif hasattr(module, "list_sets"):
            means = {k: "DOUBLE" for k in HEADLINE}
            tables["sets"] = ({**SET_COLUMNS, **means}, _set_rows(module.list_sets, runs_dir, scan))
    return tables


def _set_rows(list_sets, runs_dir: Path, scan: Scan) -> list[dict]:
    """A row per replication set: what it is, and the means of its runs' headline measures."""
    try:
        sets = list_sets(runs_dir)
    except (ScorelabError, OSError, ValueError, KeyError, TypeError) as exc:
        scan.damaged.append(("sets", f"replication sets not catalogued: {exc}"))
        return []
    by_id = {r["run_id"]: r for r in scan.rows}
    rows = []
    for s in sets:
        runs = [by_id[r] for r in s.get("runs") or [] if r in by_id]
        row = {"set_id": s.get("set_id"), "regime": _text(s.get("regime")), "citizens": _int(s.get("citizens")),
               "days": _int(s.get("days"), 2**31), "replications": _int(s.get("replications"), 2**31),
               "seeds": json.dumps(s.get("seeds")), "runs": json.dumps(s.get("runs")), "runs_found": len(runs),
               "created": _text(s.get("created")), "path": _text(s.get("path"))}
        for k in HEADLINE:
            values = [r[k] for r in runs if r.get(k) is not None]
            row[k] = sum(values) / len(values) if values else None
        rows.append(row)
    return rows


def _table(con, name: str, columns: dict[str, str], rows: list[dict]) -> None:
    import pyarrow as pa

    types = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(),
             "BOOLEAN": pa.bool_()}
    schema = pa.schema([(c, types[t]) for c, t in columns.items()])
    data = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=schema)
    con.register("_rows", data)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _rows')
    finally:
        con.unregister("_rows")


def _run_names(runs_dir: Path) -> list[str]:
    return [p.name for p in run_folders(runs_dir)]


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _int(v, limit: int = 2**63) -> int | None:
    """An integer that fits the column (a seed of 2**63 written by an older version does not)."""
    return v if isinstance(v, int) and not isinstance(v, bool) and -limit <= v < limit else None


def _text(v) -> str | None:
    return v if isinstance(v, str) else None
