"""Sign-in and sign-out pages: `GET/POST /login`, `POST /logout`.

A wrong username or password gets the same page and message, 400, whichever was wrong. After
`MAX_FAILURES` failures for one username within `WINDOW`, further attempts are refused with
429 before the password is even checked, so guessing is slow and costs the server nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hakama.core.errors import Unauthorized
from hakama.http.auth import SESSION_COOKIE, cookie_header
from hakama.http.deps import ActorDep, CsrfDep, PlatformDep, csrf_token
from hakama.http.offload import run_blocking
from hakama.http.web.i18n import translations
from hakama.http.web.render import page_language, render
from hakama.services import sessions, users

router = APIRouter(include_in_schema=False)

MAX_FAILURES = 10
WINDOW = 15 * 60.0


class LoginThrottle:
    """Failed sign-ins per username in a sliding window, kept in memory per running app."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, key: str, now: float | None = None) -> bool:
        at = time.monotonic() if now is None else now
        with self._lock:
            return len(self._recent(key, at)) >= self.max_failures

    def fail(self, key: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, at).append(at)
            if len(self._failures) > 100_000:  # bound memory under a spray of usernames
                self._failures = {k: v for k, v in self._failures.items() if v}

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def throttle(request: Request) -> LoginThrottle:
    found = getattr(request.app.state, "login_throttle", None)
    if not isinstance(found, LoginThrottle):
        found = LoginThrottle()
        request.app.state.login_throttle = found
    return found


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else "/" (no open redirect to another host)."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return "/"
    if target.startswith(("//", "/\\")) or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _page(
    request: Request, *, status: int = 200, error: str = "", username: str = "", next_: str = "/"
) -> HTMLResponse:
    actor = getattr(request.state, "actor", None)
    signed_in = actor.id if actor is not None and actor.kind == "user" else ""
    return render(
        request,
        "login.html",
        status_code=status,
        csrf_token=csrf_token(request),
        error=error,
        username=username,
        next=local_path(next_),
        signed_in_as=signed_in,
    )


def _t(request: Request, message: str) -> str:
    return translations(page_language(request)).gettext(message)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: ActorDep, next: str = "/") -> HTMLResponse:
    return _page(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    _: CsrfDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    key = username.strip().lower()
    limiter = throttle(request)
    if limiter.blocked(key):
        message = _t(request, "Too many failed attempts. Please wait 15 minutes and try again.")
        response = _page(request, status=429, error=message, username=username, next_=next)
        response.headers["Retry-After"] = str(int(limiter.window))
        return response
    try:
        who = await run_blocking(
            users.authenticate, platform, username=username, password=password
        )
    except Unauthorized:
        limiter.fail(key)
        message = _t(request, "Wrong username or password.")
        return _page(request, status=400, error=message, username=username, next_=next)
    limiter.clear(key)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # signing in again (maybe as someone else) ends the session in this browser
        await run_blocking(sessions.close_session, platform, token=previous)
    opened = await run_blocking(sessions.open_session, platform, actor=who)
    redirect = RedirectResponse(local_path(next), status_code=303)
    redirect.headers.append(
        "set-cookie",
        cookie_header(
            platform.settings.secure_cookies,
            SESSION_COOKIE,
            opened.token,
            max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        ),
    )
    return redirect


@router.post("/logout")
async def logout(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    _: CsrfDep,
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_blocking(sessions.close_session, platform, token=token)
    response = RedirectResponse("/", status_code=303)
    response.headers.append(
        "set-cookie",
        cookie_header(platform.settings.secure_cookies, SESSION_COOKIE, "", max_age=0),
    )
    return response
