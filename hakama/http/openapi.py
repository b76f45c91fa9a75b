"""The OpenAPI document, telling the truth about errors.

FastAPI documents each operation's success answer and, when it has parameters, a 422 with its
own validation schema. hakama answers errors in the format of each standard: NGSI-LD's
ProblemDetails (`application/json`, bad input is 400 there, 422 is OperationNotSupported),
Open311's error list (JSON or XML), and `application/problem+json` everywhere else (a page for
a browser asking for HTML). `document_errors` adds, to every operation, the error answers the
routes of its family give, with their media types and schemas, so a client generated from the
document (or schemathesis) meets no undocumented status code or content type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hakama.core.requests import Status
from hakama.http.api import ckan
from hakama.http.openapi_ngsi import document_ngsi_ld

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["title", "status"],
}
OPEN311_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}
CKAN_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "help": {"type": "string"},
        "success": {"type": "boolean"},
        "error": {"type": "object"},
    },
    "required": ["success"],
}
HTML = {"text/html": {"schema": {"type": "string"}}}
TEXT = {"schema": {"type": "string"}}
RDF = {"text/turtle": TEXT, "application/ld+json": {}, "application/rdf+xml": TEXT}

#: (path prefix, name, error statuses, their content) — the first matching prefix wins. Each
#: error answer is written once, under components/responses, and referenced by the operations.
FAMILIES: tuple[tuple[str, str, tuple[int, ...], dict[str, Any]], ...] = (
    (
        "/ngsi-ld/",
        "NgsiLd",
        (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 501, 503),
        {
            "application/json": {"schema": PROBLEM_SCHEMA},
            # What the app answers before the NGSI-LD router runs (a revoked or unknown key).
            "application/problem+json": {"schema": PROBLEM_SCHEMA},
        },
    ),
    (
        "/open311/",
        "Open311",
        (400, 401, 403, 404, 413, 415, 422, 503),
        {
            "application/json": {"schema": OPEN311_ERRORS_SCHEMA},
            "text/xml": {"schema": {"type": "string"}},
            # What the app answers before the Open311 router runs (CSRF, bad key, validation).
            "application/problem+json": {"schema": PROBLEM_SCHEMA},
        },
    ),
    *(
        (
            prefix,
            "Ckan",
            (400, 401, 403, 404, 405, 409, 413, 415, 422, 503),
            {
                "application/json": {"schema": CKAN_ERROR_SCHEMA},
                "application/problem+json": {"schema": PROBLEM_SCHEMA},
            },
        )
        for prefix in ("/api/3/action/", "/api/action/")
    ),
    (
        "/",
        "Problem",
        (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503),
        {"application/problem+json": {"schema": PROBLEM_SCHEMA}, **HTML},
    ),
)
DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or a wrong API key",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    501: "Not implemented",
    503: "Unavailable (the time limit of a query, or the database)",
}


_FORM = "application/x-www-form-urlencoded"
_STR = {"type": "string", "pattern": "^[^\\x00]*$"}  # text, without NUL
_WHO = {"api_key": _STR, "token": _STR, "description": _STR}
#: Open311's bodies are forms that its routers read themselves: what they read, by operation.
OPEN311_BODIES: dict[str, dict[str, Any]] = {
    "open311_create_request": {
        _FORM: {
            "schema": {
                "type": "object",
                "properties": {
                    "api_key": _STR,
                    "service_code": {"type": "string", "minLength": 1},
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "long": {"type": "number", "minimum": -180, "maximum": 180},
                    "address_string": _STR,
                    "address_id": _STR,
                    "description": _STR,
                    "first_name": _STR,
                    "last_name": _STR,
                    "email": _STR,
                    "phone": _STR,
                    "media_url": _STR,
                },
                "required": ["api_key", "service_code"],
            }
        }
    },
    "open311x_post_update": {
        _FORM: {
            "schema": {
                "type": "object",
                "properties": {
                    **_WHO,
                    "status": {"enum": [s.value for s in Status]},
                    "public": {"type": "boolean"},
                },
            }
        }
    },
    **{
        f"open311x_{name}": {_FORM: {"schema": {"type": "object", "properties": _WHO}}}
        for name in ("reopen", "confirm", "contest")
    },
    "open311x_post_media": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {**_WHO, "media": {"type": "string", "format": "binary"}},
                "required": ["media"],
            }
        }
    },
}


#: Rules a request must follow that OpenAPI cannot state (between parameters, or on a value the
#: server looks up), by operation: the operation's description lists them, and the server's
#: 400/422 answer quotes them (tests/http/test_openapi_truth.py accepts a valid-looking request
#: refused only for one of these).
_TIME_RULES = (
    "attrs cannot be combined with pick or omit",
    "timerel needs timeAt",
    "timeAt and endTimeAt need timerel",
    "endTimeAt must be after timeAt",
    "aggregatedValues needs aggrMethods",
    "aggrPeriodDuration needs aggrMethods",
)
UNSTATED_RULES: dict[str, tuple[str, ...]] = {
    "ngsi_query_entities": (
        "give at least one of type, id, idPattern, attrs, q, georel",
        "a geo-query needs georel, geometry and coordinates together",
        "no area with code",
        "limit must be positive (0 only with count=true)",
        "attrs cannot be combined with pick or omit",
    ),
    "ngsi_get_entity": ("attrs cannot be combined with pick or omit",),
    "ngsi_temporal_query": (
        "give at least one of type, idPattern, attrs, q, georel",
        "a geo-query needs georel, geometry and coordinates together",
        *_TIME_RULES,
    ),
    "ngsi_batch_query": ("limit must be positive (0 only with count=true)",),
    "ngsi_temporal_retrieve": _TIME_RULES,
    "ngsi_temporal_batch_query": _TIME_RULES,
    "admin_create_key": ("cannot have scope",),  # a role's scopes: docs/security.md
    "admin_create_user": ("cannot have scope",),
    "open311x_post_update": ("a comment cannot be empty",),
    "open311x_post_media": (
        "the file is not a readable JPEG, PNG or WebP image",
        "the multipart form could not be read",
        "the photo is empty",
    ),
    "push_records": (
        "name the commune: `area_code`",
        "fields as GET /api/records/types describes the record type",
    ),
}
_RECORDS = {"type": "array", "items": {"type": "object"}, "maxItems": 5}
#: Bodies the routers read themselves, outside NGSI-LD and Open311, by operation.
BODIES: dict[str, dict[str, Any]] = {
    "push_records": {
        "oneOf": [
            _RECORDS,
            {
                "type": "object",
                "properties": {"area_code": _STR, "records": _RECORDS},
                "required": ["records"],
                "additionalProperties": False,
            },
        ]
    },
}


def document_open311(path: str, operation: dict[str, Any]) -> None:
    """`{fmt}` is json or xml; POST bodies are the forms the routers read."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") == "fmt":
            parameter["schema"] = {"type": "string", "enum": ["json", "xml"]}
    for status, answer in operation.get("responses", {}).items():
        if status.startswith("2"):
            answer.setdefault("content", {}).setdefault("text/xml", {"schema": {"type": "string"}})
    body = OPEN311_BODIES.get(operation.get("operationId", ""))
    if body is not None and "requestBody" not in operation:
        operation["requestBody"] = {"required": True, "content": body}


#: DCAT-AP answers: RDF in the format the Accept header or the extension asks for.
RDF_PATHS = ("/catalog", "/catalog.{ext}", "/data/{dataset_id}.{ext}")


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add every family's error answers to each operation of `schema` (in place)."""
    shared = schema.setdefault("components", {}).setdefault("responses", {})
    for path, item in schema.get("paths", {}).items():
        name, statuses, content = next(
            (n, s, c) for prefix, n, s, c in FAMILIES if path.startswith(prefix)
        )
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if path.startswith("/open311/"):
                document_open311(path, operation)
            if path.startswith("/ngsi-ld/"):
                document_ngsi_ld(operation)
            if path.startswith(("/api/3/action/", "/api/action/")):
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == "name":
                        parameter["schema"] = {"enum": sorted(ckan.ACTIONS)}
            body = BODIES.get(operation.get("operationId", ""))
            if body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                }
            rules = UNSTATED_RULES.get(operation.get("operationId", ""))
            if rules:
                said = "; ".join(rules)
                operation["description"] = f"{operation.get('description', '')}\n\nAlso: {said}.".strip()
            if path in RDF_PATHS:
                for status, answer in operation["responses"].items():
                    if status.startswith("2"):
                        answer["content"] = {**answer.get("content", {}), **RDF}
            responses = operation["responses"]
            for status in statuses:
                existing = responses.get(str(status))
                # FastAPI's own 422 describes its validation errors, which hakama never sends.
                if existing is None or "HTTPValidationError" in str(existing):
                    key = f"{name}{status}"
                    shared.setdefault(
                        key, {"description": DESCRIPTIONS[status], "content": content}
                    )
                    responses[str(status)] = {"$ref": f"#/components/responses/{key}"}
    return schema


def install(app: FastAPI) -> None:
    """Serve the document with the errors documented (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
