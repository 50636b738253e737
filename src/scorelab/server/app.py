"""The dashboard app: routers by concern, templates, static files, and the safety layers around them.

Pages: the runs in the folder; a run (headline measures, sources, downloads); its report (made on
demand and cached); a side-by-side comparison; a form that composes and starts a run in the background
with live progress and cancel; a citizen explorer; experiments. Everything is served from this process:
no CDN, no external script (plotly.js comes from the installed plotly package).

Layers, outermost first: `Guard` (security headers on every response, Fetch Metadata policy, body limit,
session cookie, a plain 500 page), Starlette's TrustedHostMiddleware (Host names), then the routes; the
routes that change state also check the CSRF token (scorelab.server.security).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

import scorelab
from scorelab.errors import ScorelabError
from scorelab.server.jobs import JobRunner
from scorelab.server.reports import ReportCache
from scorelab.server.routers import citizens, compose, downloads, experiments, reports, runs
from scorelab.server.security import CsrfTokens, Guard, Refused, allowed_hosts, redact
from scorelab.server.state import DEFAULT_MAX_CELLS, BadInput, Limits, RunsFolder
from scorelab.server.templating import message_page

TITLES = {400: "Bad request", 403: "Refused", 404: "Not found", 405: "Not allowed", 413: "Too large",
          422: "Cannot read", 429: "Too many runs", 500: "Server error"}


@dataclass
class Dashboard:
    """What the routes share (as `request.app.state.dashboard`)."""

    runs: RunsFolder
    jobs: JobRunner
    reports: ReportCache
    limits: Limits


def create_app(runs_dir: str | Path, *, allow_hosts: tuple[str, ...] | list[str] = (),
               max_cells: int = DEFAULT_MAX_CELLS, bind: str | None = None) -> FastAPI:
    """The dashboard over `runs_dir` (created if missing).

    `allow_hosts`: Host names accepted besides the loopback names (`--allow-host`); `bind`: the address
    the server listens on (a specific IP is accepted as a Host too); `max_cells`: the largest composed
    run, citizens x days (`--max-cells`).
    """
    limits = Limits(max_cells=int(max_cells))
    folder = RunsFolder(Path(runs_dir))
    dash = Dashboard(folder, JobRunner(folder.root, limits), ReportCache(folder, limits), limits)
    app = FastAPI(title="scorelab dashboard", version=scorelab.__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.dashboard = dash
    app.state.csrf = CsrfTokens()
    app.state.allowed_hosts = allowed_hosts(tuple(allow_hosts), bind)
    for r in (runs, reports, compose, citizens, downloads, experiments):
        app.include_router(r.router)
    app.mount("/static", StaticFiles(packages=[("scorelab.server", "static")], follow_symlink=False), name="static")
    _errors(app, folder.root)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=app.state.allowed_hosts, www_redirect=False)
    app.add_middleware(Guard, render_refusal=_refusal)
    return app


def _refusal(status: int, text: str, path: str) -> Response:
    """A request refused before any route ran (cross-site, too large, an unexpected error)."""
    if path.startswith("/api/"):
        return JSONResponse({"error": text}, status_code=status)
    return message_page(status, TITLES.get(status, "Error"), text)


def _errors(app: FastAPI, root: Path) -> None:
    """Every error is a page (or JSON under /api/) that says why, without server paths."""

    def answer(request: Request, status: int, text: str, title: str | None = None) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": text}, status_code=status)
        return message_page(status, title or TITLES.get(status, "Error"), text)

    @app.exception_handler(BadInput)
    async def _bad(request: Request, exc: BadInput) -> Response:
        return answer(request, exc.status, exc.text, exc.title)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return answer(request, exc.status, exc.text)

    @app.exception_handler(ScorelabError)
    async def _scorelab(request: Request, exc: ScorelabError) -> Response:
        return answer(request, 422, redact(str(exc), root), "Cannot read")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        text = {404: "no page at this address", 405: "this address does not take that method"}.get(
            exc.status_code, redact(str(exc.detail), root))
        return answer(request, exc.status_code, text)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return answer(request, 400, f"{where}: {first.get('msg', 'invalid value')}")
