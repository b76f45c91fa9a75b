"""`/ngsi-ld/v1/subscriptions`: create, list, retrieve, update and delete NGSI-LD
subscriptions (clause 6.10–6.11). The work is done by `hakama.services.subscriptions`;
notifications are sent by `hakama.jobs.notifier`.

A subscription reads back with the @context it was written with (a Link header for JSON, an
`@context` member for JSON-LD), since its attribute and type names are the client's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.subscriptions import Unsupported
from hakama.http.api import ngsi_media as media
from hakama.http.api.ngsi_errors import ErrorKind, NgsiError
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.offload import run_blocking
from hakama.services import contexts, subscriptions
from hakama.services.platform import Platform

router = APIRouter(
    prefix="/ngsi-ld/v1",
    tags=["NGSI-LD subscriptions"],
    dependencies=[Depends(media.known_parameters)],
)

MAX_LIMIT = 1000
T = TypeVar("T")


async def _call(work: Callable[[], T]) -> T:
    """Run a service call in the thread pool; unsupported features become their NGSI-LD error."""
    try:
        return await run_blocking(work)
    except Unsupported as exc:
        raise NgsiError(ErrorKind.OPERATION_NOT_SUPPORTED, exc.message) from None


def _own_context(platform: Platform, stored: subscriptions.Stored) -> jsonld.Context:
    refs = stored.sub.body.get("@context")
    return contexts.build(platform, refs) if refs else jsonld.core()


def _check_sub_id(sub_id: str) -> None:
    if not core_entities.is_uri(sub_id):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, f"{sub_id[:80]!r} is not a subscription id")


def _payload(stored: subscriptions.Stored) -> dict[str, Any]:
    return {k: v for k, v in stored.render().items() if k != "@context"}


@router.post("/subscriptions", status_code=201, operation_id="ngsi_subscription_create")
@router.post("/subscriptions/", status_code=201, include_in_schema=False)
async def create_subscription(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Create a subscription; 201 with its URL in Location."""
    body, ctx = await media.read_body(request, platform)
    if not isinstance(body, dict):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "a subscription is a JSON object")
    body = {k: v for k, v in body.items() if k != "@context"}
    if isinstance(body.get("jsonldContext"), str):
        # clause 5.2.12: the context notifications are compacted with must be reachable
        await run_blocking(contexts.build, platform, body["jsonldContext"])
    stored = await _call(lambda: subscriptions.create(platform, body, actor=actor, context=ctx))
    location = f"/ngsi-ld/v1/subscriptions/{quote(stored.sub.id, safe=':')}"
    return Response(status_code=201, headers={"Location": location})


@router.get("/subscriptions", operation_id="ngsi_subscription_list")
@router.get("/subscriptions/", include_in_schema=False)
async def list_subscriptions(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=0)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: bool = False,
) -> Response:
    """The subscriptions the caller may see, oldest first."""
    ctx = await media.request_context(request, platform)
    answer_as = media.negotiate(request)
    if limit > MAX_LIMIT:
        raise NgsiError(ErrorKind.TOO_MANY_RESULTS, f"limit must be at most {MAX_LIMIT}")
    found = await _call(lambda: subscriptions.list_(platform, actor=actor, limit=10**9))
    page = found[offset : offset + limit]
    headers = {media.COUNT_HEADER: str(len(found))} if count else {}
    links = media.page_links(
        request, offset=offset, limit=limit, more=len(found) > offset + limit, media=answer_as
    )
    if links:
        headers["Link"] = links
    if answer_as == media.JSONLD:
        items: list[dict[str, Any]] = []
        for stored in page:
            own = await run_blocking(_own_context, platform, stored)
            items.append({**_payload(stored), "@context": own.body_context()})
        return media.respond(items, ctx, answer_as, headers=headers, with_context=False)
    return media.respond([_payload(s) for s in page], ctx, answer_as, headers=headers)


@router.get("/subscriptions/{sub_id}", operation_id="ngsi_subscription_retrieve")
async def retrieve_subscription(
    sub_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """One subscription with its status and delivery figures."""
    media.check_tenant(request)
    _check_sub_id(sub_id)
    answer_as = media.negotiate(request)
    stored = await _call(lambda: subscriptions.get(platform, sub_id, actor=actor))
    own = await run_blocking(_own_context, platform, stored)
    return media.respond(_payload(stored), own, answer_as)


@router.patch("/subscriptions/{sub_id}", status_code=204, operation_id="ngsi_subscription_update")
async def update_subscription(
    sub_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Change members of a subscription (a fragment; `null` removes an optional member)."""
    _check_sub_id(sub_id)
    body, ctx = await media.read_body(request, platform, merge_patch=True)
    if not isinstance(body, dict):
        raise NgsiError(ErrorKind.BAD_REQUEST_DATA, "an update is a JSON object")
    has_context = "@context" in body or jsonld.parse_link_header(request.headers.get("link"))
    await _call(
        lambda: subscriptions.update(
            platform, sub_id, body, actor=actor, context=ctx if has_context else None
        )
    )
    return Response(status_code=204)


@router.delete("/subscriptions/{sub_id}", status_code=204, operation_id="ngsi_subscription_delete")
async def delete_subscription(
    sub_id: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Delete a subscription; what was waiting to be sent is dropped."""
    media.check_tenant(request)
    _check_sub_id(sub_id)
    await _call(lambda: subscriptions.delete(platform, sub_id, actor=actor))
    return Response(status_code=204)
