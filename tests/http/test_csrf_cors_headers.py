"""CSRF on every cookie-authenticated write of every router, the CORS policy (off unless origins
are named), and the security headers on every answer — through the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.core.territory import Area, Level
from hakama.http import routes
from hakama.http.app import create_app
from hakama.http.headers import content_security_policy
from hakama.services import territory, users
from hakama.services.platform import Platform

OPERATOR = system_actor("test")
PASSWORD = "correct horse battery"
EVIL = "https://evil.example"
TEMPLATES = Path(__file__).parents[2] / "hakama" / "http" / "web" / "templates"


def open_app(platform: Platform, **settings: object) -> FastAPI:
    territory.save_areas(
        platform,
        [
            Area(code="P", level=Level.PROVINCE, names={"fr": "Province"}),
            Area(code="P.A", level=Level.COMMUNE, names={"fr": "A"}, parent_code="P"),
        ],
        actor=OPERATOR,
    )
    users.add_user(
        platform, username="admin-p", password=PASSWORD, role="admin", area_code="P", actor=OPERATOR
    )
    config = platform.settings.model_copy(update=settings)
    return create_app(config, platform=platform, background=False)


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    with TestClient(open_app(sqlite_platform), follow_redirects=False) as test_client:
        yield test_client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient) -> str:
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={
            "username": "admin-p",
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
            "next": "/",
        },
    )
    assert signed.status_code == 303, signed.text
    return form_token(client.get("/login").text)


def writes() -> list[tuple[str, str]]:
    """Every unsafe (method, path) the app's routers serve, path parameters filled in."""
    found = []
    for router in routes.routers():
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
                path = re.sub(r"\{[^}:]+(:path)?\}", "x1", route.path.replace("{fmt}", "json"))
                found.append((method, path))
    return found


def test_every_cookie_write_of_every_router_checks_csrf(client: TestClient) -> None:
    """The issue's attack (a signed-in agent's browser posts a form from evil.example to
    Open311 updates/reopen/media) and the same on every other unsafe route: refused before
    anything runs, whether the foreign page sends its Origin or none."""
    sign_in(client)
    unsafe = writes()
    prefixes = {path.split("/")[1] for _, path in unsafe}
    assert {"open311", "ngsi-ld", "api", "office", "logout"} <= prefixes, prefixes
    assert ("POST", "/open311/v2/requests/x1/updates.json") in unsafe
    assert ("POST", "/open311/v2/requests/x1/reopen.json") in unsafe
    for method, path in unsafe:
        if path == "/login":  # anonymous: checked by its own form token
            continue
        foreign = client.request(
            method, path, data={"description": "pwned"}, headers={"Origin": EVIL}
        )
        assert foreign.status_code == 403, (method, path, foreign.status_code, foreign.text)
        assert "cross-site" in foreign.text, (method, path, foreign.text)
        no_origin = client.request(method, path, data={"description": "pwned"})
        assert no_origin.status_code == 403, (method, path, no_origin.status_code)
        assert "token" in no_origin.text, (method, path, no_origin.text)


def test_same_origin_or_token_lets_the_session_write(client: TestClient) -> None:
    token = sign_in(client)
    body = {"username": "new-a", "password": PASSWORD, "role": "agent", "area_code": "P.A"}
    same = client.post("/api/admin/users", json=body, headers={"Origin": "http://testserver"})
    assert same.status_code == 201, same.text
    with_token = client.post(
        "/api/admin/users", json={**body, "username": "new-b"}, headers={"X-CSRF-Token": token}
    )
    assert with_token.status_code == 201, with_token.text
    # A foreign Origin without the token is refused, and so is a wrong token.
    foreign = client.post(
        "/api/admin/users", json={**body, "username": "new-c"}, headers={"Origin": EVIL}
    )
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["detail"]
    wrong = client.post(
        "/api/admin/users",
        json={**body, "username": "new-c"},
        headers={"X-CSRF-Token": token[:-2] + "xx", "Origin": EVIL},
    )
    assert wrong.status_code == 403
    assert [u.username for u in users.list_users(client.app.state.platform, actor=OPERATOR)] == [
        "admin-p",
        "new-a",
        "new-b",
    ]  # type: ignore[attr-defined]


def test_api_keys_and_anonymous_open311_need_no_token(client: TestClient) -> None:
    """No ambient credential, nothing to forge: Open311 clients post forms without a token."""
    response = client.post(
        "/open311/v2/requests.json", data={"service_code": "nope", "lat": "34.9", "long": "-2.3"}
    )
    # The route itself answered (Open311's own error: it wants its api_key), not the guard.
    assert response.json() == [{"code": 403, "description": "api_key is required"}]


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/ngsi-ld/v1/entities",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    return {k.lower(): v for k, v in response.headers.items()}


def test_cors_is_off_by_default(client: TestClient) -> None:
    assert "access-control-allow-origin" not in preflight(client, "https://app.example")
    got = client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in got.headers}


def test_cors_names_origins_one_by_one(sqlite_platform: Platform) -> None:
    app = open_app(sqlite_platform, cors_origins=["https://app.example"])
    with TestClient(app) as client:
        allowed = preflight(client, "https://app.example")
        assert allowed["access-control-allow-origin"] == "https://app.example"
        assert "x-api-key" in allowed["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in allowed  # never with cookies
        assert "access-control-allow-origin" not in preflight(client, EVIL)
        got = client.get("/health", headers={"Origin": "https://app.example"})
        assert got.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/health",
        "/api/territory",
        "/docs",
        "/ngsi-ld/v1/types",
        "/no/such/page",
        "/static/css/hakama.css",
        "/openapi.json",
    ],
)
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert "'unsafe-inline'" not in csp.split("style-src-attr")[0]  # never for scripts
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP
    if path.startswith("/static/"):
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert response.headers["etag"]


def test_hsts_over_https(sqlite_platform: Platform) -> None:
    with TestClient(open_app(sqlite_platform), base_url="https://testserver") as client:
        response = client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_tile_host_joins_the_image_sources(sqlite_platform: Platform) -> None:
    app = open_app(sqlite_platform, map_tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png",
                   map_attribution="© example")
    with TestClient(app) as client:
        policy = client.get("/health").headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert policy.count("tile.example.org") == 1  # images only, never scripts
    assert "tile.example.org" not in content_security_policy()


def test_templates_need_no_inline_script_or_style() -> None:
    """What the policy would block: inline scripts (JSON data blocks are fine), event-handler
    attributes and <style> elements."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template, tag)
        assert not re.search(r"\son[a-z]+=", text), template
        assert "<style" not in text, template


def test_anonymous_page_forms_are_refused_with_a_page(client: TestClient) -> None:
    """The forms anonymous callers post (`CsrfDep`) refuse a foreign or token-less post before
    anything runs, and answer with a page in the browser's language, as the form's page would."""
    client.get("/login")
    forms = ["/login", "/report/x1", "/track/x1/follow", "/track/x1/comment", "/notices/x1/stop"]
    for path in forms:
        for headers in ({"Origin": EVIL}, {}, {"Accept-Language": "ar"}):
            refused = client.post(path, data={"description": "pwned"}, headers=headers)
            assert refused.status_code == 403, (path, refused.status_code)
            assert refused.headers["content-type"].startswith("text/html"), (path, headers)
            assert 'class="error-code"' in refused.text, path
    arabic = client.post("/login", data={"username": "admin-p"}, headers={"Accept-Language": "ar"})
    assert 'lang="ar"' in arabic.text and "This form has expired" not in arabic.text
    # the sign-out is no page: its refusal stays problem+json
    out = client.post("/logout", data={"x": "1"}, headers={"Origin": EVIL})
    assert out.status_code == 403
    assert out.headers["content-type"] == "application/problem+json"
