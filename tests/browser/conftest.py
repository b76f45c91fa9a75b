"""A real hakama served over HTTP in a thread, and a real headless Chromium, for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services.platform import Platform
from hakama.services.territory import save_areas
from hakama.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(platform: Platform) -> Iterator[str]:
    """Serve `platform` over HTTP in a thread on a free port; its base URL. The server stops
    on leaving (the platform stays open)."""
    app = create_app(platform.settings, platform=platform, background=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of hakama serving the demo territory from a fresh data folder."""
    folder: Path = tmp_path_factory.mktemp("browser")
    platform = Platform.open(Settings(data_dir=folder / "data", environment="test"))
    save_areas(platform, demo_areas(), actor=system_actor("test"))
    with serve(platform) as url:
        yield url
    platform.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's), driven by Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
