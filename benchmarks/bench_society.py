"""The parts of a large run outside its daily loop, at several commits side by side (issue 12).

At 10M citizens most of a short run is the society (citizens, households, the contact graph) and
the network measures at its end. This times each in a fresh child process per tree, the trees
interleaved round by round, and prints a hash of what was built and the measures' values, so that
"the same bits" is checked by the same command that times them. Neither child asks for the
allocator setting of the `scorelab` command (engine/memory.py): this is the code alone.

    .venv/bin/python benchmarks/bench_society.py --tree before=../wt/before --tree now=. --citizens 10000000

A tree is a checkout of scorelab (its `src/` is put first on PYTHONPATH).
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
import hashlib, json, sys, time
import numpy as np
from scorelab.consequences.network import Network
from scorelab.metrics.network import network_measures
from scorelab.society.model import SocietySpec, build_society

n = int(sys.argv[1])
build_society(SocietySpec(citizens=2000, seed=3))  # numba's cache loaded before timing
t = time.perf_counter()
soc = build_society(SocietySpec(citizens=n, seed=3))
society_s = time.perf_counter() - t
h = hashlib.sha256()
for k in sorted(soc.cols):
    h.update(k.encode())
    h.update(np.ascontiguousarray(soc.cols[k]).tobytes())
for a in (soc.household_indptr, soc.household_members, soc.graph_indptr, soc.graph_indices):
    h.update(np.ascontiguousarray(a).tobytes())
rng = np.random.default_rng(0)  # a network as a run leaves it: some ties cut, some formed
net = Network(soc.graph_indptr, soc.graph_indices)
net.avoid(np.arange(0, n, 50), 0.3, 1, 1, 0)
net.add_ties(rng.integers(0, n, n // 100), rng.integers(0, n, n // 100))
listed = np.zeros(n, bool)
listed[::50] = True
score = rng.normal(700, 80, n)
t = time.perf_counter()
measures = network_measures(net, soc.graph_indptr, soc.graph_indices, listed, score)
measures_s = time.perf_counter() - t
print(json.dumps({"society_s": society_s, "measures_s": measures_s, "society_sha256": h.hexdigest()[:16],
                  "measures": measures}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--citizens", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree] or [("now", ROOT)]
    got: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for rnd in range(args.repeat):
        for name, tree in trees:
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.citizens)], capture_output=True, text=True,
                                 env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"})
            if out.returncode:
                raise SystemExit(f"{name}: {out.stderr[-2000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            got[name].append(r)
            print(f"round {rnd + 1} {name:8s} society {r['society_s']:7.2f} s  measures {r['measures_s']:6.2f} s  "
                  f"society {r['society_sha256']}", flush=True)
    print(f"\n{args.citizens:,} citizens, {args.repeat} rounds; medians (rounds)\n")
    print("| tree | society s | network measures s | society sha256 | measures identical to the first tree |")
    print("|---|---|---|---|---|")
    first = got[trees[0][0]][0]["measures"]
    for name, _ in trees:
        rs = got[name]
        soc = [r["society_s"] for r in rs]
        mea = [r["measures_s"] for r in rs]
        same = all(r["measures"] == first for r in rs)
        print(f"| {name} | {statistics.median(soc):.2f} ({', '.join(f'{x:.1f}' for x in soc)}) | "
              f"{statistics.median(mea):.2f} ({', '.join(f'{x:.1f}' for x in mea)}) | "
              f"{', '.join(sorted({r['society_sha256'] for r in rs}))} | {same} |")


if __name__ == "__main__":
    main()
