"""Resolving who is calling: API key (header `X-API-Key` or `Authorization: Bearer hk_…`),
session cookie `hakama_session`, or nobody — and the CSRF tokens forms must carry.

`AuthMiddleware` resolves the caller once per request and leaves `request.state.actor` and
`request.state.csrf_token` for routers and templates. A key that is presented but wrong is a
401 (a device with a revoked key must learn it, not be served as the public); a session cookie
that is wrong or expired just means "anonymous" (the browser signs in again).

CSRF: a signed-in user's forms carry their session's CSRF token. Anonymous forms (sign-in,
a citizen's report) use double submit: the `hakama_csrf` cookie holds a random nonce and the
form carries that nonce signed with the platform's secret (itsdangerous), so a page elsewhere
can neither read nor forge the pair.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie

from fastapi import FastAPI, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hakama.core.access import ANONYMOUS, Actor
from hakama.core.errors import Forbidden, Unauthorized
from hakama.http.offload import run_blocking
from hakama.services import keys, sessions
from hakama.services.platform import Platform

SESSION_COOKIE = "hakama_session"
CSRF_COOKIE = "hakama_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE = 12 * 3600
_SALT = "hakama-anonymous-csrf"


class CsrfRefused(Forbidden):
    """An unsafe request a foreign page could have sent: no token, a wrong one, or a foreign
    `Origin` without one (403; a citizen's refused form is answered with a page)."""


@dataclass(frozen=True)
class Caller:
    """The outcome of resolving a request: the actor and the CSRF token its forms carry."""

    actor: Actor
    csrf_token: str | None = None  # the session's token; None when not signed in


def presented_key(request: Request) -> str | None:
    """The API key the request carries, if any (header `X-API-Key` or a `hk_` bearer token)."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(keys.PREFIX):
        return value
    return None


def resolve_caller(platform: Platform, request: Request) -> Caller:
    """Key, else session, else anonymous. Raises Unauthorized for a bad key."""
    key = presented_key(request)
    if key is not None:
        return Caller(actor=keys.actor_for_key(platform, key))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = sessions.actor_for_session(platform, token)
        if found is not None:
            return Caller(actor=found.actor, csrf_token=found.csrf_token)
    return Caller(actor=ANONYMOUS)


def resolve_actor(request: Request) -> Actor:
    """The actor behind the request (set by the middleware; resolved here if it did not run)."""
    actor = getattr(request.state, "actor", None)
    if isinstance(actor, Actor):
        return actor
    platform: Platform = request.app.state.platform
    caller = resolve_caller(platform, request)
    request.state.actor = caller.actor
    if caller.csrf_token is not None:
        request.state.csrf_token = caller.csrf_token
        request.state.csrf_token_session = caller.csrf_token
    return caller.actor


# CSRF ------------------------------------------------------------------------------------------


def _serializer(platform: Platform) -> URLSafeTimedSerializer:
    # Cached: without a configured key, the secret is read from a file, and this runs per page.
    found = platform.derived.csrf_serializer
    if found is None:
        found = URLSafeTimedSerializer(platform.session_secret(), salt=_SALT)
        platform.derived.csrf_serializer = found
    return found


def anonymous_csrf_token(platform: Platform, nonce: str) -> str:
    """The form token matching the `hakama_csrf` cookie's nonce."""
    token: str = _serializer(platform).dumps(nonce)
    return token


def check_csrf(platform: Platform, request: Request, token: str | None) -> None:
    """Raise Forbidden unless `token` is the CSRF token of this browser (session or cookie)."""
    if not token or len(token) > 500:
        raise CsrfRefused("the form's security token is missing; reload the page and try again")
    session_csrf = getattr(request.state, "csrf_token_session", None)
    if session_csrf:
        if hmac.compare_digest(token.encode(), str(session_csrf).encode()):
            return
        raise CsrfRefused("the form's security token is wrong; reload the page and try again")
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce:
        raise CsrfRefused("the security cookie is missing; allow cookies, reload and try again")
    try:
        signed = _serializer(platform).loads(token, max_age=CSRF_MAX_AGE)
    except BadSignature:
        raise CsrfRefused("the form's security token is wrong or expired; reload the page") from None
    if not (isinstance(signed, str) and hmac.compare_digest(signed.encode(), nonce.encode())):
        raise CsrfRefused("the form's security token does not match this browser; reload the page")


# Middleware ------------------------------------------------------------------------------------


def cookie_header(
    secure: bool, name: str, value: str, *, max_age: int, httponly: bool = True
) -> str:
    """A Set-Cookie value: SameSite=Lax, HttpOnly, Secure when the settings ask for it."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["max-age"] = max_age
    morsel["samesite"] = "Lax"
    if httponly:
        morsel["httponly"] = True
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


class AuthMiddleware:
    """Resolves the caller for every HTTP request (but static files) and sets the CSRF cookie."""

    def __init__(self, app: ASGIApp, platform: Platform) -> None:
        self.app = app
        self.platform = platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        needs_db = presented_key(request) is not None or SESSION_COOKIE in request.cookies
        try:
            caller = (
                await run_blocking(resolve_caller, self.platform, request)
                if needs_db
                else Caller(actor=ANONYMOUS)
            )
        except Unauthorized as exc:
            from hakama.http.problems import problem

            response = problem(401, "Unauthorized", exc.message)
            response.headers["WWW-Authenticate"] = 'Bearer realm="hakama"'
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["actor"] = caller.actor
        new_nonce: str | None = None
        if caller.csrf_token is not None:
            state["csrf_token"] = caller.csrf_token
            state["csrf_token_session"] = caller.csrf_token
        else:
            nonce = request.cookies.get(CSRF_COOKIE)
            if not nonce or len(nonce) > 100:
                nonce = new_nonce = secrets.token_urlsafe(24)
            state["csrf_token"] = anonymous_csrf_token(self.platform, nonce)
        if new_nonce is None:
            await self.app(scope, receive, send)
            return
        header = cookie_header(
            self.platform.settings.secure_cookies, CSRF_COOKIE, new_nonce, max_age=CSRF_MAX_AGE
        ).encode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            # Only pages (which may hold forms) get the cookie; API answers stay cookie-free.
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"set-cookie", header))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def install(app: FastAPI, platform: Platform) -> None:
    """Add the middleware that resolves callers; `create_app` calls this once."""
    app.add_middleware(AuthMiddleware, platform=platform)
