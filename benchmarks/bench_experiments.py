"""Experiments at scale (issue 11 part 5): runs per hour of a 64-run experiment, local and Ray.

    .venv/bin/python benchmarks/bench_experiments.py                    # 64 runs at 100,000 x 365
    .venv/bin/python benchmarks/bench_experiments.py --citizens 2000 --days 20 --runs 8   # a quick check

For each executor (local process pool, then a local Ray instance, both with --workers): the wall
time of the whole experiment (one shared baseline + the runs), runs per hour, the peak resident
memory of each worker process (sampled from /proc every 0.2 s), then Ray's overhead per task
(empty tasks, after start-up). Prints Markdown rows for benchmarks/RESULTS.md, with the machine's
load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from scorelab.experiments import run_experiment


def experiment(citizens: int, days: int, runs: int) -> dict:
    return {"name": "bench", "regime": "unified", "citizens": citizens, "days": days, "seed": 1,
            "replications": 1, "sampler": {"method": "mc", "n": runs},
            "parameters": {"scorers.state.channels.cameras.misattribution": {"low": 0.0, "high": 0.01},
                           "scorers.state.association.contact_share": {"low": 0.0, "high": 0.3}},
            "outcomes": ["wrongful_sanction_share", "antisocial_change", "collateral_share"]}


class RssSampler(threading.Thread):
    """Peak VmRSS of every worker process (descendants of this process running a run)."""

    MARKERS = (b"spawn_main", b"ray::execute")

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in _workers(self.MARKERS):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            self.peak[pid] = max(self.peak.get(pid, 0), kb)
                except OSError:
                    continue
            time.sleep(0.2)


def _workers(markers) -> list[int]:
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            if not any(m in cmd[:200] for m in markers):
                continue
            pid = int(entry)
            while pid > 1:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if pid == me:
                    out.append(int(entry))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return out


def bench(executor: str, file: Path, out: Path, workers: int) -> dict:
    sampler = RssSampler()
    sampler.start()
    load0 = os.getloadavg()
    t = time.perf_counter()
    folder = run_experiment(file, out, executor=executor, workers=workers)
    wall = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    n = pq.read_metadata(folder / "results.parquet").num_rows
    peaks = sorted(sampler.peak.values())
    return {"executor": executor, "wall": wall, "runs": n, "per_hour": n / wall * 3600, "load0": load0,
            "load1": os.getloadavg(), "peak_gb": max(peaks) / 1e6 if peaks else float("nan"),
            "workers_seen": len(peaks), "results": (folder / "results.parquet").read_bytes()}


def ray_overhead(workers: int, tasks: int = 200) -> dict:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             object_store_memory=200 * 1024 * 1024)
    start = time.perf_counter() - t

    @ray.remote(num_cpus=1, max_retries=3)
    def empty(i):
        return i

    ray.get([empty.remote(i) for i in range(2 * workers)])  # warm the workers
    t = time.perf_counter()
    ray.get([empty.remote(i) for i in range(tasks)])
    batch = (time.perf_counter() - t) / tasks
    t = time.perf_counter()
    for i in range(50):
        ray.get(empty.remote(i))
    serial = (time.perf_counter() - t) / 50
    ray.shutdown()
    return {"start_s": start, "per_task_ms_batch": batch * 1000, "per_task_ms_roundtrip": serial * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--citizens", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scorelab-bench-exp-"))
    try:
        file = tmp / "bench.yaml"
        file.write_text(yaml.safe_dump(experiment(args.citizens, args.days, args.runs), sort_keys=False))
        rows = [bench(ex, file, tmp / ex, args.workers) for ex in ("local", "ray")]
        over = ray_overhead(args.workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    same = rows[0]["results"] == rows[1]["results"]
    date = time.strftime("%Y-%m-%d")
    print("| date | executor | workers | experiment | wall s | runs/hour | peak RSS per worker GB | "
          "load average before / after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {date} | {r['executor']} | {args.workers} | {r['runs']} runs + 1 baseline, "
              f"{args.citizens:,} x {args.days} | {r['wall']:.0f} | {r['per_hour']:.0f} | {r['peak_gb']:.2f} | "
              f"{r['load0'][0]:.1f} / {r['load1'][0]:.1f} |")
    print(f"\nresults.parquet identical (local vs ray): {same}")
    print(f"Ray: start-up {over['start_s']:.1f} s; empty task {over['per_task_ms_batch']:.2f} ms each in a batch of "
          f"200, {over['per_task_ms_roundtrip']:.2f} ms for a round trip")


if __name__ == "__main__":
    main()
