"""`/api/admin`: accounts and API keys for administrators, and the audit log's health.

Every route is scoped: an admin of a commune sees and manages only that commune's accounts and
keys; the province's admin manages all of the province. A browser session must send its CSRF
token in `X-CSRF-Token` on writes; API keys need none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hakama.core.access import Action, Role
from hakama.core.errors import Unauthorized
from hakama.http.deps import ActorDep, PlatformDep, require_csrf
from hakama.services import audit_anchors, keys, users
from hakama.services.access import require
from hakama.services.keys import ApiKey
from hakama.services.users import User


async def _signed_in_and_csrf(request: Request, actor: ActorDep) -> None:
    """Anonymous callers get 401 before anything else; then writes need a CSRF token."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in or present an API key")
    await require_csrf(request)


router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(_signed_in_and_csrf)])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=2,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$",
        examples=["agent-berkane"],
    )
    password: str = Field(min_length=10, max_length=1024)
    role: Role
    area_code: str | None = Field(None, max_length=64, description="None: the whole platform.")
    display_name: str = Field("", max_length=200)
    language: str = Field("fr", pattern="^(ar|fr|en)$")


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    area_code: str | None
    language: str
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            area_code=user.area_code,
            language=user.language,
            disabled=user.disabled,
            created_at=user.created_at,
        )


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=200, pattern=r"\S", examples=["air-quality-station-12"]
    )
    role: Role
    area_code: str | None = Field(None, max_length=64)
    scopes: list[Action] | None = Field(
        None, description="Actions the key may do; default every action of the role."
    )


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    area_code: str | None
    scopes: list[Action]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            role=key.role,
            area_code=key.area_code,
            scopes=sorted(key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class KeyCreatedOut(KeyOut):
    token: str = Field(description="The full key, `hk_<id>_<secret>`: shown this once only.")


class AuditVerifyOut(BaseModel):
    entries: int
    ok: bool
    head: str
    broken_seq: int | None
    reason: str


@router.get("/users", operation_id="admin_list_users")
def list_users(
    platform: PlatformDep,
    actor: ActorDep,
    area: Annotated[str | None, Query(max_length=64)] = None,
) -> list[UserOut]:
    require(platform, actor, Action.MANAGE_USERS, actor.area_code)
    return [UserOut.of(u) for u in users.list_users(platform, actor=actor, area_code=area)]


@router.post("/users", status_code=201, operation_id="admin_create_user")
def create_user(body: UserIn, platform: PlatformDep, actor: ActorDep) -> UserOut:
    user = users.add_user(
        platform,
        username=body.username,
        password=body.password,
        role=body.role,
        area_code=body.area_code,
        display_name=body.display_name,
        language=body.language,
        actor=actor,
    )
    return UserOut.of(user)


@router.post("/users/{username}/disable", operation_id="admin_disable_user")
def disable_user(username: str, platform: PlatformDep, actor: ActorDep) -> UserOut:
    return UserOut.of(users.disable_user(platform, username=username, actor=actor))


@router.post("/users/{username}/enable", operation_id="admin_enable_user")
def enable_user(username: str, platform: PlatformDep, actor: ActorDep) -> UserOut:
    return UserOut.of(users.enable_user(platform, username=username, actor=actor))


@router.get("/keys", operation_id="admin_list_keys")
def list_keys(platform: PlatformDep, actor: ActorDep) -> list[KeyOut]:
    require(platform, actor, Action.MANAGE_USERS, actor.area_code)
    return [KeyOut.of(k) for k in keys.list_keys(platform, actor=actor)]


@router.post("/keys", status_code=201, operation_id="admin_create_key")
def create_key(body: KeyIn, platform: PlatformDep, actor: ActorDep) -> KeyCreatedOut:
    created = keys.create_key(
        platform,
        name=body.name,
        role=body.role,
        area_code=body.area_code,
        scopes=body.scopes,
        actor=actor,
    )
    return KeyCreatedOut(**KeyOut.of(created.key).model_dump(), token=created.token)


@router.post("/keys/{key_id}/revoke", operation_id="admin_revoke_key")
def revoke_key(key_id: str, platform: PlatformDep, actor: ActorDep) -> KeyOut:
    return KeyOut.of(keys.revoke_key(platform, key_id=key_id, actor=actor))


@router.get("/audit/verify", operation_id="admin_verify_audit")
def verify_audit(
    platform: PlatformDep,
    actor: ActorDep,
    expect_head: Annotated[str | None, Query(min_length=64, max_length=64)] = None,
) -> AuditVerifyOut:
    require(platform, actor, Action.READ_AUDIT, actor.area_code)
    report = audit_anchors.verify(platform, expect_head=expect_head)
    return AuditVerifyOut(
        entries=report.count,
        ok=report.ok,
        head=report.head,
        broken_seq=report.broken_seq,
        reason=report.reason,
    )
