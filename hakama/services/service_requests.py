"""Service request use cases: follow, work (transition, assign, comment, merge, bulk), reopen,
confirm or contest — one implementation behind Open311, the portal, the back office and the CLI
(filing is `request_filing`).

Every change, in one transaction: the request row, one `request_events` row (its history), one
audit entry (never personal data), one row staged for the lake's `request_events`. After the
commit a `RequestChanged` event is published. Requesters' contact details are in their own
table and read only through `get_contact`, which needs READ_PERSONAL in the request's commune.

Who sees what: an actor who may WORK_REQUESTS in the request's commune sees the whole request;
everyone else, analysts included, sees `public_view` (no description, address_string,
attributes, internal notes or assignee, since free text may hold personal data). The requester proves who they are with the token returned at filing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.requests import (
    Contact,
    EventKind,
    RequestEvent,
    ServiceRequest,
    Status,
    normalise_request_id,
)
from hakama.services import (
    audit,
    request_store,
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
from hakama.storage.lake_schemas import REQUEST_EVENTS_SCHEMA
from hakama.storage.schema_requests import (
    request_contacts,
    service_requests,
)
from hakama.storage.schema_requests import (
    request_events as events_table,
)

__all__ = [
    "REQUEST_EVENTS_SCHEMA",
    "BulkAction",
    "BulkReport",
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
