"""`/ngsi-ld/v1/temporal/entities`: the NGSI-LD temporal API (clauses 6.18–6.22).

Retrieval and query with `timerel`/`timeAt`/`endTimeAt`, `lastN`, `attrs`, the
`temporalValues` and `aggregatedValues` representations (`options=` or `format=`), and
aggregation (`aggrMethods`, `aggrPeriodDuration`); creation, appending and deletion of
attribute instances. The work is done by `hakama.services.temporal` (reading),
`temporal_writes` and `temporal_deletes`; this module only translates HTTP. `timeproperty`
other than `observedAt` is OperationNotSupported: the lake keeps the observed instant only.
An attribute with more than `temporal.MAX_INSTANCES` instances in the window is cut: 206
with `Content-Range: date-time <first>-<last>/*`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hakama.core import entities as core_entities
from hakama.core import ngsi_query
from hakama.core.temporal import TemporalQuery, Truncated, format_time
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.offload import offload_of
from hakama.services import temporal, temporal_deletes, temporal_writes

router = APIRouter(
    prefix="/ngsi-ld/v1/temporal",
    tags=["NGSI-LD temporal"],
    dependencies=[Depends(media.known_parameters)],
)

MAX_LIMIT = 1000
_OPTIONS = ("temporalValues", "aggregatedValues", "sysAttrs", "keyValues", "concise", "normalized")


def _temporal_query(
    *,
    timerel: str | None,
    time_at: str | None,
    end_time_at: str | None,
    timeproperty: str | None,
    attrs: list[str],
    last_n: str | None,
    aggr_methods: str | None,
    aggr_period: str | None,
    options: str | None,
    fmt: str | None,
) -> TemporalQuery:
    if timeproperty not in (None, "observedAt"):
        raise NgsiError(
            ErrorKind.OPERATION_NOT_SUPPORTED,
            f"timeproperty={timeproperty}: only observedAt is kept in the history",
        )
    words = media.options(options, _OPTIONS)
    if fmt is not None:
        if fmt not in ("normalized", "temporalValues", "aggregatedValues"):
            raise NgsiError(ErrorKind.INVALID_REQUEST, f"format={fmt} is not a temporal format")
        words.add(fmt)
    tq = TemporalQuery.parse(
        timerel=timerel,
        time_at=time_at,
        end_time_at=end_time_at,
        last_n=last_n,
        aggr_methods=aggr_methods,
        aggr_period=aggr_period,
        options=sorted(words),
    )
    from dataclasses import replace

    return replace(tq, attrs=tuple(attrs))


def _content_range(truncated: Truncated) -> str:
    """`Content-Range` of a cut answer (clause 6.3.10): the instants it covers."""
    return f"date-time {format_time(truncated.first)}-{format_time(truncated.last)}/*"


@router.get("/entities", operation_id="ngsi_temporal_query")
@router.get("/entities/", include_in_schema=False)
async def query_entities(
    request: Request,
    platform: PlatformDep,
    type: str | None = None,
    id: str | None = None,
    idPattern: str | None = None,
    attrs: str | None = None,
    q: str | None = None,
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    geoproperty: str | None = None,
    timerel: str | None = None,
    timeAt: str | None = None,
    endTimeAt: str | None = None,
    timeproperty: str | None = None,
    lastN: str | None = None,
    aggrMethods: str | None = None,
    aggrPeriodDuration: str | None = None,
    options: str | None = None,
    format: str | None = None,
    limit: Annotated[int, Query(ge=0)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: bool = False,
) -> Response:
    """Temporal evolution of the entities matching the filters (one page, by id)."""
    ctx = await media.request_context(request, platform)
    answer_as = media.negotiate(request)
    if limit > MAX_LIMIT:
        raise NgsiError(ErrorKind.TOO_MANY_RESULTS, f"limit must be at most {MAX_LIMIT}")
    tq = _temporal_query(
        timerel=timerel, time_at=timeAt, end_time_at=endTimeAt, timeproperty=timeproperty,
        attrs=media.split_names(attrs, ctx), last_n=lastN, aggr_methods=aggrMethods,
        aggr_period=aggrPeriodDuration, options=options, fmt=format,
    )  # fmt: skip
    if not any((id, type, idPattern, attrs, q, georel)):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA,
            "give at least one of type, id, idPattern, attrs, q, georel (clause 5.7.4)",
        )
    parsed_q = ngsi_query.parse_q(q, expand=ctx.to_canonical) if q else None
    geoq = ngsi_query.parse_geoq(
        georel, geometry, coordinates, ctx.to_canonical(geoproperty) if geoproperty else None
    )
    page = await offload_of(request).run(
        lambda: temporal.query(
            platform,
            tq,
            types=media.split_names(type, ctx),
            ids=media.split(id),
            id_pattern=idPattern,
            q=parsed_q,
            geoq=geoq,
            limit=limit,
            offset=offset,
            count=count,
            context=ctx,
        )
    )
    headers = {media.COUNT_HEADER: str(page.count)} if page.count is not None else {}
    status = 200
    if page.truncated is not None:
        status, headers["Content-Range"] = 206, _content_range(page.truncated)
    return media.respond(page.entities, ctx, answer_as, status=status, headers=headers)


@router.get("/entities/{entity_id}", operation_id="ngsi_temporal_retrieve")
async def retrieve_entity(
    entity_id: str,
    request: Request,
    platform: PlatformDep,
    type: str | None = None,
    attrs: str | None = None,
    timerel: str | None = None,
    timeAt: str | None = None,
    endTimeAt: str | None = None,
    timeproperty: str | None = None,
    lastN: str | None = None,
    aggrMethods: str | None = None,
    aggrPeriodDuration: str | None = None,
    options: str | None = None,
    format: str | None = None,
) -> Response:
    """The temporal evolution of one entity."""
    ctx = await media.request_context(request, platform)
    if not core_entities.is_uri(entity_id):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{entity_id[:80]!r} is not an entity id")
    answer_as = media.negotiate(request)
    tq = _temporal_query(
        timerel=timerel, time_at=timeAt, end_time_at=endTimeAt, timeproperty=timeproperty,
        attrs=media.split_names(attrs, ctx), last_n=lastN, aggr_methods=aggrMethods,
        aggr_period=aggrPeriodDuration, options=options, fmt=format,
    )  # fmt: skip
    types = media.split_names(type, ctx)
    entity, truncated = await run_in_threadpool(
        lambda: temporal.retrieve_range(platform, entity_id, tq, types=types, context=ctx)
    )
    wanted = media.split(attrs)
    if wanted and not any(name in entity for name in wanted):
        raise NgsiError(
            ErrorKind.RESOURCE_NOT_FOUND, f"{entity_id} has no history of {', '.join(wanted)}"
        )
    if truncated is not None:
        headers = {"Content-Range": _content_range(truncated)}
        return media.respond(entity, ctx, answer_as, status=206, headers=headers)
    return media.respond(entity, ctx, answer_as)


@router.post("/entities", status_code=201, operation_id="ngsi_temporal_create")
@router.post("/entities/", status_code=201, include_in_schema=False)
async def create_entity(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create a temporal entity (201) or add instances to an existing one (204)."""
    body, ctx = await media.read_body(request, platform)
    created = await run_in_threadpool(
        lambda: temporal_writes.create(platform, body, actor=actor, context=ctx)
    )
    if not created:
        return Response(status_code=204)
    location = f"/ngsi-ld/v1/temporal/entities/{quote(str(body['id']), safe=':')}"
    return Response(status_code=201, headers={"Location": location})


@router.post("/entities/{entity_id}/attrs", status_code=204, operation_id="ngsi_temporal_append")
@router.post("/entities/{entity_id}/attrs/", status_code=204, include_in_schema=False)
async def append_attrs(
    entity_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Add attribute instances to an entity's history."""
    body, ctx = await media.read_body(request, platform)
    await run_in_threadpool(
        lambda: temporal_writes.append(platform, entity_id, body, actor=actor, context=ctx)
    )
    return Response(status_code=204)


@router.delete("/entities/{entity_id}", status_code=204, operation_id="ngsi_temporal_delete")
async def delete_entity(
    entity_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Delete an entity's temporal evolution (the current entity stays; see /entities)."""
    media.check_tenant(request)
    await run_in_threadpool(
        lambda: temporal_deletes.delete_entity(platform, entity_id, actor=actor)
    )
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}", status_code=204, operation_id="ngsi_temporal_delete_attr"
)
async def delete_attribute(
    entity_id: str, attr: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Delete every instance of one attribute."""
    ctx = await media.request_context(request, platform)
    name = ctx.to_canonical(attr)
    await run_in_threadpool(
        lambda: temporal_deletes.delete_attribute(platform, entity_id, name, actor=actor)
    )
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}",
    status_code=204,
    operation_id="ngsi_temporal_delete_instance",
)
async def delete_instance(
    entity_id: str,
    attr: str,
    instance_id: str,
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """Delete one attribute instance, named by its `instanceId`."""
    ctx = await media.request_context(request, platform)
    name = ctx.to_canonical(attr)
    await run_in_threadpool(
        lambda: temporal_deletes.delete_instance(
            platform, entity_id, name, instance_id, actor=actor
        )
    )
    return Response(status_code=204)


@router.patch(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}",
    status_code=204,
    operation_id="ngsi_temporal_modify_instance",
)
async def modify_instance(
    entity_id: str,
    attr: str,
    instance_id: str,
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """Replace one attribute instance by the one sent (same instant unless another is given)."""
    body, ctx = await media.read_body(request, platform)
    name = ctx.to_canonical(attr)
    await run_in_threadpool(
        lambda: temporal_deletes.modify_instance(
            platform, entity_id, name, instance_id, body, actor=actor, context=ctx
        )
    )
    return Response(status_code=204)
