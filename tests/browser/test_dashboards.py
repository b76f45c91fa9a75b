"""The dashboards in a real browser at phone width: no sideways scrolling, the chart and the map
drawn, in Arabic (right to left) and French."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hakama.demo.build import build_demo
from hakama.services import indicators
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.browser.conftest import serve

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")]
MOROCCAN_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر",
                   "أكتوبر", "نونبر", "دجنبر")
FRENCH_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                 "oct.", "nov.", "déc.")
COMPUTED = ["requests_per_10k", "open_backlog", "resolution_time_median", "admin_online_share"]


@pytest.fixture(scope="module")
def dashboards_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    platform = Platform.open(Settings(data_dir=tmp_path_factory.getbasetemp() / "indicators-demo", environment="test"))
    build_demo(platform, scale=0.01, run_seeds=False)
    indicators.compute(platform, only=COMPUTED)
    with serve(platform) as url:
        yield url
    platform.close()


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, problems


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_indicator_page_at_360px(browser: Any, dashboards_url: str, lang: str) -> None:
    page, problems = _open(browser, f"{dashboards_url}/dashboards/resolution_time_median?lang={lang}")
    try:
        assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        canvas = page.locator("#indicator-chart canvas")
        assert canvas.count() == 1
        box = canvas.bounding_box()
        assert box and 200 <= box["width"] <= 360 and box["height"] >= 150
        # The chart drew something: its canvas is not blank.
        painted = page.evaluate(
            """() => { const c = document.querySelector('#indicator-chart canvas');
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }"""
        )
        assert painted > 1000
        assert page.locator("#indicator-map path.leaflet-interactive").count() == 16
        # Time runs right to left in Arabic, the value axis on the right, months named as
        # Moroccans name them; French reads left to right with French month names.
        axes = page.evaluate(
            """() => { const u = document.getElementById('indicator-chart').hakamaChart;
                       return { dir: u.scales.x.dir, side: u.axes[1].side,
                                months: u.axes[0]._values.join(' ') }; }"""
        )
        assert axes["dir"] == (-1 if lang == "ar" else 1)
        assert axes["side"] == (1 if lang == "ar" else 3)
        months = MOROCCAN_MONTHS if lang == "ar" else FRENCH_MONTHS
        assert any(m in axes["months"] for m in months), axes
        assert not any(m in axes["months"] for m in ("Jan", "Feb", "Mar", "Apr", "Jun", "Jul")), axes
        # Choosing another commune redraws the chart with that commune in the legend.
        options = page.locator("#chart-area option")
        other = options.nth(1)
        name = other.inner_text()
        page.select_option("#chart-area", other.get_attribute("value"))
        assert name in page.locator("#indicator-chart .u-legend").inner_text()
        assert not problems, problems
    finally:
        page.close()


def test_overview_at_360px(browser: Any, dashboards_url: str) -> None:
    page, problems = _open(browser, f"{dashboards_url}/dashboards?lang=ar")
    try:
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        assert page.locator(".indicator-card").count() >= 15
        assert page.locator(".figure-box.uncertain").count() >= 1
        assert not problems, problems
    finally:
        page.close()
