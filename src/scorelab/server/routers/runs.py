"""The runs folder: the list of runs (and runs started here), one run's page, and the JSON list."""

from __future__ import annotations

import os
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from scorelab.server.state import BadInput
from scorelab.server.tables import TABLES
from scorelab.server.templating import render

router = APIRouter(tags=["runs"])
MAX_REGIME_BYTES = 2 * 1024 * 1024
MAX_REFERENCES = 500


@router.get("/", response_class=HTMLResponse)
def runs_page(request: Request) -> Response:
    dash = request.app.state.dashboard
    return render(request, "runs.html", title="Runs", rows=dash.runs.catalogue(), jobs=dash.jobs.recent(),
                  folder_name=dash.runs.root.name)


@router.get("/api/runs")
def runs_json(request: Request) -> list[dict]:
    return request.app.state.dashboard.runs.catalogue()


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> Response:
    runs = request.app.state.dashboard.runs
    folder = runs.folder(run_id)
    m = runs.manifest(folder)
    s = runs.summary(folder)
    reg = m.get("regime") if isinstance(m.get("regime"), dict) else {}
    soc = m.get("society") if isinstance(m.get("society"), dict) else {}
    citizens = soc.get("citizens")
    size = f"{citizens:,}" if isinstance(citizens, int) else str(citizens)
    facts = [("regime", f"{reg.get('name')}: {reg.get('title')}"),
             ("citizens x days (seed)", f"{size} x {m.get('days')} (seed {m.get('seed')})"),
             ("paired baseline", m.get("baseline") or "none"), ("created", m.get("created")),
             ("sanctions / rewards", f"{_count(s.get('sanctions_total'))} / {_count(s.get('rewards_total'))}"),
             ("sanctions resting on false records", _pct(s.get("wrongful_sanction_share"))),
             ("antisocial acts vs baseline", _pct(s.get("antisocial_change"), True)),
             ("lawful expression vs baseline", _pct(s.get("expression_change"), True))]
    downloads = []
    for name, file in TABLES.items():
        try:
            with runs.open_file(run_id, file) as fh:
                downloads.append((name, pq.ParquetFile(fh).metadata.num_rows))
        except (BadInput, OSError, pa.ArrowException):
            continue
    return render(request, "run.html", title=f"Run {run_id}", run_id=run_id, facts=facts,
                  baseline=m.get("baseline") if isinstance(m.get("baseline"), str) else None,
                  downloads=downloads, references=_references(runs, run_id))


def _references(runs, run_id: str) -> list[dict]:
    """The references of the run's regime.yaml, as text fields (the template links http(s) URLs only)."""
    try:
        with runs.open_file(run_id, "regime.yaml") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > MAX_REGIME_BYTES:
                return []
            return list(_parse_references(fh.read(MAX_REGIME_BYTES + 1), st.st_mtime_ns))
    except (BadInput, OSError):
        return []


@lru_cache(maxsize=64)
def _parse_references(raw: bytes, mtime_ns: int) -> tuple[dict, ...]:
    """Parsed once per file version (libyaml when present: a page view should not wait on YAML)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=loader)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return ()
    refs = data.get("references") if isinstance(data, dict) else None
    if not isinstance(refs, dict):
        return ()
    out = []
    for key, r in list(refs.items())[:MAX_REFERENCES]:
        r = r if isinstance(r, dict) else {}
        out.append({"key": _text(key), **{f: _text(r.get(f)) for f in ("title", "document", "reliability", "url")}})
    return tuple(out)


def _text(v: object, limit: int = 500) -> str:
    return "" if v is None or isinstance(v, dict | list) else str(v)[:limit]


def _count(x: object) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else "n/a"


def _pct(x: object, signed: bool = False) -> str:
    if not isinstance(x, int | float) or isinstance(x, bool):
        return "n/a"
    return f"{x:+.2%}" if signed else f"{x:.2%}"
