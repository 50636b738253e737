"""A simple credit score with association: a bare NumPy loop beside the same model as a scorelab run.

issue 12 asks what the lab's generality costs: the same model written as the shortest NumPy loop
one would write by hand, and as a scorelab regime (benchmarks/data/simple-credit.yaml), timed in
the same process session on the same society (the contact graph is scorelab's), medians of
--repeat runs and their ratio. The scorelab run uses a world file (benchmarks/data/simple-world.yaml)
in which traffic violations are the only act, at the bare loop's flat rate; it still runs its
scheduled parts (loans, the economy's months, the consequences stage) and writes its run folder,
and the bare loop keeps no ledger and writes nothing. `--world census2020` times the full world.

    .venv/bin/python benchmarks/bench_bare.py                     # 1,000,000 x 365, 3 repeats
    .venv/bin/python benchmarks/bench_bare.py --citizens 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REGIME = HERE / "data" / "simple-credit.yaml"
WORLD = HERE / "data" / "simple-world.yaml"  # only traffic violations happen, at the bare loop's flat rate
RATE = 0.0015        # traffic violations per citizen per day (scorelab's base rate, without traits)
COVERAGE = 0.5       # share seen by the cameras
MISATTRIBUTION = 0.01
POINTS = 20.0
CONTACT_SHARE = 0.2
INITIAL, LOW = 1000.0, 900.0


def bare(indptr: np.ndarray, indices: np.ndarray, days: int, seed: int, dense: bool = False
         ) -> tuple[np.ndarray, np.ndarray]:
    """The model in plain NumPy: final scores and who was ever listed. `dense` draws a uniform per
    citizen per day (the loop as usually first written); otherwise a Poisson count of offenders
    is drawn and they are picked at random (sparse, as scorelab draws)."""
    n = len(indptr) - 1
    rng = np.random.default_rng(seed)
    score = np.full(n, INITIAL)
    listed = np.zeros(n, bool)
    for _ in range(days):
        if dense:
            who = np.flatnonzero(rng.random(n) < RATE)
            k = len(who)
        else:
            k = rng.poisson(RATE * n)
            who = rng.integers(0, n, k)
        who = who[rng.random(k) < COVERAGE]
        wrong = rng.random(len(who)) < MISATTRIBUTION
        who[wrong] = rng.integers(0, n, int(wrong.sum()))
        np.subtract.at(score, who, POINTS)
        counts = indptr[who + 1] - indptr[who]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        contacts = indices[np.repeat(indptr[who], counts) + offsets]
        np.subtract.at(score, contacts, POINTS * CONTACT_SHARE)
        touched = np.concatenate([who, contacts])
        score[touched] = np.maximum(score[touched], 0.0)
        listed[touched[score[touched] < LOW]] = True
    return score, listed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--citizens", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--world", default=str(WORLD),
                    help="the scorelab run's world (default: the benchmark's, where only the model's act happens; "
                         "'census2020' for the full world)")
    args = ap.parse_args()
    from scorelab import api

    soc = api.build_society(args.citizens, 1)
    api.run(REGIME, society=soc, days=5, seed=1, baseline=None, runs=tempfile.mkdtemp(), world=args.world)  # warm
    extra = {"world": args.world}
    bare_s, dense_s, lab_s, loop_s = [], [], [], []
    for r in range(args.repeat):
        t0 = time.perf_counter()
        score, listed = bare(soc.graph_indptr, soc.graph_indices, args.days, r)
        bare_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare(soc.graph_indptr, soc.graph_indices, args.days, r, dense=True)
        dense_s.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            folder = api.run(REGIME, society=soc, days=args.days, seed=1, baseline=None, runs=tmp, force=True,
                             **extra)
            lab_s.append(time.perf_counter() - t0)
            loop_s.append(api.describe_run(folder)["wall_seconds"])
        print(f"round {r + 1}: bare {bare_s[-1]:.2f} s sparse, {dense_s[-1]:.2f} s dense (listed {listed.mean():.2%}, "
              f"mean score {score.mean():.1f}); "
              f"scorelab run {lab_s[-1]:.2f} s, of which the daily loop {loop_s[-1]:.2f} s", flush=True)
    b, d = statistics.median(bare_s), statistics.median(dense_s)
    lab, loop = statistics.median(lab_s), statistics.median(loop_s)
    print(f"\n{args.citizens:,} x {args.days}, medians of {args.repeat}: bare loop {b:.2f} s sparse, {d:.2f} s dense; "
          f"scorelab run {lab:.2f} s (ratio {lab / b:.1f}x sparse, {lab / d:.1f}x dense), its daily loop {loop:.2f} s "
          f"(ratio {loop / b:.1f}x, {loop / d:.1f}x)")


if __name__ == "__main__":
    main()
