"""Dependency aliases that keep routers to a few lines each: the one router convention.

- the platform: `platform: PlatformDep` (`platform_of(request)` in a helper given only the
  request); settings: `SettingsDep`;
- the caller: `actor: ActorDep`, then the access rule in the handler, where the area is known:
  `services.access.require(platform, actor, Action.X, area_code)` (the same rule the CLI and
  services apply; `actor_of(request)` in a helper);
- CSRF, one check (`require_csrf`), never called by hand: every write made with a session
  cookie is checked by `session_csrf_guard`, which `create_app` puts on every route (so a
  staff page has nothing to add); a form anonymous callers post (sign-in, a citizen's report,
  a tracking page) adds `_: CsrfDep` (or `dependencies=[Depends(require_csrf)]` on a router
  whose every write is one). A refusal is `CsrfRefused`: problem+json, or a page for a
  person browsing and for a citizen's page form;
- blocking work: a handler that only calls services is a plain `def` (FastAPI runs it in the
  thread pool); an `async def` handler calls blocking code through `http.offload.run_blocking`;
  CPU-heavy work (filtering in Python) through `offload: OffloadDep` (admitted a few at a time,
  time-limited).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hakama.core.access import Actor
from hakama.http.offload import Offload
from hakama.services.platform import Platform
from hakama.settings import Settings

# The dependencies are `async def` although they do not wait: FastAPI runs a plain `def`
# dependency in the shared thread pool, two thread switches per request for a dict lookup.


async def get_platform(request: Request) -> Platform:
    return platform_of(request)


def platform_of(request: Request) -> Platform:
    """`get_platform` for code that is no dependency (a helper given only the request)."""
    platform: Platform = request.app.state.platform
    return platform


async def get_settings(request: Request) -> Settings:
    return platform_of(request).settings


async def admitted_offload(request: Request) -> Offload:
    """The heavy-work pool, once it has room for this request (else 503 at once)."""
    offload: Offload = request.app.state.offload
    offload.admit()
    return offload


async def get_actor(request: Request) -> Actor:
    """The actor behind the request: an API key, a session user, or the anonymous public."""
    return actor_of(request)


def actor_of(request: Request) -> Actor:
    """`get_actor` for code that is no dependency (set by `AuthMiddleware` for every request)."""
    from hakama.http.auth import resolve_actor

    return resolve_actor(request)


def csrf_token(request: Request) -> str:
    """The CSRF token this request's forms must carry (put it in a hidden `csrf_token` field)."""
    actor_of(request)
    token: str = getattr(request.state, "csrf_token", "")
    return token


async def require_csrf(request: Request) -> None:
    """Dependency for unsafe requests: the `csrf_token` form field or `X-CSRF-Token` header.

    Needed where a foreign page could ride the browser: any request of a signed-in session, and
    anonymous form posts. An API key is no cookie a foreign page could ride; an anonymous
    non-form request (JSON) cannot be sent cross-site without CORS, and the route's own access
    check answers it (401), so neither needs a token.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    actor = actor_of(request)
    if actor.kind == "key":
        return
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
    )
    if actor.kind == "anonymous" and not is_form:
        return
    same = same_origin(request)
    if same is True:  # the browser itself says which page sent it; no page elsewhere can
        return
    token = request.headers.get("x-csrf-token")
    if (
        not token
        and is_form
        and not request.headers.get("content-type", "").startswith("text/plain")
    ):
        value = (await request.form()).get("csrf_token")
        token = value if isinstance(value, str) else None
    from hakama.http.auth import CsrfRefused, check_csrf

    if same is False and not token:
        raise CsrfRefused(
            "cross-site request refused: it comes from another site's page and carries no "
            "security token"
        )
    check_csrf(platform_of(request), request, token)


def same_origin(request: Request) -> bool | None:
    """Does the request's `Origin` name this server? None when the browser sent none."""
    origin = request.headers.get("origin")
    if origin is None:
        return None
    host = request.headers.get("host", "")
    return bool(host) and origin.lower() == f"{request.url.scheme}://{host}".lower()


async def session_csrf_guard(request: Request) -> None:
    """Every route's guard: a write made with a session cookie comes from this site.

    A page elsewhere can make the browser send the cookie (a form posted cross-site needs no
    preflight), so an unsafe request of a signed-in session needs either an `Origin` naming
    this server or the session's CSRF token (`X-CSRF-Token` header or `csrf_token` form
    field; a token is enough behind a proxy that changes the Host). Keys and anonymous callers carry
    no ambient credential; anonymous forms check their own token (`CsrfDep`).
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if actor_of(request).kind == "user":
        await require_csrf(request)


PlatformDep = Annotated[Platform, Depends(get_platform)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[Actor, Depends(get_actor)]
#: Heavy, CPU-bound work: `await offload.run(fn, ...)`. Declared first among a route's
#: parameters, it refuses a request before anything is parsed when the pool and queue are full.
OffloadDep = Annotated[Offload, Depends(admitted_offload)]
#: Add `_: CsrfDep` to a POST handler (or `dependencies=[Depends(require_csrf)]` to a router).
CsrfDep = Annotated[None, Depends(require_csrf)]
