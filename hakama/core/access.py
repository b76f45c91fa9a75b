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
    READ_INTERNAL = "read_internal"  # internal indicators, alerts, device registry, ingest state
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


def held_actions(role: Role, scopes: frozenset[Action] | None) -> frozenset[Action]:
    """What a principal with `role` (narrowed to `scopes`, for a key) may do in its own area,
    beyond what everyone may do."""
    actions = OWN_AREA_ACTIONS[role] if scopes is None else OWN_AREA_ACTIONS[role] & scopes
    return actions - PUBLIC_ACTIONS


def beyond(
    actor: Actor,
    *,
    role: Role,
    area_chain: Sequence[str],
    scopes: frozenset[Action] | None = None,
) -> list[str]:
    """What a principal (account or key) with `role`, `scopes` over the area whose chain is
    given would hold that `actor` does not: empty when `actor` may create, enable, raise or
    take over such a principal.

    The rule that stops escalation: nobody hands out, or gets hold of, more than it holds —
    no action beyond its own role and scopes, no area above or beside its own.
    """
    found: list[str] = []
    own_area = actor.area_code is None or actor.area_code in area_chain
    if not own_area:
        found.append("area " + (area_chain[0] if area_chain else "(whole platform)"))
    mine = held_actions(actor.role, actor.scopes)
    found.extend(sorted(a.value for a in held_actions(role, scopes) - mine))
    return found
