"""Temporal answers as NGSI-LD JSON: instances (normalized or temporalValues) and aggregates.

Rows come from `services.temporal_sql`; an attribute's NGSI-LD type comes from the entity's
current state (a Property when the entity is gone), and lake values are decoded back to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.clock import format_instant
from hakama.core.temporal import (
    Aggregation,
    AggrMethod,
    Format,
    TemporalQuery,
    instance_id,
)


def decode(value: float | None, text: str | None, kind: str) -> Any:
    """A lake value back as the attribute type had it (numbers stay numbers)."""
    if value is not None:
        return value
    if text is None:
        return None
    if kind in ("GeoProperty", "LanguageProperty", "JsonProperty", "ListProperty") or (
        kind == "Property" and text[:1] in ("{", "[")
    ):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if kind in ("Relationship", "ListRelationship") and text[:1] == "[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _kind(current: Mapping[str, Any] | None, attribute: str) -> str:
    """An attribute's type: the entity's current state says; without it (an entity written
    through the temporal API only, or deleted), the predefined geo names are GeoProperties
    (clause 4.7) and the rest Properties."""
    found = _kinds(current).get(attribute)
    if found is not None:
        return found
    return "GeoProperty" if attribute in core_entities.GEO_NAMES else "Property"


def _kinds(current: Mapping[str, Any] | None) -> dict[str, str]:
    """Attribute name → attribute type, from the entity's current state."""
    if not current:
        return {}
    out: dict[str, str] = {}
    for name, attribute in core_entities.attributes_of(current).items():
        found = core_entities.instances(attribute)
        if found:
            out[name] = str(found[0].get("type", "Property"))
    return out


def build_raw(
    rows: Iterable[tuple[Any, ...]],
    tq: TemporalQuery,
    current: Mapping[str, Mapping[str, Any]],
    ctx: jsonld.Context,
    emptied: Iterable[tuple[str, str, str]] = (),
) -> dict[str, dict[str, Any]]:
    """Raw instances by entity; `emptied` (entity, type, attribute) answer with no instance
    (an attribute a cut answer left empty, clause 6.3.10)."""
    out: dict[str, dict[str, Any]] = {}
    names = ctx.from_canonical
    for entity_id, entity_type, attribute in emptied:
        holder = out.setdefault(entity_id, {"id": entity_id, "type": names(entity_type)})
        kind = _kind(current.get(entity_id), attribute)
        shown = names(attribute)
        if tq.format is Format.TEMPORAL_VALUES:
            holder[shown] = {"type": kind, _values_member(kind): []}
        else:
            holder[shown] = []
    for entity_id, entity_type, attribute, time, value, text, unit in rows:
        entity = out.get(entity_id)
        if entity is None:
            entity = out[entity_id] = {"id": entity_id, "type": names(entity_type)}
        kind = _kind(current.get(entity_id), attribute)
        member = core_entities.VALUE_MEMBER.get(kind, "value")
        decoded = decode(value, text, kind)
        shown = names(attribute)
        if tq.format is Format.TEMPORAL_VALUES:
            slot = entity.setdefault(shown, {"type": kind, _values_member(kind): []})
            slot[_values_member(kind)].append([decoded, format_instant(time)])
            continue
        instance: dict[str, Any] = {
            "type": kind,
            member: decoded,
            "observedAt": format_instant(time),
        }
        if unit:
            instance["unitCode"] = unit
        instance["instanceId"] = instance_id(entity_id, attribute, time, value, text)
        entity.setdefault(shown, []).append(instance)
    return out


def _values_member(kind: str) -> str:
    """The member of a temporalValues attribute (clause 4.5.9): `values`, `objects`…"""
    return {
        "Relationship": "objects",
        "LanguageProperty": "languageMaps",
        "JsonProperty": "jsons",
        "VocabProperty": "vocabs",
        "ListProperty": "valueLists",
        "ListRelationship": "objectLists",
    }.get(kind, "values")


def build_aggregated(
    rows: Iterable[tuple[Any, ...]],
    tq: TemporalQuery,
    aggregation: Aggregation,
    current: Mapping[str, Mapping[str, Any]],
    ctx: jsonld.Context,
) -> dict[str, dict[str, Any]]:
    # A year of daily periods is tens of thousands of cells: each period's bounds are
    # formatted once, and every list is built by one comprehension.
    out: dict[str, dict[str, Any]] = {}
    names = ctx.from_canonical
    period = aggregation.period
    bounds: dict[datetime, tuple[str, str]] = {}
    plan: list[tuple[str, int, bool]] = []  # (method, column, min/max: numbers then texts)
    column = 5
    for method in aggregation.methods:
        pair = method in (AggrMethod.MIN, AggrMethod.MAX)
        plan.append((method.value, column, pair))
        column += 2 if pair else 1
    for row in rows:
        entity_id, entity_type, attribute, buckets, last_time = row[:5]
        entity = out.get(entity_id)
        if entity is None:
            entity = out[entity_id] = {"id": entity_id, "type": names(entity_type)}
        if period is None:
            start = tq.window.start or buckets[0]
            end = tq.window.end or (last_time + timedelta(microseconds=1))
            spans = [(format_instant(start), format_instant(end))]
        else:
            for bucket in set(buckets) - bounds.keys():
                end = _add_months(bucket, period.months) if period.months else bucket + period.span
                bounds[bucket] = (format_instant(bucket), format_instant(end))
            spans = [bounds[b] for b in buckets]
        kind = _kind(current.get(entity_id), attribute)
        slot: dict[str, Any] = {"type": kind}
        for name, col, pair in plan:
            values = row[col]
            if pair:
                values = [
                    n if n is not None else t for n, t in zip(values, row[col + 1], strict=True)
                ]
            cells = [[v, s, e] for v, (s, e) in zip(values, spans, strict=True) if v is not None]
            if cells:  # a text attribute has no average
                slot[name] = cells
        entity[names(attribute)] = slot
    return out


def _add_months(instant: datetime, months: int) -> datetime:
    month = instant.month - 1 + months
    return instant.replace(year=instant.year + month // 12, month=month % 12 + 1)
