"""The citizen's side of notices: the pages behind the links messages carry (confirm following,
stop the messages), what the tracking page shows of notices, and the receipt's QR code.

Every write here is authorised by a secret (the link's token, or the requester's token), never
by a session; the forms still carry the CSRF token, like every form of the site.
"""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from hakama.core.errors import HakamaError
from hakama.http.deps import CsrfDep, csrf_token
from hakama.http.web.request_pages import Page
from hakama.services import citizen_notices

router = APIRouter(include_in_schema=False)


def qr_svg(url: str, label: str) -> Markup:
    """`url` as a QR code, an inline SVG (no script, no style attribute) with a text label."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=4, dark="#000", light="#fff", title=label, border=2)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # trusted: segno's own markup


def follow_view(page: Page, request_id: str, *, is_requester: bool) -> dict[str, Any]:
    """What the tracking page shows about notices: the requester's addresses, or a follow form."""
    on = citizen_notices.channels(page.platform.settings)
    mine = citizen_notices.requester_channels(page.platform, request_id) if is_requester else []
    return {
        "mine": [{"channel": r.channel, "address": r.shown_address} for r in mine],
        "can_follow": "email" in on and not is_requester,
    }


async def _form_text(request: Request, name: str, limit: int = 600) -> str:
    form = await request.form()
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _notice_page(page: Page, token: str, *, done: str = "", status_code: int = 200) -> HTMLResponse:
    try:
        who = citizen_notices.recipient(page.platform, token)
    except HakamaError as exc:
        return page.error(exc)
    return page.render(
        "portal/notice.html",
        status_code,
        who=who,
        token=token,
        done=done,
        csrf_token=csrf_token(page.request),
    )


@router.get("/notices/{token}/stop", response_class=HTMLResponse)
def stop_page(request: Request, token: str) -> HTMLResponse:
    """The link in every message: asks to confirm (a mail scanner's visit stops nothing)."""
    return _notice_page(Page(request, citizen=True), token[:64])


@router.post("/notices/{token}/stop", response_class=HTMLResponse)
async def stop(request: Request, token: str, _: CsrfDep) -> HTMLResponse:
    page = Page(request, citizen=True)
    try:
        citizen_notices.stop(page.platform, token[:64])
    except HakamaError as exc:
        return page.error(exc)
    return _notice_page(page, token[:64], done="stopped")


@router.get("/notices/{token}/confirm", response_class=HTMLResponse)
def confirm(request: Request, token: str) -> HTMLResponse:
    """The link of the confirmation mail a follower gets: from now on they are told."""
    page = Page(request, citizen=True)
    try:
        citizen_notices.confirm_follow(page.platform, token[:64])
    except HakamaError as exc:
        return page.error(exc)
    return _notice_page(page, token[:64], done="confirmed")
