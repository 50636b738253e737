"""The report's answers (issue 14): written by a template from the summary, with intervals for replication
sets, tolerant of absent keys, rendering issue 9's consequence keys as they land; links that resolve;
escaping of everything a regime file says.
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from _support import preset_text
from scorelab import api
from scorelab.report import build_report
from scorelab.report.answers import QUESTIONS, run_facts
from scorelab.report.figures import RunData, run_data
from scorelab.report.render import measure, render_html

CITIZENS, DAYS = 3000, 40


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Three replications of unified (seeds 2-4) and one fragmented run, each with its paired baseline."""
    out = tmp_path_factory.mktemp("answers") / "runs"
    for seed in (2, 3, 4):
        api.run("unified", citizens=CITIZENS, days=DAYS, seed=seed, out=out)
    api.run("fragmented", citizens=CITIZENS, days=DAYS, seed=2, out=out)
    return out


def uid(seed: int) -> str:
    return f"unified-{CITIZENS}x{DAYS}-s{seed}"


class _Page(HTMLParser):
    """The text of the answers section, every id, and every in-page link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.anchors: list[str] = []
        self.depth = 0
        self.answers: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.anchors.append(a["href"][1:])
        if a.get("id") == "answers":
            self.depth = 1
        elif self.depth and tag == "section":
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth and tag == "section":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.answers.append(data)


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    return p


# ============================================================================ the number filter
@given(x=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), w=st.floats(min_value=0, max_value=1e3),
       n=st.integers(min_value=2, max_value=100), style=st.sampled_from(["pct", "change", "count", "num", "rate"]))
def test_measure_prints_a_set_entry_as_its_mean_with_the_interval(x, w, n, style):
    plain = measure(x, style)
    entry = {"mean": x, "sd": w, "ci95": [x - w, x + w], "n": n}
    text = measure(entry, style)
    assert text.startswith(plain + " (95% CI ") and text.endswith(f", {n} runs)")
    assert measure(entry, style).count(" to ") == 1


def test_measure_styles_and_absent_values():
    assert measure(0.0059, "pct") == "0.59%" and measure(0.287, "pct") == "28.7%"
    assert measure(-0.018, "change") == "-1.8%" and measure(0.1, "change") == "+10%" and measure(0.01, "pct") == "1%"
    assert measure(6777, "count") == "6,777" and measure(49.376, "rate") == "49.4"
    assert measure(None) == "n/a" and measure("text") == "n/a" and measure(float("nan")) == "n/a"
    assert measure({"mean": None, "ci95": [None, None], "n": 3}) == "n/a"


# ============================================================================ the answers
def test_answers_come_first_and_hold_numbers(runs):
    page = build_report(uid(2), runs_dir=runs, stories=False)
    assert page.index('<section id="answers">') < page.index('<section id="evidence">') < page.index('id="summary"')
    p = _parse(page)
    text = " ".join(" ".join(p.answers).split())
    for qid, question in QUESTIONS:
        assert f'id="answer-{qid}"' in page and question in text
    s = api.summary(uid(2), runs)
    assert measure(s["wrongful_sanction_share"], "pct") in text
    for key in ("antisocial_change", "expression_change"):
        assert measure(s[key], "change")[1:] in text
    assert f"{s['sanctions_total']:,} sanctions fell in {DAYS} days" in text
    assert len(re.findall(r"\d", text)) > 60


def _with_summary(folder: Path, summary: dict) -> RunData:
    rd = RunData(folder)
    rd.__dict__["summary"] = summary  # a cached_property: this run data reads the given summary
    return rd


def _answers_html(rds: list[RunData]) -> str:
    from scorelab.report.figures import _colour

    facts = [run_facts(rd) for rd in rds]
    return render_html("answers.html.j2", facts=facts, questions=QUESTIONS, rds=rds, links="#",
                       colours=[_colour(i) for i in range(len(rds))])


KEYS = ["listed_share", "sanctions_per_1000", "sanctions_total", "wrongful_sanction_share", "wrongly_listed_share",
        "appeal_rate", "correction_rate", "wrongful_sanctions_uncorrected_share", "antisocial_change",
        "expression_change", "behaviour_change", "network", "money_by_kind", "gini", "children_barred", "by_group",
        "false_records", "baseline"]


@given(drop=st.sets(st.sampled_from(KEYS)))
def test_answers_tolerate_any_absent_key(runs, drop):
    folder = runs / uid(2)
    s = {k: v for k, v in json.loads((folder / "summary.json").read_text()).items() if k not in drop}
    page = _answers_html([_with_summary(folder, s)])
    assert page.count('class="answer"') == len(QUESTIONS)
    assert "Undefined" not in page and "None" not in page


def test_issue9_consequences_are_told_when_they_land(runs):
    folder = runs / uid(2)
    s = json.loads((folder / "summary.json").read_text())
    s.update(trips_prevented={"total": 120, "rightful": 100, "wrongful": 20},
             visits_prevented={"total": 40, "rightful": 39, "wrongful": 1},
             income_lost={"total": 52000.0, "rightful": 50000.0, "wrongful": 2000.0},
             education_lost={"total": 3.5, "rightful": 3.0, "wrongful": 0.5},
             police_contacts={"total": 77, "rightful": 70, "wrongful": 7},
             accounts_closed={"total": 9, "rightful": 8, "wrongful": 1},
             bankrupt_share={"within_30": 0.125, "within_90": 0.25})
    text = " ".join(_answers_html([_with_summary(folder, s)]).split())
    for must in ("Trips prevented: 120 in all, 20 of them wrongful", "Visits prevented: 40 in all, 1 of them wrongful",
                 "Income lost: 52,000 yuan in all, 2,000 yuan of them wrongful",
                 "Police contacts: 77 in all, 7 of them wrongful", "Bank accounts closed: 9 in all, 1 of them wrongful",
                 "Education lost: 3.5 in all, 0.5 of them wrongful", "12.5% ran out of money within 30 days"):
        assert must in text, must


def test_a_notable_change_gets_a_sentence(runs):
    """A 10% rise in loan defaults whose interval excludes zero is said in words, and why it matters."""
    folder = runs / uid(2)
    s = json.loads((folder / "summary.json").read_text())
    s["behaviour_change"] = {**(s.get("behaviour_change") or {}),
                             "loan_default": {"mean": 0.10, "sd": 0.03, "ci95": [0.04, 0.16], "n": 10},
                             "antigov_post": {"mean": -0.02, "sd": 0.03, "ci95": [-0.05, 0.01], "n": 10}}
    text = html.unescape(" ".join(_answers_html([_with_summary(folder, s)]).split()))
    assert "a loan defaulted (three missed instalments)’ rose 10% (95% CI +4% to +16%, 10 runs)" in text
    assert "the opposite of the claimed benefit" in text and "push people into arrears" in text
    assert "posting criticism of the government" not in text  # its interval includes zero: not notable


# ============================================================================ replication sets
def _set_entry(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    m, sd = float(a.mean()), float(a.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(a) - 1) * sd / math.sqrt(len(a))) if sd > 0 else 0.0
    return {"mean": m, "sd": sd, "ci95": [m - half, m + half], "n": len(a)}


def _aggregate(summaries: list) -> object:
    """What `scorelab summary SET --json` gives: every numeric leaf as a set entry (a stand-in until sets land)."""
    first = summaries[0]
    if isinstance(first, dict):
        return {k: _aggregate([s.get(k) for s in summaries]) for k in first
                if all(isinstance(s, dict) for s in summaries)}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in summaries):
        return _set_entry(summaries)
    return first


@pytest.fixture(scope="module")
def replication_set(runs) -> Path:
    folder = runs / f"{uid(2)}-r3"
    folder.mkdir()
    members = [uid(s) for s in (2, 3, 4)]
    (folder / "set.json").write_text(json.dumps({"runs": members}))
    summaries = [json.loads((runs / m / "summary.json").read_text()) for m in members]
    agg = _aggregate(summaries)
    agg.update(run_id=folder.name, regime="unified", baseline=summaries[0]["baseline"])
    (folder / "summary.json").write_text(json.dumps(agg))
    return folder


def test_a_replication_set_shows_intervals(runs, replication_set):
    page = build_report(replication_set.name, vs=[f"fragmented-{CITIZENS}x{DAYS}-s2"], runs_dir=runs, stories=False)
    text = " ".join(" ".join(_parse(page).answers).split())
    assert text.count("95% CI") >= 6 and "3 runs)" in text
    assert "the mean over its runs with its 95% interval" in text
    rd = run_data(replication_set)
    assert rd.is_set and rd.set_runs == 3 and rd.run_id == replication_set.name
    assert 'class="error"' not in page


# ============================================================================ links and escaping
def test_every_in_page_link_resolves(runs):
    page = build_report(uid(2), vs=[f"fragmented-{CITIZENS}x{DAYS}-s2"], runs_dir=runs)
    p = _parse(page)
    missing = {a for a in p.anchors if a and a not in p.ids}
    assert not missing
    assert {"mech-s1-m7", "mech-s2-n6", "src-seed-dreher", "src-fico"} <= p.ids
    assert 'href="docs/MECHANISMS.md#s1-m7"' in page and 'href="docs/SOURCES.md#fico"' in page
    assert "facts.md" not in page.split('id="sources"')[1]  # citations, not file names


def test_regime_text_is_escaped_everywhere(tmp_path):
    data = yaml.safe_load(preset_text("unified"))
    data.update(name="evil", title="<script>alert('t')</script>", description="<img src=x onerror=alert(1)>")
    data["references"]["seed-dreher"]["url"] = "javascript:alert(1)"
    data["scorers"][0]["description"] = "</table><b>bold</b>"
    regime = tmp_path / "evil.yaml"
    regime.write_text(yaml.safe_dump(data, sort_keys=False))
    folder = api.run(regime, citizens=1500, days=15, seed=1, out=tmp_path / "runs")
    page = build_report(folder, stories=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_comparisons_use_distinct_colours_and_stop_at_six(runs):
    from scorelab.errors import ScorelabError
    from scorelab.report import figures as F

    assert len(set(F.PALETTE)) >= 8
    folders = [runs / uid(s) for s in (2, 3, 4)] + [runs / f"fragmented-{CITIZENS}x{DAYS}-s2"]
    fig = F.benefit_and_chilling(folders)
    assert len({t.marker.color for t in fig.data}) == len(folders)
    everything = sorted(p.name for p in runs.iterdir() if (p / "manifest.json").is_file())
    assert len(everything) >= 7
    with pytest.raises(ScorelabError, match="at most 6 runs"):
        build_report(everything[0], vs=everything[1:7], runs_dir=runs, stories=False)
