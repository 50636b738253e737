"""A composed run in its own process: `python -m scorelab.server.runner`, driven by the dashboard.

The dashboard writes the run as one JSON line on stdin; this process answers with JSON lines on
stdout: `{"tick": [label, day, days]}` each day, then one of `{"done": run_id}`, `{"failed": message}`
or `{"cancelled": true}`. A line `cancel` on stdin, or stdin closing (the server has gone), stops the
run at the next day: the engine removes what it had written, so nothing is left behind.

A separate interpreter (not fork, not multiprocessing's spawn) keeps the run independent of whatever
started the server, and keeps the server's own threads free to answer pages while the run computes.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from scorelab.engine.memory import keep_freed_memory
from scorelab.errors import ScorelabError
from scorelab.server.compose import Composed, start_run


class RunCancelled(Exception):
    """Raised from the progress callback: unwinds the engine, which removes what it had written."""


def main() -> int:
    keep_freed_memory()  # this process makes one run and ends
    spec = json.loads(sys.stdin.readline())
    run = Composed(spec["preset"], int(spec["citizens"]), int(spec["days"]), int(spec["seed"]), spec["baseline"],
                   [(str(p), float(v)) for p, v in spec["changes"]])
    stop = threading.Event()
    out = sys.stdout

    def listen() -> None:  # "cancel", or the end of stdin
        for line in sys.stdin:
            if line.strip() == "cancel":
                break
        stop.set()

    threading.Thread(target=listen, daemon=True).start()

    def say(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    def tick(label: str, day: int, days: int) -> None:
        if stop.is_set():
            raise RunCancelled()
        say({"tick": [label, day, days]})

    try:
        folder = start_run(run, Path(spec["out"]), tick)
    except RunCancelled:
        say({"cancelled": True})
    except ScorelabError as exc:
        say({"failed": str(exc)})
    except Exception as exc:  # said on the job page; the traceback goes to stderr (the server's log)
        import traceback

        traceback.print_exc()
        say({"failed": f"{type(exc).__name__}: {exc}"})
    else:
        say({"done": folder.name})
    return 0


if __name__ == "__main__":
    sys.exit(main())
