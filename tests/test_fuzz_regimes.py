"""Issue 13: a property-based fuzzer of regime files (mutations of the presets, tests/_fuzz.py).

Every mutated file gets exit status 0 or 2 from `scorelab validate`, never a traceback, within
2 s and bounded memory; a file that validates runs on a small society without error. `make fuzz`
runs the same tests with many more, random examples (SCORELAB_FUZZ_EXAMPLES, SCORELAB_FUZZ_RUNS,
SCORELAB_FUZZ_RANDOM) and writes what it saw to SCORELAB_FUZZ_REPORT (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import os
import resource
import time
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzz import mutated_regime, plausible_regime
from scorelab.cli import app

EXAMPLES = int(os.environ.get("SCORELAB_FUZZ_EXAMPLES", "500"))
RUN_EXAMPLES = int(os.environ.get("SCORELAB_FUZZ_RUNS", "12"))
SECONDS = 2.0  # CPU seconds per file: wall time on a shared machine measures the other users too
MEMORY = 512 * 2**20  # address space one validation may add (a MemoryError beyond it)
RANDOM = bool(os.environ.get("SCORELAB_FUZZ_RANDOM"))  # `make fuzz`: new examples each time
REPORT = os.environ.get("SCORELAB_FUZZ_REPORT")


def record(name: str, stats: dict) -> None:
    """Add a test's statistics to the fuzz report (make fuzz)."""
    if not REPORT:
        return
    path = Path(REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {**stats, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    path.write_text(json.dumps(data, indent=2))


@contextmanager
def memory_bound(extra: int = MEMORY):
    """Cap the process's address space at its current size plus `extra` bytes while validating."""
    with open("/proc/self/statm") as f:
        now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (now + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def validate(runner, path: Path):
    """`scorelab validate FILE` in process, in bounded memory; returns (result, CPU seconds)."""
    t0 = time.process_time()
    with memory_bound():
        result = runner.invoke(app, ["validate", str(path)])
    return result, time.process_time() - t0


def check_answer(result, seconds: float, what: str) -> None:
    assert result.exit_code in (0, 2), (what, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (what, repr(result.exception))
    assert "Traceback" not in result.output
    assert seconds < SECONDS, (what, seconds)
    lines = [line for line in result.output.splitlines() if line.strip()]
    if result.exit_code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
        assert len(lines[0]) < 4000  # the message never prints an expanded value


def test_fuzz_validate(runner, tmp_path):
    counts = {0: 0, 2: 0}
    slowest = [0.0]
    path = tmp_path / "fuzzed.yaml"

    @settings(max_examples=EXAMPLES, database=None, derandomize=not RANDOM)
    @given(mutated_regime())
    def one(raw: bytes):
        path.write_bytes(raw)
        result, seconds = validate(runner, path)
        check_answer(result, seconds, raw[:300])
        counts[result.exit_code] += 1
        slowest[0] = max(slowest[0], seconds)

    t0 = time.perf_counter()
    one()
    record("validate", {"examples": sum(counts.values()), "valid": counts[0], "refused": counts[2],
                        "slowest_seconds": round(slowest[0], 3), "total_seconds": round(time.perf_counter() - t0, 1)})
    assert counts[2] > 0 and sum(counts.values()) >= min(EXAMPLES, 500)


def test_fuzz_files_that_validate_run(runner, tmp_path):
    """Files at the edges of what is allowed either fail validation cleanly or run without error."""
    ran = []
    refused = [0]
    path = tmp_path / "edge.yaml"

    @settings(max_examples=RUN_EXAMPLES, database=None, derandomize=not RANDOM)
    @given(plausible_regime(), st.integers(0, 2**32 - 1))
    def one(raw: bytes, seed: int):
        path.write_bytes(raw)
        result, seconds = validate(runner, path)
        check_answer(result, seconds, raw[:300])
        if result.exit_code != 0:
            refused[0] += 1
            return
        runs = tmp_path / f"runs{len(ran)}"
        done = runner.invoke(app, ["run", str(path), "--citizens", "300", "--days", "12", "--seed", str(seed),
                                   "--runs", str(runs), "-q"])
        assert done.exit_code == 0, (raw.decode()[:2000], done.output, repr(done.exception))
        ran.append(seed)

    t0 = time.perf_counter()
    one()
    record("run", {"examples": len(ran) + refused[0], "ran": len(ran), "refused": refused[0],
                   "total_seconds": round(time.perf_counter() - t0, 1)})
    assert len(ran) >= RUN_EXAMPLES // 3, ran
