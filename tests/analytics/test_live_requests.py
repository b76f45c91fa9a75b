"""A request filed and resolved through the service reaches the indicators through the lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shapely.geometry import shape

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.requests import RequestDraft, Status
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import indicators, request_events, request_filing, request_types, territory
from hakama.services import service_requests as sr
from hakama.services.platform import Platform

BERKANE = "02.113.01.09"


def test_filed_and_resolved_requests_feed_the_indicators(platform: Platform) -> None:
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("test"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    berkane = next(a for a in areas if a.code == BERKANE)
    point = shape(berkane.geometry).representative_point()
    agent = Actor(kind="user", id="agent", role=Role.AGENT, area_code=BERKANE)
    filed_at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    hours = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26]  # median 15 h
    for i, h in enumerate(hours):
        at = filed_at + timedelta(hours=i)
        draft = RequestDraft(
            service_code="public_lighting",
            description="lampadaire éteint",
            lat=point.y,
            lon=point.x,
            attributes={"problem": "off"},
            language="ar",
        )
        filed = request_filing.file_request(platform, draft=draft, actor=ANONYMOUS, now=at)
        sr.transition(
            platform,
            filed.request.id,
            status=Status.ACKNOWLEDGED,
            actor=agent,
            now=at + timedelta(hours=1),
        )
        sr.transition(
            platform,
            filed.request.id,
            status=Status.RESOLVED,
            actor=agent,
            now=at + timedelta(hours=h),
        )
    request_events.flush_events(platform)  # what the flusher's timer does
    # Three events and three states per request are in the lake; indicators keep the latest state.
    assert platform.lake.row_count("request_events") == 36
    assert platform.lake.row_count("service_requests") == 36
    indicators.compute(
        platform, only=["resolution_time_median", "requests_per_10k", "resolved_within_target"]
    )
    [median] = indicators.series(platform, "resolution_time_median", actor=ANONYMOUS, area=BERKANE)
    assert str(median.period_start) == "2026-03-01"
    assert median.value == 15.0 and median.sample == 12
    [rate] = indicators.series(platform, "requests_per_10k", actor=ANONYMOUS, area=BERKANE)
    assert rate.sample == 12 and rate.value == 12 * 10_000 / 99_069
