"""The office's records pages under `/office/records`: a commune's staff upload a file, see
its preview (first rows as stored, every error), then commit it; see past imports and the pull
sources' state; ask another commune for a record and answer the requests they receive.

Every action goes through `services.records` / `record_exchange`, which check the actor's area.
Validation runs in a worker thread: a big file never holds the event loop.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, HakamaError, Invalid
from hakama.core.record_errors import explain
from hakama.http.deps import ActorDep, csrf_token
from hakama.http.offload import run_blocking
from hakama.http.web.request_pages import Page, leaf_areas
from hakama.services import record_exchange, record_file_imports, record_sources, records, territory

router = APIRouter(prefix="/office/records", include_in_schema=False)

MESSAGES = {
    "committed": "The records were stored.",
    "requested": "The request was sent to the commune that holds the record.",
    "answered": "Your answer was recorded.",
}


def _sign_in(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def _areas(page: Page, actor: Actor) -> list[str]:
    """Communes whose records the actor keeps."""
    codes = [
        a.code
        for a in leaf_areas(page.platform)
        if allowed(actor, Action.WRITE_DATA, territory.area_chain(page.platform, a.code))
    ]
    return sorted(codes, key=page.area_name)


def _context(page: Page, actor: Actor, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "actor_label": actor.id,
        "can_manage_catalog": False,
        "csrf_token": csrf_token(page.request),
        "message": page._(MESSAGES[m])
        if (m := page.request.query_params.get("msg", "")) in MESSAGES
        else "",
    }


def _guard(page: Page, actor: Actor) -> Response | list[str]:
    if actor.kind == "anonymous":
        return _sign_in(page.request)
    areas = _areas(page, actor)
    if not areas:
        return page.error(Forbidden("this account keeps no commune's records"))
    return areas


@router.get("", response_class=HTMLResponse)
def index(request: Request, actor: ActorDep) -> Response:
    """Upload form, recent imports, the sources' state."""
    page = Page(request)
    areas = _guard(page, actor)
    if isinstance(areas, Response):
        return areas
    return _index(page, actor, areas)


def _index(
    page: Page, actor: Actor, areas: list[str], *, error: str = "", status: int = 200
) -> Response:
    found = records.list_imports(page.platform, actor=actor, limit=30)
    sources = record_sources.list_sources(page.platform, actor=actor)
    return page.render(
        "office/records.html",
        status,
        **_context(page, actor, "records"),
        areas=[{"code": c, "name": page.area_name(c)} for c in areas],
        types=[{"id": t.id, "name": t.name(page.lang)} for t in records.types(page.platform)],
        imports=[_import_view(page, r) for r in found],
        sources=sources,
        when=page.when,
        error=error,
    )


def _import_view(page: Page, r: records.ImportReport) -> dict[str, Any]:
    return {**r.as_dict(), "when": page.when(r.created_at), "commune": page.area_name(r.area_code)}


async def _form_text(form: Any, name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.post("/preview", response_class=HTMLResponse)
async def preview(request: Request, actor: ActorDep) -> Response:
    """Validate an uploaded file and show its preview; nothing is stored yet."""
    page = Page(request)
    areas = _guard(page, actor)
    if isinstance(areas, Response):
        return areas
    limit = page.platform.settings.records_max_file_mb * 1_048_576
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 1_048_576:
        return _index(page, actor, areas, status=413, error=page._(
            "The file is larger than the limit of %(mb)d MB.", mb=page.platform.settings.records_max_file_mb))  # fmt: skip
    form = await request.form(max_files=1, max_fields=20)
    upload = form.get("file")
    area = await _form_text(form, "area", 64)
    type_id = await _form_text(form, "type", 64)
    mapping_text = await _form_text(form, "mapping")
    partial = (await _form_text(form, "partial", 5)) == "1"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _index(page, actor, areas, status=400, error=page._("Choose a file to import."))
    folder = Path(tempfile.mkdtemp(dir=page.platform.settings.data_dir, prefix=".upload-"))
    try:
        path = folder / "file"
        with open(path, "wb") as out:
            await run_blocking(shutil.copyfileobj, upload.file, out, 1 << 20)
        report = await run_blocking(
            lambda: record_file_imports.stage(
                page.platform,
                actor=actor,
                area_code=area,
                type_id=type_id,
                path=path,
                file_name=Path(upload.filename or "file").name,
                mapping_text=mapping_text,
                partial=partial,
            )
        )
    except Forbidden as exc:
        return page.error(exc)
    except HakamaError as exc:
        return _index(page, actor, areas, status=400, error=exc.message)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse(f"/office/records/imports/{report.id}", status_code=303)


@router.get("/imports/{import_id}", response_class=HTMLResponse)
def show_import(request: Request, actor: ActorDep, import_id: str) -> Response:
    page = Page(request)
    areas = _guard(page, actor)
    if isinstance(areas, Response):
        return areas
    try:
        report = records.get_import(page.platform, actor=actor, import_id=import_id)
        rt = records.record_type(page.platform, report.record_type)
    except HakamaError as exc:
        return page.error(exc)
    columns = ["line", *[f.name for f in rt.fields if f.stored]]
    return page.render(
        "office/record_import.html",
        **_context(page, actor, "records"),
        report=_import_view(page, report),
        committable=report.committable,
        blocked=report.state == "previewed" and not report.committable,
        columns=columns,
        preview=report.preview,
        errors=[_error_view(page, e) for e in report.errors],
        type_name=rt.name(page.lang),
    )


def _error_view(page: Page, error: records.RowError) -> dict[str, Any]:
    """A rejected row with its reason in the page's language."""
    explained = explain(error.reason)
    return {**error.as_dict(), "reason": page._(explained.message, **explained.params)}


@router.post("/imports/{import_id}/commit", response_class=HTMLResponse)
async def commit(request: Request, actor: ActorDep, import_id: str) -> Response:
    page = Page(request)
    try:
        await run_blocking(
            lambda: record_file_imports.commit(page.platform, actor=actor, import_id=import_id[:40])
        )
    except Invalid:
        return RedirectResponse(f"/office/records/imports/{import_id[:40]}", status_code=303)
    except HakamaError as exc:
        return page.error(exc)
    return RedirectResponse(
        f"/office/records/imports/{import_id[:40]}?msg=committed", status_code=303
    )


@router.get("/imports/{import_id}/errors.csv")
def errors_csv(request: Request, actor: ActorDep, import_id: str) -> Response:
    page = Page(request)
    try:
        path = records.errors_csv(
            page.platform, actor=actor, import_id=import_id, lang=page.lang, translate=page._
        )
    except HakamaError as exc:
        return page.error(exc)
    return FileResponse(
        path, media_type="text/csv", filename=f"errors-{import_id[:12]}-{page.lang}.csv"
    )


# Exchanges ----------------------------------------------------------------------------------


@router.get("/exchanges", response_class=HTMLResponse)
def exchanges(request: Request, actor: ActorDep) -> Response:
    page = Page(request)
    areas = _guard(page, actor)
    if isinstance(areas, Response):
        return areas
    return _exchanges(page, actor)


def _exchanges(
    page: Page,
    actor: Actor,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    found = record_exchange.list_for(page.platform, actor=actor)
    communes = [{"code": a.code, "name": a.name(page.lang)} for a in leaf_areas(page.platform)]

    def view(e: record_exchange.Exchange) -> dict[str, Any]:
        return {
            **e.as_dict(), "when": page.when(e.created_at), "from_name": page.area_name(e.requester_area),
            "holder_name": page.area_name(e.holder_area),
        }  # fmt: skip

    return page.render(
        "office/record_exchanges.html",
        status,
        **_context(page, actor, "exchanges"),
        incoming=[view(e) for e in found["incoming"]],
        outgoing=[view(e) for e in found["outgoing"]],
        communes=sorted(communes, key=lambda c: c["name"]),
        types=[
            {"id": t.id, "name": t.name(page.lang), "key": list(t.key)}
            for t in records.types(page.platform)
        ],
        consents=record_exchange.CONSENT_METHODS,
        error=error,
        form=form or {},
    )


@router.post("/exchanges", response_class=HTMLResponse)
async def ask(request: Request, actor: ActorDep) -> Response:
    page = Page(request)
    form = await request.form(max_files=0, max_fields=30)
    fields = {k: v[:2000] for k, v in form.items() if isinstance(v, str)}
    try:
        rt = records.record_type(page.platform, fields.get("type", ""))
        key_text = fields.get("key", "")
        values = [v.strip() for v in key_text.split("/")]
        if len(values) != len(rt.key):
            raise Invalid(page._("Give %(fields)s, separated by /.", fields=" / ".join(rt.key)))
        exchange = record_exchange.request(
            page.platform, actor=actor, record_type=rt.id, holder_area=fields.get("holder", ""),
            key=dict(zip(rt.key, values, strict=True)), purpose=fields.get("purpose", ""),
            consent_method=fields.get("consent", ""), consent_reference=fields.get("reference", ""),
        )  # fmt: skip
    except Forbidden as exc:
        return page.error(exc)
    except HakamaError as exc:
        if actor.kind == "anonymous":
            return _sign_in(request)
        return _exchanges(page, actor, error=exc.message, status=400, form=fields)
    return RedirectResponse(
        f"/office/records/exchanges/{exchange.id}?msg=requested", status_code=303
    )


@router.get("/exchanges/{exchange_id}", response_class=HTMLResponse)
def exchange_page(request: Request, actor: ActorDep, exchange_id: str) -> Response:
    page = Page(request)
    if actor.kind == "anonymous":
        return _sign_in(request)
    try:
        proof = record_exchange.proof(page.platform, actor=actor, exchange_id=exchange_id[:40])
    except HakamaError as exc:
        return page.error(exc)
    e = proof.exchange
    holder_staff = allowed(
        actor, Action.READ_PERSONAL, territory.area_chain(page.platform, e.holder_area)
    )
    return page.render(
        "office/record_exchange.html",
        **_context(page, actor, "exchanges"),
        e={
            **e.as_dict(),
            "from_name": page.area_name(e.requester_area),
            "holder_name": page.area_name(e.holder_area),
        },
        steps=[{**s, "when": s["at"]} for s in proof.steps],
        proof=proof,
        can_answer=holder_staff and e.state == "requested",
    )


@router.post("/exchanges/{exchange_id}/answer", response_class=HTMLResponse)
async def answer(request: Request, actor: ActorDep, exchange_id: str) -> Response:
    page = Page(request)
    form = await request.form(max_files=0, max_fields=5)
    fields = {k: v[:2000] for k, v in form.items() if isinstance(v, str)}
    try:
        record_exchange.answer(
            page.platform, actor=actor, exchange_id=exchange_id[:40],
            send=fields.get("decision") == "send", reason=fields.get("reason", ""),
        )  # fmt: skip
    except HakamaError as exc:
        return page.error(exc)
    return RedirectResponse(
        f"/office/records/exchanges/{exchange_id[:40]}?msg=answered", status_code=303
    )
