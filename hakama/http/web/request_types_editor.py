"""The back office's editor of request types (Open311 services) under `/office/services`: an
area's admins list, add, edit and withdraw them (own and inherited definitions);
`services.request_types` checks the area.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from hakama.core.access import Actor
from hakama.core.errors import Forbidden, HakamaError, Invalid, Unauthorized
from hakama.core.request_types import ICONS, LANGUAGES, Datatype, Service, service_from_dict
from hakama.http.deps import ActorDep
from hakama.http.problems import status_of
from hakama.http.web.forms import form_text
from hakama.http.web.office import Redirect, catalog_areas, office_context, office_message, sign_in
from hakama.http.web.request_pages import Page
from hakama.services import request_types

router = APIRouter(prefix="/office", include_in_schema=False)


def _admin(page: Page, actor: Actor, area: str) -> tuple[list[str], str]:
    if actor.kind == "anonymous":
        raise Redirect(sign_in(page.request))
    areas = catalog_areas(page, actor)
    if not areas:
        raise Redirect(page.error(Forbidden("this account does not manage a service catalogue")))
    if area and area not in areas:
        raise Redirect(
            page.error(Forbidden(f"{actor.label} may not manage the services of {area}"))
        )
    return areas, area or areas[0]


def _catalogue_rows(page: Page, area: str) -> list[dict[str, Any]]:
    own = request_types.definitions_at(page.platform, area)
    offered = {s.code: s for s in request_types.list_services(page.platform, area_code=area)}
    for service in own:
        offered.setdefault(service.code, service)
    return [
        {
            "code": s.code,
            "name": s.name(page.lang),
            "department": s.department_name(page.lang),
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
    except Redirect as exit_:
        return exit_.response
    return page.render(
        "office/services.html",
        **office_context(page, actor, "services"),
        areas=[{"code": c, "name": page.area_name(c)} for c in areas],
        area={"code": chosen, "name": page.area_name(chosen)},
        services=_catalogue_rows(page, chosen),
        message=office_message(page),
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
    departments = service.department_names if service else {}
    return {
        "existing": service is not None,
        "code": service.code if service else code,
        **{f"name_{lang}": names.get(lang, "") for lang in LANGUAGES},
        **{f"description_{lang}": descriptions.get(lang, "") for lang in LANGUAGES},
        "category": service.category if service else "",
        "department": service.department if service else "",
        **{f"department_{lang}": departments.get(lang, "") for lang in LANGUAGES},
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
        **office_context(page, actor, "services"),
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
    except Redirect as exit_:
        return exit_.response
    return _render_service_form(page, actor, chosen, _service_form(None))


@router.get("/services/{code}", response_class=HTMLResponse)
def service_edit(request: Request, code: str, actor: ActorDep, area: str = "") -> Response:
    """Edit a definition; editing an inherited one creates the area's own override."""
    page = Page(request)
    try:
        _areas, chosen = _admin(page, actor, area)
        own = next(
            (s for s in request_types.definitions_at(page.platform, chosen) if s.code == code),
            None,
        )
        service = own or request_types.get_service(page.platform, code, area_code=chosen)
    except Redirect as exit_:
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
    area = form_text(form, "area", 64)
    try:
        _areas, chosen = _admin(page, actor, area)
    except Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    code = form_text(form, "code", 64).strip()
    previous = next(
        (s for s in request_types.all_definitions(page.platform) if s.code == code), None
    )
    data: dict[str, Any] = {
        "code": code,
        "area_code": chosen,
        "category": form_text(form, "category", 64).strip(),
        "names": {
            lang: form_text(form, f"name_{lang}", 200).strip() for lang in LANGUAGES
        },
        "descriptions": {
            lang: form_text(form, f"description_{lang}", 500).strip() for lang in LANGUAGES
        },
        "department": form_text(form, "department", 200).strip(),
        "department_names": {
            lang: form_text(form, f"department_{lang}", 200).strip() for lang in LANGUAGES
        },
        "target_hours": form_text(form, "target_hours", 20).strip() or "0",
        "business_hours": form_text(form, "business_hours") == "1",
        "icon": form_text(form, "icon", 32) or "other",
        "active": form_text(form, "active") == "1",
        "attributes": _attributes_from_form(form, previous),
    }
    try:
        try:
            service = service_from_dict(data)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        request_types.save_service(page.platform, service, actor=actor)
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
            **{f"department_{k}": v for k, v in data["department_names"].items()},
        )
        return _render_service_form(
            page, actor, chosen, shown, errors=[exc.message], status_code=status_of(exc)
        )
    return RedirectResponse(
        "/office/services?" + urlencode({"area": chosen, "msg": "service"}), status_code=303
    )


@router.post("/services/{code}/disable", response_class=HTMLResponse)
async def service_disable(request: Request, code: str, actor: ActorDep) -> Response:
    page = Page(request)
    form = await request.form()
    area = form_text(form, "area", 64)
    try:
        _areas, chosen = _admin(page, actor, area)
        request_types.disable_service(page.platform, code, area_code=chosen, actor=actor)
    except Redirect as exit_:
        return exit_.response
    except HakamaError as exc:
        return page.error(exc)
    return RedirectResponse(
        "/office/services?" + urlencode({"area": chosen, "msg": "disabled"}), status_code=303
    )
