"""The citizen portal: report a problem (icons, map, photo) and the public list and map of
requests — all through `services.request_filing` / `service_requests`, no rule of its own.
Following a request by its number is `tracking`: filing hands the requester's token to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hakama.core.clock import utcnow
from hakama.core.errors import HakamaError, Invalid, NotFound
from hakama.core.request_types import Datatype, Service
from hakama.core.requests import Contact, RequestDraft, Status
from hakama.http.deps import ActorDep, CsrfDep, csrf_token
from hakama.http.problems import status_of
from hakama.http.web.forms import form_photos, form_text
from hakama.http.web.render import CITIZEN_LANGUAGES
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
from hakama.http.web.tracking import remember_token
from hakama.services import (
    request_filing,
    request_types,
    service_requests,
)
from hakama.services.service_requests import RequestFilter

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


# Reporting -------------------------------------------------------------------------------------


def _offered(page: Page, commune: str | None) -> list[Service]:
    if commune:
        try:
            return request_types.list_services(page.platform, area_code=commune)
        except NotFound:
            pass
    return request_types.list_services(page.platform)


@router.get("/report", response_class=HTMLResponse)
def report_choose(request: Request, commune: str | None = None) -> HTMLResponse:
    """Step 1: the services, as big tiles with an icon."""
    page = Page(request, citizen=True)
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
    page = Page(request, citizen=True)
    try:
        service = _service_for(page, code, commune)
    except HakamaError as exc:
        return page.error(exc)
    return _report_form(page, service, form={"commune": commune or ""})


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


@router.post("/report/{code}", response_class=HTMLResponse)
async def report_submit(request: Request, code: str, actor: ActorDep, _: CsrfDep) -> Response:
    """File the request, then show its tracking number (the token goes in a cookie)."""
    page = Page(request, citizen=True)
    form = await request.form()
    commune = form_text(form, "commune", 64) or None
    try:
        service = _service_for(page, code, commune)
    except HakamaError as exc:
        return page.error(exc)
    values = {
        key: form_text(form, key)
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
        lang = form_text(form, "language", 3)
        draft = RequestDraft(
            service_code=service.code,
            description=values["description"],
            lat=_number(values["lat"], "lat"),
            lon=_number(values["long"], "long"),
            address=values["address_string"],
            jurisdiction_id=commune,
            jurisdiction_chosen=form_text(form, "commune_chosen", 2) == "1",
            attributes=answers,
            language=lang if lang in CITIZEN_LANGUAGES else page.lang,
            channel="web",
        )
        contact = Contact(
            first_name=values["name"].strip(),
            phone=values["phone"].strip(),
            email=values["email"].strip(),
        )
        filed = request_filing.file_request(
            page.platform, draft=draft, actor=actor, contact=contact, photos=await form_photos(form)
        )
    except HakamaError as exc:
        if status_of(exc) >= 500 or status_of(exc) in (401, 403):
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
    remember_token(response, request, request_id, filed.token)
    return response


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
    page = Page(request, citizen=True)
    known = {a.code for a in leaf_areas(page.platform)}
    services = request_types.list_services(page.platform)
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
