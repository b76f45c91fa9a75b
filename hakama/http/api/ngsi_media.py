"""Media handling shared by the NGSI-LD routers (clause 6.3): content types, the @context of a
request (Link header or body), the representation asked for (Accept), and responses that carry
the @context the way the client reads it (Link header for JSON, `@context` member for JSON-LD).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.errors import HakamaError, Invalid
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.offload import run_blocking
from hakama.services import contexts
from hakama.services.platform import Platform

JSON = "application/json"
JSONLD = "application/ld+json"
GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
MAX_BODY_BYTES = 32 * 1024 * 1024
TENANT_HEADER = "NGSILD-Tenant"
COUNT_HEADER = "NGSILD-Results-Count"


def check_tenant(request: Request) -> None:
    """hakama serves one territory per instance: a tenant header is refused as the spec says."""
    if request.headers.get(TENANT_HEADER):
        raise NgsiError(
            ErrorKind.NO_MULTI_TENANT_SUPPORT,
            "this broker does not support multi-tenancy (NGSILD-Tenant)",
        )


def check_entity_id(entity_id: str) -> None:
    """An entity id in a path must be a URI (clause 4.5.1)."""
    if not core_entities.is_uri(entity_id):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, f"{entity_id[:80]!r} is not a valid entity id (a URI)"
        )


def strip_context(body: Any) -> Any:
    """A body without its `@context` member (read already by `read_body`)."""
    if isinstance(body, Mapping):
        return {k: v for k, v in body.items() if k != "@context"}
    return body


_KNOWN_PARAMETERS: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> frozenset[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def known_parameters(request: Request) -> None:
    """Refuse a query parameter the operation does not define (clause 6.3.20, since v1.7.1):
    400 InvalidRequest, rather than silently answering as if it had not been sent."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _KNOWN_PARAMETERS.get(id(route))
    if known is None:
        known = _KNOWN_PARAMETERS[id(route)] = _query_names(dependant)
    unknown = sorted({k for k in request.query_params if k not in known})
    if unknown:
        raise NgsiError(
            ErrorKind.INVALID_REQUEST,
            f"unknown query parameter {', '.join(repr(u[:40]) for u in unknown[:5])} "
            f"(this operation takes: {', '.join(sorted(known)) or 'none'})",
        )


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


async def request_context(request: Request, platform: Platform) -> jsonld.Context:
    """The @context of a request without a body: the Link header's, else the core context."""
    check_tenant(request)
    url = jsonld.parse_link_header(request.headers.get("link"))
    if url is None:
        return jsonld.core()
    return await run_blocking(contexts.build, platform, url)


async def read_body(
    request: Request,
    platform: Platform,
    *,
    merge_patch: bool = False,
    names: bool = True,
    expect: type | None = None,
) -> tuple[Any, jsonld.Context]:
    """The JSON body and its @context, with the checks of clause 6.3.4.

    415 for a content type other than JSON / JSON-LD (and merge-patch where allowed);
    InvalidRequest for unparsable JSON; BadRequestData for an `@context` member sent as
    `application/json`, or none sent as `application/ld+json`.
    """
    check_tenant(request)
    media = _media_type(request.headers.get("content-type"))
    allowed = {JSON, JSONLD} | ({MERGE_PATCH} if merge_patch else set())
    if media not in allowed:
        raise NgsiError(
            ErrorKind.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {media or '(none)'!r} is not supported; use {' or '.join(sorted(allowed))}",
            status=415,
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, f"body larger than {MAX_BODY_BYTES} bytes", status=413
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, f"body larger than {MAX_BODY_BYTES} bytes", status=413
        )
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NgsiError(ErrorKind.INVALID_REQUEST, f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise NgsiError(ErrorKind.INVALID_REQUEST, "the body is nested too deeply") from None
    if expect is not None and not isinstance(body, expect):
        raise NgsiError(
            ErrorKind.INVALID_REQUEST,
            f"the body must be a JSON {'array' if expect is list else 'object'}",
        )
    link = jsonld.parse_link_header(request.headers.get("link"))
    if link is not None and media == JSONLD:
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA,
            "a Link header @context cannot come with an application/ld+json body (clause 6.3.5)",
        )
    if not names:
        return body, jsonld.core()  # the caller reads the names (or there are none)
    inline = _inline_context(body)
    if media == JSONLD:
        if inline is None:
            raise NgsiError(
                ErrorKind.BAD_REQUEST_DATA, "an application/ld+json body needs an @context member"
            )
        value: jsonld.ContextValue = inline
    else:
        if inline is not None:
            raise NgsiError(
                ErrorKind.BAD_REQUEST_DATA,
                "an application/json body must not carry @context; send it as application/ld+json or in a Link header",
            )
        value = link
    context = await run_blocking(contexts.build, platform, value)
    return body, context


async def batch_groups(
    request: Request, platform: Platform, body: Any
) -> tuple[list[tuple[jsonld.Context, list[Any]]], list[tuple[Any, HakamaError]]]:
    """The entities of a batch body grouped by the @context they are written under, and
    those refused one by one (clause 6.3.5 applied per entity, answered in a 207): an
    `@context` member in an application/json entity, none in an application/ld+json one."""
    media = _media_type(request.headers.get("content-type"))
    link = jsonld.parse_link_header(request.headers.get("link"))
    groups: dict[str, tuple[jsonld.ContextValue, list[Any]]] = {}
    refused: list[tuple[Any, HakamaError]] = []
    for item in body:
        value: jsonld.ContextValue = link
        if isinstance(item, Mapping):
            inline = item.get("@context")
            if media == JSONLD and inline is None:
                refused.append(
                    (item.get("id"), Invalid("an application/ld+json entity needs @context"))
                )
                continue
            if media != JSONLD and inline is not None:
                refused.append(
                    (item.get("id"), Invalid("an application/json entity must not carry @context"))
                )
                continue
            if media == JSONLD:
                value = inline
            item = {k: v for k, v in item.items() if k != "@context"}
        key = json.dumps(value, sort_keys=True, default=str)
        groups.setdefault(key, (value, []))[1].append(item)
    resolved: list[tuple[jsonld.Context, list[Any]]] = []
    for value, items in groups.values():
        try:
            resolved.append((await run_blocking(contexts.build, platform, value), items))
        except HakamaError as exc:  # e.g. LdContextNotAvailable: those entities fail alone
            refused.extend(
                (item.get("id") if isinstance(item, Mapping) else None, exc) for item in items
            )
    return resolved, refused


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _inline_context(body: Any) -> jsonld.ContextValue:
    """The @context of a body: of the object, or shared by every object of an array."""
    if isinstance(body, Mapping):
        found: jsonld.ContextValue = body.get("@context")
        return found
    if isinstance(body, list) and body and all(isinstance(b, Mapping) for b in body):
        values = [b.get("@context") for b in body]
        present = [v for v in values if v is not None]
        if not present:
            return None
        if len(present) != len(values) or any(v != present[0] for v in present):
            raise NgsiError(
                ErrorKind.BAD_REQUEST_DATA, "every entity of the array must carry the same @context"
            )
        first: jsonld.ContextValue = present[0]
        return first
    return None


def negotiate(request: Request, *, geojson: bool = False) -> str:
    """The response media type from Accept (JSON by default); 406 when none can be served."""
    header = request.headers.get("accept")
    if not header:
        return JSON
    offered = [JSON, JSONLD, *([GEOJSON] if geojson else [])]
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, index, media.lower()))
    for negative_quality, _, media in sorted(ranked):
        if negative_quality >= 0:
            continue
        if media in offered:
            return media
        if media in ("*/*", "application/*"):
            return JSON
    raise NgsiError(
        ErrorKind.NOT_ACCEPTABLE,
        f"cannot answer as {header!r}; accepted: {', '.join(offered)}",
        status=406,
    )


def link_for(context: jsonld.Context) -> str:
    """The Link header naming the context the response's names are compacted with."""
    refs = context.references
    if len(refs) == 1 and isinstance(refs[0], str):
        return jsonld.link_header(refs[0])
    return jsonld.link_header()


def page_links(request: Request, *, offset: int, limit: int, more: bool, media: str) -> str:
    """The `Link` header of a page of results (clause 6.3.x pagination): `rel="prev"` unless
    this is the first page, `rel="next"` when more results follow ("" when neither)."""
    links = []
    query = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def url(at: int, rel: str) -> str:
        params = urlencode({**query, "limit": limit, "offset": at})
        path = request.url.path.rstrip("/")  # the collection, however the client wrote it
        return f'<{path}?{params}>; rel="{rel}"; type="{media}"'

    if offset > 0 and limit > 0:
        links.append(url(max(0, offset - limit), "prev"))
    if more and limit > 0:
        links.append(url(offset + limit, "next"))
    return ", ".join(links)


def respond(
    payload: Any,
    context: jsonld.Context,
    media: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    with_context: bool = True,
) -> Response:
    """A JSON response: `@context` inside each object for JSON-LD, a Link header otherwise."""
    extra = dict(headers or {})
    if with_context and media == JSONLD:
        payload = _with_context(payload, context)
    elif with_context and media == GEOJSON and isinstance(payload, dict):
        payload = {**payload, "@context": context.body_context()}  # clause 6.3.15
    elif with_context:
        pages = extra.get("Link")
        extra["Link"] = f"{link_for(context)}, {pages}" if pages else link_for(context)
    return JSONResponse(payload, status_code=status, media_type=media, headers=extra)


def _with_context(payload: Any, context: jsonld.Context) -> Any:
    if isinstance(payload, dict):
        return {**payload, "@context": context.body_context()}
    if isinstance(payload, list):
        return [_with_context(p, context) for p in payload]
    return payload


def split_names(value: str | None, context: jsonld.Context) -> list[str]:
    """A comma-separated list of attribute names from a query string, in canonical form;
    BadRequestData for a name that cannot be an attribute (`id`, `type`, spaces…)."""
    names = split(value)
    for name in names:
        if name in core_entities.ENTITY_MEMBERS or not core_entities.valid_name(name):
            raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{name[:80]!r} is not an attribute name")
    return [context.to_canonical(n) for n in names]


def attribute_name(name: str, context: jsonld.Context) -> str:
    """The canonical name of an attribute named in a path; BadRequestData if it cannot be one."""
    if not core_entities.valid_name(name):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{name[:80]!r} is not an attribute name")
    return context.to_canonical(name)


def split(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.replace("|", ",").split(",") if part.strip()]


def options(value: str | None, allowed: Sequence[str]) -> set[str]:
    """The `options` parameter as a set; an unknown option is InvalidRequest (clause 6.3.20)."""
    chosen = set(split(value))
    unknown = chosen - set(allowed)
    if unknown:
        raise NgsiError(
            ErrorKind.INVALID_REQUEST,
            f"options: unknown {', '.join(sorted(unknown))} (allowed: {', '.join(allowed)})",
        )
    return chosen
