"""Columns of the lake's datasets (docs/lake.md), shared by the demo, the live writers and
the readers. Observations have theirs in `core.observations`."""

from __future__ import annotations

import pyarrow as pa

from hakama.core.observations import OBSERVATIONS_SCHEMA

TS = pa.timestamp("us", tz="UTC")

#: Columns of the lake dataset `service_requests` (docs/lake.md).
SERVICE_REQUESTS_SCHEMA = pa.schema(
    [
        ("time", TS),
        ("request_id", pa.string()),
        ("service_code", pa.string()),
        ("category", pa.string()),
        ("area_code", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("channel", pa.string()),
        ("status", pa.string()),
        ("expected_at", TS),
        ("resolved_at", TS),
        ("closed_at", TS),
        ("reopened", pa.bool_()),
        ("language", pa.string()),
        ("updated_at", TS),
    ]
)

#: Columns of the lake dataset `request_events` (docs/lake.md).
REQUEST_EVENTS_SCHEMA = pa.schema(
    [
        ("time", TS),
        ("request_id", pa.string()),
        ("area_code", pa.string()),
        ("service_code", pa.string()),
        ("category", pa.string()),
        ("event", pa.string()),
        ("status", pa.string()),
        ("actor_kind", pa.string()),
    ]
)

#: Columns of the lake dataset `admin_records` (docs/lake.md).
ADMIN_RECORDS_SCHEMA = pa.schema(
    [
        ("time", TS),
        ("record_id", pa.string()),
        ("area_code", pa.string()),
        ("service", pa.string()),
        ("channel", pa.string()),
        ("status", pa.string()),
        ("delivered_at", TS),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "observations": OBSERVATIONS_SCHEMA,
    "service_requests": SERVICE_REQUESTS_SCHEMA,
    "request_events": REQUEST_EVENTS_SCHEMA,
    "admin_records": ADMIN_RECORDS_SCHEMA,
}

#: Datasets that hold several states of one thing: readers keep the latest row per key.
LATEST_BY: dict[str, tuple[str, str]] = {"service_requests": ("request_id", "updated_at")}
