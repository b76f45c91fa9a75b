"""What the portal and the back office both show of service requests: icons, status and event
labels in the page's language, dates in the territory's time zone, the communes' outlines.

Views are plain dicts built from domain objects, so templates never reach into services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import shapely
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup
from shapely.geometry import mapping, shape

from hakama.core.access import Actor
from hakama.core.errors import HakamaError
from hakama.core.request_types import Service
from hakama.core.requests import EventKind, RequestEvent, ServiceRequest, Status
from hakama.core.territory import Area, Level
from hakama.http.deps import ActorDep, CsrfDep, platform_of
from hakama.http.problems import status_of, title_of
from hakama.http.web import i18n
from hakama.http.web.numbers import number_locale
from hakama.http.web.render import page_language, render
from hakama.services import request_types, territory
from hakama.services.platform import Platform
from hakama.services.service_requests import RequestPage

ICONS_DIR = Path(__file__).parent / "static" / "icons"


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where it is shown."""
    return message


STATUS_LABELS: Mapping[Status, str] = {
    Status.OPEN: N_("Open"),
    Status.ACKNOWLEDGED: N_("Acknowledged"),
    Status.IN_PROGRESS: N_("In progress"),
    Status.RESOLVED: N_("Resolved"),
    Status.CLOSED: N_("Closed"),
}

#: How a request reached the commune (Open311 `channel`), in words.
CHANNEL_LABELS: Mapping[str, str] = {
    "web": N_("the website"),
    "app": N_("an application"),
    "phone": N_("the phone"),
    "counter": N_("the counter"),
}

EVENT_LABELS: Mapping[EventKind, str] = {
    EventKind.CREATED: N_("Request sent"),
    EventKind.ACKNOWLEDGED: N_("Acknowledged by the commune"),
    EventKind.IN_PROGRESS: N_("Work started"),
    EventKind.RESOLVED: N_("Resolved"),
    EventKind.CLOSED: N_("Closed"),
    EventKind.REOPENED: N_("Reopened"),
    EventKind.ASSIGNED: N_("Assigned"),
    EventKind.COMMENTED: N_("Comment"),
    EventKind.CONFIRMED: N_("Resolution confirmed by the requester"),
    EventKind.CONTESTED: N_("Resolution contested by the requester"),
    EventKind.MERGED: N_("Merged"),
    EventKind.MEDIA_ADDED: N_("Photo added"),
    EventKind.RELOCATED: N_("Moved to another commune: the commune outlines were corrected"),
}


@lru_cache(maxsize=64)
def _icon_svg(name: str) -> str:
    path = ICONS_DIR / f"{name}.svg"
    if not name.isidentifier() or not path.is_file():
        path = ICONS_DIR / "other.svg"
    return path.read_text(encoding="utf-8").strip()


def icon(name: str) -> Markup:
    """A service icon as inline SVG, so it takes the text colour (icons are our own files)."""
    return Markup(_icon_svg(name))  # trusted: files shipped in the package


def list_separator(lang: str) -> str:
    """The comma between list items: Arabic writes «،» (Tamazight pages follow Latin use)."""
    return "، " if lang == "ar" else ", "


class Page:
    """What a page handler needs to know about its request: language, translations, time zone."""

    def __init__(self, request: Request, *, citizen: bool = False) -> None:
        """`citizen`: a citizen page (home, report, track, public list), offered in Tamazight
        too."""
        self.request = request
        self.platform: Platform = platform_of(request)
        self.citizen = citizen
        self.lang = page_language(request, citizen=citizen)
        self._translations = i18n.translations(self.lang)
        self.zone = ZoneInfo(self.platform.settings.timezone)

    def _(self, message: str, **values: Any) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def when(self, at: datetime | None) -> str:
        """A date and time in the territory's zone, written for the page's language."""
        if at is None:
            return ""
        return format_datetime(
            at.astimezone(self.zone),
            "d MMM y، HH:mm" if self.lang == "ar" else "d MMM y, HH:mm",
            locale=number_locale(self.lang),
        )

    def status_label(self, status: Status) -> str:
        return self._(STATUS_LABELS[status])

    def statuses(self, only: Iterable[Status] | None = None) -> list[tuple[str, str]]:
        return [(s.value, self.status_label(s)) for s in (only if only is not None else Status)]

    def area_name(self, code: str) -> str:
        area = territory.areas_by_code(self.platform).get(code)
        return area.name(self.lang) if area else code

    def department(self, stored: str) -> str:
        """A department as requests store it, named in the page's language."""
        return request_types.department_label(self.platform, stored, self.lang)

    def list_of(self, items: Iterable[str]) -> str:
        """Items joined with the language's comma (the Arabic comma on Arabic pages)."""
        return list_separator(self.lang).join(items)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(
            self.request, template, status_code, citizen=self.citizen, icon=icon, **context
        )

    def again(self, exc: HakamaError, show: Callable[[list[str], int], Response]) -> Response:
        """A refused form: `show(errors, status)` draws its page again with the error, or the
        error page when that page itself cannot be shown (gone, not allowed)."""
        try:
            return show([translate_error(self, exc.message)], status_of(exc))
        except HakamaError as again:
            return self.error(again)

    def error(self, exc: HakamaError) -> HTMLResponse:
        """The layout's error page for a domain error, with its HTTP status.

        A request of another commune (`Forbidden(..., request_area=code)`) is named as such, so
        a signed-in agent learns where it belongs instead of being asked to sign in.
        """
        owner = exc.details.get("request_area") if status_of(exc) == 403 else None
        return self.render(
            "error.html",
            status_of(exc),
            status=status_of(exc),
            title=title_of(exc),
            detail=exc.message,
            belongs_to=self.area_name(str(owner)) if owner else "",
        )

    # Views ---------------------------------------------------------------------------------

    def request_view(
        self, req: ServiceRequest, now: datetime, services: Mapping[str, Service] | None = None
    ) -> dict[str, Any]:
        """A request for a page; the service is named in the page's language when known."""
        service = (services or {}).get(req.service_code)
        return {
            "id": req.id,
            "service_code": req.service_code,
            "service_name": service.name(self.lang) if service else req.service_name,
            "icon": service.icon if service else "other",
            "status": req.status.value,
            "status_label": self.status_label(req.status),
            "overdue": req.overdue(now),
            "commune": self.area_name(req.area_code),
            "area_code": req.area_code,
            "requested_text": self.when(req.requested_at),
            "expected_text": self.when(req.expected_at),
            "department": self.department(req.department),
            "department_key": req.department,
            "assignee": req.assignee,
            "address": req.address,
            "status_notes": req.status_notes,
            "merged_into": req.merged_into,
            "lat": req.lat,
            "lon": req.lon,
            "description": req.description,
            "channel": req.channel,
            "channel_label": self._(CHANNEL_LABELS.get(req.channel, N_("another channel"))),
            "language": req.language,
            "language_name": self.language_name(req.language),
            "reopened": req.reopened,
            "summary": _summary(req.description),
        }

    def event_view(self, event: RequestEvent) -> dict[str, Any]:
        extra = ""
        details = event.details
        if event.kind is EventKind.ASSIGNED:
            extra = " · ".join(
                part
                for part in (
                    str(details.get("assignee") or ""),
                    self.department(str(details.get("department") or "")),
                )
                if part
            )
        elif event.kind is EventKind.MERGED:
            if details.get("into"):
                extra = self._("duplicate of %(id)s", id=details["into"])
            elif details.get("duplicates"):
                extra = self.list_of(str(d) for d in details["duplicates"])
        elif event.kind is EventKind.RELOCATED:
            extra = self._(
                "from %(old)s to %(new)s",
                old=self.area_name(str(details.get("from") or "")),
                new=self.area_name(str(details.get("to") or "")),
            )
        return {
            "at_iso": event.at.isoformat(),
            "at_text": self.when(event.at),
            "label": self._(EVENT_LABELS.get(event.kind, event.kind.value)),
            "note": event.note,
            "public": event.public,
            "actor": self.actor_name(event.actor),
            "extra": extra,
        }

    def actor_name(self, label: str) -> str:
        """Who acted, for people: `user:amina` → amina, `system:demo` → the system, never the
        audit label as such."""
        kind, _sep, name = label.partition(":")
        if kind == "user" and name:
            return name
        if kind == "key":
            return self._("an application")
        if kind == "system":
            return self._("the system")
        return self._("citizen")

    def language_name(self, code: str) -> str:
        """A language's name in the page's language (`ar` on a French page: arabe)."""
        try:
            return Locale.parse(code).get_display_name(number_locale(self.lang)) or code
        except (ValueError, UnknownLocaleError):
            return code

    def service_view(self, service: Service) -> dict[str, Any]:
        return {
            "code": service.code,
            "name": service.name(self.lang),
            "description": service.description(self.lang),
            "icon": service.icon,
        }

    def communes(self) -> list[dict[str, str]]:
        return [
            {"code": a.code, "name": a.name(self.lang)}
            for a in sorted(leaf_areas(self.platform), key=lambda a: a.name(self.lang))
        ]

    def communes_geojson(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """The communes' outlines, with their names in the page's language, for the maps."""
        wanted = set(only) if only is not None else None
        features = []
        attribution: list[str] = []
        for area in leaf_areas(self.platform):
            if wanted is not None and area.code not in wanted:
                continue
            outline = outlines(self.platform).get(area.code)
            if outline is None:
                continue
            features.append(
                {
                    "type": "Feature",
                    "id": area.code,
                    "geometry": outline,
                    "properties": {"code": area.code, "name": area.name(self.lang)},
                }
            )
            if area.attribution and area.attribution not in attribution:
                attribution.append(area.attribution)
        return {
            "type": "FeatureCollection",
            "features": features,
            "attribution": "; ".join(attribution),
        }


def leaf_areas(platform: Platform) -> list[Area]:
    """The areas requests are placed in: those with no children (the communes)."""
    areas = territory.list_areas(platform)
    parents = {a.parent_code for a in areas if a.parent_code}
    return [a for a in areas if a.code not in parents and a.level.depth >= Level.PROVINCE.depth]


#: Outlines drawn on the portal's maps are simplified to about 30 m: a phone on a poor
#: connection gets a few kilobytes per commune instead of the survey-grade outline.
OUTLINE_TOLERANCE = 0.0003


def outlines(platform: Platform) -> dict[str, dict[str, Any]]:
    """The communes' outlines, simplified for drawing, rebuilt when the areas change."""
    areas = territory.list_areas(platform)
    cached = platform.derived.portal_outlines
    if cached is not None and cached[0] is areas:
        found: dict[str, dict[str, Any]] = cached[1]
        return found
    out: dict[str, dict[str, Any]] = {}
    for area in leaf_areas(platform):
        if area.geometry is None:
            continue
        simple = shapely.set_precision(
            shape(area.geometry).simplify(OUTLINE_TOLERANCE, preserve_topology=True), 0.00001
        )
        out[area.code] = mapping(simple)
    platform.derived.portal_outlines = (areas, out)
    return out


def page_number(text: str, *, last: int = 100_000) -> int:
    """A `?page=` value as typed or mangled: anything unreadable is page 1."""
    try:
        return min(max(int(text.strip()[:7]), 1), last)
    except ValueError:
        return 1


def page_url(path: str, kept: Mapping[str, str], number: int) -> str:
    """The address of page `number` of a paged list, keeping the list's non-empty filters."""
    query = {k: v for k, v in kept.items() if v}
    query["page"] = str(number)
    return f"{path}?{urlencode(query)}"


def page_links(
    path: str, kept: Mapping[str, str], page_no: int, result: RequestPage
) -> tuple[str, str]:
    """The previous and next pages of a paged list of requests ("" where there is none)."""
    has_next = result.offset + len(result.items) < result.total
    return (
        page_url(path, kept, page_no - 1) if page_no > 1 else "",
        page_url(path, kept, page_no + 1) if has_next else "",
    )


def page_numbers(current: int, last: int, *, around: int = 1) -> list[int | None]:
    """The page numbers a pager shows: the first, the last, the current one and its neighbours;
    None where pages are skipped (`1 … 5 6 7 … 710`)."""
    shown = {1, last, *range(current - around, current + around + 1)}
    numbers = sorted(n for n in shown if 1 <= n <= last)
    out: list[int | None] = []
    for n in numbers:
        if out and n - (out[-1] or 0) == 2:
            out.append(n - 1)  # one page skipped: show it rather than an ellipsis
        elif out and n - (out[-1] or 0) > 2:
            out.append(None)
        out.append(n)
    return out


def pager(
    path: str, kept: Mapping[str, str], page_no: int, result: RequestPage
) -> dict[str, Any]:
    """What the pager of a paged list shows: numbered links, previous and next, the last page."""
    last = max(1, -(-result.total // result.limit)) if result.total >= 0 else page_no
    prev_url, next_url = page_links(path, kept, page_no, result)
    return {
        "page": page_no,
        "last": last,
        "prev_url": prev_url,
        "next_url": next_url,
        "links": [
            {"number": n, "url": page_url(path, kept, n), "current": n == page_no}
            if n is not None
            else None
            for n in page_numbers(page_no, last)
        ],
    }


#: What a request's action handler is given: the request, the request id, the actor, the action.
ActionHandler = Callable[[Request, str, Actor, str], Awaitable[Response]]


def action_routes(
    router: APIRouter,
    base: str,
    actions: Iterable[str],
    handle: ActionHandler,
    *,
    anonymous_forms: bool = False,
) -> None:
    """One form route `POST {base}/{action}` per action (`base` holds `{request_id}`), each
    answered by `handle(request, request_id, actor, action)`. `anonymous_forms`: posted by
    people not signed in (a requester), so each checks its form's token (`CsrfDep`); a staff
    page's are sessions' writes, checked by the app's guard."""

    def route(action: str) -> None:
        async def staff_post(request: Request, request_id: str, actor: ActorDep) -> Response:
            return await handle(request, request_id, actor, action)

        async def anonymous_post(
            request: Request, request_id: str, actor: ActorDep, _: CsrfDep
        ) -> Response:
            return await handle(request, request_id, actor, action)

        post = anonymous_post if anonymous_forms else staff_post

        router.add_api_route(
            f"{base}/{action}", post, methods=["POST"], response_class=HTMLResponse, name=action
        )

    for action in actions:
        route(action)


def photo_file(path: Path, content_type: str) -> FileResponse:
    """A request's photo, for the few who may see it: cached by the browser only."""
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


def services_by_code(services: Iterable[Service]) -> dict[str, Service]:
    """Services by code, for `Page.request_view` (icon and name in the page's language)."""
    return {s.code: s for s in services}


def _summary(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def translate_error(page: Page, message: str) -> str:
    """A service's message in the page's language when it is a common one, else as it is."""
    for needle, translated in _KNOWN_ERRORS:
        if needle in message:
            return page._(translated)
    return message


_KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "outside the territory",
        N_(
            "This point is outside the territory served here. Choose your commune in the list "
            "and describe the place in the address field."
        ),
    ),
    ("is not in", N_("The pin is not in the chosen commune.")),
    (
        "a location is required",
        N_("Place the pin on the map, or choose the commune and type an address."),
    ),
    (
        "without lat and long",
        N_("Place the pin on the map, or choose the commune and type an address."),
    ),
    ("not a readable JPEG", N_("The photo must be a JPEG, PNG or WebP image.")),
    ("must be a JPEG", N_("The photo must be a JPEG, PNG or WebP image.")),
    ("at most 5 MB", N_("The photo is larger than 5 MB.")),
    ("is not offered in", N_("This service is not offered in this commune.")),
    ("email is not a valid", N_("The e-mail address is not valid.")),
    ("phone must be", N_("The phone number is not valid.")),
    ("is not a phone number", N_("The phone number is not valid: write it like 06 12 34 56 78.")),
    ("following is not available", N_("This site does not send e-mail: following a request is not available.")),
    ("this link is not valid", N_("This link is not valid, or no longer.")),
    ("is required for service", N_("Please answer the questions marked with *.")),
)
