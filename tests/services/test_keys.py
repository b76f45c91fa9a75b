"""API keys on real SQLite and PostgreSQL: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from hakama.core.access import Action, Actor, Role, allowed, system_actor
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.core.territory import Area, Level
from hakama.services import audit, keys, territory
from hakama.services.platform import Platform
from hakama.storage import schema

OPERATOR = system_actor("test")


def small_territory(platform: Platform) -> None:
    territory.save_areas(
        platform,
        [
            Area(code="P", level=Level.PROVINCE, names={"fr": "Province"}),
            Area(code="P.A", level=Level.COMMUNE, names={"fr": "A"}, parent_code="P"),
            Area(code="P.B", level=Level.COMMUNE, names={"fr": "B"}, parent_code="P"),
        ],
        actor=OPERATOR,
    )


def test_create_use_revoke(platform: Platform) -> None:
    small_territory(platform)
    created = keys.create_key(platform, name="station 12", role="agent", area_code="P.A",
                              scopes=["write_data"], actor=OPERATOR)
    token = created.token
    assert token.startswith(f"hk_{created.key.id}_") and len(token) > 50
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(schema.api_keys)).one()
        entry = list(audit.entries(conn))[-1]
    secret = token.split("_", 2)[2]
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row._mapping) and secret not in str(entry.after)
    assert (entry.action, entry.resource) == ("key.create", f"key:{created.key.id}")

    actor = keys.actor_for_key(platform, token)
    assert actor == Actor(kind="key", id=created.key.id, role=Role.AGENT, area_code="P.A",
                          scopes=frozenset({Action.WRITE_DATA}))
    assert allowed(actor, Action.WRITE_DATA, ("P.A", "P"))
    assert not allowed(actor, Action.WORK_REQUESTS, ("P.A", "P"))
    assert not allowed(actor, Action.WRITE_DATA, ("P.B", "P"))

    revoked = keys.revoke_key(platform, key_id=created.key.id, actor=OPERATOR)
    assert revoked.revoked
    with pytest.raises(Unauthorized, match="revoked"):
        keys.actor_for_key(platform, token)
    with pytest.raises(Conflict):
        keys.revoke_key(platform, key_id=created.key.id, actor=OPERATOR)
    assert keys.list_keys(platform, actor=OPERATOR, include_revoked=False) == []
    assert [k.id for k in keys.list_keys(platform, actor=OPERATOR)] == [created.key.id]


def test_bad_tokens_are_unauthorized(platform: Platform) -> None:
    small_territory(platform)
    created = keys.create_key(platform, name="k", role="analyst", area_code="P", scopes=None,
                              actor=OPERATOR)
    assert created.key.scopes == frozenset(
        {Action.READ_PUBLIC, Action.SUBMIT_REQUEST, Action.READ_INTERNAL, Action.RUN_ANALYTICS}
    )
    wrong_secret = created.token[:-4] + ("AAAA" if not created.token.endswith("AAAA") else "BBBB")
    for token in ("", "hk_", "nonsense", wrong_secret, "hk_000000000000_" + "a" * 43,
                  created.token + "x" * 200):
        with pytest.raises(Unauthorized):
            keys.actor_for_key(platform, token)


def test_scopes_and_scoping(platform: Platform) -> None:
    small_territory(platform)
    with pytest.raises(Invalid, match="unknown scope"):
        keys.create_key(platform, name="k", role="agent", area_code="P.A", scopes=["fly"],
                        actor=OPERATOR)
    with pytest.raises(Invalid, match="cannot have scope"):
        keys.create_key(platform, name="k", role="agent", area_code="P.A",
                        scopes=["manage_users"], actor=OPERATOR)
    with pytest.raises(Invalid, match="at least one"):
        keys.create_key(platform, name="k", role="agent", area_code="P.A", scopes=[],
                        actor=OPERATOR)
    with pytest.raises(NotFound):
        keys.create_key(platform, name="k", role="agent", area_code="ZZ", scopes=None,
                        actor=OPERATOR)
    commune_admin = Actor(kind="user", id="adm", role=Role.ADMIN, area_code="P.A")
    mine = keys.create_key(platform, name="mine", role="agent", area_code="P.A", scopes=None,
                           actor=commune_admin)
    with pytest.raises(Forbidden):
        keys.create_key(platform, name="theirs", role="agent", area_code="P.B", scopes=None,
                        actor=commune_admin)
    theirs = keys.create_key(platform, name="theirs", role="agent", area_code="P.B",
                             scopes=None, actor=OPERATOR)
    assert [k.id for k in keys.list_keys(platform, actor=commune_admin)] == [mine.key.id]
    with pytest.raises(Forbidden):
        keys.revoke_key(platform, key_id=theirs.key.id, actor=commune_admin)
    with pytest.raises(NotFound):
        keys.revoke_key(platform, key_id="ffffffffffff", actor=OPERATOR)


def test_a_scoped_key_cannot_mint_a_wider_key(platform: Platform) -> None:
    small_territory(platform)
    admin_key = keys.create_key(platform, name="ops", role="admin", area_code="P",
                                scopes=["manage_users", "write_data"], actor=OPERATOR)
    actor = keys.actor_for_key(platform, admin_key.token)
    narrow = keys.create_key(platform, name="dev", role="agent", area_code="P.A",
                             scopes=["write_data"], actor=actor)
    assert narrow.key.created_by == f"key:{admin_key.key.id}"
    with pytest.raises(Forbidden, match="cannot grant"):
        keys.create_key(platform, name="wide", role="agent", area_code="P.A", scopes=None,
                        actor=actor)
