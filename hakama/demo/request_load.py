"""The requests the demo generated for the lake (`hakama.demo.requests`), loaded into the
operational database in bulk with their histories, replacing earlier demo rows (ids prefixed
`demo-`), so the back office, Open311 and the portal show the year the indicators are computed
from. Events are not staged for the lake: the demo wrote them there already.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hakama.core.access import system_actor
from hakama.core.request_types import Service
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.storage.schema_requests import request_events, service_requests

DEMO_PREFIX = "demo-"
BATCH = 5000


def load_requests(
    platform: Platform, table: pa.Table, events: pa.Table | None, *, services: Sequence[Service]
) -> int:
    """Bulk-load generated requests (lake columns) and their events, replacing earlier demo
    rows. Events are not staged for the lake: the demo wrote them there already."""
    names: dict[str, Service] = {}
    for service in services:
        names.setdefault(service.code, service)
    t, e = service_requests, request_events
    with platform.db.begin() as conn:
        conn.execute(e.delete().where(e.c.request_id.like(f"{DEMO_PREFIX}%")))
        conn.execute(t.delete().where(t.c.id.like(f"{DEMO_PREFIX}%")))
        for batch in _batches(_request_rows(table, names)):
            conn.execute(t.insert(), batch)
        if events is not None:
            for batch in _batches(_event_rows(events)):
                conn.execute(e.insert(), batch)
        audit.record(
            conn,
            actor=system_actor("demo"),
            action="request.demo_load",
            resource=f"requests:{table.num_rows}",
            after={"requests": table.num_rows, "events": events.num_rows if events else 0},
        )
    return int(table.num_rows)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _request_rows(table: pa.Table, services: Mapping[str, Service]) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=BATCH):
        for r in batch.to_pylist():
            service = services.get(r["service_code"])
            language = r["language"] or "fr"
            status = r["status"]
            requested = _aware(r["time"])
            last = max(
                (x for x in (requested, _aware(r["resolved_at"]), _aware(r["closed_at"])) if x),
            )
            yield {
                "id": r["request_id"],
                "area_code": r["area_code"],
                "service_code": r["service_code"],
                "service_name": service.name(language) if service else r["service_code"],
                "category": r["category"],
                "status": status,
                "description": "",
                "lat": r["lat"],
                "lon": r["lon"],
                "address": "",
                "address_id": "",
                "attributes": {},
                "media": [],
                "language": language,
                "channel": r["channel"],
                "requested_at": requested,
                "updated_at": last,
                "expected_at": _aware(r["expected_at"]),
                "resolved_at": _aware(r["resolved_at"]),
                "closed_at": _aware(r["closed_at"]),
                "status_notes": "",
                "department": service.department if service else "",
                "assignee": "",
                "reopened": 1 if r["reopened"] else 0,
                "merged_into": None,
                "token_hash": None,
            }


def _event_rows(events: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in events.to_batches(max_chunksize=BATCH):
        for r in batch.to_pylist():
            kind = r["event"]
            yield {
                "request_id": r["request_id"],
                "at": _aware(r["time"]),
                "kind": kind,
                "status": r["status"] or "open",
                "note": "",
                "public": kind not in ("assigned", "commented"),
                "actor": "system:demo",
                "actor_kind": r["actor_kind"],
                "details": {},
            }
