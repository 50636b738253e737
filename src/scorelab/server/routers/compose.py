"""Composing a run: the form, starting it, its progress page and JSON, and cancelling it.

The two routes that change state (start, cancel) depend on `csrf_protect`: same origin, and the CSRF
token of the session cookie. Everything is checked before anything is written, so a refused request
writes nothing.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scorelab.errors import ScorelabError
from scorelab.server import compose as C
from scorelab.server.security import CSRF_FIELD, csrf_protect, redact
from scorelab.server.templating import render

router = APIRouter(tags=["compose"])

# The form as OpenAPI sees it (the route parses the raw form itself, to say what is allowed for each field).
_FORM_SCHEMA = {
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["preset", "citizens", "days", "seed", CSRF_FIELD],
        "properties": {
            CSRF_FIELD: {"type": "string"}, "preset": {"type": "string"}, "baseline": {"type": "string"},
            "citizens": {"type": "string"}, "days": {"type": "string"}, "seed": {"type": "string"},
            "set:scorers.state.channels.cameras.misattribution": {"type": "string"},
            "set:scorers.state.channels.cameras.coverage": {"type": "string"},
        }}}}}}


@lru_cache(maxsize=1)
def _presets() -> tuple[dict, ...]:
    """The presets with their knobs (package data: read once per process)."""
    from scorelab.regime.loader import load_regime, preset_names

    out = []
    for name in preset_names():
        scorers: dict[str, dict] = {}
        for k in C.knobs(name):
            sc = scorers.setdefault(k.scorer, {"name": k.scorer, "channels": {}, "association": []})
            if k.group == "association":
                sc["association"].append(k)
            else:
                sc["channels"].setdefault(k.group, {})[k.spec.field] = k
        out.append({"name": name, "title": load_regime(name).regime.title, "scorers": list(scorers.values())})
    return tuple(out)


def _form_page(request: Request, form: dict[str, str], errors: list[str] | None = None, status: int = 200) -> Response:
    presets = _presets()
    names = [p["name"] for p in presets]
    chosen = form.get("preset") if form.get("preset") in names else ("unified" if "unified" in names else names[0])
    shown = {**{k: str(v) for k, v in C.DEFAULTS.items()}, **form}
    return render(request, "compose.html", status=status, title="New run", presets=presets, chosen=chosen,
                  form=shown, errors=errors or [], limits=request.app.state.dashboard.limits,
                  reforms=C.reforms_available(), channel_knobs=C.CHANNEL_KNOBS)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, preset: str = Query(default="")) -> Response:
    return _form_page(request, {"preset": preset} if preset else {})


@router.post("/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)], openapi_extra=_FORM_SCHEMA)
async def new_run(request: Request) -> Response:
    from scorelab.regime.loader import preset_names

    dash = request.app.state.dashboard
    raw = await request.form(max_files=0, max_fields=200)
    form = {k: v for k, v in raw.items() if isinstance(v, str) and k != CSRF_FIELD}
    composed, errors = C.parse_form(form, preset_names(), dash.limits)
    if composed is None:
        return _form_page(request, form, errors, 400)
    try:  # a regime that cannot compile is the form's problem, said now rather than in the job
        C.check_composed(composed)
    except ScorelabError as exc:
        return _form_page(request, form, [redact(str(exc), dash.runs.root)], 400)
    job = dash.jobs.submit(composed)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> Response:
    job = request.app.state.dashboard.jobs.get(job_id)
    return render(request, "job.html", title=f"Run {job.run.name}", job=job)


@router.get("/api/jobs/{job_id}")
def job_json(request: Request, job_id: str) -> dict:
    return request.app.state.dashboard.jobs.get(job_id).as_json()


@router.post("/jobs/{job_id}/cancel", dependencies=[Depends(csrf_protect)],
             openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                 "schema": {"type": "object", "required": [CSRF_FIELD],
                            "properties": {CSRF_FIELD: {"type": "string"}}}}}}})
def cancel_job(request: Request, job_id: str) -> Response:
    job = request.app.state.dashboard.jobs.cancel(job_id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
