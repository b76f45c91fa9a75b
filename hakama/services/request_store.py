"""Reading and locking request rows, shared by the request use cases: row → ServiceRequest, the
public view, who may see what, the requester's token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from hakama.core.access import OWN_AREA_ACTIONS, Action, Actor, allowed
from hakama.core.errors import NotFound
from hakama.core.requests import (
    ServiceRequest,
    Status,
    normalise_request_id,
)
from hakama.services import territory
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema_requests import (
    service_requests,
)

_STATUS = {s.value: s for s in Status}


def row_to_request(row: Any, *, public: bool = False) -> ServiceRequest:
    """A request from its row; `public` leaves out what only the commune may read."""
    m = row._mapping
    return ServiceRequest(
        id=m["id"],
        service_code=m["service_code"],
        service_name=m["service_name"],
        category=m["category"],
        area_code=m["area_code"],
        status=_STATUS[m["status"]],
        description="" if public else (m["description"] or ""),
        lat=m["lat"],
        lon=m["lon"],
        address="" if public else (m["address"] or ""),
        address_id=m["address_id"] or "",
        requested_at=m["requested_at"],
        updated_at=m["updated_at"],
        expected_at=m["expected_at"],
        resolved_at=m["resolved_at"],
        closed_at=m["closed_at"],
        status_notes=m["status_notes"] or "",
        department=m["department"] or "",
        assignee="" if public else (m["assignee"] or ""),
        attributes={} if public else dict(m["attributes"] or {}),
        media=tuple(m["media"] or ()),
        language=m["language"],
        channel=m["channel"],
        reopened=m["reopened"] or 0,
        merged_into=m["merged_into"],
    )


def list_columns(public: bool) -> list[Any]:
    """Columns a listing reads: never the token; for the public, not the free text either."""
    t = service_requests
    hidden = {"token_hash", "idempotency_key"} | (
        {"description", "attributes", "address"} if public else set()
    )
    columns: list[Any] = [c for c in t.columns if c.name not in hidden]
    if public:
        columns += [
            sa.literal("").label("description"),
            sa.null().label("attributes"),
            sa.literal("").label("address"),
        ]
    return columns


#: Who reads a request whole — the requester's free text (description, address_string, answers),
#: internal notes, the assignee: those who work the requests of its commune (agents, admins),
#: not analysts (docs/security.md). Everyone else reads `public_view`.
WHOLE = Action.WORK_REQUESTS


def reads_internals_somewhere(actor: Actor) -> bool:
    if actor.scopes is not None and WHOLE not in actor.scopes:
        return False
    return WHOLE in OWN_AREA_ACTIONS[actor.role]


def public_view(request: ServiceRequest) -> ServiceRequest:
    """The request as anyone may see it: no free text from the requester (description,
    address_string, answers), no assignee."""
    return replace(request, description="", address="", attributes={}, assignee="")


def may(platform: Platform, actor: Actor, action: Action, area_code: str) -> bool:
    return allowed(actor, action, territory.area_chain(platform, area_code))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def holds_token(row: Any, token: str | None) -> bool:
    return bool(token and row.token_hash and hmac.compare_digest(row.token_hash, token_hash(token)))


def load(conn: sa.Connection, request_id: str, *, lock: bool = False) -> Any:
    t = service_requests
    # The id as given first (any stored id), then as a tracking number typed loosely.
    candidates = {request_id, normalise_request_id(request_id)}
    query = sa.select(t).where(t.c.id.in_(sorted(candidates))).order_by(t.c.id != request_id)
    if lock:
        query = db.locking(conn, query)
    row = conn.execute(query.limit(1)).first()
    if row is None:
        raise NotFound(f"no service request {request_id!r}", service_request_id=request_id)
    return row
