"""Whole-command speed of scorelab at several commits, side by side in one session (issue 12).

Each case is the CLI as a user types it (`scorelab run ...`, `scorelab report ...`), run in a fresh
child process with a fresh runs folder, so start-up, imports, numba's cache loading, the society,
the run, its paired baseline and the Parquet writes are all in the wall time. Peak is the largest
sum of the resident sizes of the process and its forked baseline (sampled; shared pages counted
twice, so an upper bound). Trees are interleaved round by round so that a change in the machine's
load hits every tree alike; the table gives medians and the ratio of each tree to the first.

    .venv/bin/python benchmarks/bench_speed.py --tree before=../wt/before --tree now=. --repeat 3
    .venv/bin/python benchmarks/bench_speed.py --case 1m --case 1m-nobase --repeat 3

A tree is a checkout of scorelab (its `src/` is put first on PYTHONPATH); the numba cache of each
tree is warmed by one small run before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from scorelab.cli import main; sys.argv[0] = 'scorelab'; main()"


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    report: bool = False  # time `scorelab report` of the run instead of the run


CASES = {
    "1m": Case("unified 1M x 365, with baseline", ("run", "unified", "-n", "1000000", "-d", "365", "-s", "1")),
    "1m-nobase": Case("unified 1M x 365, --no-baseline",
                      ("run", "unified", "-n", "1000000", "-d", "365", "-s", "1", "--no-baseline")),
    "100k": Case("unified 100k x 365, with baseline", ("run", "unified", "-n", "100000", "-d", "365", "-s", "1")),
    "none-100k": Case("none 100k x 365", ("run", "none", "-n", "100000", "-d", "365", "-s", "1", "--no-baseline")),
    "10m-30": Case("unified 10M x 30, --no-baseline",
                   ("run", "unified", "-n", "10000000", "-d", "30", "-s", "1", "--no-baseline")),
    "10m": Case("unified 10M x 365, --no-baseline",
                ("run", "unified", "-n", "10000000", "-d", "365", "-s", "1", "--no-baseline")),
    "report-1m": Case("report of a 1M x 365 run", ("run", "unified", "-n", "1000000", "-d", "365", "-s", "1",
                                                    "--no-baseline"), report=True),
}


def _rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")), 0)
        kids = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        return 0
    return rss + sum(_rss(k) for k in kids)


def _child(tree: Path, argv: list[str]) -> tuple[float, float]:
    """Run the CLI of `tree` with `argv`; wall seconds and peak memory in GB.

    Peak memory is the largest sum of the resident sizes of the process and its children (a
    forked baseline), sampled every 50 ms: pages the two share are counted twice, so it is an
    upper bound."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CLI, *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(argv)} failed:\n{err[-2000:]}")
    return wall, peak / 1e9


def measure(tree: Path, case: Case) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="scorelab-speed-") as tmp:
        runs = Path(tmp) / "runs"
        wall, peak = _child(tree, [*case.args, "--out", str(runs), "-q"])  # --out: older trees' spelling
        if not case.report:
            return wall, peak
        folder = next(runs.glob("*/manifest.json")).parent
        return _child(tree, ["report", str(folder), "--out", str(Path(tmp) / "r.html")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                    help="a checkout to time (default: this one, as 'now')")
    ap.add_argument("--case", action="append", choices=sorted(CASES),
                    help="cases to run (default: 1m, 1m-nobase, 100k)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree] or [("now", ROOT)]
    cases = args.case or ["1m", "1m-nobase", "100k"]
    for _, tree in trees:  # warm each tree's numba cache and imports (the report's kernels too)
        with tempfile.TemporaryDirectory() as tmp:
            _child(tree, ["run", "unified", "-n", "2000", "-d", "10", "--out", tmp, "-q", "--no-baseline"])
            if any(CASES[key].report for key in cases):
                folder = next(Path(tmp).glob("*/manifest.json")).parent
                _child(tree, ["report", str(folder), "--out", str(Path(tmp) / "r.html")])
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for rnd in range(args.repeat):
        for key in cases:
            for name, tree in trees:
                wall, peak = measure(tree, CASES[key])
                results.setdefault((key, name), []).append((wall, peak))
                print(f"round {rnd + 1} {key:10s} {name:10s} {wall:7.2f} s {peak:5.2f} GB", flush=True)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load {os.getloadavg()[0]:.1f}; {args.repeat} rounds\n")
    print("| case | " + " | ".join(f"{n} wall s (median) | {n} peak GB" for n, _ in trees)
          + (" | ratio " + "/".join(n for n, _ in trees[1:]) + f" : {trees[0][0]}" if len(trees) > 1 else "") + " |")
    print("|---" * (1 + 2 * len(trees) + (len(trees) > 1)) + "|")
    for key in cases:
        meds = [statistics.median(w for w, _ in results[(key, n)]) for n, _ in trees]
        peaks = [max(p for _, p in results[(key, n)]) for n, _ in trees]
        cells = " | ".join(f"{m:.2f} ({', '.join(f'{w:.1f}' for w, _ in results[(key, n)])}) | {p:.2f}"
                           for m, p, (n, _) in zip(meds, peaks, trees, strict=True))
        ratio = " | " + ", ".join(f"{m / meds[0]:.2f}" for m in meds[1:]) if len(trees) > 1 else ""
        print(f"| {CASES[key].name} | {cells}{ratio} |")


if __name__ == "__main__":
    main()
