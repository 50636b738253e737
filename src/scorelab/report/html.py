"""One self-contained HTML report of a run, or of several runs (or replication sets) side by side (`--vs`).

The report opens with the answers (whom the regime punishes, how often wrongly, what it does to
behaviour, friendships, money and children), written by a template from the summary; then the
evidence, one chart per question; then the detail. It must open offline, years later, on any
machine: plotly.js is embedded once from the installed plotly package, CSS is inline, and nothing
is fetched. Figures carry aggregates only, so the file stays a few megabytes (plotly.js is most of
it) even for a 1,000,000-citizen run.

This module gathers data; report/templates/report.html.j2 (autoescaped) writes every tag. Any one
part that fails (a figure, the stories of a run made with an older regime schema) is replaced by a
message saying why; the rest of the report is still written.
"""

from __future__ import annotations

import hashlib
import json
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

import scorelab
from scorelab.errors import ScorelabError
from scorelab.metrics.groups import FOUR_FIFTHS
from scorelab.report import figures as F
from scorelab.report import sources as S
from scorelab.report.answers import QUESTIONS, run_facts
from scorelab.report.figures import RunData, run_data
from scorelab.report.render import DOCS_URL, dig, mean_of, measure, render_html

SECTIONS: tuple[tuple[str, str], ...] = (
    ("answers", "Answers"),
    ("evidence", "The evidence, question by question"),
    ("summary", "Headline measures"),
    ("card", "Regime card and EU AI Act flags"),
    ("scores", "Scores and tiers over time"),
    ("lists", "List sizes over time"),
    ("measures", "Sanctions and rewards: rightful and wrongful"),
    ("behaviour", "Behaviour, act by act"),
    ("network", "Network isolation"),
    ("groups", "Deciles, groups and disparate impact"),
    ("stories", "Citizen stories"),
    ("assumptions", "Assumptions and sources"),
    ("sources", "Mechanisms and sources cited"),
)
MAX_RUNS = 6
FIG_CONFIG = {"displaylogo": False, "responsive": True}
STORY_LINES = 40  # account lines shown per story; the rest is one command away
GROUP_DIMENSIONS = (("income_decile", "Income decile"), ("age_band", "Age band"), ("urban", "Urban or rural"),
                    ("sex", "Sex"))
EVIDENCE_NOTES = {
    "whom": "Bars: the share of each group ever on a punitive list (black, gray, watch, no-fly); labels: how many "
            "citizens that is.",
    "wrongly": "Rightful and wrongful sanctions are drawn on their own scales so the wrongful few can be seen. "
               "Wrongful: the sanction rests on false records (a false match, an invented report, or a listing "
               "that would not have happened without them).",
    "behaviour": "Both bars compare the regime's run with its paired baseline (same society, same random numbers): "
                 "a fall in antisocial acts is the benefit a regime claims, a fall in lawful expression and "
                 "movement is the chilling effect.",
    "friendships": "Contacts lost: initial ties gone by the end (cut by avoidance, S1-M7). Penalised by association "
                   "only: citizens who lost points for others' records and never for their own.",
    "money": "Each citizen's savings and income at the end, minus the same citizen's in the paired baseline, "
             "averaged by group. Everyone else is the reference: what the regime did to people it never touched.",
    "children": "Sanctions in the education domain that fell on a child because of a household member's record or "
                "listing (S1-M6); wrongful when that record was false.",
}


# ============================================================================ guarded parts
def _error_text(what: str, exc: BaseException) -> str:
    if isinstance(exc, ScorelabError):
        return f"{what} unavailable: {exc}"
    last = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{what} unavailable: {type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"


def _guard(what: str, fn: Callable[[], Any]) -> Any:
    """Run one part of the report; on failure, {'error': why} instead of no report at all."""
    try:
        return fn()
    except Exception as exc:  # a report with one broken part beats no report
        return {"error": _error_text(what, exc)}


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure as plotly's own <div> and <script> (plotly.js itself is embedded once in the page)."""
    height = fig.layout.height or 420
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=FIG_CONFIG,
                       default_height=f"{height}px", default_width="100%")


def _figure(name: str, rds: list[RunData], div_id: str, **kw) -> dict:
    return _guard(f"figure {name}", lambda: {"html": figure_html(
        F.FIGURES[name]([rd.folder if not rd.is_set else rd.set_folder for rd in rds], **kw), div_id)})


# ============================================================================ section data
def _summary_rows(rds: list[RunData]) -> list[dict]:
    """Rows of the headline table: label and, per run, a value with the style the `measure` filter prints."""
    lists: list[str] = []
    for rd in rds:
        for name in rd.summary.get("listed_share") or {}:
            if name not in lists:
                lists.append(name)

    def total(per: dict | None) -> float | None:
        return None if per is None else sum(mean_of(v) or 0 for v in per.values())

    rows: list[tuple[str, Callable[[dict, RunData], Any], str]] = [
        ("regime", lambda s, rd: f"{s.get('regime')} ({rd.manifest.get('regime', {}).get('title', '')})", "text"),
        ("citizens x days (seed)", lambda s, rd: f"{rd.n:,} x {rd.days} "
         + (f"({rd.set_runs} replications)" if rd.is_set else f"(seed {s.get('seed')})"), "text"),
        ("paired baseline run", lambda s, rd: s.get("baseline") or "none", "text"),
        ("true events", lambda s, rd: s.get("events"), "count"),
        ("offences never recorded", lambda s, rd: s.get("missed_offence_share"), "pct"),
        ("false records kept", lambda s, rd: s.get("false_records"), "count"),
        ("sanctions per 1,000 citizen-years", lambda s, rd: total(s.get("sanctions_per_1000")), "num"),
        ("rewards per 1,000 citizen-years", lambda s, rd: total(s.get("rewards_per_1000")), "num"),
        ("sanctions resting on false records", lambda s, rd: s.get("wrongful_sanction_share"), "pct"),
        ("citizens ever wrongly listed", lambda s, rd: s.get("wrongly_listed_share"), "pct"),
        *[(f"ever listed: {name}", lambda s, rd, name=name: (s.get("listed_share") or {}).get(name), "pct")
          for name in lists],
        ("antisocial acts vs baseline (benefit)", lambda s, rd: s.get("antisocial_change"), "change"),
        ("lawful expression vs baseline (chilling)", lambda s, rd: s.get("expression_change"), "change"),
        ("final score, position in its own range", lambda s, rd: _position(rd), "pct"),
        ("Gini of income (baseline)", lambda s, rd: _pair(dig(s, "gini", "income"), dig(s, "gini", "income_baseline")),
         "text"),
        ("Gini of wealth (baseline)", lambda s, rd: _pair(dig(s, "gini", "wealth"), dig(s, "gini", "wealth_baseline")),
         "text"),
        ("in a poverty trap (365+ days listed or bottom tier)", lambda s, rd: s.get("poverty_trap_share"), "pct"),
        ("penalised by association only", lambda s, rd: dig(s, "network", "collateral_share"), "pct"),
        ("children barred per 1,000 citizen-years", lambda s, rd: s.get("children_barred"), "num"),
        ("penalising records appealed", lambda s, rd: s.get("appeal_rate"), "pct"),
        ("false penalising records corrected", lambda s, rd: s.get("correction_rate"), "pct"),
        ("wall time of the simulation (s)", lambda s, rd: s.get("wall_seconds"), "num"),
    ]
    out = []
    for label, get, style in rows:
        out.append({"label": label, "style": style,
                    "values": [_guard(label, lambda get=get, rd=rd: get(rd.summary, rd)) for rd in rds]})
    return out


def _pair(a: Any, b: Any) -> str:
    return f"{measure(a, 'ratio')} ({measure(b, 'ratio')})"


def _position(rd: RunData) -> float | None:
    """The mean final score as a position in the regime's own score range (a footing shared by all regimes)."""
    m = mean_of(rd.summary.get("mean_score"))
    sc = (rd.first_scorer or {}).get("score") or {}
    if m is None or "min" not in sc or float(sc["max"]) <= float(sc["min"]):
        return None
    return (m - float(sc["min"])) / (float(sc["max"]) - float(sc["min"]))


def _cards(rds: list[RunData], links: str) -> dict:
    from scorelab.regime.card import FLAGS, card_fragment, regime_card

    cards: dict[str, dict] = {}
    for rd in rds:
        try:
            card = regime_card(rd.regime)
            cards[rd.run_id] = {"card": card, "html": card_fragment(card, links, offset=2)}
        except ScorelabError as exc:
            cards[rd.run_id] = {"error": f"the run's regime file does not validate against this version of "
                                         f"scorelab: {exc}"}
    flags = []
    for fid, title, article, _ in FLAGS:
        cells = []
        for rd in rds:
            c = cards[rd.run_id]
            items = None if "error" in c else next((f["items"] for f in c["card"]["flags"] if f["id"] == fid), [])
            cells.append(None if items is None else len(items))
        flags.append({"title": title, "article": article, "cells": cells})
    shown, seen = [], set()
    for rd in rds:
        key = hashlib.sha256(rd.regime_text.encode()).hexdigest()
        if key not in seen:
            seen.add(key)
            shown.append({"run_id": rd.run_id, "regime": rd.regime_data.get("name"), **cards[rd.run_id]})
    return {"flags": flags, "cards": shown}


def _groups(rd: RunData) -> list[dict]:
    bg = rd.summary.get("by_group") or {}
    out = []
    for dim, title in GROUP_DIMENSIONS:
        rows = (bg.get("groups") or {}).get(dim) or {}
        if not rows:
            continue
        impact = (bg.get("disparate_impact") or {}).get(dim) or {}
        out.append({"title": title, "rows": [{"group": g, **rows[g]} for g in F._group_order(dim, list(rows))],
                    "impact": [{"what": what, "ratio": (impact.get(what) or {}).get("ratio"),
                                "fails": bool((impact.get(what) or {}).get("fails_four_fifths"))}
                               for what in ("listing", "sanctions")]})
    return out


def _stories(rd: RunData, links: str) -> list[dict]:
    from scorelab import api
    from scorelab.ledger.explain import render_account

    out = []
    for s in api.stories(rd.folder):
        e = s.get("explanation") or {}
        lines = render_account(e, "html", links) if e.get("happenings") else list(e.get("account") or [])
        out.append({**s, "lines": lines[:STORY_LINES], "more": max(0, len(lines) - STORY_LINES),
                    "final": e.get("final") or {}, "profile": e.get("profile") or {}, "notes": e.get("notes") or []})
    return out


def sourced_blocks(data: dict) -> list[tuple[str, dict]]:
    """Every block of regime YAML data that carries numbers: a mapping with `source` or `assumption`.

    The walk reads plain YAML data (not the validated model) so that a run made with an older schema
    still lists its parameters.
    """
    out: list[tuple[str, dict]] = []

    def walk(obj: object, path: str) -> None:
        if isinstance(obj, dict):
            if "source" in obj or "assumption" in obj:
                out.append((path or "(regime)", obj))
            for k, v in obj.items():
                if k != "references":
                    walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                label = v.get("name") if isinstance(v, dict) and "name" in v else i
                walk(v, f"{path}[{label}]")

    walk(data, "")
    return out


def _param_text(block: dict) -> str:
    parts = []
    for k, v in block.items():
        if k in ("source", "assumption", "description", "name"):
            continue
        if isinstance(v, dict) and ("source" in v or "assumption" in v):
            continue  # its own row
        parts.append(f"{k}: {v if isinstance(v, str | int | float | bool) or v is None else json.dumps(v)}")
    return "; ".join(parts)


def _assumptions(rd: RunData) -> dict:
    data = rd.regime_data
    refs = data.get("references") or {}
    blocks = []
    for path, b in sourced_blocks(data):
        key = str(b["source"]) if b.get("source") else None
        blocks.append({"path": path, "description": b.get("description", ""), "params": _param_text(b),
                       "source": key, "known": key is None or key in refs})
    m = rd.manifest
    soc = m.get("society") or {}
    run = [("citizens", soc.get("citizens")), ("days", m.get("days")), ("seed", m.get("seed")),
           ("society", json.dumps({k: v for k, v in soc.items() if k != "citizens"})),
           ("regime origin", (m.get("regime") or {}).get("origin")),
           ("regime sha256", (m.get("regime") or {}).get("sha256")),
           ("ledger", json.dumps(m.get("ledger"))), ("events written", m.get("events_written")),
           ("scorelab version", m.get("scorelab_version"))]
    return {"blocks": blocks, "sourced": sum(1 for b in blocks if b["source"]),
            "references": [{"key": k, **S.cite(k, v if isinstance(v, dict) else None)} for k, v in refs.items()],
            "run": run}


def _glossary(rds: list[RunData]) -> dict:
    """Every mechanism (marked where a regime implements it) and every reference the regimes cite."""
    used: dict[str, list[str]] = {}
    refs: dict[str, dict] = {}
    for rd in rds:
        data = rd.regime_data
        for mid in data.get("mechanisms") or ():
            used.setdefault(str(mid), []).append(str(data.get("name")))
        for k, v in (data.get("references") or {}).items():
            refs.setdefault(k, S.cite(k, v if isinstance(v, dict) else None))
    mechanisms = [{"id": mid, **m, "regimes": sorted(set(used.get(mid, [])))} for mid, m in S.mechanisms().items()]
    return {"mechanisms": mechanisms, "sources": list(refs.values())}


# ============================================================================ the page
def build_report(run: str | Path, vs: Sequence[str | Path] = (), runs_dir: str | Path | None = None,
                 stories: bool = True, docs: str = DOCS_URL) -> str:
    """The report as one HTML string: `run` first, then each run (or set) of `vs` beside it.

    `docs` is where the report links for the full documents (docs/MECHANISMS.md, docs/SOURCES.md)."""
    rds: list[RunData] = []
    for r in (run, *vs):
        rd = run_data(r, Path(runs_dir) if runs_dir is not None else None)
        if all(x.run_id != rd.run_id for x in rds):
            rds.append(rd)
    if len(rds) > MAX_RUNS:
        raise ScorelabError(f"got {len(rds)} runs", key="--vs", allowed=f"at most {MAX_RUNS} runs in one report")
    links = S.IN_PAGE  # ids and keys link to the report's own glossary, which links on to `docs`
    with ThreadPoolExecutor(1) as pool:  # stories read the ledgers (Arrow, DuckDB) while the figures are drawn
        picked = [pool.submit(_guard, "citizen stories", lambda rd=rd: _stories(rd, links)) for rd in rds] \
            if stories else None
        return _page(rds, links, picked, docs)


def _page(rds: list[RunData], links: str, stories: list[Future] | None, docs: str) -> str:
    many = len(rds) > 1
    facts = [_guard(f"answers for {rd.run_id}", lambda rd=rd: run_facts(rd)) for rd in rds]
    for f, rd in zip(facts, rds, strict=True):
        if "error" in f:
            f["run_id"] = rd.run_id
    evidence = [{"id": qid, "question": q, "note": EVIDENCE_NOTES[qid],
                 "figure": _figure(F.ANSWER_FIGURES[qid].__name__, rds, f"fig-answer-{qid}")} for qid, q in QUESTIONS]
    detail = {
        "scores": [_figure("score_over_time", rds, "fig-score-time"), _figure("score_histogram", rds, "fig-score-hist"),
                   _figure("tier_shares", rds, "fig-tiers")],
        "lists": [_figure("list_sizes", rds, "fig-lists")],
        "measures": [_figure("sanctions_rewards", rds, "fig-measures")],
        "behaviour": [_figure("behaviour_change", rds, "fig-behaviour")],
        "network": [_figure("network_isolation", rds, "fig-network")],
        "groups": [_figure("groups", rds, "fig-groups-decile", dimension="income_decile"),
                   _figure("groups", rds, "fig-groups-age", dimension="age_band")],
    }
    ids = ", ".join(rd.run_id for rd in rds)
    context = {
        "title": f"scorelab report: {ids}", "rds": rds, "many": many, "sections": SECTIONS,
        "colours": [F._colour(i) for i in range(len(rds))], "questions": QUESTIONS, "facts": facts,
        "evidence": evidence, "detail": detail, "links": links, "docs": docs, "four_fifths": FOUR_FIFTHS,
        "summary_rows": _guard("headline measures", lambda: _summary_rows(rds)),
        "cards": _guard("regime card", lambda: _cards(rds, links)),
        "network": [rd.summary.get("network") or {} for rd in rds],
        "groups": [{"run_id": rd.run_id, "tables": _guard("group tables", lambda rd=rd: _groups(rd))} for rd in rds],
        "stories": [{"run_id": rd.run_id, "picked": p.result()} for rd, p in zip(rds, stories, strict=True)]
        if stories is not None else None,
        "assumptions": [{"run_id": rd.run_id, "regime": rd.regime_data.get("name", "?"),
                         "data": _guard("assumptions", lambda rd=rd: _assumptions(rd))} for rd in rds],
        "glossary": _guard("mechanisms and sources", lambda: _glossary(rds)),
        "reforms": [{"run_id": rd.run_id, "overrides": rd.manifest.get("overrides") or []} for rd in rds
                    if rd.manifest.get("overrides")],
        "subtitle": (f"{len(rds)} runs side by side" if many else "one run")
        + f" · scorelab {scorelab.__version__} · made {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
        + " · synthetic citizens only",
        "plotly_js": get_plotlyjs(),
    }
    return render_html("report.html.j2", **context)


def write_report(run: str | Path, out: str | Path, vs: Sequence[str | Path] = (), runs_dir: str | Path | None = None,
                 stories: bool = True, docs: str = DOCS_URL) -> Path:
    """Write the report to `out` (written to a temporary name first, so a reader never sees half a file)."""
    out = Path(out)
    text = build_report(run, vs, runs_dir, stories, docs)
    if not out.parent.is_dir():
        raise ScorelabError("folder does not exist", path=str(out.parent), allowed="an existing folder")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ScorelabError(f"cannot write: {exc.strerror or exc}", path=str(out)) from None
    return out
