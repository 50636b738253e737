"""What keeps the dashboard safe when every web page its user visits can send it requests.

- **Host names** (DNS rebinding): only allowed names reach the app (Starlette's TrustedHostMiddleware,
  loopback names by default, more with `scorelab serve --allow-host NAME`).
- **Cross-site requests**: a request another site's page sent (Fetch Metadata `Sec-Fetch-Site`
  cross-site or same-site, which includes another port of localhost) is refused unless it is a
  plain top-level navigation; a state-changing request must also come from this origin (`Origin`)
  and carry the CSRF token of its session cookie (an HMAC of the cookie under a per-process secret).
- **Headers on every response**: Content-Security-Policy, `X-Frame-Options: DENY`,
  `X-Content-Type-Options: nosniff`, no referrer to other sites, same-origin resource and opener policies.
- **Bodies are small**: a request body over MAX_BODY bytes is refused before it is read.
- **Errors never show server paths** (`redact`), and an unexpected error is a plain 500 page.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import sys
import tempfile
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("scorelab.server")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # as they appear in a Host header
SESSION_COOKIE = "scorelab_session"
CSRF_FIELD = "csrf_token"
MAX_BODY = 64 * 1024  # bytes: the compose form is well under 4 KiB
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The dashboard's own pages: scripts and styles from this server only (plotly sets inline styles).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "font-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
_HOST_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class Refused(Exception):
    """A request refused for safety: shown as a 403 page that says why, and nothing is written."""

    def __init__(self, text: str, status: int = 403) -> None:
        super().__init__(text)
        self.text, self.status = text, status


# ============================================================================ host names
def host_name(name: str) -> str:
    """An allowed Host name as the Host header spells it: a DNS name (`*.` prefix allowed), or an IP
    address (IPv6 in brackets). Raises ValueError with what is allowed."""
    raw = str(name).strip().lower()
    bare = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        ip = None
    if ip is not None:
        return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
    if not _HOST_NAME.match(raw) or len(raw) > 253:
        raise ValueError(f"got '{name}': a host name (letters, digits, '-', '.'; '*.' prefix for subdomains), "
                         "or an IP address")
    return raw


def allowed_hosts(extra: tuple[str, ...] | list[str] = (), bind: str | None = None) -> list[str]:
    """Loopback names, the bound address if it is a specific IP (an IP cannot be rebound), and `extra`."""
    names = list(LOOPBACK_HOSTS)
    if bind:
        try:
            ip = ipaddress.ip_address(bind.strip("[]"))
        except ValueError:
            ip = None
        if ip is not None and not ip.is_unspecified:
            names.append(host_name(bind))
    for n in extra:
        h = host_name(n)
        if h not in names:
            names.append(h)
    return names


# ============================================================================ CSRF tokens
class CsrfTokens:
    """A token per session cookie: HMAC-SHA256 of the cookie under a secret made when the server starts."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def token_for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: object) -> bool:
        if not session or not isinstance(token, str) or len(token) != 64:
            return False
        return hmac.compare_digest(self.token_for(session), token)


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def check_same_origin(headers: Headers) -> None:
    """A state-changing request must come from a page of this origin (Origin and Sec-Fetch-Site)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Refused(f"cross-site request refused (Sec-Fetch-Site: {site}): start runs from the dashboard's own pages")
    origin = headers.get("origin")
    if origin is not None:
        netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
        if not netloc or netloc != headers.get("host", "").lower():
            raise Refused("cross-site request refused (its Origin is not this dashboard): start runs from the "
                          "dashboard's own pages")


# ============================================================================ the middleware
class Guard:
    """Outermost ASGI middleware: security headers on every response, Fetch Metadata policy, body limit,
    session cookie, and a plain 500 page (without details) for anything unexpected."""

    def __init__(self, app: ASGIApp, render_refusal) -> None:
        self.app = app
        self.render_refusal = render_refusal  # (status, text, path) -> Response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = _cookie(headers, SESSION_COOKIE)
        new_session = None
        if session is None or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", session):
            new_session = new_session_id()
        scope.setdefault("state", {})["session"] = new_session or session
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                for k, v in _security_headers():
                    if k not in present:
                        raw.append((k, v))
                if new_session is not None and _is_html(raw):
                    raw.append((b"set-cookie", f"{SESSION_COOKIE}={new_session}; Path=/; HttpOnly; "
                                               "SameSite=Strict".encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is not None:
                await self.render_refusal(*refusal, scope.get("path", ""))(scope, receive, send_with_headers)
                return
            await self.app(scope, _limited(receive), send_with_headers)
        except _TooLarge:
            if not started:
                await self.render_refusal(413, f"the request body is larger than {MAX_BODY // 1024} KiB",
                                          scope.get("path", ""))(scope, receive, send_with_headers)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await self.render_refusal(500, "something went wrong on the server; the error is in the server's "
                                               "log", scope.get("path", ""))(scope, receive, send_with_headers)

    @staticmethod
    def _refusal(scope: Scope, headers: Headers) -> tuple[int, str] | None:
        """(status, why) for a request refused before it reaches the app, else None."""
        method = scope.get("method", "GET")
        site = headers.get("sec-fetch-site")
        if site in ("cross-site", "same-site"):
            navigation = (method in ("GET", "HEAD") and headers.get("sec-fetch-mode") == "navigate"
                          and headers.get("sec-fetch-dest", "document") == "document")
            if not navigation:  # another site's script, image, frame or form post
                return 403, (f"cross-site request refused (Sec-Fetch-Site: {site}): this dashboard answers its own "
                              "pages and links followed to it")
        if method not in SAFE_METHODS:
            try:
                check_same_origin(headers)
            except Refused as exc:
                return exc.status, exc.text
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                return 413, f"the request body is larger than {MAX_BODY // 1024} KiB"
        return None


class _TooLarge(Exception):
    pass


def _limited(receive: Receive) -> Receive:
    """Count the body as it arrives (a chunked body has no Content-Length) and stop past MAX_BODY."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _TooLarge()
        return message

    return wrapped


def _security_headers() -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-resource-policy", b"same-origin")]


def _is_html(raw: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in raw)


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    try:
        jar = SimpleCookie()
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


# ============================================================================ no server paths in messages
_ABS_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"()<>:]+/)+[^\s/'\"()<>:]*")


def redact(text: str, *roots: Path) -> str:
    """`text` without server paths: known folders become placeholders, any other absolute path its last part."""
    out = str(text)
    places = [(r, "<runs>") for r in roots] + [
        (Path.cwd(), "<cwd>"), (Path(tempfile.gettempdir()), "<tmp>"), (Path(sys.prefix), "<python>"),
        (Path.home(), "~")]
    subs: list[tuple[str, str]] = []
    for p, label in places:
        for form in {str(p), str(p.resolve()) if p.exists() else str(p)}:
            if len(form) > 1:
                subs.append((form.rstrip(os.sep), label))
    for form, label in sorted(subs, key=lambda s: -len(s[0])):
        out = out.replace(form, label)
    return _ABS_PATH.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], out)


async def csrf_protect(request: Request) -> None:
    """FastAPI dependency of every state-changing route: same origin, and the session cookie's CSRF token."""
    check_same_origin(request.headers)
    form = await request.form(max_files=0, max_fields=200)
    tokens: CsrfTokens = request.app.state.csrf
    if not tokens.valid(request.cookies.get(SESSION_COOKIE), form.get(CSRF_FIELD)):
        raise Refused("the form's security token is missing or out of date (it is tied to this browser's session "
                      "and to this server's start): reload the dashboard's page and send the form again")
