"""Crash points: where the crash tests stop a run (tests/test_store_crashes.py).

`SCORELAB_CRASH_AT=<point>` makes the process kill itself with SIGKILL when it reaches that
point, as a power cut or `kill -9` would, so the tests can check that nothing half-written is
published and that the runs folder still works afterwards. Unset, a crash point costs one
environment lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "SCORELAB_CRASH_AT"
POINTS = (
    "tables",              # the engine has written the event tables, not yet citizens.parquet
    "manifest",            # manifest.json.tmp written, not yet renamed
    "publish",             # both folders complete, nothing published yet
    "baseline-published",  # the baseline is published, its run not yet
    "catalogue",           # the new catalogue is written beside the old one, not yet renamed
)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
