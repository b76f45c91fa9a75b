"""`/ngsi-ld/v1/subscriptions` over HTTP, and a change made through the NGSI-LD API reaching a
real webhook through the outbox and the notifier."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hakama.core.access import ANONYMOUS, Actor, system_actor
from hakama.http.app import create_app
from hakama.http.deps import get_actor
from hakama.jobs import notifier
from hakama.services.platform import Platform

BASE = "/ngsi-ld/v1/subscriptions"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def client_for(platform: Platform, actor: Actor) -> TestClient:
    app = create_app(platform.settings, platform=platform, background=False)
    app.dependency_overrides[get_actor] = lambda: actor
    return TestClient(app)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with client_for(platform, system_actor("test")) as c:
        yield c


def subscription(uri: str = "http://127.0.0.1:9/n", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "AirQualityObserved"}],
        "watchedAttributes": ["pm25"],
        "q": "pm25>25",
        "notification": {"attributes": ["pm25"], "format": "keyValues", "endpoint": {"uri": uri}},
    }
    body.update(extra)
    return body


def test_create_read_list_update_delete(client: TestClient) -> None:
    created = client.post(BASE, json=subscription(id="urn:ngsi-ld:Subscription:api"))
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"{BASE}/urn:ngsi-ld:Subscription:api"
    got = client.get(location)
    assert got.status_code == 200 and "ngsi-ld-core-context" in got.headers["link"]
    body = got.json()
    assert body["id"] == "urn:ngsi-ld:Subscription:api" and body["status"] == "active"
    assert body["q"] == "pm25>25" and body["notification"]["format"] == "keyValues"
    assert body["notification"]["timesSent"] == 0

    assert client.post(f"{BASE}/", json=subscription()).status_code == 201
    listed = client.get(BASE, params={"count": "true", "limit": 1})
    assert listed.headers["ngsild-results-count"] == "2"
    assert [s["id"] for s in listed.json()] == ["urn:ngsi-ld:Subscription:api"]

    patched = client.patch(location, json={"isActive": False, "throttling": 10})
    assert patched.status_code == 204, patched.text
    body = client.get(location).json()
    assert body["status"] == "paused" and body["throttling"] == 10

    ld = client.get(location, headers={"Accept": "application/ld+json"}).json()
    assert "ngsi-ld-core-context" in str(ld["@context"])

    assert client.delete(location).status_code == 204
    gone = client.get(location)
    assert gone.status_code == 404 and gone.json()["type"] == ERRORS + "ResourceNotFound"


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"notification": {"endpoint": {"uri": "http://h/n"}}}, 400, "BadRequestData"),
        (subscription(temporalQ={"timerel": "after"}), 422, "OperationNotSupported"),
        (subscription(q="pm25>>"), 400, "BadRequestData"),
        (
            subscription(
                geoQ={"georel": "near;maxDistance==100", "geometry": "Point", "coordinates": "nope"}
            ),
            400,
            "BadRequestData",
        ),
        ([subscription()], 400, "BadRequestData"),
    ],
)
def test_bad_subscriptions_get_problem_details(
    client: TestClient, body: Any, status: int, kind: str
) -> None:
    got = client.post(BASE, json=body)
    assert got.status_code == status, got.text
    assert got.json()["type"] == ERRORS + kind


def test_duplicates_and_strangers(platform: Platform) -> None:
    with client_for(platform, system_actor("test")) as admin:
        assert (
            admin.post(BASE, json=subscription(id="urn:ngsi-ld:Subscription:d")).status_code == 201
        )
        again = admin.post(BASE, json=subscription(id="urn:ngsi-ld:Subscription:d"))
        assert again.status_code == 409 and again.json()["type"] == ERRORS + "AlreadyExists"
    with client_for(platform, ANONYMOUS) as public:
        refused = public.post(BASE, json=subscription())
        assert refused.status_code == 403 and refused.json()["type"] == ERRORS + "Forbidden"
        assert public.get(BASE).status_code == 403


def test_an_entity_change_reaches_the_webhook(platform: Platform, receiver: Any) -> None:
    with client_for(platform, system_actor("test")) as client:
        assert client.post(BASE, json=subscription(receiver.url())).status_code == 201
        low = {"id": "urn:ngsi-ld:AirQualityObserved:w1", "type": "AirQualityObserved",
               "pm25": {"type": "Property", "value": 10}, "no2": {"type": "Property", "value": 3}}  # fmt: skip
        high = low | {
            "id": "urn:ngsi-ld:AirQualityObserved:w2",
            "pm25": {"type": "Property", "value": 40},
        }
        for entity in (low, high):
            made = client.post("/ngsi-ld/v1/entities", json=entity)
            assert made.status_code == 201, made.text

        async def send() -> list[notifier.Delivery]:
            async with httpx.AsyncClient(timeout=5) as http:
                return await notifier.deliver_once(platform, http)

        assert [d.ok for d in asyncio.run(send())] == [True]
        got = receiver.wait_for(1)
        assert len(got) == 1
        data = got[0]["body"]["data"]
        assert data == [
            {"id": "urn:ngsi-ld:AirQualityObserved:w2", "type": "AirQualityObserved", "pm25": 40}
        ]
        status = client.get(BASE).json()[0]["notification"]
        assert status["timesSent"] == 1 and status["status"] == "ok" and "lastSuccess" in status


def test_user_context_names_are_kept_for_the_subscriber(platform: Platform, receiver: Any) -> None:
    context = [
        {"dust": "https://example.org/air#pm25"},
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    ]
    ld = {"Content-Type": "application/ld+json"}
    with client_for(platform, system_actor("test")) as client:
        sub = {
            "type": "Subscription",
            "entities": [{"type": "AirQualityObserved"}],
            "watchedAttributes": ["dust"],
            "q": "dust>5",
            "notification": {"endpoint": {"uri": receiver.url(), "accept": "application/ld+json"}},
            "@context": context,
        }
        made = client.post(BASE, content=json.dumps(sub), headers=ld)
        assert made.status_code == 201, made.text
        entity = {"id": "urn:ngsi-ld:AirQualityObserved:ctx", "type": "AirQualityObserved",
                  "dust": {"type": "Property", "value": 9}, "@context": context}  # fmt: skip
        assert (
            client.post("/ngsi-ld/v1/entities", content=json.dumps(entity), headers=ld).status_code
            == 201
        )
        # Under the core context alone the attribute has its full IRI: the names really differ.
        plain = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:ctx").json()
        assert "https://example.org/air#pm25" in plain

        async def send() -> list[notifier.Delivery]:
            async with httpx.AsyncClient(timeout=5) as http:
                return await notifier.deliver_once(platform, http)

        assert [d.ok for d in asyncio.run(send())] == [True]
        note = receiver.wait_for(1)[0]
        assert note["headers"]["content-type"] == "application/ld+json"
        assert note["body"]["data"][0]["dust"]["value"] == 9
        assert {"dust": "https://example.org/air#pm25"} in note["body"]["@context"]
        shown = client.get(
            made.headers["location"], headers={"Accept": "application/ld+json"}
        ).json()
        assert shown["watchedAttributes"] == ["dust"]
        assert {"dust": "https://example.org/air#pm25"} in shown["@context"]
