"""What the layout (`base.html`) shows on every page: the territory's name, the data credits,
the language links and the number filters.

They are Jinja globals and filters, installed once on the shared environment, so that every
page extending `base.html` gets them without each router passing them along.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment

from hakama.core.languages import pick
from hakama.http.deps import platform_of
from hakama.http.web import credits, numbers, overview
from hakama.services import basemap, request_types, territory


@dataclass(frozen=True)
class Site:
    """The territory as the layout names and credits it."""

    names: dict[str, str]
    attributions: tuple[str, ...]

    def name(self, lang: str) -> str:
        return pick(self.names, lang)


def site(request: Request) -> Site:
    """The territory of the app serving `request` (empty names before any import)."""
    platform = platform_of(request)
    areas = territory.list_areas(platform)
    view = overview.build(areas)
    names = dict(view.territory.names) if view.territory else {}
    return Site(names=names, attributions=view.attributions)


def language_url(request: Request, lang: str) -> str:
    """The current page in `lang`: same path and query, `lang` replaced."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", lang))
    return f"{request.url.path}?{urlencode(query)}"


def map_basemap(request: Request) -> dict[str, Any] | None:
    """The maps' base layer for `maps.scripts()` (None: outlines on a plain background)."""
    found = basemap.basemap(platform_of(request).settings)
    return asdict(found) if found else None


def department(request: Request, name: str, lang: str) -> str:
    """A department as requests store it, in the page's language when the catalogue names it."""
    return request_types.department_label(platform_of(request), name, lang)


def install(env: Environment) -> None:
    """Make `site`, `language_url`, `department` and the number filters available to every template."""
    env.globals["site"] = site
    env.globals["map_basemap"] = map_basemap
    env.globals["language_url"] = language_url
    env.globals["department"] = department
    credits.install(env)
    env.filters["integer"] = numbers.integer
    env.filters["change_percent"] = numbers.change_percent
