"""Reports of one run and comparisons of several, made on demand by scorelab.report and cached."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from scorelab.server.reports import report_csp
from scorelab.server.state import BadInput
from scorelab.server.templating import render

router = APIRouter(tags=["reports"])


@router.get("/runs/{run_id}/report", response_class=HTMLResponse)
def run_report(request: Request, run_id: str) -> Response:
    dash = request.app.state.dashboard
    return _serve(request, [dash.runs.folder(run_id)], f"/runs/{run_id}")


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request, runs: list[str] = Query(default=[])) -> Response:
    dash = request.app.state.dashboard
    if not runs:
        return render(request, "compare.html", title="Compare runs", rows=dash.runs.catalogue(),
                      max_compare=dash.limits.max_compare)
    unique = list(dict.fromkeys(str(x) for x in runs))
    if not 2 <= len(unique) <= dash.limits.max_compare:
        raise BadInput(f"choose from 2 to {dash.limits.max_compare} different runs to compare (got {len(unique)})")
    return _serve(request, [dash.runs.folder(i) for i in unique], "/compare")


def _serve(request: Request, folders: list[Path], back: str) -> Response:
    dash = request.app.state.dashboard
    path = dash.reports.get(folders)
    if path is None:
        return render(request, "building.html", status=202, title="Building the report",
                      ids=", ".join(f.name for f in folders), back=back)
    headers = {"Content-Security-Policy": report_csp(path), "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    packed = path.with_name(path.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
        return Response(packed.read_bytes(), media_type="text/html; charset=utf-8",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8", headers=headers)
