"""Service request use cases: file, follow, work (transition, assign, comment, merge, bulk),
reopen, confirm or contest — one implementation behind Open311, the portal, the back office and
the CLI.

Every change, in one transaction: the request row, one `request_events` row (its history), one
audit entry (never personal data), one row staged for the lake's `request_events`. After the
commit a `RequestChanged` event is published. Requesters' contact details are in their own
table and read only through `get_contact`, which needs READ_PERSONAL in the request's commune.

Who sees what: an actor who may WORK_REQUESTS in the request's commune sees the whole request;
everyone else, analysts included, sees `public_view` (no description, address_string,
attributes, internal notes or assignee, since free text may hold personal data). The requester proves who they are with the token returned at filing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.core.lake_datasets import REQUEST_EVENTS_SCHEMA
from hakama.core.phones import to_e164
from hakama.core.requests import (
    MAX_MEDIA,
    BusinessHours,
    Contact,
    EventKind,
    RequestDraft,
    RequestEvent,
    ServiceRequest,
    Status,
    expected_datetime,
    new_request_id,
    new_token,
    normalise_request_id,
    validate_contact,
    validate_draft,
)
from hakama.core.services_catalog import parse_answers
from hakama.services import (
    audit,
    citizen_notices,
    request_events,
    request_media,
    request_store,
    service_catalog,
    territory,
)
from hakama.services.platform import Platform
from hakama.services.request_events import (
    actor_kind,
    flush_events,
    staged_count,
)
from hakama.services.request_store import public_view
from hakama.services.request_work import (
    BulkAction,
    BulkReport,
    add_media,
    assign,
    bulk,
    close_resolved,
    comment,
    confirm,
    contest,
    merge_duplicates,
    reopen,
    transition,
)
from hakama.storage import db
from hakama.storage.schema_requests import (
    request_contacts,
    service_requests,
)
from hakama.storage.schema_requests import (
    request_events as events_table,
)
from hakama.storage.types import utcnow

__all__ = [
    "REQUEST_EVENTS_SCHEMA",
    "BulkAction",
    "BulkReport",
    "FiledRequest",
    "RequestFilter",
    "RequestPage",
    "actor_kind",
    "add_media",
    "assign",
    "bulk",
    "close_resolved",
    "comment",
    "confirm",
    "contest",
    "file_request",
    "flush_events",
    "get_contact",
    "get_request",
    "history",
    "list_requests",
    "merge_duplicates",
    "public_view",
    "reopen",
    "request_id_for_token",
    "staged_count",
    "transition",
]


@dataclass(frozen=True)
class FiledRequest:
    """A request just filed and the requester's secret token (shown once, stored hashed).

    `replayed`: the same client already filed it under the same idempotency key; this is that
    request (as the caller may see it) and no token is shown again.
    """

    request: ServiceRequest
    token: str
    replayed: bool = False


@dataclass(frozen=True)
class RequestFilter:
    """What `list_requests` selects. `area_codes` may name communes or wider areas.

    `queue=True` asks for the working queue: only areas where the actor may WORK_REQUESTS,
    internal filters (assignee, overdue, search in descriptions) allowed; Forbidden otherwise.
    """

    area_codes: tuple[str, ...] = ()
    request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    updated_since: datetime | None = None
    overdue: bool | None = None
    assignee: str | None = None
    department: str | None = None
    search: str = ""
    include_merged: bool = True
    queue: bool = False


SortKey = Literal[
    "requested_at",
    "-requested_at",
    "updated_at",
    "-updated_at",
    "expected_at",
    "-expected_at",
    "status",
]


@dataclass(frozen=True)
class RequestPage:
    items: list[ServiceRequest]
    total: int
    limit: int
    offset: int


def get_request(
    platform: Platform, request_id: str, *, actor: Actor, token: str | None = None
) -> ServiceRequest:
    """One request: whole for staff of its commune or its requester (token), else public_view."""
    with platform.db.connect() as conn:
        row = request_store.load(conn, request_id)
    request = request_store.row_to_request(row)
    if request_store.may(
        platform, actor, request_store.WHOLE, row.area_code
    ) or request_store.holds_token(row, token):
        return request
    return public_view(request)


def request_id_for_token(platform: Platform, token: str) -> str:
    """The request a token was issued for (Open311 `GET tokens/{token}`)."""
    t = service_requests
    with platform.db.connect() as conn:
        found = conn.execute(
            sa.select(t.c.id).where(t.c.token_hash == request_store.token_hash(token))
        ).scalar()
    if found is None:
        raise NotFound("no request for this token")
    return str(found)


def _descendant_leaves(platform: Platform, codes: Sequence[str]) -> set[str]:
    """Every area at or below the given ones (requests are placed in leaves, i.e. communes)."""
    areas = territory.list_areas(platform)
    by_parent: dict[str | None, list[str]] = {}
    for area in areas:
        by_parent.setdefault(area.parent_code, []).append(area.code)
    out: set[str] = set()
    stack = list(codes)
    while stack:
        code = stack.pop()
        if code in out:
            continue
        out.add(code)
        stack.extend(by_parent.get(code, []))
    return out


def _work_areas(platform: Platform, actor: Actor) -> set[str] | None:
    """Areas whose queue the actor works (None: all of them)."""
    if actor.area_code is None and allowed(actor, Action.WORK_REQUESTS, ()):
        return None
    if actor.area_code is None or not request_store.may(
        platform, actor, Action.WORK_REQUESTS, actor.area_code
    ):
        return set()
    return _descendant_leaves(platform, [actor.area_code])


def list_requests(
    platform: Platform,
    *,
    filters: RequestFilter,
    actor: Actor,
    limit: int = 50,
    offset: int = 0,
    sort: SortKey = "-requested_at",
    now: datetime | None = None,
    with_total: bool = True,
) -> RequestPage:
    """Requests matching `filters`, newest first by default, with the total count.

    Outside the queue, items are public views unless the actor may read the commune's internals.
    `with_total=False` skips counting (total is then -1).
    """
    if not 1 <= limit <= 10_000 or offset < 0:
        raise Invalid("limit must be 1-10000 and offset not negative")
    now = now or utcnow()
    t = service_requests
    public_only = not request_store.reads_internals_somewhere(actor)
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.area_codes:
        conditions.append(
            t.c.area_code.in_(sorted(_descendant_leaves(platform, filters.area_codes)))
        )
    internal_filters = bool(filters.assignee or filters.search or filters.department)
    if filters.queue or internal_filters:
        work = _work_areas(platform, actor)
        if work is not None:
            if not work:
                raise Forbidden(f"{actor.label} has no request queue")
            if filters.area_codes and not _descendant_leaves(platform, filters.area_codes) <= work:
                raise Forbidden(
                    f"{actor.label} may not work requests outside area {actor.area_code}"
                )
            conditions.append(t.c.area_code.in_(sorted(work)))
    if filters.request_ids:
        wanted = {i for i in filters.request_ids} | {
            normalise_request_id(i) for i in filters.request_ids
        }
        conditions.append(t.c.id.in_(sorted(wanted)))
    if filters.service_codes:
        conditions.append(t.c.service_code.in_(filters.service_codes))
    if filters.statuses:
        conditions.append(t.c.status.in_([s.value for s in filters.statuses]))
    if filters.start is not None:
        conditions.append(t.c.requested_at >= filters.start)
    if filters.end is not None:
        conditions.append(t.c.requested_at <= filters.end)
    if filters.updated_since is not None:
        conditions.append(t.c.updated_at >= filters.updated_since)
    active = [s.value for s in Status if s.is_active]
    if filters.overdue is True:
        conditions.append(sa.and_(t.c.status.in_(active), t.c.expected_at < now))
    elif filters.overdue is False:
        conditions.append(
            sa.or_(t.c.status.not_in(active), t.c.expected_at.is_(None), t.c.expected_at >= now)
        )
    if filters.assignee:
        conditions.append(t.c.assignee == filters.assignee)
    if filters.department:
        conditions.append(t.c.department == filters.department)
    if not filters.include_merged:
        conditions.append(t.c.merged_into.is_(None))
    if filters.search:
        needle = f"%{filters.search.strip().lower()}%"
        conditions.append(
            sa.or_(
                sa.func.lower(t.c.id).like(needle),
                sa.func.lower(t.c.description).like(needle),
                sa.func.lower(t.c.address).like(needle),
            )
        )
    where = sa.and_(sa.true(), *conditions)
    column = {
        "requested_at": t.c.requested_at,
        "updated_at": t.c.updated_at,
        "expected_at": t.c.expected_at,
        "status": t.c.status,
    }[sort.lstrip("-")]
    order = [column.desc() if sort.startswith("-") else column.asc(), t.c.id]
    with platform.db.connect() as conn:
        total = (
            conn.execute(sa.select(sa.func.count()).select_from(t).where(where)).scalar_one()
            if with_total
            else -1
        )
        query = sa.select(*request_store.list_columns(public_only)).where(where)
        rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).all()
    readable: dict[str, bool] = {}
    items: list[ServiceRequest] = []
    for row in rows:
        area = row.area_code
        if area not in readable:
            readable[area] = not public_only and request_store.may(
                platform, actor, request_store.WHOLE, area
            )
        items.append(request_store.row_to_request(row, public=not readable[area]))
    return RequestPage(items=items, total=int(total), limit=limit, offset=offset)


def history(
    platform: Platform, request_id: str, *, actor: Actor, token: str | None = None
) -> list[RequestEvent]:
    """The request's events, oldest first: all of them for staff of its commune; public ones
    (and the requester's own, with the token) for others, without who did what."""
    with platform.db.connect() as conn:
        row = request_store.load(conn, request_id)
        rows = conn.execute(
            sa.select(events_table)
            .where(events_table.c.request_id == row.id)
            .order_by(events_table.c.id)
        ).all()
    staff = request_store.may(platform, actor, request_store.WHOLE, row.area_code)
    requester = request_store.holds_token(row, token)
    out: list[RequestEvent] = []
    for i, ev in enumerate(rows, start=1):
        details = dict(ev.details or {})
        mine = requester and bool(details.get("by_requester"))
        if not (staff or ev.public or mine):
            continue
        out.append(
            RequestEvent(
                request_id=ev.request_id,
                seq=i,
                at=ev.at,
                kind=EventKind(ev.kind),
                status=Status(ev.status),
                note=ev.note,
                public=ev.public,
                actor=ev.actor if staff else "",
                actor_kind=ev.actor_kind,
                details=details if staff else {k: v for k, v in details.items() if k != "assignee"},
            )
        )
    return out


def get_contact(platform: Platform, request_id: str, *, actor: Actor) -> Contact | None:
    """The requester's contact details, for agents of the request's commune only (audited)."""
    with platform.db.begin() as conn:
        db.write_lock(conn, service_requests)
        row = request_store.load(conn, request_id)
        if not request_store.may(platform, actor, Action.READ_PERSONAL, row.area_code):
            raise Forbidden(f"{actor.label} may not read requesters' details in {row.area_code}")
        found = conn.execute(
            sa.select(request_contacts).where(request_contacts.c.request_id == row.id)
        ).first()
        if found is None:
            return None
        audit.record(
            conn,
            actor=actor,
            action="request.contact.read",
            resource=f"request:{row.id}",
            area_code=row.area_code,
        )
    return Contact(
        first_name=found.first_name,
        last_name=found.last_name,
        email=found.email,
        phone=found.phone,
        account_id=found.account_id,
        device_id=found.device_id,
    )


# Filing -------------------------------------------------------------------------------------


def _place(platform: Platform, draft: RequestDraft) -> str:
    """The commune a draft belongs in: from its point, else from its jurisdiction."""
    jurisdiction = draft.jurisdiction_id or None
    if jurisdiction is not None:
        try:
            territory.get_area(platform, jurisdiction)
        except NotFound:
            raise Invalid(f"jurisdiction_id {jurisdiction!r} is not a known area") from None
    parents = {a.parent_code for a in territory.list_areas(platform)}
    if draft.lat is not None and draft.lon is not None:
        code = territory.locate(platform, draft.lon, draft.lat)
        if code is None:
            raise Invalid(
                f"the point lat={draft.lat}, long={draft.lon} is outside the territory served here"
            )
        if jurisdiction is not None and jurisdiction not in territory.area_chain(platform, code):
            if draft.jurisdiction_chosen and jurisdiction not in parents:
                return jurisdiction  # the requester knows the ground better than the outlines
            raise Invalid(f"the point lat={draft.lat}, long={draft.lon} is not in {jurisdiction}")
        return code
    if jurisdiction is None:
        raise Invalid("without lat and long, give the commune as jurisdiction_id")
    if jurisdiction in parents:
        raise Invalid("without lat and long, jurisdiction_id must be a commune")
    return jurisdiction


def file_request(
    platform: Platform,
    *,
    draft: RequestDraft,
    actor: Actor,
    contact: Contact | None = None,
    photos: Sequence[bytes] = (),
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> FiledRequest:
    """File a request: place it in its commune, check the service and its answers, store the
    photos without metadata and the contact apart; returns the request and its token.

    With an `idempotency_key` (a client's random id for this submission), filing again with the
    same key returns the request filed the first time instead of a second one.
    """
    key_hash = _idempotency_hash(actor, idempotency_key)
    if key_hash is not None:
        replay = _replay(platform, key_hash, actor)
        if replay is not None:
            return replay
    try:
        validate_draft(draft)
        if contact is not None:
            validate_contact(contact)
            if contact.phone:
                contact = replace(
                    contact, phone=to_e164(contact.phone, platform.settings.phone_country_code)
                )
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if len(photos) + len(draft.media_urls) > MAX_MEDIA:
        raise Invalid(f"at most {MAX_MEDIA} photos per request")
    area_code = _place(platform, draft)
    if not request_store.may(platform, actor, Action.SUBMIT_REQUEST, area_code):
        raise Forbidden(f"{actor.label} may not file requests")
    try:
        service = service_catalog.get_service(platform, draft.service_code, area_code=area_code)
    except NotFound:
        raise Invalid(
            f"service_code {draft.service_code!r} is not offered in {area_code}"
        ) from None
    try:
        answers = parse_answers(service, draft.attributes)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    now = now or utcnow()
    hours = BusinessHours(timezone=platform.settings.timezone) if service.business_hours else None
    expected = expected_datetime(now, service.target_hours, hours)
    stored = [request_media.store_image(platform, data) for data in photos]
    token = new_token()
    try:
        request = _insert(
            platform,
            draft=draft,
            contact=contact,
            area_code=area_code,
            service_name=service.name(draft.language),
            category=service.category,
            department=service.department,
            answers=answers,
            media=[*stored, *draft.media_urls],
            expected=expected,
            now=now,
            token=token,
            actor=actor,
            key_hash=key_hash,
        )
    except BaseException:
        request_media.remove(platform, stored)
        raise
    if isinstance(request, FiledRequest):  # a concurrent twin with the same key won
        request_media.remove(platform, stored)
        return request
    request_events.after_commit(platform, request, EventKind.CREATED, now)
    return FiledRequest(request=request, token=token)


def _idempotency_hash(actor: Actor, key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    if len(key) > 200 or not key.isprintable():
        raise Invalid("an idempotency key is 1-200 printable characters")
    return hashlib.sha256(f"{actor.label}\n{key.strip()}".encode()).hexdigest()


def _replay(platform: Platform, key_hash: str, actor: Actor) -> FiledRequest | None:
    t = service_requests
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.idempotency_key == key_hash)).first()
    if row is None:
        return None
    staff = request_store.may(platform, actor, request_store.WHOLE, row.area_code)
    return FiledRequest(
        request=request_store.row_to_request(row, public=not staff), token="", replayed=True
    )


def _insert(
    platform: Platform,
    *,
    draft: RequestDraft,
    contact: Contact | None,
    area_code: str,
    service_name: str,
    category: str,
    department: str,
    answers: Mapping[str, Any],
    media: list[str],
    expected: datetime,
    now: datetime,
    token: str,
    actor: Actor,
    key_hash: str | None,
) -> ServiceRequest | FiledRequest:
    for _attempt in range(5):
        request = ServiceRequest(
            id=new_request_id(),
            service_code=draft.service_code,
            service_name=service_name,
            category=category,
            area_code=area_code,
            status=Status.OPEN,
            description=draft.description.strip(),
            lat=draft.lat,
            lon=draft.lon,
            address=draft.address.strip(),
            address_id=draft.address_id.strip(),
            requested_at=now,
            updated_at=now,
            expected_at=expected,
            department=department,
            attributes=dict(answers),
            media=tuple(media),
            language=draft.language,
            channel=draft.channel,
        )
        try:
            with platform.db.begin() as conn:
                conn.execute(
                    service_requests.insert().values(
                        id=request.id,
                        area_code=area_code,
                        service_code=request.service_code,
                        service_name=service_name,
                        category=category,
                        status=request.status.value,
                        description=request.description,
                        lat=request.lat,
                        lon=request.lon,
                        address=request.address,
                        address_id=request.address_id,
                        attributes=dict(answers),
                        media=list(media),
                        language=request.language,
                        channel=request.channel,
                        requested_at=now,
                        updated_at=now,
                        expected_at=expected,
                        department=department,
                        token_hash=request_store.token_hash(token),
                        idempotency_key=key_hash,
                    )
                )
                if contact is not None and not contact.is_empty():
                    conn.execute(
                        request_contacts.insert().values(
                            request_id=request.id,
                            first_name=contact.first_name,
                            last_name=contact.last_name,
                            email=contact.email,
                            phone=contact.phone,
                            account_id=contact.account_id,
                            device_id=contact.device_id,
                        )
                    )
                    citizen_notices.subscribe_requester(
                        conn, platform.settings, request, contact, now
                    )
                request_events.record(
                    conn,
                    request,
                    EventKind.CREATED,
                    actor=actor,
                    at=now,
                    public=True,
                    details={"by_requester": True, "photos": len(media)},
                )
            return request
        except sa.exc.IntegrityError:
            if key_hash is not None:
                replay = _replay(platform, key_hash, actor)
                if replay is not None:
                    return replay
            # 40 random bits rarely collide; when they do, draw another number.
            continue
    raise Conflict("could not allocate a tracking number; try again")
