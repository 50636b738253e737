"""The example script runs as the README and the tutorial say: the Python API with pandas, polars, DuckDB
and plots, on 5,000 citizens x 60 days, end to end in a fresh folder."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_api_example_runs(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "python_api.py"), "--citizens", "5000",
                           "--days", "60", "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr[-3000:]
    for name in ("benefit_and_chilling.html", "listed_by_age.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert "plotly-graph-div" in page and "Plotly.newPlot" in page
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["regime"] for r in rows] == ["unified", "fragmented"]
    assert int(rows[0]["sanctions"]) > 0
    for must in ("sanctions by measure", "ever on a punitive list by age band", "the rules behind most score changes",
                 "citizen "):
        assert must in done.stdout
