"""Who may do what, where: one pure rule, `allowed(actor, action, area_chain)`.

Every role is scoped to an area. An actor acts on "their own" area when the resource's area is
theirs or lies below it (a province analyst owns every commune of the province; a commune agent
owns only their commune). Outside their area, everyone is a member of the public.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    AGENT = "agent"
    ANALYST = "analyst"
    ADMIN = "admin"


class Action(StrEnum):
    READ_PUBLIC = "read_public"  # dashboards, open data, public request list
    SUBMIT_REQUEST = "submit_request"  # file a service request, comment on one's own
    READ_INTERNAL = "read_internal"  # internal indicators, alerts, raw history
    READ_PERSONAL = "read_personal"  # requesters' contact details
    WORK_REQUESTS = "work_requests"  # triage, assign, change status, merge
    WRITE_DATA = "write_data"  # entities, observations, imports
    RUN_ANALYTICS = "run_analytics"  # SQL over the history lake
    MANAGE_CATALOG = "manage_catalog"  # services, datasets, indicators
    MANAGE_USERS = "manage_users"  # accounts and API keys of the area
    READ_AUDIT = "read_audit"  # the audit log


PUBLIC_ACTIONS = frozenset({Action.READ_PUBLIC, Action.SUBMIT_REQUEST})

#: What each role may do in its own area; outside it, only PUBLIC_ACTIONS.
OWN_AREA_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.CITIZEN: PUBLIC_ACTIONS,
    Role.AGENT: PUBLIC_ACTIONS
    | {Action.READ_INTERNAL, Action.READ_PERSONAL, Action.WORK_REQUESTS, Action.WRITE_DATA},
    Role.ANALYST: PUBLIC_ACTIONS | {Action.READ_INTERNAL, Action.RUN_ANALYTICS},
    Role.ADMIN: frozenset(Action),
}


@dataclass(frozen=True)
class Actor:
    """Someone or something acting: a signed-in user, an API key, or the anonymous public.

    `scopes`, when set (API keys), narrows what the role allows to those actions.
    """

    kind: str  # "user" | "key" | "anonymous" | "system"
    id: str
    role: Role
    area_code: str | None
    scopes: frozenset[Action] | None = None

    @property
    def label(self) -> str:
        """How the actor is named in the audit log, e.g. `user:amina` or `key:ab12cd`."""
        return f"{self.kind}:{self.id}"


ANONYMOUS = Actor(kind="anonymous", id="-", role=Role.CITIZEN, area_code=None)


def system_actor(name: str, area_code: str | None = None) -> Actor:
    """An actor for the platform's own jobs (demo build, CLI run by the operator)."""
    return Actor(kind="system", id=name, role=Role.ADMIN, area_code=area_code)


def allowed(actor: Actor, action: Action, area_chain: Sequence[str]) -> bool:
    """May `actor` do `action` on a resource in the area whose chain (leaf first) is given?

    `area_chain` lists the resource's area and its ancestors, e.g. (commune, province, region).
    An empty chain is the territory as a whole: only actors scoped to no area (the platform's
    operator) own it.
    """
    if actor.scopes is not None and action not in actor.scopes:
        return False
    if action in PUBLIC_ACTIONS:
        return True
    own = actor.area_code is None or actor.area_code in area_chain
    return own and action in OWN_AREA_ACTIONS[actor.role]
