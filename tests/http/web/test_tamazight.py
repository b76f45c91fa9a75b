"""Tamazight (zgh) pages of the demo territory: the citizens' home, report, track and the public
list say every word in Tifinagh or, where Tamazight has no word yet, in Arabic, never in French
or English; communes, the territory, services and departments without a Tamazight name are
named in Arabic."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.core.languages import fallbacks, pick
from hakama.core.requests import RequestDraft
from hakama.core.territory import Area, Level
from hakama.demo.seed_services import DEPARTMENTS, catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.http.web.i18n import LOCALES
from hakama.services import request_filing, request_types, request_work, territory
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
TIFINAGH = re.compile("[\u2d30-\u2d7f]")
ARABIC = re.compile("[\u0600-\u06ff]")


def test_tamazight_falls_back_to_arabic_and_the_others_to_french() -> None:
    names = {"fr": "Berkane", "en": "Berkane city", "ar": "بركان"}
    assert pick(names, "zgh") == "بركان"
    assert pick({**names, "zgh": "ⴱⵕⴽⴰⵏ"}, "zgh") == "ⴱⵕⴽⴰⵏ"
    assert pick(names, "en") == "Berkane city"
    assert pick({"fr": "Berkane", "ar": "بركان"}, "en") == "Berkane"
    assert pick({}, "zgh") == ""
    assert fallbacks("zgh")[:2] == ("zgh", "ar")
    area = Area(code="P.A", level=Level.COMMUNE, names={"fr": "Ahfir", "ar": "أحفير"})
    assert area.name("zgh") == "أحفير" and area.name("en") == "Ahfir"


@pytest.fixture
def demo(sqlite_platform: Platform) -> Iterator[tuple[TestClient, str, list[Area]]]:
    """The demo territory and catalogue, one request filed in a commune and assigned."""
    areas = demo_areas()
    territory.save_areas(sqlite_platform, areas, actor=OPERATOR)
    request_types.save_services(sqlite_platform, catalogue_for(areas), actor=OPERATOR)
    commune = next(a for a in areas if a.level is Level.COMMUNE and a.geometry)
    p = shape(commune.geometry).representative_point()
    service = request_types.get_service(sqlite_platform, "public_lighting", area_code=commune.code)
    answers = {a.code: (a.value_keys()[0] if a.values else "1") for a in service.attributes
               if a.required}
    filed = request_filing.file_request(
        sqlite_platform,
        draft=RequestDraft(service_code="public_lighting", lat=p.y, lon=p.x,
                           description="ⵜⴰⴼⴰⵡⵜ ⵜⵅⵙⵉ", language="zgh",
                           attributes=answers),
        actor=OPERATOR,
    )
    rid = filed.request.id
    request_work.assign(sqlite_platform, rid, department="Service technique — éclairage public",
                        actor=OPERATOR)
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client, rid, areas


def _seen(page: str) -> str:
    """What a reader meets: the text, the attributes read aloud, and the strings the scripts
    show (the JSON the maps and the form read)."""
    shown = [
        value
        for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S)
        for value in _strings(json.loads(block))
    ]
    spoken = re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', page)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(" ".join([re.sub(r"<[^>]+>", " ", page), *spoken, *shown]))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _foreign_phrases(areas: list[Area], services: list[object]) -> set[str]:
    """French and English texts hakama may show: its messages, the places' and services' and
    departments' names in those languages."""
    phrases: set[str] = set()
    for lang in ("fr", "en"):
        with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            for message in read_po(handle):
                for text in (message.id, message.string):
                    for one in text if isinstance(text, tuple) else (text,):
                        # the words between placeholders, long enough to be a phrase
                        phrases.update(
                            part.strip() for part in re.split(r"%\(\w+\)\w|%\w", one or "")
                            if len(part.strip()) >= 6 and not part.strip().isdigit()
                        )
    for area in areas:
        phrases.update(n for lang, n in area.names.items() if lang in ("fr", "en"))
    for service in services:
        phrases.update(n for lang, n in service.names.items() if lang in ("fr", "en"))  # type: ignore[attr-defined]
    phrases.update(DEPARTMENTS)
    phrases.update(d["en"] for d in DEPARTMENTS.values())
    return phrases


def test_the_citizen_pages_in_tamazight_say_nothing_in_french_or_english(
    demo: tuple[TestClient, str, list[Area]], sqlite_platform: Platform
) -> None:
    client, rid, areas = demo
    foreign = _foreign_phrases(areas, request_types.list_services(sqlite_platform))
    for path in ("/", "/report", "/report/public_lighting", "/requests", f"/track/{rid}",
                 "/track"):
        page = client.get(f"{path}?lang=zgh")
        assert page.status_code == 200, path
        assert '<html lang="zgh" dir="ltr">' in page.text, path
        assert 'hreflang="zgh" lang="zgh" aria-current="true"' in page.text, path
        seen = _seen(page.text)
        assert TIFINAGH.search(seen) and ARABIC.search(seen), path
        # What the same page also shows in Arabic is no language's (a number, a brand, a
        # licence's or a package's name, a language's own name in the language menu).
        neutral = _seen(client.get(f"{path}?lang=ar").text)
        found = sorted(p for p in foreign if p in seen and p not in neutral)
        assert not found, (path, found[:10])


def test_places_services_and_departments_without_tamazight_names_are_in_arabic(
    demo: tuple[TestClient, str, list[Area]],
) -> None:
    client, rid, areas = demo
    province = next(a for a in areas if a.level is Level.PROVINCE)
    communes = [a for a in areas if a.level is Level.COMMUNE]
    home = _seen(client.get("/?lang=zgh").text)
    assert province.names["ar"] in home and province.names["fr"] not in home
    assert "ⵎⴰⴷ ⵜⵔⵉⴷ ⴰⴷ ⵜⵙⴽⵔⴷ?" in home and "ⴹⴼⵕ ⴰⵙⵓⵜⵔ ⵉⵏⵓ" in home  # the first screen
    for commune in communes:
        assert commune.names["ar"] in home, commune.code  # the table and the map's data
    listed = _seen(client.get("/requests?lang=zgh").text)
    assert all(c.names["ar"] in listed for c in communes)  # the commune filter
    assert "ⵜⴰⴼⴰⵡⵜ ⵜⴰⵎⴰⵜⴰⵢⵜ" in listed  # a service named in Tamazight
    tracked = _seen(client.get(f"/track/{rid}?lang=zgh").text)
    assert DEPARTMENTS["Service technique — éclairage public"]["ar"] in tracked
    assert "Service technique — éclairage public" not in tracked


def test_home_offers_tamazight_and_the_pages_it_leads_to_fall_back_to_arabic(
    demo: tuple[TestClient, str, list[Area]],
) -> None:
    client, _rid, areas = demo
    home = client.get("/?lang=zgh")
    assert home.cookies.get("lang") == "zgh"
    commune = next(a for a in areas if a.level is Level.COMMUNE)
    for path in ("/dashboards", f"/communes/{commune.code}", "/data", "/about"):
        page = client.get(path)  # the cookie says zgh
        assert page.status_code == 200, path
        assert '<html lang="ar" dir="rtl">' in page.text, path
        assert 'hreflang="zgh"' not in page.text, path

