"""Issues 12 and 13: runs are bit-for-bit identical across thread settings and whether the paired
baseline is made beside the run (a forked process) or after it (same seed, same bits, whatever
the threads). Summary floats used to change in the 15th digit with OPENBLAS_NUM_THREADS=1: a BLAS dot
product (threaded) in the network measures; DuckDB's parallel float sums were another such reduction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from scorelab.engine.forked import CONCURRENT_ENV

TIMING = ("wall_seconds", "agent_days_per_second")
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def run_with(env: dict, runs: Path, *extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ONE_THREAD and k != CONCURRENT_ENV}
    proc = subprocess.run([sys.executable, "-c", "from scorelab.cli import main; main()", "run", "unified",
                           "-n", "20000", "-d", "20", "-s", "3", *(extra or ("--no-baseline",)), "--runs", str(runs),
                           "-q"], capture_output=True, text=True, env={**base, **env}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip())
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in TIMING:
        summary.pop(key), manifest.pop(key)
    manifest.pop("created")
    return {"summary": summary, "manifest": manifest, "folder": folder}


def test_summary_identical_with_one_thread_and_with_all(tmp_path):
    one = run_with(ONE_THREAD, tmp_path / "one")
    default = run_with({}, tmp_path / "all")
    # compared as JSON text: every float to its last bit
    assert json.dumps(one["manifest"]["network"]) == json.dumps(default["manifest"]["network"])
    assert json.dumps(one["summary"], sort_keys=True) == json.dumps(default["summary"], sort_keys=True)
    assert json.dumps(one["manifest"], sort_keys=True) == json.dumps(default["manifest"], sort_keys=True)


def test_baseline_made_beside_the_run_gives_the_same_bits(tmp_path):
    """issue 12: the baseline made in a forked process at the same time as the run (the default) writes
    the same tables, and the run the same summary, as the baseline made after the run in one thread."""
    beside = run_with({}, tmp_path / "beside", "--baseline", "none")
    after = run_with({**ONE_THREAD, CONCURRENT_ENV: "0"}, tmp_path / "after", "--baseline", "none")
    assert json.dumps(beside["summary"], sort_keys=True) == json.dumps(after["summary"], sort_keys=True)
    assert beside["summary"]["behaviour_change"]  # the summary did read the baseline
    for folder in (beside["folder"], beside["folder"].parent / f"{beside['folder'].name}--baseline-none"):
        other = tmp_path / "after" / folder.name
        tables = sorted(p.name for p in folder.glob("*.parquet"))
        assert tables and tables == sorted(p.name for p in other.glob("*.parquet"))
        for name in tables:
            # pandas' equals holds NaN equal to NaN (a baseline without scorers has NaN scores)
            assert pq.read_table(folder / name).to_pandas().equals(pq.read_table(other / name).to_pandas()), name
