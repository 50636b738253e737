"""The dashboard (issues 13 and 14): every route, and every safety rule, through FastAPI's test client.

The dashboard is reachable by every web page its user visits, so it is tested as exposed: cross-site
requests (CSRF token, Origin, Fetch Metadata), Host names (DNS rebinding), headers on every response,
escaping and links, symlinks, limits, cancel, parallel first requests, and error pages without server
paths. A refused request must write nothing: the runs folder is compared file by file before and after.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from scorelab.cli import app as cli_app
from scorelab.server import create_app
from scorelab.server.compose import Composed, start_run
from scorelab.server.security import PAGE_CSP

BASE = "http://127.0.0.1"
CITIZENS, DAYS, SEED = 3000, 40, 4
# false matches raised so that a small run has sanctions and list entries resting on false records
CHANGES = [("scorers.state.channels.cameras.misattribution", 0.3),
           ("scorers.state.channels.police.misattribution", 0.5)]
CAM = "set:scorers.state.channels.cameras.misattribution"


# ============================================================================ fixtures and helpers
@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A runs folder with one composed run (false matches raised) and its paired baseline."""
    out = tmp_path_factory.mktemp("dashboard") / "runs"
    start_run(Composed("unified", CITIZENS, DAYS, SEED, "none", CHANGES), out, lambda *a: None)
    return out


@pytest.fixture(scope="module")
def run_id(runs) -> str:
    (folder,) = [p.name for p in runs.iterdir() if p.is_dir() and "--baseline-" in p.name]
    return folder.split("--baseline-")[0]


@pytest.fixture(scope="module")
def client(runs) -> TestClient:
    return TestClient(create_app(runs), base_url=BASE)


@pytest.fixture()
def empty(tmp_path) -> tuple[TestClient, Path]:
    """A client over an empty runs folder, for tests that start runs."""
    out = tmp_path / "runs"
    return TestClient(create_app(out), base_url=BASE), out


def token(client: TestClient) -> str:
    """The CSRF token of the client's session, as the compose form carries it."""
    r = client.get("/new")
    assert r.status_code == 200
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', r.text).group(1)


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` with its size and modification time."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = p.lstat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def form(**kw) -> dict:
    base = {"preset": "unified", "citizens": "1500", "days": "12", "seed": "3", "baseline": ""}
    return {**base, **kw}


def wait_job(client: TestClient, job: str, timeout: float = 120) -> tuple[dict, list[str]]:
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        j = client.get(f"/api/jobs/{job}").json()
        messages.append(j["message"])
        if not j["active"]:
            return j, messages
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish: {messages[-3:]}")


def start(client: TestClient, headers: dict | None = None, **kw) -> str:
    """Start a run through the form, as a page of the dashboard does (same origin, with the token)."""
    r = client.post("/new", data={"csrf_token": token(client), **form(**kw)}, headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def copy_run(runs: Path, run_id: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(runs / run_id, dest / run_id, symlinks=True)
    return dest / run_id


# ============================================================================ routes
def test_runs_page_and_json(client, run_id):
    r = client.get("/")
    assert r.status_code == 200
    assert run_id in r.text and f"{run_id}--baseline-none" in r.text
    assert "(baseline of" in r.text
    assert {x["run_id"] for x in client.get("/api/runs").json()} == {run_id, f"{run_id}--baseline-none"}


def test_run_page_facts_downloads_and_sources(client, runs, run_id):
    r = client.get(f"/runs/{run_id}")
    assert r.status_code == 200
    assert "<th>measure</th><th>value</th>" in r.text and "Open the report" in r.text
    for name in ("citizens", "daily", "measures", "list_events"):
        assert f'id="dl-{name}-csv"' in r.text
    rows = pq.ParquetFile(runs / run_id / "daily.parquet").metadata.num_rows
    assert re.search(rf"<td>daily</td><td class=\"num\">{rows:,}</td>", r.text)
    assert 'id="references"' in r.text and "nist-frvt" in r.text  # the preset's sources


def test_report_and_compare(client, runs, run_id):
    r = client.get(f"/runs/{run_id}--baseline-none/report")
    assert r.status_code == 200 and "<h2>Citizen stories</h2>" in r.text and "one run" in r.text
    bar = f'<div class="scorelab-bar"><a href="/">&larr; all runs</a><a href="/runs/{run_id}--baseline-none">'
    assert bar in r.text
    r = client.get("/compare", params={"runs": [run_id, f"{run_id}--baseline-none"]})
    assert r.status_code == 200 and "2 runs side by side" in r.text
    assert client.get("/compare").status_code == 200
    r = client.get("/compare", params={"runs": run_id})
    assert r.status_code == 400 and "choose from 2 to 6" in r.text
    r = client.get("/compare?" + "&".join(f"runs=r{i}" for i in range(7)))
    assert r.status_code == 400


def test_report_csp_allows_exactly_its_own_inline_scripts(client, run_id):
    import base64
    import hashlib

    r = client.get("/compare", params={"runs": [run_id, f"{run_id}--baseline-none"]})
    csp = r.headers["content-security-policy"]
    allowed = set(re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", csp))
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
    assert len(scripts) >= 2  # plotly.js and the figures
    assert allowed == {base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts}
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]  # so javascript: URLs never run
    assert "frame-ancestors 'none'" in csp


def test_unknown_run_is_404_with_a_message(client):
    for url in ("/runs/no-such-run", "/runs/no-such-run/report", "/runs/no-such-run/citizen?id=1",
                "/runs/no-such-run/tables/citizens.csv"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "no run 'no-such-run'" in html.unescape(r.text)


def test_traversal_attempts_never_reach_files(client, runs, run_id, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "manifest.json").write_text('{"run_id": "SECRET-CONTENT"}')
    real = str((runs / run_id).resolve())
    urls = [
        "/runs/..%2F..%2Fetc%2Fpasswd/report", "/runs/%2e%2e/report", "/runs/%2e%2e%2f%2e%2e/report",
        "/runs/..%5C..%5Cwindows/report", "/runs/%2Fetc%2Fpasswd", "/runs/.hidden/report",
        f"/runs/{run_id}%2F..%2F..%2F/report", f"/runs/{run_id}/tables/..%2Fmanifest.json",
        f"/runs/{run_id}/tables/%2Fetc%2Fpasswd.csv", f"/runs/{run_id}/tables/..%2F..%2Fsecret.parquet",
        f"/compare?runs={real}&runs={quote(run_id)}", f"/compare?runs={secret}&runs={quote(run_id)}",
        "/compare?runs=..&runs=%2Fetc", f"/runs/{run_id}/citizen?id=..%2F..%2Fetc%2Fpasswd",
        "/jobs/..%2F..%2Fetc%2Fpasswd", "/api/jobs/%2e%2e", "/experiments/..%2F..", "/static/..%2F..%2Fapp.py",
    ]
    for url in urls:
        r = client.get(url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert "SECRET-CONTENT" not in r.text and "root:x:" not in r.text, url
    assert client.get("/runs/" + real.replace("/", "%2F")).status_code == 404


def test_downloads_allowed_tables_only(client, runs, run_id):
    r = client.get(f"/runs/{run_id}/tables/daily.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="{run_id}-daily.csv"' in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert '"day"' in lines[0] and len(lines) == DAYS + 1
    r = client.get(f"/runs/{run_id}/tables/measures.parquet")
    assert r.status_code == 200 and r.content == (runs / run_id / "measures.parquet").read_bytes()
    r = client.get(f"/runs/{run_id}/tables/ledger.csv")
    n = pq.ParquetFile(runs / run_id / "ledger.parquet").metadata.num_rows
    assert r.status_code == 200 and r.text.count("\n") == n + 1
    for name in ("manifest.json", "regime.yaml", "summary.csv", "citizens.xlsx", "catalogue.parquet", "citizens"):
        r = client.get(f"/runs/{run_id}/tables/{name}")
        assert r.status_code == 404 and "allowed:" in r.text, name


def test_citizen_page_marks_list_spells_and_sanctions_from_the_run_tables(client, runs, run_id):
    folder = runs / run_id
    lists = pd.read_parquet(folder / "list_events.parquet")
    measures = pd.read_parquet(folder / "measures.parquet")
    sanctions = measures[measures["kind"].astype(str) == "sanction"]
    wrong = lists[lists["wrongful"] & (lists["action"].astype(str) == "enter")]
    assert len(wrong), "the fixture run should have a list entry resting on false records"
    c = int(wrong["citizen"].iloc[0])
    r = client.get(f"/runs/{run_id}/citizen?id={c}")
    assert r.status_code == 200 and f"Citizen {c} of {run_id}" in r.text
    assert "<th>attribute</th><th>value</th>" in r.text and "<th></th>" not in r.text
    chart = json.loads(html.unescape(re.search(r'id="citizen-chart-data">(.*?)</script>', r.text, re.S).group(1)))
    traces = {t["name"]: t for t in chart["data"]}
    mine = lists[(lists["citizen"] == c) & (lists["action"].astype(str) == "enter")]
    wrong_lists = {str(x) for x in mine[mine["wrongful"]]["list"]}
    assert set(traces["on a list on false records"]["y"]) - {None} == wrong_lists
    right_lists = {str(x) for x in mine[~mine["wrongful"]]["list"]}
    assert set(traces.get("on a list", {"y": [None]})["y"]) - {None} == right_lists
    table = re.search(r'<table id="citizen-marks">(.*?)</table>', r.text, re.S).group(1)
    mine_wrong = int(sanctions[sanctions["citizen"] == c]["wrongful"].sum())
    assert table.count('class="wrongful"') == len(wrong_lists) + mine_wrong
    # a citizen with a sanction has it marked on the score line, flagged by its wrongful column
    s = sanctions.iloc[0]
    r = client.get(f"/runs/{run_id}/citizen?id={int(s['citizen'])}")
    chart = json.loads(html.unescape(re.search(r'id="citizen-chart-data">(.*?)</script>', r.text, re.S).group(1)))
    name = "sanction on false records" if s["wrongful"] else "sanction"
    marked = next(t for t in chart["data"] if t["name"] == name)
    assert int(s["day"]) in marked["x"] and str(s["measure"]) in marked["text"]


def test_citizen_explorer_bad_ids(client, run_id):
    r = client.get(f"/runs/{run_id}/citizen?id=seven")
    assert r.status_code == 400 and f"from 0 to {CITIZENS - 1}" in r.text
    r = client.get(f"/runs/{run_id}/citizen?id={CITIZENS}")
    assert r.status_code == 404 and f"from 0 to {CITIZENS - 1}" in r.text
    r = client.get(f"/runs/{run_id}/citizen")
    assert r.status_code == 200 and 'id="citizen-id"' in r.text
    assert client.get("/assets/plotly.js").headers["content-type"].startswith("application/javascript")


def test_experiments_page_without_and_with_experiments(tmp_path):
    out = tmp_path / "runs"
    client = TestClient(create_app(out), base_url=BASE)
    r = client.get("/experiments")
    assert r.status_code == 200 and "No experiments yet" in r.text
    folder = out / "experiments" / "false-matches"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"point": [0, 1, 2], "seed": [1, 1, 1], "wrongful_sanction_share": [0.1, 0.2, 0.3]}),
                   folder / "results.parquet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pq.write_table(pa.table({"SECRET": [1]}), elsewhere / "results.parquet")
    (out / "experiments" / "linked").symlink_to(elsewhere)
    r = client.get("/experiments")
    assert "false-matches" in r.text and "wrongful_sanction_share" in r.text and "linked" not in r.text
    r = client.get("/experiments/false-matches")
    assert r.status_code == 200 and "3 runs" in r.text and "0.30" in r.text
    assert client.get("/experiments/linked").status_code == 404
    assert client.get("/experiments/nope").status_code == 404


# ============================================================================ compose (issue 14 item 7)
def test_compose_form_has_the_command_lines_defaults_and_typed_inputs(client):
    r = client.get("/new")
    assert r.status_code == 200
    for name, value, lo, hi in (("citizens", "100000", "1", "2000000"), ("days", "365", "1", "3650"),
                                ("seed", "0", "0", str(2**32 - 1))):
        tag = re.search(rf'<input id="{name}"[^>]*>', r.text).group(0)
        assert 'type="number"' in tag and f'value="{value}"' in tag and f'min="{lo}"' in tag and f'max="{hi}"' in tag
    assert re.search(r'<option value=""[^>]*selected>no baseline', r.text) is None
    assert re.search(r'<option value="none" selected>none</option>', r.text)


def test_compose_form_shows_each_presets_current_values(client):
    from scorelab.regime.dated import on_day
    from scorelab.regime.loader import load_regime, preset_names

    r = client.get("/new")
    checked = 0
    for preset in preset_names():
        data = yaml.safe_load(load_regime(preset).text)
        fs = re.search(rf'<fieldset data-preset="{preset}".*?</fieldset>', r.text, re.S).group(0)
        for sc in data.get("scorers") or []:
            for ch, block in (sc.get("channels") or {}).items():
                for field in ("coverage", "misattribution"):
                    path = f"scorers.{sc['name']}.channels.{ch}.{field}"
                    tag = re.search(rf'<input name="set:{re.escape(path)}"[^>]*>', fs).group(0)
                    assert 'type="number"' in tag and 'min="0.0"' in tag and 'max="1.0"' in tag
                    assert f'value="{float(on_day(block.get(field, 0.0), 0))}"' in tag, (preset, path)
                    checked += 1
    assert checked >= 40
    assert re.search(r'<fieldset data-preset="fragmented"[^>]*disabled', r.text)  # unified is chosen
    r = client.get("/new?preset=fragmented")
    assert re.search(r'<fieldset data-preset="unified"[^>]*disabled', r.text)
    assert not re.search(r'<fieldset data-preset="fragmented"[^>]*disabled', r.text)


def test_knobs_left_at_the_presets_values_are_no_change():
    from scorelab.regime.loader import preset_names
    from scorelab.server.compose import knobs, parse_form
    from scorelab.server.state import Limits

    every = {f"set:{k.path}": repr(k.value) for k in knobs("unified")}
    assert len(every) >= 5
    c, errors = parse_form(form(**every), preset_names(), Limits())
    assert errors == [] and c.changes == [] and c.name == "unified-1500x12-s3"
    c, errors = parse_form(form(**{**every, CAM: "0.01"}), preset_names(), Limits())
    assert c.changes == [("scorers.state.channels.cameras.misattribution", 0.01)]
    assert c.name == "unified-1500x12-s3-cameras.misattribution=0.01"


def test_a_change_to_one_scorer_leaves_its_siblings_alone():
    """fragmented's bureaus share their blocks through a YAML anchor; a knob of one must not move the others."""
    from scorelab.server.compose import Composed, changed_regime, check_composed, knobs

    paths = [k.path for k in knobs("fragmented")]
    path = next(p for p in paths if p.endswith(".channels.bank.misattribution"))
    data = changed_regime("fragmented", [(path, 0.2)])
    scorer = path.split(".")[1]
    banks = {s["name"]: (s.get("channels") or {}).get("bank", {}).get("misattribution") for s in data["scorers"]}
    assert banks[scorer] == 0.2 and [v for k, v in banks.items() if k != scorer and v == 0.2] == []
    check_composed(Composed("fragmented", 100, 5, 0, None, [(path, 0.2)]))  # it compiles


@pytest.mark.parametrize("field,value,says", [
    ("citizens", "0", "citizens: got 0"), ("citizens", "3000000", "citizens: got 3,000,000"),
    ("citizens", "lots", "citizens: got 'lots'"), ("days", "0", "days: got 0"), ("days", "3651", "days: got 3,651"),
    ("seed", "-1", "seed: got -1"), ("preset", "../../etc/passwd", "preset: got '../../etc/passwd'"),
    ("baseline", "bogus", "baseline: got 'bogus'"), (CAM, "2", "misattribution: got 2, allowed: a number from 0 to 1"),
    (CAM, "nan", "got nan"),
    ("set:scorers.state.rules", "1", "not a knob of preset unified"),
])
def test_bad_form_values_get_a_400_and_write_nothing(empty, field, value, says):
    client, out = empty
    tok = token(client)
    before = tree(out)
    r = client.post("/new", data={"csrf_token": tok, **form(**{field: value})}, follow_redirects=False)
    assert r.status_code == 400
    assert "The run was not started" in r.text and says in html.unescape(r.text)
    assert tree(out) == before and client.get("/api/runs").json() == []


def test_size_limit_is_configurable_and_refuses_before_writing(tmp_path):
    out = tmp_path / "runs"
    client = TestClient(create_app(out, max_cells=10_000), base_url=BASE)
    tok = token(client)
    before = tree(out)
    r = client.post("/new", data={"csrf_token": tok, **form(citizens="1000", days="11")}, follow_redirects=False)
    assert r.status_code == 400 and "1,000 x 11 = 11,000" in r.text and "at most 10,000" in r.text
    assert tree(out) == before
    from scorelab.regime.loader import preset_names
    from scorelab.server.compose import parse_form

    limits = client.app.state.dashboard.limits
    c, errors = parse_form(form(citizens="1000", days="10"), preset_names(), limits)  # at the limit: accepted
    assert errors == [] and c.citizens * c.days == limits.max_cells == 10_000


def test_cancel_stops_the_run_at_the_next_day_and_leaves_no_folder(empty):
    client, out = empty
    before = {p for p in tree(out) if not p.startswith(".")}
    job = start(client, citizens="5000", days="3000", baseline="none", **{CAM: "0.01"})
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job}").json()["day"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = client.post(f"/jobs/{job}/cancel", data={}, follow_redirects=False)  # a cancel needs the token too
    assert r.status_code == 403 and client.get(f"/api/jobs/{job}").json()["active"]
    r = client.post(f"/jobs/{job}/cancel", data={"csrf_token": token(client)}, follow_redirects=False)
    assert r.status_code == 303
    j, _ = wait_job(client, job, timeout=30)
    assert j["state"] == "cancelled" and j["message"] == "cancelled: nothing was written"
    assert j["day"] < 3000
    left = [p for p in tree(out) if p not in before and not p.startswith(".reports")]
    assert [p for p in left if not p.startswith("catalogue")] == [], left
    assert client.get("/api/runs").json() == []


# ============================================================================ security (issue 13 item 4)
def test_csrf_token_is_bound_to_the_session_cookie(empty):
    client, out = empty
    tok = token(client)
    before = tree(out)
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": tok[:-1] + "x"}):
        r = client.post("/new", data={**form(), **data}, follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    other = TestClient(client.app, base_url=BASE)  # another browser: its own cookie, so the token does not fit
    other.get("/new")
    r = other.post("/new", data={"csrf_token": tok, **form()}, follow_redirects=False)
    assert r.status_code == 403
    fresh = TestClient(client.app, base_url=BASE)  # no cookie at all
    r = fresh.post("/new", data={"csrf_token": tok, **form()}, follow_redirects=False)
    assert r.status_code == 403
    assert tree(out) == before and client.get("/api/runs").json() == [] and "Runs started here" not in client.get(
        "/").text
    cookie = next(c for c in client.cookies.jar if c.name == "scorelab_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Strict"


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://127.0.0.1:9999"},
    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
])
def test_cross_site_posts_are_refused_even_with_a_valid_token(empty, headers):
    client, out = empty
    tok = token(client)
    before = tree(out)
    r = client.post("/new", data={"csrf_token": tok, **form()}, headers=headers, follow_redirects=False)
    assert r.status_code == 403 and "cross-site request refused" in r.text
    assert tree(out) == before and "Runs started here" not in client.get("/").text


def test_cross_site_subresources_are_refused_but_links_to_the_dashboard_work(client, run_id):
    for dest, mode in (("image", "no-cors"), ("script", "no-cors"), ("empty", "cors"), ("iframe", "navigate")):
        r = client.get(f"/runs/{run_id}/tables/citizens.parquet",
                       headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest})
        assert r.status_code == 403 and b"PAR1" not in r.content, dest
    r = client.get("/api/runs", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors",
                                         "Sec-Fetch-Dest": "empty"})
    assert r.status_code == 403 and "cross-site request refused" in r.json()["error"]
    r = client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
                                 "Sec-Fetch-Dest": "document"})
    assert r.status_code == 200


def test_host_header_must_be_an_allowed_name(runs):
    app = create_app(runs)
    for host in ("127.0.0.1", "127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
        assert TestClient(app, base_url=BASE).get("/", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.nip.io", "localhost.evil.example", "testserver",
                 "", "[::1"):
        r = TestClient(app, base_url=BASE).get("/api/runs", headers={"Host": host})
        assert r.status_code == 400 and "run_id" not in r.text, host
    app = create_app(runs, allow_hosts=["dash.example.org"])
    assert TestClient(app, base_url="http://dash.example.org").get("/api/runs").status_code == 200
    assert TestClient(app, base_url="http://other.example.org").get("/api/runs").status_code == 400
    assert TestClient(create_app(runs, bind="192.168.7.7"), base_url="http://192.168.7.7").get("/").status_code == 200


def test_allow_host_option_is_checked(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", "--runs", str(tmp_path), "--allow-host", "bad host/x"])
    assert result.exit_code == 2 and "--allow-host" in result.output


def test_security_headers_on_every_response(client, run_id):
    urls = ["/", "/api/runs", f"/runs/{run_id}", f"/runs/{run_id}/citizen?id=1", "/new", "/compare",
            "/experiments", f"/runs/{run_id}/tables/daily.csv", "/static/dashboard.css", "/assets/plotly.js",
            "/no/such/page", "/runs/nope", f"/runs/{run_id}/citizen?id=x", f"/runs/{run_id}/report"]
    responses = [client.get(u) for u in urls]
    responses.append(client.get("/", headers={"Host": "evil.example"}))              # Host refused
    responses.append(client.post("/new", data=form(), follow_redirects=False))      # CSRF refused
    responses.append(client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}))
    responses.append(client.delete("/"))                                            # method not allowed
    for r in responses:
        h = r.headers
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", r.url
        assert "frame-ancestors 'none'" in h["content-security-policy"] and "default-src 'none'" in h[
            "content-security-policy"], r.url
        assert h["referrer-policy"] == "same-origin", r.url
    assert responses[0].headers["content-security-policy"] == PAGE_CSP


def test_escaping_and_only_http_links(runs, run_id, tmp_path):
    out = tmp_path / "runs"
    folder = copy_run(runs, run_id, out)
    data = yaml.safe_load((folder / "regime.yaml").read_text())
    data["references"] = {
        "evil": {"title": "<script>alert(1)</script>", "url": "javascript:alert(document.cookie)"},
        "evil2": {"title": "data", "url": " JavaScript:alert(2)"},
        "evil3": {"title": "data url", "url": "data:text/html,<script>alert(3)</script>"},
        "good": {"title": "a source", "url": "https://example.org/paper?a=1&b=2"},
    }
    (folder / "regime.yaml").write_text(yaml.safe_dump(data))
    m = json.loads((folder / "manifest.json").read_text())
    m["regime"]["name"] = '<img src=x onerror="alert(4)">'
    m["created"] = '"><script>alert(5)</script>'
    (folder / "manifest.json").write_text(json.dumps(m))
    client = TestClient(create_app(out), base_url=BASE)
    for url in ("/", f"/runs/{run_id}", "/compare"):
        r = client.get(url)
        assert r.status_code == 200
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, url
    r = client.get(f"/runs/{run_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert 'href="javascript' not in r.text.lower() and 'href=" javascript' not in r.text.lower()
    assert 'href="data:' not in r.text
    assert "javascript:alert(document.cookie)" in r.text  # shown, as text
    assert 'href="https://example.org/paper?a=1&amp;b=2"' in r.text
    r = client.get(f"/runs/{run_id}/citizen?id=%3Cscript%3Ealert(6)%3C/script%3E")
    assert r.status_code == 400 and "<script>alert(6)" not in r.text and "&lt;script&gt;alert(6)" in r.text


def test_links_are_never_followed(runs, run_id, tmp_path):
    out = tmp_path / "runs"
    folder = copy_run(runs, run_id, out)
    secret = tmp_path / "secret.parquet"
    pq.write_table(pa.table({"SECRET": ["SECRET-CONTENT"]}), secret)
    (folder / "daily.parquet").unlink()
    (folder / "daily.parquet").symlink_to(secret)      # a table that is a link
    (out / "alias").symlink_to(folder)                 # a run folder that is a link
    outside = tmp_path / "outside-run"
    shutil.copytree(runs / f"{run_id}--baseline-none", outside)
    (out / "outside").symlink_to(outside)              # a link out of the runs folder
    linked = copy_run(runs, f"{run_id}--baseline-none", out)
    (linked / "manifest.json").rename(tmp_path / "manifest.json")
    (linked / "manifest.json").symlink_to(tmp_path / "manifest.json")  # a manifest that is a link
    client = TestClient(create_app(out), base_url=BASE)
    for url in (f"/runs/{run_id}/tables/daily.csv", f"/runs/{run_id}/tables/daily.parquet",
                f"/runs/{run_id}/tables/measures.parquet", f"/runs/{run_id}", f"/runs/{run_id}/report",
                f"/runs/{run_id}/citizen?id=1"):
        r = client.get(url)
        assert r.status_code == 422 and "never follows links" in r.text and b"SECRET" not in r.content, url
    for rid in ("alias", "outside", linked.name):
        for url in (f"/runs/{rid}/tables/citizens.parquet", f"/runs/{rid}", f"/runs/{rid}/report"):
            assert client.get(url).status_code == 404, url
    assert {x["run_id"] for x in client.get("/api/runs").json()} == {run_id}
    assert not (out / ".reports").exists()  # nothing was built from a run with links


def test_request_bodies_are_bounded(empty):
    client, out = empty
    tok = token(client)
    before = tree(out)
    r = client.post("/new", data={"csrf_token": tok, **form(), "pad": "x" * 200_000}, follow_redirects=False)
    assert r.status_code == 413 and tree(out) == before

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(100):
            yield b"a" * 4096

    r = client.post("/new", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"},
                    follow_redirects=False)
    assert r.status_code == 413 and tree(out) == before


def test_report_cache_is_bounded(runs, run_id, tmp_path):
    from scorelab.server.state import Limits

    out = tmp_path / "runs"
    for i in range(2):  # two runs (copies of the baseline, whose report is quick to make)
        shutil.copytree(runs / f"{run_id}--baseline-none", out / f"base-{i}")
    app = create_app(out)
    dash = app.state.dashboard
    dash.reports.limits = Limits(max_reports=1)
    client = TestClient(app, base_url=BASE)
    urls = [f"/runs/base-{i}/report" for i in range(2)]
    for u in urls:
        assert client.get(u).status_code == 200, u
        assert len(dash.reports.files()) == 1
    assert dash.reports.builds == 2
    assert client.get(urls[1]).status_code == 200 and dash.reports.builds == 2  # cached
    assert client.get(urls[0]).status_code == 200 and dash.reports.builds == 3  # it was the one evicted


def test_error_pages_show_no_server_paths(runs, run_id, tmp_path):
    out = tmp_path / "runs"
    folder = copy_run(runs, run_id, out)
    (folder / "citizens.parquet").write_bytes(b"not parquet at all")
    (folder / "ledger.parquet").write_bytes(b"damaged")
    client = TestClient(create_app(out), base_url=BASE)
    leaks = (str(tmp_path), str(tmp_path.resolve()), str(Path.home()), "/tmp/", "site-packages", "Traceback")
    for url in (f"/runs/{run_id}/citizen?id=1", f"/runs/{run_id}/report", f"/runs/{run_id}/tables/citizens.csv",
                f"/runs/{run_id}/tables/ledger.csv"):
        r = client.get(url)
        assert r.status_code in (200, 422), (url, r.status_code)
        # an error page, or the report's own lines on the parts it could not make (the rest of it is shown)
        said = r.text if r.status_code == 422 else " ".join(re.findall(r'<p class="error">.*?</p>', r.text))
        assert said, url
        for leak in leaks:
            assert leak not in said, (url, leak)


def test_a_failing_run_reports_without_paths(empty):
    client, out = empty
    tok = token(client)
    shutil.rmtree(out)
    out.write_text("a file where the runs folder was")  # every write into it fails
    r = client.post("/new", data={"csrf_token": tok, **form()}, follow_redirects=False)
    if r.status_code == 303:
        j, _ = wait_job(client, r.headers["location"].rsplit("/", 1)[1])
        assert j["state"] == "failed"
        assert str(out) not in j["error"] and str(out.parent) not in j["error"]
        assert str(out.parent) not in client.get(f"/jobs/{j['id']}").text
    else:
        assert str(out.parent) not in r.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_six_parallel_first_requests_for_one_report_all_succeed(runs, run_id, tmp_path):
    import uvicorn

    out = tmp_path / "runs"
    target = f"{run_id}--baseline-none"  # its report is the quickest to make
    copy_run(runs, target, out)
    app = create_app(out)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    try:
        barrier = threading.Barrier(6)

        def get(_):
            barrier.wait()
            return httpx.get(f"http://127.0.0.1:{port}/runs/{target}/report", timeout=120)

        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(get, range(6)))
    finally:
        srv.should_exit = True
        thread.join(timeout=15)
    assert [r.status_code for r in got] == [200] * 6
    assert len({r.content for r in got}) == 1
    assert app.state.dashboard.reports.builds == 1
    (html_file,) = app.state.dashboard.reports.files()
    assert sorted(p.name for p in (out / ".reports").iterdir()) == [html_file.name, html_file.name + ".gz"]
    assert got[0].headers["content-encoding"] == "gzip"  # httpx asks for it, and unpacks it


def test_serve_on_a_busy_port_prints_one_line_and_exits_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["serve", "--runs", str(tmp_path / "runs"), "--port", str(port)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is already in use" in lines[0], result.output


def test_listening_socket_sends_small_answers_at_once():
    """Accepted connections inherit TCP_NODELAY: without it a keep-alive answer waits ~40 ms on a delayed ACK."""
    from scorelab.server import listen

    sock = listen("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


# ============================================================================ the OpenAPI schema, fuzzed
def test_openapi_schema_fuzzed_with_schemathesis_finds_no_server_error(runs, run_id, tmp_path):
    """Every operation of the app's schema, with generated paths, queries and forms (some valid ids mixed in):
    never a 5xx. A few hundred examples, derandomized (the suite's Hypothesis profile)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    out = tmp_path / "runs"  # a copy: a generated form that happens to be valid starts a run here
    target = f"{run_id}--baseline-none"  # a valid id for a third of the cases (reports are tested elsewhere)
    copy_run(runs, target, out)
    app = create_app(out)
    client = TestClient(app, base_url=BASE)
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    tok = token(client)
    cookies = {c.name: c.value for c in client.cookies.jar}
    seen: set[int] = set()
    calls = itertools.count()
    for op in schema.get_all_operations():
        operation = op.ok()

        @settings(max_examples=20, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            if "run_id" in (case.path_parameters or {}) and next(calls) % 3 == 0 and "report" not in case.path:
                case.path_parameters["run_id"] = target
            if isinstance(case.body, dict):
                case.body["csrf_token"] = tok
            r = case.call(base_url=BASE, cookies=cookies, headers={"Origin": BASE})
            seen.add(r.status_code)
            assert r.status_code < 500, (case.method, case.formatted_path, case.query, case.body, r.text[:300])

        check()
    assert seen & {200, 303} and seen & {400, 404}
