"""What the NGSI-LD routers read themselves, written into the OpenAPI document.

The NGSI-LD routers parse their JSON(-LD) bodies and their string parameters by the rules of the
specification (clauses 4 and 6), so FastAPI cannot describe them. This module does: a request
body per operation and a schema per parameter, strict enough that a request the document calls
valid is one the server accepts (schemathesis checks both ways in tests/http/test_openapi_truth.py).
The schemas show the common forms; the specification allows more (any absolute URI as an id,
other attribute types and sub-attributes), which the server accepts too.

Rules that OpenAPI cannot state (between parameters) are in `hakama.http.openapi.UNSTATED_RULES`.
"""

from __future__ import annotations

from typing import Any

#: An absolute URI, in the plain form most clients use (`urn:ngsi-ld:Type:local-id`, `https://…`).
URI: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[a-z][a-z0-9+.-]{0,9}:[A-Za-z0-9._~:@!$&'()*+,;=-]{1,120}$",
    "description": "An absolute URI (RFC 3986), e.g. urn:ngsi-ld:AirQualityObserved:berkane-01",
}
#: Attribute names that are not attributes (members of the entity) or must be GeoProperties.
_RESERVED = "id|type|scope|location|observationSpace|operationSpace|createdAt|modifiedAt|deletedAt"
NAME: dict[str, Any] = {
    "type": "string",
    "pattern": rf"^(?!(?:{_RESERVED})$)[a-z][A-Za-z0-9_]{{0,30}}$",
    "description": "An attribute name (a term of the @context, or a URI)",
}
TYPE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Z][A-Za-z0-9_]{0,40}$",
    "description": "An entity type (a term of the @context, or a URI)",
}
TIME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z$",
    "description": "An instant, ISO 8601 in UTC",
}
_TEXT = {"type": "string", "pattern": r"^[A-Za-z0-9 .,:_-]{0,60}$"}
_NUMBER = {"type": "number", "minimum": -1e9, "maximum": 1e9}
_VALUE = {"oneOf": [_TEXT, _NUMBER, {"type": "boolean"}]}
_POINT = {
    "type": "object",
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {
            "type": "array",
            "items": {"type": "number", "minimum": -90, "maximum": 90},
            "minItems": 2,
            "maxItems": 2,
        },
    },
    "required": ["type", "coordinates"],
    "additionalProperties": False,
}


def _attribute(kind: str, member: str, value: dict[str, Any], *extra: str) -> dict[str, Any]:
    more = {"observedAt": TIME} if "observedAt" in extra else {}
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, member: value, **more},
        "required": ["type", member, *(e for e in extra if e != "optional")],
        "additionalProperties": False,
    }


PROPERTY = _attribute("Property", "value", _VALUE)
ATTRIBUTE: dict[str, Any] = {
    "description": "A Property, Relationship or GeoProperty (clause 4.5); more forms are accepted",
    "oneOf": [
        PROPERTY,
        _attribute("Relationship", "object", URI),
        _attribute("GeoProperty", "value", _POINT),
    ],
}
INSTANCE = _attribute("Property", "value", _VALUE, "observedAt")


def _attributes(attribute: dict[str, Any], *, min_properties: int = 1) -> dict[str, Any]:
    return {
        "type": "object",
        "patternProperties": {NAME["pattern"]: attribute},
        "additionalProperties": False,
        "minProperties": min_properties,
        "maxProperties": 4,
    }


def _entity(attribute: dict[str, Any]) -> dict[str, Any]:
    attributes = _attributes(attribute, min_properties=0)
    return {
        "type": "object",
        "properties": {"id": URI, "type": TYPE},
        "patternProperties": attributes["patternProperties"],
        "required": ["id", "type"],
        "additionalProperties": False,
        "maxProperties": 6,
    }


ENTITY = _entity(ATTRIBUTE)
TEMPORAL_ENTITY = _entity({"type": "array", "items": INSTANCE, "minItems": 1, "maxItems": 3})
_BATCH = {"type": "array", "items": ENTITY, "minItems": 1, "maxItems": 4}
_ENDPOINT = {
    "type": "object",
    "properties": {
        "uri": {"type": "string", "pattern": r"^https://[a-z]{1,12}\.example/[a-z]{0,12}$"},
        "accept": {"enum": ["application/json", "application/ld+json"]},
    },
    "required": ["uri"],
    "additionalProperties": False,
}
_SELECTOR = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"type": TYPE},
        "required": ["type"],
        "additionalProperties": False,
    },
    "minItems": 1,
    "maxItems": 2,
}
SUBSCRIPTION = {
    "type": "object",
    "properties": {
        "type": {"const": "Subscription"},
        "entities": _SELECTOR,
        "description": _TEXT,
        "notification": {
            "type": "object",
            "properties": {"endpoint": _ENDPOINT},
            "required": ["endpoint"],
            "additionalProperties": False,
        },
    },
    "required": ["type", "entities", "notification"],
    "additionalProperties": False,
}
SUBSCRIPTION_PATCH = {
    "type": "object",
    "properties": {"description": _TEXT, "isActive": {"type": "boolean"}},
    "minProperties": 1,
    "additionalProperties": False,
}
QUERY = {
    "type": "object",
    "properties": {"type": {"const": "Query"}, "entities": _SELECTOR},
    "required": ["type", "entities"],
    "additionalProperties": False,
}
CONTEXT = {
    "type": "object",
    "properties": {
        "@context": {
            "type": "object",
            "patternProperties": {NAME["pattern"]: URI},
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 4,
        }
    },
    "required": ["@context"],
    "additionalProperties": False,
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


#: The body of each operation that has one (JSON; the same with "@context" as application/ld+json).
BODIES: dict[str, dict[str, Any]] = {
    "ngsi_create_entity": ENTITY,
    "ngsi_replace_entity": {**ENTITY, "required": ["type"], "properties": {"type": TYPE}},
    "ngsi_merge_entity": _attributes(ATTRIBUTE),
    "ngsi_append_attrs": _attributes(ATTRIBUTE),
    "ngsi_update_attrs": _attributes(ATTRIBUTE),
    "ngsi_patch_attr": PROPERTY,
    "ngsi_replace_attr": PROPERTY,
    "ngsi_batch_create": _BATCH,
    "ngsi_batch_upsert": _BATCH,
    "ngsi_batch_update": _BATCH,
    "ngsi_batch_merge": _BATCH,
    "ngsi_batch_delete": {"type": "array", "items": URI, "minItems": 1, "maxItems": 4},
    "ngsi_batch_query": QUERY,
    "ngsi_temporal_batch_query": QUERY,
    "ngsi_add_context": CONTEXT,
    "ngsi_temporal_create": TEMPORAL_ENTITY,
    "ngsi_temporal_append": _attributes(
        {"type": "array", "items": INSTANCE, "minItems": 1, "maxItems": 3}
    ),
    "ngsi_temporal_modify_instance": _attributes(INSTANCE, min_properties=1),
    "ngsi_subscription_create": SUBSCRIPTION,
    "ngsi_subscription_update": SUBSCRIPTION_PATCH,
}


def _words(*words: str) -> dict[str, Any]:
    """A comma-separated list of some of `words`."""
    one = "|".join(words)
    return {"type": "string", "pattern": rf"^({one})(,({one}))*$"}


def _list_of(schema: dict[str, Any]) -> dict[str, Any]:
    item = schema["pattern"].strip("^$")
    return {"type": "string", "pattern": rf"^{item}(,{item}){{0,3}}$"}


#: Items of the lists split on commas (a URI without one; a name that is not a reserved member).
_NAME_ITEM = rf"(?!(?:{_RESERVED})(?:,|$))[a-z][A-Za-z0-9_]{{0,30}}"
_URI_ITEM = r"[a-z][a-z0-9+.-]{0,9}:[A-Za-z0-9._~:@!$&'()*+;=-]{1,120}"
_REPRESENTATION = ("keyValues", "simplified", "concise", "sysAttrs", "normalized")
#: Parameters by name, then by operation where they differ.
PARAMETERS: dict[str, dict[str, Any]] = {
    "entity_id": URI,
    "sub_id": URI,
    "instance_id": URI,
    "context_id": URI,
    "attr": NAME,
    "type_name": TYPE,
    "id": _list_of(URI),
    "type": _list_of(TYPE),
    "attrs": _list_of(NAME),
    "pick": _list_of(NAME),
    "omit": _list_of(NAME),
    "datasetId": URI,
    "idPattern": {"type": "string", "pattern": r"^urn:ngsi-ld:[A-Za-z]{1,12}:(\.\*|[a-z0-9]{1,8})$"},
    "q": {"type": "string", "pattern": r"^[a-z][A-Za-z0-9]{0,12}(==|!=|>=|<=|<|>)[0-9]{1,6}$"},
    "scopeQ": {"type": "string", "pattern": r"^/[A-Za-z0-9]{1,12}(/[A-Za-z0-9]{1,12}){0,2}$"},
    "lang": {"type": "string", "pattern": r"^(ar|fr|en|\*)$"},
    "format": {"enum": ["normalized", "keyValues", "simplified", "concise"]},
    "options": _words(*_REPRESENTATION),
    "join": {"enum": ["flat", "inline", "@none"]},
    "containedBy": {"type": "string", "pattern": rf"^{_URI_ITEM}(,{_URI_ITEM}){{0,3}}$"},
    "expandValues": {"type": "string", "pattern": rf"^{_NAME_ITEM}(,{_NAME_ITEM}){{0,3}}$"},
    "geometryProperty": NAME,
    "geoproperty": NAME,
    "timeproperty": {"enum": ["observedAt"]},  # the history keeps observedAt only
    "timerel": {"enum": ["before", "after", "between"]},
    "timeAt": TIME,
    "endTimeAt": TIME,
    "lastN": {"type": "string", "pattern": r"^[1-9][0-9]{0,3}$"},
    "limit": {"type": "integer", "minimum": 0, "maximum": 1000},
    "georel": {"type": "string", "pattern": r"^near;(max|min)Distance==[1-9][0-9]{0,4}$"},
    "geometry": {"enum": ["Point"]},
    "coordinates": {
        "type": "string",
        "pattern": r"^\[-?[0-9]{1,2}(\.[0-9]{1,5})?,-?[0-9]{1,2}(\.[0-9]{1,5})?\]$",
    },
    "aggrMethods": _words("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq"),
    "aggrPeriodDuration": {"type": "string", "pattern": r"^P([1-9]D|T[1-9]H)$"},
}
PARAMETERS_BY_OPERATION: dict[tuple[str, str], dict[str, Any]] = {
    ("ngsi_append_attrs", "options"): _words("noOverwrite"),
    ("ngsi_batch_update", "options"): _words("noOverwrite"),
    ("ngsi_batch_upsert", "options"): {"enum": ["replace", "update"]},
    **{
        (operation, "options"): _words(
            "temporalValues", "aggregatedValues", "sysAttrs", "keyValues", "concise", "normalized"
        )
        for operation in ("ngsi_temporal_query", "ngsi_temporal_retrieve", "ngsi_temporal_batch_query")
    },
    **{
        (operation, "format"): {"enum": ["normalized", "temporalValues", "aggregatedValues"]}
        for operation in ("ngsi_temporal_query", "ngsi_temporal_retrieve", "ngsi_temporal_batch_query")
    },
}
_NONE = {"description": "Done (no body)"}
_CREATED = {"description": "Created; the Location header names it"}
_MULTI = {
    "description": "Done in part: what succeeded and what failed, and why (clause 5.2.17)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"success": {"type": "array"}, "errors": {"type": "array"}},
            }
        }
    },
}
_IDS = {
    "description": "Created: the ids",
    "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}},
}
#: The success answers of the operations that do not answer 200 with a JSON body.
SUCCESSES: dict[str, dict[str, Any]] = {
    "ngsi_create_entity": {"201": _CREATED},
    "ngsi_replace_entity": {"204": _NONE},
    "ngsi_merge_entity": {"204": _NONE},
    "ngsi_append_attrs": {"204": _NONE, "207": _MULTI},
    "ngsi_update_attrs": {"204": _NONE, "207": _MULTI},
    "ngsi_patch_attr": {"204": _NONE},
    "ngsi_replace_attr": {"204": _NONE},
    "ngsi_delete_entity": {"204": _NONE},
    "ngsi_delete_attr": {"204": _NONE},
    "ngsi_batch_create": {"201": _IDS, "207": _MULTI},
    "ngsi_batch_upsert": {"201": _IDS, "204": _NONE, "207": _MULTI},
    "ngsi_batch_update": {"204": _NONE, "207": _MULTI},
    "ngsi_batch_merge": {"204": _NONE, "207": _MULTI},
    "ngsi_batch_delete": {"204": _NONE, "207": _MULTI},
    "ngsi_add_context": {"201": _CREATED},
    "ngsi_delete_context": {"204": _NONE},
    "ngsi_temporal_create": {"201": _CREATED, "204": _NONE},
    "ngsi_temporal_append": {"204": _NONE, "207": _MULTI},
    "ngsi_temporal_modify_instance": {"204": _NONE},
    "ngsi_temporal_delete": {"204": _NONE},
    "ngsi_temporal_delete_attr": {"204": _NONE},
    "ngsi_temporal_delete_instance": {"204": _NONE},
    "ngsi_subscription_create": {"201": _CREATED},
    "ngsi_subscription_update": {"204": _NONE},
    "ngsi_subscription_delete": {"204": _NONE},
}


def document_ngsi_ld(operation: dict[str, Any]) -> None:
    """Write the body and the parameter schemas of one NGSI-LD operation (in place)."""
    name = operation.get("operationId", "")
    for parameter in operation.get("parameters", []):
        schema = PARAMETERS_BY_OPERATION.get((name, parameter["name"])) or PARAMETERS.get(
            parameter["name"]
        )
        if schema is not None:
            parameter["schema"] = schema
    successes = SUCCESSES.get(name)
    if successes is not None:
        responses = operation.setdefault("responses", {})
        for status in [s for s in responses if s.startswith("2")]:
            del responses[status]
        responses.update(successes)
    body = BODIES.get(name)
    if body is not None and "requestBody" not in operation:
        operation["requestBody"] = {"required": True, "content": _json(body)}
