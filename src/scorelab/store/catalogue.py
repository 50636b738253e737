"""The DuckDB catalogue of the runs in a runs directory, rebuilt from their manifests.

The manifests are the source of truth; the catalogue (`catalogue.duckdb`) is an index that
other tools can query (e.g. `SELECT * FROM runs WHERE regime = 'unified'`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from scorelab.store.runfolder import read_manifest, run_folders

CATALOGUE = "catalogue.duckdb"
COLUMNS = ("run_id", "regime", "citizens", "days", "seed", "baseline", "baseline_of", "created",
           "wall_seconds", "path")


def refresh_catalogue(runs_dir: Path) -> list[dict]:
    """Rescan the manifests and rewrite the catalogue table; return its rows, oldest first."""
    rows = []
    for folder in run_folders(runs_dir):
        m = read_manifest(folder)
        rows.append({
            "run_id": folder.name, "regime": m.get("regime", {}).get("name"),
            "citizens": m.get("society", {}).get("citizens"), "days": m.get("days"), "seed": m.get("seed"),
            "baseline": m.get("baseline"), "baseline_of": m.get("baseline_of"), "created": m.get("created"),
            "wall_seconds": m.get("wall_seconds"), "path": str(folder.resolve()),
        })
    rows.sort(key=lambda r: (r["created"] or "", r["run_id"]))
    runs_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(runs_dir / CATALOGUE))
    try:
        con.execute("CREATE OR REPLACE TABLE runs (run_id VARCHAR, regime VARCHAR, citizens BIGINT, days INTEGER, "
                    "seed BIGINT, baseline VARCHAR, baseline_of VARCHAR, created VARCHAR, wall_seconds DOUBLE, "
                    "path VARCHAR)")
        if rows:
            con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [[r[c] for c in COLUMNS] for r in rows])
    finally:
        con.close()
    return rows
