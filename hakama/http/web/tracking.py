"""Following a request by its number: its public page, and for the requester (who holds the
token from a private link or the cookie scoped to the tracking page) comments, photos, the answer
to a resolution, and the messages about it; others may follow it by e-mail.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hakama.core.clock import utcnow
from hakama.core.errors import HakamaError, Invalid, NotFound
from hakama.core.requests import REQUEST_ID, Status, normalise_request_id
from hakama.http.deps import ActorDep, CsrfDep, csrf_token, platform_of
from hakama.http.problems import status_of
from hakama.http.web import notices
from hakama.http.web.forms import form_photos, form_text
from hakama.http.web.request_pages import (
    Page,
    action_routes,
    photo_file,
    services_by_code,
    translate_error,
)
from hakama.services import citizen_notices, request_media, request_types, service_requests

router = APIRouter(include_in_schema=False)

TOKEN_COOKIE = "hakama_rq_"


def _token_cookie(request_id: str) -> str:
    return TOKEN_COOKIE + request_id.replace("-", "")


def requester_token(request: Request, request_id: str) -> str | None:
    """The requester's token: from a private link (`?key=`) if it is right, else the cookie."""
    asked = request.query_params.get("key")
    if asked and len(asked) <= 100:
        try:
            if (
                service_requests.request_id_for_token(platform_of(request), asked)
                == request_id
            ):
                return asked
        except NotFound:
            pass
    return request.cookies.get(_token_cookie(request_id))


def remember_token(response: Response, request: Request, request_id: str, token: str) -> None:
    response.set_cookie(
        _token_cookie(request_id),
        token,
        max_age=365 * 24 * 3600,
        path=f"/track/{request_id}",
        httponly=True,
        samesite="lax",
        secure=platform_of(request).settings.secure_cookies,
    )


@router.get("/track", response_class=HTMLResponse)
def track_find(request: Request, id: str = "") -> Response:
    """Ask for a tracking number, then go to its page."""
    id = id[:40]
    page = Page(request, citizen=True)
    if id.strip():
        wanted = normalise_request_id(id)
        if REQUEST_ID.fullmatch(wanted):
            try:
                service_requests.get_request(page.platform, wanted, actor=request.state.actor)
                return RedirectResponse(f"/track/{wanted}", status_code=303)
            except NotFound:
                pass
        return page.render(
            "portal/track_find.html",
            404,
            asked=id,
            errors=[page._("No request has this number. Check it and try again.")],
        )
    return page.render("portal/track_find.html", asked="", errors=[])


def _track_page(
    page: Page,
    request_id: str,
    actor: Any,
    *,
    token: str | None,
    filed: bool = False,
    message: str = "",
    errors: list[str] | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    req = service_requests.get_request(page.platform, request_id, actor=actor, token=token)
    events = service_requests.history(page.platform, req.id, actor=actor, token=token)
    is_requester = token is not None and _holds(page, req.id, token)
    now = utcnow()
    known = services_by_code(request_types.list_services(page.platform))
    view = page.request_view(req, now, known)
    private_link = ""
    if filed and is_requester and token:
        base = str(page.request.base_url).rstrip("/")
        private_link = f"{base}/track/{req.id}?{urlencode({'key': token})}"
    return page.render(
        "portal/track.html",
        status_code,
        req=view,
        events=[page.event_view(e) for e in events],
        filed=filed,
        is_requester=is_requester,
        private_link=private_link,
        can_comment=is_requester and not req.merged_into and req.status is not Status.CLOSED,
        can_feedback=is_requester and req.status is Status.RESOLVED and not req.merged_into,
        photos=[f"/track/{req.id}/media/{m}" for m in req.media if request_media.is_stored_name(m)]
        if is_requester
        else [],
        communes_geojson=page.communes_geojson([req.area_code]),
        csrf_token=csrf_token(page.request),
        message=message,
        errors=errors or [],
        field_errors=field_errors or {},
        form=form or {},
        notices=notices.follow_view(page, req.id, is_requester=is_requester),
        private_qr=notices.qr_svg(private_link, page._("QR code of the private link"))
        if private_link
        else "",
    )


def track_with(
    page: Page,
    request_id: str,
    actor: Any,
    *,
    message: str = "",
    errors: list[str] | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The tracking page after an action on it (a message, or errors), or the error page."""
    token = requester_token(page.request, request_id)
    try:
        return _track_page(
            page,
            request_id,
            actor,
            token=token,
            message=message,
            errors=errors,
            field_errors=field_errors,
            form=form,
            status_code=status_code,
        )
    except HakamaError as exc:
        return page.error(exc)


@router.post("/track/{request_id}/follow", response_class=HTMLResponse)
async def follow(request: Request, request_id: str, actor: ActorDep, _: CsrfDep) -> Response:
    """Someone who did not file the request asks to be told of its changes by e-mail."""
    page = Page(request, citizen=True)
    form = await request.form()
    email = form_text(form, "email", 320)
    try:
        citizen_notices.follow(page.platform, request_id, email=email, language=page.lang)
    except HakamaError as exc:
        if status_of(exc) == 404:
            return page.error(exc)
        problem = translate_error(page, exc.message)
        return track_with(
            page,
            request_id,
            actor,
            errors=[problem],
            field_errors={"follow-email": problem},
            form={"follow_email": email},
            status_code=status_of(exc),
        )
    return track_with(
        page,
        request_id,
        actor,
        message=page._(
            "We sent a message to this address: open the link in it to confirm. "
            "Nothing else is sent until you do."
        ),
    )


@router.post("/track/{request_id}/notices/stop", response_class=HTMLResponse)
async def stop_my_notices(
    request: Request, request_id: str, actor: ActorDep, _: CsrfDep
) -> Response:
    """The requester, on their tracking page, stops the messages about their request."""
    page = Page(request, citizen=True)
    try:
        citizen_notices.stop_requester(
            page.platform, request_id, token=requester_token(request, request_id)
        )
    except HakamaError as exc:
        return page.error(exc)
    return track_with(
        page, request_id, actor, message=page._("You will get no more messages about this request.")
    )


def _holds(page: Page, request_id: str, token: str) -> bool:
    try:
        return service_requests.request_id_for_token(page.platform, token) == request_id
    except NotFound:
        return False


@router.get("/track/{request_id}", response_class=HTMLResponse)
def track(request: Request, request_id: str, actor: ActorDep, filed: bool = False) -> Response:
    """A request's status, public notes and timeline; the requester may comment and answer."""
    page = Page(request, citizen=True)
    canonical = normalise_request_id(request_id)
    if canonical != request_id and REQUEST_ID.fullmatch(canonical):
        return RedirectResponse(f"/track/{canonical}", status_code=307)
    token = requester_token(request, canonical)
    try:
        response = _track_page(page, canonical, actor, token=token, filed=filed)
    except HakamaError as exc:
        return page.error(exc)
    asked = request.query_params.get("key")
    if asked and token == asked:  # a right private link: remember it on this device
        remember_token(response, request, canonical, asked)
    return response


async def _requester_action(request: Request, request_id: str, actor: Any, kind: str) -> Response:
    page = Page(request, citizen=True)
    form = await request.form()
    token = requester_token(request, request_id)
    try:
        note = form_text(form, "note")
        if kind == "comment":
            service_requests.comment(page.platform, request_id, text=note, actor=actor, token=token)
            message = page._("Your comment was added.")
        elif kind == "photo":
            photos = await form_photos(form)
            if len(photos) != 1:
                raise Invalid("choose one photo")
            service_requests.add_media(
                page.platform, request_id, data=photos[0], actor=actor, token=token
            )
            message = page._("Your photo was added.")
        elif form_text(form, "verdict") == "confirm":
            service_requests.confirm(page.platform, request_id, actor=actor, token=token, note=note)
            message = page._("Thank you: the request is closed.")
        elif form_text(form, "verdict") == "contest":
            service_requests.contest(page.platform, request_id, actor=actor, token=token, note=note)
            message = page._("The request is open again; the commune will look at it.")
        else:
            raise Invalid("answer yes or no")
    except HakamaError as exc:
        if isinstance(exc, NotFound):
            return page.error(exc)
        return page.again(
            exc,
            lambda errors, status: _track_page(
                page, request_id, actor, token=token, errors=errors, status_code=status
            ),
        )
    return _track_page(page, request_id, actor, token=token, message=message)


# photo: the requester adds one later (re-encoded without metadata, like at filing)
action_routes(
    router,
    "/track/{request_id}",
    ("photo", "comment", "feedback"),
    _requester_action,
    anonymous_forms=True,
)


@router.get("/track/{request_id}/media/{name}")
def track_media(request: Request, request_id: str, name: str) -> Response:
    """A photo of the request, for its requester only (photos may show people or plates)."""
    page = Page(request, citizen=True)
    token = requester_token(request, request_id)
    try:
        if not token or not _holds(page, request_id, token):
            raise NotFound("no such media")
        req = service_requests.get_request(
            page.platform, request_id, actor=request.state.actor, token=token
        )
        if name not in req.media:
            raise NotFound("no such media")
        path, content_type = request_media.media_path(page.platform, name)
    except HakamaError as exc:
        return page.error(exc)
    return photo_file(path, content_type)
