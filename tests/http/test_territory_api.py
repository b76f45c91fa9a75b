from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import territory
from hakama.services.platform import Platform


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[httpx.Client]:
    territory.save_areas(sqlite_platform, demo_areas(), actor=system_actor("test"))
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def test_areas_as_json(client: httpx.Client) -> None:
    body = client.get("/api/territory", params={"level": "commune"}).json()
    assert len(body["areas"]) == 16
    berkane = next(a for a in body["areas"] if a["code"] == "02.113.01.09")
    assert berkane["names"]["ar"] == "بركان"
    assert berkane["population_latest"] == {"year": 2024, "value": 99069}
    assert "geometry" not in berkane
    assert "Haut-Commissariat au Plan" in berkane["attribution"]


def test_areas_as_geojson(client: httpx.Client) -> None:
    response = client.get("/api/territory", params={"format": "geojson", "level": "commune"})
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 16
    assert {f["geometry"]["type"] for f in collection["features"]} <= {"Polygon", "MultiPolygon"}


def test_locate_and_one_area(client: httpx.Client) -> None:
    found = client.get("/api/territory/locate", params={"lon": -2.318, "lat": 34.917}).json()
    assert found["area"]["names"]["fr"] == "Berkane"  # the town centre
    assert client.get("/api/territory/locate", params={"lon": -7, "lat": 33}).json()["area"] is None
    one = client.get("/api/territory/02.113").json()
    assert one["population"] == {"2014": 289137, "2024": 284061} and one["geometry"]["type"]


def test_bad_input_is_problem_json(client: httpx.Client) -> None:
    missing = client.get("/api/territory/99.999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "99.999" in missing.json()["detail"]
    bad = client.get("/api/territory/locate", params={"lon": 500, "lat": "x"})
    assert bad.status_code == 422 and bad.json()["title"] == "Invalid request"
    assert client.get("/api/territory", params={"level": "galaxy"}).status_code == 422


def test_health_reports_database_and_lake(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == {"engine": "sqlite", "ok": True, "schema_current": True}
    assert body["lake"]["ok"] is True


@pytest.mark.parametrize(
    ("accept", "geojson"),
    [
        ("application/geo+json", True),
        ("application/geo+json, application/json;q=0.5", True),
        ("application/json, application/geo+json;q=0.5", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        ("application/geo+json;q=0", False),
        ("application/geo+json;q=abc", False),
    ],
)
def test_accept_header_chooses_geojson(client: httpx.Client, accept: str, geojson: bool) -> None:
    response = client.get("/api/territory", params={"level": "commune"}, headers={"Accept": accept})
    assert response.status_code == 200
    assert "Accept" in response.headers["vary"]
    body = response.json()
    if geojson:
        assert response.headers["content-type"].startswith("application/geo+json")
        assert body["type"] == "FeatureCollection" and len(body["features"]) == 16
        assert body["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert len(body["areas"]) == 16
    one = client.get("/api/territory/02.113.01.09", headers={"Accept": accept})
    assert ("type" in one.json()) is geojson
    if geojson:
        assert one.json()["type"] == "Feature" and one.json()["id"] == "02.113.01.09"


def test_format_parameter_wins_over_accept(client: httpx.Client) -> None:
    response = client.get(
        "/api/territory", params={"format": "json"}, headers={"Accept": "application/geo+json"}
    )
    assert "areas" in response.json()
