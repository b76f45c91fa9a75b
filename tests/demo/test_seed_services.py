"""The demo's catalogue and requests in the operational database, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.core.access import ANONYMOUS, system_actor
from hakama.core.request_types import ICONS, LANGUAGES, Datatype
from hakama.core.requests import Status
from hakama.demo import requests as demo_requests
from hakama.demo import seed_services
from hakama.demo.territory import demo_areas
from hakama.services import request_types, service_requests, territory
from hakama.services.platform import Platform


def test_catalogue_is_trilingual_and_covers_the_demo_categories() -> None:
    areas = demo_areas()
    services = seed_services.catalogue_for(areas)
    province = [s for s in services if s.area_code == "02.113"]
    assert {c.code for c in demo_requests.CATEGORIES} <= {s.code for s in province}
    assert "civil_status_appointment" in {s.code for s in province}
    trilingual = LANGUAGES[:3]  # ar, fr, en; Tamazight (zgh) names where the demo has them
    for service in province:
        assert all(service.names.get(lang) for lang in trilingual), service.code
        assert service.names.get("zgh") == seed_services.ZGH_NAMES.get(service.code), service.code
        assert service.icon in ICONS and service.department and service.target_hours > 0
        for attr in service.attributes:
            assert all(attr.descriptions.get(lang) for lang in trilingual), (service.code, attr.code)
            for value in attr.values:
                assert all(value.names.get(lang) for lang in trilingual), (service.code, value.key)
    datatypes = {a.datatype for s in province for a in s.attributes}
    assert datatypes == set(Datatype)
    overrides = [s for s in services if s.area_code != "02.113"]
    assert overrides and {s.code for s in overrides} == set(seed_services.URBAN_DEPARTMENTS)


def test_seed_loads_the_same_requests_as_the_lake(platform: Platform) -> None:
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("demo"))
    summary = seed_services.seed(platform, seed=7, scale=0.02)
    start, end = seed_services._period(platform)
    expected = demo_requests.generate_requests(areas, seed=7, scale=0.02, start=start, end=end)
    assert summary.endswith(f"{expected.num_rows} requests")
    assert (
        seed_services.seed(platform, seed=7, scale=0.02) == summary
    )  # again: replaced, not doubled
    with platform.db.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM service_requests")).scalar_one()
        statuses = dict(
            conn.execute(
                sa.text("SELECT status, count(*) FROM service_requests GROUP BY status")
            ).all()
        )
    assert stored == expected.num_rows
    lake_statuses: dict[str, int] = {}
    for status in expected["status"].to_pylist():
        lake_statuses[status] = lake_statuses.get(status, 0) + 1
    assert statuses == lake_statuses
    page = service_requests.list_requests(
        platform,
        filters=service_requests.RequestFilter(statuses=(Status.CLOSED,)),
        actor=ANONYMOUS,
        limit=5,
    )
    assert page.total == lake_statuses.get("closed", 0)
    one = page.items[0]
    history = service_requests.history(platform, one.id, actor=ANONYMOUS)
    assert history[0].kind.value == "created" and history[-1].status is Status.CLOSED
    offered = request_types.list_services(platform, area_code=one.area_code)
    assert one.service_code in {s.code for s in offered}
    assert service_requests.staged_count(platform) == 0  # the demo wrote its events to the lake
