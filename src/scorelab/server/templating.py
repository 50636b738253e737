"""Jinja2 templates of the dashboard (package data under server/templates), always autoescaped."""

from __future__ import annotations

from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

import scorelab

ENV = Environment(loader=PackageLoader("scorelab.server", "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def link_url(url: object) -> str | None:
    """The URL if it may become a link (http or https), else None: `javascript:` and friends stay text."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(c in text for c in "\r\n\t"):
        return text
    return None


def _num(x: object) -> str:
    if isinstance(x, bool) or x is None:
        return "" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.2f}"
    return str(x)


def _pct(x: object, signed: bool = False) -> str:
    if not isinstance(x, int | float) or isinstance(x, bool):
        return "n/a"
    return f"{x:+.2%}" if signed else f"{x:.2%}"


ENV.filters.update(num=_num, pct=_pct, link_url=link_url)
ENV.globals.update(version=scorelab.__version__)


def render(request: Request | None, template: str, status: int = 200, headers: dict | None = None,
           **context) -> HTMLResponse:
    """A page from a template; `csrf_token` is there for forms that change state."""
    if request is not None and "csrf_token" not in context:
        tokens = getattr(request.app.state, "csrf", None)
        session = request.scope.get("state", {}).get("session")
        context["csrf_token"] = tokens.token_for(session) if tokens is not None and session else ""
    text = ENV.get_template(template).render(**context)
    return HTMLResponse(text, status_code=status, headers=headers)


def message_page(status: int, title: str, text: str, back: str = "/") -> HTMLResponse:
    """An error or refusal page: what went wrong and what is allowed (the text must hold no server path)."""
    return render(None, "message.html", status=status, title=title, text=text, back=back, csrf_token="")
