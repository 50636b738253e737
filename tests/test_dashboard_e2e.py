"""The dashboard end to end, as a person uses it: a real server and Debian's chromium via Playwright.

Start the server on loopback with an empty runs folder; compose a small run from the command line's
defaults, changing one knob; watch its progress reach the end; open its report (plotly runs under the
report's Content-Security-Policy); look up a citizen whose chart marks spells and sanctions; download
tables; compare the run with its baseline; cancel a long run. Then play the attacker: a page of another
site posts the compose form and reads the API, and both are refused. Screenshots of each page go to
test-output/screenshots/ (the README shows two). No browser is downloaded: Playwright drives
/usr/bin/chromium. Every wait is bounded.
"""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("end-to-end dashboard test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (test extras)")
uvicorn = pytest.importorskip("uvicorn")

from scorelab.server import create_app  # noqa: E402

SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--disable-component-update", "--disable-sync", "--no-first-run"]
CITIZENS, DAYS = 2000, 30
WAIT_MS = 120_000  # the longest any step may take (a run, a report)
RUNNING = re.compile(rf"run 1 of 2: none \(baseline\), day \d+ of {DAYS}|run 2 of 2: "
                     rf"unified-{CITIZENS}x{DAYS}-s1-cameras\.misattribution=0\.01, day \d+ of {DAYS}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    """uvicorn on 127.0.0.1 and a free port in a thread; stopped (and joined) at the end of the test."""
    port = _free_port()
    config = uvicorn.Config(create_app(tmp_path / "runs"), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start within 20 s"
        assert thread.is_alive(), "the server thread died"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "the server did not stop"


@pytest.fixture()
def attacker(server):
    """Another site (http://localhost:<other port>): a page that posts the compose form to the dashboard
    and tries to read its API, as any page the user visits could."""
    page = f"""<!DOCTYPE html><html><body><h1>cute cats</h1>
<form id="f" method="post" action="{server}/new">
<input name="preset" value="unified"><input name="citizens" value="1000"><input name="days" value="5">
<input name="seed" value="0"><input name="baseline" value=""><input name="csrf_token" value="{'0' * 64}">
</form><p id="read">pending</p>
<script>
fetch("{server}/api/runs").then(function (r) {{ return r.text(); }})
  .then(function (t) {{ document.getElementById("read").textContent = "READ " + t; }})
  .catch(function () {{ document.getElementById("read").textContent = "blocked"; }});
</script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}/"
    httpd.shutdown()
    thread.join(timeout=10)


def test_dashboard_end_to_end(server, attacker, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sync_api.expect.set_options(timeout=WAIT_MS)  # a loaded machine: waits are bounded, not tight
    outside: list[str] = []
    errors: list[str] = []
    csp: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

            # 1. the dashboard, no runs yet
            page.goto(server + "/")
            sync_api.expect(page.locator("h1")).to_have_text("Runs")
            page.screenshot(path=str(SHOTS / "01-runs-empty.png"))

            # 2. compose: the command line's defaults, typed inputs, the preset's own values
            page.get_by_role("link", name="New run").first.click()
            assert page.input_value("#citizens") == "100000" and page.input_value("#days") == "365"
            assert page.input_value("#seed") == "0" and page.input_value("#baseline") == "none"
            assert page.get_attribute("#citizens", "type") == "number"
            cam = 'input[name="set:scorers.state.channels.cameras.misattribution"]'
            assert page.locator(f"#knobs-unified {cam}").input_value() == "0.003"
            page.select_option("#preset", "fragmented")  # its own knobs, the others' are put away
            assert page.locator("#knobs-fragmented input").first.is_enabled()
            assert page.locator("#knobs-unified input").first.is_disabled()
            page.select_option("#preset", "unified")
            page.fill("#citizens", str(CITIZENS))
            page.fill("#days", str(DAYS))
            page.fill("#seed", "1")
            page.locator(f"#knobs-unified {cam}").fill("0.01")
            page.screenshot(path=str(SHOTS / "02-compose.png"), full_page=True)
            page.click("#start-run")

            # 3. honest progress to the end
            page.wait_for_url("**/jobs/*")
            name = f"unified-{CITIZENS}x{DAYS}-s1-cameras.misattribution=0.01"
            sync_api.expect(page.locator("#job-name")).to_have_text(name)
            page.screenshot(path=str(SHOTS / "03-progress.png"))
            said: set[str] = set()
            deadline = time.monotonic() + WAIT_MS / 1000
            while page.locator("#job-state").get_attribute("data-state") not in ("done", "failed"):
                said.add(page.locator("#job-state").text_content())
                assert time.monotonic() < deadline, "the run did not finish in time"
                page.wait_for_timeout(100)
            state = page.locator("#job-state")
            assert state.get_attribute("data-state") == "done", state.text_content()
            assert page.locator("#job-progress").evaluate("e => e.value") == 1
            assert not any("day 0 of 0" in s for s in said), said
            assert all(RUNNING.fullmatch(s) for s in said if ", day " in s), said
            run_id = f"unified-{CITIZENS}x{DAYS}-s1+cameras.misattribution=0.01"  # a reform names the run
            sync_api.expect(page.locator("#job-state")).to_contain_text(run_id, timeout=WAIT_MS)
            page.screenshot(path=str(SHOTS / "04-progress-done.png"))

            # 4. its report: plotly runs under the report's CSP (its own scripts, by hash)
            page.click("#open-report")
            sync_api.expect(page.locator("header h1")).to_contain_text("scorelab report", timeout=WAIT_MS)
            page.locator("#fig-score-time .main-svg").first.wait_for()
            for heading in ("Regime card and EU AI Act flags", "Citizen stories", "Assumptions and sources"):
                sync_api.expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            assert "Reform of" in page.content() and "cameras.misattribution" in page.content()  # the reform is named
            page.screenshot(path=str(SHOTS / "05-report.png"))
            page.locator("#scores").screenshot(path=str(SHOTS / "06-report-scores.png"))

            # 5. look up a citizen: a table with headers, a chart with spells and sanctions
            page.goto(f"{server}/runs/{run_id}/citizen")
            page.fill("#citizen-id", "not a number")
            page.click("#explain")
            sync_api.expect(page.locator(".msg")).to_contain_text("allowed: a citizen id from 0 to 1999")
            hint = page.locator("#notable a").first
            citizen = hint.text_content().strip() if hint.count() else "0"
            page.fill("#citizen-id", citizen)
            page.click("#explain")
            sync_api.expect(page.locator("#citizen-heading")).to_contain_text(f"Citizen {citizen} of {run_id}")
            assert page.locator("#citizen-facts thead th").all_text_contents() == ["attribute", "value"]
            assert page.locator("#account li").count() >= 1
            page.locator("#citizen-chart .main-svg").first.wait_for()
            if hint.count():  # a sanctioned citizen: the sanction is on the chart and in the table
                assert page.locator("#citizen-marks tbody tr").count() >= 1
                legend = " ".join(page.locator("#citizen-chart .legendtext").all_text_contents())
                assert "sanction" in legend, legend
            page.screenshot(path=str(SHOTS / "07-citizen.png"), full_page=True)

            # 6. download tables
            page.goto(f"{server}/runs/{run_id}")
            page.screenshot(path=str(SHOTS / "08-run.png"), full_page=True)
            with page.expect_download(timeout=WAIT_MS) as got:
                page.click("#dl-daily-csv")
            download = got.value
            assert download.suggested_filename == f"{run_id}-daily.csv"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            lines = saved.read_text().strip().splitlines()
            assert '"day"' in lines[0] and len(lines) == DAYS + 1
            with page.expect_download(timeout=WAIT_MS) as got:
                page.click("#dl-citizens-parquet")
            saved = tmp_path / got.value.suggested_filename
            got.value.save_as(saved)
            assert saved.read_bytes()[:4] == b"PAR1"

            # 7. the runs page lists it; compare it with its baseline on the same axes
            page.goto(server + "/")
            sync_api.expect(page.locator("main")).to_contain_text(run_id)
            page.check(f'input[value="{run_id}"]')
            page.check(f'input[value="{run_id}--baseline-none"]')
            page.screenshot(path=str(SHOTS / "09-runs.png"), full_page=True)
            page.get_by_role("button", name="Compare selected").click()
            sync_api.expect(page.locator("header h1")).to_contain_text(f"{run_id}--baseline-none", timeout=WAIT_MS)
            page.locator("#fig-lists .main-svg").first.wait_for()
            page.screenshot(path=str(SHOTS / "10-compare.png"))

            # 8. cancel a long run: it stops and leaves nothing
            page.goto(server + "/new")
            page.fill("#citizens", "5000")
            page.fill("#days", "3000")
            page.select_option("#baseline", "")
            page.click("#start-run")
            page.wait_for_url("**/jobs/*")
            sync_api.expect(page.locator("#job-state")).to_contain_text(", day ", timeout=WAIT_MS)
            page.click("#cancel-run")
            sync_api.expect(page.locator("#job-state")).to_have_text("cancelled: nothing was written", timeout=WAIT_MS)
            page.screenshot(path=str(SHOTS / "11-cancelled.png"))
            runs_before = page.request.get(server + "/api/runs").json()
            assert {r["run_id"] for r in runs_before} == {run_id, f"{run_id}--baseline-none"}

            # 9. a wrong address is a page that says so
            page.goto(f"{server}/runs/..%2F..%2Fetc%2Fpasswd/report")
            sync_api.expect(page.locator("h1")).to_have_text("Not found")
            assert csp == [], f"the dashboard's own pages broke its CSP: {csp[:3]}"

            # 10. another site's page: its form post is refused, its script cannot read the API
            evil = ctx.new_page()
            evil.goto(attacker)
            sync_api.expect(evil.locator("#read")).to_have_text("blocked")
            with evil.expect_navigation():
                evil.evaluate("document.getElementById('f').submit()")
            assert "cross-site request refused" in evil.content()
            jobs = page.request.get(server + "/").text()
            assert jobs.count('href="/jobs/') == 2, "the cross-site post must not start a run"
            assert page.request.get(server + "/api/runs").json() == runs_before
        finally:
            browser.close()
    assert [u for u in outside if not u.startswith(attacker)] == [], f"requests left the server: {outside[:5]}"
    assert errors == [], f"JavaScript errors: {errors[:5]}"
