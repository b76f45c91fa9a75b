"""Where a citizen is, on a 360 px phone in Arabic: "use my location" in Berkane's town centre
says Berkane, in Saïdia's centre Saidia, a tap outside the province asks for the commune and the
address; the commune the form shows is the commune the request is stored in. The home page puts
"Report a problem" and "Follow my request" on the first screen; every map has a legend and
Arabic controls; an imported MBTiles basemap is drawn under the outlines.

Screenshots: `$HAKAMA_SCREENSHOTS/locate-*.png` (default a scratch folder) — look at them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.ops import unary_union

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http.web import i18n
from hakama.services import basemap, request_types, service_requests, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.browser.conftest import serve
from tests.browser.test_request_flow import PHONE, Site, no_horizontal_scroll, shot

pytestmark = pytest.mark.browser

OPERATOR = system_actor("test")
BERKANE = "02.113.01.09"
SAIDIA = "02.113.01.25"
SIDI_SLIMANE = "02.113.01.29"
BERKANE_CENTRE = {"latitude": 34.917, "longitude": -2.318}
SAIDIA_CENTRE = {"latitude": 35.085, "longitude": -2.239}
OUTSIDE = (-2.7, 35.1)  # (lon, lat): in the map's frame, in no commune (the sea, north-west)
AR = i18n.translations("ar").gettext


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("locate")
    platform = Platform.open(Settings(data_dir=folder / "data", environment="test"))
    territory.save_areas(platform, demo_areas(), actor=OPERATOR)
    request_types.save_services(
        platform, catalogue_for(territory.list_areas(platform)), actor=OPERATOR
    )
    with serve(platform) as url:
        yield Site(url, platform)
    platform.close()


def phone(browser: Any, **extra: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(
        bypass_csp=True,  # wait_for_function evaluates a string; the page's CSP forbids eval
        viewport=PHONE, locale="ar-MA", has_touch=True, device_scale_factor=1, **extra
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def tap(page: Any, lon: float, lat: float) -> None:
    """Tap the report map at (lon, lat) as a finger would."""
    page.locator("#pick-map").scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([lat, lon]) => { const p = document.getElementById('pick-map').hakamaMap"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator("#pick-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def verdict_for(page: Any, code: str) -> str:
    """Wait until the form says where the request goes; the code it says."""
    page.wait_for_function(
        "code => document.getElementById('commune-verdict').getAttribute('data-commune') === code",
        arg=code,
    )
    shown: str = page.locator("#commune-verdict").get_attribute("data-commune")
    return shown


def file_it(page: Any) -> str:
    question = page.locator('select[name="attribute[problem]"]')
    if question.count():
        question.select_option(index=1)
    page.locator("#submit").click()
    page.wait_for_url(re.compile(r"/track/[0-9A-Z]{4}-[0-9A-Z]{4}\?filed=1"))
    return str(page.locator("#tracking-number").inner_text().strip())


def test_use_my_location_says_the_right_commune_and_files_there(site: Site, browser: Any) -> None:
    context, page, errors = phone(browser, geolocation=BERKANE_CENTRE, permissions=["geolocation"])
    page.goto(f"{site.url}/report/public_lighting?lang=ar")
    page.wait_for_function("document.getElementById('pick-map').hakamaMap !== undefined")
    names = {a.code: a.names["ar"] for a in territory.list_areas(site.platform)}

    # Berkane's town centre: Berkane (the raw outlines said Sidi Bouhria).
    page.locator("#locate-me").click()
    assert verdict_for(page, BERKANE) == BERKANE
    verdict = page.locator("#commune-verdict")
    assert verdict.inner_text() == f"سيُرسل هذا الطلب إلى جماعة {names[BERKANE]}."
    assert page.locator("#commune").input_value() == BERKANE
    assert abs(float(page.locator("#lat").input_value()) - 34.917) < 1e-5
    no_horizontal_scroll(page)
    page.locator("#commune-verdict").scroll_into_view_if_needed()
    shot(page, "locate-1-berkane-ar-phone.png", full=False)

    # Saïdia's centre: Saidia; filed there, as shown.
    context.set_geolocation(SAIDIA_CENTRE)
    page.locator("#locate-me").click()
    shown = verdict_for(page, SAIDIA)
    assert names[SAIDIA] in page.locator("#commune-verdict").inner_text()
    page.locator("#commune-verdict").scroll_into_view_if_needed()
    shot(page, "locate-2-saidia-ar-phone.png", full=False)
    number = file_it(page)
    stored = service_requests.get_request(site.platform, number, actor=OPERATOR)
    assert stored.area_code == shown == SAIDIA
    assert (stored.lat, stored.lon) == (35.085, -2.239)
    assert errors == []
    context.close()


def test_a_tap_outside_asks_for_the_commune_and_the_address(site: Site, browser: Any) -> None:
    province = unary_union([a.shape for a in demo_areas() if a.level.value == "commune"])
    assert not province.contains(shapely.Point(*OUTSIDE))
    context, page, errors = phone(browser)
    page.goto(f"{site.url}/report/public_lighting?lang=ar")
    page.wait_for_function("document.getElementById('pick-map').hakamaMap !== undefined")
    tap(page, *OUTSIDE)
    verdict = page.locator("#commune-verdict")
    page.wait_for_function(
        "document.getElementById('commune-verdict').className.includes('errors')"
    )
    assert verdict.inner_text() == AR(
        "This point is outside the territory served here. Choose your commune in the list and "
        "describe the place in the address field."
    )
    assert page.locator("#lat").input_value() == "" and page.locator("#commune").input_value() == ""
    page.locator("#commune-verdict").scroll_into_view_if_needed()
    shot(page, "locate-3-outside-ar-phone.png", full=False)
    # The commune + address path files it where the citizen says.
    page.locator("#commune").select_option(SIDI_SLIMANE)
    page.locator('input[name="address_string"]').fill("قرب المسجد، الطريق إلى بركان")
    number = file_it(page)
    stored = service_requests.get_request(site.platform, number, actor=OPERATOR)
    assert stored.area_code == SIDI_SLIMANE and stored.lat is None
    assert errors == []
    context.close()


def test_the_citizen_changes_the_commune_and_it_goes_there(site: Site, browser: Any) -> None:
    context, page, errors = phone(browser)
    page.goto(f"{site.url}/report/public_lighting?lang=ar")
    page.wait_for_function("document.getElementById('pick-map').hakamaMap !== undefined")
    tap(page, BERKANE_CENTRE["longitude"], BERKANE_CENTRE["latitude"])
    assert verdict_for(page, BERKANE) == BERKANE
    page.locator("#commune").select_option(SIDI_SLIMANE)
    shown = verdict_for(page, SIDI_SLIMANE)
    name = territory.get_area(site.platform, SIDI_SLIMANE).names["ar"]
    assert (
        page.locator("#commune-verdict").inner_text() == f"اخترت جماعة {name}: سيُرسل الطلب إليها."
    )
    page.locator("#commune-verdict").scroll_into_view_if_needed()
    shot(page, "locate-4-chosen-ar-phone.png", full=False)
    number = file_it(page)
    stored = service_requests.get_request(site.platform, number, actor=OPERATOR)
    assert stored.area_code == shown == SIDI_SLIMANE
    assert errors == []
    context.close()


def test_home_first_screen_legends_and_arabic_controls(site: Site, browser: Any) -> None:
    context, page, errors = phone(browser)
    page.goto(f"{site.url}/?lang=ar")
    first = page.locator(".quick-action")
    assert first.nth(0).inner_text().startswith(AR("Report a problem"))
    assert first.nth(1).inner_text().startswith(AR("Follow my request"))
    for n in (0, 1):
        box = first.nth(n).bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], box  # on the first screen
    no_horizontal_scroll(page)
    shot(page, "locate-5-home-first-screen-ar-phone.png", full=False)
    # The map's legend and its controls, in Arabic.
    page.locator("#territory-map").scroll_into_view_if_needed()
    legend = page.locator(".map-section .map-key")
    assert AR("Urban commune (municipality)") in legend.inner_text()
    zoom_in = page.locator("#territory-map .leaflet-control-zoom-in")
    assert zoom_in.get_attribute("title") == AR("Zoom in") != "Zoom in"
    assert zoom_in.get_attribute("aria-label") == AR("Zoom in")
    page.locator("#territory-map path.commune-02-113-01-09").first.click()
    close = page.locator("#territory-map .leaflet-popup-close-button")
    close.wait_for()
    assert close.get_attribute("aria-label") == AR("Close")
    shot(page, "locate-6-home-map-ar-phone.png", full=False)
    for path in ("/report/public_lighting", "/requests"):
        page.goto(f"{site.url}{path}?lang=ar")
        assert page.locator(".map-key").count() == 1, path
        assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == AR("Zoom in")
        assert "Zoom in" not in page.content()
    assert errors == []
    context.close()


def test_an_imported_basemap_is_drawn_under_the_outlines(browser: Any, tmp_path: Path) -> None:
    from tests.http.test_basemap import OSM, province_tiles

    platform = Platform.open(Settings(data_dir=tmp_path / "data", environment="test"))
    territory.save_areas(platform, demo_areas(), actor=OPERATOR)
    basemap.import_mbtiles(platform, province_tiles(tmp_path / "b.mbtiles"), actor=OPERATOR)
    try:
        with serve(platform) as url:
            context, page, errors = phone(browser)
            page.goto(f"{url}/?lang=ar")
            page.locator("#territory-map").scroll_into_view_if_needed()
            page.wait_for_function(
                "document.querySelectorAll('#territory-map img.leaflet-tile-loaded').length > 0"
            )
            sources = page.eval_on_selector_all(
                "#territory-map img.leaflet-tile-loaded", "els => els.map(e => e.src)"
            )
            assert all(re.search(r"/tiles/\d+/\d+/\d+\.png$", s) for s in sources)
            assert OSM in page.locator("#territory-map .leaflet-control-attribution").inner_text()
            shot(page, "locate-7-basemap-ar-phone.png", full=False)
            assert errors == []
            context.close()
    finally:
        platform.close()
