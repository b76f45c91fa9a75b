"""The access rule applied where the territory is known: may this actor do this there?

`core.access.allowed` is the pure rule over an area chain; these functions look the chain up
and raise the domain errors every front end (HTTP, web pages, CLI) maps the same way.
"""

from __future__ import annotations

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, Unauthorized
from hakama.services.platform import Platform
from hakama.services.territory import area_chain


def require(
    platform: Platform,
    actor: Actor,
    action: Action,
    area_code: str | None,
    *,
    what: str | None = None,
) -> None:
    """Raise Unauthorized (nobody signed in) or Forbidden unless `actor` may do `action` in
    `area_code` (None: the whole platform). `what` words the refusal ("create accounts")."""
    if allowed(actor, action, area_chain(platform, area_code)):
        return
    if actor.kind == "anonymous":
        raise Unauthorized("sign in or present an API key to do this")
    where = f"area {area_code}" if area_code else "the whole platform"
    raise Forbidden(
        f"{actor.label} may not {what or action.value} in {where}",
        action=action.value,
        area_code=area_code,
    )


def is_staff(platform: Platform, actor: Actor) -> bool:
    """May the actor read internal data somewhere (its own area, or everywhere)?"""
    chain = area_chain(platform, actor.area_code) if actor.area_code else ()
    return allowed(actor, Action.READ_INTERNAL, chain)
