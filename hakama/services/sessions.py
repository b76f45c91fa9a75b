"""Web sign-in sessions: a random cookie token (stored as its SHA-256) and a CSRF token each.

A session lasts `SESSION_LIFETIME` from sign-in (not sliding). Signing out, disabling the
account or changing its password deletes the session rows, so a stolen cookie dies with them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from hakama.core.access import Actor, Role
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.storage import schema

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class OpenedSession:
    """What the browser gets at sign-in: the cookie's token and the forms' CSRF token."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionActor:
    """Who a session cookie stands for, and the CSRF token its forms must carry."""

    actor: Actor
    csrf_token: str
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(platform: Platform, *, actor: Actor) -> OpenedSession:
    """Start a session for a signed-in user (an actor from `users.authenticate`)."""
    if actor.kind != "user":
        raise Invalid("only a user can open a web session")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + SESSION_LIFETIME
    with platform.db.begin() as conn:
        user = conn.execute(
            sa.select(schema.users.c.id, schema.users.c.area_code).where(
                schema.users.c.username == actor.id, schema.users.c.disabled.is_(False)
            )
        ).first()
        if user is None:
            raise NotFound(f"no active user {actor.id!r}")
        # Expired rows of this user go now, so the table does not grow with every sign-in.
        conn.execute(
            schema.sessions.delete().where(
                schema.sessions.c.user_id == user.id, schema.sessions.c.expires_at < now
            )
        )
        conn.execute(
            schema.sessions.insert().values(
                id=_token_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="session.open",
            resource=f"user:{actor.id}",
            area_code=user.area_code,
        )
    return OpenedSession(token=token, csrf_token=csrf, expires_at=expires)


def actor_for_session(platform: Platform, token: str) -> SessionActor | None:
    """The user behind a session cookie, or None when it is unknown, expired or disabled."""
    if not token or len(token) > 200:
        return None
    s, u = schema.sessions, schema.users
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(
                s.c.csrf_token, s.c.expires_at, u.c.username, u.c.role, u.c.area_code, u.c.disabled
            )
            .select_from(s.join(u, s.c.user_id == u.c.id))
            .where(s.c.id == _token_hash(token))
        ).first()
    if row is None or row.disabled or row.expires_at <= utcnow():
        return None
    actor = Actor(kind="user", id=row.username, role=Role(row.role), area_code=row.area_code)
    return SessionActor(actor=actor, csrf_token=row.csrf_token, expires_at=row.expires_at)


def close_session(platform: Platform, *, token: str) -> bool:
    """Sign out: delete the session. True when there was one to close."""
    if not token or len(token) > 200:
        return False
    found = actor_for_session(platform, token)
    with platform.db.begin() as conn:
        deleted = conn.execute(
            schema.sessions.delete().where(schema.sessions.c.id == _token_hash(token))
        ).rowcount
        if deleted and found is not None:
            audit.record(
                conn,
                actor=found.actor,
                action="session.close",
                resource=f"user:{found.actor.id}",
                area_code=found.actor.area_code,
            )
    return bool(deleted)
