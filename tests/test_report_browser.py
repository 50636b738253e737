"""The report in a real browser (Debian's chromium, driven by Playwright): one run, and six side by side.

In a 1,400 px window the page never scrolls sideways, the navigation wraps, every chart fits, no legend
covers a plot and no chart carries a title of its own over its subplot titles; the answers section comes
first and holds numbers. The screenshots in the README (docs/images/report.png and report-six.png) are
taken here. No browser is downloaded, nothing leaves the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("the report's browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (test extras)")

from scorelab import api  # noqa: E402
from scorelab.report import write_report  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH, HEIGHT = 1400, 900
PRESETS = ("unified", "fragmented", "court-blacklist", "rongcheng", "cancel-culture", "sesame")
CITIZENS, DAYS = 6000, 90

# Per chart: the legend's box against every plot area's box, and any title plotly draws itself.
GEOMETRY = """() => [...document.querySelectorAll('.js-plotly-plot')].map(div => {
  const box = r => { const b = r.getBoundingClientRect(); return {l: b.left, r: b.right, t: b.top, b: b.bottom}; };
  const legend = div.querySelector('g.legend');
  return {id: div.id, chart: box(div), legend: legend ? box(legend) : null,
          plots: [...div.querySelectorAll('.nsewdrag')].map(box),
          title: [...div.querySelectorAll('.g-gtitle text')].map(t => t.textContent).join('')};
})"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """A one-run report and a six-run report (one run of each preset but `none`, same society and seed)."""
    base = tmp_path_factory.mktemp("browser")
    runs = base / "runs"
    for preset in PRESETS:
        api.run(preset, citizens=CITIZENS, days=DAYS, seed=1, out=runs)
    ids = [f"{p}-{CITIZENS}x{DAYS}-s1" for p in PRESETS]
    one = write_report(ids[0], base / "one.html", runs_dir=runs, stories=True)
    six = write_report(ids[0], base / "six.html", vs=ids[1:], runs_dir=runs, stories=False)
    return {"one": one, "six": six}


def _overlaps(a: dict, b: dict) -> bool:
    return a["l"] < b["r"] - 1 and b["l"] < a["r"] - 1 and a["t"] < b["b"] - 1 and b["t"] < a["b"] - 1


@pytest.mark.parametrize("which", ["one", "six"])
def test_report_fits_the_window_and_answers_first(reports, which):
    IMAGES.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:", "blob:",
                                                                                         "about:")) else None)
            page.goto(reports[which].as_uri())
            page.locator("#fig-answer-whom .main-svg").first.wait_for()
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
                                   "document.querySelectorAll('.js-plotly-plot').length")

            # answers first, each with its numbers
            first = page.evaluate("document.querySelector('main section').id")
            assert first == "answers"
            answers = page.locator("#answers .answer")
            assert answers.count() == 6
            for i in range(6):
                text = answers.nth(i).inner_text()
                assert any(c.isdigit() for c in text.split("\n", 1)[1]), text

            # nothing wider than the window: the page, the navigation, every chart
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert page.evaluate("document.body.scrollWidth") <= WIDTH
            nav = page.evaluate("(() => { const n = document.querySelector('nav.toc'); "
                                "return [n.scrollWidth, n.clientWidth, n.getBoundingClientRect().height]; })()")
            assert nav[0] <= nav[1]
            charts = page.evaluate(GEOMETRY)
            assert len(charts) >= 15
            for c in charts:
                assert c["chart"]["r"] <= WIDTH and c["chart"]["l"] >= 0, c["id"]
                assert c["title"] == "", f"{c['id']} draws a title over its subplot titles"
                if c["legend"] and c["legend"]["r"] > c["legend"]["l"]:
                    hit = [pl for pl in c["plots"] if _overlaps(c["legend"], pl)]
                    assert not hit, f"{c['id']}: the legend covers a plot"

            # the README's screenshots
            if which == "one":
                page.screenshot(path=str(IMAGES / "report.png"))
            else:
                page.locator("#evidence").scroll_into_view_if_needed()
                top = page.evaluate("document.querySelector('#evidence').getBoundingClientRect().top + window.scrollY")
                page.screenshot(path=str(IMAGES / "report-six.png"), full_page=True,
                                clip={"x": 0, "y": top, "width": WIDTH, "height": 1300})
        finally:
            browser.close()
    assert errors == [], f"JavaScript errors: {errors[:5]}"
    assert outside == [], f"the report fetched something: {outside[:5]}"
