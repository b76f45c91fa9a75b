"""Open311 GeoReport v2 conformance: every method in .json and .xml, bad input in the spec's
error format, the extension (updates, reopen, confirm, media), and no personal data in GETs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.demo.seed_services import DEPARTMENTS, catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http.api.open311 import PUBLIC_APP_KEY
from hakama.http.api.open311_codec import FormError, parse_post
from hakama.http.app import create_app
from hakama.services import keys, request_types, request_work, territory
from hakama.services.platform import Platform

FORM = {"content-type": "application/x-www-form-urlencoded"}
SECRET_NAME = "Zineb"
SECRET_PHONE = "+212661234567"


@dataclass
class Env:
    client: TestClient
    commune_a: str
    commune_b: str
    lonlat_a: tuple[float, float]
    agent_key_a: str
    agent_key_b: str


@pytest.fixture
def env(sqlite_platform: Platform) -> Iterator[Env]:
    p = sqlite_platform
    areas = demo_areas()
    operator = system_actor("test")
    territory.save_areas(p, areas, actor=operator)
    request_types.save_services(p, catalogue_for(areas), actor=operator)
    communes = [a for a in areas if a.level.value == "commune"]
    a, b = communes[0], communes[1]
    point = shape(a.geometry).representative_point()
    key_a = keys.create_key(
        p, name="office a", role="agent", area_code=a.code, scopes=None, actor=operator
    )
    key_b = keys.create_key(
        p, name="office b", role="agent", area_code=b.code, scopes=None, actor=operator
    )
    app = create_app(p.settings, platform=p, background=False)
    with TestClient(app, follow_redirects=False) as client:
        yield Env(client, a.code, b.code, (point.x, point.y), key_a.token, key_b.token)


def post(
    env: Env,
    fields: dict[str, str] | list[tuple[str, str]],
    fmt: str = "json",
    path: str = "requests",
) -> object:
    return env.client.post(f"/open311/v2/{path}.{fmt}", content=urlencode(fields), headers=FORM)


def new_request(env: Env, **extra: str) -> dict[str, str]:
    lon, lat = env.lonlat_a
    fields = {
        "api_key": PUBLIC_APP_KEY,
        "service_code": "public_lighting",
        "lat": str(lat),
        "long": str(lon),
        "description": f"Lampadaire éteint. {SECRET_NAME} {SECRET_PHONE}",
        "attribute[problem]": "off",
        "first_name": SECRET_NAME,
        "phone": SECRET_PHONE,
        "email": "zineb@example.ma",
        **extra,
    }
    response = post(env, fields)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body[0]) == {"service_request_id", "token", "service_notice", "account_id"}
    return body[0]  # type: ignore[no-any-return]


def xml(response: object) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")  # type: ignore[attr-defined]
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")  # type: ignore[attr-defined]
    return ET.fromstring(response.content)  # type: ignore[attr-defined]


# Discovery and services --------------------------------------------------------------------


def test_discovery(env: Env) -> None:
    body = env.client.get("/open311/v2/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml(env.client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_services_in_both_formats_and_languages(env: Env) -> None:
    listed = env.client.get(
        f"/open311/v2/services.json?jurisdiction_id={env.commune_a}&lang=ar"
    ).json()
    codes = {s["service_code"] for s in listed}
    assert {"public_lighting", "waste", "roads", "water_leak", "civil_status_appointment"} <= codes
    lighting = next(s for s in listed if s["service_code"] == "public_lighting")
    assert lighting["service_name"] == "الإنارة العمومية"
    assert lighting["metadata"] is True and lighting["type"] == "realtime"
    assert set(lighting) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    root = xml(env.client.get("/open311/v2/services.xml", headers={"Accept-Language": "en"}))
    assert root.tag == "services"
    names = {
        s.findtext("service_code"): s.findtext("service_name") for s in root.findall("service")
    }
    assert names["waste"] == "Waste collection"
    assert root.find("service/metadata").text in ("true", "false")  # type: ignore[union-attr]


def test_service_definition_has_every_datatype(env: Env) -> None:
    datatypes: set[str] = set()
    for code in (
        "public_lighting",
        "roads",
        "water_leak",
        "green_spaces",
        "civil_status_appointment",
    ):
        body = env.client.get(f"/open311/v2/services/{code}.json?lang=fr").json()
        assert body["service_code"] == code
        for attr in body["attributes"]:
            assert set(attr) == {
                "variable",
                "code",
                "datatype",
                "required",
                "datatype_description",
                "order",
                "description",
                "values",
            }
            datatypes.add(attr["datatype"])
    assert datatypes == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }
    root = xml(env.client.get("/open311/v2/services/public_lighting.xml?lang=fr"))
    assert root.tag == "service_definition"
    values = root.findall("attributes/attribute/values/value")
    assert ("off", "Éteint") in [(v.findtext("key"), v.findtext("name")) for v in values]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_and_jurisdiction_are_404(env: Env, fmt: str) -> None:
    for path in ("services/snow_removal", f"services.{fmt}?jurisdiction_id=99.999"):
        url = f"/open311/v2/{path}" + ("" if "?" in path else f".{fmt}")
        response = env.client.get(url)
        assert response.status_code == 404
        if fmt == "json":
            ((error),) = response.json()
            assert error["code"] == 404 and "not" in error["description"]
        else:
            root = xml(response)
            assert root.tag == "errors" and root.findtext("error/code") == "404"


# POST and GET requests ---------------------------------------------------------------------


def test_post_then_get_in_both_formats_without_personal_data(env: Env) -> None:
    created = new_request(env, **{"lang": "ar"})
    rid = created["service_request_id"]
    assert created["service_notice"].startswith("expected by ")
    for fmt in ("json", "xml"):
        one = env.client.get(f"/open311/v2/requests/{rid}.{fmt}")
        listed = env.client.get(f"/open311/v2/requests.{fmt}?service_code=public_lighting")
        for response in (one, listed):
            assert response.status_code == 200
            assert SECRET_NAME not in response.text and SECRET_PHONE not in response.text
            assert "zineb@" not in response.text
    (item,) = env.client.get(f"/open311/v2/requests/{rid}.json?lang=ar").json()
    assert item["service_request_id"] == rid and item["status"] == "open"
    assert item["description"] == ""  # free text may hold personal data: public view
    assert item["service_name"] == "الإنارة العمومية"
    assert set(item) == {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
    root = xml(env.client.get(f"/open311/v2/requests/{rid}.xml", headers={"Accept-Language": "en"}))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == rid
    assert root.findtext("request/service_name") == "Street lighting"
    # The commune's own agent (API key) sees the description, never the contact details.
    staff = env.client.get(f"/open311/v2/requests/{rid}.json?api_key={env.agent_key_a}").json()[0]
    assert staff["description"].startswith("Lampadaire éteint")
    other = env.client.get(
        f"/open311/v2/requests/{rid}.json", headers={"X-API-Key": env.agent_key_b}
    ).json()[0]
    assert other["description"] == ""
    token = env.client.get(f"/open311/v2/tokens/{created['token']}.json").json()
    assert token == [{"service_request_id": rid, "token": created["token"]}]
    root = xml(env.client.get(f"/open311/v2/tokens/{created['token']}.xml"))
    assert root.findtext("request/service_request_id") == rid


def test_post_in_xml(env: Env) -> None:
    lon, lat = env.lonlat_a
    response = post(
        env,
        {
            "api_key": PUBLIC_APP_KEY,
            "service_code": "waste",
            "lat": str(lat),
            "long": str(lon),
            "attribute[problem]": "overflowing_bin",
        },
        fmt="xml",
    )
    root = xml(response)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id")


def test_multivaluelist_answers(env: Env) -> None:
    lon, lat = env.lonlat_a
    fields = [
        ("api_key", PUBLIC_APP_KEY),
        ("service_code", "illegal_dumping"),
        ("lat", str(lat)),
        ("long", str(lon)),
        ("attribute[kind][]", "rubble"),
        ("attribute[kind][]", "bulky"),
    ]
    response = post(env, fields)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    bad = post(env, [*fields[:4], ("attribute[kind][]", "plutonium")])
    assert bad.status_code == 400 and "plutonium" in bad.json()[0]["description"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"api_key": ""}, 403, "api_key is required"),
        ({"api_key": "hk_000000000000_nope-nope-nope-nope-nope"}, 403, "invalid api_key"),
        ({"lat": "48.85", "long": "2.35"}, 400, "outside the territory"),
        ({"service_code": "snow_removal"}, 400, "not offered"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"attribute[problem]": ""}, 400, "'problem' is required"),
        ({"description": "x" * 4001}, 400, "at most 4000"),
        ({"lat": "north"}, 400, "lat must be a decimal number"),
        ({"lat": "", "long": ""}, 400, "a location is required"),
        ({"jurisdiction_id": "99.999"}, 400, "not a known area"),
        ({"email": "nope"}, 400, "email"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_get_the_spec_errors(
    env: Env, change: dict[str, str], status: int, message: str, fmt: str
) -> None:
    lon, lat = env.lonlat_a
    fields = {
        "api_key": PUBLIC_APP_KEY,
        "service_code": "public_lighting",
        "lat": str(lat),
        "long": str(lon),
        "attribute[problem]": "off",
        **change,
    }
    response = post(env, fields, fmt=fmt)
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    if fmt == "json":
        assert response.headers["content-type"].startswith("application/json")  # type: ignore[attr-defined]
        (error,) = response.json()  # type: ignore[attr-defined]
        assert error["code"] == status and message in error["description"]
    else:
        root = xml(response)
        assert root.findtext("error/code") == str(status)
        assert message in (root.findtext("error/description") or "")


def test_post_must_be_form_encoded(env: Env) -> None:
    response = env.client.post("/open311/v2/requests.json", json={"service_code": "waste"})
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()[0]["description"]
    bad_utf8 = env.client.post(
        "/open311/v2/requests.json", content=b"service_code=\xff", headers=FORM
    )
    assert bad_utf8.status_code == 400 and "UTF-8" in bad_utf8.json()[0]["description"]


def test_get_requests_filters_and_window(env: Env) -> None:
    a = new_request(env)["service_request_id"]
    b = new_request(env)["service_request_id"]
    both = env.client.get(f"/open311/v2/requests.json?service_request_id={a},{b}").json()
    assert {r["service_request_id"] for r in both} == {a, b}
    env.client.post(
        f"/open311/v2/requests/{b}/updates.json",
        content=urlencode(
            {"api_key": env.agent_key_a, "status": "resolved", "description": "Lampe changée"}
        ),
        headers=FORM,
    )
    closed = env.client.get("/open311/v2/requests.json?status=closed").json()
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in closed] == [
        (b, "closed", "Lampe changée")
    ]
    opened = env.client.get("/open311/v2/requests.xml?status=open")
    assert [e.text for e in xml(opened).iter("service_request_id")] == [a]
    assert (
        env.client.get(
            "/open311/v2/requests.json?start_date=2001-01-01T00:00:00Z&end_date=2001-02-01T00:00:00Z"
        ).json()
        == []
    )
    wide = env.client.get(
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-12-31T00:00:00Z"
    )
    assert wide.status_code == 400 and "90 days" in wide.json()[0]["description"]
    for query, message in (
        ("start_date=yesterday", "ISO 8601"),
        ("status=pending", "open or closed"),
        ("page_size=5000", "page_size"),
    ):
        response = env.client.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 400 and message in response.json()[0]["description"]
    in_b = env.client.get(f"/open311/v2/requests.json?jurisdiction_id={env.commune_b}").json()
    assert in_b == []
    ext = env.client.get(f"/open311/v2/requests/{a}.json?extensions=true").json()[0]
    assert ext["extended_attributes"]["jurisdiction_id"] == env.commune_a
    assert ext["extended_attributes"]["status_detail"] == "open"
    missing = env.client.get("/open311/v2/requests/NOPE-NOPE.xml")
    assert missing.status_code == 404 and xml(missing).findtext("error/code") == "404"
    assert env.client.get("/open311/v2/tokens/nope.json").status_code == 404
    assert env.client.get("/open311/v2/requests.csv").status_code == 404


# The extension -------------------------------------------------------------------------------


def test_updates_reopen_confirm_and_media(env: Env) -> None:
    created = new_request(env)
    rid, token = created["service_request_id"], created["token"]
    upd = f"/open311/v2/requests/{rid}/updates"
    denied = env.client.post(
        f"{upd}.json",
        content=urlencode({"api_key": env.agent_key_b, "status": "resolved"}),
        headers=FORM,
    )
    assert denied.status_code == 403 and denied.json()[0]["code"] == 403
    ok = env.client.post(
        f"{upd}.json",
        content=urlencode(
            {"api_key": env.agent_key_a, "status": "acknowledged", "description": "Vu"}
        ),
        headers=FORM,
    )
    assert ok.json()[0]["extended_attributes"]["status_detail"] == "acknowledged"
    internal = env.client.post(
        f"{upd}.json",
        content=urlencode(
            {"api_key": env.agent_key_a, "description": "note interne", "public": "false"}
        ),
        headers=FORM,
    )
    assert internal.status_code == 200
    mine = env.client.post(
        f"{upd}.json", content=urlencode({"token": token, "description": "Merci !"}), headers=FORM
    )
    assert mine.status_code == 200
    public = env.client.get(f"{upd}.json").json()
    assert [u["event"] for u in public] == ["created", "acknowledged"]
    assert "note interne" not in json.dumps(public) and "Merci" not in json.dumps(public)
    with_token = env.client.get(f"{upd}.json?token={token}").json()
    assert "Merci !" in [u["description"] for u in with_token]
    staff = env.client.get(f"{upd}.xml", headers={"X-API-Key": env.agent_key_a})
    assert [e.text for e in xml(staff).iter("event")] == [
        "created",
        "acknowledged",
        "commented",
        "commented",
    ]
    bad_status = env.client.post(
        f"{upd}.json",
        content=urlencode({"api_key": env.agent_key_a, "status": "done"}),
        headers=FORM,
    )
    assert bad_status.status_code == 400
    illegal = env.client.post(
        f"{upd}.json",
        content=urlencode({"api_key": env.agent_key_a, "status": "open"}),
        headers=FORM,
    )
    assert illegal.status_code == 400 and "cannot become open" in illegal.json()[0]["description"]

    env.client.post(
        f"{upd}.json",
        content=urlencode({"api_key": env.agent_key_a, "status": "resolved"}),
        headers=FORM,
    )
    contested = env.client.post(
        f"/open311/v2/requests/{rid}/contest.json",
        content=urlencode({"token": token, "description": "Toujours éteint"}),
        headers=FORM,
    )
    assert contested.json()[0]["extended_attributes"]["reopened"] == 1
    env.client.post(
        f"{upd}.json",
        content=urlencode({"api_key": env.agent_key_a, "status": "resolved"}),
        headers=FORM,
    )
    confirmed = env.client.post(
        f"/open311/v2/requests/{rid}/confirm.xml", content=urlencode({"token": token}), headers=FORM
    )
    assert xml(confirmed).findtext("request/status") == "closed"
    reopened = env.client.post(
        f"/open311/v2/requests/{rid}/reopen.json",
        content=urlencode({"api_key": env.agent_key_a}),
        headers=FORM,
    )
    assert reopened.json()[0]["status"] == "open"
    stranger = env.client.post(
        f"/open311/v2/requests/{rid}/confirm.json",
        content=urlencode({"token": "guess"}),
        headers=FORM,
    )
    assert stranger.status_code == 403

    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    Image.new("RGB", (32, 32), (0, 90, 0)).save(photo, "JPEG", exif=exif)
    uploaded = env.client.post(
        f"/open311/v2/requests/{rid}/media.json",
        data={"token": token},
        files={"media": ("p.jpg", photo.getvalue(), "image/jpeg")},
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()[0]["media_url"]
    assert "/open311/v2/media/" in url
    got = env.client.get(url.split("testserver", 1)[1])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert b"SpyCam" not in got.content and got.headers["x-content-type-options"] == "nosniff"
    not_image = env.client.post(
        f"/open311/v2/requests/{rid}/media.json",
        data={"token": token},
        files={"media": ("x.jpg", b"<svg onload=alert(1)>", "image/jpeg")},
    )
    assert (
        not_image.status_code == 400 and "JPEG, PNG or WebP" in not_image.json()[0]["description"]
    )
    assert env.client.get("/open311/v2/media/..%2Fhakama.db").status_code == 404


# The form parser, on arbitrary input ---------------------------------------------------------

FIELD_NAMES = st.sampled_from(
    [
        "service_code",
        "lat",
        "long",
        "description",
        "api_key",
        "jurisdiction_id",
        "email",
        "attribute[problem]",
        "attribute[kind][]",
        "media_url",
        "lang",
        "channel",
        "x",
    ]
) | st.text(max_size=30)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(FIELD_NAMES, st.text(max_size=60)), max_size=25))
def test_form_parser_only_ever_raises_form_errors(pairs: list[tuple[str, str]]) -> None:
    try:
        parsed = parse_post(pairs)
    except FormError as exc:
        assert str(exc)
        return
    assert parsed.draft.service_code.strip()
    for name, values in parsed.draft.attributes.items():
        assert isinstance(values, str | tuple) and name


@given(
    lat=st.floats(allow_nan=True, allow_infinity=True),
    lon=st.floats(allow_nan=True, allow_infinity=True),
)
def test_form_parser_coordinates(lat: float, lon: float) -> None:
    try:
        parsed = parse_post([("service_code", "x"), ("lat", repr(lat)), ("long", repr(lon))])
    except FormError as exc:
        assert "finite" in str(exc)
        return
    assert parsed.draft.lat == lat and parsed.draft.lon == lon


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(FIELD_NAMES, st.text(max_size=40)), max_size=12),
    st.sampled_from(["json", "xml"]),
)
def test_any_post_body_gets_a_spec_answer_never_a_500(
    env: Env, pairs: list[tuple[str, str]], fmt: str
) -> None:
    fields = [("api_key", PUBLIC_APP_KEY), *pairs]
    response = env.client.post(
        f"/open311/v2/requests.{fmt}", content=urlencode(fields), headers=FORM
    )
    assert response.status_code in (200, 400, 403), response.text
    if response.status_code != 200:
        if fmt == "json":
            (error,) = response.json()
            assert error["code"] == response.status_code and error["description"]
        else:
            assert xml(response).findtext("error/code") == str(response.status_code)


def test_a_retried_post_returns_the_same_request(env: Env) -> None:
    lon, lat = env.lonlat_a
    fields = {
        "api_key": PUBLIC_APP_KEY,
        "service_code": "waste",
        "lat": str(lat),
        "long": str(lon),
        "attribute[problem]": "missing_bin",
    }
    headers = {**FORM, "Idempotency-Key": "3f1c9e7a-retry"}
    first = env.client.post("/open311/v2/requests.json", content=urlencode(fields), headers=headers)
    again = env.client.post("/open311/v2/requests.json", content=urlencode(fields), headers=headers)
    assert first.status_code == again.status_code == 200
    (a,), (b,) = first.json(), again.json()
    assert a["service_request_id"] == b["service_request_id"] and a["token"] and b["token"] == ""
    assert b["service_notice"].startswith("already filed")
    by_field = post(env, {**fields, "idempotency_key": "form-key-1"})
    by_field_again = post(env, {**fields, "idempotency_key": "form-key-1"})
    assert (
        by_field.json()[0]["service_request_id"] == by_field_again.json()[0]["service_request_id"]
    )  # type: ignore[attr-defined]


@given(st.text(max_size=80), st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=20)))
def test_any_text_makes_well_formed_xml(text: str, extra: dict[str, str]) -> None:
    from hakama.http.api.open311_codec import to_xml

    body = to_xml("service_requests", [{"description": text, "values": [extra]}], "request")
    root = ET.fromstring(body)
    got = root.findtext("request/description") or ""
    assert set(got) <= set(text.replace("\r", "\n")) | {"\n"}


def test_address_string_is_free_text_withheld_from_the_public(env: Env) -> None:
    """Like the description: the public (Open311 JSON/XML, /track) and analysts never read it;
    the commune's agents do."""
    address = f"chez {SECRET_NAME}, 12 rue des Orangers"
    created = new_request(env, address_string=address)
    rid = created["service_request_id"]
    analyst = keys.create_key(
        env.client.app.state.platform,  # type: ignore[attr-defined]
        name="analyst", role="analyst", area_code=env.commune_a, scopes=None,
        actor=system_actor("test"),
    ).token
    for headers in ({}, {"X-API-Key": analyst}, {"X-API-Key": env.agent_key_b}):
        for path in (f"/open311/v2/requests/{rid}.json", f"/open311/v2/requests/{rid}.xml",
                     "/open311/v2/requests.json?service_code=public_lighting",
                     f"/track/{rid}"):
            response = env.client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text[:200])
            assert "Orangers" not in response.text and SECRET_NAME not in response.text, path
    (item,) = env.client.get(f"/open311/v2/requests/{rid}.json").json()
    assert item["address"] == "" and item["description"] == ""
    staff = env.client.get(f"/open311/v2/requests/{rid}.json",
                           headers={"X-API-Key": env.agent_key_a}).json()[0]
    assert staff["address"] == address


def test_the_department_is_named_in_the_callers_language_and_kept_as_stored(
    env: Env, sqlite_platform: Platform
) -> None:
    rid = new_request(env)["service_request_id"]
    stored = request_types.get_service(
        sqlite_platform, "public_lighting", area_code=env.commune_a
    ).department
    for ask, expected in (
        ("?lang=ar", DEPARTMENTS[stored]["ar"]),
        ("?locale=en_US", DEPARTMENTS[stored]["en"]),
        ("?lang=fr", stored),
    ):
        (item,) = env.client.get(f"/open311/v2/requests/{rid}.json{ask}&extensions=true").json()
        assert item["agency_responsible"] == expected, ask
        assert item["extended_attributes"]["department"] == stored, ask
    listed = env.client.get(
        "/open311/v2/requests.xml?service_code=public_lighting", headers={"Accept-Language": "ar"}
    )
    assert xml(listed).findtext("request/agency_responsible") == DEPARTMENTS[stored]["ar"]
    # A department the catalogue never named is given as the agent typed it, in any language.
    request_work.assign(sqlite_platform, rid, department="Brigade de nuit",
                        actor=system_actor("test"))
    (item,) = env.client.get(f"/open311/v2/requests/{rid}.json?lang=ar").json()
    assert item["agency_responsible"] == "Brigade de nuit"
