"""Forms that help: an error summary linking to each field, inline messages, aria-invalid, the
title saying there is an error, the photo said to be chosen again, no hidden focus stops, and
the parts that need JavaScript replaced by what to do without it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import request_types, territory
from hakama.services.platform import Platform


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    areas = demo_areas()
    territory.save_areas(sqlite_platform, areas, actor=system_actor("test"))
    request_types.save_services(sqlite_platform, catalogue_for(areas), actor=system_actor("test"))
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_errors_link_to_their_fields_and_the_photo_is_asked_again(client: TestClient) -> None:
    page = client.get("/report/public_lighting?lang=fr")
    response = client.post(
        "/report/public_lighting",
        data={
            "csrf_token": _token(page.text),
            "attribute[problem]": "off",
            "email": "pas une adresse",
            "description": "Lampadaire éteint",
        },
        files={"photo": ("photo.jpg", b"not really a photo", "image/jpeg")},
    )
    assert response.status_code == 400
    html = unescape(response.text)
    assert re.search(r"<title>Erreur : ", html)
    summary = re.search(
        r'<div class="errors" role="alert" id="errors" tabindex="-1".*?</div>', html, re.S
    )
    assert summary
    link = re.search(r'<a href="#(\w[\w-]*)">([^<]+)</a>', summary.group(0))
    assert link, summary.group(0)
    field = link.group(1)
    # The field the summary links to exists, is marked invalid and says why next to it.
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error"', html
    )
    assert re.search(
        rf'<p class="field-error" id="{field}-error">{re.escape(link.group(2))}</p>', html
    )
    assert "Votre photo n'a pas été gardée : choisissez-la de nouveau avant d'envoyer." in html
    assert 'value="Lampadaire éteint"' not in html and ">Lampadaire éteint</textarea>" in html
    assert '<script src="/static/js/form-help.js"></script>' in html


def test_no_hidden_focus_stops_and_no_dead_parts_without_javascript(client: TestClient) -> None:
    html = client.get("/report/public_lighting?lang=ar").text
    # Latitude and longitude are hidden inputs (no focus stop); file inputs are real controls.
    assert re.search(r'<input type="hidden" name="lat" id="lat"', html)
    assert re.search(r'<input type="hidden" name="long" id="long"', html)
    # A file input sits inside its labelled button, whose focus ring shows (no invisible stop).
    assert re.search(
        r'<label class="btn secondary file-button"><input type="file" id="photo-file"', html
    )
    assert (
        ".file-button:focus-within { outline: 3px solid"
        in client.get("/static/css/portal.css").text
    )
    # The map and its "tap" hint show only with JavaScript; without it, what to do instead.
    assert re.search(r'<div id="pick-map" class="map js-only"', html)
    assert '<p class="muted no-js-only">' in html
    assert re.search(r'<button type="button" class="secondary" id="locate-me" hidden', html)
    assert '<script src="/static/js/js-on.js"></script>' in html.split("</head>")[0]
    css = client.get("/static/css/hakama.css").text
    assert "html:not(.js) .js-only { display: none !important; }" in css
    assert "[hidden] { display: none !important; }" in css


def test_docs_leave_the_menu_for_the_footer(client: TestClient) -> None:
    html = client.get("/?lang=fr").text
    menu = html.split('<nav class="main-nav"')[1].split("</nav>")[0]
    assert 'href="/docs"' not in menu and 'href="/office"' not in menu  # not signed in
    footer = html.split('<footer class="site-footer">')[1]
    assert '<a href="/docs" id="api-link">API</a>' in footer
