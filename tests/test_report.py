"""The HTML report, its figures, and the dashboard server (issue 6).

The report must open offline (no external resource, plotly.js embedded once), carry every section,
and put a second run on the same axes with `--vs`. The server must answer bad ids, traversal
attempts and bad form values with a 4xx page that says why, never a 500 and never a file from
outside the runs folder.
"""

from __future__ import annotations

import html
import io
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
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


# ============================================================================ the server
@pytest.fixture(scope="module")
def client(runs) -> TestClient:
    from scorelab.server import create_app

    return TestClient(create_app(runs))


def test_runs_page_lists_runs(client, ids):
    r = client.get("/")
    assert r.status_code == 200
    assert ids[0] in r.text and ids[1] in r.text
    assert {r["run_id"] for r in client.get("/api/runs").json()} >= set(ids)


def test_run_page_and_report(client, ids):
    r = client.get(f"/runs/{ids[0]}")
    assert r.status_code == 200 and "Open the report" in r.text and "citizens.csv" in r.text
    r = client.get(f"/runs/{ids[0]}/report")
    assert r.status_code == 200 and "<h2>Citizen stories</h2>" in r.text
    r = client.get(f"/compare?runs={ids[0]}&runs={ids[1]}")
    assert r.status_code == 200 and ids[1] in r.text and "2 runs side by side" in r.text
    assert client.get(f"/compare?runs={ids[0]}").status_code == 400


def test_unknown_run_is_404_with_a_message(client):
    for url in ("/runs/no-such-run", "/runs/no-such-run/report", "/runs/no-such-run/citizen?id=1",
                "/runs/no-such-run/tables/citizens.csv"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert html.escape("no run 'no-such-run'") in r.text


def test_traversal_attempts_never_reach_files(client, runs, ids, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "manifest.json").write_text('{"run_id": "SECRET-CONTENT"}')
    real = str((runs / ids[0]).resolve())
    urls = [
        "/runs/..%2F..%2Fetc%2Fpasswd/report", "/runs/%2e%2e/report", "/runs/%2e%2e%2f%2e%2e/report",
        "/runs/..%5C..%5Cwindows/report", "/runs/%2Fetc%2Fpasswd", "/runs/.hidden/report",
        f"/runs/{ids[0]}%2F..%2F..%2F/report", f"/runs/{ids[0]}/tables/..%2Fmanifest.json",
        f"/runs/{ids[0]}/tables/%2Fetc%2Fpasswd.csv", f"/runs/{ids[0]}/tables/..%2F..%2Fsecret.parquet",
        f"/compare?runs={real}&runs={ids[1]}", f"/compare?runs={secret}&runs={ids[0]}",
        "/compare?runs=..&runs=%2Fetc", f"/runs/{ids[0]}/citizen?id=..%2F..%2Fetc%2Fpasswd",
        "/jobs/..%2F..%2Fetc%2Fpasswd", "/api/jobs/%2e%2e",
    ]
    for url in urls:
        r = client.get(url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert "SECRET-CONTENT" not in r.text and "root:x:" not in r.text, url
    r = client.get("/runs/" + real.replace("/", "%2F"))
    assert r.status_code == 404


@pytest.mark.parametrize("field,value,says", [
    ("citizens", "0", "citizens: got 0"), ("citizens", "3000000", "citizens: got 3,000,000"),
    ("citizens", "lots", "citizens: got 'lots'"), ("days", "0", "days: got 0"), ("days", "3651", "days: got 3,651"),
    ("seed", "-1", "seed: got -1"), ("preset", "../../etc/passwd", "preset: got '../../etc/passwd'"),
    ("baseline", "bogus", "baseline: got 'bogus'"), ("camera_coverage", "2", "camera coverage"),
    ("penalty_scale", "nan", "penalty scale"),
])
def test_bad_form_values_get_a_4xx_message(client, field, value, says):
    form = {"preset": "unified", "citizens": "1000", "days": "10", "seed": "1", "baseline": "none", field: value}
    r = client.post("/new", data=form, follow_redirects=False)
    assert r.status_code == 400
    assert "The run was not started" in r.text and html.escape(says) in r.text


def test_downloads_allowed_tables_only(client, runs, ids):
    r = client.get(f"/runs/{ids[0]}/tables/daily.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert '"day"' in lines[0] and len(lines) == DAYS + 1
    r = client.get(f"/runs/{ids[0]}/tables/measures.parquet")
    assert r.status_code == 200 and r.content[:4] == b"PAR1"
    got = pq.read_table(io.BytesIO(r.content))
    assert got.num_rows == pq.ParquetFile(runs / ids[0] / "measures.parquet").metadata.num_rows
    r = client.get(f"/runs/{ids[0]}/tables/ledger.csv")
    assert r.status_code == 200 and r.text.count("\n") == pq.ParquetFile(runs / ids[0] / "ledger.parquet"
                                                                          ).metadata.num_rows + 1
    for name in ("manifest.json", "regime.yaml", "summary.csv", "citizens.xlsx", "catalogue.parquet", "citizens"):
        r = client.get(f"/runs/{ids[0]}/tables/{name}")
        assert r.status_code == 404, name
        assert "allowed:" in r.text


def test_citizen_explorer(client, ids):
    r = client.get(f"/runs/{ids[0]}/citizen?id=7")
    assert r.status_code == 200 and "Citizen 7 of" in r.text and 'id="account"' in r.text
    assert client.get(f"/runs/{ids[0]}/citizen?id=seven").status_code == 400
    r = client.get(f"/runs/{ids[0]}/citizen?id={CITIZENS}")
    assert r.status_code == 404 and f"from 0 to {CITIZENS - 1}" in r.text


def test_compose_runs_in_the_background_and_lands_in_the_catalogue(client):
    form = {"preset": "unified", "citizens": "1500", "days": "12", "seed": "3", "baseline": "",
            "penalty_scale": "3"}
    r = client.post("/new", data=form, follow_redirects=False)
    assert r.status_code == 303
    job = r.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/jobs/{job}").status_code == 200
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        j = client.get(f"/api/jobs/{job}").json()
        if j["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert j["state"] == "done", j
    assert j["run_id"] == "unified-custom-1500x12-s3" and j["progress"] == 1.0
    assert j["run_id"] in client.get("/").text
    regime = client.get(f"/runs/{j['run_id']}/report").text
    assert "changed in the dashboard: points" in regime
