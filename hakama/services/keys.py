"""API keys for systems and devices: scoped to a role, an area and a set of actions; revocable.

A key reads `hk_<id>_<secret>`. The id is public (it names the key in lists and in the audit
log); only the SHA-256 of the secret is stored, so the full key is shown once, when created.
A plain hash suffices (no argon2) because the secret is 256 random bits, not a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import OWN_AREA_ACTIONS, Action, Actor, Role, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Invalid, NotFound, Unauthorized
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.services.territory import area_chain, get_area
from hakama.services.users import check_grant, check_manage, parse_role
from hakama.storage import schema

PREFIX = "hk_"
TOKEN = re.compile(r"hk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")


@dataclass(frozen=True)
class ApiKey:
    """A key as people see it: never its secret."""

    id: str
    name: str
    role: Role
    area_code: str | None
    scopes: frozenset[Action]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "area_code": self.area_code,
            "scopes": sorted(s.value for s in self.scopes),
        }


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its full token, which is never shown again."""

    key: ApiKey
    token: str


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(scopes: Iterable[str | Action] | None, role: Role) -> frozenset[Action]:
    """The key's actions: those named (all known, all within the role), or all of the role's."""
    if scopes is None:
        return OWN_AREA_ACTIONS[role]
    parsed: set[Action] = set()
    for scope in scopes:
        try:
            parsed.add(Action(scope))
        except ValueError:
            names = ", ".join(a.value for a in Action)
            raise Invalid(f"unknown scope {scope!r} (one of: {names})", scope=str(scope)) from None
    if not parsed:
        raise Invalid("a key needs at least one scope")
    beyond = parsed - OWN_AREA_ACTIONS[role]
    if beyond:
        raise Invalid(
            f"role {role.value} cannot have scope {', '.join(sorted(beyond))}",
            scopes=sorted(beyond),
        )
    return frozenset(parsed)


def _row_to_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        area_code=row.area_code,
        scopes=frozenset(Action(s) for s in row.scopes),
        created_by=row.created_by,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create_key(
    platform: Platform,
    *,
    name: str,
    role: Role | str,
    area_code: str | None,
    scopes: Iterable[str | Action] | None,
    actor: Actor,
) -> CreatedKey:
    """Make a key; the actor must manage the area and may not hand out more than it holds."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("a key's name must be 1-200 characters")
    role = parse_role(role)
    if area_code is not None:
        get_area(platform, area_code)
    actions = parse_scopes(scopes, role)
    check_manage(platform, actor, area_code, "create API keys")
    # A creator (a key above all) cannot mint a key that can do what it cannot.
    check_grant(platform, actor, role=role, area_code=area_code, scopes=actions,
                what=f"create a {role.value} key")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with platform.db.begin() as conn:
        conn.execute(
            schema.api_keys.insert().values(
                id=key_id,
                secret_hash=_secret_hash(secret),
                name=name,
                role=role.value,
                area_code=area_code,
                scopes=sorted(a.value for a in actions),
                created_by=actor.label,
                created_at=utcnow(),
                revoked_at=None,
            )
        )
        row = conn.execute(sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)).one()
        key = _row_to_key(row)
        audit.record(
            conn,
            actor=actor,
            action="key.create",
            resource=f"key:{key_id}",
            area_code=area_code,
            after=key.public(),
        )
    return CreatedKey(key=key, token=f"{PREFIX}{key_id}_{secret}")


def get_key(platform: Platform, key_id: str) -> ApiKey:
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no API key {key_id!r}", key_id=key_id)
    return _row_to_key(row)


def list_keys(platform: Platform, *, actor: Actor, include_revoked: bool = True) -> list[ApiKey]:
    """Keys in the areas the actor manages, newest first."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in to list API keys")
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(schema.api_keys).order_by(
                schema.api_keys.c.created_at.desc(), schema.api_keys.c.id
            )
        ).all()
    keys = [_row_to_key(r) for r in rows]
    return [
        k
        for k in keys
        if (include_revoked or not k.revoked)
        and allowed(actor, Action.MANAGE_USERS, area_chain(platform, k.area_code))
    ]


def revoke_key(platform: Platform, *, key_id: str, actor: Actor) -> ApiKey:
    """Stop a key from working, at once and for good; the record stays for the audit trail."""
    with platform.db.begin() as conn:
        row = conn.execute(sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key {key_id!r}", key_id=key_id)
        key = _row_to_key(row)
        check_manage(platform, actor, key.area_code, "revoke API keys")
        check_grant(platform, actor, role=key.role, area_code=key.area_code,
                    scopes=key.scopes, what=f"revoke the {key.role.value} key {key_id}")
        if key.revoked:
            raise Conflict(f"API key {key_id} is already revoked", key_id=key_id)
        now = utcnow()
        conn.execute(
            schema.api_keys.update().where(schema.api_keys.c.id == key_id).values(revoked_at=now)
        )
        audit.record(
            conn,
            actor=actor,
            action="key.revoke",
            resource=f"key:{key_id}",
            area_code=key.area_code,
            before={"revoked": False},
            after={"revoked": True},
        )
    return get_key(platform, key_id)


def actor_for_key(platform: Platform, token: str) -> Actor:
    """The actor a presented key stands for; Unauthorized if malformed, unknown or revoked."""
    match = TOKEN.fullmatch(token.strip())
    if match is None:
        raise Unauthorized("malformed API key")
    key_id, secret = match.groups()
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)).first()
    # Compare a hash even for an unknown id, so timing does not tell which ids exist.
    stored = row.secret_hash if row is not None else "0" * 64
    ok = hmac.compare_digest(stored, _secret_hash(secret))
    if row is None or not ok:
        raise Unauthorized("unknown API key")
    if row.revoked_at is not None:
        raise Unauthorized("this API key was revoked")
    key = _row_to_key(row)
    return Actor(kind="key", id=key.id, role=key.role, area_code=key.area_code, scopes=key.scopes)
