"""The DuckDB catalogue of the experiments in a folder, rebuilt from their experiment.json files.

Like the runs' catalogue (scorelab.store.catalogue), the folders are the truth and
`experiments.duckdb` an index: `SELECT name, runs, status FROM experiments`.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

CATALOGUE = "experiments.duckdb"
COLUMNS = {"name": "VARCHAR", "description": "VARCHAR", "regimes": "VARCHAR", "method": "VARCHAR",
           "parameters": "VARCHAR", "outcomes": "VARCHAR", "points": "BIGINT", "replications": "BIGINT",
           "runs": "BIGINT", "citizens": "BIGINT", "days": "INTEGER", "seed": "BIGINT", "status": "VARCHAR",
           "created": "VARCHAR", "finished": "VARCHAR", "path": "VARCHAR"}


def experiment_folders(out: Path) -> list[Path]:
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and (p / "experiment.json").is_file())


def list_experiments(out: str | Path) -> list[dict]:
    """The experiments under `out`, oldest first (what `scorelab experiments` and the dashboard list)."""
    rows = []
    for folder in experiment_folders(Path(out)):
        try:
            m = json.loads((folder / "experiment.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue  # being written; the next refresh sees it
        rows.append({
            "name": m.get("name", folder.name), "description": m.get("description", ""),
            "regimes": ", ".join(m.get("regimes", [])), "method": m.get("sampler", {}).get("method"),
            "parameters": ", ".join(p["path"] if isinstance(p, dict) else p for p in m.get("parameters", [])),
            "outcomes": ", ".join(m.get("outcomes", [])),
            "points": m.get("points"), "replications": m.get("replications"), "runs": m.get("runs"),
            "citizens": m.get("citizens"), "days": m.get("days"), "seed": m.get("seed"),
            "status": m.get("status"), "created": m.get("created"), "finished": m.get("finished"),
            "path": str(folder.resolve()),
        })
    rows.sort(key=lambda r: (r["created"] or "", r["name"]))
    return rows


def refresh_experiments(out: str | Path) -> list[dict]:
    """Rescan the experiment folders and rewrite the catalogue table; return its rows."""
    rows = list_experiments(out)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(out / CATALOGUE))
    try:
        con.execute(f"CREATE OR REPLACE TABLE experiments ({', '.join(f'{k} {t}' for k, t in COLUMNS.items())})")
        if rows:
            con.executemany(f"INSERT INTO experiments VALUES ({', '.join('?' * len(COLUMNS))})",
                            [[r[c] for c in COLUMNS] for r in rows])
    finally:
        con.close()
    return rows
