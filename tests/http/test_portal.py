"""The citizen portal through the real app: report (map, questions, photo, contact), follow,
comment, confirm or contest, and the public list — with no personal data on public pages."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hakama.core.access import system_actor
from hakama.core.request_types import service_from_dict
from hakama.core.requests import Status
from hakama.core.territory import Area, Level
from hakama.http.app import create_app
from hakama.http.web import i18n
from hakama.services import request_media, request_types, service_requests, territory
from hakama.services.platform import Platform

OPERATOR = system_actor("test")


def square(x: float, y: float) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]],
    }


AREAS = [
    Area(code="P", level=Level.PROVINCE, names={"fr": "Province", "ar": "إقليم"}),
    Area(code="P.A", level=Level.COMMUNE, names={"fr": "Alpha", "ar": "ألفا"}, parent_code="P",
         geometry=square(0, 0), attribution="outlines: test"),
    Area(code="P.B", level=Level.COMMUNE, names={"fr": "Beta", "ar": "بيتا"}, parent_code="P",
         geometry=square(1, 0), attribution="outlines: test"),
]
LIGHTING = {
    "code": "lighting",
    "area_code": "P",
    "category": "public_lighting",
    "names": {"ar": "الإنارة العمومية", "fr": "Éclairage public", "en": "Street lighting"},
    "department": "Services techniques",
    "target_hours": 48,
    "icon": "lighting",
    "attributes": [
        {"code": "kind", "datatype": "singlevaluelist", "required": True,
         "descriptions": {"fr": "Type de panne", "ar": "نوع العطب"},
         "values": [{"key": "off", "names": {"fr": "Éteint", "ar": "مطفأ"}},
                    {"key": "blink", "names": {"fr": "Clignote", "ar": "يومض"}}]},
        {"code": "poles", "datatype": "number", "descriptions": {"fr": "Nombre de poteaux"}},
    ],
}
WASTE = {"code": "waste", "area_code": "P", "category": "waste", "icon": "waste",
         "names": {"ar": "جمع النفايات", "fr": "Collecte des déchets", "en": "Waste collection"}}
CONTACT = {"name": "Amina Berrada", "phone": "+212 612 345 678", "email": "amina@example.ma"}


@dataclass
class Portal:
    client: TestClient
    platform: Platform


@pytest.fixture
def portal(sqlite_platform: Platform) -> Iterator[Portal]:
    territory.save_areas(sqlite_platform, AREAS, actor=OPERATOR)
    request_types.save_services(
        sqlite_platform, [service_from_dict(LIGHTING), service_from_dict(WASTE)], actor=OPERATOR
    )
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as client:
        yield Portal(client, sqlite_platform)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def photo_with_gps() -> bytes:
    """A small JPEG carrying a camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", (40, 30), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (34.0, 55.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def file_report(client: TestClient, *, service: str = "lighting", **fields: str) -> tuple[int, str, str]:
    """Fill the report form like a browser; returns (status, location, body)."""
    page = client.get(f"/report/{service}?lang=ar")
    assert page.status_code == 200, page.text
    data = {"csrf_token": form_token(page.text), "lat": "0.5", "long": "0.5",
            "description": "La lampe est éteinte depuis trois jours", "attribute[kind]": "off",
            "language": "ar", **CONTACT}
    data.update(fields)
    files = {"photo": ("photo.jpg", photo_with_gps(), "image/jpeg")}
    response = client.post(f"/report/{service}", data=data, files=files)
    return response.status_code, response.headers.get("location", ""), response.text


def test_report_shows_services_as_icons_in_arabic(portal: Portal) -> None:
    page = portal.client.get("/report?lang=ar")
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "الإنارة العمومية" in page.text and "جمع النفايات" in page.text
    tiles = re.findall(r'<a class="tile" href="/report/(\w+)"[^>]*>\s*<svg', page.text)
    assert tiles == ["waste", "lighting"] or sorted(tiles) == ["lighting", "waste"]
    assert "التبليغ عن مشكل" in page.text


def test_report_form_has_map_questions_photo_and_csrf(portal: Portal) -> None:
    page = portal.client.get("/report/lighting?lang=fr")
    html = page.text
    assert page.status_code == 200
    assert 'id="pick-map"' in html and "/static/vendor/leaflet/leaflet.js" in html
    assert '"code": "P.A"' in html or '"code":"P.A"' in html  # outlines embedded for the map
    assert 'name="attribute[kind]"' in html and "Clignote" in html
    assert 'type="file"' in html and 'accept="image/*"' in html and 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html
    assert form_token(html)
    assert portal.client.get("/report/nope").status_code == 404


def test_filing_gives_a_number_and_strips_the_photo(portal: Portal) -> None:
    status, location, body = file_report(portal.client)
    assert status == 303, body
    found = re.fullmatch(r"/track/([0-9A-Z]{4}-[0-9A-Z]{4})\?filed=1", location)
    assert found, location
    request_id = found.group(1)
    page = portal.client.get(location)
    assert page.status_code == 200
    assert f'id="tracking-number">{request_id}<' in page.text
    assert "?key=" in page.text  # the private link, shown once to the requester
    # stored: in the right commune, answers parsed, contact apart, photo without EXIF
    req = service_requests.get_request(portal.platform, request_id, actor=OPERATOR)
    assert req.area_code == "P.A" and req.attributes == {"kind": "off"} and req.language == "ar"
    assert req.status is Status.OPEN and req.expected_at is not None
    contact = service_requests.get_contact(portal.platform, request_id, actor=OPERATOR)
    assert contact is not None and contact.phone == "+212612345678"  # E.164
    assert len(req.media) == 1
    path, _type = request_media.media_path(portal.platform, req.media[0])
    stored = Image.open(path)
    assert not stored.getexif() and "exif" not in stored.info
    # the requester sees their photo; personal data is nowhere on the page
    assert f"/track/{request_id}/media/{req.media[0]}" in page.text
    for secret in CONTACT.values():
        assert secret not in page.text


def test_errors_keep_the_form_and_speak_the_language(portal: Portal) -> None:
    status, _loc, body = file_report(portal.client, lat="40.0", long="-3.0")
    assert status == 400
    assert "هذه النقطة خارج التراب المخدوم هنا. اختر جماعتك من القائمة" in body
    assert "La lampe est éteinte depuis trois jours" in body  # what was typed is kept
    status, _loc, body = file_report(portal.client, **{"attribute[kind]": ""})
    assert status == 400 and "المرجو الإجابة عن الأسئلة المشار إليها بـ *." in body
    status, _loc, body = file_report(portal.client, description="x" * 4001)
    assert status == 400 and "4000" in body
    status, _loc, body = file_report(portal.client, lat="", long="", address_string="")
    assert status == 400
    assert service_requests.list_requests(
        portal.platform, filters=service_requests.RequestFilter(), actor=OPERATOR
    ).total == 0


def test_a_file_that_is_not_an_image_is_refused(portal: Portal) -> None:
    page = portal.client.get("/report/waste")
    response = portal.client.post(
        "/report/waste",
        data={"csrf_token": form_token(page.text), "lat": "1.5", "long": "0.5"},
        files={"photo": ("x.jpg", b"%PDF-1.4 not an image", "image/jpeg")},
    )
    assert response.status_code == 400
    assert "JPEG" in response.text


def test_address_only_report_needs_the_commune(portal: Portal) -> None:
    status, location, body = file_report(
        portal.client, service="waste", lat="", long="", address_string="Derrière le souk",
        commune="P.B",
    )
    assert status == 303, body
    request_id = location.split("/")[2].split("?")[0]
    req = service_requests.get_request(portal.platform, request_id, actor=OPERATOR)
    assert req.area_code == "P.B" and req.lat is None and req.address == "Derrière le souk"


def test_post_without_csrf_is_refused(portal: Portal) -> None:
    response = portal.client.post("/report/lighting", data={"lat": "0.5", "long": "0.5",
                                                             "attribute[kind]": "off"})
    assert response.status_code == 403
    assert "<html" in response.text
    assert service_requests.list_requests(
        portal.platform, filters=service_requests.RequestFilter(), actor=OPERATOR
    ).total == 0


def test_track_by_number_as_typed(portal: Portal) -> None:
    _s, location, _b = file_report(portal.client)
    request_id = location.split("/")[2].split("?")[0]
    typed = request_id.replace("-", "").lower()
    response = portal.client.get(f"/track?id={typed}")
    assert response.status_code == 303 and response.headers["location"] == f"/track/{request_id}"
    missing = portal.client.get("/track?id=ZZZZ-ZZZZ&lang=fr")
    assert missing.status_code == 404 and "Aucune demande ne porte ce numéro" in missing.text


def test_requester_comments_confirms_or_contests_others_cannot(portal: Portal) -> None:
    _s, location, _b = file_report(portal.client)
    request_id = location.split("/")[2].split("?")[0]
    page = portal.client.get(f"/track/{request_id}?lang=fr")
    token = form_token(page.text)
    done = portal.client.post(f"/track/{request_id}/comment",
                              data={"csrf_token": token, "note": "Toujours éteinte ce soir"})
    assert done.status_code == 200 and "Votre commentaire a été ajouté." in done.text
    assert "Toujours éteinte ce soir" in done.text  # the requester sees their own comment

    # Someone else (no token cookie) sees neither the comment nor the forms, and cannot post.
    with TestClient(portal.client.app, follow_redirects=False) as stranger:
        public = stranger.get(f"/track/{request_id}?lang=fr")
        assert public.status_code == 200
        assert "Toujours éteinte ce soir" not in public.text
        assert 'id="comment"' not in public.text and 'id="requester-only"' in public.text
        refused = stranger.post(f"/track/{request_id}/comment",
                                data={"csrf_token": form_token(stranger.get("/report/waste").text),
                                      "note": "spam"})
        assert refused.status_code == 403

    service_requests.transition(portal.platform, request_id, status=Status.RESOLVED,
                                actor=OPERATOR, note="Lampe remplacée", public=True)
    page = portal.client.get(f"/track/{request_id}?lang=fr")
    assert "Résolue" in page.text and "Lampe remplacée" in page.text and 'id="feedback"' in page.text
    contested = portal.client.post(f"/track/{request_id}/feedback",
                                   data={"csrf_token": token, "verdict": "contest"})
    assert contested.status_code == 200 and "rouverte" in contested.text
    assert service_requests.get_request(portal.platform, request_id, actor=OPERATOR).status is Status.OPEN
    service_requests.transition(portal.platform, request_id, status=Status.RESOLVED, actor=OPERATOR)
    confirmed = portal.client.post(f"/track/{request_id}/feedback",
                                   data={"csrf_token": token, "verdict": "confirm"})
    assert confirmed.status_code == 200
    assert service_requests.get_request(portal.platform, request_id, actor=OPERATOR).status is Status.CLOSED


def test_private_link_works_on_another_device(portal: Portal) -> None:
    _s, location, _b = file_report(portal.client)
    page = portal.client.get(location)
    link = re.search(r'href="http://testserver(/track/[^"]+\?key=[^"]+)"', page.text)
    assert link, page.text
    with TestClient(portal.client.app, follow_redirects=False) as phone:
        seen = phone.get(link.group(1).replace("&amp;", "&"))
        assert seen.status_code == 200 and 'id="comment"' in seen.text
        assert "hakama_rq_" in seen.headers.get("set-cookie", "")
        # later, a mistyped key does not hide what the cookie proves
        again = phone.get(f"{link.group(1).split('?')[0]}?key=wrong")
        assert 'id="comment"' in again.text


def test_portal_pages_use_no_external_resources(portal: Portal) -> None:
    file_report(portal.client)
    external = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")
    for path in ("/report?lang=ar", "/report/lighting", "/requests", "/track"):
        html = portal.client.get(path).text
        assert not external.findall(html), path


def test_public_list_and_map_have_no_personal_data(portal: Portal) -> None:
    ids = []
    for lat in ("0.2", "0.4", "0.6"):
        _s, location, _b = file_report(portal.client, lat=lat)
        ids.append(location.split("/")[2].split("?")[0])
    _s, location, _b = file_report(portal.client, service="waste", lat="0.5", long="1.5")
    other = location.split("/")[2].split("?")[0]
    page = portal.client.get("/requests?lang=fr")
    assert page.status_code == 200
    for request_id in [*ids, other]:
        assert request_id in page.text
    for secret in [*CONTACT.values(), "La lampe est éteinte", "Services techniques"]:
        assert secret not in page.text
    assert page.text.count('"type": "Point"') + page.text.count('"type":"Point"') == 4
    only_b = portal.client.get("/requests?commune=P.B")
    assert other in only_b.text and ids[0] not in only_b.text
    only_waste = portal.client.get("/requests?service=waste&status=open")
    assert other in only_waste.text and ids[1] not in only_waste.text
    none = portal.client.get("/requests?status=closed")
    assert all(i not in none.text for i in ids)


def test_public_list_pages(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    from hakama.http.web import portal as portal_module

    monkeypatch.setattr(portal_module, "PAGE_SIZE", 2)
    for lat in ("0.2", "0.4", "0.6"):
        file_report(portal.client, lat=lat)
    first = portal.client.get("/requests")
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = portal.client.get("/requests?page=2")
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert second.text.count('class="rq-card"') == 1
    assert portal.client.get("/requests?page=0").status_code == 200
    assert portal.client.get("/requests?page=abc&commune=" + "x" * 500).status_code == 200
    assert portal.client.get("/track?id=" + "A" * 60).status_code == 404


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lat=st.one_of(st.text(max_size=12), st.floats(allow_nan=True).map(str)),
    lon=st.one_of(st.text(max_size=12), st.floats(allow_infinity=True).map(str)),
    description=st.text(max_size=60),
    kind=st.text(max_size=8),
    poles=st.text(max_size=8),
    phone=st.text(max_size=25),
    commune=st.sampled_from(["", "P.A", "P.B", "P", "nowhere"]),
)
def test_any_report_form_is_filed_or_refused_cleanly(
    portal: Portal, lat: str, lon: str, description: str, kind: str, poles: str, phone: str,
    commune: str,
) -> None:
    page = portal.client.get("/report/lighting")
    response = portal.client.post(
        "/report/lighting",
        data={"csrf_token": form_token(page.text), "lat": lat, "long": lon,
              "description": description, "attribute[kind]": kind, "attribute[poles]": poles,
              "phone": phone, "commune": commune},
    )
    assert response.status_code in (303, 400), response.text
    if response.status_code == 400:
        assert 'id="errors"' in response.text


def test_requester_adds_a_photo_later(portal: Portal) -> None:
    _s, location, _b = file_report(portal.client)
    request_id = location.split("/")[2].split("?")[0]
    page = portal.client.get(f"/track/{request_id}?lang=fr")
    assert 'id="add-photo"' in page.text
    token = form_token(page.text)
    added = portal.client.post(f"/track/{request_id}/photo", data={"csrf_token": token},
                               files={"photo": ("b.jpg", photo_with_gps(), "image/jpeg")})
    assert added.status_code == 200 and "Votre photo a été ajoutée." in added.text
    req = service_requests.get_request(portal.platform, request_id, actor=OPERATOR)
    assert len(req.media) == 2
    assert all(not Image.open(request_media.media_path(portal.platform, m)[0]).getexif() for m in req.media)
    refused = portal.client.post(f"/track/{request_id}/photo", data={"csrf_token": token},
                                 files={"photo": ("b.txt", b"hello", "text/plain")})
    assert refused.status_code == 400 and "JPEG" in refused.text
    with TestClient(portal.client.app, follow_redirects=False) as stranger:
        other = form_token(stranger.get("/report/waste").text)
        denied = stranger.post(f"/track/{request_id}/photo", data={"csrf_token": other},
                               files={"photo": ("c.jpg", photo_with_gps(), "image/jpeg")})
        assert denied.status_code == 403
        assert stranger.get(f"/track/{request_id}/media/{req.media[0]}").status_code == 404
    assert portal.client.get(f"/track/{request_id}/media/{req.media[0]}").headers[
        "content-type"] == "image/jpeg"


def test_the_citizen_may_choose_another_commune_than_the_pin(portal: Portal) -> None:
    # The pin is in Alpha; the citizen knows the place belongs to Beta.
    status, _loc, body = file_report(portal.client, commune="P.B")
    assert status == 400  # a pin and a commune that disagree, with no choice said: refused
    assert i18n.translations("ar").gettext("The pin is not in the chosen commune.") in body
    status, location, body = file_report(portal.client, commune="P.B", commune_chosen="1")
    assert status == 303, body
    request_id = location.split("/")[2].split("?")[0]
    req = service_requests.get_request(portal.platform, request_id, actor=OPERATOR)
    assert req.area_code == "P.B" and (req.lat, req.lon) == (0.5, 0.5)
    # Without a choice the pin decides; a province "chosen" still goes to the pin's commune.
    for extra in ({}, {"commune": "P", "commune_chosen": "1"}):
        status, location, _ = file_report(portal.client, **extra)
        req = service_requests.get_request(
            portal.platform, location.split("/")[2].split("?")[0], actor=OPERATOR
        )
        assert req.area_code == "P.A"


def test_the_form_says_in_words_where_the_request_goes(portal: Portal) -> None:
    page = portal.client.get("/report/lighting?lang=fr").text
    assert 'data-goes-to="Cette demande sera transmise à la commune de {name}."' in page
    assert "Ce point est hors du territoire desservi" in page
    assert 'id="commune-verdict"' in page and 'name="commune_chosen"' in page


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
def test_every_map_has_a_legend_and_translated_controls(portal: Portal, lang: str) -> None:
    _status, location, _ = file_report(portal.client)
    tr = i18n.translations(lang).gettext
    for path in ("/", "/report/lighting", "/requests", location.split("?")[0]):
        html = portal.client.get(f"{path}?lang={lang}").text
        assert html.count('class="map-key"') == 1, path
        assert f'<span class="map-key-title">{tr("Legend")}</span>' in html, path
        config = json.loads(html.split('id="map-config">')[1].split("</script>")[0])
        assert config["labels"]["zoom_in"] == tr("Zoom in") and config["basemap"] is None
        assert config["labels"]["close"] == tr("Close")
        if lang == "ar":
            assert "Zoom in" not in html, path
    home = portal.client.get(f"/?lang={lang}").text
    assert tr("Urban commune (municipality)") in home and tr("Rural commune") in home
