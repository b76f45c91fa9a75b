"""End to end with `hakama serve` in its own process: an API key subscribes, an entity is
written over HTTP, and the background notifier calls the webhook within seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hakama.core.access import system_actor
from hakama.services import keys
from hakama.services.platform import Platform
from hakama.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_delivers_notifications(tmp_path: Path, receiver: Any) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    token = keys.create_key(
        platform, name="integrator", role="admin", area_code=None, scopes=None,
        actor=system_actor("test"),
    ).token  # fmt: skip
    platform.close()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hakama.cli.main",
            "--data-dir",
            str(data),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HAKAMA_ENVIRONMENT": "test"},
    )
    base = f"http://127.0.0.1:{port}/ngsi-ld/v1"
    headers = {"X-API-Key": token}
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/subscriptions", headers=headers, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        made = httpx.post(
            f"{base}/subscriptions",
            headers=headers,
            json={
                "entities": [{"type": "Sensor"}],
                "notification": {"endpoint": {"uri": receiver.url()}},
            },
        )
        assert made.status_code == 201, made.text
        entity = {
            "id": "urn:ngsi-ld:Sensor:e2e",
            "type": "Sensor",
            "pm25": {"type": "Property", "value": 42},
        }
        written = httpx.post(f"{base}/entities", headers=headers, json=entity)
        assert written.status_code == 201, written.text
        got = receiver.wait_for(1, timeout=10)
        assert got and got[0]["body"]["data"][0]["id"] == "urn:ngsi-ld:Sensor:e2e"
        shown = httpx.get(f"http://127.0.0.1:{port}{made.headers['location']}", headers=headers)
        assert shown.json()["notification"]["timesSent"] == 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
