"""The back office under `/office`: a commune's agents work their queue (filters, sort, search,
assign, status with public or internal notes, merge, bulk) and open one request (request
types are edited in `request_types_editor`). Every change goes through
`services.service_requests`, which checks the actor's area; this module only shows what it
allows and says no politely.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, HakamaError, Invalid, NotFound, Unauthorized
from hakama.core.request_types import Service
from hakama.core.requests import TRANSITIONS, Status
from hakama.http.deps import ActorDep
from hakama.http.web.forms import form_text
from hakama.http.web.office import Redirect, office_context, office_message, staff_areas
from hakama.http.web.request_pages import (
    Page,
    action_routes,
    page_url,
    pager,
    photo_file,
    services_by_code,
)
from hakama.http.web.request_pages import page_number as read_page
from hakama.services import (
    request_media,
    request_publication,
    request_types,
    service_requests,
    territory,
)
from hakama.services.service_requests import RequestFilter, SortKey

router = APIRouter(prefix="/office", include_in_schema=False)

PAGE_SIZE = 50
SORTS: tuple[tuple[SortKey, str], ...] = (
    ("-requested_at", "Newest first"),
    ("requested_at", "Oldest first"),
    ("expected_at", "Deadline first"),
    ("-updated_at", "Recently changed"),
)
ACTIVE = tuple(s for s in Status if s.is_active)
# The queue ---------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def queue(
    request: Request,
    actor: ActorDep,
    q: str = "",
    status: str = "",
    service: str = "",
    area: str = "",
    overdue: str = "",
    sort: str = "-requested_at",
    page_arg: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    """The requests of the agent's commune(s), most urgent highlighted."""
    page_no = read_page(page_arg)
    q, status, service, area, overdue = q[:100], status[:20], service[:64], area[:64], overdue[:5]
    page = Page(request)
    try:
        areas = staff_areas(page, actor)
    except Redirect as exit_:
        return exit_.response
    if status == "all":
        statuses: tuple[Status, ...] = ()
    else:
        statuses = tuple(s for s in Status if s.value == status) or ACTIVE
    sort_key: SortKey = next((k for k, _label in SORTS if k == sort), "-requested_at")
    services = request_types.list_services(page.platform)
    filters = RequestFilter(
        queue=True,
        area_codes=(area,) if area else (),
        service_codes=(service,) if service else (),
        statuses=statuses,
        overdue=True if overdue else None,
        search=q.strip(),
    )
    now = utcnow()
    try:
        result = service_requests.list_requests(
            page.platform,
            filters=filters,
            actor=actor,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
            sort=sort_key,
            now=now,
        )
        late = service_requests.list_requests(
            page.platform,
            filters=RequestFilter(queue=True, area_codes=filters.area_codes, overdue=True),
            actor=actor,
            limit=1,
            now=now,
        ).total
    except HakamaError as exc:
        return page.error(exc)
    known = services_by_code(services)
    kept = {
        "q": q,
        "status": status,
        "service": service,
        "area": area,
        "overdue": "1" if overdue else "",
        "sort": sort_key,
    }
    paging = pager("/office", kept, page_no, result)
    return page.render(
        "office/queue.html",
        **office_context(page, actor, "queue"),
        rows=[page.request_view(r, now, known) for r in result.items],
        total=result.total,
        overdue_count=late,
        filters={**kept, "overdue": bool(overdue)},
        statuses=page.statuses(),
        services=[page.service_view(s) for s in services],
        areas=[{"code": c, "name": page.area_name(c)} for c in areas],
        sorts=[(k, page._(label)) for k, label in SORTS],
        paging=paging,
        back=page_url("/office", kept, page_no),
        message=office_message(page),
        errors=[],
    )


@router.post("/bulk", response_class=HTMLResponse)
async def bulk(request: Request, actor: ActorDep) -> Response:
    """One action on the selected requests; each is checked on its own."""
    page = Page(request)
    form = await request.form()
    try:
        staff_areas(page, actor)
        ids = [v for v in form.getlist("ids") if isinstance(v, str)][:500]
        if not ids:
            raise Invalid("select at least one request")
        action = form_text(form, "action", 20)
        note = form_text(form, "note")
        if action == "assign":
            report = service_requests.bulk(
                page.platform,
                request_ids=ids,
                action="assign",
                actor=actor,
                assignee=note.strip(),
            )
        else:
            target = next((s for s in Status if s.value == action), None)
            if target is None:
                raise Invalid("choose what to do with the selected requests")
            report = service_requests.bulk(
                page.platform,
                request_ids=ids,
                action="transition",
                actor=actor,
                status=target,
                note=note,
                public=form_text(form, "public") == "1",
            )
    except Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    back = form_text(form, "back", 1000)
    if not back.startswith("/office"):
        back = "/office"
    joiner = "&" if "?" in back else "?"
    query = urlencode({"msg": "bulk", "done": len(report.done), "failed": len(report.failed)})
    return RedirectResponse(f"{back}{joiner}{query}", status_code=303)


# One request ---------------------------------------------------------------------------------


def _detail(
    page: Page,
    actor: Actor,
    request_id: str,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    req = service_requests.get_request(page.platform, request_id, actor=actor)
    chain = territory.area_chain(page.platform, req.area_code)
    if not allowed(actor, Action.WORK_REQUESTS, chain):
        raise Forbidden(
            f"{actor.label} may not see the requests of {req.area_code}",
            request_area=req.area_code,
        )
    events = service_requests.history(page.platform, req.id, actor=actor)
    contact = None
    if page.request.query_params.get("contact") == "1":
        contact = service_requests.get_contact(page.platform, req.id, actor=actor)
        if contact is None:
            from hakama.core.requests import Contact

            contact = Contact()
    offered = request_types.list_services(page.platform, area_code=req.area_code)
    service = next((s for s in offered if s.code == req.service_code), None)
    view = page.request_view(req, utcnow(), services_by_code(offered))
    view["answers"] = _answers_view(page, service, req.attributes)
    view["media"] = [
        f"/office/media/{req.id}/{m}" if request_media.is_stored_name(m) else m for m in req.media
    ]
    can_work = allowed(actor, Action.WORK_REQUESTS, chain)
    return page.render(
        "office/request.html",
        status_code,
        **office_context(page, actor, "queue"),
        req=view,
        events=[page.event_view(e) for e in events],
        contact=contact,
        can_read_personal=allowed(actor, Action.READ_PERSONAL, chain),
        can_work=can_work,
        can_reopen=can_work and not req.status.is_active and not req.merged_into,
        next_statuses=page.statuses(sorted(TRANSITIONS[req.status], key=list(Status).index))
        if not req.merged_into
        else [],
        departments=sorted({s.department for s in offered if s.department}),
        agents=[actor.id],
        communes_geojson=page.communes_geojson([req.area_code]),
        publication=request_publication.get(page.platform, req.id),
        stored_media=[m for m in req.media if request_media.is_stored_name(m)],
        message=office_message(page),
        errors=errors or [],
    )


def _answers_view(page: Page, service: Service | None, answers: Any) -> list[dict[str, str]]:
    out = []
    for code, value in dict(answers or {}).items():
        attr = service.attribute(code) if service else None
        label = attr.description(page.lang) if attr else code
        names = {v.key: v.name(page.lang) for v in attr.values} if attr else {}
        values = value if isinstance(value, list) else [value]
        out.append({"label": label, "value": ", ".join(names.get(str(v), str(v)) for v in values)})
    return out


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, request_id: str, actor: ActorDep) -> Response:
    """A request with its whole history; the requester's contact on demand (audited)."""
    page = Page(request)
    try:
        staff_areas(page, actor)
        return _detail(page, actor, request_id)
    except Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)


async def _change(request: Request, request_id: str, actor: Actor, what: str) -> Response:
    page = Page(request)
    form = await request.form()
    msg = "saved"
    try:
        staff_areas(page, actor)
        note = form_text(form, "note")
        public = form_text(form, "public") == "1"
        if what == "status":
            target = next((s for s in Status if s.value == form_text(form, "status", 20)), None)
            if target is None:
                raise Invalid("choose the new status")
            service_requests.transition(
                page.platform, request_id, status=target, actor=actor, note=note, public=public
            )
        elif what == "assign":
            service_requests.assign(
                page.platform,
                request_id,
                actor=actor,
                assignee=form_text(form, "assignee", 300),
                department=form_text(form, "department", 300),
            )
        elif what == "comment":
            service_requests.comment(
                page.platform, request_id, text=note, actor=actor, public=public
            )
        elif what == "reopen":
            service_requests.reopen(page.platform, request_id, actor=actor, note=note)
            msg = "reopened"
        elif what == "photo":
            upload = form.get("photo")
            data = (
                await upload.read(request_media.MAX_BYTES + 1)
                if isinstance(upload, UploadFile)
                else b""
            )
            if not data:
                raise Invalid("choose a photo")
            service_requests.add_media(page.platform, request_id, data=data, actor=actor)
        elif what == "merge":
            dupes = [
                d
                for d in form_text(form, "duplicates", 400).replace(";", ",").split(",")
                if d.strip()
            ]
            service_requests.merge_duplicates(
                page.platform,
                primary_id=request_id,
                duplicate_ids=[d.strip() for d in dupes],
                actor=actor,
                note=note,
            )
            msg = "merged"
        elif what == "publish":  # open data: the text (and photos) an agent approves
            if form_text(form, "withdraw") == "1":
                request_publication.withdraw(page.platform, request_id, actor=actor)
            else:
                photos = [p for p in form.getlist("photos") if isinstance(p, str)]
                request_publication.approve(
                    page.platform, request_id, text=note, photos=photos, actor=actor
                )
    except Redirect as exit_:
        return exit_.response
    except (NotFound, Forbidden, Unauthorized) as exc:
        return page.error(exc)
    except HakamaError as exc:
        return page.again(
            exc,
            lambda errors, status: _detail(page, actor, request_id, errors=errors, status_code=status),
        )
    return RedirectResponse(f"/office/requests/{request_id}?msg={msg}", status_code=303)


action_routes(
    router,
    "/requests/{request_id}",
    ("publish", "status", "assign", "comment", "reopen", "photo", "merge"),
    _change,
)


@router.get("/media/{request_id}/{name}")
def media(request: Request, request_id: str, name: str, actor: ActorDep) -> Response:
    """A request's photo, for the staff of its commune."""
    page = Page(request)
    try:
        req = service_requests.get_request(page.platform, request_id, actor=actor)
        chain = territory.area_chain(page.platform, req.area_code)
        if not allowed(actor, Action.WORK_REQUESTS, chain) or name not in req.media:
            raise NotFound("no such media")
        path, content_type = request_media.media_path(page.platform, name)
    except HakamaError as exc:
        return page.error(exc)
    return photo_file(path, content_type)
