"""Working a request: status changes, assignment, comments, reopening, the requester's
confirmation or contest, closing uncontested resolutions, merging duplicates, bulk actions and
more photos. Each change locks the request, checks who may do it, and records one event."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from hakama.core.access import Action, Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.core.requests import (
    CONFIRM_GRACE_DAYS,
    MAX_MEDIA,
    EventKind,
    RequestEvent,
    ServiceRequest,
    Status,
    TransitionError,
    check_feedback,
    check_reopen,
    check_transition,
    normalise_request_id,
    validate_note,
)
from hakama.services import request_events, request_media, request_store
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema_requests import (
    service_requests,
)


@dataclass(frozen=True)
class BulkReport:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


# Working a request ---------------------------------------------------------------------------


@contextmanager
def _change(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    token: str | None = None,
    requester_may: bool = False,
) -> Iterator[tuple[sa.Connection, ServiceRequest, bool]]:
    """A transaction over one locked request the actor may work (or its requester, if allowed).

    Yields the connection, the request and whether the actor acts as the requester.
    """
    with platform.db.begin() as conn:
        db.write_lock(conn, service_requests)
        row = request_store.load(conn, request_id, lock=True)
        staff = request_store.may(platform, actor, Action.WORK_REQUESTS, row.area_code)
        as_requester = not staff and requester_may and request_store.holds_token(row, token)
        if not staff and not as_requester:
            if requester_may:
                raise Forbidden("only the requester (with their token) or the commune may do this")
            raise Forbidden(f"{actor.label} may not work requests in {row.area_code}")
        yield conn, request_store.row_to_request(row), as_requester


def _save(conn: sa.Connection, request: ServiceRequest, **changes: Any) -> ServiceRequest:
    """Write changed columns and return the request as it now is."""
    conn.execute(
        service_requests.update().where(service_requests.c.id == request.id).values(**changes)
    )
    fields = dict(changes)
    if "status" in fields:
        fields["status"] = Status(fields["status"])
    if "media" in fields:
        fields["media"] = tuple(fields["media"])
    return replace(request, **fields)


def _note(note: str) -> str:
    try:
        return validate_note(note)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def transition(
    platform: Platform,
    request_id: str,
    *,
    status: Status,
    actor: Actor,
    note: str = "",
    public: bool = True,
    now: datetime | None = None,
) -> ServiceRequest:
    """Move a request to `status` with an optional note (public notes become `status_notes`)."""
    note = _note(note)
    now = now or utcnow()
    with _change(platform, request_id, actor=actor) as (conn, request, _):
        try:
            kind = check_transition(request.status, status)
        except TransitionError as exc:
            raise Conflict(str(exc), status=request.status.value) from None
        before = request_events.audit_state(request)
        changes: dict[str, Any] = {"status": status.value, "updated_at": now}
        if status is Status.RESOLVED:
            changes["resolved_at"] = now
        if status is Status.CLOSED:
            changes["closed_at"] = now
            if request.resolved_at is None:
                changes["resolved_at"] = now
        if status.is_active:
            changes.update(resolved_at=None, closed_at=None)
        if note and public:
            changes["status_notes"] = note
        request = _save(conn, request, **changes)
        request_events.record(
            conn, request, kind, actor=actor, at=now, note=note, public=public, before=before
        )
    request_events.after_commit(platform, request, kind, now)
    return request


def assign(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    assignee: str | None = None,
    department: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """Give a request to a person and/or a department (None leaves that part as it is)."""
    if assignee is None and department is None:
        raise Invalid("give an assignee, a department, or both")
    for name, value in (("assignee", assignee), ("department", department)):
        if value is not None and len(value) > 200:
            raise Invalid(f"{name} is longer than 200 characters")
    note = _note(note)
    now = now or utcnow()
    with _change(platform, request_id, actor=actor) as (conn, request, _):
        before = request_events.audit_state(request)
        changes: dict[str, Any] = {"updated_at": now}
        if assignee is not None:
            changes["assignee"] = assignee.strip()
        if department is not None:
            changes["department"] = department.strip()
        request = _save(conn, request, **changes)
        request_events.record(
            conn,
            request,
            EventKind.ASSIGNED,
            actor=actor,
            at=now,
            note=note,
            public=False,
            details={"assignee": request.assignee, "department": request.department},
            before=before,
        )
    request_events.after_commit(platform, request, EventKind.ASSIGNED, now)
    return request


def comment(
    platform: Platform,
    request_id: str,
    *,
    text: str,
    actor: Actor,
    public: bool = False,
    token: str | None = None,
    now: datetime | None = None,
) -> RequestEvent:
    """Add a note to a request: an agent's (public or internal) or its requester's (with the
    token; seen by the commune and the requester, not by the public)."""
    text = _note(text)
    if not text:
        raise Invalid("a comment cannot be empty")
    now = now or utcnow()
    with _change(platform, request_id, actor=actor, token=token, requester_may=True) as (
        conn,
        request,
        as_requester,
    ):
        shown = public and not as_requester
        request = _save(conn, request, updated_at=now)
        request_events.record(
            conn,
            request,
            EventKind.COMMENTED,
            actor=actor,
            at=now,
            note=text,
            public=shown,
            details={"by_requester": as_requester},
        )
    request_events.after_commit(platform, request, EventKind.COMMENTED, now)
    return RequestEvent(
        request_id=request.id,
        seq=0,
        at=now,
        kind=EventKind.COMMENTED,
        status=request.status,
        note=text,
        public=shown,
        actor=actor.label,
        actor_kind="citizen" if as_requester else request_events.actor_kind(actor),
        details={"by_requester": as_requester},
    )


def _restart_clock(request: ServiceRequest, now: datetime) -> datetime | None:
    """A reopened request gets its full target time again, counted from now."""
    if request.expected_at is None:
        return None
    return now + max(request.expected_at - request.requested_at, timedelta(hours=1))


def reopen(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    note: str = "",
    token: str | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """Send a resolved or closed request back to `open` (the commune, or its requester)."""
    return _reopen(
        platform, request_id, actor=actor, note=note, token=token, now=now, kind=EventKind.REOPENED
    )


def contest(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    token: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """The requester says the problem is not solved: the resolved request is open again."""
    return _reopen(
        platform, request_id, actor=actor, note=note, token=token, now=now, kind=EventKind.CONTESTED
    )


def _reopen(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    note: str,
    token: str | None,
    now: datetime | None,
    kind: EventKind,
) -> ServiceRequest:
    note = _note(note)
    now = now or utcnow()
    with _change(platform, request_id, actor=actor, token=token, requester_may=True) as (
        conn,
        request,
        as_requester,
    ):
        try:
            check_feedback(request.status) if kind is EventKind.CONTESTED else check_reopen(
                request.status
            )
        except TransitionError as exc:
            raise Conflict(str(exc), status=request.status.value) from None
        if request.merged_into:
            raise Conflict(f"this request was merged into {request.merged_into}; follow that one")
        before = request_events.audit_state(request)
        request = _save(
            conn,
            request,
            status=Status.OPEN.value,
            updated_at=now,
            resolved_at=None,
            closed_at=None,
            reopened=request.reopened + 1,
            expected_at=_restart_clock(request, now),
        )
        request_events.record(
            conn,
            request,
            kind,
            actor=actor,
            at=now,
            note=note,
            public=not as_requester and bool(note),
            details={"by_requester": as_requester},
            before=before,
        )
    request_events.after_commit(platform, request, kind, now)
    return request


def confirm(
    platform: Platform,
    request_id: str,
    *,
    actor: Actor,
    token: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """The requester confirms the resolution: the request is closed."""
    note = _note(note)
    now = now or utcnow()
    with _change(platform, request_id, actor=actor, token=token, requester_may=True) as (
        conn,
        request,
        as_requester,
    ):
        try:
            check_feedback(request.status)
        except TransitionError as exc:
            raise Conflict(str(exc), status=request.status.value) from None
        before = request_events.audit_state(request)
        request = _save(conn, request, status=Status.CLOSED.value, updated_at=now, closed_at=now)
        request_events.record(
            conn,
            request,
            EventKind.CONFIRMED,
            actor=actor,
            at=now,
            note=note,
            public=False,
            details={"by_requester": as_requester},
            before=before,
        )
    request_events.after_commit(platform, request, EventKind.CONFIRMED, now)
    return request


def close_resolved(
    platform: Platform, *, actor: Actor, now: datetime | None = None, limit: int = 10_000
) -> list[str]:
    """Close requests resolved more than CONFIRM_GRACE_DAYS ago that nobody contested
    (their requester did not answer); returns the ids closed."""
    now = now or utcnow()
    t = service_requests
    cutoff = now - timedelta(days=CONFIRM_GRACE_DAYS)
    with platform.db.connect() as conn:
        ids = (
            conn.execute(
                sa.select(t.c.id)
                .where(t.c.status == Status.RESOLVED.value, t.c.resolved_at < cutoff)
                .order_by(t.c.resolved_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    closed: list[str] = []
    for request_id in ids:
        try:
            transition(
                platform, request_id, status=Status.CLOSED, actor=actor, public=False, now=now
            )
        except (Conflict, NotFound):
            continue  # changed meanwhile (contested, reopened): leave it
        closed.append(request_id)
    return closed


def merge_duplicates(
    platform: Platform,
    *,
    primary_id: str,
    duplicate_ids: Sequence[str],
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """Close duplicates of a request, pointing them to it; all must be in the same commune."""
    note = _note(note)
    now = now or utcnow()
    primary_key = normalise_request_id(primary_id)
    dupes = sorted({normalise_request_id(d) for d in duplicate_ids} - {primary_key})
    if not dupes:
        raise Invalid("name at least one duplicate other than the primary request")
    with platform.db.begin() as conn:
        db.write_lock(conn, service_requests)
        primary_row = request_store.load(conn, primary_key, lock=True)
        if not request_store.may(platform, actor, Action.WORK_REQUESTS, primary_row.area_code):
            raise Forbidden(f"{actor.label} may not work requests in {primary_row.area_code}")
        primary = request_store.row_to_request(primary_row)
        if primary.merged_into:
            raise Conflict(f"{primary.id} is itself merged into {primary.merged_into}")
        for dupe_id in dupes:
            row = request_store.load(conn, dupe_id, lock=True)
            if row.area_code != primary.area_code:
                raise Invalid(f"{dupe_id} is in another commune than {primary.id}")
            dupe = request_store.row_to_request(row)
            if dupe.merged_into:
                raise Conflict(f"{dupe_id} is already merged into {dupe.merged_into}")
            before = request_events.audit_state(dupe)
            public_note = note or f"Duplicate of {primary.id}"
            dupe = _save(
                conn,
                dupe,
                status=Status.CLOSED.value,
                merged_into=primary.id,
                updated_at=now,
                closed_at=now,
                resolved_at=dupe.resolved_at or now,
                status_notes=public_note,
            )
            request_events.record(
                conn,
                dupe,
                EventKind.MERGED,
                actor=actor,
                at=now,
                note=public_note,
                public=True,
                details={"into": primary.id},
                before=before,
            )
        primary = _save(conn, primary, updated_at=now)
        request_events.record(
            conn,
            primary,
            EventKind.MERGED,
            actor=actor,
            at=now,
            public=False,
            details={"duplicates": dupes},
        )
    request_events.after_commit(platform, primary, EventKind.MERGED, now)
    return primary


BulkAction = Literal["transition", "assign"]


def bulk(
    platform: Platform,
    *,
    request_ids: Sequence[str],
    action: BulkAction,
    actor: Actor,
    status: Status | None = None,
    assignee: str | None = None,
    department: str | None = None,
    note: str = "",
    public: bool = True,
) -> BulkReport:
    """Apply one action to several requests, each in its own transaction; reports what failed."""
    if len(request_ids) > 500:
        raise Invalid("at most 500 requests per bulk action")
    if action == "transition" and status is None:
        raise Invalid("a bulk status change needs a status")
    report = BulkReport()
    for request_id in dict.fromkeys(request_ids):
        try:
            if action == "transition":
                assert status is not None
                transition(
                    platform, request_id, status=status, actor=actor, note=note, public=public
                )
            else:
                assign(
                    platform,
                    request_id,
                    actor=actor,
                    assignee=assignee,
                    department=department,
                    note=note,
                )
            report.done.append(request_id)
        except (Invalid, NotFound, Conflict, Forbidden) as exc:
            report.failed[request_id] = exc.message
    return report


def add_media(
    platform: Platform,
    request_id: str,
    *,
    data: bytes,
    actor: Actor,
    token: str | None = None,
    now: datetime | None = None,
) -> str:
    """Attach one more photo (stripped of metadata) to a request; returns its file name."""
    now = now or utcnow()
    name = request_media.store_image(platform, data)
    try:
        with _change(platform, request_id, actor=actor, token=token, requester_may=True) as (
            conn,
            request,
            as_requester,
        ):
            if len(request.media) >= MAX_MEDIA:
                raise Invalid(f"this request already has {MAX_MEDIA} photos")
            request = _save(conn, request, media=[*request.media, name], updated_at=now)
            request_events.record(
                conn,
                request,
                EventKind.MEDIA_ADDED,
                actor=actor,
                at=now,
                public=True,
                details={"by_requester": as_requester, "media": name},
            )
    except BaseException:
        request_media.remove(platform, [name])
        raise
    request_events.after_commit(platform, request, EventKind.MEDIA_ADDED, now)
    return name
