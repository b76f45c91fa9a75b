"""`/docs` and the home page in a real browser, with every outside request refused."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _offline_page(browser: Any) -> tuple[Any, list[str]]:
    """A page whose requests to any other host are recorded and aborted."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    outside: list[str] = []

    def route(r: Any) -> None:
        url: str = r.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    return page, outside


def test_api_docs_render_offline(browser: Any, demo_url: str) -> None:
    page, outside = _offline_page(browser)
    page.goto(f"{demo_url}/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15000)
    assert "hakama" in title.inner_text()
    page.locator(".opblock-tag", has_text="territory").first.wait_for()
    assert outside == []
    page.close()


def test_home_page_asks_nothing_from_other_hosts(browser: Any, demo_url: str) -> None:
    page, outside = _offline_page(browser)
    page.goto(f"{demo_url}/?lang=ar")
    page.wait_for_selector("#territory-map .leaflet-overlay-pane path")
    page.wait_for_load_state("networkidle")
    assert outside == []
    page.close()
