"""The dashboard: a small FastAPI app over a runs folder, for one person on their own machine.

Pages: the runs in the folder; a run (headline measures, downloads); its report (made on demand and
cached); a side-by-side comparison; a form that composes and starts a run in the background with
live progress; a citizen explorer. Everything is served from this process: no CDN, no external
script (plotly.js comes from the installed plotly package).

Safety, because ids come from URLs: a run id is accepted only if it matches a strict pattern AND is
the name of a run folder directly inside the runs folder (never resolved as a path), job ids are
random hex the server made, table names come from a fixed allow-list, and every bad value gives a
4xx page that says what is allowed. The server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import math
import queue
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import scorelab
from scorelab.errors import ScorelabError
from scorelab.store.runfolder import read_manifest, run_folders

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
JOB_ID = re.compile(r"^[0-9a-f]{12}$")
MAX_CITIZENS = 2_000_000   # a dashboard run; bigger runs belong on the command line
MAX_DAYS = 3650
MAX_SEED = 2**32 - 1
MAX_PENDING_JOBS = 4
MAX_COMPARE = 6
SYNC_REPORT_CITIZENS = 300_000  # above this (summed over runs) a report is built in the background
TABLES = {  # allow-list: download name -> file in the run folder
    "citizens": "citizens.parquet", "daily": "daily.parquet", "measures": "measures.parquet",
    "list_events": "list_events.parquet", "ledger": "ledger.parquet", "records": "records.parquet",
    "events": "events.parquet", "appeals": "appeals.parquet", "ties_cut": "ties_cut.parquet",
    "event_counts": "event_counts.parquet",
}
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
# optional regime values on the compose form: (field, label, minimum, maximum, help)
TWEAKS: tuple[tuple[str, str, float, float, str], ...] = (
    ("penalty_scale", "penalty scale", 0.0, 10.0, "multiplies the points of every penalising rule"),
    ("reward_scale", "reward scale", 0.0, 10.0, "multiplies the points of every rewarding rule"),
    ("camera_coverage", "camera coverage", 0.0, 1.0, "share of events within reach of the cameras channel"),
    ("misattribution_scale", "false-match scale", 0.0, 100.0,
     "multiplies every channel's misattribution (false matches), capped at 1"),
    ("association_share", "association household share", 0.0, 1.0,
     "share of a penalty passed to each household member (S1-M7)"),
)

CSS = """
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;
line-height:1.45}header{background:#20232a;color:#fff;padding:.6rem 2rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:1.1rem}
main{max-width:76rem;margin:0 auto;padding:1rem 2rem 4rem}table{border-collapse:collapse;margin:.5rem 0 1rem;
font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .55rem;text-align:left;vertical-align:top}th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}.msg{border-left:5px solid #b00020;background:#fde7ea;
padding:.6rem 1rem;margin:1rem 0}.ok{border-left:5px solid #1b5e20;background:#e8f5e9;padding:.6rem 1rem}
.note{color:#666;font-size:.9rem}form.stack label{display:block;margin:.5rem 0 .1rem;font-weight:600}
form.stack input,form.stack select{padding:.3rem;min-width:16rem}fieldset{border:1px solid #ccc;margin:1rem 0}
button,.button{background:#0b57d0;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;cursor:pointer;
font-size:.95rem;text-decoration:none;display:inline-block}progress{width:30rem;height:1.3rem}
ol.account li{margin:.15rem 0}code{background:#f3f3f3;padding:0 .2rem}
footer{color:#888;font-size:.8rem;text-align:center;margin:2rem 0}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def page(title: str, body: str, status: int = 200, head: str = "") -> HTMLResponse:
    """A dashboard page: inline CSS, no external resource."""
    text = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)} · scorelab</title><style>{CSS}</style>{head}</head><body>"
            "<header><a class=\"brand\" href=\"/\">scorelab</a><a href=\"/\">Runs</a>"
            "<a href=\"/compare\">Compare</a><a href=\"/new\">New run</a></header>"
            f"<main><h1>{_e(title)}</h1>{body}</main><footer>scorelab {_e(scorelab.__version__)} · synthetic "
            "citizens only (row numbers, no identities)</footer></body></html>")
    return HTMLResponse(text, status_code=status)


def message(status: int, title: str, text: str, back: str = "/") -> HTMLResponse:
    return page(title, f'<div class="msg"><p>{_e(text)}</p></div><p><a href="{_e(back)}">Back</a></p>', status)


def _table(head: list[str], rows: list[list[str]], num_from: int = 99) -> str:
    """Rows are already-escaped HTML cells."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        num = ' class="num"'
        out.append("<tr>" + "".join(f"<td{num if i >= num_from else ''}>{c}</td>" for i, c in enumerate(row))
                   + "</tr>")
    return "".join(out) + "</tbody></table>"


class BadInput(Exception):
    """Input a person can fix: shown on a 4xx page with what is allowed."""

    def __init__(self, text: str, status: int = 400, title: str = "Bad request") -> None:
        super().__init__(text)
        self.text, self.status, self.title = text, status, title


# ============================================================================ background work
@dataclass
class Job:
    """A run composed in the dashboard, from queued to done (or failed)."""

    id: str
    preset: str
    params: dict
    regime: str                # a preset name or the path of the composed regime file
    phases: int
    state: str = "queued"      # queued, running, writing, done, failed
    phase: int = 0
    label: str = ""
    day: int = 0
    days: int = 0
    run_id: str | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)

    def progress(self) -> float:
        if self.state == "done":
            return 1.0
        if not self.days:
            return 0.0
        return min(0.999, (self.phase + self.day / self.days) / self.phases)

    def as_json(self) -> dict:
        msg = {"queued": "queued: starts as soon as the runner is free", "running": f"simulating {self.label}: "
               f"day {self.day} of {self.days} (run {self.phase + 1} of {self.phases})",
               "writing": "writing the tables and the summary", "done": f"done: {self.run_id}",
               "failed": f"failed: {self.error}"}[self.state]
        return {"id": self.id, "state": self.state, "progress": round(self.progress(), 4), "phase": self.phase,
                "phases": self.phases, "label": self.label, "day": self.day, "days": self.days,
                "run_id": self.run_id, "error": self.error, "message": msg, "preset": self.preset,
                "params": self.params}


class Worker:
    """One daemon thread that runs queued callables in order (a run at a time: runs use every core)."""

    def __init__(self, name: str) -> None:
        self.q: queue.Queue[Callable[[], None]] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[[], None]) -> None:
        self.q.put(fn)

    def _loop(self) -> None:
        while True:
            fn = self.q.get()
            try:
                fn()
            except Exception:  # the callable records its own failure; the worker must survive
                traceback.print_exc()


class Dashboard:
    """State shared by the routes: the runs folder, jobs, and reports being built."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.runs_worker = Worker("scorelab-runs")
        self.reports_worker = Worker("scorelab-reports")
        self.building: dict[str, str | None] = {}  # report key -> None while building, or an error

    # ---------------------------------------------------------------- runs
    def catalogue(self) -> list[dict]:
        """The runs, read from their manifests (the source of truth; catalogue.duckdb is an index of them).

        Reading manifests, not writing catalogue.duckdb, keeps page views from racing a run that
        refreshes the catalogue as it finishes.
        """
        rows = []
        for folder in self._folders():
            try:
                m = read_manifest(folder)
            except ScorelabError:
                continue
            rows.append({"run_id": folder.name, "regime": (m.get("regime") or {}).get("name"),
                         "title": (m.get("regime") or {}).get("title"),
                         "citizens": (m.get("society") or {}).get("citizens"), "days": m.get("days"),
                         "seed": m.get("seed"), "baseline": m.get("baseline"), "baseline_of": m.get("baseline_of"),
                         "created": m.get("created"), "wall_seconds": m.get("wall_seconds")})
        # newest first, each run followed by its paired baseline
        rows.sort(key=lambda r: (r["created"] or "", r["run_id"]), reverse=True)
        ids = {r["run_id"] for r in rows}
        base = {r["baseline_of"]: r for r in rows if r["baseline_of"] in ids}
        ordered = []
        for r in rows:
            if r["baseline_of"] in ids and base.get(r["baseline_of"]) is r:
                continue
            ordered.append(r)
            if r["run_id"] in base:
                ordered.append(base[r["run_id"]])
        return ordered

    def _folders(self) -> list[Path]:
        root = self.runs_dir.resolve()
        return [f for f in run_folders(self.runs_dir) if f.resolve().parent == root]

    def folder(self, run_id: str) -> Path:
        """The folder of a run id listed in the runs folder; anything else is a 404 (never a path)."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id) or ".." in run_id:
            raise BadInput(f"no run '{run_id}': a run id is letters, digits, '.', '_' and '-' "
                           "(see the list of runs)", 404, "No such run")
        for f in self._folders():
            if f.name == run_id:
                return f
        raise BadInput(f"no run '{run_id}' in the runs folder (see the list of runs)", 404, "No such run")

    # ---------------------------------------------------------------- jobs
    def start_job(self, preset: str, params: dict, regime: str, baseline: str | None) -> Job:
        with self.lock:
            pending = sum(j.state in ("queued", "running", "writing") for j in self.jobs.values())
            if pending >= MAX_PENDING_JOBS:
                raise BadInput(f"{pending} runs are already waiting or running; try again when one has finished "
                               f"(at most {MAX_PENDING_JOBS})", 429, "Too many runs")
            job = Job(uuid.uuid4().hex[:12], preset, params, regime, 2 if baseline else 1)
            self.jobs[job.id] = job
        self.runs_worker.submit(lambda: self._execute(job, baseline))
        return job

    def _execute(self, job: Job, baseline: str | None) -> None:
        from scorelab import api

        def tick(label: str, day: int, days: int) -> None:
            if job.day and day <= job.day:  # days restart: the baseline is done, the regime starts
                job.phase = min(job.phase + 1, job.phases - 1)
            job.label, job.day, job.days = label, day, days
            if job.phase == job.phases - 1 and day >= days:
                job.state = "writing"

        job.state = "running"
        p = job.params
        try:
            folder = api.run(job.regime, citizens=p["citizens"], days=p["days"], seed=p["seed"], baseline=baseline,
                             out=self.runs_dir, progress=tick)
            job.run_id = folder.name
            job.state = "done"
        except ScorelabError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # reported on the job page, not lost in a log
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
            traceback.print_exc()

    def job(self, job_id: str) -> Job:
        if not JOB_ID.match(job_id or "") or job_id not in self.jobs:
            raise BadInput(f"no job '{job_id}' (jobs last as long as the server)", 404, "No such job")
        return self.jobs[job_id]

    # ---------------------------------------------------------------- reports
    def report_path(self, folders: list[Path]) -> tuple[str, Path]:
        parts = []
        for f in folders:
            m = read_manifest(f)
            parts.append(f"{f.name}|{m.get('created')}|{(m.get('regime') or {}).get('sha256')}")
        key = hashlib.sha256(("\n".join(parts) + scorelab.__version__).encode()).hexdigest()[:24]
        return key, self.runs_dir / ".reports" / f"{key}.html"

    def report(self, folders: list[Path]) -> Path | None:
        """The cached report file, building it now (small runs) or in the background (returns None)."""
        key, path = self.report_path(folders)
        if path.is_file():
            return path
        citizens = sum(int(read_manifest(f)["society"]["citizens"]) for f in folders)
        if citizens <= SYNC_REPORT_CITIZENS:
            self._build(key, path, folders)
            return path
        with self.lock:
            state = self.building.get(key, "new")
            if state == "new":
                self.building[key] = None
                self.reports_worker.submit(lambda: self._build_background(key, path, folders))
            elif state is not None:  # it failed: say so, and let a reload try again
                del self.building[key]
                raise BadInput(f"the report could not be built: {state}", 500, "Report failed")
        return None

    def _build(self, key: str, path: Path, folders: list[Path]) -> None:
        from scorelab.report import write_report

        path.parent.mkdir(parents=True, exist_ok=True)
        write_report(folders[0], path, vs=folders[1:])

    def _build_background(self, key: str, path: Path, folders: list[Path]) -> None:
        try:
            self._build(key, path, folders)
            with self.lock:
                self.building.pop(key, None)
        except Exception as exc:
            with self.lock:
                self.building[key] = f"{type(exc).__name__}: {exc}"


# ============================================================================ form parsing
def _int(form: dict, name: str, label: str, lo: int, hi: int, errors: list[str]) -> int | None:
    raw = str(form.get(name, "")).strip().replace(",", "").replace("_", "")
    try:
        v = int(raw)
    except ValueError:
        errors.append(f"{label}: got '{raw}', allowed: a whole number from {lo:,} to {hi:,}")
        return None
    if not lo <= v <= hi:
        errors.append(f"{label}: got {v:,}, allowed: a whole number from {lo:,} to {hi:,}")
        return None
    return v


def _float(form: dict, name: str, label: str, lo: float, hi: float, errors: list[str]) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    try:
        v = float(raw)
    except ValueError:
        errors.append(f"{label}: got '{raw}', allowed: a number from {lo:g} to {hi:g}, or empty for the preset's value")
        return None
    if not (math.isfinite(v) and lo <= v <= hi):
        errors.append(f"{label}: got {raw}, allowed: a number from {lo:g} to {hi:g}, or empty for the preset's value")
        return None
    return v


def compose_regime(preset: str, tweaks: dict[str, float]) -> tuple[dict, list[str]]:
    """The preset's YAML data with the dashboard's changes; each changed block says so in its description."""
    from scorelab.regime.loader import load_regime

    data = yaml.safe_load(load_regime(preset).text)
    changes: list[str] = []

    def note(block: dict, text: str) -> None:
        block["description"] = (str(block.get("description", "")).rstrip() + f" [changed in the dashboard: {text}]"
                                ).strip()
        changes.append(text)

    for sc in data.get("scorers") or []:
        for rule in sc.get("rules") or []:
            pts = float(rule.get("points", 0))
            for key, sign in (("penalty_scale", -1), ("reward_scale", 1)):
                if key in tweaks and pts * sign > 0:
                    rule["points"] = round(pts * tweaks[key], 6)
                    note(rule, f"points {pts:g} x {tweaks[key]:g}")
        channels = sc.get("channels") or {}
        if "camera_coverage" in tweaks and isinstance(channels.get("cameras"), dict):
            cam = channels["cameras"]
            old = cam.get("coverage")
            cam["coverage"] = tweaks["camera_coverage"]
            note(cam, f"coverage {old} -> {tweaks['camera_coverage']:g}")
        if "misattribution_scale" in tweaks:
            for name, ch in channels.items():
                old = float(ch.get("misattribution", 0.0))
                if old:
                    ch["misattribution"] = min(1.0, round(old * tweaks["misattribution_scale"], 9))
                    note(ch, f"{name} misattribution {old:g} x {tweaks['misattribution_scale']:g}")
        if "association_share" in tweaks and isinstance(sc.get("association"), dict):
            a = sc["association"]
            old = a.get("household_share")
            a["household_share"] = tweaks["association_share"]
            note(a, f"household share {old} -> {tweaks['association_share']:g}")
    if changes:
        data["name"] = f"{data['name']}-custom"
        data["title"] = f"{data.get('title', preset)} (changed in the dashboard)"
    return data, changes


# ============================================================================ the app
def create_app(runs_dir: str | Path) -> FastAPI:
    """The dashboard over `runs_dir` (created if missing)."""
    dash = Dashboard(Path(runs_dir))
    app = FastAPI(title="scorelab dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = dash

    # ------------------------------------------------------------ errors: always a page that says why
    @app.exception_handler(BadInput)
    async def _bad(request: Request, exc: BadInput) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.text}, status_code=exc.status)
        return message(exc.status, exc.title, exc.text)

    @app.exception_handler(ScorelabError)
    async def _scorelab(request: Request, exc: ScorelabError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return message(400, "Bad request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        text = "no page at this address" if exc.status_code == 404 else str(exc.detail)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": text}, status_code=exc.status_code)
        return message(exc.status_code, "Not found" if exc.status_code == 404 else "Error", text)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return message(400, "Bad request", f"{where}: {first.get('msg', 'invalid value')}")

    # ------------------------------------------------------------ runs
    @app.get("/", response_class=HTMLResponse)
    def runs_page() -> Response:
        rows = dash.catalogue()
        jobs = sorted(dash.jobs.values(), key=lambda j: j.created, reverse=True)[:10]
        body = []
        if jobs:
            body.append("<h2>Runs started here</h2>" + _table(
                ["job", "preset", "state", "progress", "run"],
                [[f'<a href="/jobs/{j.id}">{j.id}</a>', _e(j.preset), _e(j.state), f"{j.progress():.0%}",
                  f'<a href="/runs/{_e(j.run_id)}">{_e(j.run_id)}</a>' if j.run_id else ""] for j in jobs]))
        if not rows:
            body.append(f'<p>No runs in <code>{_e(dash.runs_dir)}</code> yet. <a class="button" href="/new">'
                        "Compose a run</a> or use <code>scorelab run</code>.</p>")
            return page("Runs", "".join(body))
        table = _table(
            ["compare", "run", "regime", "citizens", "days", "seed", "paired baseline", "created", "", ""],
            [[f'<input type="checkbox" name="runs" value="{_e(r["run_id"])}" aria-label="compare {_e(r["run_id"])}">',
              f'<a href="/runs/{_e(r["run_id"])}">{_e(r["run_id"])}</a>'
              + (f' <span class="note">(baseline of {_e(r["baseline_of"])})</span>' if r["baseline_of"] else ""),
              _e(r["regime"]), f"{r['citizens']:,}" if r["citizens"] else "", _e(r["days"]), _e(r["seed"]),
              _e(r["baseline"] or ""), _e(r["created"] or ""),
              f'<a href="/runs/{_e(r["run_id"])}/report">report</a>',
              f'<a href="/runs/{_e(r["run_id"])}/citizen">citizens</a>'] for r in rows], num_from=3)
        body.append(f'<p>{len(rows)} run(s) in <code>{_e(dash.runs_dir)}</code>. Tick two or more to compare them on '
                    'the same axes. <a class="button" href="/new">New run</a></p>'
                    f'<form method="get" action="/compare">{table}<button type="submit">Compare selected</button>'
                    "</form>")
        return page("Runs", "".join(body))

    @app.get("/api/runs")
    def runs_json() -> list[dict]:
        return dash.catalogue()

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str) -> Response:
        folder = dash.folder(run_id)
        m = read_manifest(folder)
        s = _summary(folder)
        facts = [("regime", f"{(m.get('regime') or {}).get('name')}: {(m.get('regime') or {}).get('title')}"),
                 ("citizens x days (seed)", f"{m['society']['citizens']:,} x {m['days']} (seed {m['seed']})"),
                 ("paired baseline", m.get("baseline") or "none"), ("created", m.get("created")),
                 ("sanctions / rewards", f"{s.get('sanctions_total', 0):,} / {s.get('rewards_total', 0):,}"),
                 ("sanctions resting on false records", _pct(s.get("wrongful_sanction_share"))),
                 ("antisocial acts vs baseline", _pct(s.get("antisocial_change"), True)),
                 ("lawful expression vs baseline", _pct(s.get("expression_change"), True))]
        base = m.get("baseline")
        links = (f'<p><a class="button" id="open-report" href="/runs/{_e(run_id)}/report">Open the report</a> '
                 f'<a class="button" href="/runs/{_e(run_id)}/citizen">Explore citizens</a> '
                 + (f'<a href="/runs/{_e(base)}">paired baseline run</a>' if base else "") + "</p>")
        downloads = []
        for name, file in TABLES.items():
            path = folder / file
            if not path.is_file():
                continue
            try:
                n = pq.ParquetFile(path).metadata.num_rows
            except (OSError, pa.ArrowException):
                continue
            downloads.append([_e(name), f"{n:,}",
                              f'<a id="dl-{name}-csv" href="/runs/{_e(run_id)}/tables/{name}.csv" download>CSV</a>',
                              f'<a id="dl-{name}-parquet" href="/runs/{_e(run_id)}/tables/{name}.parquet" download>'
                              "Parquet</a>"])
        body = (_table(["", ""], [[_e(k), _e(v)] for k, v in facts]) + links + "<h2>Tables</h2>"
                + '<p class="note">Columns: docs/RUN_FORMAT.md. CSV is converted while it streams; Parquet is the file '
                  "itself.</p>" + _table(["table", "rows", "", ""], downloads, num_from=1))
        return page(f"Run {run_id}", body)

    @app.get("/runs/{run_id}/report")
    def run_report(run_id: str) -> Response:
        folder = dash.folder(run_id)
        return _serve_report(dash, [folder], f"/runs/{run_id}")

    @app.get("/compare")
    def compare(request: Request) -> Response:
        ids = [str(x) for x in request.query_params.getlist("runs")]
        if not ids:
            rows = dash.catalogue()
            checks = "".join(f'<label><input type="checkbox" name="runs" value="{_e(r["run_id"])}"> '
                             f'{_e(r["run_id"])}</label><br>' for r in rows)
            return page("Compare runs", '<p>Choose two or more runs: the report shows them side by side on the '
                        'same axes.</p><form method="get" action="/compare" class="stack">'
                        + (checks or "<p>No runs yet.</p>") + '<p><button type="submit">Compare</button></p></form>')
        unique = list(dict.fromkeys(ids))
        if len(unique) < 2 or len(unique) > MAX_COMPARE:
            raise BadInput(f"choose from 2 to {MAX_COMPARE} different runs to compare (got {len(unique)})")
        folders = [dash.folder(i) for i in unique]
        return _serve_report(dash, folders, "/compare")

    # ------------------------------------------------------------ compose a run
    @app.get("/new", response_class=HTMLResponse)
    def new_form() -> Response:
        return _compose_page()

    @app.post("/new")
    async def new_run(request: Request) -> Response:
        from scorelab.regime.compiled import compile_regime
        from scorelab.regime.loader import load_regime, preset_names

        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        errors: list[str] = []
        presets = preset_names()
        preset = form.get("preset", "")
        if preset not in presets:
            errors.append(f"preset: got '{preset}', allowed: {', '.join(presets)}")
        baseline = form.get("baseline", "none")
        if baseline not in ("", *presets):
            errors.append(f"baseline: got '{baseline}', allowed: {', '.join(presets)} or no baseline")
        citizens = _int(form, "citizens", "citizens", 1, MAX_CITIZENS, errors)
        days = _int(form, "days", "days", 1, MAX_DAYS, errors)
        seed = _int(form, "seed", "seed", 0, MAX_SEED, errors)
        tweaks = {}
        for key, label, lo, hi, _ in TWEAKS:
            v = _float(form, key, label, lo, hi, errors)
            if v is not None:
                tweaks[key] = v
        if errors:
            return _compose_page(form, errors, 400)
        params = {"citizens": citizens, "days": days, "seed": seed, "baseline": baseline or None, **tweaks}
        regime = preset
        if tweaks:
            data, changes = compose_regime(preset, tweaks)
            if not changes:
                return _compose_page(form, ["none of the changed values applies to this preset (it has no such "
                                            "rules, channel or association block)"], 400)
            folder = dash.runs_dir / ".compose"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{data['name']}-{uuid.uuid4().hex[:8]}.yaml"
            path.write_text("# composed in the scorelab dashboard from preset " + preset + "\n"
                            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
            regime = str(path)
        try:  # a regime that cannot compile is the form's problem, said now rather than in the job
            loaded = load_regime(regime)
            compile_regime(loaded.regime, loaded.origin)
        except ScorelabError as exc:
            return _compose_page(form, [str(exc)], 400)
        job = dash.start_job(preset, params, regime, baseline or None)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(job_id: str) -> Response:
        job = dash.job(job_id)
        params = ", ".join(f"{k} {v}" for k, v in job.params.items() if v is not None)
        body = f"""<p>Preset <strong>{_e(job.preset)}</strong>: {_e(params)}.</p>
<p><progress id="job-progress" max="1" value="{job.progress():.4f}"></progress> <span id="job-pct">
{job.progress():.0%}</span></p><p id="job-state" data-state="{_e(job.state)}">{_e(job.as_json()['message'])}</p>
<p id="job-links"></p>
<noscript><p class="note">Reload this page to see the progress.</p></noscript>
<script>
(function () {{
  var url = "/api/jobs/{job.id}";
  var bar = document.getElementById("job-progress"), pct = document.getElementById("job-pct");
  var state = document.getElementById("job-state"), links = document.getElementById("job-links");
  function poll() {{
    fetch(url, {{cache: "no-store"}}).then(function (r) {{ return r.json(); }}).then(function (j) {{
      bar.value = j.progress; pct.textContent = Math.round(j.progress * 100) + "%";
      state.textContent = j.message; state.setAttribute("data-state", j.state);
      if (j.state === "done") {{
        var id = encodeURIComponent(j.run_id);
        links.innerHTML = '<a class="button" id="open-report" href="/runs/' + id + '/report">Open the report</a> ' +
          '<a class="button" id="open-run" href="/runs/' + id + '">Run and tables</a> ' +
          '<a class="button" id="open-citizens" href="/runs/' + id + '/citizen">Explore citizens</a>';
        return;
      }}
      if (j.state === "failed") {{ state.className = "msg"; return; }}
      setTimeout(poll, 400);
    }}).catch(function () {{ setTimeout(poll, 1500); }});
  }}
  poll();
}})();
</script>"""
        return page(f"Run {job.id}", body)

    @app.get("/api/jobs/{job_id}")
    def job_json(job_id: str) -> dict:
        return dash.job(job_id).as_json()

    # ------------------------------------------------------------ citizen explorer
    @app.get("/runs/{run_id}/citizen", response_class=HTMLResponse)
    def citizen_page(run_id: str, typed: str = Query("", alias="id")) -> Response:
        """`?id=` is what a person types: parsed here so that a wrong value gets a page, not a 422."""
        folder = dash.folder(run_id)
        from scorelab.ledger.explain import citizen_count

        n = citizen_count(folder)
        form = (f'<form method="get" class="stack" action="/runs/{_e(run_id)}/citizen">'
                f'<label for="citizen-id">Citizen id (0 to {n - 1:,})</label>'
                f'<input id="citizen-id" name="id" value="{_e(typed)}" inputmode="numeric" autocomplete="off"> '
                '<button type="submit" id="explain">Explain</button></form>')
        tries = _notable_citizens(folder)
        hint = ("<p class=\"note\">Citizens who met sanctions: " + ", ".join(
            f'<a href="/runs/{_e(run_id)}/citizen?id={c}">{c}</a>' for c in tries) + "</p>") if tries else ""
        title = f"Citizens of {run_id}"
        if not typed.strip():
            return page(title, form + hint)
        try:
            c = int(typed.strip())
        except ValueError:
            return page(title, f'<div class="msg">citizen: got \'{_e(typed)}\', allowed: a citizen id from 0 to {n - 1}'
                               f"</div>{form}{hint}", 400)
        if not 0 <= c < n:
            return page(title, f'<div class="msg">no citizen {c} in this run (allowed: a citizen id from 0 to {n - 1})'
                               f"</div>{form}{hint}", 404)
        from scorelab import api

        try:
            e = api.explain(folder, c)
        except ScorelabError as exc:
            return page(title, f'<div class="msg">cannot explain citizen {c}: {_e(exc)}</div>{form}', 400)
        return page(title, form + hint + _account_html(e, run_id), head=_plotly_head())

    @app.get("/assets/plotly.js")
    def plotly_js() -> Response:
        from plotly.offline import get_plotlyjs

        return Response(get_plotlyjs(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    # ------------------------------------------------------------ downloads
    @app.get("/runs/{run_id}/tables/{name}")
    def download(run_id: str, name: str) -> Response:
        folder = dash.folder(run_id)
        table, _, fmt = name.rpartition(".")
        if table not in TABLES or fmt not in FORMATS:
            raise BadInput(f"no table '{name}': allowed: " + ", ".join(f"{t}.csv, {t}.parquet" for t in TABLES),
                           404, "No such table")
        path = folder / TABLES[table]
        if not path.is_file():
            raise BadInput(f"this run has no {table} table", 404, "No such table")
        filename = f"{run_id}-{table}.{fmt}"
        if fmt == "parquet":
            return FileResponse(path, media_type=FORMATS[fmt], filename=filename)
        return StreamingResponse(_csv_chunks(path), media_type=FORMATS[fmt],
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return app


# ============================================================================ page parts
def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.2%}" if signed else f"{x:.2%}"


def _summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _serve_report(dash: Dashboard, folders: list[Path], back: str) -> Response:
    path = dash.report(folders)
    if path is None:
        ids = ", ".join(f.name for f in folders)
        return page("Building the report", f'<p id="building">Building the report of {_e(ids)}: large runs take a '
                    "minute (stories read the whole ledger). This page reloads itself.</p>"
                    f'<p><a href="{_e(back)}">Back</a></p>', 202,
                    head='<meta http-equiv="refresh" content="3">')
    text = path.read_text(encoding="utf-8")
    bar = ('<div style="background:#0b57d0;padding:.35rem 2rem;font:14px system-ui,sans-serif">'
           '<a style="color:#fff;margin-right:1.5rem" href="/">&larr; all runs</a>'
           + "".join(f'<a style="color:#fff;margin-right:1.5rem" href="/runs/{_e(f.name)}">{_e(f.name)}</a>'
                     for f in folders) + "</div>")
    return HTMLResponse(text.replace("<body>", "<body>" + bar, 1))


def _compose_page(form: dict | None = None, errors: list[str] | None = None, status: int = 200) -> HTMLResponse:
    from scorelab.regime.loader import load_regime, preset_names

    form = form or {}
    presets = preset_names()
    chosen = form.get("preset", "unified" if "unified" in presets else presets[0])
    opts = "".join(f'<option value="{_e(p)}"{" selected" if p == chosen else ""}>{_e(p)}: '
                   f"{_e(load_regime(p).regime.title)}</option>" for p in presets)
    base = form.get("baseline", "none")
    base_opts = ('<option value="">no baseline</option>' + "".join(
        f'<option value="{_e(p)}"{" selected" if p == base else ""}>{_e(p)}</option>' for p in presets))

    def field_(name: str, label: str, default: str, help_: str) -> str:
        return (f'<label for="{name}">{_e(label)}</label><input id="{name}" name="{name}" '
                f'value="{_e(form.get(name, default))}"> <span class="note">{_e(help_)}</span>')

    tweaks = "".join(field_(k, f"{label} ({lo:g} to {hi:g})", "", help_) for k, label, lo, hi, help_ in TWEAKS)
    msg = ('<div class="msg"><p>The run was not started:</p><ul>' + "".join(f"<li>{_e(x)}</li>" for x in errors)
           + "</ul></div>") if errors else ""
    body = (msg + '<form method="post" action="/new" class="stack" id="compose">'
            f'<label for="preset">Regime preset</label><select id="preset" name="preset">{opts}</select>'
            + field_("citizens", f"Citizens (1 to {MAX_CITIZENS:,})", "10000", "synthetic citizens (row numbers)")
            + field_("days", f"Days (1 to {MAX_DAYS:,})", "90", "days to simulate")
            + field_("seed", "Seed", "1", "same seed, same run")
            + f'<label for="baseline">Paired baseline</label><select id="baseline" name="baseline">{base_opts}</select>'
            ' <span class="note">same society and seed; behaviour change is measured against it</span>'
            f"<fieldset><legend>Optional regime values (empty: the preset's own)</legend>{tweaks}</fieldset>"
            '<p><button type="submit" id="start-run">Start the run</button></p></form>'
            '<p class="note">The run goes into the runs folder like one made with <code>scorelab run</code>; a changed '
            "regime is saved as <code>&lt;preset&gt;-custom</code> and every changed block says so.</p>")
    return page("New run", body, status)


def _notable_citizens(folder: Path, k: int = 8) -> list[int]:
    """A few citizens worth a look: the most sanctioned (from measures.parquet, a small table)."""
    import duckdb

    path = folder / "measures.parquet"
    if not path.is_file():
        return []
    con = duckdb.connect()
    try:
        q = "'" + str(path).replace("'", "''") + "'"
        rows = con.execute(f"SELECT citizen, count(*) AS n FROM {q} WHERE kind = 'sanction' GROUP BY 1 "
                           f"ORDER BY n DESC, citizen LIMIT {int(k)}").fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def _plotly_head() -> str:
    return '<script src="/assets/plotly.js"></script>'


def _account_html(e: dict, run_id: str) -> str:
    prof = e.get("profile") or {}
    fin = e.get("final") or {}

    def show(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, list | tuple):
            return ", ".join(map(str, v)) or "none"
        return str(v)

    facts = _table(["", ""], [[_e(k.replace("_", " ")), _e(show(v))] for k, v in (*prof.items(), *fin.items())])
    lines = "".join(f"<li>{_e(x)}</li>" for x in e.get("account") or [])
    notes = "".join(f"<li>{_e(x)}</li>" for x in e.get("notes") or [])
    chart = ""
    pts = [p for p in e.get("points") or [] if p.get("score_after") is not None]
    if pts:
        by: dict[str, tuple[list, list]] = {}
        for p in pts:  # each scorer's line starts from its initial score on day 0
            start = round(float(p["score_after"]) - float(p.get("delta") or 0.0), 4)
            xs, ys = by.setdefault(str(p.get("scorer")), ([0], [start]))
            xs.append(p["day"])
            ys.append(round(float(p["score_after"]), 4))
        for xs, ys in by.values():  # and runs flat to the last day
            xs.append(max(int(e.get("days") or 1) - 1, xs[-1]))
            ys.append(ys[-1])
        traces = [{"x": xs, "y": ys, "name": s, "mode": "lines+markers", "line": {"shape": "hv"}}
                  for s, (xs, ys) in by.items()]
        layout = {"title": {"text": "Score after each change"}, "height": 320, "margin": {"l": 60, "r": 20, "t": 40},
                  "xaxis": {"title": {"text": "day"}, "range": [0, e.get("days", 0)]},
                  "yaxis": {"title": {"text": "score"}}}
        chart = ('<div id="citizen-chart" style="height:320px"></div><script>Plotly.newPlot("citizen-chart", '
                 + json.dumps(traces).replace("</", "<\\/") + ", " + json.dumps(layout).replace("</", "<\\/")
                 + ', {"displaylogo": false, "responsive": true});</script>')
    return (f'<h2 id="citizen-heading">Citizen {_e(e.get("citizen"))} of {_e(run_id)}</h2>{facts}{chart}'
            f'<h3>What happened, day by day</h3><ol class="account" id="account">{lines}</ol>'
            + (f'<details><summary>Notes</summary><ul class="note">{notes}</ul></details>' if notes else ""))


def _csv_chunks(path: Path) -> Iterator[bytes]:
    """Parquet to CSV, batch by batch: memory stays flat however large the table."""
    pf = pq.ParquetFile(path)
    header = True
    for batch in pf.iter_batches(batch_size=65_536):
        buf = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), buf, write_options=pacsv.WriteOptions(include_header=header))
        header = False
        yield buf.getvalue()
    if header:  # no rows: the header alone
        buf = io.BytesIO()
        pacsv.write_csv(pf.schema_arrow.empty_table(), buf)
        yield buf.getvalue()
