"""The HTML report and its figures (issue 6); the dashboard's tests are in test_dashboard.py.

The report must open offline (no external resource, plotly.js embedded once), carry every section,
and put a second run on the same axes with `--vs`.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from scorelab import api
from scorelab.cli import app
from scorelab.report import FIGURES, SECTIONS, build_report, run_data, write_report
from scorelab.report import figures as F
from scorelab.report.html import sourced_blocks

CITIZENS, DAYS = 4000, 45


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Path:
    """A runs folder with a unified run and a fragmented run, each with its paired baseline."""
    out = tmp_path_factory.mktemp("report") / "runs"
    api.run("unified", citizens=CITIZENS, days=DAYS, seed=2, out=out)
    api.run("fragmented", citizens=CITIZENS, days=DAYS, seed=2, out=out)
    return out


@pytest.fixture(scope="session")
def ids() -> tuple[str, str]:
    return f"unified-{CITIZENS}x{DAYS}-s2", f"fragmented-{CITIZENS}x{DAYS}-s2"


@pytest.fixture(scope="session")
def report_html(runs, ids) -> str:
    return build_report(ids[0], runs_dir=runs)


class _Resources(HTMLParser):
    """Every src/href of script, link and img tags."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img", "iframe", "source", "video", "audio"):
            self.urls += [(tag, v or "") for k, v in attrs if k in ("src", "href")]


# ============================================================================ the report
def test_report_is_self_contained(report_html):
    parser = _Resources()
    parser.feed(report_html)
    external = [(t, u) for t, u in parser.urls if u.startswith(("http://", "https://", "//"))]
    assert external == []
    assert [t for t, _ in parser.urls if t == "script"] == []  # no script is loaded from anywhere
    assert report_html.count(get_plotlyjs()[:2000]) == 1  # plotly.js embedded exactly once
    assert "cdn.plot.ly" not in report_html.replace(get_plotlyjs(), "")


def test_report_has_every_section(report_html, ids):
    for sid, heading in SECTIONS:
        assert f'id="{sid}"' in report_html
        assert f"<h2>{html.escape(heading)}</h2>" in report_html
    assert ids[0] in report_html
    for must in ("EU AI Act Art. 5(1)(c)", "four-fifths", "assumption", "plotly-graph-div"):
        assert must in report_html
    assert 'class="error"' not in report_html  # no section fell back to an error message


def test_report_stays_small(report_html):
    rest = len(report_html.encode()) - len(get_plotlyjs().encode())
    assert rest < 1_500_000, f"{rest:,} bytes besides plotly.js"


def test_report_vs_puts_both_runs_on_the_same_axes(runs, ids, tmp_path, runner):
    out = tmp_path / "both.html"
    result = runner.invoke(app, ["report", ids[0], "--vs", ids[1], "--runs", str(runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert ids[1] in text and ids[0] in text
    assert "2 runs side by side" in text
    assert text.count(get_plotlyjs()[:2000]) == 1
    fig = F.list_sizes([runs / ids[0], runs / ids[1]])
    assert {t.legendgroup for t in fig.data} == set(ids)


def test_cli_report_unknown_run_is_one_line(runs, runner, tmp_path):
    result = runner.invoke(app, ["report", "no-such-run", "--runs", str(runs), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "no run 'no-such-run'" in result.output
    assert "Traceback" not in result.output


def test_report_survives_missing_stories(runs, ids, monkeypatch):
    def broken(*a, **k):
        raise ImportError("scorelab.ledger.stories is not there yet")

    monkeypatch.setattr(api, "stories", broken)
    text = build_report(ids[0], runs_dir=runs)
    assert "citizen stories unavailable: ImportError" in text
    assert "<h2>Assumptions and sources</h2>" in text


def test_write_report_refuses_missing_folder(runs, ids, tmp_path):
    from scorelab.errors import ScorelabError

    with pytest.raises(ScorelabError, match="folder does not exist"):
        write_report(ids[0], tmp_path / "nope" / "r.html", runs_dir=runs, stories=False)


# ============================================================================ figures
def test_figures_return_plotly_figures_with_expected_traces(runs, ids):
    a, b = runs / ids[0], runs / ids[1]
    for name, fn in FIGURES.items():
        for target in (a, [a, b]):
            fig = fn(target)
            assert isinstance(fig, go.Figure), name
            # a figure with nothing to draw says why instead (a tiny run may bar no child)
            assert fig.data or fig.layout.annotations[0].text.startswith("no "), f"{name} has no trace"
    names = {t.name for t in F.score_over_time(a).data}
    assert {"mean", "p50 state", "p10 state", "p90 state"} <= names
    lists = [c for c in run_data(a).daily if c.startswith("listed:")]
    assert len(F.list_sizes(a).data) == len(lists) > 0
    kinds = {t.name for t in F.sanctions_rewards(a).data}
    assert kinds == {"rightful", "wrongful (false records)"}
    beh = F.behaviour_change(a).data
    assert len(beh) == 2 and beh[0].y[0] == "all antisocial acts" and beh[1].y[0] == "all lawful expression"
    money = F.money(a).data
    assert len(money) == 2 and list(money[0].x) == ["sanctioned at least once", "ever on a punitive list",
                                                    "lost a job to a sanction", "never sanctioned or listed"]
    wrong = F.wrongful(a).data
    assert len(wrong) == 2 and list(wrong[0].y) == list(wrong[1].y)  # rightful and wrongful side by side
    assert len(F.groups(a).data) == 2 and F.groups(a).data[0].x[0] == "D1" and F.groups(a).data[0].x[-1] == "D10"
    both = F.score_over_time([a, b])
    assert {t.legendgroup for t in both.data} == set(ids)


def test_figures_send_aggregates_not_citizens(runs, ids):
    """The largest trace is bounded by days or bins, never by the number of citizens."""
    for name, fn in FIGURES.items():
        for t in fn(runs / ids[0]).data:
            for axis in ("x", "y"):
                v = getattr(t, axis, None)
                if v is not None:
                    assert len(v) <= max(DAYS, 300), (name, axis, len(v))


def test_score_history_ends_at_the_final_scores(runs, ids):
    """Rebuilt from the ledger, the last day's histogram equals the histogram of citizens.score."""
    rd = run_data(runs / ids[0])
    h = rd.score_history
    assert h.total == CITIZENS and len(h.days) == DAYS
    assert (h.counts.sum(axis=1) == CITIZENS).all() and (h.tier_counts.sum(axis=1) == CITIZENS).all()
    initial, width, lo, nbins = F._bins(rd.first_scorer)
    score = pq.read_table(rd.folder / "citizens.parquet", columns=["score"]).column("score").to_numpy()
    idx = np.clip(np.rint((score - initial) / width).astype(np.int64) - lo, 0, nbins - 1)
    assert np.array_equal(np.bincount(idx, minlength=nbins), h.counts[-1])
    tiers = pq.read_table(rd.folder / "citizens.parquet", columns=["tier"]).column("tier").to_pylist()
    assert [tiers.count(t) for t in h.tier_names] == h.tier_counts[-1].tolist()


def test_every_sourced_block_is_listed(runs, ids):
    rd = run_data(runs / ids[0])
    blocks = dict(sourced_blocks(rd.regime_data))
    regime = rd.regime
    s = regime.scorers[0]
    assert "deterrence" in blocks and "scorers[state].score" in blocks
    for rule in s.rules:
        assert f"scorers[state].rules[{rule.name}]" in blocks
    for m in (*s.sanctions, *s.rewards):
        assert any(p.endswith(f"[{m.name}]") for p in blocks)
    assert all(("source" in b) or b.get("assumption") for b in blocks.values())


def test_compiled_templates_render_as_fresh_ones_and_a_damaged_cache_is_no_cache(demo_run, tmp_path):
    """issue 12: templates compiled once are kept between processes (Jinja's bytecode cache); what they
    render equals a fresh compile in the text and the HTML environment sharing one folder (Jinja keys a
    template by name only, yet autoescape changes what it compiles to), and damaged cache files are
    compiled afresh, not an error."""
    from scorelab.ledger.explain import explain, render_account
    from scorelab.report.render import _compiled_templates, _env

    e = explain(demo_run, 0)
    account = [*render_account(e, "md"), "citizen 7's <record>"]  # text that escaping changes

    def render(env) -> str:
        return env.get_template("explain.md.j2").render(mode="md", e=e, account=account, docs="d/")

    fresh = {True: render(_env(True)), False: render(_env(False))}
    assert fresh[True] != fresh[False]  # escaping differs: a shared cache would show
    cache = tmp_path / "compiled"
    cache.mkdir()
    for _ in range(2):  # compiles and keeps, then loads what was kept
        for autoescape in (True, False):
            assert render(_env(autoescape, _compiled_templates(autoescape, str(cache)))) == fresh[autoescape]
    kept = sorted(cache.iterdir())
    assert len(kept) >= 2
    for damage in (lambda b: b"not a compiled template", lambda b: b[:40]):  # bad header; cut in the checksum
        for f in sorted(cache.iterdir()):
            f.write_bytes(damage(f.read_bytes()))
        for autoescape in (True, False):
            assert render(_env(autoescape, _compiled_templates(autoescape, str(cache)))) == fresh[autoescape]
