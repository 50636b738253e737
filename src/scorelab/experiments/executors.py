"""Executors: where an experiment's tasks run. Both call scorelab.experiments.tasks.execute.

- `local`: a process pool on this machine (spawned workers, one run each at a time).
- `ray`: a local Ray instance started for the experiment, or an existing cluster joined with
  `--address`; one Ray task per run, retried when its worker dies.

An executor only decides where and when; the results do not depend on it, because every task
carries its own seed and results are stored under the task's key, never by arrival order.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from scorelab.engine.memory import keep_freed_memory
from scorelab.errors import ScorelabError
from scorelab.experiments.tasks import execute

Done = Callable[[object, dict | None, str | None], None]  # (task, result, error)
RAY_RETRIES = 3


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def __enter__(self) -> LocalExecutor:
        # spawn, not fork: the driver may hold threads (Parquet writers) and Numba state.
        # One worker runs in this process: the same code, without a pool's start-up.
        # A worker does nothing but runs: freed arrays' pages are kept for reuse (engine/memory.py).
        self.pool = (ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                         initializer=keep_freed_memory)
                     if self.workers > 1 else None)
        return self

    def map(self, tasks: Iterable, done: Done) -> None:
        if self.pool is None:
            for task in tasks:
                result, error = None, None
                try:
                    result = execute(task)
                except Exception as exc:  # noqa: BLE001 - as in the pool: reported, the others go on
                    error = f"{type(exc).__name__}: {exc}"
                done(task, result, error)
            return
        pending = {self.pool.submit(execute, t): t for t in tasks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    task = pending.pop(f)
                    result, error = None, None
                    try:
                        result = f.result()
                    except BrokenProcessPool:
                        raise ScorelabError("a worker process died (out of memory?); finished runs are kept: run "
                                            "the same command again to resume", key="--executor local") from None
                    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the others go on
                        error = f"{type(exc).__name__}: {exc}"
                    done(task, result, error)
        except BaseException:
            for f in pending:
                f.cancel()
            raise

    def __exit__(self, *exc) -> None:
        if self.pool is None:
            return
        if exc[0] is not None:  # interrupted or failed: stop the runs in flight too (their rows are not stored)
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)


class RayExecutor:
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers
        self.address = address
        self.started = False

    def __enter__(self) -> RayExecutor:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no calls home from a lab machine
        try:
            import ray
        except ImportError:
            raise ScorelabError("Ray is not installed", key="--executor ray",
                                allowed="pip install 'scorelab[experiments]', or --executor local") from None
        self.ray = ray
        if self.address:
            _check_reachable(self.address)
        if ray.is_initialized():  # a driver that already joined Ray (a notebook, the test suite)
            return self
        if self.address:
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level="ERROR")
            except Exception as exc:  # noqa: BLE001 - any failure to join is the user's address
                raise ScorelabError(f"cannot join the Ray cluster: {str(exc).splitlines()[0]}",
                                    key="--address", allowed="host:port of a running Ray head (ray start --head)"
                                    ) from None
        else:
            ray.init(num_cpus=self.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR", object_store_memory=200 * 1024 * 1024)
        self.started = True
        return self

    def map(self, tasks: Iterable, done: Done) -> None:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=RAY_RETRIES, retry_exceptions=False)(execute_in_worker)
        pending = {remote.remote(t): t for t in tasks}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    task = pending.pop(ref)
                    result, error = None, None
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                        error = f"{type(cause).__name__}: {str(cause).splitlines()[0]}"
                    except ray.exceptions.RayError as exc:  # the worker died more than RAY_RETRIES times
                        error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                    done(task, result, error)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def __exit__(self, *exc) -> None:
        if self.started:
            self.ray.shutdown()


def execute_in_worker(task) -> dict:
    """`execute` in a Ray worker, a process that does nothing but tasks (engine/memory.py)."""
    keep_freed_memory()
    return execute(task)


def _check_reachable(address: str) -> None:
    """Fail in seconds, with one line, when nothing listens at the address (Ray itself waits long)."""
    if address == "auto":
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ScorelabError(f"got {address!r}", key="--address", allowed="host:port of a Ray head, or auto")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ScorelabError(f"no Ray cluster reachable at {address} ({exc.strerror or exc})", key="--address",
                            allowed="host:port of a running Ray head (start one with `ray start --head`)") from None


def make_executor(name: str, workers: int | None = None, address: str | None = None):
    if workers is not None and workers < 1:
        raise ScorelabError(f"got {workers}", key="--workers", allowed="a whole number from 1 up")
    if name == "local":
        if address:
            raise ScorelabError("--address joins a Ray cluster", key="--address", allowed="use it with --executor ray")
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, address)
    raise ScorelabError(f"got {name!r}", key="--executor", allowed="local, ray")
