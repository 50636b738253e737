"""One self-contained HTML report of a run, or of several runs side by side (`--vs`).

The file must open offline, years later, on any machine: plotly.js is embedded once from the
installed plotly package, CSS is inline, and nothing is fetched (no CDN, no fonts, no images by
URL). Figures come from scorelab.report.figures and carry aggregates only, so the file stays a few
megabytes (plotly.js is most of it) even for a 1,000,000-citizen run.

Any one section that fails (a figure, the stories of a run made with an older regime schema) is
replaced by a message saying why; the rest of the report is still written.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

import scorelab
from scorelab.errors import ScorelabError
from scorelab.metrics.groups import FOUR_FIFTHS
from scorelab.report import figures as F
from scorelab.report.figures import RunData, run_data
from scorelab.store.runfolder import resolve_run

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Headline measures"),
    ("card", "Regime card and EU AI Act flags"),
    ("scores", "Scores and tiers over time"),
    ("lists", "List sizes over time"),
    ("measures", "Sanctions and rewards: rightful and wrongful"),
    ("behaviour", "Behaviour change against the baseline"),
    ("inequality", "Inequality against the baseline"),
    ("network", "Network isolation"),
    ("groups", "Deciles, groups and disparate impact"),
    ("stories", "Citizen stories"),
    ("assumptions", "Assumptions and sources"),
)
FIG_CONFIG = {"displaylogo": False, "responsive": True}
STORY_LINES = 40  # account lines shown per story; the rest is one command away
GROUP_DIMENSIONS = (("income_decile", "Income decile"), ("age_band", "Age band"), ("urban", "Urban or rural"),
                    ("sex", "Sex"))

CSS = """
:root{--fg:#222;--muted:#666;--line:#ccc;--bad:#b00020;--badbg:#fde7ea;--ok:#1b5e20}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0;line-height:1.45}
header{background:#20232a;color:#fff;padding:1rem 2rem}
header h1{margin:.2rem 0;font-size:1.5rem}
header p{margin:.2rem 0;color:#ccc}
nav.toc{position:sticky;top:0;background:#f6f6f6;border-bottom:1px solid var(--line);padding:.4rem 2rem;
 font-size:.9rem;z-index:10}
nav.toc a{margin-right:1rem;color:#0b57d0;text-decoration:none;white-space:nowrap}
main{max-width:80rem;margin:0 auto;padding:0 2rem 4rem}
section{margin-top:2.5rem}
h2{border-bottom:2px solid #444;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.88rem}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{background:var(--badbg);color:var(--bad);font-weight:600}
.pass{color:var(--ok)}
.note{color:var(--muted);font-size:.9rem}
.error{color:var(--bad)}
.card{border:1px solid var(--line);border-radius:6px;padding:0 1rem;margin:.5rem 0;max-height:60rem;overflow:auto}
.figure{border:1px solid #eee;margin:.8rem 0}
details>summary{cursor:pointer;font-weight:600;margin:.4rem 0}
ol.account li{margin:.15rem 0}
.story{border-left:4px solid #999;padding:.1rem 1rem;margin:1rem 0}
"""


# ============================================================================ small helpers
def _e(x: object) -> str:
    return html.escape(str(x))


def _pct(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def _num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


class Markup(str):
    """Text that is already HTML (not escaped again by _table)."""


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], num_from: int = 1,
           classes: Sequence[Sequence[str]] | None = None) -> str:
    """An HTML table; cells are escaped unless they are `Markup`; columns from num_from are numbers."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r, row in enumerate(rows):
        out.append("<tr>")
        for c, cell in enumerate(row):
            cls = [("num" if c >= num_from else "")] + ([classes[r][c]] if classes and classes[r][c] else [])
            attr = f' class="{" ".join(x for x in cls if x)}"' if any(cls) else ""
            out.append(f"<td{attr}>{cell if isinstance(cell, Markup) else _e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _guard(what: str, fn: Callable[[], str]) -> str:
    """Run one part of the report; on failure, a message instead of no report at all."""
    try:
        return fn()
    except ScorelabError as exc:
        return f'<p class="error">{_e(what)} unavailable: {_e(exc)}</p>'
    except Exception as exc:  # a report with one broken part beats no report
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return (f'<p class="error">{_e(what)} unavailable: {_e(type(exc).__name__)}: {_e(exc)} '
                f'({_e(Path(last.filename).name)}:{last.lineno})</p>')


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure as a <div> and a <script> calling Plotly.newPlot; plotly.js itself is embedded once."""
    height = fig.layout.height or 420
    return ('<div class="figure">' + fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                                                 config=FIG_CONFIG, default_height=f"{height}px") + "</div>")


def _figure(name: str, rds: list[RunData], div_id: str, **kw) -> str:
    return _guard(f"figure {name}", lambda: figure_html(F.FIGURES[name]([rd.folder for rd in rds], **kw), div_id))


# ============================================================================ sections
def _listed(s: dict, rd: RunData, name: str) -> str:
    return _pct((s.get("listed_share") or {}).get(name), digits=3)


def _summary(rds: list[RunData]) -> str:
    lists = []
    for rd in rds:
        for name in rd.summary.get("listed_share", {}):
            if name not in lists:
                lists.append(name)

    def g(s, *keys):
        for k in keys:
            s = (s or {}).get(k) if isinstance(s, dict) else None
        return s

    rows: list[tuple[str, Callable[[dict, RunData], str]]] = [
        ("regime", lambda s, rd: f"{s.get('regime')} ({rd.manifest.get('regime', {}).get('title', '')})"),
        ("citizens x days (seed)", lambda s, rd: f"{s['citizens']:,} x {s['days']} (seed {s['seed']})"),
        ("paired baseline run", lambda s, rd: s.get("baseline") or "none"),
        ("true events", lambda s, rd: _num(s.get("events"))),
        ("offences never recorded", lambda s, rd: _pct(s.get("missed_offence_share"), digits=1)),
        ("false records kept", lambda s, rd: _num(s.get("false_records"))),
        ("sanctions per 1,000 citizen-years", lambda s, rd: _num(sum((s.get("sanctions_per_1000") or {}).values()))),
        ("rewards per 1,000 citizen-years", lambda s, rd: _num(sum((s.get("rewards_per_1000") or {}).values()))),
        ("sanctions resting on false records", lambda s, rd: _pct(s.get("wrongful_sanction_share"))),
        ("citizens ever wrongly listed", lambda s, rd: _pct(s.get("wrongly_listed_share"), digits=3)),
        *[(f"ever listed: {name}", functools.partial(_listed, name=name)) for name in lists],
        ("antisocial acts vs baseline (benefit)", lambda s, rd: _pct(s.get("antisocial_change"), signed=True)),
        ("lawful expression vs baseline (chilling)", lambda s, rd: _pct(s.get("expression_change"), signed=True)),
        ("mean final score", lambda s, rd: _num(s.get("mean_score"), 1)),
        ("Gini of score", lambda s, rd: _num(g(s, "gini", "score"))),
        ("Gini of income (baseline)", lambda s, rd: f"{_num(g(s, 'gini', 'income'))} "
                                                    f"({_num(g(s, 'gini', 'income_baseline'))})"),
        ("Gini of wealth (baseline)", lambda s, rd: f"{_num(g(s, 'gini', 'wealth'))} "
                                                    f"({_num(g(s, 'gini', 'wealth_baseline'))})"),
        ("in a poverty trap (365+ days listed or bottom tier)",
         lambda s, rd: _pct(s.get("poverty_trap_share"), digits=3)),
        ("penalised by association only", lambda s, rd: _pct(g(s, "network", "collateral_share"))),
        ("children barred per 1,000 citizen-years", lambda s, rd: _num(s.get("children_barred"))),
        ("penalising records appealed", lambda s, rd: _pct(s.get("appeal_rate"))),
        ("false penalising records corrected", lambda s, rd: _pct(s.get("correction_rate"))),
        ("wall time of the simulation", lambda s, rd: f"{s.get('wall_seconds') or 0:.1f} s"),
    ]
    body = [(label, *(Markup(_e(f(rd.summary, rd))) for rd in rds)) for label, f in rows]
    return (_table(["measure", *(rd.run_id for rd in rds)], body) +
            '<p class="note">Keys and definitions: docs/METRICS.md. Rates are per 1,000 citizen-years '
            "(citizens x days / 365).</p>")


def _card_body(rd: RunData) -> tuple[dict, str]:
    from scorelab.regime.card import card_html, regime_card

    card = regime_card(rd.regime)
    page = card_html(card)
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    for a, b in (("h3", "h5"), ("h2", "h4"), ("h1", "h3")):  # below the report's own h2
        body = body.replace(f"<{a}>", f"<{b}>").replace(f"</{a}>", f"</{b}>")
    return card, body


def _cards(rds: list[RunData]) -> str:
    from scorelab.regime.card import FLAGS

    cards: dict[str, tuple[dict, str] | str] = {}
    for rd in rds:
        try:
            cards[rd.run_id] = _card_body(rd)
        except ScorelabError as exc:
            cards[rd.run_id] = f"the run's regime file does not validate against this version of scorelab: {exc}"
    head = ["flag (EU AI Act Art. 5(1)(c) and mechanisms)", *(rd.run_id for rd in rds)]
    rows, classes = [], []
    for fid, title, article, _ in FLAGS:
        row: list[object] = [f"{title} ({article})"]
        cls = [""]
        for rd in rds:
            c = cards[rd.run_id]
            if isinstance(c, str):
                row.append("n/a")
                cls.append("")
                continue
            items = next((f["items"] for f in c[0]["flags"] if f["id"] == fid), [])
            row.append(f"raised: {len(items)} item(s)" if items else "not raised")
            cls.append("fail" if items else "pass")
        rows.append(row)
        classes.append(cls)
    out = [_table(head, rows, num_from=99, classes=classes),
           '<p class="note">The full card of each regime follows: what it observes, scores, sanctions and rewards, '
           "which data feeds which sanction, and why each flag is raised.</p>"]
    seen: set[str] = set()
    for i, rd in enumerate(rds):
        key = hashlib.sha256(rd.regime_text.encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        c = cards[rd.run_id]
        inner = f'<p class="error">{_e(c)}</p>' if isinstance(c, str) else f'<div class="card">{c[1]}</div>'
        out.append(f"<details{' open' if i == 0 else ''}><summary>Regime card: {_e(rd.regime_data.get('name'))} "
                   f"({_e(rd.run_id)})</summary>{inner}</details>")
    return "".join(out)


def _behaviour_text(rds: list[RunData]) -> str:
    rows = []
    for rd in rds:
        s = rd.summary
        rows.append((rd.run_id, s.get("baseline") or "none", _pct(s.get("antisocial_change"), signed=True),
                     _pct(s.get("expression_change"), signed=True)))
    return (_table(["run", "paired baseline", "antisocial acts (benefit)", "lawful expression (chilling)"], rows,
                   num_from=2) +
            '<p class="note">Both runs share the society and every behavioural random draw (common random numbers), '
            "so the difference is the regime's effect. A fall in antisocial acts is the benefit a regime claims; a "
            "fall in lawful expression and movement is the chilling effect. They are shown apart on purpose.</p>")


def _inequality_text(rds: list[RunData]) -> str:
    rows = []
    for rd in rds:
        gi = rd.summary.get("gini") or {}
        mob = rd.summary.get("mobility") or {}
        down = next((v.get("downward_share") for v in mob.values() if v.get("moves")), None)
        rows.append((rd.run_id, _num(gi.get("score")), _num(gi.get("income")), _num(gi.get("income_baseline")),
                     _num(gi.get("wealth")), _num(gi.get("wealth_baseline")),
                     _pct(rd.summary.get("poverty_trap_share"), digits=3), _pct(down, digits=1)))
    return _table(["run", "Gini score", "Gini income", "baseline", "Gini wealth", "baseline", "poverty trap",
                   "tier moves downward"], rows)


def _network_text(rds: list[RunData]) -> str:
    rows = []
    for rd in rds:
        n = rd.summary.get("network") or {}
        rows.append((rd.run_id, _num(n.get("mean_degree_initial")), _num(n.get("mean_degree_final")),
                     _num(n.get("mean_degree_lost_listed")), _num(n.get("mean_degree_lost_others")),
                     _pct(n.get("listed_isolated_share")), _num(n.get("ties_cut")),
                     _pct(n.get("collateral_share")), _num(n.get("components")),
                     _pct(n.get("largest_component_share"))))
    return (_table(["run", "mean contacts at start", "at end", "ties lost: listed", "ties lost: others",
                    "listed left with no contact", "ties cut by avoidance", "penalised by association only",
                    "components", "largest component"], rows) +
            '<p class="note">Ties lost count initial contacts gone by the end (cut by avoidance, S1-M7); ties formed '
            "during the run are not subtracted. Keys: docs/METRICS.md, network.</p>")


def _groups_tables(rd: RunData) -> str:
    bg = rd.summary.get("by_group") or {}
    groups, impact = bg.get("groups") or {}, bg.get("disparate_impact") or {}
    out = []
    for dim, title in GROUP_DIMENSIONS:
        rows = groups.get(dim) or {}
        if not rows:
            continue
        body = [(g, _num(r.get("citizens")), _pct(r.get("listed_share"), digits=3),
                 _num(r.get("sanctions_per_1000"), 2), _pct(r.get("wrongful_sanction_share")),
                 _num(r.get("mean_score"), 1), _num(r.get("mean_savings"), 0))
                for g, r in ((g, rows[g]) for g in F._group_order(dim, list(rows)))]
        out.append(f"<h4>{_e(title)}</h4>")
        out.append(_table([title.lower(), "citizens", "ever punitively listed", "sanctions per 1,000 citizen-years",
                           "wrongful sanctions", "mean score", "mean savings (yuan)"], body))
        di = impact.get(dim) or {}
        di_rows, di_cls = [], []
        for what in ("listing", "sanctions"):
            d = di.get(what) or {}
            ratio, fails = d.get("ratio"), bool(d.get("fails_four_fifths"))
            di_rows.append((what, _num(ratio), "FAILS the four-fifths rule" if fails else
                            ("passes" if ratio is not None else "no adverse outcome")))
            di_cls.append(["", "fail" if fails else "", "fail" if fails else "pass"])
        out.append(_table(["disparate impact of", "ratio lowest/highest rate", f"four-fifths rule (< {FOUR_FIFTHS})"],
                          di_rows, classes=di_cls))
    return "".join(out) or '<p class="note">No group measures in this run.</p>'


def _groups(rds: list[RunData]) -> str:
    out = [_figure("groups", rds, "fig-groups-decile", dimension="income_decile"),
           _figure("groups", rds, "fig-groups-age", dimension="age_band"),
           '<p class="note">Disparate impact: the lowest group rate of an adverse outcome over the highest, per '
           "dimension; below 0.8 fails the four-fifths rule (US EEOC guideline, used here as a screening "
           "threshold).</p>"]
    for i, rd in enumerate(rds):
        out.append(f"<details{' open' if i == 0 else ''}><summary>Tables: {_e(rd.run_id)}</summary>"
                   f"{_guard('group tables', lambda rd=rd: _groups_tables(rd))}</details>")
    return "".join(out)


def _story_html(s: dict, run_id: str) -> str:
    desc = str(s.get("description", ""))
    head = f"<h4>{_e(desc[:1].upper() + desc[1:])} <code class=\"note\">{_e(s.get('criterion', ''))}</code></h4>"
    if s.get("citizen") is None:
        return f'<div class="story">{head}<p class="note">{_e(s.get("note") or "no citizen meets it")}</p></div>'
    e = s.get("explanation") or {}
    lines = list(e.get("account") or [])
    more = len(lines) - STORY_LINES
    items = "".join(f"<li>{_e(x)}</li>" for x in lines[:STORY_LINES])
    tail = (f'<p class="note">{more} more line(s): <code>scorelab explain {_e(run_id)} {_e(s["citizen"])}</code></p>'
            if more > 0 else "")
    final = e.get("final") or {}
    profile = e.get("profile") or {}
    facts = ", ".join(f"{k} {v}" for k, v in profile.items())
    fin = (f"final score {_num(final.get('score'), 1)}, tier {final.get('tier') or '-'}"
           if final.get("score") is not None else "")
    notes = "".join(f"<li>{_e(n)}</li>" for n in e.get("notes") or [])
    return (f'<div class="story">{head}<p><strong>citizen {_e(s["citizen"])}</strong>: {_e(s.get("why", ""))}</p>'
            f'<p class="note">{_e(facts)}{"; " if facts and fin else ""}{_e(fin)}</p>'
            f'<ol class="account">{items}</ol>{tail}'
            + (f'<details><summary>notes</summary><ul class="note">{notes}</ul></details>' if notes else "")
            + "</div>")


def _stories_one(rd: RunData) -> str:
    from scorelab import api

    picked = api.stories(rd.folder)
    if not picked:
        return '<p class="note">No stories for this run.</p>'
    return "".join(_story_html(s, rd.run_id) for s in picked)


def _stories(rds: list[RunData], enabled: bool) -> str:
    if not enabled:
        return '<p class="note">Stories were left out of this report (--no-stories).</p>'
    out = ['<p class="note">The people behind the numbers: for each criterion, the citizen who shows it most '
           "clearly (ties to the lowest id), explained from the ledger with the source of every rule. Citizens are "
           "synthetic row numbers.</p>"]
    for i, rd in enumerate(rds):
        out.append(f"<details{' open' if i == 0 else ''}><summary>Stories: {_e(rd.run_id)}</summary>"
                   f"{_guard('citizen stories', lambda rd=rd: _stories_one(rd))}</details>")
    return "".join(out)


# ---------------------------------------------------------------------------- assumptions
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


def _reference_text(refs: dict, key: str) -> Markup:
    r = refs.get(key) if isinstance(refs, dict) else None
    if not isinstance(r, dict):
        return Markup(f"{_e(key)} <span class='error'>(not in references)</span>")
    text = f"<strong>{_e(key)}</strong>: {_e(r.get('title', ''))}"
    if r.get("document"):
        text += f" ({_e(r['document'])})"
    if r.get("reliability"):
        text += f" [reliability {_e(r['reliability'])}]"
    if r.get("url"):
        text += f" <a href=\"{_e(r['url'])}\" rel=\"noreferrer\">{_e(r['url'])}</a>"
    return Markup(text)


def _assumptions_one(rd: RunData) -> str:
    data = rd.regime_data
    refs = data.get("references") or {}
    blocks = sourced_blocks(data)
    rows = []
    for path, b in blocks:
        src = _reference_text(refs, str(b["source"])) if b.get("source") else Markup("<em>assumption</em>")
        rows.append((path, b.get("description", ""), _param_text(b), src))
    n_src = sum(1 for _, b in blocks if b.get("source"))
    out = [f"<p>{len(blocks)} blocks of parameters: {n_src} cite a source, {len(blocks) - n_src} are assumptions. "
           "Every number a regime uses sits in one of these blocks (the regime language requires a source or "
           "<code>assumption: true</code> on each).</p>",
           _table(["block", "description", "parameters", "source"], rows, num_from=99)]
    if refs:
        out.append("<h4>References</h4>")
        out.append(_table(["reference"], [(_reference_text(refs, k),) for k in refs], num_from=99))
    m = rd.manifest
    soc = m.get("society") or {}
    run_rows = [("citizens", soc.get("citizens")), ("days", m.get("days")), ("seed", m.get("seed")),
                ("society", json.dumps({k: v for k, v in soc.items() if k != "citizens"})),
                ("regime origin", (m.get("regime") or {}).get("origin")),
                ("regime sha256", (m.get("regime") or {}).get("sha256")),
                ("ledger", json.dumps(m.get("ledger"))), ("events written", m.get("events_written")),
                ("scorelab version", m.get("scorelab_version"))]
    out.append("<h4>Run parameters</h4>")
    out.append(_table(["parameter", "value"], run_rows, num_from=99))
    return "".join(out)


def _assumptions(rds: list[RunData]) -> str:
    out = []
    for i, rd in enumerate(rds):
        out.append(f"<details{' open' if i == 0 else ''}><summary>Assumptions and sources: {_e(rd.run_id)} "
                   f"(regime {_e(rd.regime_data.get('name', '?'))})</summary>"
                   f"{_guard('assumptions', lambda rd=rd: _assumptions_one(rd))}</details>")
    return "".join(out)


# ============================================================================ the page
def _resolve(run: str | Path, runs_dir: Path | None) -> Path:
    return resolve_run(run, Path(runs_dir) if runs_dir is not None else None)


def build_report(run: str | Path, vs: Sequence[str | Path] = (), runs_dir: str | Path | None = None,
                 stories: bool = True) -> str:
    """The report as one HTML string: `run` first, then each run of `vs` on the same axes."""
    folders: list[Path] = []
    for r in (run, *vs):
        f = _resolve(r, Path(runs_dir) if runs_dir is not None else None).resolve()
        if f not in folders:
            folders.append(f)
    rds = [run_data(f) for f in folders]
    ids = ", ".join(rd.run_id for rd in rds)
    title = f"scorelab report: {ids}"
    sections = {
        "summary": lambda: _guard("headline measures", lambda: _summary(rds)),
        "card": lambda: _guard("regime card", lambda: _cards(rds)),
        "scores": lambda: "".join([
            _figure("score_over_time", rds, "fig-score-time"), _figure("score_histogram", rds, "fig-score-hist"),
            _figure("tier_shares", rds, "fig-tiers"),
            '<p class="note">Percentiles and tier shares over time are rebuilt from the ledger (every score change '
            "is a row) at up to 400 days; the histogram is of final scores. With several scorers, percentiles and "
            "tiers are of the first scorer.</p>"]),
        "lists": lambda: _figure("list_sizes", rds, "fig-lists"),
        "measures": lambda: _figure("sanctions_rewards", rds, "fig-measures") +
        '<p class="note">Wrongful: the measure rests on false records (a false match, an invented report, or a '
        "listing that would not have happened without them). See measures.wrongful in docs/RUN_FORMAT.md.</p>",
        "behaviour": lambda: _guard("behaviour", lambda: _behaviour_text(rds)) +
        _figure("behaviour_change", rds, "fig-behaviour"),
        "inequality": lambda: _guard("inequality", lambda: _inequality_text(rds)) +
        _figure("inequality", rds, "fig-gini") + _figure("lorenz", rds, "fig-lorenz"),
        "network": lambda: _guard("network", lambda: _network_text(rds)) +
        _figure("network_isolation", rds, "fig-network"),
        "groups": lambda: _groups(rds),
        "stories": lambda: _stories(rds, stories),
        "assumptions": lambda: _assumptions(rds),
    }
    toc = "".join(f'<a href="#{sid}">{_e(h)}</a>' for sid, h in SECTIONS)
    body = "".join(f'<section id="{sid}"><h2>{_e(h)}</h2>{sections[sid]()}</section>' for sid, h in SECTIONS)
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sub = (f"{len(rds)} runs side by side on the same axes" if len(rds) > 1 else "one run") + \
        f" · scorelab {scorelab.__version__} · made {made} · synthetic citizens only"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style>"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
            f"<header><h1>{_e(title)}</h1><p>{_e(sub)}</p></header><nav class=\"toc\">{toc}</nav>"
            f"<main>{body}</main></body></html>\n")


def write_report(run: str | Path, out: str | Path, vs: Sequence[str | Path] = (), runs_dir: str | Path | None = None,
                 stories: bool = True) -> Path:
    """Write the report to `out` (written to a temporary name first, so a reader never sees half a file)."""
    out = Path(out)
    text = build_report(run, vs, runs_dir, stories)
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

