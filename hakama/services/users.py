"""User accounts: create, list, disable, change passwords, and check a password at sign-in.

Passwords are kept as argon2id hashes (argon2-cffi's `PasswordHasher`); the audit log records
who changed which account, never a hash or a password. Every account has a role scoped to an
area (an agent of one commune, an analyst of the province); an account with no area is a
platform operator. Managing an account needs `MANAGE_USERS` over the account's area.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hakama.core.access import Action, Actor, Role, allowed, beyond
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.services import access, audit
from hakama.services.platform import Platform
from hakama.services.territory import area_chain, get_area
from hakama.storage import schema

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
LANGUAGES = ("ar", "fr", "en")
WRONG_CREDENTIALS = "wrong username or password"


@dataclass(frozen=True)
class User:
    """An account as services and front ends see it: everything but the password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    area_code: str | None
    language: str
    disabled: bool
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """The fields the audit log may keep (no hash, no id that changes between databases)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "area_code": self.area_code,
            "language": self.language,
            "disabled": self.disabled,
        }


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so both paths take as long."""
    return _hasher().hash("hakama-no-such-user-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def parse_role(value: str | Role) -> Role:
    """A role from its name, or Invalid listing the known ones."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise Invalid(f"unknown role {value!r} (one of: {names})", role=str(value)) from None


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise Invalid(
            f"username {username!r} must be 2-64 characters: letters, digits, '.', '_', '@', '-'",
            username=username,
        )
    return name


def check_password(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short, too long, or the username itself."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"the password must be at most {MAX_PASSWORD} characters")
    if username and password.strip().lower() == username.lower():
        raise Invalid("the password must not be the username")


def check_manage(platform: Platform, actor: Actor, area_code: str | None, what: str) -> None:
    """Raise unless `actor` may manage accounts and keys in `area_code` (None: whole platform)."""
    access.require(platform, actor, Action.MANAGE_USERS, area_code, what=what)


def check_grant(
    platform: Platform,
    actor: Actor,
    *,
    role: Role,
    area_code: str | None,
    scopes: frozenset[Action] | None = None,
    what: str,
) -> None:
    """Raise Forbidden unless `actor` holds everything a principal (account or key) with this
    role, area and scopes would hold: nobody creates, enables, raises or takes over a principal
    beyond itself (a key scoped to `manage_users` cannot make an admin account)."""
    over = beyond(actor, role=role, area_chain=area_chain(platform, area_code), scopes=scopes)
    if over:
        raise Forbidden(
            f"{actor.label} may not {what}: cannot grant {', '.join(over)}, "
            "beyond what it holds itself",
            beyond=over,
        )


def _row_to_user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        area_code=row.area_code,
        language=row.language,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _fetch(conn: sa.Connection, username: str) -> Any:
    return conn.execute(sa.select(schema.users).where(schema.users.c.username == username)).first()


def get_user(platform: Platform, username: str) -> User:
    with platform.db.connect() as conn:
        row = _fetch(conn, username.strip().lower())
    if row is None:
        raise NotFound(f"no user {username!r}", username=username)
    return _row_to_user(row)


def add_user(
    platform: Platform,
    *,
    username: str,
    password: str,
    role: Role | str,
    area_code: str | None,
    actor: Actor,
    display_name: str = "",
    language: str = "fr",
) -> User:
    """Create an account; the actor must manage accounts in the new account's area."""
    name = normalise_username(username)
    role = parse_role(role)
    if area_code is not None:
        get_area(platform, area_code)
    if language not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}", language=language)
    if len(display_name) > 200:
        raise Invalid("the display name must be at most 200 characters")
    check_password(password, username=name)
    check_manage(platform, actor, area_code, "create accounts")
    check_grant(platform, actor, role=role, area_code=area_code,
                what=f"create a {role.value} account")
    digest = hash_password(password)
    with platform.db.begin() as conn:
        if _fetch(conn, name) is not None:
            raise Conflict(f"user {name!r} already exists", username=name)
        conn.execute(
            schema.users.insert().values(
                username=name,
                display_name=display_name,
                password_hash=digest,
                role=role.value,
                area_code=area_code,
                language=language,
                disabled=False,
                created_at=utcnow(),
            )
        )
        user = _row_to_user(_fetch(conn, name))
        audit.record(
            conn,
            actor=actor,
            action="user.add",
            resource=f"user:{name}",
            area_code=area_code,
            after=user.public(),
        )
    return user


def list_users(platform: Platform, *, actor: Actor, area_code: str | None = None) -> list[User]:
    """Accounts the actor may manage, optionally only those in (or below) `area_code`."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in to list accounts")
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(schema.users).order_by(schema.users.c.username)).all()
    users = [_row_to_user(r) for r in rows]
    out: list[User] = []
    for user in users:
        chain = area_chain(platform, user.area_code)
        if not allowed(actor, Action.MANAGE_USERS, chain):
            continue
        if area_code is not None and area_code not in chain:
            continue
        out.append(user)
    return out


def _set_disabled(platform: Platform, *, username: str, disabled: bool, actor: Actor) -> User:
    name = username.strip().lower()
    with platform.db.begin() as conn:
        row = _fetch(conn, name)
        if row is None:
            raise NotFound(f"no user {username!r}", username=username)
        before = _row_to_user(row)
        verb = "disable" if disabled else "enable"
        check_manage(platform, actor, before.area_code, f"{verb} accounts")
        check_grant(platform, actor, role=before.role, area_code=before.area_code,
                    what=f"{verb} the {before.role.value} account {name}")
        if disabled and actor.kind == "user" and actor.id == name:
            raise Conflict("you cannot disable your own account")
        conn.execute(
            schema.users.update().where(schema.users.c.id == before.id).values(disabled=disabled)
        )
        if disabled:
            # A disabled account is signed out everywhere at once.
            conn.execute(schema.sessions.delete().where(schema.sessions.c.user_id == before.id))
        audit.record(
            conn,
            actor=actor,
            action=f"user.{verb}",
            resource=f"user:{name}",
            area_code=before.area_code,
            before={"disabled": before.disabled},
            after={"disabled": disabled},
        )
    return get_user(platform, name)


def disable_user(platform: Platform, *, username: str, actor: Actor) -> User:
    """Refuse the account's sign-ins and end its sessions; the account and its history stay."""
    return _set_disabled(platform, username=username, disabled=True, actor=actor)


def enable_user(platform: Platform, *, username: str, actor: Actor) -> User:
    return _set_disabled(platform, username=username, disabled=False, actor=actor)


def set_password(platform: Platform, *, username: str, password: str, actor: Actor) -> None:
    """Change a password (the account itself, or a manager of its area); ends its sessions."""
    user = get_user(platform, username)
    check_password(password, username=user.username)
    if not (actor.kind == "user" and actor.id == user.username):
        check_manage(platform, actor, user.area_code, "change passwords")
        # Setting someone's password is signing in as them: only over a principal not above.
        check_grant(platform, actor, role=user.role, area_code=user.area_code,
                    what=f"change the password of the {user.role.value} account")
    digest = hash_password(password)
    with platform.db.begin() as conn:
        conn.execute(
            schema.users.update().where(schema.users.c.id == user.id).values(password_hash=digest)
        )
        conn.execute(schema.sessions.delete().where(schema.sessions.c.user_id == user.id))
        audit.record(
            conn,
            actor=actor,
            action="user.password",
            resource=f"user:{user.username}",
            area_code=user.area_code,
        )


def actor_for_user(user: User) -> Actor:
    return Actor(kind="user", id=user.username, role=user.role, area_code=user.area_code)


def authenticate(platform: Platform, *, username: str, password: str) -> Actor:
    """The actor for a correct username and password; Unauthorized otherwise.

    Every refusal says the same thing and costs one argon2 verification, whether the account
    is unknown, disabled or the password wrong, so neither the message nor the time tells which.
    """
    name = username.strip().lower()
    row = None
    if USERNAME.fullmatch(name) and len(password) <= MAX_PASSWORD:
        with platform.db.connect() as conn:
            row = _fetch(conn, name)
    stored = row.password_hash if row is not None else _dummy_hash()
    ok: bool
    try:
        ok = _hasher().verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        ok = False
    if row is None or not ok or row.disabled:
        raise Unauthorized(WRONG_CREDENTIALS)
    return actor_for_user(_row_to_user(row))
