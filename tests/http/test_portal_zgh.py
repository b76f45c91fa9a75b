"""Tamazight (zgh, Tifinagh) on the citizen pages: the pages, the catalogue's names, a request
filed in zgh keeps its language, the font is served from here; other pages fall back to Arabic."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.core.request_types import service_from_dict
from hakama.core.territory import Area, Level
from hakama.http.app import create_app
from hakama.services import request_types, territory
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
AREAS = [
    Area(code="P", level=Level.PROVINCE, names={"fr": "Province", "ar": "إقليم"}),
    Area(code="P.A", level=Level.COMMUNE, names={"fr": "Alpha", "ar": "ألفا"}, parent_code="P",
         geometry=SQUARE),
]
LIGHTING = {
    "code": "lighting", "area_code": "P", "category": "public_lighting", "icon": "lighting",
    "names": {"ar": "الإنارة العمومية", "fr": "Éclairage public", "en": "Street lighting",
              "zgh": "ⵜⴰⴼⴰⵡⵜ ⵜⴰⵎⴰⵜⴰⵢⵜ"},
}
WASTE = {"code": "waste", "area_code": "P", "category": "waste", "icon": "waste",
         "names": {"ar": "جمع النفايات", "fr": "Collecte des déchets"}}
TIFINAGH = re.compile("[\u2d30-\u2d7f]")


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    territory.save_areas(sqlite_platform, AREAS, actor=OPERATOR)
    request_types.save_services(
        sqlite_platform, [service_from_dict(LIGHTING), service_from_dict(WASTE)], actor=OPERATOR
    )
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_the_report_page_speaks_tamazight_and_names_services_in_it(client: TestClient) -> None:
    page = client.get("/report?lang=zgh")
    assert page.status_code == 200
    assert '<html lang="zgh" dir="ltr">' in page.text
    assert page.cookies.get("lang") == "zgh"
    assert "ⵜⴰⴼⴰⵡⵜ ⵜⴰⵎⴰⵜⴰⵢⵜ" in page.text  # the catalogue's Tamazight name
    assert "جمع النفايات" in page.text  # no Tamazight name: the Arabic one, not the French
    assert "Collecte des déchets" not in page.text
    assert "ⵎⵎⵍ ⵢⴰⵜ ⵜⵎⵓⴽⵔⵉⵙⵜ" in page.text  # "Report a problem" in the menu
    assert 'hreflang="zgh" lang="zgh" aria-current="true">ⵜⴰⵎⴰⵣⵉⵖⵜ</a>' in page.text
    # a message without Tamazight words yet is in Arabic, never in English
    assert "الانتقال إلى المحتوى" in page.text and "Skip to content" not in page.text


def test_a_request_filed_in_tamazight_keeps_its_language(
    client: TestClient, sqlite_platform: Platform
) -> None:
    form = client.get("/report/lighting?lang=zgh")
    assert '<input type="hidden" name="language" value="zgh">' in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    sent = client.post(
        "/report/lighting",
        data={"csrf_token": token.group(1), "lat": "0.5", "long": "0.5", "language": "zgh",
              "description": "ⵜⴰⴼⴰⵡⵜ ⵜⵅⵙⵉ"},
    )
    assert sent.status_code == 303, sent.text
    rid = sent.headers["location"].split("/")[2].split("?")[0]
    with sqlite_platform.db.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT language, service_name FROM service_requests WHERE id = :id"),
            {"id": rid},
        ).one()
    assert tuple(stored) == ("zgh", "ⵜⴰⴼⴰⵡⵜ ⵜⴰⵎⴰⵜⴰⵢⵜ")
    tracked = client.get(sent.headers["location"])
    assert '<html lang="zgh" dir="ltr">' in tracked.text
    assert "ⵜⴰⵏⵎⵎⵉⵔⵜ, ⵉⵜⵜⵓⵣⵏ ⵓⵙⵓⵜⵔ ⵏⵏⴽ." in tracked.text  # thank you, your request was sent
    listed = client.get("/requests")
    assert rid in listed.text and "ⵉⵙⵓⵜⴰⵔ" in listed.text


def test_other_pages_fall_back_to_arabic_and_do_not_offer_tamazight(client: TestClient) -> None:
    client.get("/report?lang=zgh")  # the cookie now says zgh
    for path in ("/data", "/login"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<html lang="ar" dir="rtl">' in page.text, path
        assert 'hreflang="zgh"' not in page.text, path
    asked = client.get("/data?lang=zgh")
    assert '<html lang="ar" dir="rtl">' in asked.text
    assert "lang" not in asked.cookies  # asking a page for what it is not written in sets nothing


def test_the_tifinagh_font_is_served_from_here_with_its_licence(client: TestClient) -> None:
    page = client.get("/report?lang=zgh")
    assert "https://" not in "".join(re.findall(r'(?:href|src)="([^"]+)"', page.text))
    css = client.get("/static/css/hakama.css").text
    assert 'url("/static/vendor/noto-tifinagh/NotoSansTifinagh-Regular.ttf")' in css
    assert "unicode-range: U+2D30-2D7F" in css
    font = client.get("/static/vendor/noto-tifinagh/NotoSansTifinagh-Regular.ttf")
    assert font.status_code == 200 and font.content[:4] == b"\x00\x01\x00\x00"  # TrueType
    licence = client.get("/static/vendor/noto-tifinagh/OFL.txt")
    assert "SIL Open Font License" in licence.text
    assert TIFINAGH.search(page.text)
