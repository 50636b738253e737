"""Jinja2 rendering shared by the report, the regime card and `explain`: one set of filters, two environments.

Templates are package data (report/templates). HTML templates render with autoescaping on, so
text from regime files, run ids and summaries can never become markup; Markdown and plain-text
templates render without it. Numbers go through one filter, `measure`, which takes either a
plain number or a replication-set entry `{"mean", "sd", "ci95": [low, high], "n"}` (what
`scorelab summary SET --json` gives for every numeric measure) and prints the mean with its 95%
interval, so a template works the same for one run and for a set.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from scorelab.report import sources as S

# Where the report links for the full documents: the project's docs folder. A report is read next
# to a checkout (`scorelab report ... --out report.html` at the top of the repository) or from the
# dashboard; pass `docs=` to point elsewhere (the public repository's docs URL, once published).
DOCS_URL = "docs/"


# ============================================================================ values
def is_replicated(v: Any) -> bool:
    """A replication-set entry: {"mean", "sd", "ci95": [low, high], "n"}."""
    return isinstance(v, dict) and "mean" in v and "ci95" in v


def mean_of(v: Any) -> float | None:
    """The number itself, or a set entry's mean; None for anything else (absent, null, text)."""
    if is_replicated(v):
        v = v["mean"]
    if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return v


def interval_of(v: Any) -> tuple[float, float] | None:
    if is_replicated(v):
        ci = v.get("ci95") or ()
        if len(ci) == 2 and all(mean_of(x) is not None for x in ci):
            return float(ci[0]), float(ci[1])
    return None


def dig(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]...; None when any level is absent (summary keys arrive over time)."""
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


# ============================================================================ numbers as words
def _fixed(x: float, sig: int = 2) -> str:
    """x with at most `sig` significant digits in fixed notation, never scientific: 0.00059, 0.5, 0.103."""
    if x == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _pct_text(x: float, signed: bool) -> str:
    p = x * 100.0
    if abs(p) >= 10:
        body = f"{abs(p):.1f}".removesuffix(".0") if abs(p) < 100 else f"{abs(p):,.0f}"
    elif abs(p) >= 1:
        body = f"{abs(p):.1f}".removesuffix(".0")
    else:
        body = _fixed(abs(p), 2)
    sign = ("+" if p > 0 else "-" if p < 0 else "") if signed else ("-" if p < 0 else "")
    return f"{sign}{body}%"


def _count_text(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def _num_text(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return _fixed(x, 2)


STYLES = {
    "pct": lambda x: _pct_text(x, False),        # a share 0..1 -> '0.59%'
    "change": lambda x: _pct_text(x, True),      # a relative change -> '+1.8%', '-10%'
    "count": _count_text,                        # citizens, sanctions -> '6,777'
    "num": _num_text,                            # anything else -> '0.17', '994'
    "rate": lambda x: _fixed(x, 3) if abs(x) < 100 else f"{x:,.0f}",  # per 1,000 -> '49.4', '6.49', '0.103'
    "yuan": lambda x: f"{_count_text(x)} yuan",
    "signed_yuan": lambda x: ("+" if x > 0 else "") + f"{_count_text(x)} yuan",
    "ratio": lambda x: f"{x:.2f}",
}


def measure(v: Any, style: str = "num", missing: str = "n/a") -> str:
    """A plain number or a replication-set entry, as text: '0.59%' or '0.59% (95% CI 0.40% to 0.88%, 10 runs)'."""
    fmt = STYLES[style]
    m = mean_of(v)
    if m is None:
        return missing
    text = fmt(m)
    ci = interval_of(v)
    if ci is not None:
        n = v.get("n")
        runs = f", {n} runs" if isinstance(n, int) else ""
        text += f" (95% CI {fmt(ci[0])} to {fmt(ci[1])}{runs})"
    return text


def plural(n: Any, word: str, many: str | None = None) -> str:
    m = mean_of(n)
    return word if m is not None and abs(m) == 1 else (many or word + "s")


def plain(x: Any) -> str:
    """A parameter as the card prints it: '' for None, yes/no, 5 for 5.0, 0.0002 for 2e-4."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def pnum(x: float) -> str:
    """A score or point count as `explain` prints it: 995, 967.65."""
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def pts(x: float) -> str:
    """'-5 points', '+1 point', '+0.42 points'."""
    if abs(x - round(x)) < 1e-9:
        v = int(round(x))
        return f"{v:+d} point" + ("" if abs(v) == 1 else "s")
    return f"{x:+.2f} points"


def amount(x: float) -> str:
    """'5 points', '1 point', '0.42 points' (a magnitude, no sign)."""
    return pts(abs(x))[1:]


def md_cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def capfirst(x: Any) -> str:
    s = str(x)
    return s[:1].upper() + s[1:]


# ============================================================================ links
def mechanism_links(text: Any, docs: str = DOCS_URL, mode: str = "html") -> Any:
    """Mechanism ids in free text (S1-M7) as links to docs/MECHANISMS.md; the rest escaped in HTML."""
    s = str(text)
    if mode == "html":
        out, last = [], 0
        for m in S.MECHANISM_ID.finditer(s):
            out.append(escape(s[last:m.start()]))
            out.append(Markup('<a class="mech" href="{}">{}</a>').format(S.mechanism_url(m.group(), docs), m.group()))
            last = m.end()
        out.append(escape(s[last:]))
        return Markup("").join(out)
    if mode == "md":
        return S.MECHANISM_ID.sub(lambda m: f"[{m.group()}]({S.mechanism_url(m.group(), docs)})", s)
    return s


def link(text: Any, href: str | None, mode: str = "html") -> Any:
    """A link in the current mode: <a> in HTML, [text](href) in Markdown, the text alone in plain text."""
    if not href:
        return text
    if mode == "html":
        return Markup('<a href="{}">{}</a>').format(href, text)
    if mode == "md":
        return f"<{href}>" if str(text) == href else f"[{text}]({href})"
    return text


_SAFE_URL = re.compile(r"^(https?://|[A-Za-z0-9._/-]*(#[A-Za-z0-9._-]*)?$|#)")


def safe_url(url: Any) -> str | None:
    """The URL if it may become a link (http(s), a relative path or an anchor); `javascript:` stays text."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if any(c in u for c in "\r\n\t\"'<> ") or not _SAFE_URL.match(u):
        return None
    return u


# ============================================================================ environments
class _CompiledTemplates(FileSystemBytecodeCache):
    """Compiled templates kept between processes (Jinja's per-user private temporary folder), so a
    report does not compile its templates again each time (0.4 s, issue 12). A cache that cannot be
    read or written is no cache: the template is compiled as before."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable or damaged (a pickle or marshal error): compile afresh
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


_OPTIONS = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}


def _compiled_templates(autoescape: bool, where: str | None = None) -> FileSystemBytecodeCache | None:
    """The cache of one environment's compiled templates. Jinja keys a template by its name and file
    only, yet what it compiles to depends on the environment (autoescape above all), so each set of
    options gets its own file names."""
    options = hashlib.sha256(repr((autoescape, sorted(_OPTIONS.items()), jinja2.__version__)).encode()).hexdigest()
    try:
        return _CompiledTemplates(where, pattern=f"scorelab-{options[:16]}-%s.cache")
    except (OSError, RuntimeError):  # no private temporary folder to be had
        return None


def _env(autoescape: bool, compiled: FileSystemBytecodeCache | None = None) -> Environment:
    env = Environment(loader=PackageLoader("scorelab.report", "templates"), bytecode_cache=compiled,
                      autoescape=select_autoescape(default=True, default_for_string=True) if autoescape else False,
                      undefined=StrictUndefined, **_OPTIONS)
    env.filters.update(measure=measure, plain=plain, pnum=pnum, pts=pts, amount=amount, mean=mean_of, md_cell=md_cell,
                       plural=plural, capfirst=capfirst,
                       mechanism_links=mechanism_links, link=link, safe_url=safe_url, anchor=S.anchor,
                       mechanism_url=S.mechanism_url, source_url=S.source_url, dig=dig)
    env.tests.update(replicated=is_replicated, number=lambda v: mean_of(v) is not None)
    env.globals.update(cite=S.cite, mechanisms=S.mechanisms, docs_url=DOCS_URL)
    return env


@functools.cache
def html_env() -> Environment:
    return _env(True, _compiled_templates(True))


@functools.cache
def text_env() -> Environment:
    return _env(False, _compiled_templates(False))


def render_html(template: str, **context: Any) -> str:
    return html_env().get_template(template).render(mode="html", **context)


def render_text(template: str, mode: str = "text", **context: Any) -> str:
    """A Markdown (mode 'md') or plain-text (mode 'text') template."""
    return text_env().get_template(template).render(mode=mode, **context)


def account_lines(happenings: list[dict], mode: str, context: dict, docs: str = DOCS_URL,
                  citizen_url: str | None = None) -> list[str]:
    """One sentence per happening of an explanation (report/templates/account.j2), in `mode` text, md or html."""
    env = html_env() if mode == "html" else text_env()
    module = env.get_template("account.j2").make_module(
        {**context, "mode": mode, "docs": docs, "citizen_url": citizen_url})
    return [str(module.line(h)) for h in happenings]
