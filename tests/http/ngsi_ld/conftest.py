"""Fixtures for the NGSI-LD API: the demo territory, real API keys, a local @context server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import Role, system_actor
from hakama.core.territory import Area
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import keys, territory
from hakama.services.platform import Platform

BERKANE = "02.113.01.09"
AHFIR = "02.113.01.01"


@cache
def areas() -> tuple[Area, ...]:
    return tuple(demo_areas())


def inside(code: str) -> list[float]:
    """A point well inside a commune of the demo territory."""
    area = next(a for a in areas() if a.code == code)
    assert area.shape is not None
    point = area.shape.representative_point()
    return [round(point.x, 6), round(point.y, 6)]


@dataclass
class Api:
    """A client on the real app with the keys of the province and of one commune."""

    client: TestClient
    platform: Platform
    province: dict[str, str]
    commune: dict[str, str]


def _api(platform: Platform) -> Iterator[Api]:
    admin = system_actor("test")
    territory.save_areas(platform, list(areas()), actor=admin)
    province = keys.create_key(
        platform, name="province", role=Role.ADMIN, area_code=None, scopes=None, actor=admin
    )
    commune = keys.create_key(
        platform, name="berkane", role=Role.AGENT, area_code=BERKANE, scopes=None, actor=admin
    )
    app = create_app(platform.settings, platform=platform, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, platform, {"X-API-Key": province.token}, {"X-API-Key": commune.token})


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    """The API on SQLite and on PostgreSQL."""
    yield from _api(platform)


@pytest.fixture
def sqlite_api(sqlite_platform: Platform) -> Iterator[Api]:
    """The API on SQLite only (input-validation tests that do not depend on the engine)."""
    yield from _api(sqlite_platform)


@dataclass
class ContextServer:
    """A local HTTP server serving JSON-LD contexts, counting the requests it gets."""

    base: str
    documents: dict[str, Any]
    hits: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@pytest.fixture
def context_server() -> Iterator[ContextServer]:
    documents: dict[str, Any] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            document = documents.get(self.path.lstrip("/"))
            body = json.dumps(document).encode() if document is not None else b"{}"
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ContextServer(f"http://127.0.0.1:{server.server_address[1]}", documents, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
