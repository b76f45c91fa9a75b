"""`/ngsi-ld/v1/types`, `/attributes` and `/jsonldContexts` (ETSI GS CIM 009 v1.8.1, clauses
5.7.5-5.7.10, 5.13): the entity types and attributes in use, and the @contexts this broker
holds. Served with the entity routes (`ngsi_ld.routers`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hakama.core import jsonld
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import contexts
from hakama.services import entities as service

router = APIRouter(
    prefix="/ngsi-ld/v1", tags=["ngsi-ld"], dependencies=[Depends(media.known_parameters)]
)


@router.get("/types", operation_id="ngsi_list_types")
@router.get("/types/", include_in_schema=False)
async def list_types(request: Request, platform: PlatformDep, details: bool = False) -> Response:
    """Entity types in use (clause 5.7.5/5.7.6): an EntityTypeList, or EntityType details."""
    context = await media.request_context(request, platform)
    accept = media.negotiate(request)
    types = await run_blocking(service.list_types, platform)
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
    found = next(
        (t for t in await run_blocking(service.list_types, platform) if t.name == wanted), None
    )
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
    found = await run_blocking(service.list_attributes, platform)
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
        (a for a in await run_blocking(service.list_attributes, platform) if a.name == wanted),
        None,
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
    cached = await run_blocking(contexts.cached, platform)
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
    hosted_id = await run_blocking(contexts.host, platform, body["@context"], actor=actor)
    return Response(status_code=201, headers={"Location": f"{contexts.HOSTED_PREFIX}{hosted_id}"})


@router.get("/jsonldContexts/{context_id:path}", operation_id="ngsi_get_context")
async def get_context(platform: PlatformDep, context_id: str) -> Response:
    """One @context held here (clause 5.13.4): a core URL, a fetched URL or a hosted id."""
    found = await run_blocking(contexts.document, platform, context_id)
    return media.respond(found, jsonld.core(), media.JSONLD, with_context=False)


@router.delete(
    "/jsonldContexts/{context_id:path}", operation_id="ngsi_delete_context", status_code=204
)
async def delete_context(platform: PlatformDep, actor: ActorDep, context_id: str) -> Response:
    """Forget a fetched context (fetched again when next used) or a hosted one (clause 5.13.5)."""
    await run_blocking(contexts.forget, platform, context_id, actor=actor)
    return Response(status_code=204)
