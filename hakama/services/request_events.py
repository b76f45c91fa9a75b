"""A request's changes as events: the history row, the audit entry, the row staged for the
lake's `request_events`, the in-process `RequestChanged` — and writing staged rows to the lake.

Staged rows reach the lake when the lake job (`hakama.jobs.lake_flush`) or `hakama services
flush` calls `flush_events`, never inside a request; `storage.lake.move_staged` moves them
exactly once (a crash between the files and the staging delete neither loses nor doubles a row).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Actor, Role
from hakama.core.requests import (
    EventKind,
    ServiceRequest,
)
from hakama.services import audit, citizen_notices, events
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.lake import move_staged
from hakama.storage.lake_schemas import REQUEST_EVENTS_SCHEMA, SERVICE_REQUESTS_SCHEMA
from hakama.storage.schema_requests import (
    request_events,
    request_events_staging,
    request_snapshots_staging,
)

_FLUSH_LOCK = threading.Lock()


def actor_kind(actor: Actor) -> str:
    """How the lake and public history name who acted: citizen, agent, app or system."""
    if actor.kind == "system":
        return "system"
    if actor.kind == "key":
        return "app" if actor.role is Role.CITIZEN else "agent"
    return "citizen" if actor.role is Role.CITIZEN else "agent"


def record(
    conn: sa.Connection,
    request: ServiceRequest,
    kind: EventKind,
    *,
    actor: Actor,
    at: datetime,
    note: str = "",
    public: bool = True,
    details: Mapping[str, Any] | None = None,
    before: Mapping[str, Any] | None = None,
) -> None:
    """Record one change: history row, lake staging row, audit entry (no personal data), the
    notices to the people who asked to be told."""
    kind_of_actor = actor_kind(actor)
    conn.execute(
        request_events.insert().values(
            request_id=request.id,
            at=at,
            kind=kind.value,
            status=request.status.value,
            note=note,
            public=public,
            actor=actor.label,
            actor_kind=kind_of_actor,
            details=dict(details or {}),
        )
    )
    conn.execute(
        request_events_staging.insert().values(
            time=at,
            request_id=request.id,
            area_code=request.area_code,
            service_code=request.service_code,
            category=request.category,
            event=kind.value,
            status=request.status.value,
            actor_kind=kind_of_actor,
        )
    )
    conn.execute(request_snapshots_staging.insert().values(**snapshot(request, at)))
    citizen_notices.enqueue(conn, request, kind, at=at, note=note, public=public, details=details)
    audit.record(
        conn,
        actor=actor,
        action=f"request.{kind.value}",
        resource=f"request:{request.id}",
        area_code=request.area_code,
        before=before,
        after=audit_state(request) | {"public_note": bool(note) and public},
    )


def snapshot(request: ServiceRequest, at: datetime) -> dict[str, Any]:
    """The request's state as a row of the lake dataset `service_requests` (no personal data)."""
    return {
        "time": request.requested_at,
        "request_id": request.id,
        "service_code": request.service_code,
        "category": request.category,
        "area_code": request.area_code,
        "lat": request.lat,
        "lon": request.lon,
        "channel": request.channel,
        "status": request.status.value,
        "expected_at": request.expected_at,
        "resolved_at": request.resolved_at,
        "closed_at": request.closed_at,
        "reopened": bool(request.reopened),
        "language": request.language,
        "updated_at": at,
    }


def audit_state(request: ServiceRequest) -> dict[str, Any]:
    """What the audit log keeps of a request: its state, never the requester's text."""
    return {
        "status": request.status.value,
        "service_code": request.service_code,
        "department": request.department,
        "assignee": request.assignee,
        "expected_at": request.expected_at.isoformat() if request.expected_at else None,
        "reopened": request.reopened,
        "merged_into": request.merged_into,
    }


def after_commit(
    platform: Platform, request: ServiceRequest, kind: EventKind, at: datetime
) -> None:
    events.publish(
        platform,
        events.RequestChanged(
            request_id=request.id,
            area_code=request.area_code,
            event=kind.value,
            at=at,
            details={"status": request.status.value, "service_code": request.service_code},
        ),
    )


# The lake ------------------------------------------------------------------------------------


def staged_count(platform: Platform) -> int:
    with platform.db.connect() as conn:
        query = sa.select(sa.func.count()).select_from(request_events_staging)
        return int(conn.execute(query).scalar_one())


def flush_events(platform: Platform, *, batch: int = 50_000) -> int:
    """Write staged request events (`request_events`) and the states they left each request in
    (`service_requests`) to the lake; returns the rows written to both.

    Exactly once (`storage.lake.move_staged`). One flusher at a time: a lock in this process,
    and on PostgreSQL an advisory lock across processes.
    """
    with _FLUSH_LOCK, db.try_lock(platform.db.engine, "request_events_flush") as got:
        return _flush(platform, batch) if got else 0


def _flush(platform: Platform, batch: int) -> int:
    # Events first, then the states they left requests in.
    db, lake = platform.db, platform.lake
    return move_staged(
        db, lake, request_events_staging, "request_events", REQUEST_EVENTS_SCHEMA, batch=batch
    ) + move_staged(
        db,
        lake,
        request_snapshots_staging,
        "service_requests",
        SERVICE_REQUESTS_SCHEMA,
        batch=batch,
    )
