"""`/ngsi-ld/v1`: the NGSI-LD context information API (ETSI GS CIM 009 v1.8.1, clause 6).

Entities (create, retrieve, query, replace, merge, delete; attributes appended, updated,
patched, replaced, deleted), batch operations (`entityOperations/create|upsert|update|delete|
query`), `/types`, `/attributes` and `/jsonldContexts`. Every handler reads the request's
@context, calls one function of `hakama.services.entities` and renders with
`hakama.core.entities.render`; errors become ProblemDetails (`ngsi_errors`). Collection paths
also answer with a trailing slash, as some clients send one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hakama.core import entities as core_entities
from hakama.core import jsonld, ngsi_query
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError, kind_of, problem_body
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.offload import offload_of
from hakama.services import contexts
from hakama.services import entities as service
from hakama.services.platform import Platform

router = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1
DEFAULT_LIMIT = 20
#: characters left as they are in a Location (the others, non-ASCII among them, percent-encoded)
_URI_SAFE = ":/?#[]@!$&'()*+,;=~"
T = TypeVar("T")

OptionsQ = Annotated[
    str | None, Query(description="keyValues | concise | sysAttrs (comma-separated)")
]
FormatQ = Annotated[
    str | None, Query(description="normalized | keyValues | concise (overrides options)")
]
LangQ = Annotated[
    str | None, Query(description="language for LanguageProperties, e.g. ar or fr,en;q=0.5")
]
AttrsQ = Annotated[str | None, Query(description="attribute names, comma-separated")]
PickQ = Annotated[
    str | None, Query(description="members to keep (attributes, id, type), comma-separated")
]
OmitQ = Annotated[str | None, Query(description="members to leave out, comma-separated")]
JoinQ = Annotated[
    str | None, Query(description="linked entities: flat | inline | @none (clause 4.5.23)")
]
JoinLevelQ = Annotated[int, Query(ge=1, le=5, description="hops followed by join")]
DatasetQ = Annotated[
    str | None, Query(description="datasetIds of the instances to keep (@none: default)")
]


Projection = dict[str, "Projection | None"]


def parse_projection(text: str, where: str) -> Projection:
    """A `pick`/`omit` expression (clause 4.21): names separated by `,`, a name may be
    followed by `{...}` naming members of the entity it links to (used with `join`)."""
    position = 0

    def names() -> Projection:
        nonlocal position
        out: Projection = {}
        while True:
            start = position
            while position < len(text) and text[position] not in ",{}":
                position += 1
            name = text[start:position].strip()
            if not name or not core_entities.valid_name(name):
                raise NgsiError(
                    ErrorKind.BAD_REQUEST_DATA, f"{where}: invalid expression {text[:120]!r}"
                )
            nested: Projection | None = None
            if position < len(text) and text[position] == "{":
                position += 1
                nested = names()
                if position >= len(text) or text[position] != "}":
                    raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: unclosed brace")
                position += 1
            out[name] = nested
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            return out

    found = names()
    if position != len(text):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: invalid expression {text[:120]!r}")
    return found


Spec = tuple[str, Projection]  # ("pick" | "omit", members)


def _spec(pick: str | None, omit: str | None, attrs: str | None = None) -> Spec | None:
    """The `pick`/`omit` of a request (clause 4.21), checked; None when neither is given."""
    if (pick or omit) and attrs:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "attrs cannot be combined with pick or omit")
    picked = parse_projection(pick, "pick") if pick else {}
    omitted = parse_projection(omit, "omit") if omit else {}
    if picked and omitted:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "pick and omit exclude each other")
    if picked:
        return ("pick", picked)
    if omitted:
        return ("omit", omitted)
    return None


def _apply_spec(body: dict[str, Any], spec: Spec | None) -> dict[str, Any]:
    """Keep the picked members, or drop the omitted ones (a member followed by `{...}` is
    kept: the braces apply to the entity it links to)."""
    if spec is None:
        return body
    kind, members = spec
    if kind == "pick":
        return {k: v for k, v in body.items() if k in members}
    return {k: v for k, v in body.items() if k not in members or members[k] is not None}


def _nested(spec: Spec | None, name: str) -> Spec | None:
    if spec is None:
        return None
    child = spec[1].get(name)
    return (spec[0], child) if child else None


def _projection(
    pick: str | None, omit: str | None, attrs: str | None = None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`pick`/`omit` (clause 4.21), applied to what the client reads, in its own names."""
    spec = _spec(pick, omit, attrs)
    return lambda body: _apply_spec(body, spec)


@dataclass(frozen=True)
class Shape:
    """How entities are rendered for one request: names, representation, projection, join."""

    context: jsonld.Context
    fmt: core_entities.Format
    sys_attrs: bool
    attrs: list[str]
    lang: str | None
    spec: Spec | None = None
    join: str | None = None
    level: int = 1
    datasets: tuple[str | None, ...] | None = None

    def one(self, doc: Mapping[str, Any], spec: Spec | None) -> dict[str, Any]:
        if self.datasets is not None:
            doc = _only_datasets(doc, self.datasets)
        rendered = core_entities.render(
            doc,
            self.context,
            fmt=self.fmt,
            sys_attrs=self.sys_attrs,
            attrs=self.attrs or None,
            lang=self.lang,
        )
        return _apply_spec(rendered, spec)


def _only_datasets(doc: Mapping[str, Any], datasets: tuple[str | None, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attribute in doc.items():
        if name in core_entities.ENTITY_MEMBERS:
            out[name] = attribute
            continue
        kept = [i for i in core_entities.instances(attribute) if i.get("datasetId") in datasets]
        if kept:
            out[name] = kept[0] if len(kept) == 1 else kept
    return out


def _links(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """The entities each relationship of an entity points to (canonical attribute names)."""
    out: dict[str, list[str]] = {}
    for name, attribute in doc.items():
        if name in core_entities.ENTITY_MEMBERS:
            continue
        for instance in core_entities.instances(attribute):
            kind = instance.get("type")
            found = instance.get("object") if kind == "Relationship" else None
            if kind == "ListRelationship":
                found = instance.get("objectList")
            for target in found if isinstance(found, list) else [found]:
                if isinstance(target, str) and target not in out.setdefault(name, []):
                    out[name].append(target)
    return out


def render_all(
    platform: Platform, docs: list[dict[str, Any]], shape: Shape
) -> list[dict[str, Any]]:
    """Render entities; with `join` (clause 4.5.23), the entities their relationships point
    to, up to `joinLevel` hops: inside the relationship (`inline`: an `entity` member, or the
    value itself in keyValues) or after the entities (`flat`, each once). Only relationships
    the projection keeps are followed; `rel{...}` projects the linked entity."""
    roots = [shape.one(d, shape.spec) for d in docs]
    if shape.join not in ("inline", "flat"):
        return roots
    flat: list[dict[str, Any]] = []
    seen = {d["id"] for d in docs}
    level = [(d, r, shape.spec) for d, r in zip(docs, roots, strict=True)]
    for _ in range(shape.level):
        wanted = {
            target for doc, _, _ in level for targets in _links(doc).values() for target in targets
        }
        if not wanted:
            break
        linked = service.get_many(platform, sorted(wanted))
        following: list[tuple[dict[str, Any], dict[str, Any], Spec | None]] = []
        for doc, rendered, spec in level:
            for name, targets in _links(doc).items():
                public = shape.context.from_canonical(name)
                if public not in rendered:
                    continue
                child = _nested(spec, public)
                found = [(linked[t], shape.one(linked[t], child)) for t in targets if t in linked]
                if not found:
                    continue
                following.extend((d, r, child) for d, r in found)
                if shape.join == "flat":
                    for d, r in found:
                        if d["id"] not in seen:
                            seen.add(d["id"])
                            flat.append(r)
                    continue
                entities = [r for _, r in found]
                value = entities[0] if len(entities) == 1 else entities
                if shape.fmt == "keyValues" or not isinstance(rendered[public], dict):
                    rendered[public] = value
                else:
                    rendered[public]["entity"] = value
        level = following
    return roots + flat


async def _call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) service function off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _representation(
    options: str | None, fmt: str | None, allowed: tuple[str, ...] = ()
) -> tuple[core_entities.Format, bool, set[str]]:
    chosen = media.options(
        options, ("keyValues", "simplified", "concise", "sysAttrs", "normalized", *allowed)
    )
    representation: core_entities.Format = "normalized"
    if "keyValues" in chosen or "simplified" in chosen:
        representation = "keyValues"
    elif "concise" in chosen:
        representation = "concise"
    if fmt is not None:
        aliases: dict[str, core_entities.Format] = {
            "normalized": "normalized", "keyValues": "keyValues", "simplified": "keyValues", "concise": "concise"
        }  # fmt: skip
        if fmt not in aliases:
            raise NgsiError(
                ErrorKind.INVALID_REQUEST,
                f"format: unknown {fmt!r} (normalized, keyValues, concise)",
            )
        representation = aliases[fmt]
    return representation, "sysAttrs" in chosen, chosen


def _feature(entity: dict[str, Any], rendered: dict[str, Any], geoproperty: str) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (clause 6.3.15): the geoproperty's value is the geometry."""
    geometry = None
    for instance in core_entities.instances(entity.get(geoproperty)):
        geometry = instance.get("value")
        break
    properties = {k: v for k, v in rendered.items() if k != "id"}
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def _created(entity_id: str) -> dict[str, str]:
    return {"Location": "/ngsi-ld/v1/entities/" + quote(entity_id, safe=_URI_SAFE)}


def _update_result(result: service.UpdateResult, context: jsonld.Context) -> Response:
    """204 when every attribute was changed, else 207 with the UpdateResult (clause 5.2.18)."""
    if not result.not_updated:
        return Response(status_code=204)
    body = {
        "updated": [context.from_canonical(n) for n in result.updated],
        "notUpdated": [
            {"attributeName": context.from_canonical(n), "reason": r} for n, r in result.not_updated
        ],
    }
    return media.respond(body, context, media.JSON, status=207, with_context=False)


def _batch_result(result: service.BatchResult, *, ok_status: int, ok_body: Any = None) -> Response:
    """The outcome of a batch operation: `ok_status` when all went well, else 207 with
    the BatchOperationResult (clause 5.2.16)."""
    if not result.errors:
        if ok_body is None:
            return Response(status_code=ok_status)
        return media.respond(
            ok_body, jsonld.core(), media.JSON, status=ok_status, with_context=False
        )
    body = {
        "success": result.success,
        "errors": [
            {
                "entityId": e.entity_id,
                "error": problem_body(kind_of(e.error), e.error.message, status=_status(e.error)),
            }
            for e in result.errors
        ],
    }
    return media.respond(body, jsonld.core(), media.JSON, status=207, with_context=False)


def _status(exc: Exception) -> int | None:
    return exc.status if isinstance(exc, NgsiError) else None


def _array(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{what}: the body must be a JSON array")
    if not body:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{what}: the array is empty")
    if len(body) > service.MAX_BATCH:
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, f"{what}: at most {service.MAX_BATCH} entities per request"
        )
    return body


def _strip_context(body: Any) -> Any:
    if isinstance(body, Mapping):
        return {k: v for k, v in body.items() if k != "@context"}
    return body


# --------------------------------------------------------------------------- entities


@router.post("/entities", operation_id="ngsi_create_entity", status_code=201)
@router.post("/entities/", include_in_schema=False, status_code=201)
async def create_entity(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create an entity (clause 5.6.1). 201 with its Location; 409 AlreadyExists if present."""
    body, context = await media.read_body(request, platform, expect=dict)
    entity_id = await _call(
        service.create, platform, _strip_context(body), actor=actor, context=context
    )
    return Response(status_code=201, headers=_created(entity_id))


@router.get("/entities", operation_id="ngsi_query_entities")
@router.get("/entities/", include_in_schema=False)
async def query_entities(
    request: Request,
    platform: PlatformDep,
    id: Annotated[str | None, Query(description="entity ids, comma-separated")] = None,
    type: Annotated[str | None, Query(description="entity types, comma-separated")] = None,
    idPattern: Annotated[
        str | None, Query(description="regular expression the id must match")
    ] = None,
    attrs: AttrsQ = None,
    q: Annotated[str | None, Query(description="query (clause 4.9)")] = None,
    georel: Annotated[str | None, Query()] = None,
    geometry: Annotated[str | None, Query()] = None,
    coordinates: Annotated[str | None, Query()] = None,
    geoproperty: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    count: Annotated[bool, Query()] = False,
    options: OptionsQ = None,
    format: FormatQ = None,
    lang: LangQ = None,
    local: Annotated[bool, Query()] = False,
    area: Annotated[
        str | None, Query(description="hakama extension: only entities of this area (and below)")
    ] = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    scopeQ: Annotated[str | None, Query(description="scope query (clause 4.19)")] = None,
    join: JoinQ = None,
    joinLevel: JoinLevelQ = 1,
    datasetId: DatasetQ = None,
    csf: Annotated[str | None, Query(description="context source filter (no sources here)")] = None,
) -> Response:
    """Query entities (clause 5.7.2): type, id, idPattern, attrs, q, geo-query, pagination."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request, geojson=True)
    if not any((id, type, idPattern, attrs, q, georel, local, area, scopeQ)):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA,
            "give at least one of type, id, idPattern, attrs, q, georel (or local=true)",
        )
    size = _limit(limit, count)
    shape = _shape(context, options, format, attrs, lang, pick, omit, join, joinLevel, datasetId)
    attr_names = shape.attrs
    query = ngsi_query.parse_q(q, expand=context.to_canonical) if q else None
    geoq = ngsi_query.parse_geoq(
        georel, geometry, coordinates, context.to_canonical(geoproperty) if geoproperty else None
    )
    result = await offload_of(request).run(
        service.query,
        platform,
        type_query=ngsi_query.parse_types(type, expand=context.to_canonical) if type else (),
        ids=media.split(id),
        id_pattern=idPattern,
        attrs=attr_names,
        q=query,
        geoq=geoq,
        area_code=area,
        scope_q=ngsi_query.parse_scope_q(scopeQ) if scopeQ is not None else None,
        limit=size + 1 if size else 0,  # one more tells whether a next page exists
        offset=offset,
        count=count,
    )
    return await _entities_response(
        platform, result, shape, accept, geoproperty, request, (offset, size)
    )


def _limit(limit: int | None, count: bool) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 0 or (limit == 0 and not count):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, "limit must be positive (0 only with count=true)"
        )
    if limit > MAX_LIMIT:
        raise NgsiError(ErrorKind.TOO_MANY_RESULTS, f"limit must be at most {MAX_LIMIT}")
    return limit


async def _entities_response(
    platform: Platform,
    result: service.QueryResult,
    shape: Shape,
    accept: str,
    geoproperty: str | None,
    request: Request | None = None,
    page: tuple[int, int] | None = None,
) -> Response:
    headers = {media.COUNT_HEADER: str(result.count)} if result.count is not None else {}
    if page is not None and request is not None:
        offset, limit = page
        more = len(result.entities) > limit
        result = service.QueryResult(result.entities[:limit], result.count)
        links = media.page_links(request, offset=offset, limit=limit, more=more, media=accept)
        if links:
            headers["Link"] = links
    rendered = await _call(render_all, platform, result.entities, shape)
    context = shape.context
    if accept == media.GEOJSON:
        prop = context.to_canonical(geoproperty) if geoproperty else "location"
        features = [_feature(e, r, prop) for e, r in zip(result.entities, rendered, strict=False)]
        collection = {"type": "FeatureCollection", "features": features}
        return media.respond(collection, context, media.GEOJSON, headers=headers)
    return media.respond(rendered, context, accept, headers=headers)


@router.get("/entities/{entity_id}", operation_id="ngsi_get_entity")
async def get_entity(
    request: Request,
    platform: PlatformDep,
    entity_id: str,
    attrs: AttrsQ = None,
    options: OptionsQ = None,
    format: FormatQ = None,
    lang: LangQ = None,
    geometryProperty: Annotated[str | None, Query()] = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    join: JoinQ = None,
    joinLevel: JoinLevelQ = 1,
    datasetId: DatasetQ = None,
    local: Annotated[bool, Query()] = False,
) -> Response:
    """Retrieve an entity (clause 5.7.1)."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request, geojson=True)
    _check_id(entity_id)
    shape = _shape(context, options, format, attrs, lang, pick, omit, join, joinLevel, datasetId)
    entity, rendered = await _call(_retrieve, platform, entity_id, shape)
    if not rendered[0]:
        raise NgsiError(
            ErrorKind.RESOURCE_NOT_FOUND, "pick/omit leave nothing of the entity (clause 4.21)"
        )
    if accept == media.GEOJSON:
        prop = context.to_canonical(geometryProperty) if geometryProperty else "location"
        return media.respond(_feature(entity, rendered[0], prop), context, media.GEOJSON)
    return media.respond(rendered if len(rendered) > 1 else rendered[0], context, accept)


def _retrieve(
    platform: Platform, entity_id: str, shape: Shape
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One entity and its rendering, in one trip off the event loop."""
    entity = service.get(platform, entity_id, attrs=shape.attrs or None)
    return entity, render_all(platform, [entity], shape)


def _shape(
    context: jsonld.Context,
    options: str | None,
    fmt: str | None,
    attrs: str | None,
    lang: str | None,
    pick: str | None,
    omit: str | None,
    join: str | None,
    join_level: int,
    dataset_id: str | None,
) -> Shape:
    """How a retrieval or a query renders its entities, from its parameters (checked)."""
    representation, sys_attrs, _ = _representation(options, fmt)
    return Shape(
        context,
        representation,
        sys_attrs,
        media.split_names(attrs, context),
        lang,
        _spec(pick, omit, attrs),
        _join(join),
        join_level,
        _datasets(dataset_id),
    )


def _join(join: str | None) -> str | None:
    if join is None or join == "@none":
        return None
    if join not in ("inline", "flat"):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "join: one of flat, inline, @none")
    return join


def _datasets(value: str | None) -> tuple[str | None, ...] | None:
    """`datasetId` (clause 4.5.5): the instances to keep; `@none` is the default instance."""
    if value is None:
        return None
    out: list[str | None] = []
    for item in media.split(value):
        if item == "@none":
            out.append(None)
        elif core_entities.is_uri(item):
            out.append(item)
        else:
            raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"datasetId: {item[:80]!r} is not a URI")
    return tuple(out)


def _check_id(entity_id: str) -> None:
    if not core_entities.is_uri(entity_id):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, f"{entity_id[:80]!r} is not a valid entity id (a URI)"
        )


@router.put("/entities/{entity_id}", operation_id="ngsi_replace_entity", status_code=204)
async def replace_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Replace an entity (clause 5.6.18): its attributes become exactly those sent."""
    _check_id(entity_id)
    body, context = await media.read_body(request, platform)
    await _call(
        service.replace, platform, entity_id, _strip_context(body), actor=actor, context=context
    )
    return Response(status_code=204)


@router.patch("/entities/{entity_id}", operation_id="ngsi_merge_entity", status_code=204)
async def merge_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Merge a fragment into an entity (clause 5.6.17, merge-patch; urn:ngsi-ld:null deletes)."""
    _check_id(entity_id)
    body, context = await media.read_body(request, platform, merge_patch=True)
    await _call(
        service.merge, platform, entity_id, _strip_context(body), actor=actor, context=context
    )
    return Response(status_code=204)


@router.delete("/entities/{entity_id}", operation_id="ngsi_delete_entity", status_code=204)
async def delete_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Delete an entity (clause 5.6.6)."""
    media.check_tenant(request)
    _check_id(entity_id)
    await _call(service.delete, platform, entity_id, actor=actor)
    return Response(status_code=204)


@router.post("/entities/{entity_id}/attrs", operation_id="ngsi_append_attrs", status_code=204)
@router.post("/entities/{entity_id}/attrs/", include_in_schema=False, status_code=204)
async def append_attrs(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    entity_id: str,
    options: OptionsQ = None,
) -> Response:
    """Append attributes (clause 5.6.3); `options=noOverwrite` keeps existing ones."""
    _check_id(entity_id)
    chosen = media.options(options, ("noOverwrite",))
    body, context = await media.read_body(request, platform)
    result = await _call(
        service.append_attrs,
        platform,
        entity_id,
        _strip_context(body),
        actor=actor,
        context=context,
        no_overwrite="noOverwrite" in chosen,
    )
    return _update_result(result, context)


@router.patch("/entities/{entity_id}/attrs", operation_id="ngsi_update_attrs", status_code=204)
@router.patch("/entities/{entity_id}/attrs/", include_in_schema=False, status_code=204)
async def update_attrs(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Update existing attributes (clause 5.6.2); unknown ones are reported (207)."""
    _check_id(entity_id)
    body, context = await media.read_body(request, platform)
    result = await _call(
        service.update_attrs,
        platform,
        entity_id,
        _strip_context(body),
        actor=actor,
        context=context,
    )
    if (
        not result.updated
        and result.not_updated
        and all(n != "scope" for n, _ in result.not_updated)
    ):
        raise NgsiError(
            ErrorKind.RESOURCE_NOT_FOUND, "; ".join(f"{n}: {r}" for n, r in result.not_updated)
        )
    return _update_result(result, context)


@router.patch("/entities/{entity_id}/attrs/{attr}", operation_id="ngsi_patch_attr", status_code=204)
async def patch_attr(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str, attr: str
) -> Response:
    """Partially update one attribute (clause 5.6.4)."""
    return await _write_attr(
        request, platform, actor, entity_id, attr, service.patch_attr, merge_patch=True
    )


@router.put("/entities/{entity_id}/attrs/{attr}", operation_id="ngsi_replace_attr", status_code=204)
async def replace_attr(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str, attr: str
) -> Response:
    """Replace one attribute (clause 5.6.19)."""
    return await _write_attr(request, platform, actor, entity_id, attr, service.replace_attr)


async def _write_attr(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    entity_id: str,
    attr: str,
    write: Callable[..., None],
    *,
    merge_patch: bool = False,
) -> Response:
    """Write one attribute from the request body with `write` (patch or replace); 204."""
    _check_id(entity_id)
    body, context = await media.read_body(request, platform, merge_patch=merge_patch)
    await _call(
        write,
        platform,
        entity_id,
        context.to_canonical(attr),
        _strip_context(body),
        actor=actor,
        context=context,
    )
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}", operation_id="ngsi_delete_attr", status_code=204
)
async def delete_attr(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    entity_id: str,
    attr: str,
    datasetId: Annotated[str | None, Query()] = None,
    deleteAll: Annotated[bool, Query()] = False,
) -> Response:
    """Delete an attribute, one of its datasetId instances, or all of them (clause 5.6.5)."""
    _check_id(entity_id)
    context = await media.request_context(request, platform)
    await _call(
        service.delete_attr,
        platform,
        entity_id,
        context.to_canonical(attr),
        actor=actor,
        dataset_id=datasetId,
        delete_all=deleteAll,
    )
    return Response(status_code=204)


# --------------------------------------------------------------------------- batch operations


async def _batch(
    request: Request,
    platform: PlatformDep,
    what: str,
    run: Callable[[list[Any], jsonld.Context], service.BatchResult],
) -> service.BatchResult:
    """Run a batch operation on each group of entities sharing an @context; the entities
    refused for their @context member are reported among the errors."""
    body, _ = await media.read_body(request, platform, names=False)
    groups, refused = await media.batch_groups(request, platform, _array(body, what))
    results = [await _call(run, items, context) for context, items in groups]
    errors = [
        service.BatchError(entity_id if isinstance(entity_id, str) else None, error)
        for entity_id, error in refused
    ]
    return service.BatchResult(
        success=[i for r in results for i in r.success],
        errors=[*errors, *(e for r in results for e in r.errors)],
        created=[i for r in results for i in r.created],
    )


@router.post("/entityOperations/create", operation_id="ngsi_batch_create")
async def batch_create(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create many entities (clause 5.6.7): 201 with their ids, or 207 with the errors."""
    result = await _batch(
        request,
        platform,
        "create",
        lambda items, context: service.batch_create(platform, items, actor=actor, context=context),
    )
    return _batch_result(result, ok_status=201, ok_body=result.success)


@router.post("/entityOperations/upsert", operation_id="ngsi_batch_upsert")
async def batch_upsert(
    request: Request, platform: PlatformDep, actor: ActorDep, options: OptionsQ = None
) -> Response:
    """Create or replace (`options=replace`, default) or create or update (`options=update`)
    many entities (clause 5.6.8): 201 with the created ids, 204 if none was new, 207 on errors."""
    chosen = media.options(options, ("replace", "update"))
    if chosen == {"replace", "update"}:
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, "options: replace and update exclude each other"
        )
    result = await _batch(
        request,
        platform,
        "upsert",
        lambda items, context: service.batch_upsert(
            platform, items, actor=actor, context=context, update="update" in chosen
        ),
    )
    if not result.errors and result.created:
        return _batch_result(result, ok_status=201, ok_body=result.created)
    return _batch_result(result, ok_status=204)


@router.post("/entityOperations/update", operation_id="ngsi_batch_update")
async def batch_update(
    request: Request, platform: PlatformDep, actor: ActorDep, options: OptionsQ = None
) -> Response:
    """Append attributes to many entities (clause 5.6.9): 204, or 207 with the errors."""
    chosen = media.options(options, ("noOverwrite",))
    result = await _batch(
        request,
        platform,
        "update",
        lambda items, context: service.batch_update(
            platform, items, actor=actor, context=context, no_overwrite="noOverwrite" in chosen
        ),
    )
    return _batch_result(result, ok_status=204)


@router.post("/entityOperations/merge", operation_id="ngsi_batch_merge")
async def batch_merge(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Merge fragments into many entities (clause 5.6.20): 204, or 207 with the errors."""
    result = await _batch(
        request,
        platform,
        "merge",
        lambda items, context: service.batch_merge(platform, items, actor=actor, context=context),
    )
    return _batch_result(result, ok_status=204)


@router.post("/entityOperations/delete", operation_id="ngsi_batch_delete")
async def batch_delete(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Delete many entities by id (clause 5.6.10): 204, or 207 with the errors."""
    body, _context = await media.read_body(request, platform, names=False)
    result = await _call(service.batch_delete, platform, _array(body, "delete"), actor=actor)
    return _batch_result(result, ok_status=204)


@router.post("/entityOperations/query", operation_id="ngsi_batch_query")
async def batch_query(
    request: Request,
    platform: PlatformDep,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    count: Annotated[bool, Query()] = False,
    options: OptionsQ = None,
    format: FormatQ = None,
    lang: LangQ = None,
) -> Response:
    """Query entities with a Query object in the body (clause 5.7.2 via POST, 6.23)."""
    body, context = await media.read_body(request, platform)
    accept = media.negotiate(request, geojson=True)
    representation, sys_attrs, _ = _representation(options, format)
    if not isinstance(body, Mapping) or body.get("type") != "Query":
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA, 'the body must be a Query object ({"type": "Query", ...})'
        )
    selectors = [_selector(item, context) for item in _list(body, "entities")]
    attr_names = [context.to_canonical(_text(a, "attrs")) for a in _list(body, "attrs")]
    q = body.get("q")
    query = (
        ngsi_query.parse_q(_text(q, "q"), expand=context.to_canonical) if q is not None else None
    )
    geo = body.get("geoQ")
    geoq = None
    if geo is not None:
        if not isinstance(geo, Mapping):
            raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "geoQ: must be an object")
        prop = geo.get("geoproperty")
        geoq = ngsi_query.parse_geoq(
            _text(geo.get("georel"), "geoQ.georel"),
            _text(geo.get("geometry"), "geoQ.geometry"),
            geo.get("coordinates"),
            context.to_canonical(_text(prop, "geoQ.geoproperty")) if prop else None,
        )
    scope_q = body.get("scopeQ")
    if not (selectors or attr_names or query or geoq or scope_q):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "the Query needs entities, attrs, q or geoQ")
    result = await offload_of(request).run(
        service.query,
        platform,
        selectors=selectors,
        attrs=attr_names,
        q=query,
        geoq=geoq,
        scope_q=ngsi_query.parse_scope_q(_text(scope_q, "scopeQ")) if scope_q else None,
        limit=_limit(limit, count),
        offset=offset,
        count=count,
    )
    language = lang or (body.get("lang") if isinstance(body.get("lang"), str) else None)
    shape = Shape(context, representation, sys_attrs, attr_names, language)
    return await _entities_response(platform, result, shape, accept, None)


def _list(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{name}: must be an array")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{where}: must be a non-empty string")
    return value


def _selector(item: Any, context: jsonld.Context) -> service.Selector:
    if not isinstance(item, Mapping):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "entities: each item must be an object")
    kind = item.get("type")
    entity_id = item.get("id")
    if entity_id is not None and not core_entities.is_uri(entity_id):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "entities: id must be a URI")
    pattern = item.get("idPattern")
    return service.Selector(
        type=context.to_canonical(_text(kind, "entities.type")) if kind is not None else None,
        id=entity_id,
        id_pattern=_text(pattern, "entities.idPattern") if pattern is not None else None,
    )


# --------------------------------------------------------------------------- types, attributes, contexts


@router.get("/types", operation_id="ngsi_list_types")
@router.get("/types/", include_in_schema=False)
async def list_types(request: Request, platform: PlatformDep, details: bool = False) -> Response:
    """Entity types in use (clause 5.7.5/5.7.6): an EntityTypeList, or EntityType details."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request)
    types = await _call(service.list_types, platform)
    if details:
        payload: Any = [
            {
                "id": _type_iri(t.name),
                "type": "EntityType",
                "typeName": context.from_canonical(t.name),
                "attributeNames": sorted(context.from_canonical(a) for a in t.attributes),
            }
            for t in types
        ]
    else:
        payload = {
            "id": "urn:ngsi-ld:EntityTypeList:hakama",
            "type": "EntityTypeList",
            "typeList": [context.from_canonical(t.name) for t in types],
        }
    return media.respond(payload, context, accept)


@router.get("/types/{type_name}", operation_id="ngsi_get_type")
async def get_type(request: Request, platform: PlatformDep, type_name: str) -> Response:
    """One entity type with its entity count and attributes (clause 5.7.7, EntityTypeInfo)."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request)
    wanted = context.to_canonical(type_name)
    found = next((t for t in await _call(service.list_types, platform) if t.name == wanted), None)
    if found is None:
        raise NgsiError(ErrorKind.RESOURCE_NOT_FOUND, f"no entity has type {type_name!r}")
    payload = {
        "id": _type_iri(found.name),
        "type": "EntityTypeInfo",
        "typeName": context.from_canonical(found.name),
        "entityCount": found.count,
        "attributeDetails": [
            {
                "id": _type_iri(name),
                "type": "Attribute",
                "attributeName": context.from_canonical(name),
                "attributeTypes": sorted(kinds),
            }
            for name, kinds in sorted(found.attributes.items())
        ],
    }
    return media.respond(payload, context, accept)


@router.get("/attributes", operation_id="ngsi_list_attributes")
@router.get("/attributes/", include_in_schema=False)
async def list_attributes(
    request: Request, platform: PlatformDep, details: bool = False
) -> Response:
    """Attributes in use (clause 5.7.8/5.7.9): an AttributeList, or Attribute details."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request)
    found = await _call(service.list_attributes, platform)
    if details:
        payload: Any = [_attribute_json(a, context) for a in found]
    else:
        payload = {
            "id": "urn:ngsi-ld:AttributeList:hakama",
            "type": "AttributeList",
            "attributeList": [context.from_canonical(a.name) for a in found],
        }
    return media.respond(payload, context, accept)


@router.get("/attributes/{attr}", operation_id="ngsi_get_attribute")
async def get_attribute(request: Request, platform: PlatformDep, attr: str) -> Response:
    """One attribute: how many entities carry it, its attribute and entity types (clause 5.7.10)."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request)
    wanted = context.to_canonical(attr)
    found = next(
        (a for a in await _call(service.list_attributes, platform) if a.name == wanted), None
    )
    if found is None:
        raise NgsiError(ErrorKind.RESOURCE_NOT_FOUND, f"no entity has attribute {attr!r}")
    return media.respond(_attribute_json(found, context), context, accept)


def _attribute_json(info: service.AttributeInfo, context: jsonld.Context) -> dict[str, Any]:
    return {
        "id": _type_iri(info.name),
        "type": "Attribute",
        "attributeName": context.from_canonical(info.name),
        "attributeCount": info.count,
        "attributeTypes": sorted(info.attribute_types),
        "typeNames": sorted(context.from_canonical(t) for t in info.entity_types),
    }


def _type_iri(name: str) -> str:
    return jsonld.core().expand(name)


@router.get("/jsonldContexts", operation_id="ngsi_list_contexts")
@router.get("/jsonldContexts/", include_in_schema=False)
async def list_contexts(platform: PlatformDep) -> Response:
    """The @contexts this broker holds (clause 5.13.3): the shipped core ones and the cached."""
    cached = await _call(contexts.cached, platform)
    urls = [jsonld.CORE_CONTEXT_URL.format(version=v) for v in jsonld.CORE_VERSIONS] + cached
    return media.respond(urls, jsonld.core(), media.JSON, with_context=False)


@router.post("/jsonldContexts", operation_id="ngsi_add_context", status_code=201)
@router.post("/jsonldContexts/", include_in_schema=False, status_code=201)
async def add_context(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Host a client's @context here (clause 5.13.2), for clients and communes without internet:
    201 with the Location to use as a context URL."""
    media.check_tenant(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (media.JSON, media.JSONLD):
        raise NgsiError(
            ErrorKind.UNSUPPORTED_MEDIA_TYPE, "send the context as application/json", status=415
        )
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise NgsiError(ErrorKind.INVALID_REQUEST, "the body is not valid JSON") from None
    if not isinstance(body, Mapping) or "@context" not in body:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, 'the body must be {"@context": ...}')
    hosted_id = await _call(contexts.host, platform, body["@context"], actor=actor)
    return Response(status_code=201, headers={"Location": f"{contexts.HOSTED_PREFIX}{hosted_id}"})


@router.get("/jsonldContexts/{context_id:path}", operation_id="ngsi_get_context")
async def get_context(platform: PlatformDep, context_id: str) -> Response:
    """One @context held here (clause 5.13.4): a core URL, a fetched URL or a hosted id."""
    found = await _call(contexts.document, platform, context_id)
    return media.respond(found, jsonld.core(), media.JSONLD, with_context=False)


@router.delete(
    "/jsonldContexts/{context_id:path}", operation_id="ngsi_delete_context", status_code=204
)
async def delete_context(platform: PlatformDep, actor: ActorDep, context_id: str) -> Response:
    """Forget a fetched context (fetched again when next used) or a hosted one (clause 5.13.5)."""
    await _call(contexts.forget, platform, context_id, actor=actor)
    return Response(status_code=204)


# Entity ids that are URLs (`http://example.org/e1`, sent percent-encoded) hold slashes, which
# the routes above cannot capture. These catch them, registered last so that plain ids keep
# their routes; the attribute forms come before the entity forms, which would swallow them.
_FALLBACKS: tuple[tuple[str, Callable[..., Any], str, int | None], ...] = (
    ("/entities/{entity_id:path}/attrs/{attr}", patch_attr, "PATCH", 204),
    ("/entities/{entity_id:path}/attrs/{attr}", replace_attr, "PUT", 204),
    ("/entities/{entity_id:path}/attrs/{attr}", delete_attr, "DELETE", 204),
    ("/entities/{entity_id:path}/attrs", append_attrs, "POST", 204),
    ("/entities/{entity_id:path}/attrs", update_attrs, "PATCH", 204),
    ("/entities/{entity_id:path}", get_entity, "GET", None),
    ("/entities/{entity_id:path}", replace_entity, "PUT", 204),
    ("/entities/{entity_id:path}", merge_entity, "PATCH", 204),
    ("/entities/{entity_id:path}", delete_entity, "DELETE", 204),
)
for _route_path, _endpoint, _method, _code in _FALLBACKS:
    router.add_api_route(
        _route_path, _endpoint, methods=[_method], status_code=_code, include_in_schema=False
    )
