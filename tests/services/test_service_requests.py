"""Service requests on SQLite and PostgreSQL: filing, the queue, the status machine, personal
data kept apart, photos without EXIF, the lake."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from PIL import Image
from shapely.geometry import shape

from hakama.core.access import ANONYMOUS, Action, Actor, Role, system_actor
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.core.requests import Contact, RequestDraft, Status
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import audit, events, request_filing, request_media, request_types, territory
from hakama.services import service_requests as sr
from hakama.services.platform import Platform
from hakama.storage.schema_requests import request_contacts, request_events_staging

CONTACT = Contact(
    first_name="Amina", last_name="Berrada", email="amina@example.ma", phone="+212600112233"
)


@dataclass(frozen=True)
class World:
    platform: Platform
    commune_a: str
    commune_b: str
    point_a: tuple[float, float]  # (lon, lat)
    point_b: tuple[float, float]
    agent_a: Actor
    agent_b: Actor
    province_admin: Actor


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("test"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    communes = [a for a in areas if a.level.value == "commune"]
    a, b = communes[0], communes[1]

    def inside(area: object) -> tuple[float, float]:
        p = shape(area.geometry).representative_point()  # type: ignore[attr-defined]
        return (p.x, p.y)

    yield World(
        platform=platform,
        commune_a=a.code,
        commune_b=b.code,
        point_a=inside(a),
        point_b=inside(b),
        agent_a=Actor(kind="user", id="agent-a", role=Role.AGENT, area_code=a.code),
        agent_b=Actor(kind="user", id="agent-b", role=Role.AGENT, area_code=b.code),
        province_admin=Actor(kind="user", id="boss", role=Role.ADMIN, area_code=a.parent_code),
    )


def _file(
    w: World, *, point: tuple[float, float] | None = None, **extra: object
) -> request_filing.FiledRequest:
    lon, lat = point or w.point_a
    draft = RequestDraft(
        service_code="public_lighting",
        description="Le lampadaire devant le n° 12 est éteint — appelez Amina au 0600112233",
        lat=lat,
        lon=lon,
        attributes={"problem": "off"},
        language="ar",
    )
    return request_filing.file_request(w.platform, draft=draft, actor=ANONYMOUS, contact=CONTACT, **extra)  # type: ignore[arg-type]


def test_filing_places_the_request_and_starts_the_clock(world: World) -> None:
    seen: list[events.RequestChanged] = []
    events.listen(world.platform, events.RequestChanged, lambda _p, e: seen.append(e))
    filed = _file(world)
    req = filed.request
    assert req.area_code == world.commune_a
    assert req.status is Status.OPEN
    assert req.service_name == "الإنارة العمومية"
    assert req.expected_at is not None
    assert (req.expected_at - req.requested_at).total_seconds() == 72 * 3600
    assert req.department.startswith("Service technique") or req.department.startswith("Direction")
    assert [(e.request_id, e.event) for e in seen] == [(req.id, "created")]
    assert sr.request_id_for_token(world.platform, filed.token) == req.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lat": 48.85, "lon": 2.35}, "outside the territory"),
        ({"service_code": "snow_removal"}, "not offered"),
        ({"attributes": {}}, "'problem' is required"),
        ({"description": "x" * 4001}, "at most 4000"),
        ({"lat": None, "lon": None}, "jurisdiction_id"),
    ],
)
def test_bad_drafts_are_refused_clearly(
    world: World, change: dict[str, object], message: str
) -> None:
    lon, lat = world.point_a
    base: dict[str, object] = {
        "service_code": "public_lighting",
        "lat": lat,
        "lon": lon,
        "attributes": {"problem": "off"},
        "address": "",
    }
    if change.get("lat", 0) is None:
        base["address"] = "Place du marché"
    draft = RequestDraft(**{**base, **change})  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=message):
        request_filing.file_request(world.platform, draft=draft, actor=ANONYMOUS)
    with world.platform.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM service_requests")).scalar_one() == 0


def test_jurisdiction_must_hold_the_point(world: World) -> None:
    lon, lat = world.point_a
    draft = RequestDraft(
        service_code="waste",
        lat=lat,
        lon=lon,
        attributes={"problem": "not_collected"},
        jurisdiction_id=world.commune_b,
    )
    with pytest.raises(Invalid, match=f"not in {world.commune_b}"):
        request_filing.file_request(world.platform, draft=draft, actor=ANONYMOUS)
    by_address = RequestDraft(
        service_code="waste",
        address="Souk",
        attributes={"problem": "not_collected"},
        jurisdiction_id=world.commune_b,
    )
    assert (
        request_filing.file_request(world.platform, draft=by_address, actor=ANONYMOUS).request.area_code
        == world.commune_b
    )


def test_agent_of_another_commune_can_neither_see_nor_work(world: World) -> None:
    req = _file(world).request
    with pytest.raises(Forbidden):
        sr.transition(world.platform, req.id, status=Status.ACKNOWLEDGED, actor=world.agent_b)
    with pytest.raises(Forbidden):
        sr.assign(world.platform, req.id, assignee="x", actor=world.agent_b)
    with pytest.raises(Forbidden):
        sr.get_contact(world.platform, req.id, actor=world.agent_b)
    with pytest.raises(Forbidden):
        sr.list_requests(
            world.platform,
            filters=sr.RequestFilter(queue=True, area_codes=(world.commune_a,)),
            actor=world.agent_b,
        )
    queue_b = sr.list_requests(
        world.platform, filters=sr.RequestFilter(queue=True), actor=world.agent_b
    )
    assert queue_b.total == 0 and queue_b.items == []
    # What agent B may see of A's request is the public view: no description.
    seen = sr.get_request(world.platform, req.id, actor=world.agent_b)
    assert seen.description == "" and seen.attributes == {}
    queue_a = sr.list_requests(
        world.platform, filters=sr.RequestFilter(queue=True), actor=world.agent_a
    )
    assert [r.id for r in queue_a.items] == [req.id]
    assert queue_a.items[0].description.startswith("Le lampadaire")
    with pytest.raises(Forbidden):
        sr.list_requests(world.platform, filters=sr.RequestFilter(queue=True), actor=ANONYMOUS)


def test_the_whole_life_of_a_request(world: World) -> None:
    p = world.platform
    filed = _file(world)
    rid = filed.request.id
    sr.transition(p, rid, status=Status.ACKNOWLEDGED, actor=world.agent_a, note="Vu, merci")
    sr.assign(p, rid, assignee="karim", department="Éclairage", actor=world.agent_a, note="urgent")
    sr.comment(
        p, rid, text="internal: pole 12 is on the main road", actor=world.agent_a, public=False
    )
    sr.transition(p, rid, status=Status.IN_PROGRESS, actor=world.agent_a)
    with pytest.raises(Conflict, match="in_progress cannot become open"):
        sr.transition(p, rid, status=Status.OPEN, actor=world.agent_a)
    resolved = sr.transition(
        p, rid, status=Status.RESOLVED, actor=world.agent_a, note="Lampe changée"
    )
    assert resolved.status is Status.RESOLVED and resolved.resolved_at is not None
    assert resolved.status_notes == "Lampe changée"
    with pytest.raises(Forbidden):
        sr.contest(p, rid, actor=ANONYMOUS, token="wrong-token")
    contested = sr.contest(p, rid, actor=ANONYMOUS, token=filed.token, note="toujours éteint")
    assert (
        contested.status is Status.OPEN
        and contested.reopened == 1
        and contested.resolved_at is None
    )
    sr.transition(p, rid, status=Status.RESOLVED, actor=world.agent_a, note="Câble réparé")
    closed = sr.confirm(p, rid, actor=ANONYMOUS, token=filed.token)
    assert closed.status is Status.CLOSED and closed.closed_at is not None
    with pytest.raises(Conflict):
        sr.confirm(p, rid, actor=ANONYMOUS, token=filed.token)

    public = sr.history(p, rid, actor=ANONYMOUS)
    assert [e.kind.value for e in public] == [
        "created",
        "acknowledged",
        "in_progress",
        "resolved",
        "resolved",
    ]
    assert all(e.actor == "" for e in public)
    assert "internal" not in " ".join(e.note for e in public)
    mine = sr.history(p, rid, actor=ANONYMOUS, token=filed.token)
    assert "contested" in [e.kind.value for e in mine] and "confirmed" in [
        e.kind.value for e in mine
    ]
    staff = sr.history(p, rid, actor=world.agent_a)
    assert [e.kind.value for e in staff] == [
        "created",
        "acknowledged",
        "assigned",
        "commented",
        "in_progress",
        "resolved",
        "contested",
        "resolved",
        "confirmed",
    ]
    assert staff[1].actor == "user:agent-a"
    # Every change is in the audit log, in a chain that verifies.
    with p.db.connect() as conn:
        report = audit.verify(conn)
        actions = [e.action for e in audit.entries(conn) if e.resource == f"request:{rid}"]
    assert report.ok
    assert actions.count("request.resolved") == 2 and "request.contested" in actions


def test_reopen_merge_and_bulk(world: World) -> None:
    p = world.platform
    first = _file(world).request
    dupes = [_file(world).request for _ in range(2)]
    other = _file(world, point=world.point_b).request
    primary = sr.merge_duplicates(
        p, primary_id=first.id, duplicate_ids=[d.id for d in dupes], actor=world.agent_a
    )
    assert primary.id == first.id
    merged = sr.get_request(p, dupes[0].id, actor=ANONYMOUS)
    assert merged.status is Status.CLOSED and merged.merged_into == first.id
    assert merged.status_notes == f"Duplicate of {first.id}"
    with pytest.raises(Invalid, match="another commune"):
        sr.merge_duplicates(
            p, primary_id=first.id, duplicate_ids=[other.id], actor=world.province_admin
        )
    with pytest.raises(Conflict, match="merged"):
        sr.reopen(p, dupes[1].id, actor=world.agent_a)

    report = sr.bulk(
        p,
        request_ids=[first.id, other.id, "NOPE-NOPE"],
        action="transition",
        status=Status.ACKNOWLEDGED,
        actor=world.agent_a,
    )
    assert report.done == [first.id]
    assert set(report.failed) == {other.id, "NOPE-NOPE"}
    assert "may not work" in report.failed[other.id]
    sr.transition(p, first.id, status=Status.CLOSED, actor=world.agent_a, note="Fait")
    reopened = sr.reopen(p, first.id, actor=world.agent_a, note="Encore en panne")
    assert reopened.status is Status.OPEN and reopened.reopened == 1
    assert reopened.expected_at is not None and reopened.expected_at > first.expected_at  # type: ignore[operator]
    # The province's admin works every commune.
    assert sr.bulk(
        p, request_ids=[other.id], action="assign", department="Voirie", actor=world.province_admin
    ).done == [other.id]


def test_personal_data_is_kept_apart(world: World) -> None:
    p = world.platform
    req = _file(world).request
    assert sr.get_contact(p, req.id, actor=world.agent_a) == CONTACT
    with pytest.raises(Forbidden):
        sr.get_contact(p, req.id, actor=ANONYMOUS)
    analyst = Actor(kind="user", id="an", role=Role.ANALYST, area_code=world.commune_a)
    with pytest.raises(Forbidden):
        sr.get_contact(p, req.id, actor=analyst)
    everything = repr(sr.list_requests(p, filters=sr.RequestFilter(), actor=world.agent_a).items)
    everything += repr(sr.history(p, req.id, actor=world.agent_a))
    with p.db.connect() as conn:
        everything += repr([e for e in audit.entries(conn)])
        everything += repr(conn.execute(sa.select(request_events_staging)).all())
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(request_contacts)).scalar_one() == 1
        )
    for secret in ("Amina", "Berrada", "amina@example.ma", "600112233"[:6] + "2233"):
        assert secret not in everything.replace("appelez Amina au 0600112233", "")


def test_photos_lose_their_exif(world: World) -> None:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(0x8825).update({1: "N", 2: (35.0, 10.0, 0.0)})  # GPS position
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif)
    assert b"SpyCam" in raw.getvalue()
    filed = _file(world, photos=[raw.getvalue()])
    (name,) = filed.request.media
    path, content_type = request_media.media_path(world.platform, name)
    stored = path.read_bytes()
    assert content_type == "image/jpeg" and b"SpyCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as back:
        assert back.size == (64, 48) and not back.getexif()
    with pytest.raises(Invalid, match="JPEG, PNG or WebP"):
        sr.add_media(
            world.platform, filed.request.id, data=b"GIF89a" + b"\0" * 50, actor=world.agent_a
        )
    with pytest.raises(Invalid, match="at most 5 MB"):
        sr.add_media(
            world.platform,
            filed.request.id,
            data=b"\xff" * (5 * 1024 * 1024 + 1),
            actor=world.agent_a,
        )
    png = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(png, "PNG")
    added = sr.add_media(
        world.platform, filed.request.id, data=png.getvalue(), actor=ANONYMOUS, token=filed.token
    )
    assert added.endswith(".png")
    with pytest.raises(NotFound):
        request_media.media_path(world.platform, "../hakama.db")


def test_events_reach_the_lake(world: World) -> None:
    p = world.platform
    req = _file(world).request
    sr.transition(p, req.id, status=Status.ACKNOWLEDGED, actor=world.agent_a)
    assert sr.staged_count(p) == 2
    assert sr.flush_events(p) == 4  # two events and the two states they left the request in
    assert sr.staged_count(p) == 0 and sr.flush_events(p) == 0
    with p.lake.duckdb() as db:
        rows = db.execute(
            "SELECT request_id, event, status, actor_kind, area_code FROM request_events ORDER BY time"
        ).fetchall()
    assert rows == [
        (req.id, "created", "open", "citizen", world.commune_a),
        (req.id, "acknowledged", "acknowledged", "agent", world.commune_a),
    ]
    with p.lake.duckdb() as db:
        states = db.execute(
            "SELECT status, expected_at IS NOT NULL, time = ? FROM service_requests ORDER BY updated_at",
            [req.requested_at],
        ).fetchall()
    assert states == [("open", True, True), ("acknowledged", True, True)]


def test_filters_and_overdue(world: World) -> None:
    from datetime import timedelta

    p = world.platform
    a = _file(world).request
    b = _file(world).request
    sr.transition(p, b.id, status=Status.RESOLVED, actor=world.agent_a)
    later = a.requested_at + timedelta(hours=73)
    overdue = sr.list_requests(
        p, filters=sr.RequestFilter(overdue=True, queue=True), actor=world.agent_a, now=later
    )
    assert [r.id for r in overdue.items] == [a.id]
    assert overdue.items[0].overdue(later)
    closed = sr.list_requests(
        p, filters=sr.RequestFilter(statuses=(Status.RESOLVED,)), actor=ANONYMOUS
    )
    assert [r.id for r in closed.items] == [b.id]
    found = sr.list_requests(
        p, filters=sr.RequestFilter(search="lampadaire", queue=True), actor=world.agent_a
    )
    assert found.total == 2
    with pytest.raises(Forbidden):
        sr.list_requests(p, filters=sr.RequestFilter(search="Amina"), actor=ANONYMOUS)
    assert Action.READ_PERSONAL  # imported on purpose: the rule behind get_contact


def test_concurrent_changes_all_land_and_the_chain_holds(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    p = world.platform
    req = _file(world).request

    def work(i: int) -> str:
        if i % 3 == 0:
            return _file(world).request.id
        sr.comment(p, req.id, text=f"note {i}", actor=world.agent_a, public=i % 2 == 0)
        return req.id

    with ThreadPoolExecutor(max_workers=6) as pool:
        done = list(pool.map(work, range(18)))
    assert len(done) == 18
    staff = sr.history(p, req.id, actor=world.agent_a)
    assert sorted(e.note for e in staff if e.kind.value == "commented") == sorted(
        f"note {i}" for i in range(18) if i % 3
    )
    with p.db.connect() as conn:
        assert audit.verify(conn).ok


def test_uncontested_resolutions_close_after_the_grace_period(world: World) -> None:
    from datetime import timedelta

    p = world.platform
    req = _file(world).request
    resolved = sr.transition(p, req.id, status=Status.RESOLVED, actor=world.agent_a)
    assert resolved.resolved_at is not None
    soon = resolved.resolved_at + timedelta(days=13)
    assert sr.close_resolved(p, actor=system_actor("job"), now=soon) == []
    later = resolved.resolved_at + timedelta(days=15)
    assert sr.close_resolved(p, actor=system_actor("job"), now=later) == [req.id]
    after = sr.get_request(p, req.id, actor=world.agent_a)
    assert after.status is Status.CLOSED and after.closed_at == later
    assert sr.history(p, req.id, actor=world.agent_a)[-1].actor_kind == "system"


def test_a_retried_filing_does_not_count_twice(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    p = world.platform
    first = _file(world, idempotency_key="app-7f3a-0001")
    again = _file(world, idempotency_key="app-7f3a-0001")
    assert again.replayed and again.token == "" and again.request.id == first.request.id
    assert again.request.description == ""  # the public view: the key proves nothing
    other = _file(world, idempotency_key="app-7f3a-0002")
    assert not other.replayed and other.request.id != first.request.id
    with ThreadPoolExecutor(max_workers=4) as pool:
        racing = list(pool.map(lambda _i: _file(world, idempotency_key="race-1"), range(4)))
    assert len({f.request.id for f in racing}) == 1
    assert sum(not f.replayed for f in racing) == 1
    with p.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM service_requests")).scalar_one() == 3
    with pytest.raises(Invalid, match="idempotency key"):
        _file(world, idempotency_key="x" * 201)


def test_free_text_is_for_those_who_work_the_requests(world: World) -> None:
    """address_string is free text like the description: withheld from the public (Open311,
    /track); analysts read indicators, not requesters' words nor internal notes."""
    p = world.platform
    lon, lat = world.point_a
    draft = RequestDraft(service_code="public_lighting", description="appelez Amina au 0600112233",
                         lat=lat, lon=lon, address="chez Amina Berrada, 12 rue des Orangers",
                         attributes={"problem": "off"})
    req = request_filing.file_request(p, draft=draft, actor=ANONYMOUS, contact=CONTACT).request
    sr.comment(p, req.id, text="note interne: le voisin M. Alaoui se plaint", actor=world.agent_a,
               public=False)
    analyst = Actor(kind="user", id="an", role=Role.ANALYST, area_code=world.commune_a)
    analyst_key = Actor(kind="key", id="k", role=Role.ADMIN, area_code=world.commune_a,
                        scopes=frozenset({Action.READ_INTERNAL, Action.RUN_ANALYTICS}))
    for who in (ANONYMOUS, analyst, analyst_key, world.agent_b):
        seen = sr.get_request(p, req.id, actor=who)
        assert (seen.description, seen.address, seen.attributes) == ("", "", {}), who
        listed = sr.list_requests(p, filters=sr.RequestFilter(), actor=who).items
        assert [(i.description, i.address) for i in listed] == [("", "")], who
        notes = repr(sr.history(p, req.id, actor=who))
        assert "Alaoui" not in notes and "interne" not in notes, who
    whole = sr.get_request(p, req.id, actor=world.agent_a)
    assert whole.address == "chez Amina Berrada, 12 rue des Orangers"
    assert "Amina" in whole.description
    assert "Alaoui" in repr(sr.history(p, req.id, actor=world.agent_a))
    assert "Alaoui" in repr(sr.history(p, req.id, actor=world.province_admin))
