"""Where a small run's fixed cost goes (issue 12: experiments run many small runs): the interpreter,
the imports, the first run in a process (numba's cached kernels loaded, lazy imports) against a second
one, and the daily loop's cost per day at a size where it is nearly all overhead.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5]

Each measurement is a fresh child process (numba's cache on disk warmed by one run first); medians.
Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = {
    "interpreter": "pass",
    "import the CLI": "import scorelab.cli",
    "import what a run needs": "import scorelab.cli, scorelab.api, scorelab.engine.runs",
}

IN_PROCESS = """
import json, sys, tempfile, time
t0 = time.perf_counter()
from scorelab import api
out = {"import api": time.perf_counter() - t0}
with tempfile.TemporaryDirectory() as tmp:
    for key, n, d in [("first run 1,000 x 1", 1000, 1), ("second run 1,000 x 1", 1000, 1),
                      ("run 1,000 x 365", 1000, 365)]:
        t = time.perf_counter()
        api.run("unified", citizens=n, days=d, seed=1, baseline=None, runs=tmp + "/runs", force=True)
        out[key] = time.perf_counter() - t
print(json.dumps(out))
"""


def _wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t


def _cli_run(days: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from scorelab.cli import main; sys.argv[0] = 'scorelab'; "
                        "main()", "run", "unified", "-n", "1000", "-d", str(days), "-s", "1", "--runs", tmp,
                        "--no-baseline", "-q"], check=True, capture_output=True)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    _cli_run(1)  # numba's cache on disk, Python's bytecode where it is written
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, code in STEPS.items():
            rows.setdefault(f"{name}: `python -c '{code}'`", []).append(_wall(code))
        rows.setdefault("`scorelab run unified -n 1000 -d 1 --no-baseline` (whole command)", []).append(_cli_run(1))
        rows.setdefault("`scorelab run unified -n 1000 -d 365 --no-baseline` (whole command)", []).append(_cli_run(365))
        done = subprocess.run([sys.executable, "-c", IN_PROCESS], check=True, capture_output=True, text=True)
        for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
            rows.setdefault(f"in one process: {key}", []).append(value)
    print(f"| step | median s ({args.repeat} runs) | runs |")
    print("|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
