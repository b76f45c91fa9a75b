"""`/ngsi-ld/v1/temporal/entities`: the NGSI-LD temporal API (clauses 6.18–6.22).

Retrieval and query with `timerel`/`timeAt`/`endTimeAt`, `lastN`, `attrs`, the
`temporalValues` and `aggregatedValues` representations (`options=` or `format=`), and
aggregation (`aggrMethods`, `aggrPeriodDuration`); creation, appending and deletion of
attribute instances. The work is done by `hakama.services.temporal` (reading),
`temporal_writes` and `temporal_deletes`; this module only translates HTTP. `timeproperty`
other than `observedAt` is OperationNotSupported: the lake keeps the observed instant only.
An attribute with more instances in the window than the `ngsi_temporal_max_instances`
setting (or a `lastN` above it) is cut: 206 with `Content-Range: date-time <start>-<end>/<size>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hakama.core import entities as core_entities
from hakama.core import jsonld, ngsi_query
from hakama.core.clock import format_instant
from hakama.core.ngsi_selectors import type_names
from hakama.core.temporal import TemporalQuery, Truncated
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.api.ngsi_query_body import expanded_values, read_query, text
from hakama.http.api.ngsi_shape import parse_projection
from hakama.http.deps import ActorDep, OffloadDep, PlatformDep
from hakama.http.offload import Offload, run_blocking
from hakama.services import temporal, temporal_deletes, temporal_writes
from hakama.services.platform import Platform

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
        # format takes precedence over the representation words of options (clause 6.3.12)
        words = (words - {"normalized", "temporalValues", "aggregatedValues"}) | {fmt}
        if fmt != "aggregatedValues":
            aggr_methods = aggr_period = None
    tq = TemporalQuery.parse(
        timerel=timerel,
        time_at=time_at,
        end_time_at=end_time_at,
        last_n=last_n,
        aggr_methods=aggr_methods,
        aggr_period=aggr_period,
        options=sorted(words),
    )
    return replace(tq, attrs=tuple(attrs))


def _content_range(truncated: Truncated, tq: TemporalQuery) -> str:
    """`Content-Range` of a cut answer (clause 6.3.10): from the window's bound on the side the
    answer starts from (timeAt, or endTimeAt with lastN) else the first instant answered, to the
    instant it was cut at; the size is lastN, or `*`."""
    bound = tq.window.end if truncated.size is not None else tq.window.start
    start = format_instant(bound if bound is not None else truncated.first)
    size = "*" if truncated.size is None else str(truncated.size)
    return f"date-time {start}-{format_instant(truncated.last)}/{size}"


@router.get("/entities", operation_id="ngsi_temporal_query")
@router.get("/entities/", include_in_schema=False)
async def query_entities(
    offload: OffloadDep,
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
    pick: str | None = None,
    omit: str | None = None,
    local: bool = False,
    expandValues: str | None = None,
) -> Response:
    """Temporal evolution of the entities matching the filters (one page, by id).

    hakama has no context sources: `local=true` changes no answer, but lets a query select
    every entity (clause 6.3.18); otherwise a type, attrs, q or georel must narrow it (ids
    alone do not: clause 5.7.4)."""
    ctx = await media.request_context(request, platform)
    answer_as = media.negotiate(request)
    _check_limit(limit)
    project = _projection(pick, omit, attrs)
    tq = _temporal_query(
        timerel=timerel, time_at=timeAt, end_time_at=endTimeAt, timeproperty=timeproperty,
        attrs=media.split_names(attrs, ctx), last_n=lastN, aggr_methods=aggrMethods,
        aggr_period=aggrPeriodDuration, options=options, fmt=format,
    )  # fmt: skip
    if not any((type, idPattern, attrs, q, georel, local)):
        raise NgsiError(
            ErrorKind.BAD_REQUEST_DATA,
            "give at least one of type, idPattern, attrs, q, georel, or local=true (clause 5.7.4)",
        )
    parsed_q = ngsi_query.parse_q(q, expand=ctx.to_canonical) if q else None
    parsed_q = expanded_values(parsed_q, expandValues, ctx)
    geoq = ngsi_query.parse_geoq(
        georel, geometry, coordinates, ctx.to_canonical(geoproperty) if geoproperty else None
    )
    selection = _Selection(media.split_names(type, ctx), media.split(id), idPattern, parsed_q, geoq)
    return await _answer_query(
        request, offload, platform, tq, selection, ctx, answer_as, project,
        limit=limit, offset=offset, count=count,
    )  # fmt: skip


@dataclass(frozen=True)
class _Selection:
    """Which entities a temporal query is about (canonical types; q and geoQ parsed)."""

    types: list[str]
    ids: list[str]
    id_pattern: str | None
    q: ngsi_query.Query | None
    geoq: ngsi_query.GeoQuery | None


async def _answer_query(
    request: Request,
    offload: Offload,
    platform: Platform,
    tq: TemporalQuery,
    selection: _Selection,
    ctx: jsonld.Context,
    answer_as: str,
    project: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    limit: int,
    offset: int,
    count: bool,
) -> Response:
    """One page of a temporal query, GET or POST: 200, or 206 when an attribute was cut."""
    page = await offload.run(
        lambda: temporal.query(
            platform,
            tq,
            types=selection.types,
            ids=selection.ids,
            id_pattern=selection.id_pattern,
            q=selection.q,
            geoq=selection.geoq,
            limit=limit,
            offset=offset,
            count=count,
            context=ctx,
        )
    )
    headers = {media.COUNT_HEADER: str(page.count)} if page.count is not None else {}
    status = 200
    if page.truncated is not None:
        status, headers["Content-Range"] = 206, _content_range(page.truncated, tq)
    entities = [kept for kept in map(project, page.entities) if kept]
    return media.respond(entities, ctx, answer_as, status=status, headers=headers)


@router.post("/entityOperations/query", operation_id="ngsi_temporal_batch_query")
async def query_entities_by_body(
    offload: OffloadDep,
    request: Request,
    platform: PlatformDep,
    options: str | None = None,
    format: str | None = None,
    limit: Annotated[int, Query(ge=0)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: bool = False,
) -> Response:
    """Temporal query with a Query object in the body (clauses 5.7.4 via POST, 6.24)."""
    body, ctx = await media.read_body(request, platform)
    answer_as = media.negotiate(request)
    _check_limit(limit)
    query = read_query(body, ctx)
    if query.empty:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "the Query needs entities, attrs, q or geoQ")
    if query.scope_q:
        raise NgsiError(ErrorKind.OPERATION_NOT_SUPPORTED, "scopeQ in temporal queries")
    if any(len(group) > 1 for s in query.selectors for group in s.type_query):
        raise NgsiError(ErrorKind.OPERATION_NOT_SUPPORTED, "type conjunctions in temporal queries")
    # a list of types is alternatives, as `type=A,B` in the GET query
    types = [
        name
        for s in query.selectors
        for name in ([s.type] if s.type else sorted(type_names(s.type_query)))
    ]
    ids = [s.id for s in query.selectors if s.id]
    patterns = sorted({s.id_pattern for s in query.selectors if s.id_pattern})
    if len(patterns) > 1:
        raise NgsiError(ErrorKind.OPERATION_NOT_SUPPORTED, "one idPattern per query only")
    temporal_q = body.get("temporalQ", {})
    if not isinstance(temporal_q, Mapping):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "temporalQ: must be an object")
    aggr = temporal_q.get("aggrMethods")
    tq = _temporal_query(
        timerel=_optional_text(temporal_q, "timerel"),
        time_at=_optional_text(temporal_q, "timeAt"),
        end_time_at=_optional_text(temporal_q, "endTimeAt"),
        timeproperty=_optional_text(temporal_q, "timeproperty"),
        attrs=query.attrs,
        last_n=_last_n(temporal_q.get("lastN")),
        aggr_methods=",".join(aggr)
        if isinstance(aggr, list)
        else _optional_text(temporal_q, "aggrMethods"),
        aggr_period=_optional_text(temporal_q, "aggrPeriodDuration"),
        options=options,
        fmt=format,
    )
    selection = _Selection(types, ids, patterns[0] if patterns else None, query.q, query.geoq)
    return await _answer_query(
        request, offload, platform, tq, selection, ctx, answer_as, lambda entity: entity,
        limit=limit, offset=offset, count=count,
    )  # fmt: skip


def _check_limit(limit: int) -> None:
    if limit > MAX_LIMIT:
        raise NgsiError(ErrorKind.TOO_MANY_RESULTS, f"limit must be at most {MAX_LIMIT}")


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None else text(value, f"temporalQ.{name}")


def _last_n(value: Any) -> str | None:
    """`lastN` of a JSON TemporalQuery: a positive integer (as text for the shared parser)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "temporalQ.lastN: must be a positive integer")
    return str(value)


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
    pick: str | None = None,
    omit: str | None = None,
) -> Response:
    """The temporal evolution of one entity."""
    ctx = await media.request_context(request, platform)
    if not core_entities.is_uri(entity_id):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{entity_id[:80]!r} is not an entity id")
    answer_as = media.negotiate(request)
    project = _projection(pick, omit, attrs)
    tq = _temporal_query(
        timerel=timerel, time_at=timeAt, end_time_at=endTimeAt, timeproperty=timeproperty,
        attrs=media.split_names(attrs, ctx), last_n=lastN, aggr_methods=aggrMethods,
        aggr_period=aggrPeriodDuration, options=options, fmt=format,
    )  # fmt: skip
    types = media.split_names(type, ctx)
    entity, truncated = await run_blocking(
        lambda: temporal.retrieve_range(platform, entity_id, tq, types=types, context=ctx)
    )
    wanted = media.split(attrs)
    if wanted and not any(name in entity for name in wanted):
        raise NgsiError(
            ErrorKind.RESOURCE_NOT_FOUND, f"{entity_id} has no history of {', '.join(wanted)}"
        )
    entity = project(entity)
    if not entity:
        raise NgsiError(ErrorKind.RESOURCE_NOT_FOUND, f"pick/omit leave nothing of {entity_id}")
    if truncated is not None:
        headers = {"Content-Range": _content_range(truncated, tq)}
        return media.respond(entity, ctx, answer_as, status=206, headers=headers)
    return media.respond(entity, ctx, answer_as)


def _projection(
    pick: str | None, omit: str | None, attrs: str | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`pick`/`omit` (clause 4.21) over temporal entities: the members kept, in the client's
    names (id, type, attributes); neither goes with `attrs`, nor with each other."""
    if not (pick or omit):
        return lambda entity: entity
    if attrs:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "attrs cannot be combined with pick or omit")
    if pick and omit:
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "pick and omit exclude each other")
    names = parse_projection(pick or omit or "", "pick" if pick else "omit")
    keep = bool(pick)
    return lambda entity: {k: v for k, v in entity.items() if (k in names) is keep}


@router.post("/entities", status_code=201, operation_id="ngsi_temporal_create")
@router.post("/entities/", status_code=201, include_in_schema=False)
async def create_entity(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create a temporal entity (201) or add instances to an existing one (204)."""
    body, ctx = await media.read_body(request, platform)
    created = await run_blocking(
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
    await run_blocking(
        lambda: temporal_writes.append(platform, entity_id, body, actor=actor, context=ctx)
    )
    return Response(status_code=204)


@router.delete("/entities/{entity_id}", status_code=204, operation_id="ngsi_temporal_delete")
async def delete_entity(
    entity_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Delete an entity's temporal evolution (the current entity stays; see /entities)."""
    media.check_tenant(request)
    await run_blocking(lambda: temporal_deletes.delete_entity(platform, entity_id, actor=actor))
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
    await run_blocking(
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
    await run_blocking(
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
    await run_blocking(
        lambda: temporal_deletes.modify_instance(
            platform, entity_id, name, instance_id, body, actor=actor, context=ctx
        )
    )
    return Response(status_code=204)
