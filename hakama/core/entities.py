"""NGSI-LD entities: parsing and validating client bodies, and the stored form.

The stored (and exchanged, inside hakama) form of an entity is a plain dict in the NGSI-LD
**normalized** representation with **canonical** names (see `hakama.core.jsonld`):

    {"id": "urn:ngsi-ld:AirQualityObserved:berkane-01",
     "type": "AirQualityObserved",                  # a string, or a list for several types
     "pm25": {"type": "Property", "value": 31.5, "unitCode": "GQ",
              "observedAt": "2026-03-01T10:00:00Z"},
     "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-2.3, 34.9]}},
     "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
     "name": {"type": "LanguageProperty", "languageMap": {"ar": "…", "fr": "…"}},
     "createdAt": "…", "modifiedAt": "…"}           # system attributes, ISO 8601 UTC

An attribute with several instances (distinct `datasetId`s) is a list of such dicts. Attribute
types: Property, Relationship, GeoProperty, LanguageProperty, JsonProperty, VocabProperty,
ListProperty, ListRelationship. Input may be normalized or concise (type inferred from the
members present, a bare value is a Property). Everything here is pure. Changing a stored
entity is `hakama.core.entity_merge`, rendering it `hakama.core.entity_render`, placing it
`hakama.core.entity_geometry`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from hakama.core.clock import format_instant, read_instant
from hakama.core.errors import Invalid
from hakama.core.jsonld import Context
from hakama.core.ngsi_query import GEOMETRY_TYPES, check_geometry
from hakama.core.ngsi_selectors import SCOPE
from hakama.core.observations import Observation

ATTRIBUTE_TYPES = (
    "Property",
    "Relationship",
    "GeoProperty",
    "LanguageProperty",
    "JsonProperty",
    "VocabProperty",
    "ListProperty",
    "ListRelationship",
)
#: Members of an entity that are not attributes.
ENTITY_MEMBERS = frozenset(
    {"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"}
)
#: Members of an attribute that are not sub-attributes.
ATTRIBUTE_MEMBERS = frozenset(
    {"type", "value", "object", "languageMap", "json", "vocab", "valueList", "objectList",
     "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "deletedAt", "instanceId",
     "objectType", "lang", "previousValue", "previousObject", "previousLanguageMap",
     "previousJson", "previousVocab", "previousValueList", "previousObjectList"}
)  # fmt: skip

Format = Literal["normalized", "keyValues", "concise"]


NULL_URI = "urn:ngsi-ld:null"  # merge-patch: this value deletes the attribute
MAX_ID_LENGTH = 512
MAX_NAME_LENGTH = 256
_MAX_NESTING = 8
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")
_BAD_NAME = re.compile(r"[\s<>\"'=;()\[\]\x00-\x1f\x7f]")
_LANG_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|@none")
SYSTEM_MEMBERS = ("createdAt", "modifiedAt")
#: Member holding the value, for each attribute type.
VALUE_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
_INFER_ORDER = ("object", "languageMap", "json", "vocab", "valueList", "objectList", "value")
_INFERRED_TYPE = {v: k for k, v in VALUE_MEMBER.items() if k != "GeoProperty"}
GEO_NAMES = frozenset({"location", "observationSpace", "operationSpace"})


def is_uri(text: Any) -> bool:
    """Is `text` an absolute URI (what NGSI-LD requires for ids and relationship objects)?"""
    return (
        isinstance(text, str)
        and len(text) <= MAX_ID_LENGTH
        and _URI.fullmatch(text) is not None
        and text_ok(text)
        and (text.isascii() or _INVISIBLE.search(text) is None)
    )


#: Characters an IRI admits (RFC 3987 ucschar) but that make an id invisible or misleading
#: where people read it: bidi and other format controls (RTL override, zero-width space, BOM),
#: separators other than the ASCII space, variation selectors, noncharacters, the Hangul
#: fillers and the blank Braille pattern (clause 4.5.1: an id identifies one entity).
_INVISIBLE = re.compile(
    "[\u0080-\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufdd0-\ufdef"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff\U0001fffe\U0001ffff\U000e0000-\U000e0fff"
    "\U000ffffe-\U0010ffff]"
)


def text_ok(text: str) -> bool:
    """Can both databases store this text? No NUL, no lone surrogate (JSON can carry both)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_name(name: Any, where: str) -> str:
    """`name` if it can name a type or an attribute (no spaces, quotes, brackets, control
    characters; at most 256 characters), else Invalid."""
    if not isinstance(name, str) or not valid_name(name):
        raise Invalid(f"{where}: invalid name {str(name)[:80]!r}")
    return name


@lru_cache(maxsize=4096)
def valid_name(name: str) -> bool:
    """Can `name` name a type or an attribute? Not a JSON-LD keyword form (`@...`) either."""
    return (
        bool(name)
        and len(name) <= MAX_NAME_LENGTH
        and not name.startswith("@")
        and not _BAD_NAME.search(name)
        and text_ok(name)
    )


@lru_cache(maxsize=4096)
def _normal_time(text: str) -> str:
    """An observedAt as stored (UTC, `Z`); cached because a batch repeats a few instants."""
    return format_instant(read_instant(text, where="observedAt"))


@lru_cache(maxsize=4096)
def _stored_time(text: str) -> datetime:
    return read_instant(text, where="observedAt")


def _check_json(value: Any, where: str, depth: int = 0) -> None:
    """Refuse what JSON or the databases cannot carry faithfully: NaN, infinities, NUL
    characters (PostgreSQL text refuses them), absurd nesting."""
    if depth > 32:
        raise Invalid(f"{where}: value nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{where}: numbers must be finite")
    if isinstance(value, str):
        if not text_ok(value):
            raise Invalid(f"{where}: text must be valid Unicode without NUL characters")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_json(key, where, depth + 1)
            _check_json(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where, depth + 1)


def parse_entity(body: Any, context: Context) -> dict[str, Any]:
    """Validate a client's entity (normalized or concise, any @context) into the stored form.

    Needs `id` (a URI) and `type`; drops `@context` and client-sent system attributes.
    Raises `core.errors.Invalid` naming the first offending member.
    """
    if not isinstance(body, Mapping):
        raise Invalid("an entity must be a JSON object")
    entity_id = body.get("id", body.get("@id"))
    if not is_uri(entity_id):
        raise Invalid(
            f"id: must be a URI, got {str(entity_id)[:80]!r}"
            if entity_id is not None
            else "id: missing"
        )
    if "type" not in body and "@type" not in body:
        raise Invalid("type: missing")
    entity: dict[str, Any] = {
        "id": entity_id,
        "type": _parse_types(body.get("type", body.get("@type")), context),
    }
    if body.get("scope") is not None:
        entity["scope"] = parse_scope(body["scope"])
    for name, attribute in _parse_members(body, context).items():
        # NGSI-LD Null in a whole entity (create, replace, upsert) means "no such instance".
        kept = [i for i in instances(attribute) if not is_null(i)]
        if kept:
            entity[name] = kept[0] if len(kept) == 1 else kept
    return entity


def parse_fragment(body: Any, context: Context, *, entity_id: str | None = None) -> dict[str, Any]:
    """Validate attributes to add or change (PATCH/POST .../attrs, batch update) into stored form.

    `id`/`type` may be present (batch bodies, merge); when `entity_id` is given an `id` that
    differs is refused. The result holds canonical attribute names (and `id`/`type` if sent).
    """
    if not isinstance(body, Mapping):
        raise Invalid("the attributes must be a JSON object")
    out: dict[str, Any] = {}
    if "id" in body:
        if not is_uri(body["id"]):
            raise Invalid(f"id: must be a URI, got {str(body['id'])[:80]!r}")
        if entity_id is not None and body["id"] != entity_id:
            raise Invalid(f"id: {body['id']!r} differs from the entity addressed ({entity_id!r})")
        out["id"] = body["id"]
    if "type" in body:
        out["type"] = _parse_types(body["type"], context)
    if "scope" in body:
        out["scope"] = parse_scope(body["scope"], allow_null=True)
    out.update(_parse_members(body, context))
    return out


def parse_scope(value: Any, *, allow_null: bool = False) -> str | list[str]:
    """An entity's `scope` (clause 4.18): one scope or an array of them, each `/a/b/...`."""
    if allow_null and value == NULL_URI:
        return NULL_URI
    items = value if isinstance(value, list) else [value]
    if not items or not all(
        isinstance(s, str) and len(s) <= MAX_ID_LENGTH and SCOPE.fullmatch(s) and text_ok(s)
        for s in items
    ):
        raise Invalid("scope: must be a scope like /Madrid/Gardens or an array of them")
    unique = list(dict.fromkeys(items))
    return unique[0] if len(unique) == 1 else unique


def _long_enough(canonical: str, name: str) -> str:
    """Refuse a name whose IRI would not fit the store (a context can map a term to anything)."""
    if len(canonical) > MAX_ID_LENGTH or not text_ok(canonical):
        raise Invalid(f"{name[:80]}: expands to an IRI too long (over {MAX_ID_LENGTH}) or not text")
    return canonical


def _parse_types(value: Any, context: Context) -> str | list[str]:
    names = value if isinstance(value, list) else [value]
    if not names:
        raise Invalid("type: must name at least one type")
    out: list[str] = []
    for name in names:
        if isinstance(name, str) and (
            name.startswith("@") or context.terms.get(name, "").startswith("@")
        ):
            raise Invalid(f"type: {name!r} is a JSON-LD keyword, not a type")
        canonical = _long_enough(context.to_canonical(check_name(name, "type")), name)
        if canonical not in out:
            out.append(canonical)
    return out[0] if len(out) == 1 else out


def _parse_members(body: Mapping[str, Any], context: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in ENTITY_MEMBERS or name in ("@id", "@type"):
            continue
        canonical = _long_enough(context.to_canonical(check_name(name, "attribute")), name)
        if canonical in out:
            raise Invalid(f"{name}: given twice (under two names for the same IRI)")
        out[canonical] = parse_attribute(canonical, value, context)
    return out


def parse_attribute(
    name: str, value: Any, context: Context, *, _depth: int = 0
) -> dict[str, Any] | list[dict[str, Any]]:
    """Validate one attribute (normalized or concise) into stored form; `name` is canonical."""
    if _depth > _MAX_NESTING:
        raise Invalid(f"{name}: sub-attributes nested too deeply")
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and _looks_like_attribute(v) for v in value)
    ):
        parsed = [_parse_instance(name, v, context, _depth) for v in value]
        seen: set[str | None] = set()
        for instance in parsed:
            dataset = instance.get("datasetId")
            if dataset in seen:
                raise Invalid(f"{name}: two instances with the same datasetId {dataset!r}")
            seen.add(dataset)
        return parsed[0] if len(parsed) == 1 else parsed
    return _parse_instance(name, value, context, _depth)


_ATTRIBUTE_KEYS = frozenset({*VALUE_MEMBER.values(), "type"})


def _looks_like_attribute(value: Mapping[str, Any]) -> bool:
    return not _ATTRIBUTE_KEYS.isdisjoint(value.keys()) and not is_geometry(value)


def is_geometry(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("type") in GEOMETRY_TYPES
        and "coordinates" in value
    )


_FAST_MEMBERS = frozenset({"type", "value", "observedAt", "unitCode"})


def _fast_property(name: str, raw: Any) -> dict[str, Any] | None:
    """The common reading (a number or short text, maybe observedAt and unitCode) parsed
    without the general path, which costs several times more per attribute; None when the
    attribute is anything else."""
    if name in GEO_NAMES:
        return None
    kind = type(raw)
    if kind is int or kind is float:
        return {"type": "Property", "value": raw} if math.isfinite(raw) else None
    if (
        kind is not dict
        or not _FAST_MEMBERS.issuperset(raw)
        or raw.get("type", "Property") != "Property"
    ):
        return None
    value = raw.get("value")
    if type(value) not in (int, float, str) or (type(value) is float and not math.isfinite(value)):
        return None
    if type(value) is str and not text_ok(value):
        return None
    instance: dict[str, Any] = {"type": "Property", "value": value}
    observed = raw.get("observedAt")
    if observed is not None:
        if type(observed) is not str:
            return None
        try:
            instance["observedAt"] = _normal_time(observed)
        except Invalid:
            return None  # the general path words the error
    unit = raw.get("unitCode")
    if unit is not None:
        if type(unit) is not str or not unit or len(unit) > 32 or not text_ok(unit):
            return None
        instance["unitCode"] = unit
    return instance


def _parse_instance(name: str, raw: Any, context: Context, depth: int) -> dict[str, Any]:
    fast = _fast_property(name, raw)
    if fast is not None:
        return fast
    if raw is None:
        raise Invalid(f"{name}: null is not a value (to delete an attribute, use DELETE)")
    if not isinstance(raw, Mapping) or is_geometry(raw) or not _looks_like_attribute(raw):
        # Concise: a bare value (a GeoJSON geometry is a GeoProperty, anything else a Property).
        raw = {"value": raw}
    kind = raw.get("type")
    if kind is not None:
        if not isinstance(kind, str) or context.to_canonical(kind) not in ATTRIBUTE_TYPES:
            raise Invalid(
                f"{name}: unknown attribute type {kind!r} (one of {', '.join(ATTRIBUTE_TYPES)})"
            )
        kind = context.to_canonical(kind)
    else:
        member = next((m for m in _INFER_ORDER if m in raw), "value")
        kind = _INFERRED_TYPE[member]
        if kind == "Property" and (is_geometry(raw.get("value")) or name in GEO_NAMES):
            kind = "GeoProperty"
    if name in GEO_NAMES and kind != "GeoProperty":
        raise Invalid(f"{name}: must be a GeoProperty")
    member = VALUE_MEMBER[kind]
    if member not in raw or raw[member] is None:
        raise Invalid(f"{name}: a {kind} needs `{member}`")
    instance: dict[str, Any] = {
        "type": kind,
        member: _parse_value(name, kind, raw[member], context),
    }
    for key, item in raw.items():
        if key in ("type", member, "createdAt", "modifiedAt", "deletedAt", "instanceId"):
            continue
        if key == "observedAt":
            if not isinstance(item, str):
                raise Invalid(f"{name}.observedAt: expected an ISO 8601 date-time string")
            try:
                instance["observedAt"] = _normal_time(item)
            except Invalid as exc:
                raise Invalid(f"{name}.{exc.message}") from None
        elif key == "unitCode":
            if not isinstance(item, str) or not item or len(item) > 32 or not text_ok(item):
                raise Invalid(f"{name}.unitCode: must be a UN/CEFACT code string")
            instance["unitCode"] = item
        elif key == "datasetId":
            if not is_uri(item):
                raise Invalid(f"{name}.datasetId: must be a URI")
            instance["datasetId"] = item
        elif key == "objectType" and kind in ("Relationship", "ListRelationship"):
            instance["objectType"] = _parse_types(item, context)
        elif key == "lang" and kind == "Property":
            continue  # output-only member of a language-reduced LanguageProperty
        elif key in ATTRIBUTE_MEMBERS:
            raise Invalid(f"{name}: `{key}` does not belong in a {kind}")
        else:
            sub = context.to_canonical(check_name(key, f"{name} sub-attribute"))
            parsed = parse_attribute(sub, item, context, _depth=depth + 1)
            if isinstance(parsed, list):
                raise Invalid(f"{name}.{key}: a sub-attribute has one instance")
            instance[sub] = parsed
    return instance


def _parse_value(name: str, kind: str, value: Any, context: Context) -> Any:
    where = f"{name}.{VALUE_MEMBER[kind]}"
    if value == NULL_URI or (isinstance(value, Mapping) and value == {"@none": NULL_URI}):
        return value  # NGSI-LD Null: deletes the instance where a write allows it
    _check_json(value, where)
    if kind == "GeoProperty":
        check_geometry(value, where=where)
        return value
    if kind == "Relationship":
        objects = value if isinstance(value, list) else [value]
        if not objects or not all(is_uri(o) for o in objects):
            raise Invalid(f"{where}: a relationship's object must be a URI (or a list of URIs)")
        return value
    if kind == "ListRelationship":
        if not isinstance(value, list):
            raise Invalid(f"{where}: must be a list of URIs")
        objects = [o.get("object") if isinstance(o, Mapping) else o for o in value]
        if not all(is_uri(o) for o in objects):
            raise Invalid(f"{where}: must be a list of URIs")
        return objects
    if kind == "LanguageProperty":
        if not isinstance(value, Mapping) or not value:
            raise Invalid(f"{where}: must be an object of language tag → string")
        for tag, text in value.items():
            if not _LANG_TAG.fullmatch(tag):
                raise Invalid(f"{where}: {tag!r} is not a language tag")
            texts = text if isinstance(text, list) else [text]
            if not all(isinstance(t, str) for t in texts):
                raise Invalid(f"{where}: the value for {tag!r} must be a string")
        return dict(value)
    if kind == "VocabProperty":
        terms = value if isinstance(value, list) else [value]
        if not terms or not all(isinstance(t, str) and t for t in terms):
            raise Invalid(f"{where}: must be a term or a list of terms")
        canonical = [context.to_canonical(t) for t in terms]
        return canonical if isinstance(value, list) else canonical[0]
    if kind == "ListProperty" and not isinstance(value, list):
        raise Invalid(f"{where}: must be a list")
    return value


def types_of(entity: Mapping[str, Any]) -> tuple[str, ...]:
    """The entity's canonical types (one or more)."""
    kind = entity.get("type")
    if isinstance(kind, list):
        return tuple(kind)
    return (kind,) if isinstance(kind, str) else ()


def attributes_of(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity's attributes (everything but id, type, @context and system members)."""
    return {k: v for k, v in entity.items() if k not in ENTITY_MEMBERS}


def instances(attribute: Any) -> list[dict[str, Any]]:
    """The instances of a stored attribute (one dict, or the list for several datasetIds)."""
    if isinstance(attribute, list):
        return attribute
    return [attribute] if isinstance(attribute, dict) else []


def is_null(instance: Mapping[str, Any]) -> bool:
    """Does this attribute instance carry NGSI-LD Null (clause 4.5.5), which deletes it?"""
    value = instance.get(VALUE_MEMBER.get(instance.get("type", ""), "value"))
    if value == NULL_URI or value == [NULL_URI]:
        return True
    return isinstance(value, Mapping) and len(value) == 1 and value.get("@none") == NULL_URI


def observations(
    entity_id: str,
    entity_type: str,
    attributes: Mapping[str, Any],
    *,
    now: datetime,
    area_code: str | None,
    source: str,
) -> list[Observation]:
    """One observation per attribute instance written (time = observedAt, else `now`).

    Numbers (and booleans as 0/1) go to `value`; strings to `text`; relationships their object,
    geometries, language maps and structured values their JSON text.
    """
    out: list[Observation] = []
    for name, attribute in attributes.items():
        if name in ENTITY_MEMBERS:
            continue
        for instance in instances(attribute):
            kind = instance.get("type", "Property")
            raw = instance.get(VALUE_MEMBER.get(kind, "value"))
            observed = instance.get("observedAt")
            time = _stored_time(observed) if observed else now
            number: float | None = None
            text: str | None = None
            if isinstance(raw, bool):
                number = 1.0 if raw else 0.0
            elif isinstance(raw, int | float):
                number = float(raw)
            elif isinstance(raw, str):
                text = raw
            elif raw is not None:
                text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            if number is None and text is None:
                continue
            unit = instance.get("unitCode")
            row = (time, entity_id, entity_type, name, number, text, unit, area_code, source)
            out.append(Observation(*row))
    return out
