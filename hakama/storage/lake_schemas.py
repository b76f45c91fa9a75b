"""The Parquet schemas of the lake's datasets (docs/lake.md): a storage format, shared by the
demo, the live writers and the readers. `storage.lake` writes and reads them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

import pyarrow as pa

from hakama.core.observations import Observation

TS = pa.timestamp("us", tz="UTC")

#: Columns of the lake dataset `observations` (time is the observed instant, UTC).
OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("time", TS),
        ("entity_id", pa.string()),
        ("entity_type", pa.string()),
        ("attribute", pa.string()),
        ("value", pa.float64()),  # numeric value, null for text
        ("text", pa.string()),  # text value (or JSON of a structured one), null for numbers
        ("unit", pa.string()),  # UN/CEFACT unit code, e.g. GQ (µg/m³), MTQ (m³), KWH
        ("area_code", pa.string()),  # commune holding the entity, null if unplaced
        ("source", pa.string()),  # demo | http | mqtt | import
    ]
)


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


def observations_table(observations: Iterable[Observation]) -> pa.Table:
    """The observations as an Arrow table with `OBSERVATIONS_SCHEMA` (for the lake)."""
    rows = list(observations)
    return pa.table(
        {
            "time": [o.time.astimezone(UTC) for o in rows],
            "entity_id": [o.entity_id for o in rows],
            "entity_type": [o.entity_type for o in rows],
            "attribute": [o.attribute for o in rows],
            "value": [o.value for o in rows],
            "text": [o.text for o in rows],
            "unit": [o.unit for o in rows],
            "area_code": [o.area_code for o in rows],
            "source": [o.source for o in rows],
        },
        schema=OBSERVATIONS_SCHEMA,
    )
