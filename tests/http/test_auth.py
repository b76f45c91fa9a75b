"""Sign-in, sessions, CSRF, API keys and the admin API, through the real app (TestClient)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.access import Action, system_actor
from hakama.core.territory import Area, Level
from hakama.http.app import create_app
from hakama.http.deps import ActorDep, CsrfDep, PlatformDep
from hakama.services import keys, territory, users
from hakama.services.access import require
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
PASSWORD = "correct horse battery"


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    territory.save_areas(
        sqlite_platform,
        [
            Area(code="P", level=Level.PROVINCE, names={"fr": "Province"}),
            Area(code="P.A", level=Level.COMMUNE, names={"fr": "A"}, parent_code="P"),
            Area(code="P.B", level=Level.COMMUNE, names={"fr": "B"}, parent_code="P"),
        ],
        actor=OPERATOR,
    )
    for name, role, area in (("admin-a", "admin", "P.A"), ("agent-a", "agent", "P.A"),
                             ("admin-p", "admin", "P")):
        users.add_user(sqlite_platform, username=name, password=PASSWORD, role=role,
                       area_code=area, actor=OPERATOR)
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) as test_client:
        yield test_client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, username: str, next_: str = "/") -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": form_token(page.text), "next": next_})
    assert response.status_code == 303, response.text
    return form_token(client.get("/login").text)


def test_login_sets_a_secure_session_cookie(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and "<form" in page.text
    assert page.headers["content-type"].startswith("text/html")
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("hakama_csrf=") and "HttpOnly" in csrf_cookie
    assert "SameSite=Lax" in csrf_cookie
    response = client.post("/login", data={"username": "admin-a", "password": PASSWORD,
                                           "csrf_token": form_token(page.text),
                                           "next": "/office?x=1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/office?x=1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hakama_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # test settings: plain http
    again = client.get("/login")
    assert "admin-a" in again.text  # signed in: the page says so
    assert 'action="/logout"' in again.text  # and the layout offers to sign out


def test_login_page_in_arabic_is_right_to_left(client: TestClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "ar"})
    assert 'dir="rtl"' in page.text and "كلمة المرور" in page.text
    token = form_token(page.text)
    wrong = client.post("/login", headers={"Accept-Language": "ar"},
                        data={"username": "admin-a", "password": "nope nope nope", "csrf_token": token})
    assert wrong.status_code == 400 and "اسم المستخدم أو كلمة المرور غير صحيحة" in wrong.text


def test_api_answers_carry_no_csrf_cookie(client: TestClient) -> None:
    response = client.get("/api/territory")
    assert "set-cookie" not in response.headers


def test_login_without_csrf_is_403(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "admin-a", "password": PASSWORD})
    assert response.status_code == 403
    assert "hakama_session" not in response.headers.get("set-cookie", "")
    forged = client.post("/login", data={"username": "admin-a", "password": PASSWORD,
                                         "csrf_token": "forged.token.value"})
    assert forged.status_code == 403


def test_csrf_token_of_another_browser_is_refused(client: TestClient) -> None:
    token = form_token(client.get("/login").text)
    client.cookies.clear()
    client.get("/login")  # a fresh browser, with its own nonce
    response = client.post("/login", data={"username": "admin-a", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 403


def test_wrong_password_gives_no_hint(client: TestClient) -> None:
    token = form_token(client.get("/login").text)
    bodies = []
    for username, password in (("admin-a", "wrong password!"), ("nobody-here", PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": token})
        assert response.status_code == 400
        assert "Wrong username or password." in response.text
        assert "hakama_session" not in response.headers.get("set-cookie", "")
        # Same page apart from the echoed username and the (time-stamped) form token.
        text = response.text.replace(username, "")
        bodies.append(re.sub(r'name="csrf_token" value="[^"]+"', "", text))
    assert bodies[0] == bodies[1]


def test_throttling_after_ten_failures(client: TestClient) -> None:
    token = form_token(client.get("/login").text)
    for _ in range(10):
        response = client.post("/login", data={"username": "agent-a", "password": "bad guess 123",
                                               "csrf_token": token})
        assert response.status_code == 400
    blocked = client.post("/login", data={"username": "agent-a", "password": PASSWORD,
                                          "csrf_token": token})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text and blocked.headers["retry-after"] == "900"
    other = client.post("/login", data={"username": "admin-a", "password": PASSWORD,
                                        "csrf_token": token})
    assert other.status_code == 303  # other accounts are not locked out


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "evil"])
def test_next_only_goes_to_local_paths(client: TestClient, target: str) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"username": "admin-a", "password": PASSWORD,
                                           "csrf_token": form_token(page.text), "next": target})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    token = sign_in(client, "admin-a")
    assert client.get("/api/admin/users").status_code == 200
    refused = client.post("/logout", data={})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    wrong = client.post("/logout", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    done = client.post("/logout", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["set-cookie"].startswith("hakama_session=")
    assert "Max-Age=0" in done.headers["set-cookie"]
    client.cookies.delete("hakama_session")
    assert client.get("/api/admin/users").status_code == 401


def test_a_stolen_cookie_dies_with_logout(client: TestClient) -> None:
    token = sign_in(client, "admin-a")
    stolen = client.cookies.get("hakama_session")
    client.post("/logout", data={"csrf_token": token})
    client.cookies.set("hakama_session", stolen or "")
    response = client.get("/api/admin/users")
    assert response.status_code == 401  # the old cookie is now just anonymous


def test_bad_key_is_401_problem_json(client: TestClient) -> None:
    for headers in ({"X-API-Key": "hk_000000000000_" + "a" * 43}, {"X-API-Key": "garbage"},
                    {"Authorization": "Bearer hk_nope"}):
        response = client.get("/api/admin/users", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 401 and body["title"] == "Unauthorized" and body["detail"]
    public = client.get("/api/territory", headers={"X-API-Key": "garbage"})
    assert public.status_code == 401  # a wrong key is never served as the public


def test_keys_through_the_api(client: TestClient) -> None:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    admin_key = keys.create_key(platform, name="ops", role="admin", area_code="P", scopes=None,
                                actor=OPERATOR).token
    bearer = {"Authorization": f"Bearer {admin_key}"}
    created = client.post("/api/admin/keys", headers=bearer,
                          json={"name": "sensor 7", "role": "agent", "area_code": "P.B",
                                "scopes": ["write_data"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["token"].startswith(f"hk_{body['id']}_") and body["scopes"] == ["write_data"]
    assert "secret_hash" not in body
    listed = client.get("/api/admin/keys", headers={"X-API-Key": admin_key}).json()
    assert {k["name"] for k in listed} == {"ops", "sensor 7"}
    assert all("token" not in k and "secret_hash" not in k for k in listed)
    # The new key works, within its scope.
    device = {"X-API-Key": body["token"]}
    assert client.get("/api/admin/users", headers=device).status_code == 403
    revoked = client.post(f"/api/admin/keys/{body['id']}/revoke", headers=bearer)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    gone = client.get("/api/territory", headers=device)
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    again = client.post(f"/api/admin/keys/{body['id']}/revoke", headers=bearer)
    assert again.status_code == 409


def test_admin_api_is_scoped(client: TestClient) -> None:
    new_user = {"username": "new-b", "password": PASSWORD, "role": "agent", "area_code": "P.B"}
    assert client.post("/api/admin/users", json=new_user).status_code == 401

    csrf = sign_in(client, "agent-a")
    denied = client.post("/api/admin/users", json=new_user, headers={"X-CSRF-Token": csrf})
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert client.get("/api/admin/users").status_code == 403

    client.cookies.clear()
    csrf = sign_in(client, "admin-a")
    no_token = client.post("/api/admin/users", json={**new_user, "area_code": "P.A"})
    assert no_token.status_code == 403  # a browser session must send its CSRF token
    other_area = client.post("/api/admin/users", json=new_user, headers={"X-CSRF-Token": csrf})
    assert other_area.status_code == 403 and "P.B" in other_area.json()["detail"]
    own = client.post("/api/admin/users", json={**new_user, "username": "new-a",
                                                "area_code": "P.A"},
                      headers={"X-CSRF-Token": csrf})
    assert own.status_code == 201, own.text
    assert own.json()["username"] == "new-a" and "password" not in own.text
    assert "argon2" not in own.text
    listed = client.get("/api/admin/users").json()
    assert [u["username"] for u in listed] == ["admin-a", "agent-a", "new-a"]
    assert client.post("/api/admin/users/admin-p/disable",
                       headers={"X-CSRF-Token": csrf}).status_code == 403
    disabled = client.post("/api/admin/users/new-a/disable", headers={"X-CSRF-Token": csrf})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    self_disable = client.post("/api/admin/users/admin-a/disable", headers={"X-CSRF-Token": csrf})
    assert self_disable.status_code == 409


def test_admin_api_bad_input_is_problem_json(client: TestClient) -> None:
    csrf = sign_in(client, "admin-p")
    headers = {"X-CSRF-Token": csrf}
    for body in ({"username": "x1", "password": "short", "role": "agent"},
                 {"username": "bob-1", "password": PASSWORD, "role": "mayor"},
                 {"username": "bob-1", "password": PASSWORD, "role": "agent", "extra": 1},
                 {"username": "bad name", "password": PASSWORD, "role": "agent",
                  "area_code": "P.A"},
                 {"username": "bob-1", "password": PASSWORD, "role": "agent", "area_code": "ZZ"}):
        response = client.post("/api/admin/users", json=body, headers=headers)
        assert response.status_code in (400, 404, 422), response.text
        assert response.headers["content-type"] == "application/problem+json"
    dup = client.post("/api/admin/users", headers=headers,
                      json={"username": "agent-a", "password": PASSWORD, "role": "agent",
                            "area_code": "P.A"})
    assert dup.status_code == 409


def test_audit_verify_endpoint(client: TestClient) -> None:
    sign_in(client, "admin-p")
    report = client.get("/api/admin/audit/verify").json()
    assert report["ok"] is True and report["entries"] >= 5 and len(report["head"]) == 64
    wrong = client.get("/api/admin/audit/verify", params={"expect_head": "f" * 64}).json()
    assert wrong["ok"] is False
    client.cookies.clear()
    sign_in(client, "agent-a")
    assert client.get("/api/admin/audit/verify").status_code == 403


def test_secure_cookies_when_the_settings_ask(sqlite_platform: Platform) -> None:
    users.add_user(sqlite_platform, username="root-op", password=PASSWORD, role="admin",
                   area_code=None, actor=OPERATOR)
    sqlite_platform.settings.secure_cookies = True
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure:
        page = secure.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        response = secure.post("/login", data={"username": "root-op", "password": PASSWORD,
                                               "csrf_token": form_token(page.text)})
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
        assert "HttpOnly" in response.headers["set-cookie"]


def test_the_access_rule_in_a_route(sqlite_platform: Platform) -> None:
    territory.save_areas(sqlite_platform, [Area(code="P", level=Level.PROVINCE, names={})],
                         actor=OPERATOR)
    app: FastAPI = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)

    @app.get("/_test/internal")
    def internal(platform: PlatformDep, actor: ActorDep) -> dict[str, str]:
        require(platform, actor, Action.READ_INTERNAL, actor.area_code)
        return {"actor": actor.label}

    analyst = keys.create_key(sqlite_platform, name="a", role="analyst", area_code="P",
                              scopes=None, actor=OPERATOR).token
    citizen = keys.create_key(sqlite_platform, name="c", role="citizen", area_code="P",
                              scopes=None, actor=OPERATOR).token
    with TestClient(app) as client:
        assert client.get("/_test/internal").status_code == 401
        assert client.get("/_test/internal", headers={"X-API-Key": citizen}).status_code == 403
        ok = client.get("/_test/internal", headers={"X-API-Key": analyst})
        assert ok.status_code == 200 and ok.json()["actor"].startswith("key:")


def test_csrf_dependency(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.post("/_test/form")
    def form_post(_: CsrfDep, actor: ActorDep) -> dict[str, str]:
        return {"actor": actor.label}

    app.router.routes.insert(0, app.router.routes.pop())  # before any catch-all page route
    token = form_token(client.get("/login").text)
    assert client.post("/_test/form", data={"x": "1"}).status_code == 403
    assert client.post("/_test/form", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 403
    ok = client.post("/_test/form", data={"csrf_token": token})
    assert ok.status_code == 200 and ok.json() == {"actor": "anonymous:-"}
    assert client.post("/_test/form", json={}).status_code == 200  # not sendable cross-site
    session_token = sign_in(client, "agent-a")
    assert client.post("/_test/form", json={}).status_code == 403
    assert client.post("/_test/form", json={}, headers={"X-CSRF-Token": session_token}).json() == {
        "actor": "user:agent-a"
    }
    assert client.post("/_test/form", data={"csrf_token": token}).status_code == 403  # stale
    assert client.post("/_test/form", data={"csrf_token": session_token}).status_code == 200


def test_throttle_window_slides() -> None:
    from hakama.http.web.auth_pages import LoginThrottle

    limiter = LoginThrottle(max_failures=3, window=60.0)
    for t in (0.0, 10.0, 20.0):
        assert not limiter.blocked("u", now=t)
        limiter.fail("u", now=t)
    assert limiter.blocked("u", now=30.0)
    assert not limiter.blocked("v", now=30.0)
    assert not limiter.blocked("u", now=60.5)  # the first failure left the window
    limiter.fail("u", now=61.0)
    assert limiter.blocked("u", now=61.0)
    limiter.clear("u")
    assert not limiter.blocked("u", now=61.0)


@given(st.text(max_size=60))
def test_next_is_always_local(target: str) -> None:
    from urllib.parse import urlsplit

    from hakama.http.web.auth_pages import local_path

    path = local_path(target)
    assert path == "/" or path == target
    assert path.startswith("/") and not path.startswith(("//", "/\\"))
    assert not urlsplit(path).netloc and not urlsplit(path).scheme
