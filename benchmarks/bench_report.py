"""Time the HTML report of a run: build time (wall and CPU) without and with the citizen stories, and size.

    .venv/bin/python benchmarks/bench_report.py RUN_FOLDER [--repeat 2]

Make the run first, e.g. `scorelab run unified -n 1000000 -d 365 -s 1 --out bench-runs` (with its paired
baseline). Each measurement runs in a fresh process, so imports and template compilation count, as they
do for `scorelab report`. Prints one Markdown table row per measurement for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

CHILD = """
import json, resource, sys, time
from scorelab.report import write_report
t = time.perf_counter()
path = write_report(sys.argv[1], sys.argv[2], stories=sys.argv[3] == "1")
print(json.dumps({"wall": time.perf_counter() - t, "bytes": path.stat().st_size,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(folder: Path, stories: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(Path(tmp) / "r.html"),
                               "1" if stories else "0"], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out.update(process_wall=wall, cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    manifest = json.loads((args.run / "manifest.json").read_text())
    size = f"{manifest['society']['citizens']:,} x {manifest['days']}"
    print("| date | run | stories | build s (in process) | process s | CPU s | peak MB | report MB |")
    print("|---|---|---|---|---|---|---|---|")
    for stories in (False, True):
        for _ in range(args.repeat):
            m = measure(args.run, stories)
            print(f"| {date.today()} | {manifest['regime']['name']} {size} | {'yes' if stories else 'no'} | "
                  f"{m['wall']:.1f} | {m['process_wall']:.1f} | {m['cpu']:.1f} | {m['peak_mb']:.0f} | "
                  f"{m['bytes'] / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
