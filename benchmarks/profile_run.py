"""Where a scorelab command spends its time, stage by stage: a sampling profile (py-spy) of the whole
process, summed over the pipeline's stages (issue 12 asks each missed target for the profile that
shows what stands in the way).

    .venv/bin/pip install py-spy       # once; not a dependency of scorelab
    .venv/bin/python benchmarks/profile_run.py -- run unified -n 1000000 -d 365 -s 1 --no-baseline
    .venv/bin/python benchmarks/profile_run.py --rate 50 -- report runs/unified-1000000x365-s1

Seconds are samples / rate (py-spy slows the process a little, so they add up to somewhat more
than the command's wall time); a stage's seconds include what it calls. Helper threads (the
Parquet writer, the report's workers) run beside the main thread and are counted apart. A forked
baseline is not followed (profile it with `--no-baseline` and `run none`).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = "import sys; from scorelab.cli import main; sys.argv[0] = 'scorelab'; main()"

# (label, function names as py-spy prints them); a sample counts for the first stage on its stack
# going from the innermost frame out, so nested stages (a summary inside a run) are not counted twice
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("imports (modules, numba's cache)", ("_find_and_load",)),
    ("society: contact graph", ("contact_graph",)),
    ("society: citizens", ("draw_citizens",)),
    ("behaviour tables (alias)", ("Behaviour.__init__",)),
    ("scorers' state", ("Scorer.__init__",)),
    ("day: draw events (behaviour)", ("Behaviour.draw_day",)),
    ("day: gates", ("Scorer.gate",)),
    ("day: observe (surveillance)", ("observe",)),
    ("day: score, lists (process_day)", ("Scorer.process_day",)),
    ("day: consequences", ("Consequences.apply", "Consequences.before_gates", "Consequences.after_gates",
                           "Consequences.after_decisions", "World.begin_day", "Economy.step")),
    ("day: record tables (main thread)", ("Recorder.day_events", "Recorder.observed", "Recorder.decisions",
                                          "_daily_row", "Recorder.close")),
    ("network measures", ("network_measures",)),
    ("citizens.parquet", ("_write_citizens",)),
    ("summary", ("summarize",)),
    ("report: stories", ("stories",)),
    ("report: figures", ("_figure",)),
    ("report: the rest of the page", ("_page", "build_report", "write_report")),
]
WRITER = ("TableSink._write", "TableSink._finish")


def _name(frame: str) -> str:
    return re.sub(r" \(.*\)$", "", frame)


def stage_seconds(raw: Path, rate: int) -> tuple[dict[str, float], dict[str, float], float, float]:
    """Seconds per stage on the main thread and on helper threads (the Parquet writer, the report's
    figure and story workers), and each side's total, from py-spy's raw output."""
    lookup = {fn: label for label, names in STAGES for fn in names}
    main: collections.Counter[str] = collections.Counter()
    helpers: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [_name(f) for f in stack.split(";")]
        if any(f in WRITER for f in frames):
            label = "Parquet encoding (writer thread)"
        else:
            label = next((lookup[f] for f in reversed(frames) if f in lookup), "other")
        helper = any(f.startswith(("Thread._bootstrap", "_worker")) for f in frames[:3])
        (helpers if helper else main)[label] += int(count)
    return ({k: v / rate for k, v in main.items()}, {k: v / rate for k, v in helpers.items()},
            sum(main.values()) / rate, sum(helpers.values()) / rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=50, help="samples per second (default 50)")
    ap.add_argument("--raw", type=Path, help="keep py-spy's raw samples here")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then a scorelab command line")
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not command or spy is None:
        sys.exit("usage: profile_run.py [--rate HZ] -- <scorelab command>; needs py-spy (pip install py-spy)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp) / "samples.txt"
        subprocess.run([spy, "record", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--",
                        sys.executable, "-c", CLI, *command], check=True, stdout=subprocess.DEVNULL)
        main_stages, helper_stages, main_s, helper_s = stage_seconds(raw, args.rate)
    print(f"`scorelab {' '.join(command)}`, py-spy at {args.rate} Hz: main thread {main_s:.1f} s, "
          f"helper threads {helper_s:.1f} s beside it\n")
    print("| stage | main thread s | share of the main thread | helper threads s |\n|---|---|---|---|")
    for label in [*(label for label, _ in STAGES), "Parquet encoding (writer thread)", "other"]:
        m, h = main_stages.get(label, 0.0), helper_stages.get(label, 0.0)
        if m or h:
            print(f"| {label} | {m:.2f} | {m / max(main_s, 1e-9):.0%} | {h:.2f} |")


if __name__ == "__main__":
    main()
