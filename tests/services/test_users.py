"""Accounts on real SQLite and PostgreSQL: hashing, scoping, disabling, sign-in, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hakama.core.access import Actor, Role, system_actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.core.territory import Area, Level
from hakama.services import audit, sessions, territory, users
from hakama.services.platform import Platform
from hakama.storage import schema

OPERATOR = system_actor("test")
PASSWORD = "correct horse battery"


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


def admin_of(area: str) -> Actor:
    return Actor(kind="user", id=f"admin-{area}", role=Role.ADMIN, area_code=area)


def test_add_hashes_with_argon2id_and_audits_without_the_hash(platform: Platform) -> None:
    small_territory(platform)
    user = users.add_user(platform, username="Amina", password=PASSWORD, role="agent",
                          area_code="P.A", display_name="Amina B.", actor=OPERATOR)
    assert (user.username, user.role, user.area_code, user.disabled) == ("amina", Role.AGENT, "P.A", False)
    with platform.db.connect() as conn:
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar_one()
        last = list(audit.entries(conn))[-1]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert (last.action, last.resource, last.area_code) == ("user.add", "user:amina", "P.A")
    assert last.after is not None and last.after["role"] == "agent"
    dumped = str(last.before) + str(last.after)
    assert "argon2" not in dumped and PASSWORD not in dumped


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"password": "short"}, Invalid, "at least 10"),
        ({"password": "x" * 1025}, Invalid, "at most"),
        ({"password": "someone-x1", "username": "someone-x1"}, Invalid, "username"),
        ({"username": "a"}, Invalid, "2-64"),
        ({"username": "bad name"}, Invalid, "2-64"),
        ({"role": "mayor"}, Invalid, "unknown role"),
        ({"area_code": "nowhere"}, NotFound, "nowhere"),
        ({"language": "de"}, Invalid, "language"),
    ],
)
def test_bad_input_is_refused(platform: Platform, kwargs: dict[str, str], error: type[Exception],
                              fragment: str) -> None:
    small_territory(platform)
    values = {"username": "someone", "password": PASSWORD, "role": "agent", "area_code": "P.A",
              **kwargs}
    with pytest.raises(error, match=fragment):
        users.add_user(platform, actor=OPERATOR, **values)  # type: ignore[arg-type]
    with platform.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.users)).scalar_one() == 0


def test_duplicate_username_conflicts(platform: Platform) -> None:
    small_territory(platform)
    users.add_user(platform, username="sara", password=PASSWORD, role="agent", area_code="P.A",
                   actor=OPERATOR)
    with pytest.raises(Conflict):
        users.add_user(platform, username="SARA", password=PASSWORD, role="analyst",
                       area_code="P", actor=OPERATOR)


def test_scoping_of_account_management(platform: Platform) -> None:
    small_territory(platform)
    commune_admin = admin_of("P.A")
    users.add_user(platform, username="a1", password=PASSWORD, role="agent", area_code="P.A",
                   actor=commune_admin)
    with pytest.raises(Forbidden):
        users.add_user(platform, username="b1", password=PASSWORD, role="agent",
                       area_code="P.B", actor=commune_admin)
    with pytest.raises(Forbidden):  # cannot create an account above its own area
        users.add_user(platform, username="p1", password=PASSWORD, role="admin",
                       area_code="P", actor=commune_admin)
    agent = Actor(kind="user", id="a1", role=Role.AGENT, area_code="P.A")
    with pytest.raises(Forbidden):
        users.add_user(platform, username="a2", password=PASSWORD, role="agent",
                       area_code="P.A", actor=agent)
    province = admin_of("P")
    users.add_user(platform, username="b1", password=PASSWORD, role="agent", area_code="P.B",
                   actor=province)
    assert [u.username for u in users.list_users(platform, actor=commune_admin)] == ["a1"]
    assert [u.username for u in users.list_users(platform, actor=province)] == ["a1", "b1"]
    assert [u.username for u in users.list_users(platform, actor=province, area_code="P.B")] == ["b1"]
    with pytest.raises(Forbidden):
        users.disable_user(platform, username="b1", actor=commune_admin)


def test_authenticate_and_disable(platform: Platform) -> None:
    small_territory(platform)
    users.add_user(platform, username="omar", password=PASSWORD, role="analyst", area_code="P",
                   actor=OPERATOR)
    actor = users.authenticate(platform, username=" Omar ", password=PASSWORD)
    assert actor == Actor(kind="user", id="omar", role=Role.ANALYST, area_code="P")
    messages = set()
    for name, password in (("omar", "wrong password"), ("nobody", PASSWORD), ("x" * 300, "p")):
        with pytest.raises(Unauthorized) as caught:
            users.authenticate(platform, username=name, password=password)
        messages.add(caught.value.message)
    assert messages == {users.WRONG_CREDENTIALS}  # no hint which part was wrong

    opened = sessions.open_session(platform, actor=actor)
    assert sessions.actor_for_session(platform, opened.token) is not None
    disabled = users.disable_user(platform, username="omar", actor=OPERATOR)
    assert disabled.disabled
    with pytest.raises(Unauthorized, match="wrong username or password"):
        users.authenticate(platform, username="omar", password=PASSWORD)
    assert sessions.actor_for_session(platform, opened.token) is None  # signed out everywhere
    users.enable_user(platform, username="omar", actor=OPERATOR)
    assert users.authenticate(platform, username="omar", password=PASSWORD).id == "omar"
    with platform.db.connect() as conn:
        actions = [e.action for e in audit.entries(conn)]
    assert actions[-3:] == ["session.open", "user.disable", "user.enable"]


def test_set_password_ends_sessions(platform: Platform) -> None:
    small_territory(platform)
    users.add_user(platform, username="lina", password=PASSWORD, role="agent", area_code="P.B",
                   actor=OPERATOR)
    actor = users.authenticate(platform, username="lina", password=PASSWORD)
    opened = sessions.open_session(platform, actor=actor)
    users.set_password(platform, username="lina", password="another long one", actor=actor)
    assert sessions.actor_for_session(platform, opened.token) is None
    with pytest.raises(Unauthorized):
        users.authenticate(platform, username="lina", password=PASSWORD)
    assert users.authenticate(platform, username="lina", password="another long one").id == "lina"
    with pytest.raises(Forbidden):
        users.set_password(platform, username="lina", password="third password",
                           actor=admin_of("P.A"))


def test_sessions_expire_and_close(platform: Platform) -> None:
    small_territory(platform)
    users.add_user(platform, username="hind", password=PASSWORD, role="admin", area_code="P",
                   actor=OPERATOR)
    actor = users.authenticate(platform, username="hind", password=PASSWORD)
    opened = sessions.open_session(platform, actor=actor)
    found = sessions.actor_for_session(platform, opened.token)
    assert found is not None and found.actor == actor and found.csrf_token == opened.csrf_token
    assert timedelta(hours=11) < opened.expires_at - utcnow() <= sessions.SESSION_LIFETIME
    with platform.db.connect() as conn:
        ids = conn.execute(sa.select(schema.sessions.c.id)).scalars().all()
    assert opened.token not in ids  # only its hash is stored
    assert sessions.actor_for_session(platform, "forged") is None
    with platform.db.begin() as conn:
        conn.execute(schema.sessions.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert sessions.actor_for_session(platform, opened.token) is None
    second = sessions.open_session(platform, actor=actor)
    assert sessions.close_session(platform, token=second.token)
    assert sessions.actor_for_session(platform, second.token) is None
    assert not sessions.close_session(platform, token=second.token)
    with pytest.raises(Invalid):
        sessions.open_session(platform, actor=OPERATOR)
