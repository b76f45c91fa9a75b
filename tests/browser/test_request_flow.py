"""A citizen files a request on a 360 px phone in Arabic (service icon, tap on the map, photo),
an agent works it in the back office in another browser, and the citizen sees it resolved.

Screenshots are written to `$HAKAMA_SCREENSHOTS/request-*.png` (set it to docs/screenshots to
refresh the ones in the docs) for people to look at.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.core.requests import Status
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import (
    request_filing,
    request_media,
    request_types,
    service_requests,
    territory,
    users,
)
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.browser.conftest import serve

pytestmark = pytest.mark.browser

# Screenshots go to a scratch folder, or to docs/ when refreshing the README's pictures
# (HAKAMA_SCREENSHOTS=docs/screenshots): a test run must not rewrite tracked files.
SHOTS = Path(os.environ.get("HAKAMA_SCREENSHOTS", tempfile.gettempdir() + "/hakama-screenshots"))
PHONE = {"width": 360, "height": 740}
COMMUNE = "02.113.01.09"  # Berkane (municipality)
OTHER_COMMUNE = "02.113.01.01"  # Ahfir
PASSWORD = "correct horse battery"
OPERATOR = system_actor("test")


@dataclass
class Site:
    url: str
    platform: Platform


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """hakama serving the demo territory and catalogue, with an agent of one commune."""
    folder = tmp_path_factory.mktemp("request-flow")
    platform = Platform.open(Settings(data_dir=folder / "data", environment="test"))
    territory.save_areas(platform, demo_areas(), actor=OPERATOR)
    request_types.save_services(
        platform, catalogue_for(territory.list_areas(platform)), actor=OPERATOR
    )
    users.add_user(
        platform,
        username="agent-berkane",
        password=PASSWORD,
        role="agent",
        area_code=COMMUNE,
        actor=OPERATOR,
        display_name="Agent Berkane",
    )
    seed_requests(platform)
    with serve(platform) as url:
        yield Site(url, platform)
    platform.close()


def seed_requests(platform: Platform) -> None:
    """A few older requests, two of them past their deadline, and one in another commune."""
    from datetime import timedelta

    from hakama.core.clock import utcnow
    from hakama.core.requests import RequestDraft

    here = shape(territory.get_area(platform, COMMUNE).geometry).representative_point()
    other = shape(territory.get_area(platform, OTHER_COMMUNE).geometry).representative_point()
    for code, days, point in (
        ("waste", 6, here),
        ("roads", 12, here),
        ("noise", 0.2, here),
        ("waste", 6, other),
    ):
        service = request_types.get_service(platform, code, area_code=COMMUNE)
        answers = {
            a.code: (a.value_keys()[0] if a.values else "1")
            for a in service.attributes
            if a.required
        }
        request_filing.file_request(
            platform,
            draft=RequestDraft(
                service_code=code, lat=point.y, lon=point.x, language="ar", attributes=answers
            ),
            actor=OPERATOR,
            now=utcnow() - timedelta(days=days),
        )


def photo_with_gps(path: Path) -> Path:
    image = Image.new("RGB", (320, 240), (90, 90, 110))
    for x in range(140, 180):
        for y in range(40, 200):
            image.putpixel((x, y), (230, 200, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (34.0, 55.0, 12.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def shot(page: Any, name: str, *, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full)


def test_file_work_and_see_resolved(site: Site, browser: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    citizen_ctx = browser.new_context(
        viewport=PHONE, locale="ar-MA", has_touch=True, device_scale_factor=1
    )
    citizen = citizen_ctx.new_page()
    citizen.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. Choose the service by its picture.
    citizen.goto(f"{site.url}/report?lang=ar")
    assert citizen.locator("html").get_attribute("dir") == "rtl"
    tiles = citizen.locator("#services a.tile")
    assert tiles.count() >= 10 and citizen.locator("#services a.tile svg").count() == tiles.count()
    no_horizontal_scroll(citizen)
    shot(citizen, "request-1-services-ar-phone.png")
    citizen.locator('a.tile[data-service="public_lighting"]').click()
    citizen.wait_for_url(re.compile(r"/report/public_lighting"))

    # 2. Tap the map inside the commune: the pin lands and the commune is found.
    commune = territory.get_area(site.platform, COMMUNE)
    point = shape(commune.geometry).representative_point()
    citizen.wait_for_function("document.getElementById('pick-map').hakamaMap !== undefined")
    citizen.locator("#pick-map").scroll_into_view_if_needed()
    x, y = citizen.evaluate(
        "([lat, lon]) => { const p = document.getElementById('pick-map').hakamaMap"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [point.y, point.x],
    )
    box = citizen.locator("#pick-map").bounding_box()
    citizen.mouse.click(box["x"] + x, box["y"] + y)
    assert citizen.locator(".leaflet-marker-pane .pin").count() == 1
    verdict = citizen.locator("#commune-verdict")
    verdict.wait_for(state="visible")
    assert verdict.inner_text() == f"سيُرسل هذا الطلب إلى جماعة {commune.names['ar']}."
    assert citizen.locator("#commune").input_value() == COMMUNE
    shown = verdict.get_attribute("data-commune")
    lat = float(citizen.locator("#lat").input_value())
    assert abs(lat - point.y) < 0.01

    # 3. Describe, answer the question, attach a photo, leave a phone number.
    citizen.locator('textarea[name="description"]').fill("المصباح مطفأ منذ ثلاثة أيام أمام المدرسة")
    question = citizen.locator('select[name="attribute[problem]"]')
    question.select_option(index=1)
    citizen.locator("#photo-file").set_input_files(str(photo_with_gps(tmp_path / "lamp.jpg")))
    assert citizen.locator("#photo-name").inner_text() == "lamp.jpg"
    citizen.locator('input[name="phone"]').fill("0612345678")
    no_horizontal_scroll(citizen)
    shot(citizen, "request-2-form-ar-phone.png")
    citizen.locator("#submit").click()
    citizen.wait_for_url(re.compile(r"/track/[0-9A-Z]{4}-[0-9A-Z]{4}\?filed=1"))
    number = citizen.locator("#tracking-number").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", number)
    assert "0612345678" not in citizen.content()
    no_horizontal_scroll(citizen)
    shot(citizen, "request-3-filed-ar-phone.png")

    stored = service_requests.get_request(site.platform, number, actor=OPERATOR)
    assert stored.area_code == shown == COMMUNE and len(stored.media) == 1
    path, _type = request_media.media_path(site.platform, stored.media[0])
    assert not Image.open(path).getexif()

    # 4. The agent signs in elsewhere and works the request.
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ar-MA")
    agent = agent_ctx.new_page()
    agent.on("pageerror", lambda exc: errors.append(str(exc)))
    agent.goto(f"{site.url}/office?lang=ar")
    agent.wait_for_url(re.compile(r"/login"))
    agent.locator("#username").fill("agent-berkane")
    agent.locator("#password").fill(PASSWORD)
    agent.locator("form.form button[type=submit]").click()
    agent.wait_for_url(re.compile(r"/office(\?.*)?$"))
    row = agent.locator(f'tr[data-id="{number}"]')
    assert row.count() == 1
    assert agent.locator("table.queue tbody tr").count() == 4  # not Ahfir's request
    assert agent.locator("table.queue tbody tr.overdue").count() == 2
    shot(agent, "request-4-queue-ar.png", full=False)
    row.locator("a").first.click()
    agent.wait_for_url(re.compile(rf"/office/requests/{number}"))
    agent.locator("#new-status").select_option("acknowledged")
    agent.locator("#change-status button[type=submit]").click()
    agent.wait_for_url(re.compile(r"msg=saved"))
    agent.locator("#new-status").select_option("resolved")
    agent.locator("#status-note").fill("تم استبدال المصباح. شكرا على التبليغ.")
    assert agent.locator("#status-public").is_checked()
    agent.locator("#change-status button[type=submit]").click()
    agent.wait_for_url(re.compile(r"msg=saved"))
    assert "تم الحل" in agent.locator("#status").inner_text()
    shot(agent, "request-5-office-detail-ar.png")
    assert (
        service_requests.get_request(site.platform, number, actor=OPERATOR).status
        is Status.RESOLVED
    )

    # 5. The citizen reloads the tracking page: resolved, with the public note; confirms.
    citizen.goto(f"{site.url}/track/{number}")
    assert "تم الحل" in citizen.locator("#status").inner_text()
    assert "تم استبدال المصباح" in citizen.content()
    assert citizen.locator("#feedback").count() == 1
    no_horizontal_scroll(citizen)
    shot(citizen, "request-6-resolved-ar-phone.png")
    citizen.locator('#feedback button[value="confirm"]').click()
    citizen.wait_for_load_state()
    assert "مغلق" in citizen.locator("#status").inner_text()
    assert (
        service_requests.get_request(site.platform, number, actor=OPERATOR).status is Status.CLOSED
    )

    # 6. The public list shows it on the map, without the phone number or the description.
    citizen.goto(f"{site.url}/requests")
    assert citizen.locator(f'#request-list a[href="/track/{number}"]').count() == 1
    assert citizen.locator("#requests-map path.leaflet-interactive").count() >= 17
    assert "0612345678" not in citizen.content() and "المصباح مطفأ" not in citizen.content()
    no_horizontal_scroll(citizen)
    shot(citizen, "request-7-public-list-ar-phone.png")

    assert errors == []
    citizen_ctx.close()
    agent_ctx.close()
