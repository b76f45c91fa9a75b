"""A small territory with requests whose every personal detail is a unique marker, published: what the open-data tests read (served by `tests.browser.conftest.serve`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from shapely.geometry import Point, shape

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.clock import utcnow
from hakama.core.requests import Contact, RequestDraft, Status
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import (
    dataset_builds,
    indicators,
    request_events,
    request_filing,
    request_publication,
    request_types,
    request_work,
    territory,
)
from hakama.services.platform import Platform
from hakama.settings import Settings

#: Every one of these is personal or internal: none may appear in any published byte.
MARKERS = (
    "Zoubida7Q",  # first name
    "Marzouki9X",  # last name
    "+212 6 61 23 45 67",
    "+212661234567",
    "0661234567",
    "06 61 23 45 67",
    "0698765432",
    "zoubida.marzouki.7q@example.ma",
    "secret-mail-77@example.org",
    "AB123456",  # CIN
    "JK987654",
    "Derb Lhouma 13 bis",  # address typed by the requester
    "PRIVATEDESC-1",  # free-text description
    "INTERNALNOTE-2",  # an agent's internal comment
    "PUBLICNOTE-3",  # an agent's public status note (free text, not approved for open data)
    "agent-zz-9",  # an agent's identity
    "REQUESTERCOMMENT-4",
)
APPROVED_TEXT = "Lampadaire réparé par les services techniques de la commune."


@dataclass
class World:
    platform: Platform
    commune: str
    agent: Actor
    admin: Actor
    request_ids: list[str]
    exact: list[tuple[float, float]]  # (lat, lon) as filed


def build_world(folder: Path) -> World:
    platform = Platform.open(
        Settings(
            data_dir=folder,
            environment="test",
            open_data_interval_minutes=0,
            indicators_interval_minutes=0,
        )
    )
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("test"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    commune = next(a for a in areas if a.level.value == "commune")
    outline = shape(commune.geometry)
    point = outline.representative_point()
    agent = Actor(kind="user", id="agent-zz-9", role=Role.AGENT, area_code=commune.code)
    admin = Actor(kind="user", id="boss", role=Role.ADMIN, area_code=commune.parent_code)
    ids: list[str] = []
    exact: list[tuple[float, float]] = []
    start = utcnow() - timedelta(days=40)
    spots = [
        (point.y + dy * 0.0009, point.x + dx * 0.0011) for dy in range(-3, 4) for dx in range(-3, 4)
    ]
    spots = [(lat, lon) for lat, lon in spots if outline.contains(Point(lon, lat))][:12]
    for i, (lat, lon) in enumerate(spots):
        draft = RequestDraft(
            service_code="public_lighting",
            description=f"PRIVATEDESC-1 appelez {MARKERS[i % 7 + 2]} ou écrivez à {MARKERS[7]} CIN {MARKERS[9]}",
            lat=lat,
            lon=lon,
            address=MARKERS[11],
            attributes={"problem": "off"},
            language="fr",
        )
        contact = Contact(
            first_name=MARKERS[0], last_name=MARKERS[1], email=MARKERS[8], phone=MARKERS[3]
        )
        filed = request_filing.file_request(
            platform,
            draft=draft,
            actor=ANONYMOUS,
            contact=contact,
            now=start + timedelta(days=i * 3),
        )
        rid = filed.request.id
        ids.append(rid)
        exact.append((lat, lon))
        request_work.comment(
            platform, rid, text=f"INTERNALNOTE-2 {MARKERS[10]}", actor=agent, public=False
        )
        request_work.comment(
            platform, rid, text="REQUESTERCOMMENT-4", actor=ANONYMOUS, token=filed.token
        )
        if i % 2 == 0:
            request_work.transition(
                platform,
                rid,
                status=Status.RESOLVED,
                actor=agent,
                note=f"PUBLICNOTE-3 {MARKERS[6]}",
            )
    request_publication.approve(platform, ids[0], text=APPROVED_TEXT, actor=agent)
    request_events.flush_events(platform)
    indicators.compute(platform, only=["requests_per_10k", "open_backlog"])
    dataset_builds.build(platform, actor=system_actor("test"))
    return World(platform, commune.code, agent, admin, ids, exact)
