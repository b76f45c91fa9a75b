"""`HEAD` answers like `GET` without a body on every GET route, and `/favicon.ico` is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hakama.http.app import create_app
from hakama.services.platform import Platform
from hakama.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    platform = Platform.open(Settings(data_dir=tmp_path / "data", environment="test"))
    return TestClient(create_app(platform.settings, platform=platform, background=False))


@pytest.mark.parametrize(
    "path", ["/", "/about", "/health", "/favicon.ico", "/open311/v2/services.json"]
)
def test_head_is_get_without_a_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200, (path, head.status_code)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_a_missing_page_is_404_and_other_methods_stay_405(client: TestClient) -> None:
    missing = client.head("/no-such-page")
    assert missing.status_code == 404 and missing.content == b""
    assert client.request("PUT", "/").status_code == 405


def test_the_favicon_is_an_icon(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # the ICO magic number
    assert "max-age" in r.headers["cache-control"]
