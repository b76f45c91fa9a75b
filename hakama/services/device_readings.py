"""Device readings, the use case behind the MQTT subscriber: a message becomes staged
observations and an entity update.

A message is parsed (`ingest.formats`, pure) and bound to its device and acting key
(`services.devices`) into an `Item` of typed measures. A batch of items is written through a
`Sink`:

- `EntitySink` (default): every reading staged in one transaction, then
  `services.entity_batches.batch_upsert(update=True, source="mqtt")` with the newest reading
  of each entity attribute, grouped by acting key — entities get their current values and
  subscriptions fire.
- `StagingSink`: observations staged directly (`services.observations.stage`), no entity
  update — the ingestion baseline of the benchmarks, and a fallback for raw history feeds.

`store` is one batch: parse, set aside redelivered messages already stored, write, mark the
devices seen. The job (`hakama.jobs.mqtt`) acknowledges what `store` returned, after it returned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from hakama.core.access import Actor
from hakama.core.observations import Observation
from hakama.ingest.formats import Measure, PayloadError, parse_measures, parse_single, to_measures
from hakama.services import devices, entity_batches, observations
from hakama.services.platform import Platform
from hakama.storage.schema_observations import observation_staging

#: How far back a retransmission's readings are looked for (the staging dedupe window).
REDELIVERY_WINDOW = timedelta(hours=1)

TOPIC_ROOT = "hakama"

log = logging.getLogger("hakama.mqtt")


@dataclass(frozen=True)
class Item:
    """A usable message: the measures it carries, for one device and acting key."""

    actor: Actor
    device: devices.Device
    measures: list[Measure]


@dataclass(frozen=True)
class Message:
    """One received message, as the job hands it over."""

    topic: str
    payload: bytes
    received: datetime
    dup: bool = False


@dataclass
class Outcome:
    """What `store` did with a batch of messages."""

    stored: int = 0  # messages written
    observations: int = 0  # observations staged
    duplicates: int = 0  # redelivered messages already stored
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # reason, topic, detail


class Sink(Protocol):
    """Writes a batch of usable messages durably; returns the observations staged."""

    def write(self, items: Sequence[Item]) -> int: ...


def parse_message(platform: Platform, topic: str, payload: bytes, *, received: datetime) -> Item:
    """Turn one MQTT message into an `Item`, or raise `devices.Rejected` with the reason."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != TOPIC_ROOT or parts[3] != "attrs":
        raise devices.Rejected("bad_topic", f"topic {topic!r} is not hakama/<key>/<device>/attrs")
    key_id, device_id = parts[1], parts[2]
    bound = devices.binding(platform, key_id, device_id)
    try:
        readings = parse_single(parts[4], payload) if len(parts) == 5 else parse_measures(payload)
    except PayloadError as exc:
        raise devices.Rejected(exc.reason, str(exc)) from None
    measures = to_measures(readings, bound.device.attributes, received=received)
    return Item(actor=bound.actor, device=bound.device, measures=measures)


def store(platform: Platform, messages: Sequence[Message], sink: Sink) -> Outcome:
    """Parse and write one batch durably. Raises if the database refuses: then nothing was
    written for good, and the same batch can be stored again."""
    outcome = Outcome()
    items: list[Item] = []
    resent: list[tuple[Item, datetime]] = []
    for message in messages:
        try:
            item = parse_message(
                platform, message.topic, message.payload, received=message.received
            )
        except devices.Rejected as exc:
            outcome.rejected.append((exc.reason, message.topic, str(exc)))
            continue
        if message.dup:
            resent.append((item, message.received))
        else:
            items.append(item)
    if resent:
        with platform.db.connect() as conn:
            known = already_stored(conn, resent)
        outcome.duplicates = sum(known)
        items.extend(item for (item, _at), old in zip(resent, known, strict=True) if not old)
    outcome.observations = sink.write(items) if items else 0
    if items:
        seen = {item.device.device_id: messages[-1].received for item in items}
        with platform.db.begin() as conn:
            devices.touch(conn, seen)
    outcome.stored = len(items)
    return outcome


def item_observations(item: Item, *, source: str = "mqtt") -> list[Observation]:
    """The observations an item carries (one per attribute instance), for direct staging."""
    out: list[Observation] = []
    device = item.device
    for measure in item.measures:
        value, text = _value_and_text(measure.instance)
        if value is None and text is None:
            continue
        out.append(
            Observation(
                time=measure.time,
                entity_id=device.entity_id,
                entity_type=device.entity_type,
                attribute=measure.attribute,
                value=value,
                text=text,
                unit=measure.instance.get("unitCode"),
                area_code=device.area_code,
                source=source,
            )
        )
    return out


def already_stored(conn: sa.Connection, candidates: Sequence[tuple[Item, datetime]]) -> list[bool]:
    """For each retransmitted (item, reception instant): was that time-less message stored
    before — its readings, from this device, staged within the dedupe window? Messages that
    carry their time never need this (their dedupe key is already stable).

    Set-based: one indexed query (`ix_observation_staging_redelivery`) per entity attribute of
    the batch, asking for the values it carries, so a backlog drains in time linear in its size.
    """
    wanted: dict[tuple[str, str], set[tuple[float | None, str | None]]] = {}
    found: list[list[Observation] | None] = []
    for item, received in candidates:
        readings = item_observations(item)
        if not readings or any(o.time != received for o in readings):
            found.append(None)
            continue
        found.append(readings)
        for o in readings:
            wanted.setdefault((o.entity_id, o.attribute), set()).add((o.value, o.text))
    if not wanted:
        return [False] * len(candidates)
    since = min(received for _item, received in candidates) - REDELIVERY_WINDOW
    latest = _latest_staged(conn, wanted, since)

    def stored(o: Observation) -> bool:
        at = latest.get((o.entity_id, o.attribute, o.value, o.text))
        return at is not None and at >= o.time - REDELIVERY_WINDOW

    return [readings is not None and all(map(stored, readings)) for readings in found]


_KeyedTimes = dict[tuple[str, str, float | None, str | None], datetime]


def _latest_staged(
    conn: sa.Connection,
    wanted: dict[tuple[str, str], set[tuple[float | None, str | None]]],
    since: datetime,
) -> _KeyedTimes:
    """When each wanted (entity, attribute, value, text) was last staged from MQTT since `since`."""
    s = observation_staging
    out: _KeyedTimes = {}
    for (entity_id, attribute), readings in wanted.items():
        numbers = sorted({v for v, _t in readings if v is not None})
        texts = sorted({t for v, t in readings if v is None and t is not None})
        # `value = NULL` is never true, and PostgreSQL cannot use an index for IS NOT DISTINCT
        # FROM: numbers are looked up by value, texts by their NULL value, then their text.
        matches = [s.c.value.in_(chunk) for chunk in _chunks(numbers)] + [
            sa.and_(s.c.value.is_(None), s.c.text.in_(chunk)) for chunk in _chunks(texts)
        ]
        for match in matches:
            query = (
                sa.select(s.c.value, s.c.text, sa.func.max(s.c.staged_at))
                .where(
                    s.c.entity_id == entity_id,
                    s.c.attribute == attribute,
                    match,
                    s.c.staged_at >= since,
                    s.c.source == "mqtt",
                )
                .group_by(s.c.value, s.c.text)
            )
            for value, text, at in conn.execute(query):
                out[(entity_id, attribute, value, text)] = at
    return out


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _value_and_text(prop: dict[str, Any]) -> tuple[float | None, str | None]:
    if prop.get("type") == "Relationship":
        return None, str(prop.get("object"))
    value = prop.get("value")
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        return None, value
    if value is None:
        return None, None
    return None, json.dumps(value, ensure_ascii=False, sort_keys=True)


class StagingSink:
    """Stage observations directly, one transaction per batch (no entity update)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def write(self, items: Sequence[Item]) -> int:
        rows = [o for item in items for o in item_observations(item)]
        with self.platform.db.begin() as conn:
            return observations.stage(conn, rows)


class EntitySink:
    """Stage every reading, then bring each entity up to date through the entities service.

    Step 1 stages all the batch's observations in one transaction (the bulk of the work, and
    what makes the batch durable). Step 2 calls `entity_batches.batch_upsert(update=True)` once
    per acting key with, for each entity, only the newest reading of each attribute (chosen by
    the measures' parsed instants): the entity gets its current values, subscriptions fire, and
    the observation that call stages again is a duplicate the dedupe key drops. The cost of
    step 2 grows with the number of distinct entities in a batch, not with the number of
    messages.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def write(self, items: Sequence[Item]) -> int:
        rows = [o for item in items for o in item_observations(item)]
        with self.platform.db.begin() as conn:
            staged = observations.stage(conn, rows)
        newest: dict[tuple[str, str], dict[str, Measure]] = {}
        actors: dict[str, Actor] = {}
        kinds: dict[str, str] = {}
        areas: dict[str, str | None] = {}  # an entity without a location stays in its commune
        for item in items:
            actors[item.actor.id] = item.actor
            kinds[item.device.entity_id] = item.device.entity_type
            areas[item.device.entity_id] = item.device.area_code
            attrs = newest.setdefault((item.actor.id, item.device.entity_id), {})
            for measure in item.measures:
                held = attrs.get(measure.attribute)
                if held is None or held.time <= measure.time:
                    attrs[measure.attribute] = measure
        by_actor: dict[str, list[dict[str, Any]]] = {}
        for (actor_id, entity_id), attrs in newest.items():
            body: dict[str, Any] = {"id": entity_id, "type": kinds[entity_id]}
            body.update({name: m.instance for name, m in attrs.items()})
            by_actor.setdefault(actor_id, []).append(body)
        for actor_id, bodies in by_actor.items():
            result = entity_batches.batch_upsert(
                self.platform,
                bodies,
                actor=actors[actor_id],
                update=True,
                source="mqtt",
                areas=areas,
            )
            for error in result.errors:
                log.warning("entity %s not updated: %s", error.entity_id, error.error.message)
        return staged
