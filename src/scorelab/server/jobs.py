"""Runs composed in the dashboard, one at a time, each in its own process (scorelab.server.runner), with
honest progress and cancel.

Progress says which run of how many, which regime and which day ("run 1 of 2: none (baseline), day 120
of 365"); before the first day it says the society is being drawn, after the last that the tables are
being written. Cancel stops a run at the next day: the engine's temporary folder is removed and a
published baseline is taken back (scorelab.engine.runs), so a cancelled run leaves no folder. If the
server goes away, the run's stdin closes and it cancels itself the same way.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from scorelab.server.compose import Composed
from scorelab.server.security import redact
from scorelab.server.state import BadInput, Limits

log = logging.getLogger("scorelab.server")
JOB_ID = re.compile(r"^[0-9a-f]{12}$")
ACTIVE = ("queued", "running", "writing", "cancelling")


@dataclass
class Job:
    """A composed run, from queued to done, failed or cancelled."""

    id: str
    run: Composed
    labels: list[str]          # what each phase runs: the baseline first, if any
    state: str = "queued"      # queued, running, writing, cancelling, done, failed, cancelled
    phase: int = 0
    day: int = 0
    days: int = 0
    run_id: str | None = None
    error: str | None = None
    cancel: bool = False
    created: float = field(default_factory=time.time)

    @property
    def phases(self) -> int:
        return len(self.labels)

    def progress(self) -> float:
        if self.state == "done":
            return 1.0
        if not self.days:
            return min(0.999, self.phase / self.phases)
        return min(0.999, (self.phase + self.day / self.days) / self.phases)

    def message(self) -> str:
        where = f"run {self.phase + 1} of {self.phases}: {self.labels[self.phase]}"
        if self.state == "queued":
            return "queued: starts as soon as the runs before it have finished"
        if self.state == "running":
            if not self.days:
                return f"{where}: drawing the society of {self.run.citizens:,} citizens"
            return f"{where}, day {self.day} of {self.days}"
        if self.state == "writing":
            return f"{where}: writing its tables and summary"
        if self.state == "cancelling":
            return "cancelling: the run stops at the end of the day it is simulating"
        if self.state == "cancelled":
            return "cancelled: nothing was written"
        if self.state == "done":
            return f"done: {self.run_id}"
        return f"failed: {self.error}"

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.run.name, "state": self.state, "progress": round(self.progress(), 4),
                "phase": self.phase, "phases": self.phases, "label": self.labels[self.phase], "day": self.day,
                "days": self.days, "run_id": self.run_id, "error": self.error, "message": self.message(),
                "preset": self.run.preset, "citizens": self.run.citizens, "seed": self.run.seed,
                "baseline": self.run.baseline, "changes": [{"path": p, "value": v} for p, v in self.run.changes],
                "active": self.state in ACTIVE}


class JobRunner:
    """Jobs by id, and one daemon thread that runs them in order (a run uses every core), each in a child
    process so that the server's threads keep answering pages while it computes."""

    def __init__(self, out: Path, limits: Limits) -> None:
        self.out = out
        self.limits = limits
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.q: queue.Queue[Job] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="scorelab-runs", daemon=True)
        self.thread.start()

    def submit(self, run: Composed) -> Job:
        labels = ([f"{run.baseline} (baseline)"] if run.baseline else []) + [run.name]
        with self.lock:
            active = sum(j.state in ACTIVE for j in self.jobs.values())
            if active >= self.limits.max_pending_jobs:
                raise BadInput(f"{active} runs are already waiting or running; try again when one has finished "
                               f"(at most {self.limits.max_pending_jobs})", 429, "Too many runs")
            job = Job(uuid.uuid4().hex[:12], run, labels)
            self.jobs[job.id] = job
            self._forget_old()
        self.q.put(job)
        return job

    def _forget_old(self) -> None:
        done = sorted((j for j in self.jobs.values() if j.state not in ACTIVE), key=lambda j: j.created)
        for j in done[:max(0, len(self.jobs) - self.limits.max_jobs_kept)]:
            del self.jobs[j.id]

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id) if isinstance(job_id, str) and JOB_ID.match(job_id) else None
        if job is None:
            raise BadInput(f"no job '{job_id}' (jobs last as long as the server, and only the last "
                           f"{self.limits.max_jobs_kept} finished ones are kept)", 404, "No such job")
        return job

    def recent(self, k: int = 10) -> list[Job]:
        with self.lock:
            return sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)[:k]

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self.lock:
            if job.state == "queued":
                job.cancel, job.state = True, "cancelled"
            elif job.state in ("running", "writing"):
                job.cancel, job.state = True, "cancelling"
        return job

    # ---------------------------------------------------------------- the worker
    def _loop(self) -> None:
        while True:
            job = self.q.get()
            try:
                self._execute(job)
            except Exception:  # the job records its own failure; the worker must survive
                log.exception("job %s", job.id)

    def _execute(self, job: Job) -> None:
        """Run the job in its own process (scorelab.server.runner; a run holds the CPU and the server must
        keep answering) and follow its lines: progress ticks, then one of done, failed or cancelled."""
        with self.lock:
            if job.cancel:
                return
            job.state = "running"
        spec = {"preset": job.run.preset, "citizens": job.run.citizens, "days": job.run.days, "seed": job.run.seed,
                "baseline": job.run.baseline, "changes": job.run.changes, "out": str(self.out)}
        proc = subprocess.Popen([sys.executable, "-m", "scorelab.server.runner"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()
        watcher = threading.Thread(target=self._cancel_when_asked, args=(job, proc), daemon=True)
        watcher.start()
        final = None
        try:
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue  # not one of ours
                if "tick" in msg:
                    self._tick(job, *msg["tick"])
                else:
                    final = msg
        finally:
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        if final is None:
            job.error, job.state = f"the run's process ended unexpectedly (exit code {proc.returncode})", "failed"
        elif "done" in final:
            job.run_id, job.state = final["done"], "done"
        elif "cancelled" in final:
            job.state = "cancelled"
        else:  # already a message for people; without server paths
            job.error, job.state = redact(str(final.get("failed")), self.out), "failed"

    @staticmethod
    def _cancel_when_asked(job: Job, proc: subprocess.Popen) -> None:
        """Tell the run to stop (a line on its stdin) once the job is cancelled; close stdin when it ends."""
        while proc.poll() is None:
            if job.cancel:
                try:
                    proc.stdin.write("cancel\n")
                    proc.stdin.flush()
                except (BrokenPipeError, ValueError, OSError):
                    pass
                break
            time.sleep(0.1)

    @staticmethod
    def _tick(job: Job, label: str, day: int, days: int) -> None:
        if job.day and day <= job.day and job.phase + 1 < job.phases:  # days restart: the next run began
            job.phase += 1
        job.day, job.days = int(day), int(days)
        if not job.cancel:
            job.state = "writing" if day >= days else "running"
