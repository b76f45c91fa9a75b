"""`/reports`: the council report for the staff of a province or commune — a form, and
`/reports/council?area=&period=&lang=&format=` answering the PDF or XLSX (the same function as
`hakama report`). Reports run in a worker thread, at most two at a time.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, Unauthorized
from hakama.core.indicators import Grain
from hakama.core.periods import Period
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.web.render import page_language, render
from hakama.reports import labels
from hakama.reports.pdf import Unavailable
from hakama.reports.render import report_file
from hakama.services import indicators, profiles, territory
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
