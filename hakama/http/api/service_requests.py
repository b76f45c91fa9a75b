"""hakama's extension of Open311 GeoReport v2 (documented in docs/open311.md): a request's
updates (history and comments), status changes by the commune, reopening, the requester's
confirmation or contest of a resolution, more photos, and the photos themselves.

Same conventions as the spec: `.json`/`.xml`, form-encoded POSTs, errors as
`[{"code": 400, "description": "…"}]`. Who acts: an API key (`api_key` field or header) or a
signed-in user for the commune's staff; the requester proves it is them with the `token`
returned when the request was filed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from hakama.core.access import Actor
from hakama.core.errors import NotFound
from hakama.core.requests import RequestEvent, ServiceRequest, Status
from hakama.http.api.open311 import (
    Open311Error,
    actor_for,
    answer,
    request_json,
)
from hakama.http.api.open311_codec import FORMATS, error_response, respond
from hakama.http.deps import PlatformDep, platform_of
from hakama.services import request_media, service_requests
from hakama.services.platform import Platform

router = APIRouter(prefix="/open311/v2", tags=["open311-extension"])

MAX_FORM = 64 * 1024
MAX_UPLOAD = request_media.MAX_BYTES * 2 + 64 * 1024


def update_json(event: RequestEvent) -> dict[str, Any]:
    """One entry of a request's history, as the extension shows it."""
    return {
        "update_id": f"{event.request_id}:{event.seq}",
        "service_request_id": event.request_id,
        "updated_datetime": event.at.isoformat(timespec="seconds"),
        "event": event.kind.value,
        "status": event.status.open311,
        "status_detail": event.status.value,
        "description": event.note,
        "public": event.public,
        "by": event.actor_kind,
    }


async def _form(request: Request, fmt: str) -> dict[str, str] | Response:
    shown = fmt if fmt in FORMATS else "json"
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return error_response(shown, 400, "send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM:
        return error_response(shown, 400, "the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return error_response(shown, 400, "the form is not valid UTF-8 form encoding")
    return dict(pairs)


def _bool(text: str | None, *, default: bool) -> bool:
    if text is None or text == "":
        return default
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise Open311Error(400, "public must be true or false")


@router.get("/requests/{service_request_id}/updates.{fmt}", operation_id="open311x_updates")
async def get_updates(
    request: Request, platform: PlatformDep, service_request_id: str, fmt: str
) -> Response:
    """A request's history: public updates for everyone; all of them for the commune's staff;
    the requester's own comments too with `?token=`."""

    def work() -> Response:
        events = service_requests.history(
            platform,
            service_request_id,
            actor=actor_for(request),
            token=request.query_params.get("token") or None,
        )
        rows = [update_json(e) for e in events]
        return respond(fmt, rows, root="updates", row="update")

    return await answer(fmt, work)


@router.post("/requests/{service_request_id}/updates.{fmt}", operation_id="open311x_post_update")
async def post_update(request: Request, service_request_id: str, fmt: str) -> Response:
    """Add an update: a comment (`description`), and for the commune's staff a new `status`
    (open statuses: acknowledged, in_progress, resolved, closed) and `public=true|false`."""
    form = await _form(request, fmt)
    if isinstance(form, Response):
        return form

    def work() -> Response:
        platform, actor, token = _caller(request, form)
        note = form.get("description", "")
        public = _bool(form.get("public"), default=True)
        status_text = form.get("status", "").strip()
        if status_text:
            try:
                status = Status(status_text)
            except ValueError:
                raise Open311Error(400, f"status {status_text[:20]!r} is not a status") from None
            item = service_requests.transition(
                platform, service_request_id, status=status, actor=actor, note=note, public=public
            )
        else:
            service_requests.comment(
                platform, service_request_id, text=note, actor=actor, public=public, token=token
            )
            item = service_requests.get_request(
                platform, service_request_id, actor=actor, token=token
            )
        return _one_request(request, fmt, item)

    return await answer(fmt, work)


def _feedback(name: str) -> Any:
    async def endpoint(request: Request, service_request_id: str, fmt: str) -> Response:
        form = await _form(request, fmt)
        if isinstance(form, Response):
            return form

        def work() -> Response:
            platform, actor, token = _caller(request, form)
            note = form.get("description", "")
            action = {
                "reopen": service_requests.reopen,
                "confirm": service_requests.confirm,
                "contest": service_requests.contest,
            }[name]
            item = action(platform, service_request_id, actor=actor, token=token, note=note)
            item = service_requests.get_request(platform, item.id, actor=actor, token=token)
            return _one_request(request, fmt, item)

        return await answer(fmt, work)

    endpoint.__name__ = f"post_{name}"
    endpoint.__doc__ = {
        "reopen": "Reopen a resolved or closed request (the commune, or the requester's token).",
        "confirm": "The requester confirms the resolution (`token`): the request is closed.",
        "contest": "The requester contests the resolution (`token`): the request is open again.",
    }[name]
    return endpoint


for _name in ("reopen", "confirm", "contest"):
    router.add_api_route(
        f"/requests/{{service_request_id}}/{_name}.{{fmt}}",
        _feedback(_name),
        methods=["POST"],
        operation_id=f"open311x_{_name}",
    )


@router.post("/requests/{service_request_id}/media.{fmt}", operation_id="open311x_post_media")
async def post_media(request: Request, service_request_id: str, fmt: str) -> Response:
    """Attach a photo (multipart field `media`; JPEG, PNG or WebP up to 5 MB; metadata removed)."""
    shown = fmt if fmt in FORMATS else "json"
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return error_response(shown, 400, "send the photo as multipart/form-data, field 'media'")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_UPLOAD):
        return error_response(shown, 400, "the upload is larger than 5 MB")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:  # a malformed multipart body is the client's error, never a 500
        return error_response(shown, 400, "the multipart form could not be read")
    upload = form.get("media")
    if upload is None or isinstance(upload, str):
        return error_response(shown, 400, "the form has no file in field 'media'")
    data = await upload.read(request_media.MAX_BYTES + 1)
    await form.close()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    def work() -> Response:
        platform, actor, token = _caller(request, fields)
        service_requests.add_media(
            platform, service_request_id, data=data, actor=actor, token=token
        )
        item = service_requests.get_request(platform, service_request_id, actor=actor, token=token)
        return _one_request(request, fmt, item)

    return await answer(fmt, work)


def _caller(request: Request, form: Mapping[str, str]) -> tuple[Platform, Actor, str | None]:
    """Who writes, from a POSTed form: the platform, the actor (its `api_key`, else the
    signed-in user) and the requester's `token` if one was sent."""
    return (
        platform_of(request),
        actor_for(request, form.get("api_key") or ""),
        form.get("token") or None,
    )


def _one_request(request: Request, fmt: str, item: ServiceRequest) -> Response:
    """The answer to a write on one request: the request as it now is, with the extensions."""
    return respond(
        fmt,
        [request_json(request, item, extensions=True)],
        root="service_requests",
        row="request",
    )


@router.get("/media/{name}", operation_id="open311x_media")
async def get_media(request: Request, platform: PlatformDep, name: str) -> Response:
    """A request's photo (stored without metadata)."""
    try:
        path, content_type = request_media.media_path(platform, name)
    except NotFound:
        return error_response("json", 404, "media not found")
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
