"""The public pages every territory has: the home page with the map, and `/about`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from hakama.core.territory import Area
from hakama.http.deps import PlatformDep
from hakama.http.web import credits, numbers, overview
from hakama.http.web.render import page_language, render
from hakama.services import territory
from hakama.services.platform import Platform

router = APIRouter(include_in_schema=False)
ICON = Path(__file__).parent / "static" / "icons" / "favicon.ico"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, platform: PlatformDep) -> HTMLResponse:
    """The territory at a glance: its population, a map and a table of its communes.

    A citizen page: its readers are offered Tamazight, as on report, track and the list."""
    lang = page_language(request, citizen=True)
    areas = territory.list_areas(platform)
    view = overview.build(areas)
    return render(
        request,
        "home.html",
        citizen=True,
        view=view,
        map_data={
            "outlines": _drawing(platform, areas, view),
            "communes": {c.area.code: _commune_facts(c, lang) for c in view.communes},
            "attribution": credits.plain(view.attributions, lang),
        },
    )


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The site icon browsers ask for on every first visit (shipped, no network)."""
    return FileResponse(
        ICON,
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, platform: PlatformDep) -> HTMLResponse:
    """What hakama is, where this territory's data comes from, and under which licences."""
    areas = territory.list_areas(platform)
    view = overview.build(areas)
    return render(request, "about.html", view=view, sources=_sources(areas))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API reference (the vendored Swagger UI) inside the site's layout: its language, its
    header, a way back; no CDN is contacted and no inline script is needed."""
    return render(request, "api_docs.html", openapi_url=request.app.openapi_url or "/openapi.json")


def _commune_facts(figures: overview.CommuneFigures, lang: str) -> dict[str, Any]:
    """What a tap on a commune shows, already written in the page's language."""
    change = figures.change_pct
    return {
        "name": figures.area.name(lang),
        "kind": figures.area.attributes.get("kind"),
        "latest": numbers.integer(figures.latest, lang) if figures.latest is not None else None,
        "previous": numbers.integer(figures.previous, lang)
        if figures.previous is not None
        else None,
        "change": numbers.change_percent(change, lang) if change is not None else None,
        "approximate": figures.approximate,
    }


def _drawing(platform: Platform, areas: list[Area], view: overview.Overview) -> dict[str, Any]:
    # Simplifying the outlines takes a few milliseconds; keep the result as long as the areas
    # list it came from (a new import replaces that list in the cache).
    cached = platform.derived.home_drawing
    if cached is not None and cached[0] is areas:
        drawing: dict[str, Any] = cached[1]
        return drawing
    drawing = overview.drawing(view)
    platform.derived.home_drawing = (areas, drawing)
    return drawing


def _sources(areas: list[Area]) -> list[tuple[str, int]]:
    """Each distinct credit with the number of areas whose data it covers."""
    counts: dict[str, int] = {}
    for area in areas:
        for part in overview.attributions([area]):
            counts[part] = counts.get(part, 0) + 1
    return list(counts.items())
