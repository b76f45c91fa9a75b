"""No principal creates, enables, raises or takes over a principal beyond itself: a table over
every path that makes or re-opens an account or a key — the service functions the CLI calls,
the admin API with a key, the admin API with a browser session (the web path) — each row
written out by hand, allowed and refused cases side by side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hakama.cli import main as cli_main
from hakama.core.access import Actor, Role, system_actor
from hakama.core.errors import Forbidden
from hakama.core.territory import Area, Level
from hakama.http.app import create_app
from hakama.services import keys, territory, users
from hakama.services.platform import Platform
from hakama.settings import Settings

OPERATOR = system_actor("test")
PASSWORD = "correct horse battery"

# Principals: (kind, role, area, scopes). "key" principals are API keys, "user" are accounts
# signed in through the login form (a browser session: the web path).
PRINCIPALS: dict[str, tuple[str, str, str | None, list[str] | None]] = {
    "users-key": ("key", "admin", "P", ["manage_users"]),
    "users+data-key": ("key", "admin", "P", ["manage_users", "write_data"]),
    "full-key-P": ("key", "admin", "P", None),
    "admin-a": ("user", "admin", "P.A", None),
    "admin-p": ("user", "admin", "P", None),
    "agent-a": ("user", "agent", "P.A", None),
}

# (principal, what, target, allowed): what is "account" or "key"; target is role, area, scopes.
Target = tuple[str, str | None, list[str] | None]
TABLE: list[tuple[str, str, Target, bool]] = [
    # The case: a key scoped to manage_users makes an admin account and signs in as it.
    ("users-key", "account", ("admin", "P", None), False),
    ("users-key", "account", ("admin", "P.A", None), False),
    ("users-key", "account", ("agent", "P.A", None), False),
    ("users-key", "account", ("analyst", "P", None), False),
    ("users-key", "account", ("citizen", "P.A", None), True),
    ("users-key", "key", ("admin", "P.A", ["manage_users"]), True),
    ("users-key", "key", ("admin", "P.A", None), False),
    ("users-key", "key", ("agent", "P.A", ["write_data"]), False),
    ("users+data-key", "key", ("agent", "P.A", ["write_data"]), True),
    ("users+data-key", "key", ("agent", "P.A", None), False),
    ("users+data-key", "account", ("agent", "P.A", None), False),
    ("full-key-P", "account", ("admin", "P", None), True),
    ("full-key-P", "account", ("admin", None, None), False),  # above its own area
    ("full-key-P", "key", ("admin", None, ["manage_users"]), False),
    ("full-key-P", "key", ("analyst", "P.B", None), True),
    ("admin-a", "account", ("admin", "P.A", None), True),
    ("admin-a", "account", ("agent", "P.A", None), True),
    ("admin-a", "account", ("admin", "P", None), False),
    ("admin-a", "account", ("agent", "P.B", None), False),
    ("admin-a", "key", ("admin", "P.A", None), True),
    ("admin-a", "key", ("agent", "P", ["write_data"]), False),
    ("admin-p", "account", ("admin", "P.B", None), True),
    ("admin-p", "account", ("admin", None, None), False),
    ("agent-a", "account", ("citizen", "P.A", None), False),
    ("agent-a", "key", ("agent", "P.A", ["write_data"]), False),
]


def setup(platform: Platform) -> None:
    territory.save_areas(
        platform,
        [
            Area(code="P", level=Level.PROVINCE, names={"fr": "Province"}),
            Area(code="P.A", level=Level.COMMUNE, names={"fr": "A"}, parent_code="P"),
            Area(code="P.B", level=Level.COMMUNE, names={"fr": "B"}, parent_code="P"),
        ],
        actor=OPERATOR,
    )
    for name, (kind, role, area, _) in PRINCIPALS.items():
        if kind == "user":
            users.add_user(
                platform,
                username=name,
                password=PASSWORD,
                role=role,
                area_code=area,
                actor=OPERATOR,
            )


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    setup(sqlite_platform)
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def principal_headers(client: TestClient, name: str) -> dict[str, str]:
    """Headers that make the next request come from the principal (a key, or a session)."""
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    kind, role, area, scopes = PRINCIPALS[name]
    client.cookies.clear()
    if kind == "key":
        token = keys.create_key(
            platform, name=name, role=role, area_code=area, scopes=scopes, actor=OPERATOR
        ).token
        return {"X-API-Key": token}
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf, "next": "/"}
    )
    assert signed.status_code == 303, signed.text
    page = client.get("/login")
    session_csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return {"X-CSRF-Token": session_csrf}


def body_for(what: str, target: Target, n: int) -> dict[str, Any]:
    role, area, scopes = target
    if what == "account":
        return {"username": f"new-{n}", "password": PASSWORD, "role": role, "area_code": area}
    return {"name": f"new key {n}", "role": role, "area_code": area, "scopes": scopes}


@pytest.mark.parametrize(("principal", "what", "target", "ok"), TABLE)
def test_admin_api(client: TestClient, principal: str, what: str, target: Target, ok: bool) -> None:
    headers = principal_headers(client, principal)
    path = "/api/admin/users" if what == "account" else "/api/admin/keys"
    response = client.post(path, json=body_for(what, target, 1), headers=headers)
    if ok:
        assert response.status_code == 201, response.text
        assert response.json()["role"] == target[0]
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
        # Nothing was made: the account or key does not exist.
        if what == "account":
            assert "new-1" not in {u.username for u in users.list_users(platform, actor=OPERATOR)}
        else:
            assert "new key 1" not in {k.name for k in keys.list_keys(platform, actor=OPERATOR)}


def actor_of(platform: Platform, name: str) -> Actor:
    kind, role, area, scopes = PRINCIPALS[name]
    if kind == "key":
        token = keys.create_key(
            platform, name=name, role=role, area_code=area, scopes=scopes, actor=OPERATOR
        ).token
        return keys.actor_for_key(platform, token)
    return users.actor_for_user(users.get_user(platform, name))


@pytest.mark.parametrize(("principal", "what", "target", "ok"), TABLE)
def test_services(platform: Platform, principal: str, what: str, target: Target, ok: bool) -> None:
    """The same table through the service functions (what the CLI and any front end call),
    on both engines."""
    setup(platform)
    actor = actor_of(platform, principal)
    role, area, scopes = target

    def make() -> object:
        if what == "account":
            return users.add_user(
                platform,
                username="new-1",
                password=PASSWORD,
                role=role,
                area_code=area,
                actor=actor,
            )
        return keys.create_key(
            platform, name="new", role=role, area_code=area, scopes=scopes, actor=actor
        )

    if ok:
        made = make()
        assert getattr(made, "role", None) == Role(role) or made.key.role == Role(role)  # type: ignore[attr-defined]
    else:
        with pytest.raises(Forbidden):
            make()


# Re-opening and taking over: enable a disabled account, set its password, revoke its key.
OVER_EXISTING: list[tuple[str, str, str, bool]] = [
    # (principal, operation, target account/key name, allowed)
    ("users-key", "enable", "old-admin", False),
    ("users-key", "password", "old-admin", False),
    ("users-key", "enable", "old-citizen", True),
    ("users-key", "revoke", "old-admin-key", False),
    ("admin-a", "enable", "old-admin", False),
    ("admin-a", "enable", "old-agent-a", True),
    ("admin-a", "password", "old-agent-a", True),
    ("admin-p", "enable", "old-admin", True),
    ("admin-p", "revoke", "old-admin-key", True),
]


@pytest.mark.parametrize(("principal", "operation", "target", "ok"), OVER_EXISTING)
def test_over_existing_principals(
    client: TestClient, principal: str, operation: str, target: str, ok: bool
) -> None:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    for name, role, area in (
        ("old-admin", "admin", "P"),
        ("old-citizen", "citizen", "P.A"),
        ("old-agent-a", "agent", "P.A"),
    ):
        users.add_user(
            platform, username=name, password=PASSWORD, role=role, area_code=area, actor=OPERATOR
        )
        users.disable_user(platform, username=name, actor=OPERATOR)
    old_key = keys.create_key(
        platform, name="old-admin-key", role="admin", area_code="P", scopes=None, actor=OPERATOR
    ).key.id
    headers = principal_headers(client, principal)
    if operation == "enable":
        response = client.post(f"/api/admin/users/{target}/enable", headers=headers)
        assert response.status_code == (200 if ok else 403), response.text
        assert users.get_user(platform, target).disabled is (not ok)
    elif operation == "revoke":
        response = client.post(f"/api/admin/keys/{old_key}/revoke", headers=headers)
        assert response.status_code == (200 if ok else 403), response.text
        assert keys.get_key(platform, old_key).revoked is ok
    else:  # the API has no password route: the service every front end calls
        actor = actor_of(platform, principal)
        if ok:
            users.set_password(platform, username=target, password="another pass 123", actor=actor)
        else:
            with pytest.raises(Forbidden, match="beyond"):
                users.set_password(
                    platform, username=target, password="another pass 123", actor=actor
                )


def test_cli_runs_as_the_operator_and_reports_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI is the operator's (whole platform): it may make an admin key; a key beyond its
    role is still refused, as one line and a non-zero exit."""
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    setup(platform)
    platform.close()

    def run(*args: str) -> int:
        try:
            cli_main.main(["--data-dir", str(data), *args])
        except SystemExit as exited:
            return exited.code if isinstance(exited.code, int) else 1
        return 0

    assert run("keys", "create", "ops", "--role", "agent", "--area", "P.A",
               "--scope", "manage_users") != 0
    assert "cannot have scope" in capsys.readouterr().err
    assert run("keys", "create", "ops", "--role", "admin", "--area", "P",
               "--scope", "manage_users") == 0
