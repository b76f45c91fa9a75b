"""What every page of the back office shares: who may see it (staff of a queue, admins of a
catalogue), the sign-in redirect, the header's context and the message after a change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden
from hakama.http.deps import csrf_token
from hakama.http.web.request_pages import Page, leaf_areas
from hakama.services import territory

MESSAGES = {
    "saved": "Saved.",
    "merged": "The duplicates were merged into this request.",
    "reopened": "The request is open again.",
    "service": "The service was saved.",
    "disabled": "The service is no longer offered there.",
}


class Redirect(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def work_areas(page: Page, actor: Actor) -> list[str]:
    """Communes whose queue the actor works, in name order; empty if none."""
    leaves = leaf_areas(page.platform)
    chains = {a.code: territory.area_chain(page.platform, a.code) for a in leaves}
    codes = [a.code for a in leaves if allowed(actor, Action.WORK_REQUESTS, chains[a.code])]
    return sorted(codes, key=page.area_name)


def staff_areas(page: Page, actor: Actor) -> list[str]:
    """The actor's communes; sends the public to sign in and others to a 403 page."""
    if actor.kind == "anonymous":
        raise Redirect(sign_in(page.request))
    areas = work_areas(page, actor)
    if not areas:
        raise Redirect(page.error(Forbidden("this account does not work a request queue")))
    return areas


def office_context(page: Page, actor: Actor, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "actor_label": actor.id,
        "can_manage_catalog": bool(catalog_areas(page, actor)),
        "csrf_token": csrf_token(page.request),
    }


def office_message(page: Page) -> str:
    key = page.request.query_params.get("msg", "")
    if key == "bulk":
        done = _int(page.request.query_params.get("done"))
        failed = _int(page.request.query_params.get("failed"))
        text = page._("%(done)d request(s) updated.", done=done)
        if failed:
            text += " " + page._(
                "%(failed)d could not be changed from their status.", failed=failed
            )
        return text
    return page._(MESSAGES[key]) if key in MESSAGES else ""


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or "0"))
    except ValueError:
        return 0


def catalog_areas(page: Page, actor: Actor) -> list[str]:
    """Areas whose catalogue the actor manages: their own area (or all) and the communes below."""
    if actor.kind == "anonymous":
        return []
    out = []
    for area in territory.list_areas(page.platform):
        if area.level.depth < 2:  # countries and regions: catalogues start at provinces
            continue
        if allowed(actor, Action.MANAGE_CATALOG, territory.area_chain(page.platform, area.code)):
            out.append(area.code)
    return sorted(
        out, key=lambda c: (territory.get_area(page.platform, c).level.depth, page.area_name(c))
    )
