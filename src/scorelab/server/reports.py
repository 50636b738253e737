"""Reports made on demand (scorelab.report), cached as files under `<runs>/.reports/`.

- One build per report: concurrent first requests wait for the one build in flight (single flight),
  so six parallel first requests all get the same file.
- Bounded: at most `Limits.max_reports` files; the least recently served go first. Failures are
  remembered in a small bounded map.
- Served with a Content-Security-Policy that allows exactly the report's own inline scripts (their
  SHA-256 hashes): no other script runs, and a `javascript:` link does nothing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

import scorelab
from scorelab.server.security import redact
from scorelab.server.state import BadInput, Limits, RunsFolder

log = logging.getLogger("scorelab.server")
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)
MAX_FAILURES = 64


class ReportCache:
    def __init__(self, runs: RunsFolder, limits: Limits) -> None:
        self.runs = runs
        self.limits = limits
        self.folder = runs.root / ".reports"
        self.lock = threading.Lock()
        self.inflight: dict[str, Future] = {}
        self.failures: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self.builds = 0  # reports built by this process (the tests check that concurrent requests build once)
        self._worker = _Worker()

    def key(self, folders: list[Path]) -> str:
        parts = []
        for f in folders:
            m = self.runs.manifest(f)
            reg = m.get("regime") if isinstance(m.get("regime"), dict) else {}
            parts.append(f"{f.name}|{m.get('created')}|{reg.get('sha256')}")
        return hashlib.sha256(("\n".join(parts) + scorelab.__version__).encode()).hexdigest()[:24]

    def get(self, folders: list[Path]) -> Path | None:
        """The report file, built now (small runs) or in the background (then None: come back later)."""
        key = self.key(folders)
        path = self.folder / f"{key}.html"
        with self.lock:
            if path.is_file():
                _touch(path)
                return path
            failed = self.failures.pop(key, None)
            if failed is not None:  # a background build failed: say so once; a reload tries again
                raise BadInput(f"the report could not be built: {failed[1]}", failed[0], "Report failed")
            fut = self.inflight.get(key)
            owner = fut is None
            if owner:
                fut = Future()
                self.inflight[key] = fut
            citizens = sum(int((self.runs.manifest(f).get("society") or {}).get("citizens", 0)) for f in folders)
            background = citizens > self.limits.sync_report_citizens
        if background:
            if owner:
                self._worker.submit(lambda: self._build(key, path, folders, fut, remember=True))
            return None
        if owner:
            self._build(key, path, folders, fut, remember=False)
        fut.result()  # waits for the one build; raises its error
        return path

    def _build(self, key: str, path: Path, folders: list[Path], fut: Future, remember: bool) -> None:
        """Build under the single-flight future; a background failure is remembered for the next visit."""
        from scorelab.errors import ScorelabError
        from scorelab.report import write_report

        try:
            with self.lock:
                self.builds += 1
            self.folder.mkdir(parents=True, exist_ok=True)
            write_report(folders[0], path, vs=folders[1:])
            self._finish(path, folders)
            self._evict(keep=path)
            fut.set_result(path)
        except Exception as exc:
            damaged = isinstance(exc, ScorelabError)  # the run's files: a message, not a server fault
            if not damaged:
                log.exception("report %s failed", key)
            text = redact(str(exc) if damaged else f"{type(exc).__name__}: {exc}", self.runs.root)
            if remember:
                with self.lock:
                    self.failures[key] = (422 if damaged else 500, text)
                    while len(self.failures) > MAX_FAILURES:
                        self.failures.popitem(last=False)
            fut.set_exception(BadInput(f"the report could not be built: {text}", 422 if damaged else 500,
                                       "Report failed"))
        finally:
            with self.lock:
                self.inflight.pop(key, None)

    def _finish(self, path: Path, folders: list[Path]) -> None:
        """The served copy, made once: the dashboard's bar above the report, and `<runs>` instead of the
        server's path wherever a part of the report that failed names a file (escaped: this is HTML); then a
        gzip copy beside it (a report is ~5 MB, ~1.5 MB compressed). The CSP hashes are taken from this file."""
        from scorelab.server.templating import ENV

        text = path.read_text(encoding="utf-8")
        root = self.runs.root
        for form in sorted({str(root.resolve()), str(root.absolute())}, key=len, reverse=True):
            text = text.replace(form, "&lt;runs&gt;")
        bar = ENV.get_template("report_bar.html").render(ids=[f.name for f in folders])
        data = text.replace("<body>", "<body>" + bar, 1).encode("utf-8")
        for target, payload in ((path, data), (path.with_name(path.name + ".gz"), gzip.compress(data, 6, mtime=0))):
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, target)

    def _evict(self, keep: Path) -> None:
        """Keep the newest `max_reports` files (served files are touched, so this is least recently used)."""
        files = []
        for p in self.folder.glob("*.html"):
            try:
                files.append((p.stat().st_mtime, p))
            except OSError:
                continue
        files.sort(reverse=True)
        for _, p in files[self.limits.max_reports:]:
            if p != keep:
                p.unlink(missing_ok=True)
                p.with_name(p.name + ".gz").unlink(missing_ok=True)

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.html")) if self.folder.is_dir() else []


def report_csp(path: Path) -> str:
    """The report's CSP: its own inline scripts by hash, inline styles (plotly sets them), nothing else."""
    st = path.stat()
    hashes = _script_hashes(str(path), st.st_mtime_ns, st.st_size)
    return ("default-src 'none'; script-src " + " ".join(f"'sha256-{h}'" for h in hashes)
            + "; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
              "connect-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


@lru_cache(maxsize=32)
def _script_hashes(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    data = Path(path).read_bytes()
    return tuple(dict.fromkeys(base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()
                               for m in _INLINE_SCRIPT.finditer(data)))


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


class _Worker:
    """One daemon thread for background report builds."""

    def __init__(self) -> None:
        import queue

        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name="scorelab-reports", daemon=True).start()

    def submit(self, fn) -> None:
        self.q.put(fn)

    def _loop(self) -> None:
        while True:
            fn = self.q.get()
            try:
                fn()
            except Exception:
                log.exception("background report")
