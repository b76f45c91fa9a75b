"""A request's changes as events: the history row, the audit entry, the row staged for the
lake's `request_events`, the in-process `RequestChanged` — and writing staged rows to the lake.

Staged rows reach the lake in batches (FLUSH_ROWS, or once the oldest waited FLUSH_AGE, checked
after each change; or `flush_events` on demand). A batch leaves the staging table only after its
Parquet file is in place: a crash may write a batch twice, never lose one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from hakama.core.access import Actor, Role
from hakama.core.clock import utcnow
from hakama.core.lake_datasets import REQUEST_EVENTS_SCHEMA, SERVICE_REQUESTS_SCHEMA
from hakama.core.requests import (
    EventKind,
    ServiceRequest,
)
from hakama.services import audit, citizen_notices, events
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema_requests import (
    request_events,
    request_events_staging,
    request_snapshots_staging,
)

#: Staged events are written to the lake once this many are waiting (and by `flush_events`).
FLUSH_ROWS = 500
FLUSH_AGE = timedelta(minutes=5)
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
    maybe_flush(platform)


# The lake ------------------------------------------------------------------------------------


def staged_count(platform: Platform) -> int:
    with platform.db.connect() as conn:
        query = sa.select(sa.func.count()).select_from(request_events_staging)
        return int(conn.execute(query).scalar_one())


def maybe_flush(platform: Platform) -> None:
    """Flush when enough events wait, or when the oldest has waited too long."""
    s = request_events_staging
    with platform.db.connect() as conn:
        count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(s.c.time))).one()
    if count >= FLUSH_ROWS or (count and oldest is not None and utcnow() - oldest > FLUSH_AGE):
        flush_events(platform)


def flush_events(platform: Platform, *, batch: int = 50_000) -> int:
    """Write staged request events (`request_events`) and the states they left each request in
    (`service_requests`) to the lake; returns the rows written to both.

    A batch is written to the lake (atomic files) before it leaves the staging table; a crash in
    between writes it again on the next flush (at least once, never lost). One flusher at a
    time: a lock in this process, and on PostgreSQL an advisory lock across processes.
    """
    with _FLUSH_LOCK, db.try_lock(platform.db.engine, "request_events_flush") as got:
        return _flush(platform, batch) if got else 0


def _flush(platform: Platform, batch: int) -> int:
    # Events first, then the states they left requests in. A crash between a file and the
    # delete writes a batch twice: events at least once; states are absorbed by readers,
    # which keep the latest row per request.
    return _flush_staged(
        platform, request_events_staging, "request_events", REQUEST_EVENTS_SCHEMA, batch
    ) + _flush_staged(
        platform, request_snapshots_staging, "service_requests", SERVICE_REQUESTS_SCHEMA, batch
    )


def _flush_staged(
    platform: Platform, staging: sa.Table, dataset: str, schema: pa.Schema, batch: int
) -> int:
    """Move one staging table to its lake dataset in batches: the file first, then the delete."""
    written = 0
    while True:
        with platform.db.connect() as conn:
            rows = conn.execute(sa.select(staging).order_by(staging.c.id).limit(batch)).all()
        if not rows:
            return written
        table = pa.Table.from_pylist(
            [{name: getattr(r, name) for name in schema.names} for r in rows], schema=schema
        )
        platform.lake.append(dataset, table)
        with platform.db.begin() as conn:
            conn.execute(staging.delete().where(staging.c.id <= rows[-1].id))
        written += len(rows)
