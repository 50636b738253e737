"""Issue 13: summaries are bit-for-bit identical across thread settings (same seed, same bits, whatever
the threads). Summary floats used to change in the 15th digit with OPENBLAS_NUM_THREADS=1: a BLAS dot
product (threaded) in the network measures; DuckDB's parallel float sums were another such reduction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TIMING = ("wall_seconds", "agent_days_per_second")
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def run_with(env: dict, runs: Path) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}
    proc = subprocess.run([sys.executable, "-c", "from scorelab.cli import main; main()", "run", "unified",
                           "-n", "20000", "-d", "20", "-s", "3", "--no-baseline", "--runs", str(runs), "-q"],
                          capture_output=True, text=True, env={**base, **env}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip())
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in TIMING:
        summary.pop(key), manifest.pop(key)
    manifest.pop("created")
    return {"summary": summary, "manifest": manifest}


def test_summary_identical_with_one_thread_and_with_all(tmp_path):
    one = run_with(ONE_THREAD, tmp_path / "one")
    default = run_with({}, tmp_path / "all")
    # compared as JSON text: every float to its last bit
    assert json.dumps(one["manifest"]["network"]) == json.dumps(default["manifest"]["network"])
    assert json.dumps(one["summary"], sort_keys=True) == json.dumps(default["summary"], sort_keys=True)
    assert json.dumps(one["manifest"], sort_keys=True) == json.dumps(default["manifest"], sort_keys=True)
