"""What a page touched for the first time costs here, and what keeping freed pages saves (issue 12).

A run makes and drops large arrays all the time. With glibc's defaults each array above 32 MB is a
fresh mapping, given back when freed, so every such array's pages are faulted in (and zeroed)
again. `engine/memory.py` keeps them instead, in the processes that only run scorelab. This times
the pattern alone, in two child processes (setting off and on): make an array of MB megabytes, fill
it, drop it and wait PAUSE seconds (a run does other work between two large arrays), six times.
The first array is a first touch in both. On a virtual machine whose guest gives free memory back
to its host (free page reporting), a page freed for a few seconds costs a first touch again.

    .venv/bin/python benchmarks/bench_memory.py --mb 800 --pause 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import numpy as np
from scorelab.engine.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[2] == "on" else False
n = int(sys.argv[1]) * 2**20 // 8
times = []
for _ in range(6):
    t = time.perf_counter()
    a = np.empty(n)
    a.fill(1.0)
    times.append(time.perf_counter() - t)
    del a
    time.sleep(float(sys.argv[3]))
print(json.dumps({"applied": applied, "times": times}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=800)
    ap.add_argument("--pause", type=float, default=3.0)
    args = ap.parse_args()
    print(f"{args.mb} MB arrays, {args.pause} s apart\n")
    print("| setting | first array s | later arrays s, median (min-max) | later ms per MB |\n|---|---|---|---|")
    for mode in ("off", "on"):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.mb), mode, str(args.pause)], capture_output=True,
                             text=True, check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
        r = json.loads(out.stdout)
        later = r["times"][1:]
        med = statistics.median(later)
        print(f"| keep freed pages {mode} (applied: {r['applied']}) | {r['times'][0]:.3f} | {med:.3f} "
              f"({min(later):.3f}-{max(later):.3f}) | {1000 * med / args.mb:.2f} |")


if __name__ == "__main__":
    main()
