"""`/ngsi-ld/v1/entities/{id}/attrs`: the attributes of one entity (ETSI GS CIM 009 v1.8.1,
clauses 5.6.2-5.6.5, 5.6.19): append, update, patch or replace one, delete one (or one of its
datasetId instances). Served with the entity routes (`ngsi_ld.routers`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hakama.core import jsonld
from hakama.http.api import ngsi_media as media
from hakama.http.api import ngsi_shape
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import entities as service

router = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)


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


@router.post("/entities/{entity_id}/attrs", operation_id="ngsi_append_attrs", status_code=204)
@router.post("/entities/{entity_id}/attrs/", include_in_schema=False, status_code=204)
async def append_attrs(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    entity_id: str,
    options: ngsi_shape.OptionsQ = None,
) -> Response:
    """Append attributes (clause 5.6.3); `options=noOverwrite` keeps existing ones."""
    media.check_entity_id(entity_id)
    chosen = media.options(options, ("noOverwrite",))
    body, context = await media.read_body(request, platform)
    result = await run_blocking(
        service.append_attrs,
        platform,
        entity_id,
        media.strip_context(body),
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
    media.check_entity_id(entity_id)
    body, context = await media.read_body(request, platform)
    result = await run_blocking(
        service.update_attrs,
        platform,
        entity_id,
        media.strip_context(body),
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
    media.check_entity_id(entity_id)
    body, context = await media.read_body(request, platform, merge_patch=merge_patch)
    await run_blocking(
        write,
        platform,
        entity_id,
        media.attribute_name(attr, context),
        media.strip_context(body),
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
    media.check_entity_id(entity_id)
    context = await media.request_context(request, platform)
    await run_blocking(
        service.delete_attr,
        platform,
        entity_id,
        media.attribute_name(attr, context),
        actor=actor,
        dataset_id=datasetId,
        delete_all=deleteAll,
    )
    return Response(status_code=204)
