"""Error pages for people browsing: a readable page in their language instead of JSON.

Only for requests that ask for HTML and are not under a machine API (`/api`, `/ngsi-ld`,
`/open311`...), which keep their problem+json or their standard's own error format.
"""

from __future__ import annotations

import logging
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

log = logging.getLogger("hakama.http")

MACHINE_PREFIXES = ("/api", "/ngsi-ld", "/open311", "/static", "/docs", "/openapi.json", "/health")


def wants_html(request: Request) -> bool:
    """True for a browser asking for a page (Accept: text/html) outside the machine APIs."""
    path = request.url.path
    if any(
        path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in MACHINE_PREFIXES
    ):
        return False
    return "text/html" in request.headers.get("accept", "")


def is_page_form(request: Request) -> bool:
    """A form posted to a page (a route declared `response_class=HTMLResponse`) by someone not
    signed in: a citizen's report or follow-up, the sign-in form. Such a form is answered with
    a page whatever the browser's `Accept`, as the page itself answers."""
    route = request.scope.get("route")
    actor = getattr(request.state, "actor", None)
    return getattr(route, "response_class", None) is HTMLResponse and (
        getattr(actor, "kind", "anonymous") != "user"
    )


def error_page(
    request: Request, status: int, title: str, detail: str = "", *, expired_form: bool = False
) -> HTMLResponse:
    """The error page in the request's language; a bare page if even that cannot be drawn.
    `expired_form`: a form refused for its security token says so."""
    from hakama.http.web.render import render

    try:
        return render(
            request,
            "error.html",
            status_code=status,
            status=status,
            title=title,
            detail=detail,
            expired_form=expired_form,
        )
    except Exception:  # the layout reads the database, which may be what failed
        log.exception("error page could not be rendered")
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{status}</title></head>"
            f"<body><h1>{status} {escape(title)}</h1><p><a href='/'>hakama</a></p></body></html>"
        )
        return HTMLResponse(body, status_code=status)
