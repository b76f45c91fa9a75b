"""The citizen pages, the office, the public data pages and the API reference under axe-core
(from the npm registry, installed by the test setup), at phone size in Arabic and French (and
Tamazight for the citizen pages): no serious or critical violation, tap targets of at least
44 px, the error summary focused, the pin placed with the keyboard, a compact queue."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.core.requests import RequestDraft
from hakama.demo.build import build_demo
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import (
    dataset_builds,
    indicators,
    request_filing,
    request_types,
    territory,
    users,
)
from hakama.services.platform import Platform
from hakama.settings import Settings

from .conftest import serve

pytestmark = pytest.mark.browser

AXE_VERSION = "4.10.3"
AXE_CACHE = Path.home() / ".cache" / "hakama-tests" / f"axe-core-{AXE_VERSION}"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, installed from the npm registry once per machine."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: ./run installs it (Debian package npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AXE_CACHE),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, tuple[float, float]]]:
    """hakama with the demo territory and catalogue, mail on (so the follow form shows)."""
    folder: Path = tmp_path_factory.mktemp("a11y")
    settings = Settings(data_dir=folder / "data", environment="test", smtp_host="127.0.0.1")
    platform = Platform.open(settings)
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("test"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    commune = next(a for a in areas if a.level.value == "commune")
    p = shape(commune.geometry).representative_point()
    with serve(platform) as url:
        yield url, (p.x, p.y)
    platform.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    # bypass_csp: the page's policy forbids the injected axe-core script, as it should.
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def _violations(page: Any, axe: str) -> list[str]:
    page.add_script_tag(content=axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _small_targets(page: Any) -> list[str]:
    """Buttons, button-like links, form controls and checkbox labels under 44 px high or wide."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll(
                 'main button, main .btn, main select, main input[type=text], main input[type=email],'
                 + ' main input[type=tel], main label.tap, .leaflet-control-zoom a, .menu > summary'))
               .filter(el => el.offsetParent !== null)
               .map(el => [el, el.getBoundingClientRect()])
               .filter(([el, r]) => r.height < 43.5 || r.width < 43.5)
               .map(([el, r]) => el.tagName + '.' + el.className + ' ' + Math.round(r.width) + 'x'
                    + Math.round(r.height))"""
        )
    )


def _file(page: Any, base: str, lang: str) -> str:
    page.goto(f"{base}/report/public_lighting?lang={lang}")
    page.select_option("#commune", index=1)
    page.fill("#address", "Devant l'école")
    page.select_option("select[name='attribute[problem]']", index=1)
    page.fill("#email", "amina@example.ma")
    page.click("#submit")
    page.wait_for_url("**/track/*?filed=1")
    return str(page.url)


@pytest.mark.parametrize("lang", ["ar", "fr", "zgh"])
def test_citizen_pages_have_no_serious_violation_and_big_targets(
    phone: Any, site: tuple[str, tuple[float, float]], axe_source: str, lang: str
) -> None:
    base, _point = site
    receipt = _file(phone, base, lang)
    request_id = receipt.split("/track/")[1].split("?")[0]
    pages = [
        f"/?lang={lang}",
        f"/report/public_lighting?lang={lang}",
        receipt.removeprefix(base),
        f"/track/{request_id}?lang={lang}",
        f"/track?lang={lang}",
        f"/requests?lang={lang}",
        f"/report?lang={lang}",
    ]
    found: dict[str, list[str]] = {}
    for path in pages:
        phone.goto(base + path)
        phone.wait_for_load_state("networkidle")
        problems = _violations(phone, axe_source) + [
            f"small target {t}" for t in _small_targets(phone)
        ]
        if problems:
            found[path] = problems
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_api_reference_has_no_serious_violation(
    browser: Any, site: tuple[str, tuple[float, float]], axe_source: str, lang: str
) -> None:
    base, _point = site
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(f"{base}/docs?lang={lang}")
    page.locator(".swagger-ui .info .title").wait_for(timeout=15000)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("header.site-header").count() == 1
    assert page.locator("a.back[href='/']").count() == 1
    found = _violations(page, axe_source)
    assert found == [], "\n".join(found)
    page.close()


def test_error_summary_takes_the_focus_and_the_pin_goes_down_with_enter(
    phone: Any, site: tuple[str, tuple[float, float]]
) -> None:
    base, _point = site
    phone.goto(f"{base}/report/public_lighting?lang=fr")
    phone.select_option("select[name='attribute[problem]']", index=1)
    phone.click("#submit")  # no place given: the server says so
    phone.wait_for_load_state()
    assert phone.title().startswith("Erreur : ")
    assert phone.evaluate("document.activeElement.id") == "errors"
    link = phone.locator("#errors a").first
    target = link.get_attribute("href")
    link.click()
    assert "#" + phone.evaluate("document.activeElement.id") == target
    # The keyboard alone: focus the map, Enter puts the pin at its centre.
    phone.focus("#pick-map")
    phone.keyboard.press("Enter")
    assert phone.input_value("#lat") != "" and phone.input_value("#long") != ""


AGENT_PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def office_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """The demo (small) with its indicators, an agent of one commune and 10 requests there."""
    folder: Path = tmp_path_factory.mktemp("a11y-office")
    platform = Platform.open(Settings(data_dir=folder / "data", environment="test"))
    build_demo(platform, scale=0.01, run_seeds=False)
    indicators.compute(platform, only=["requests_per_10k", "resolution_time_median"])
    dataset_builds.build(platform, "indicator-resolution-time-median", actor=system_actor("test"))
    areas = territory.list_areas(platform)
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    commune = next(a for a in areas if a.level.value == "commune" and a.geometry)
    users.add_user(platform, username="agent-a11y", password=AGENT_PASSWORD, role="agent",
                   area_code=commune.code, actor=system_actor("test"))
    p = shape(commune.geometry).representative_point()
    first = ""
    for n in range(10):
        code = "noise" if n % 2 else "roads"
        filed = request_filing.file_request(
            platform,
            draft=RequestDraft(service_code=code, lat=p.y, lon=p.x,
                               description="Bruit la nuit devant le café du marché central",
                               attributes=_answers(platform, code, commune.code)),
            actor=system_actor("test"),
        )
        first = first or filed.request.id
    with serve(platform) as url:
        yield url, commune.code, first
    platform.close()


def _answers(platform: Platform, code: str, commune: str) -> dict[str, str]:
    service = request_types.get_service(platform, code, area_code=commune)
    return {a.code: (a.value_keys()[0] if a.values else "1") for a in service.attributes
            if a.required}


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login?next=/office")
    page.fill("#username", "agent-a11y")
    page.fill("#password", AGENT_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/office**")


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_office_and_public_data_pages_have_no_serious_violation(
    phone: Any, office_site: tuple[str, str, str], axe_source: str, lang: str
) -> None:
    base, commune, request_id = office_site
    phone.goto(f"{base}/login?lang={lang}")
    found: dict[str, list[str]] = {}
    login = _violations(phone, axe_source)
    if login:
        found["/login"] = login
    _sign_in(phone, base)
    for path in (
        f"/office?lang={lang}",
        f"/office/requests/{request_id}?lang={lang}",
        f"/dashboards?lang={lang}",
        f"/dashboards/resolution_time_median?lang={lang}",
        f"/data?lang={lang}",
        f"/communes/{commune}?lang={lang}",
    ):
        response = phone.goto(base + path)
        assert response.status < 400, path
        phone.wait_for_load_state("networkidle")
        problems = _violations(phone, axe_source) + [
            f"small target {t}" for t in _small_targets(phone)
        ]
        if problems:
            found[path] = problems
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_the_queue_is_a_compact_list_on_a_phone(
    phone: Any, office_site: tuple[str, str, str]
) -> None:
    base, _commune, _request_id = office_site
    _sign_in(phone, base)
    phone.goto(f"{base}/office?lang=fr")
    rows = phone.locator("table.queue tbody tr")
    assert rows.count() == 10
    heights = [rows.nth(i).bounding_box()["height"] for i in range(10)]
    # Was about 340 px a request (3,398 px for 10): now a few requests fit on one screen.
    assert max(heights) <= 200, heights
    assert sum(heights) <= 1800, sum(heights)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # The bulk actions wait below the list; once a request is ticked they stay on screen.
    bar = phone.locator(".bulk")
    assert bar.bounding_box()["y"] > PHONE["height"]
    rows.nth(0).locator("input[name=ids]").check()
    box = bar.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] + 1 and box["height"] <= 180, box
    bar.locator("select[name=action]").select_option("acknowledged")
    bar.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator(".bulk").bounding_box()["y"] > PHONE["height"]  # nothing ticked now
    assert _small_targets(phone) == []


#: Script-only parts shown without JavaScript: a button that runs a script, or a map or chart
#: box left empty (its height taken, nothing in it).
DEAD_WITHOUT_JS = """() => Array.from(document.querySelectorAll(
      'main button[type=button], main [id$="-map"], main [id$="-chart"], main .map-key'))
    .filter(el => el.offsetParent !== null)
    .filter(el => el.tagName === 'BUTTON' || el.classList.contains('map-key')
                  || el.innerText.trim() === '')
    .map(el => el.tagName + '#' + el.id + '.' + el.className)"""


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_without_javascript_no_dead_part_and_each_map_or_chart_says_what_to_use(
    browser: Any, office_site: tuple[str, str, str], lang: str
) -> None:
    base, commune, request_id = office_site
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    for path, says in (
        ("/", 1),
        ("/report/roads", 0),  # no map: the commune list and the address say where
        ("/requests", 1),
        (f"/track/{request_id}", 0),
        ("/dashboards/resolution_time_median", 2),  # the chart and the map
        (f"/communes/{commune}", 0),  # its map is drawn on the server
        ("/data/indicator-resolution-time-median", 1),
    ):
        response = page.goto(f"{base}{path}?lang={lang}")
        assert response.status == 200, path
        dead = page.evaluate(DEAD_WITHOUT_JS)
        notes = page.locator(".no-js-only").evaluate_all(
            "els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)"
        )
        if dead or len([n for n in notes if "JavaScript" in n]) != says:
            found[path] = [*dead, *notes]
    context.close()
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
