"""An observation: one value of one attribute of one entity at one instant — the lake's row.

Every reading that reaches hakama (NGSI-LD over HTTP, MQTT, the demo) becomes observations; the
lake dataset `observations` stores them with exactly these fields (`storage.lake_schemas`).

`observation_key` is the observation's identity: the same reading sent twice (a client retry,
an MQTT message redelivered after a restart) has the same key, so staging it twice counts once.
The temporal API can use it as the NGSI-LD `instanceId` of the attribute instance.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

#: Where an observation may come from (the `source` column).
SOURCES = frozenset({"demo", "http", "mqtt", "import"})


class Observation(NamedTuple):
    """One row of the `observations` dataset; `time` must be timezone-aware. A named tuple
    (fields in the staging table's column order): ingest builds one per attribute written, and
    a tuple costs half of a frozen dataclass to make."""

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
    instant = _instant(time)
    number = "" if value is None else repr(float(value))
    raw = "\x1f".join((entity_id, attribute, instant, number, "" if text is None else text))
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()


@lru_cache(maxsize=4096)
def _instant(time: datetime) -> str:
    """`time` in UTC as the key writes it; cached because a batch repeats a few instants (equal
    instants in other offsets are equal datetimes, and give the same text)."""
    # == strftime("%Y-%m-%dT%H:%M:%S.%f"), several times faster
    return time.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


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
