"""The citizen portal: report a problem (icons, map, photo), follow it by its number, and the
public list and map of requests — all through `services.service_requests`, no rule of its own.

The requester's token (returned once at filing) is kept in a cookie scoped to the request's
tracking page, and given as a private link, so the same person can later comment, confirm or
contest the resolution; everyone else sees the public view of the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hakama.core.errors import HakamaError, Invalid, NotFound
from hakama.core.requests import REQUEST_ID, Contact, RequestDraft, Status, normalise_request_id
from hakama.core.services_catalog import Datatype, Service
from hakama.http.deps import ActorDep, csrf_token, verify_csrf
from hakama.http.web import notices
from hakama.http.web.request_pages import (
    Page,
    leaf_areas,
    pager,
    services_by_code,
    translate_error,
)
from hakama.http.web.request_pages import (
    page_number as read_page,
)
from hakama.services import citizen_notices, request_media, service_catalog, service_requests
from hakama.services.service_requests import RequestFilter
from hakama.storage.types import utcnow

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
TOKEN_COOKIE = "hakama_rq_"
MAX_PHOTOS = 2  # the form offers a camera input and a file input


def _token_cookie(request_id: str) -> str:
    return TOKEN_COOKIE + request_id.replace("-", "")


def requester_token(request: Request, request_id: str) -> str | None:
    """The requester's token: from a private link (`?key=`) if it is right, else the cookie."""
    asked = request.query_params.get("key")
    if asked and len(asked) <= 100:
        try:
            if (
                service_requests.request_id_for_token(request.app.state.platform, asked)
                == request_id
            ):
                return asked
        except NotFound:
            pass
    return request.cookies.get(_token_cookie(request_id))


def _remember_token(response: Response, request: Request, request_id: str, token: str) -> None:
    response.set_cookie(
        _token_cookie(request_id),
        token,
        max_age=365 * 24 * 3600,
        path=f"/track/{request_id}",
        httponly=True,
        samesite="lax",
        secure=request.app.state.platform.settings.secure_cookies,
    )


# Reporting -------------------------------------------------------------------------------------


def _offered(page: Page, commune: str | None) -> list[Service]:
    if commune:
        try:
            return service_catalog.list_services(page.platform, area_code=commune)
        except NotFound:
            pass
    return service_catalog.list_services(page.platform)


@router.get("/report", response_class=HTMLResponse)
def report_choose(request: Request, commune: str | None = None) -> HTMLResponse:
    """Step 1: the services, as big tiles with an icon."""
    page = Page(request)
    chosen = next((c for c in page.communes() if c["code"] == commune), None)
    services = [page.service_view(s) for s in _offered(page, commune)]
    return page.render("portal/report_choose.html", services=services, commune=chosen)


def _attribute_views(page: Page, service: Service, raw: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    for attr in sorted(service.attributes, key=lambda a: a.order):
        views.append(
            {
                "code": attr.code,
                "datatype": attr.datatype.value,
                "label": attr.description(page.lang),
                "required": attr.required,
                "variable": attr.variable,
                "values": [{"key": v.key, "name": v.name(page.lang)} for v in attr.values],
                "value": raw.get(attr.code),
            }
        )
    return views


def _report_form(
    page: Page,
    service: Service,
    *,
    form: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    photo_dropped: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    values = {
        "lat": "",
        "long": "",
        "commune": "",
        "commune_chosen": "",
        "address_string": "",
        "description": "",
        "name": "",
        "phone": "",
        "email": "",
        **(form or {}),
    }
    return page.render(
        "portal/report_form.html",
        status_code,
        service=page.service_view(service),
        attributes=_attribute_views(page, service, answers or {}),
        communes=page.communes(),
        communes_geojson=page.communes_geojson(),
        form=values,
        errors=errors or [],
        field_errors={e["field"]: e["message"] for e in errors or [] if e["field"]},
        photo_dropped=photo_dropped,
        csrf_token=csrf_token(page.request),
    )


#: Which field of the report form an error is about (by a word of the service's message).
_ERROR_FIELDS: tuple[tuple[str, str], ...] = (
    ("email", "email"),
    ("phone", "phone"),
    ("photo", "photo-file"),
    ("JPEG", "photo-file"),
    ("5 MB", "photo-file"),
    ("description", "description"),
    ("address", "address"),
    ("location is required", "commune"),
    ("without lat and long", "commune"),
    ("is not in", "commune"),
    ("outside the territory", "commune"),
    ("is not offered in", "commune"),
)


def _form_error(page: Page, service: Service, message: str) -> dict[str, str]:
    """An error of the report form: its words in the page's language and the field it is on."""
    field = next((f for needle, f in _ERROR_FIELDS if needle in message), "")
    if not field:
        for attr in service.attributes:
            if attr.code in message:
                field = f"attr-{attr.code}"
                break
    return {"field": field, "message": translate_error(page, message)}


def _service_for(page: Page, code: str, commune: str | None) -> Service:
    for service in _offered(page, commune):
        if service.code == code:
            return service
    raise NotFound(f"no service with code {code!r}")


@router.get("/report/{code}", response_class=HTMLResponse)
def report_form(request: Request, code: str, commune: str | None = None) -> HTMLResponse:
    """Steps 2-4: where (map, location, address), what (description, questions, photo), who."""
    page = Page(request)
    try:
        service = _service_for(page, code, commune)
    except HakamaError as exc:
        return page.error(exc)
    return _report_form(page, service, form={"commune": commune or ""})


def _text(form: FormData, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _number(value: str, what: str) -> float | None:
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise Invalid(f"{what} must be a number") from None


def _answers(page: Page, service: Service, form: FormData) -> dict[str, str | tuple[str, ...]]:
    """The answers to the service's questions, as the form sent them (`attribute[code]`)."""
    raw: dict[str, str | tuple[str, ...]] = {}
    for attr in service.attributes:
        values = [v for v in form.getlist(f"attribute[{attr.code}]") if isinstance(v, str)]
        values = [v for v in values if v.strip()]
        if not values:
            continue
        if attr.datatype is Datatype.MULTIVALUELIST:
            raw[attr.code] = tuple(values)
        elif attr.datatype is Datatype.DATETIME:
            raw[attr.code] = _local_datetime(page, values[0])
        else:
            raw[attr.code] = values[0]
    return raw


def _local_datetime(page: Page, value: str) -> str:
    """A `datetime-local` field is in the territory's time; give the service an instant."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=page.zone)
    return parsed.isoformat()


async def _photos(form: FormData) -> list[bytes]:
    """The photos sent (camera and file inputs); one byte over the limit is enough to refuse."""
    photos: list[bytes] = []
    for item in form.getlist("photo"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue
        data = await item.read(request_media.MAX_BYTES + 1)
        if data:
            photos.append(data)
    if len(photos) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos")
    return photos


@router.post("/report/{code}", response_class=HTMLResponse)
async def report_submit(request: Request, code: str, actor: ActorDep) -> Response:
    """File the request, then show its tracking number (the token goes in a cookie)."""
    page = Page(request)
    form = await request.form()
    try:
        verify_csrf(request, _text(form, "csrf_token", 600))
    except HakamaError as exc:
        return page.error(exc)
    commune = _text(form, "commune", 64) or None
    try:
        service = _service_for(page, code, commune)
    except HakamaError as exc:
        return page.error(exc)
    values = {
        key: _text(form, key)
        for key in (
            "lat",
            "long",
            "commune",
            "address_string",
            "description",
            "name",
            "phone",
            "email",
        )
    }
    answers = _answers(page, service, form)
    try:
        lang = _text(form, "language", 2)
        draft = RequestDraft(
            service_code=service.code,
            description=values["description"],
            lat=_number(values["lat"], "lat"),
            lon=_number(values["long"], "long"),
            address=values["address_string"],
            jurisdiction_id=commune,
            jurisdiction_chosen=_text(form, "commune_chosen", 2) == "1",
            attributes=answers,
            language=lang if lang in ("ar", "fr", "en") else page.lang,
            channel="web",
        )
        contact = Contact(
            first_name=values["name"].strip(),
            phone=values["phone"].strip(),
            email=values["email"].strip(),
        )
        filed = service_requests.file_request(
            page.platform, draft=draft, actor=actor, contact=contact, photos=await _photos(form)
        )
    except HakamaError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            return page.error(exc)
        shown = {k: (" ".join(v) if isinstance(v, tuple) else v) for k, v in answers.items()}
        return _report_form(
            page,
            service,
            form=values,
            answers={**shown, **{k: list(v) for k, v in answers.items() if isinstance(v, tuple)}},
            errors=[_form_error(page, service, exc.message)],
            photo_dropped=any(
                isinstance(item, UploadFile) and item.filename for item in form.getlist("photo")
            ),
            status_code=400,
        )
    request_id = filed.request.id
    response = RedirectResponse(f"/track/{request_id}?filed=1", status_code=303)
    _remember_token(response, request, request_id, filed.token)
    return response


# Following -------------------------------------------------------------------------------------


@router.get("/track", response_class=HTMLResponse)
def track_find(request: Request, id: str = "") -> Response:
    """Ask for a tracking number, then go to its page."""
    id = id[:40]
    page = Page(request)
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
    known = services_by_code(service_catalog.list_services(page.platform))
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
async def follow(request: Request, request_id: str, actor: ActorDep) -> Response:
    """Someone who did not file the request asks to be told of its changes by e-mail."""
    page = Page(request)
    form = await request.form()
    email = _text(form, "email", 320)
    try:
        verify_csrf(request, _text(form, "csrf_token", 600))
        citizen_notices.follow(page.platform, request_id, email=email, language=page.lang)
    except HakamaError as exc:
        if exc.status == 404:
            return page.error(exc)
        problem = translate_error(page, exc.message)
        return track_with(
            page,
            request_id,
            actor,
            errors=[problem],
            field_errors={"follow-email": problem},
            form={"follow_email": email},
            status_code=exc.status,
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
async def stop_my_notices(request: Request, request_id: str, actor: ActorDep) -> Response:
    """The requester, on their tracking page, stops the messages about their request."""
    page = Page(request)
    form = await request.form()
    try:
        verify_csrf(request, _text(form, "csrf_token", 600))
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
    page = Page(request)
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
        _remember_token(response, request, canonical, asked)
    return response


async def _requester_action(request: Request, request_id: str, actor: Any, kind: str) -> Response:
    page = Page(request)
    form = await request.form()
    token = requester_token(request, request_id)
    try:
        verify_csrf(request, _text(form, "csrf_token", 600))
        note = _text(form, "note")
        if kind == "comment":
            service_requests.comment(page.platform, request_id, text=note, actor=actor, token=token)
            message = page._("Your comment was added.")
        elif kind == "photo":
            photos = await _photos(form)
            if len(photos) != 1:
                raise Invalid("choose one photo")
            service_requests.add_media(
                page.platform, request_id, data=photos[0], actor=actor, token=token
            )
            message = page._("Your photo was added.")
        elif _text(form, "verdict") == "confirm":
            service_requests.confirm(page.platform, request_id, actor=actor, token=token, note=note)
            message = page._("Thank you: the request is closed.")
        elif _text(form, "verdict") == "contest":
            service_requests.contest(page.platform, request_id, actor=actor, token=token, note=note)
            message = page._("The request is open again; the commune will look at it.")
        else:
            raise Invalid("answer yes or no")
    except HakamaError as exc:
        if isinstance(exc, NotFound):
            return page.error(exc)
        try:
            return _track_page(
                page,
                request_id,
                actor,
                token=token,
                errors=[translate_error(page, exc.message)],
                status_code=exc.status,
            )
        except HakamaError as again:
            return page.error(again)
    return _track_page(page, request_id, actor, token=token, message=message)


@router.post("/track/{request_id}/photo", response_class=HTMLResponse)
async def track_photo(request: Request, request_id: str, actor: ActorDep) -> Response:
    """The requester adds a photo later (re-encoded without metadata, like at filing)."""
    return await _requester_action(request, request_id, actor, "photo")


@router.post("/track/{request_id}/comment", response_class=HTMLResponse)
async def track_comment(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _requester_action(request, request_id, actor, "comment")


@router.post("/track/{request_id}/feedback", response_class=HTMLResponse)
async def track_feedback(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _requester_action(request, request_id, actor, "feedback")


@router.get("/track/{request_id}/media/{name}")
def track_media(request: Request, request_id: str, name: str) -> Response:
    """A photo of the request, for its requester only (photos may show people or plates)."""
    page = Page(request)
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
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


# The public list -------------------------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse)
def public_requests(
    request: Request,
    actor: ActorDep,
    commune: str = "",
    service: str = "",
    status: str = "",
    page_arg: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    """Requests of every commune, newest first, with a map: no personal data, no free text."""
    page_no = read_page(page_arg)
    commune, service, status = commune[:64], service[:64], status[:20]
    page = Page(request)
    known = {a.code for a in leaf_areas(page.platform)}
    services = service_catalog.list_services(page.platform)
    statuses = tuple(s for s in Status if s.value == status)
    filters = RequestFilter(
        area_codes=(commune,) if commune in known else (),
        service_codes=(service,) if service in {s.code for s in services} else (),
        statuses=statuses,
        include_merged=False,
    )
    result = service_requests.list_requests(
        page.platform,
        filters=filters,
        actor=actor,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    now = utcnow()
    by_code = services_by_code(services)
    rows = [page.request_view(service_requests.public_view(r), now, by_code) for r in result.items]
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {"id": r["id"], "service": r["service_name"], "status": r["status"]},
            }
            for r in rows
            if r["lat"] is not None and r["lon"] is not None
        ],
    }
    kept = {"commune": commune, "service": service, "status": status}
    paging = pager("/requests", kept, page_no, result)
    return page.render(
        "portal/requests.html",
        rows=[{k: r[k] for k in _PUBLIC_FIELDS} for r in rows],
        total=result.total,
        points=points,
        communes=page.communes(),
        services=[page.service_view(s) for s in services],
        statuses=page.statuses(),
        filters=kept,
        paging=paging,
        communes_geojson=page.communes_geojson(),
    )


#: What the public list shows of a request (never description, contact or assignee).
_PUBLIC_FIELDS = (
    "id",
    "service_name",
    "icon",
    "status",
    "status_label",
    "overdue",
    "commune",
    "requested_text",
)
