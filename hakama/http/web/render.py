"""Rendering pages: one Jinja2 environment with Babel translations, language and direction.

Language of a page: `?lang=` (remembered in a cookie), else the `lang` cookie, else the
browser's Accept-Language, else the configured default. Arabic pages are right to left.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

LANGUAGES = ("ar", "fr", "en")
RTL = frozenset({"ar"})
TEMPLATES = Path(__file__).parent / "templates"


def page_language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    default: str = request.app.state.platform.settings.default_language
    return default


@lru_cache(maxsize=len(LANGUAGES))
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


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` in the request's language; sets the language cookie when `?lang=` asked."""
    lang = page_language(request)
    env = environment(lang)
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        dir="rtl" if lang in RTL else "ltr",
        languages=LANGUAGES,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=False)
    return response
