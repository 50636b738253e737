"""issue 12: work done in a forked process (the paired baseline beside its run) reports its failure."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from scorelab.engine.forked import Forked, can_fork
from scorelab.errors import ScorelabError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is Linux's")


def test_the_childs_files_are_there_after_wait(tmp_path):
    target = tmp_path / "made.txt"
    job = Forked(lambda: target.write_text("made in the child"), "baseline")
    job.wait()
    assert target.read_text() == "made in the child"


def test_an_error_in_the_child_is_raised_by_wait_with_its_message():
    def fail():
        raise ScorelabError("got 7", key="days", allowed="1 to 3")

    job = Forked(fail, "baseline")
    with pytest.raises(ScorelabError, match="key 'days': got 7"):
        job.wait()


def test_a_killed_child_is_one_clear_error():
    job = Forked(lambda: os.kill(os.getpid(), signal.SIGKILL), "baseline")
    with pytest.raises(ScorelabError, match="baseline.*killed \\(signal 9\\)"):
        job.wait()


def test_stop_ends_a_child_that_would_run_on(tmp_path):
    target = tmp_path / "late.txt"

    def slow():
        time.sleep(5)
        target.write_text("too late")

    job = Forked(slow, "baseline")
    t0 = time.perf_counter()
    job.stop()
    job.stop()  # twice is harmless
    assert time.perf_counter() - t0 < 2
    with pytest.raises(ProcessLookupError):
        os.kill(job.pid, 0)
    assert not target.exists()


def test_fork_only_where_it_is_safe(monkeypatch):
    """Only the `scorelab` command's own process forks by default (elsewhere native threads and objects
    Python cannot see may not survive a fork); SCORELAB_CONCURRENT=1 asks for it, =0 turns it off;
    never while another Python thread runs."""
    from scorelab.engine import forked

    monkeypatch.setattr(forked, "_process_is_ours", False)
    monkeypatch.delenv("SCORELAB_CONCURRENT", raising=False)
    assert not can_fork()
    monkeypatch.setattr(forked, "_process_is_ours", True)
    monkeypatch.setenv("SCORELAB_CONCURRENT", "0")
    assert not can_fork()
    monkeypatch.setenv("SCORELAB_CONCURRENT", "1")
    assert not can_fork(memory_needed=10**18)  # a child that would not fit in memory
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        other.join()


def test_no_thread_outlives_a_run(tmp_path):
    """The Parquet writer thread ends with its run, so the next run in the same process may fork its
    baseline again (a process with threads must not fork)."""
    from scorelab import api

    before = {t.ident for t in threading.enumerate()}
    api.run("unified", citizens=500, days=5, seed=1, runs=tmp_path, baseline=None)
    assert {t.ident for t in threading.enumerate()} <= before
