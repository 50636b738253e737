"""The dashboard end to end, as a person uses it: a real server and Debian's chromium via Playwright.

Start the server on loopback with an empty runs folder, compose and launch a small run, watch its
progress reach the end, open its report, look up a citizen, download a table, compare the run with
its baseline. Screenshots of each page go to test-output/screenshots/ (the README shows two).
No browser is downloaded: Playwright drives /usr/bin/chromium. Every wait is bounded.
"""

from __future__ import annotations

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
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CITIZENS, DAYS = 2000, 30
WAIT_MS = 120_000  # the longest any step may take (a run, a report)


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


def test_dashboard_end_to_end(server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            # 1. the dashboard, no runs yet
            page.goto(server + "/")
            sync_api.expect(page.locator("h1")).to_have_text("Runs")
            page.screenshot(path=str(SHOTS / "01-runs-empty.png"))

            # 2. compose a small run
            page.get_by_role("link", name="New run").first.click()
            page.select_option("#preset", "unified")
            page.fill("#citizens", str(CITIZENS))
            page.fill("#days", str(DAYS))
            page.fill("#seed", "1")
            page.select_option("#baseline", "none")
            page.screenshot(path=str(SHOTS / "02-compose.png"), full_page=True)
            page.click("#start-run")

            # 3. watch the progress reach the end
            page.wait_for_url("**/jobs/*")
            page.screenshot(path=str(SHOTS / "03-progress.png"))
            seen: set[float] = set()
            deadline = time.monotonic() + WAIT_MS / 1000
            while page.locator("#job-state").get_attribute("data-state") not in ("done", "failed"):
                seen.add(float(page.locator("#job-progress").get_attribute("value") or 0))
                assert time.monotonic() < deadline, "the run did not finish in time"
                page.wait_for_timeout(150)
            state = page.locator("#job-state")
            assert state.get_attribute("data-state") == "done", state.text_content()
            assert page.locator("#job-progress").evaluate("e => e.value") == 1
            assert len(seen) >= 1
            run_id = f"unified-{CITIZENS}x{DAYS}-s1"
            sync_api.expect(page.locator("#job-state")).to_contain_text(run_id)
            page.screenshot(path=str(SHOTS / "04-progress-done.png"))

            # 4. its report
            page.click("#open-report")
            sync_api.expect(page.locator("header h1")).to_contain_text("scorelab report", timeout=WAIT_MS)
            page.locator("#fig-score-time .main-svg").first.wait_for()
            for heading in ("Regime card and EU AI Act flags", "Citizen stories", "Assumptions and sources"):
                sync_api.expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            page.screenshot(path=str(SHOTS / "05-report.png"))
            page.locator("#scores").screenshot(path=str(SHOTS / "06-report-scores.png"))

            # 5. look up a citizen
            page.goto(f"{server}/runs/{run_id}/citizen")
            page.fill("#citizen-id", "not a number")
            page.click("#explain")
            sync_api.expect(page.locator(".msg")).to_contain_text("allowed: a citizen id from 0 to 1999")
            hint = page.locator("main p.note a").first
            citizen = hint.text_content().strip() if hint.count() else "0"
            page.fill("#citizen-id", citizen)
            page.click("#explain")
            sync_api.expect(page.locator("#citizen-heading")).to_contain_text(f"Citizen {citizen} of {run_id}")
            assert page.locator("#account li").count() >= 1
            page.screenshot(path=str(SHOTS / "07-citizen.png"), full_page=True)

            # 6. download a table
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

            # 7. the catalogue lists it; compare it with its baseline on the same axes
            page.goto(server + "/")
            sync_api.expect(page.locator("main")).to_contain_text(run_id)
            page.check(f'input[value="{run_id}"]')
            page.check(f'input[value="{run_id}--baseline-none"]')
            page.screenshot(path=str(SHOTS / "09-runs.png"), full_page=True)
            page.get_by_role("button", name="Compare selected").click()
            sync_api.expect(page.locator("header h1")).to_contain_text(f"{run_id}--baseline-none", timeout=WAIT_MS)
            page.locator("#fig-lists .main-svg").first.wait_for()
            page.screenshot(path=str(SHOTS / "10-compare.png"))

            # 8. a wrong address is a page that says so
            page.goto(f"{server}/runs/..%2F..%2Fetc%2Fpasswd/report")
            sync_api.expect(page.locator("h1")).to_have_text("Not found")
        finally:
            browser.close()
    assert outside == [], f"requests left the server: {outside[:5]}"
    assert errors == [], f"JavaScript errors: {errors[:5]}"
