"""`/api/devices` through the real app: provisioning with API keys, scoping, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import entities, keys, territory
from hakama.services.platform import Platform

ADMIN = system_actor("test")
SIDI_BOUHRIA = "02.113.05.15"
BERKANE_CITY = "02.113.01.09"
POINT = {"type": "Point", "coordinates": [-2.3151, 34.7015]}  # in Sidi Bouhria


@pytest.fixture
def api(sqlite_platform: Platform) -> Iterator[tuple[TestClient, dict[str, str]]]:
    territory.save_areas(sqlite_platform, demo_areas(), actor=ADMIN)
    made = {
        area: keys.create_key(
            sqlite_platform, name=f"k {area}", role="agent", area_code=area, scopes=None, actor=ADMIN
        )
        for area in (SIDI_BOUHRIA, BERKANE_CITY)
    }
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app) as client:
        yield client, {area: c.token for area, c in made.items()} | {
            f"id:{area}": c.key.id for area, c in made.items()
        }


def test_provision_read_update_delete(api: tuple[TestClient, dict[str, str]], sqlite_platform: Platform) -> None:
    client, tokens = api
    headers = {"X-API-Key": tokens[SIDI_BOUHRIA]}
    body = {
        "device_id": "aq-7",
        "entity_type": "AirQualityObserved",
        "api_key_id": tokens[f"id:{SIDI_BOUHRIA}"],
        "attributes": {"p": {"name": "pm25", "unit": "GQ"}},
        "location": POINT,
    }
    created = client.post("/api/devices", json=body, headers=headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["area_code"] == SIDI_BOUHRIA
    assert out["topic"] == f"hakama/{tokens[f'id:{SIDI_BOUHRIA}']}/aq-7/attrs"
    assert out["attributes"] == {"p": {"name": "pm25", "unit": "GQ"}}
    entity = entities.get(sqlite_platform, "urn:ngsi-ld:AirQualityObserved:aq-7")
    assert entity["type"] == "AirQualityObserved"
    again = client.post("/api/devices", json=body, headers=headers)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/devices/aq-7", headers=headers).json()["device_id"] == "aq-7"
    listed = client.get("/api/devices", headers=headers).json()
    assert [d["device_id"] for d in listed] == ["aq-7"]
    patched = client.patch("/api/devices/aq-7", json={"disabled": True}, headers=headers)
    assert patched.status_code == 200 and patched.json()["disabled"] is True
    stats = client.get("/api/devices/_ingest", headers={"X-API-Key": tokens[SIDI_BOUHRIA]})
    assert stats.status_code == 403  # the ingestion counters are the platform's, not a commune's
    assert client.delete("/api/devices/aq-7", headers=headers).status_code == 204
    missing = client.get("/api/devices/aq-7", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "no device 'aq-7'"


def test_a_commune_key_cannot_provision_in_another_commune(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    response = client.post(
        "/api/devices",
        json={"device_id": "x-1", "entity_type": "Streetlight", "location": POINT,
              "api_key_id": tokens[f"id:{SIDI_BOUHRIA}"]},
        headers={"X-API-Key": tokens[BERKANE_CITY]},
    )
    assert response.status_code == 403, response.text
    assert "may not" in response.json()["detail"]
    anonymous = client.get("/api/devices")
    assert anonymous.status_code == 401


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    device_id=st.text(max_size=40),
    entity_type=st.text(max_size=20),
    unit=st.none() | st.text(max_size=10),
)
def test_bad_input_is_a_4xx_problem_never_a_500(
    api: tuple[TestClient, dict[str, str]], device_id: str, entity_type: str, unit: str | None
) -> None:
    client, tokens = api
    response = client.post(
        "/api/devices",
        json={"device_id": device_id, "entity_type": entity_type, "area_code": SIDI_BOUHRIA,
              "attributes": {"m": {"unit": unit}}},
        headers={"X-API-Key": tokens[SIDI_BOUHRIA]},
    )
    assert response.status_code in (201, 400, 409, 422), response.text
    if response.status_code != 201:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]
    else:
        client.delete(f"/api/devices/{device_id}", headers={"X-API-Key": tokens[SIDI_BOUHRIA]})
