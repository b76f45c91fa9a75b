"""End to end: `hakama serve` with HAKAMA_MQTT_URL set ingests a device's message into its
NGSI-LD entity and the history, through the real broker and the real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from hakama.services import observations
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.jobs.conftest import free_port, provision

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def test_serve_ingests_mqtt_into_the_entity_and_the_lake(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    device_id = f"aq-{uuid.uuid4().hex[:8]}"
    dev = provision(platform, device_id=device_id)
    platform.close()
    port = free_port()
    unique = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "HAKAMA_ENVIRONMENT": "test",
        "HAKAMA_MQTT_URL": f"mqtt://127.0.0.1:1883?group=e2e{unique}&client_id=e2e-{unique}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    entity_url = f"http://127.0.0.1:{port}/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:{device_id}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        time.sleep(1.0)  # the subscriber connects and subscribes
        subprocess.run(
            ["mosquitto_pub", "-p", "1883", "-q", "1", "-t", f"hakama/{dev.key_id}/{device_id}/attrs",
             "-m", '{"p": 42.5, "t": "2026-03-01T10:00:00Z"}'],
            check=True, timeout=10,
        )
        value = None
        while time.monotonic() < deadline + 20:
            body = httpx.get(entity_url, timeout=5).json()
            value = body.get("pm25", {}).get("value")
            if value == 42.5:
                break
            time.sleep(0.2)
        assert value == 42.5, body
        assert body["pm25"]["unitCode"] == "GQ"
    finally:
        server.terminate()
        server.wait(timeout=30)
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    try:
        # the flusher's last flush on shutdown moved the readings to Parquet
        assert observations.staging_stats(platform).pending == 0
        with observations.recent_and_lake(platform) as db:
            got = db.execute(
                f"SELECT value, source FROM {observations.VIEW} WHERE attribute = 'pm25'"
            ).fetchall()
        assert got == [(42.5, "mqtt")]
        assert platform.lake.row_count(observations.DATASET) >= 1
    finally:
        platform.close()
