"""The back office under `/office`: a commune's agents work their queue (filters, sort, search,
assign, status with public or internal notes, merge, bulk), and admins manage the service
catalogue. Every change goes through `services.service_requests` / `service_catalog`, which
check the actor's area; this module only shows what they allow and says no politely.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, HakamaError, Invalid, NotFound, Unauthorized
from hakama.core.requests import TRANSITIONS, Status
from hakama.core.services_catalog import ICONS, Datatype, Service, service_from_dict
from hakama.http.deps import ActorDep, csrf_token, verify_csrf
from hakama.http.web.request_pages import (
    Page,
    leaf_areas,
    page_url,
    pager,
    services_by_code,
    translate_error,
)
from hakama.http.web.request_pages import page_number as read_page
from hakama.services import (
    request_media,
    request_publication,
    service_catalog,
    service_requests,
    territory,
)
from hakama.services.service_requests import RequestFilter, SortKey
from hakama.storage.types import utcnow

router = APIRouter(prefix="/office", include_in_schema=False)

PAGE_SIZE = 50
SORTS: tuple[tuple[SortKey, str], ...] = (
    ("-requested_at", "Newest first"),
    ("requested_at", "Oldest first"),
    ("expected_at", "Deadline first"),
    ("-updated_at", "Recently changed"),
)
ACTIVE = tuple(s for s in Status if s.is_active)
MESSAGES = {
    "saved": "Saved.",
    "merged": "The duplicates were merged into this request.",
    "reopened": "The request is open again.",
    "service": "The service was saved.",
    "disabled": "The service is no longer offered there.",
}


class _Redirect(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _work_areas(page: Page, actor: Actor) -> list[str]:
    """Communes whose queue the actor works, in name order; empty if none."""
    leaves = leaf_areas(page.platform)
    chains = {a.code: territory.area_chain(page.platform, a.code) for a in leaves}
    codes = [a.code for a in leaves if allowed(actor, Action.WORK_REQUESTS, chains[a.code])]
    return sorted(codes, key=page.area_name)


def _staff(page: Page, actor: Actor) -> list[str]:
    """The actor's communes; sends the public to sign in and others to a 403 page."""
    if actor.kind == "anonymous":
        raise _Redirect(_sign_in(page.request))
    areas = _work_areas(page, actor)
    if not areas:
        raise _Redirect(page.error(Forbidden("this account does not work a request queue")))
    return areas


def _common(page: Page, actor: Actor, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "actor_label": actor.id,
        "can_manage_catalog": bool(_catalog_areas(page, actor)),
        "csrf_token": csrf_token(page.request),
    }


def _message(page: Page) -> str:
    key = page.request.query_params.get("msg", "")
    if key == "bulk":
        done = _int(page.request.query_params.get("done"))
        failed = _int(page.request.query_params.get("failed"))
        text = page._("%(done)d request(s) updated.", done=done)
        if failed:
            text += " " + page._(
                "%(failed)d could not be changed from their status.", failed=failed
            )
        return text
    return page._(MESSAGES[key]) if key in MESSAGES else ""


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or "0"))
    except ValueError:
        return 0


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
        areas = _staff(page, actor)
    except _Redirect as exit_:
        return exit_.response
    if status == "all":
        statuses: tuple[Status, ...] = ()
    else:
        statuses = tuple(s for s in Status if s.value == status) or ACTIVE
    sort_key: SortKey = next((k for k, _label in SORTS if k == sort), "-requested_at")
    services = service_catalog.list_services(page.platform)
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
        **_common(page, actor, "queue"),
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
        message=_message(page),
        errors=[],
    )


def _text(form: FormData, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.post("/bulk", response_class=HTMLResponse)
async def bulk(request: Request, actor: ActorDep) -> Response:
    """One action on the selected requests; each is checked on its own."""
    page = Page(request)
    form = await request.form()
    try:
        _staff(page, actor)
        verify_csrf(request, _text(form, "csrf_token", 600))
        ids = [v for v in form.getlist("ids") if isinstance(v, str)][:500]
        if not ids:
            raise Invalid("select at least one request")
        action = _text(form, "action", 20)
        note = _text(form, "note")
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
                public=_text(form, "public") == "1",
            )
    except _Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    back = _text(form, "back", 1000)
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
    offered = service_catalog.list_services(page.platform, area_code=req.area_code)
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
        **_common(page, actor, "queue"),
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
        message=_message(page),
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
        _staff(page, actor)
        return _detail(page, actor, request_id)
    except _Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)


async def _change(request: Request, request_id: str, actor: Actor, what: str) -> Response:
    page = Page(request)
    form = await request.form()
    msg = "saved"
    try:
        _staff(page, actor)
        verify_csrf(request, _text(form, "csrf_token", 600))
        note = _text(form, "note")
        public = _text(form, "public") == "1"
        if what == "status":
            target = next((s for s in Status if s.value == _text(form, "status", 20)), None)
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
                assignee=_text(form, "assignee", 300),
                department=_text(form, "department", 300),
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
                d for d in _text(form, "duplicates", 400).replace(";", ",").split(",") if d.strip()
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
            if _text(form, "withdraw") == "1":
                request_publication.withdraw(page.platform, request_id, actor=actor)
            else:
                photos = [p for p in form.getlist("photos") if isinstance(p, str)]
                request_publication.approve(
                    page.platform, request_id, text=note, photos=photos, actor=actor
                )
    except _Redirect as exit_:
        return exit_.response
    except (NotFound, Forbidden, Unauthorized) as exc:
        return page.error(exc)
    except HakamaError as exc:
        try:
            return _detail(
                page,
                actor,
                request_id,
                errors=[translate_error(page, exc.message)],
                status_code=exc.status,
            )
        except HakamaError as again:
            return page.error(again)
    return RedirectResponse(f"/office/requests/{request_id}?msg={msg}", status_code=303)


@router.post("/requests/{request_id}/publish", response_class=HTMLResponse)
async def publish(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "publish")


@router.post("/requests/{request_id}/status", response_class=HTMLResponse)
async def change_status(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "status")


@router.post("/requests/{request_id}/assign", response_class=HTMLResponse)
async def assign(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "assign")


@router.post("/requests/{request_id}/comment", response_class=HTMLResponse)
async def comment(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "comment")


@router.post("/requests/{request_id}/reopen", response_class=HTMLResponse)
async def reopen(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "reopen")


@router.post("/requests/{request_id}/photo", response_class=HTMLResponse)
async def add_photo(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "photo")


@router.post("/requests/{request_id}/merge", response_class=HTMLResponse)
async def merge(request: Request, request_id: str, actor: ActorDep) -> Response:
    return await _change(request, request_id, actor, "merge")


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
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


# The service catalogue -----------------------------------------------------------------------


def _catalog_areas(page: Page, actor: Actor) -> list[str]:
    """Areas whose catalogue the actor manages: their own area (or all) and the communes below."""
    if actor.kind == "anonymous":
        return []
    out = []
    for area in territory.list_areas(page.platform):
        if area.level.depth < 2:  # countries and regions: catalogues start at provinces
            continue
        if allowed(actor, Action.MANAGE_CATALOG, territory.area_chain(page.platform, area.code)):
            out.append(area.code)
    return sorted(
        out, key=lambda c: (territory.get_area(page.platform, c).level.depth, page.area_name(c))
    )


def _admin(page: Page, actor: Actor, area: str) -> tuple[list[str], str]:
    if actor.kind == "anonymous":
        raise _Redirect(_sign_in(page.request))
    areas = _catalog_areas(page, actor)
    if not areas:
        raise _Redirect(page.error(Forbidden("this account does not manage a service catalogue")))
    if area and area not in areas:
        raise _Redirect(
            page.error(Forbidden(f"{actor.label} may not manage the services of {area}"))
        )
    return areas, area or areas[0]


def _catalogue_rows(page: Page, area: str) -> list[dict[str, Any]]:
    own = service_catalog.definitions_at(page.platform, area)
    offered = {s.code: s for s in service_catalog.list_services(page.platform, area_code=area)}
    for service in own:
        offered.setdefault(service.code, service)
    return [
        {
            "code": s.code,
            "name": s.name(page.lang),
            "department": s.department,
            "target_hours": f"{s.target_hours:g}",
            "defined_at": page.area_name(s.area_code),
            "active": s.active,
            "icon": s.icon,
        }
        for s in sorted(offered.values(), key=lambda s: (s.category, s.code))
    ]


@router.get("/services", response_class=HTMLResponse)
def services(request: Request, actor: ActorDep, area: str = "") -> Response:
    area = area[:64]
    """The services an area offers (own and inherited definitions), for its admins."""
    page = Page(request)
    try:
        areas, chosen = _admin(page, actor, area)
    except _Redirect as exit_:
        return exit_.response
    return page.render(
        "office/services.html",
        **_common(page, actor, "services"),
        areas=[{"code": c, "name": page.area_name(c)} for c in areas],
        area={"code": chosen, "name": page.area_name(chosen)},
        services=_catalogue_rows(page, chosen),
        message=_message(page),
    )


def _service_form(service: Service | None, code: str = "") -> dict[str, Any]:
    attrs = []
    for attr in service.attributes if service else ():
        attrs.append(
            {
                "code": attr.code,
                "datatype": attr.datatype.value,
                "required": attr.required,
                "ar": attr.descriptions.get("ar", ""),
                "fr": attr.descriptions.get("fr", ""),
                "en": attr.descriptions.get("en", ""),
                "values": ", ".join(
                    f"{v.key}={v.names.get('fr', '')}" if v.names.get("fr") else v.key
                    for v in attr.values
                ),
            }
        )
    blank: dict[str, Any] = {
        "code": "",
        "datatype": "string",
        "required": False,
        "ar": "",
        "fr": "",
        "en": "",
        "values": "",
    }
    attrs.extend(dict(blank) for _ in range(2))
    names = service.names if service else {}
    descriptions = service.descriptions if service else {}
    return {
        "existing": service is not None,
        "code": service.code if service else code,
        **{f"name_{lang}": names.get(lang, "") for lang in ("ar", "fr", "en")},
        **{f"description_{lang}": descriptions.get(lang, "") for lang in ("ar", "fr", "en")},
        "category": service.category if service else "",
        "department": service.department if service else "",
        "target_hours": f"{service.target_hours:g}" if service else "72",
        "business_hours": service.business_hours if service else False,
        "icon": service.icon if service else "other",
        "active": service.active if service else True,
        "attributes": attrs,
    }


def _render_service_form(
    page: Page,
    actor: Actor,
    area: str,
    form: dict[str, Any],
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page.render(
        "office/service_form.html",
        status_code,
        **_common(page, actor, "services"),
        area={"code": area, "name": page.area_name(area)},
        form=form,
        icons=ICONS,
        datatypes=[d.value for d in Datatype],
        errors=errors or [],
    )


@router.get("/services/new", response_class=HTMLResponse)
def service_new(request: Request, actor: ActorDep, area: str = "") -> Response:
    area = area[:64]
    page = Page(request)
    try:
        _areas, chosen = _admin(page, actor, area)
    except _Redirect as exit_:
        return exit_.response
    return _render_service_form(page, actor, chosen, _service_form(None))


@router.get("/services/{code}", response_class=HTMLResponse)
def service_edit(request: Request, code: str, actor: ActorDep, area: str = "") -> Response:
    """Edit a definition; editing an inherited one creates the area's own override."""
    page = Page(request)
    try:
        _areas, chosen = _admin(page, actor, area)
        own = next(
            (s for s in service_catalog.definitions_at(page.platform, chosen) if s.code == code),
            None,
        )
        service = own or service_catalog.get_service(page.platform, code, area_code=chosen)
    except _Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    return _render_service_form(page, actor, chosen, _service_form(service))


def _attributes_from_form(form: FormData, previous: Service | None) -> list[dict[str, Any]]:
    columns = {
        name: [v if isinstance(v, str) else "" for v in form.getlist(f"attr_{name}")]
        for name in ("code", "datatype", "required", "ar", "fr", "en", "values")
    }
    out = []
    for i, code in enumerate(columns["code"][:50]):
        code = code.strip()
        if not code:
            continue

        def cell(name: str, i: int = i) -> str:
            values = columns[name]
            return values[i].strip() if i < len(values) else ""

        old = previous.attribute(code) if previous else None
        old_names = {v.key: dict(v.names) for v in old.values} if old else {}
        values = []
        for part in cell("values").split(","):
            key, _sep, name = part.partition("=")
            key = key.strip()
            if not key:
                continue
            names = old_names.get(key, {})
            names["fr"] = name.strip() or names.get("fr") or key
            values.append({"key": key, "names": names})
        out.append(
            {
                "code": code,
                "datatype": cell("datatype") or "string",
                "required": cell("required") == "1",
                "descriptions": {lang: cell(lang) for lang in ("ar", "fr", "en") if cell(lang)},
                "values": values,
            }
        )
    return out


@router.post("/services/save", response_class=HTMLResponse)
async def service_save(request: Request, actor: ActorDep) -> Response:
    """Create or replace the area's definition of a service."""
    page = Page(request)
    form = await request.form()
    area = _text(form, "area", 64)
    try:
        _areas, chosen = _admin(page, actor, area)
        verify_csrf(request, _text(form, "csrf_token", 600))
    except _Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    code = _text(form, "code", 64).strip()
    previous = next(
        (s for s in service_catalog.all_definitions(page.platform) if s.code == code), None
    )
    data: dict[str, Any] = {
        "code": code,
        "area_code": chosen,
        "category": _text(form, "category", 64).strip(),
        "names": {lang: _text(form, f"name_{lang}", 200).strip() for lang in ("ar", "fr", "en")},
        "descriptions": {
            lang: _text(form, f"description_{lang}", 500).strip() for lang in ("ar", "fr", "en")
        },
        "department": _text(form, "department", 200).strip(),
        "target_hours": _text(form, "target_hours", 20).strip() or "0",
        "business_hours": _text(form, "business_hours") == "1",
        "icon": _text(form, "icon", 32) or "other",
        "active": _text(form, "active") == "1",
        "attributes": _attributes_from_form(form, previous),
    }
    try:
        try:
            service = service_from_dict(data)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        service_catalog.save_service(page.platform, service, actor=actor)
    except HakamaError as exc:
        if isinstance(exc, Forbidden | Unauthorized):
            return page.error(exc)
        shown = _service_form(None, code)
        rows = [
            {
                "code": a["code"],
                "datatype": a["datatype"],
                "required": a["required"],
                **{lang: a["descriptions"].get(lang, "") for lang in ("ar", "fr", "en")},
                "values": ", ".join(f"{v['key']}={v['names'].get('fr', '')}" for v in a["values"]),
            }
            for a in data["attributes"]
        ]
        shown["attributes"] = rows + shown["attributes"]
        shown.update(
            {
                k: v
                for k, v in data.items()
                if k in ("category", "department", "icon", "active", "business_hours")
            },
            target_hours=data["target_hours"],
            existing=False,
            **{f"name_{k}": v for k, v in data["names"].items()},
            **{f"description_{k}": v for k, v in data["descriptions"].items()},
        )
        return _render_service_form(
            page, actor, chosen, shown, errors=[exc.message], status_code=exc.status
        )
    return RedirectResponse(
        "/office/services?" + urlencode({"area": chosen, "msg": "service"}), status_code=303
    )


@router.post("/services/{code}/disable", response_class=HTMLResponse)
async def service_disable(request: Request, code: str, actor: ActorDep) -> Response:
    page = Page(request)
    form = await request.form()
    area = _text(form, "area", 64)
    try:
        _areas, chosen = _admin(page, actor, area)
        verify_csrf(request, _text(form, "csrf_token", 600))
        service_catalog.disable_service(page.platform, code, area_code=chosen, actor=actor)
    except _Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    return RedirectResponse(
        "/office/services?" + urlencode({"area": chosen, "msg": "disabled"}), status_code=303
    )
