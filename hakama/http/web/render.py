"""Rendering pages: one Jinja2 environment with Babel translations, language and direction.

Language of a page: `?lang=` (remembered in a cookie), else the `lang` cookie, else the
browser's Accept-Language, else the configured default. Arabic pages are right to left.
The citizen pages (home, report, track, public list) are also written in Tamazight (`zgh`, Tifinagh,
left to right); every other page falls back to Arabic for a visitor who chose it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hakama.http.deps import platform_of
from hakama.http.web.i18n import FALLBACK

LANGUAGES = ("ar", "fr", "en")
CITIZEN_LANGUAGES = (*LANGUAGES, "zgh")
RTL = frozenset({"ar"})
TEMPLATES = Path(__file__).parent / "templates"


def page_language(request: Request, *, citizen: bool = False) -> str:
    """The language of the page; `citizen`: a citizen page, which Tamazight may be asked of."""
    offered = CITIZEN_LANGUAGES if citizen else LANGUAGES
    for chosen in (request.query_params.get("lang"), request.cookies.get("lang")):
        if chosen is None:
            continue
        if chosen in offered:
            return chosen
        if chosen in FALLBACK:
            return FALLBACK[chosen]
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        code = tag.replace("_", "-").split("-")[0]
        if code in offered:
            return code
        if code in FALLBACK:
            return FALLBACK[code]
    default: str = platform_of(request).settings.default_language
    return default


@lru_cache(maxsize=len(CITIZEN_LANGUAGES))
def environment(lang: str = "en") -> Environment:
    """The template environment of one language, its translations installed once.

    One environment per language, not one shared one whose translations are swapped per
    request: pages render in worker threads, and macros imported without context read the
    environment's globals, so a swap would leak one visitor's language into another's page.
    """
    from hakama.http.web import i18n

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from hakama.http.web import site

    site.install(env)  # the layout's helpers, whatever page is rendered first
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    citizen: bool = False,
    **context: Any,
) -> HTMLResponse:
    """Render `template` in the request's language; sets the language cookie when `?lang=` asked.

    `citizen`: a citizen page, offered in Tamazight too."""
    lang = page_language(request, citizen=citizen)
    offered = CITIZEN_LANGUAGES if citizen else LANGUAGES
    env = environment(lang)
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        dir="rtl" if lang in RTL else "ltr",
        languages=offered,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in offered:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=False)
    return response
