"""Engine benchmark: wall time, peak memory and agent-days per second of whole runs.

Each case runs in a fresh child process (so peak RSS is the run's own) and times three
parts: drawing the society, the daily loop with its Parquet writes, and the whole
`api.run` (society + loop + citizens table + manifest + summary), without baseline.

    .venv/bin/python benchmarks/bench_engine.py                       # 1M x 365 unified
    .venv/bin/python benchmarks/bench_engine.py --citizens 10000000 --days 30
    .venv/bin/python benchmarks/bench_engine.py --record              # append to RESULTS.md

Budget (issue 2): unified with association, 1,000,000 x 365 in <= 20 s wall and <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, sys, time, tempfile
from pathlib import Path
from scorelab import api
regime, n, days, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
api.build_society(1000, 0)  # warm imports and numba's cache outside the timed part
t0 = time.perf_counter()
soc = api.build_society(n, seed)
t1 = time.perf_counter()
folder = api.run(regime, days=days, seed=seed, baseline=None, out=out, society=soc)
t2 = time.perf_counter()
m = api.describe_run(folder)
print("RESULT " + json.dumps({"society_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0, "loop_s": m["wall_seconds"],
                  "ledger_rows": m["rows"]["ledger"], "ledger_policy": m["ledger"]["policy"]}))
"""


def run_case(regime: str, citizens: int, days: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="scorelab-bench-") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        proc = subprocess.run([sys.executable, "-c", CHILD, regime, str(citizens), str(days), str(seed), out],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
        result = json.loads(line[len("RESULT "):])
    result.update(regime=regime, citizens=citizens, days=days, seed=seed,
                  peak_rss_gb=max(peak_kb, before) / 1024 / 1024,
                  agent_days_per_s=citizens * days / result["total_s"])
    return result


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regime", default="unified")
    ap.add_argument("--citizens", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="append the result rows to benchmarks/RESULTS.md")
    args = ap.parse_args()
    rows = []
    for _ in range(args.repeat):
        r = run_case(args.regime, args.citizens, args.days, args.seed)
        row = (f"| {datetime.now(UTC).date()} | {r['regime']} | {r['citizens']:,} x {r['days']} | "
               f"{r['society_s']:.1f} | {r['loop_s']:.1f} | {r['total_s']:.1f} | {r['peak_rss_gb']:.2f} | "
               f"{r['agent_days_per_s'] / 1e6:.1f} M | {r['ledger_rows']:,} ({r['ledger_policy']}) |")
        print(row, flush=True)
        rows.append(row)
    cmd = (f"`.venv/bin/python benchmarks/bench_engine.py --regime {args.regime} --citizens {args.citizens} "
           f"--days {args.days}`")
    print(f"machine: {machine()}; command: {cmd}")
    if args.record:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(f"\n<!-- {machine()}; {cmd} -->\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
