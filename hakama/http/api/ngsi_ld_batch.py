"""`/ngsi-ld/v1/entityOperations`: batch operations (ETSI GS CIM 009 v1.8.1, clauses 5.6.7-
5.6.10, 5.6.20, 5.7.2 via POST): create, upsert, update, merge, delete many entities, and a
query in the body. Served with the entity routes (`ngsi_ld.routers`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hakama.core import entity_render, jsonld, ngsi_selectors
from hakama.http.api import ngsi_media as media
from hakama.http.api import ngsi_shape
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError, kind_of, problem_body
from hakama.http.api.ngsi_query_body import contained_by, read_query, text
from hakama.http.deps import ActorDep, OffloadDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import entities as service

router = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)


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
    results = [await run_blocking(run, items, context) for context, items in groups]
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
    request: Request, platform: PlatformDep, actor: ActorDep, options: ngsi_shape.OptionsQ = None
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
    request: Request, platform: PlatformDep, actor: ActorDep, options: ngsi_shape.OptionsQ = None
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
    result = await run_blocking(
        service.batch_delete, platform, _array(body, "delete"), actor=actor
    )
    return _batch_result(result, ok_status=204)


@router.post("/entityOperations/query", operation_id="ngsi_batch_query")
async def batch_query(
    offload: OffloadDep,
    request: Request,
    platform: PlatformDep,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=ngsi_shape.MAX_OFFSET)] = 0,
    count: Annotated[bool, Query()] = False,
    options: ngsi_shape.OptionsQ = None,
    format: ngsi_shape.FormatQ = None,
    lang: ngsi_shape.LangQ = None,
) -> Response:
    """Query entities with a Query object in the body (clause 5.7.2 via POST, 6.23)."""
    body, context = await media.read_body(request, platform)
    accept = media.negotiate(request, geojson=True)
    representation, sys_attrs, _ = ngsi_shape.representation(options, format)
    query = read_query(body, context)
    if query.empty:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "the Query needs entities, attrs, q or geoQ")
    result = await offload.run(
        service.query,
        platform,
        selectors=query.selectors,
        attrs=query.attrs,
        q=query.q,
        geoq=query.geoq,
        scope_q=ngsi_selectors.parse_scope_q(query.scope_q) if query.scope_q else None,
        limit=ngsi_shape.page_size(limit, count),
        offset=offset,
        count=count,
    )
    language = lang or (body.get("lang") if isinstance(body.get("lang"), str) else None)
    level = body.get("joinLevel", 1)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "joinLevel: an integer from 1 to 5")
    join = body.get("join")
    shape = entity_render.Shape(
        context,
        representation,
        sys_attrs,
        query.attrs,
        language,
        join=ngsi_shape.join_kind(text(join, "join") if join is not None else None),
        level=level,
        contained_by=contained_by(body.get("containedBy")),
    )
    geometry = body.get("geometryProperty")
    geoproperty = text(geometry, "geometryProperty") if geometry is not None else None
    return await ngsi_shape.entities_response(platform, result, shape, accept, geoproperty)
