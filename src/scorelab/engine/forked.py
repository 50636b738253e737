"""Work done in a forked child process, beside the parent's, with its failure carried back.

A run and its paired baseline share the society but nothing else, so on a machine with a
second core the baseline can be made at the same time as the run (issue 12). `fork` gives the
child the society without copying or pickling it (copy on write). Forking is only safe when the
process has no other threads (a lock held by another thread stays held in the child forever), so
`can_fork` says no in a dashboard's worker thread, a Ray worker or anywhere else threads run; the
caller then does the work in line; see `can_fork` for where it is allowed. Either way the work
writes the same files, bit for bit: only wall time changes.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable

from scorelab.errors import ScorelabError

CONCURRENT_ENV = "SCORELAB_CONCURRENT"


_process_is_ours = False


def allow_in_this_process() -> None:
    """Called by the `scorelab` command: its process ran nothing but scorelab, so forking is safe.

    Elsewhere (a notebook, a test session, a web server) libraries may hold native threads and
    objects that Python cannot see and that do not survive a fork (a test session's child once
    crashed collecting one), so there a baseline is made beside its run only when asked for with
    SCORELAB_CONCURRENT=1."""
    global _process_is_ours
    _process_is_ours = True


def can_fork(memory_needed: int = 0) -> bool:
    """True where forking is safe and wanted: Linux-like fork, the `scorelab` command's own process
    (or SCORELAB_CONCURRENT=1; =0 turns it off everywhere), one thread, and `memory_needed` bytes
    (what the child will add) fit in the available memory with a margin."""
    wanted = os.environ.get(CONCURRENT_ENV, "")
    return (hasattr(os, "fork") and sys.platform != "darwin" and wanted != "0"
            and (_process_is_ours or wanted == "1") and threading.active_count() == 1
            and 1.5 * memory_needed <= available_memory())


def available_memory() -> float:
    """Bytes the system can still give without swapping (MemAvailable); unknown: no limit."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return float("inf")


class Forked:
    """`work()` running in a child process; `wait()` returns when it is done or raises its error."""

    def __init__(self, work: Callable[[], object], what: str) -> None:
        self.what = what
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # what exists now is never collected in the child; the parent unfreezes it at once
        pid = os.fork()
        if pid:
            gc.unfreeze()
        if pid == 0:  # the child: do the work, report an error through the pipe, never return
            os.close(read)
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child quietly
                work()
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                code = 1
                try:
                    payload = pickle.dumps(exc)
                except Exception:  # an error that cannot be pickled goes back as its text
                    payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write)
        self.pid, self._read = pid, read
        self._done = False

    def wait(self) -> None:
        if self._done:
            return
        with os.fdopen(self._read, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self._done = True
        if payload:
            try:
                error = pickle.loads(payload)
            except Exception:  # noqa: BLE001
                error = RuntimeError(f"{self.what} failed in its process")
            raise error
        if os.WIFSIGNALED(status):
            raise ScorelabError(f"the process making it was killed (signal {os.WTERMSIG(status)})", key=self.what,
                                allowed="a run that is not killed: run again")
        if os.waitstatus_to_exitcode(status) != 0:
            raise ScorelabError(f"the process making it stopped with exit code {os.waitstatus_to_exitcode(status)}",
                                key=self.what, allowed="a run that completes: run again")

    def stop(self) -> None:
        """End the child (the parent failed or was interrupted); safe to call more than once."""
        if self._done:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self._read)
        self._done = True
