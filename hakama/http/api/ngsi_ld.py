"""`/ngsi-ld/v1/entities`: the NGSI-LD context information API for one entity at a time
(ETSI GS CIM 009 v1.8.1, clauses 5.6, 5.7): create, retrieve, query, replace, merge, delete.

The other resources have their modules: attributes of an entity (`ngsi_ld_attrs`), batch
operations (`ngsi_ld_batch`), `/types`, `/attributes` and `/jsonldContexts`
(`ngsi_ld_types`); how entities are rendered is `ngsi_shape`. Every handler reads the
request's @context, calls one function of `hakama.services.entities` and renders;
errors become ProblemDetails (`ngsi_errors`). Collection paths also answer with a trailing
slash, as some clients send one. `routers` serves them all, in the order their paths need.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hakama.core import entity_render, ngsi_query, ngsi_selectors
from hakama.http.api import ngsi_ld_attrs, ngsi_ld_batch, ngsi_ld_types, ngsi_query_body, ngsi_shape
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.deps import ActorDep, OffloadDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import entities as service
from hakama.services.platform import Platform

router = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)

#: characters left as they are in a Location (the others, non-ASCII among them, percent-encoded)
_URI_SAFE = ":/?#[]@!$&'()*+,;=~"


@router.post("/entities", operation_id="ngsi_create_entity", status_code=201)
@router.post("/entities/", include_in_schema=False, status_code=201)
async def create_entity(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create an entity (clause 5.6.1). 201 with its Location; 409 AlreadyExists if present."""
    body, context = await media.read_body(request, platform, expect=dict)
    entity_id = await run_blocking(
        service.create, platform, media.strip_context(body), actor=actor, context=context
    )
    return Response(status_code=201, headers=_created(entity_id))


@router.get("/entities", operation_id="ngsi_query_entities")
@router.get("/entities/", include_in_schema=False)
async def query_entities(
    offload: OffloadDep,
    request: Request,
    platform: PlatformDep,
    id: Annotated[str | None, Query(description="entity ids, comma-separated")] = None,
    type: Annotated[str | None, Query(description="entity types, comma-separated")] = None,
    idPattern: Annotated[
        str | None, Query(description="regular expression the id must match")
    ] = None,
    attrs: ngsi_shape.AttrsQ = None,
    q: Annotated[str | None, Query(description="query (clause 4.9)")] = None,
    georel: Annotated[str | None, Query()] = None,
    geometry: Annotated[str | None, Query()] = None,
    coordinates: Annotated[str | None, Query()] = None,
    geoproperty: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=ngsi_shape.MAX_OFFSET)] = 0,
    count: Annotated[bool, Query()] = False,
    options: ngsi_shape.OptionsQ = None,
    format: ngsi_shape.FormatQ = None,
    lang: ngsi_shape.LangQ = None,
    local: Annotated[bool, Query()] = False,
    area: Annotated[
        str | None, Query(description="hakama extension: only entities of this area (and below)")
    ] = None,
    pick: ngsi_shape.PickQ = None,
    omit: ngsi_shape.OmitQ = None,
    scopeQ: Annotated[str | None, Query(description="scope query (clause 4.19)")] = None,
    join: ngsi_shape.JoinQ = None,
    joinLevel: ngsi_shape.JoinLevelQ = 1,
    containedBy: ngsi_shape.ContainedByQ = None,
    expandValues: ngsi_shape.ExpandValuesQ = None,
    datasetId: ngsi_shape.DatasetQ = None,
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
    size = ngsi_shape.page_size(limit, count)
    shape = ngsi_shape.from_parameters(
        context, options, format, attrs, lang, pick, omit, join, joinLevel, datasetId, containedBy
    )
    attr_names = shape.attrs
    query = ngsi_query.parse_q(q, expand=context.to_canonical) if q else None
    query = ngsi_query_body.expanded_values(query, expandValues, context)
    geoq = ngsi_query.parse_geoq(
        georel, geometry, coordinates, context.to_canonical(geoproperty) if geoproperty else None
    )
    result = await offload.run(
        service.query,
        platform,
        type_query=ngsi_selectors.parse_types(type, expand=context.to_canonical) if type else (),
        ids=media.split(id),
        id_pattern=idPattern,
        attrs=attr_names,
        q=query,
        geoq=geoq,
        area_code=area,
        scope_q=ngsi_selectors.parse_scope_q(scopeQ) if scopeQ is not None else None,
        limit=size + 1 if size else 0,  # one more tells whether a next page exists
        offset=offset,
        count=count,
    )
    return await ngsi_shape.entities_response(
        platform, result, shape, accept, geoproperty, request, (offset, size)
    )


@router.get("/entities/{entity_id}", operation_id="ngsi_get_entity")
async def get_entity(
    request: Request,
    platform: PlatformDep,
    entity_id: str,
    attrs: ngsi_shape.AttrsQ = None,
    options: ngsi_shape.OptionsQ = None,
    format: ngsi_shape.FormatQ = None,
    lang: ngsi_shape.LangQ = None,
    geometryProperty: Annotated[str | None, Query()] = None,
    pick: ngsi_shape.PickQ = None,
    omit: ngsi_shape.OmitQ = None,
    join: ngsi_shape.JoinQ = None,
    joinLevel: ngsi_shape.JoinLevelQ = 1,
    containedBy: ngsi_shape.ContainedByQ = None,
    datasetId: ngsi_shape.DatasetQ = None,
    local: Annotated[bool, Query()] = False,
) -> Response:
    """Retrieve an entity (clause 5.7.1)."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request, geojson=True)
    media.check_entity_id(entity_id)
    shape = ngsi_shape.from_parameters(
        context, options, format, attrs, lang, pick, omit, join, joinLevel, datasetId, containedBy
    )
    entity, rendered = await run_blocking(_retrieve, platform, entity_id, shape)
    if not rendered[0]:
        raise NgsiError(
            ErrorKind.RESOURCE_NOT_FOUND, "pick/omit leave nothing of the entity (clause 4.21)"
        )
    if accept == media.GEOJSON:
        prop = context.to_canonical(geometryProperty) if geometryProperty else "location"
        return media.respond(ngsi_shape.feature(entity, rendered[0], prop), context, media.GEOJSON)
    return media.respond(rendered if len(rendered) > 1 else rendered[0], context, accept)


def _retrieve(
    platform: Platform, entity_id: str, shape: entity_render.Shape
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One entity and its rendering, in one trip off the event loop."""
    entity = service.get(platform, entity_id, attrs=shape.attrs or None)
    return entity, entity_render.render_all([entity], shape, partial(service.get_many, platform))


def _created(entity_id: str) -> dict[str, str]:
    return {"Location": "/ngsi-ld/v1/entities/" + quote(entity_id, safe=_URI_SAFE)}


@router.put("/entities/{entity_id}", operation_id="ngsi_replace_entity", status_code=204)
async def replace_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Replace an entity (clause 5.6.18): its attributes become exactly those sent."""
    media.check_entity_id(entity_id)
    body, context = await media.read_body(request, platform)
    await run_blocking(
        service.replace,
        platform,
        entity_id,
        media.strip_context(body),
        actor=actor,
        context=context,
    )
    return Response(status_code=204)


@router.patch("/entities/{entity_id}", operation_id="ngsi_merge_entity", status_code=204)
async def merge_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Merge a fragment into an entity (clause 5.6.17, merge-patch; urn:ngsi-ld:null deletes)."""
    media.check_entity_id(entity_id)
    body, context = await media.read_body(request, platform, merge_patch=True)
    await run_blocking(
        service.merge, platform, entity_id, media.strip_context(body), actor=actor, context=context
    )
    return Response(status_code=204)


@router.delete("/entities/{entity_id}", operation_id="ngsi_delete_entity", status_code=204)
async def delete_entity(
    request: Request, platform: PlatformDep, actor: ActorDep, entity_id: str
) -> Response:
    """Delete an entity (clause 5.6.6)."""
    media.check_tenant(request)
    media.check_entity_id(entity_id)
    await run_blocking(service.delete, platform, entity_id, actor=actor)
    return Response(status_code=204)


# Entity ids that are URLs (`http://example.org/e1`, sent percent-encoded) hold slashes, which
# the routes cannot capture. These catch them, registered last so that plain ids keep
# their routes; the attribute forms come before the entity forms, which would swallow them.
_FALLBACKS: tuple[tuple[str, Callable[..., Any], str, int | None], ...] = (
    ("/entities/{entity_id:path}/attrs/{attr}", ngsi_ld_attrs.patch_attr, "PATCH", 204),
    ("/entities/{entity_id:path}/attrs/{attr}", ngsi_ld_attrs.replace_attr, "PUT", 204),
    ("/entities/{entity_id:path}/attrs/{attr}", ngsi_ld_attrs.delete_attr, "DELETE", 204),
    ("/entities/{entity_id:path}/attrs", ngsi_ld_attrs.append_attrs, "POST", 204),
    ("/entities/{entity_id:path}/attrs", ngsi_ld_attrs.update_attrs, "PATCH", 204),
    ("/entities/{entity_id:path}/attrs/", ngsi_ld_attrs.append_attrs, "POST", 204),
    ("/entities/{entity_id:path}/attrs/", ngsi_ld_attrs.update_attrs, "PATCH", 204),
    ("/entities/{entity_id:path}", get_entity, "GET", None),
    ("/entities/{entity_id:path}", replace_entity, "PUT", 204),
    ("/entities/{entity_id:path}", merge_entity, "PATCH", 204),
    ("/entities/{entity_id:path}", delete_entity, "DELETE", 204),
)
_fallbacks = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)
for _route_path, _endpoint, _method, _code in _FALLBACKS:
    _fallbacks.add_api_route(
        _route_path, _endpoint, methods=[_method], status_code=_code, include_in_schema=False
    )


async def _not_allowed() -> Response:
    raise NgsiError(
        ErrorKind.OPERATION_NOT_SUPPORTED,
        "an entity's attributes are appended (POST) or updated (PATCH)",
        status=405,
    )


# `/entities/{id}/attrs` takes POST and PATCH only: other methods are refused here, before the
# entity fallbacks would take `…/attrs` for part of an entity id.
_attrs_collection = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"])
for _route_path in ("/entities/{entity_id:path}/attrs", "/entities/{entity_id:path}/attrs/"):
    _attrs_collection.add_api_route(
        _route_path, _not_allowed, methods=["GET", "PUT", "DELETE"], include_in_schema=False
    )

routers = [
    router,
    ngsi_ld_attrs.router,
    ngsi_ld_batch.router,
    ngsi_ld_types.router,
    _attrs_collection,
    _fallbacks,
]
