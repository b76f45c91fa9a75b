"""An observation: one value of one attribute of one entity at one instant — the lake's row.

Every reading that reaches hakama (NGSI-LD over HTTP, MQTT, the demo) becomes observations; the
lake dataset `observations` stores them with exactly these columns.

`observation_key` is the observation's identity: the same reading sent twice (a client retry,
an MQTT message redelivered after a restart) has the same key, so staging it twice counts once.
The temporal API can use it as the NGSI-LD `instanceId` of the attribute instance.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

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

#: Where an observation may come from (the `source` column).
SOURCES = frozenset({"demo", "http", "mqtt", "import"})


@dataclass(frozen=True)
class Observation:
    """One row of the `observations` dataset; `time` must be timezone-aware."""

    time: datetime
    entity_id: str
    entity_type: str
    attribute: str
    value: float | None
    text: str | None
    unit: str | None
    area_code: str | None
    source: str

    @property
    def key(self) -> str:
        """The dedupe key: see `observation_key`."""
        return observation_key(self.entity_id, self.attribute, self.time, self.value, self.text)


def observation_key(
    entity_id: str, attribute: str, time: datetime, value: float | None, text: str | None
) -> str:
    """A stable 32-hex identity of a reading: entity, attribute, instant (µs, UTC) and value.

    Unit, commune and source are left out on purpose: they describe the reading, and a retry of
    the same reading must collide even if the entity moved in between.
    """
    if time.tzinfo is None:
        raise ValueError("naive datetime: observations need a timezone-aware time")
    # == strftime("%Y-%m-%dT%H:%M:%S.%f"), several times faster
    instant = time.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    number = "" if value is None else repr(float(value))
    raw = "\x1f".join((entity_id, attribute, instant, number, "" if text is None else text))
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()


def check(observation: Observation) -> str | None:
    """Why `observation` cannot be stored, or None when it can (pure validation)."""
    if observation.time.tzinfo is None:
        return "time must be timezone-aware"
    if not observation.entity_id or not observation.entity_type or not observation.attribute:
        return "entity_id, entity_type and attribute are required"
    if observation.value is None and observation.text is None:
        return "an observation needs a value or a text"
    if observation.value is not None and not math.isfinite(observation.value):
        return "value must be a finite number"
    if observation.source not in SOURCES:
        return f"source must be one of {sorted(SOURCES)}"
    return None


def to_table(observations: Iterable[Observation]) -> pa.Table:
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
