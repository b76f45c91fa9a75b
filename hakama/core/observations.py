"""An observation: one value of one attribute of one entity at one instant — the lake's row.

Every reading that reaches hakama (NGSI-LD over HTTP, MQTT, the demo) becomes observations; the
lake dataset `observations` stores them with exactly these columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

#: Columns of the lake dataset `observations` (time is the observed instant, UTC).
OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("us", tz="UTC")),
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


@dataclass(frozen=True)
class Observation:
    time: datetime
    entity_id: str
    entity_type: str
    attribute: str
    value: float | None
    text: str | None
    unit: str | None
    area_code: str | None
    source: str
