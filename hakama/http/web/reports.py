"""`/reports`: the council report for the staff of a province or commune — a form, and
`/reports/council?area=&period=&lang=&format=` answering the PDF or XLSX (the same function as
`hakama report`). Reports run in a worker thread, at most two at a time. Administrators manage
the scheduled delivery at `/reports/subscriptions`.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hakama.core.access import Action, Actor, Role, allowed
from hakama.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from hakama.core.indicators import Grain
from hakama.core.periods import Period
from hakama.http.deps import ActorDep, CsrfDep, PlatformDep, csrf_token
from hakama.http.offload import run_blocking
from hakama.http.problems import status_of
from hakama.http.web.render import page_language, render
from hakama.reports import labels
from hakama.reports.pdf import Unavailable
from hakama.reports.render import report_file
from hakama.services import indicators, mail, profiles, report_subscriptions, territory
from hakama.services.platform import Platform

router = APIRouter(include_in_schema=False)
#: Reports are CPU-heavy: two at a time, the others wait (up to a minute) for their turn.
SLOTS = threading.BoundedSemaphore(2)


def require_staff(platform: Platform, actor: Actor, area: str | None = None) -> None:
    """Reports are for the staff of the area (or of somewhere, for the form)."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in to make council reports")
    if area:
        territory.get_area(platform, area)  # an unknown area is a 404, whoever asks
    chain = (
        territory.area_chain(platform, area or actor.area_code) if (area or actor.area_code) else ()
    )
    if not allowed(actor, Action.READ_INTERNAL, chain):
        raise Forbidden("council reports are for the staff of the area")


@router.get("/reports", response_class=HTMLResponse)
def form(request: Request, platform: PlatformDep, actor: ActorDep) -> HTMLResponse:
    """The form: which area, which period, which language and format."""
    require_staff(platform, actor)
    lang = page_language(request)
    areas = []
    for group in indicators.groups(platform):
        for area in [group.parent, *sorted(group.children, key=lambda a: a.name(lang))]:
            if allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, area.code)):
                areas.append(area)
    latest = profiles.default_period(platform)
    quarter = Period(
        latest.start.replace(month=(latest.start.month - 1) // 3 * 3 + 1), Grain.QUARTER
    )
    return render(
        request,
        "reports/form.html",
        areas=areas,
        default_period=quarter.code,
        t=lambda k: labels.text(k, lang),
    )


@router.get("/reports/council")
def council_report(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    area: str,
    period: str,
    format: str = "pdf",
    lang: str | None = None,
) -> Response:
    """The council report as a file; bad input is a 4xx problem, never a half-made file."""
    language = lang or page_language(request)
    require_staff(platform, actor, area if area else None)
    if not SLOTS.acquire(timeout=60):
        raise Unavailable("the server is busy making other reports: try again in a minute")
    try:
        made = report_file(
            platform, area=area, period=period, lang=language, fmt=format, actor=actor
        )
    finally:
        SLOTS.release()
    return Response(
        made.content,
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


@router.get("/reports/subscriptions", response_class=HTMLResponse)
def subscriptions_page(request: Request, platform: PlatformDep, actor: ActorDep) -> HTMLResponse:
    """Administrators: who gets which report, and what was sent."""
    return _subscriptions(request, platform, actor)


def _subscriptions(
    request: Request, platform: Platform, actor: Actor, error: str = "", status_code: int = 200
) -> HTMLResponse:
    require_staff(platform, actor)
    lang = page_language(request)
    subs = report_subscriptions.list_subscriptions(platform, actor=actor)
    areas = []
    for group in indicators.groups(platform):
        for area in [group.parent, *sorted(group.children, key=lambda a: a.name(lang))]:
            chain = territory.area_chain(platform, area.code)
            if actor.role is Role.ADMIN and allowed(actor, Action.MANAGE_CATALOG, chain):
                areas.append(area)
    return render(
        request,
        "reports/subscriptions.html",
        status_code=status_code,
        subscriptions=subs,
        sent=report_subscriptions.deliveries(platform, actor=actor, limit=50),
        areas=areas,
        names={a.code: a.name(lang) for a in territory.list_areas(platform)},
        csrf_token=csrf_token(request),
        error=error,
        mail_on=mail.mail_enabled(platform.settings),
        t=lambda k: labels.text(k, lang),
    )


@router.post("/reports/subscriptions", response_class=HTMLResponse)
async def subscribe(
    request: Request, platform: PlatformDep, actor: ActorDep, _: CsrfDep
) -> Response:
    """Subscribe addresses (one form: area, frequency, language, format, addresses)."""
    form = await request.form()

    def field(name: str, size: int = 200) -> str:
        value = form.get(name)
        return value[:size] if isinstance(value, str) else ""

    try:
        await run_blocking(
            report_subscriptions.subscribe, platform,
            area_code=field("area", 64), frequency=field("frequency", 16), language=field("lang", 2),
            format=field("format", 8), recipients=field("recipients", 5000), actor=actor,
        )  # fmt: skip
    except (Invalid, NotFound) as exc:
        return _subscriptions(request, platform, actor, error=exc.message, status_code=status_of(exc))
    return RedirectResponse("/reports/subscriptions", status_code=303)


@router.post("/reports/subscriptions/{subscription_id}/stop")
async def stop(
    request: Request, platform: PlatformDep, actor: ActorDep, _: CsrfDep, subscription_id: int
) -> Response:
    """Stop a subscription."""
    await run_blocking(
        report_subscriptions.unsubscribe, platform, subscription_id, actor=actor
    )
    return RedirectResponse("/reports/subscriptions", status_code=303)
