"""The broker's own losses reach the operator: a private Mosquitto with its default-like small
queue drops QoS 1 messages for an absent subscriber; hakama reads the drop figures from $SYS,
shows them in /api/devices/_ingest, /health and /metrics, and opens an alert (issue 10, item 6)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from hakama.core.access import system_actor
from hakama.http.app import create_app
from hakama.ingest.broker_config import broker_config
from hakama.jobs import broker_watch
from hakama.services import keys
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import alerts

pytestmark = pytest.mark.mqtt
PORT = 18834


@pytest.fixture
def lossy_broker(tmp_path: Path) -> Iterator[int]:
    """Mosquitto keeping at most 5 queued messages per session, publishing $SYS every second."""
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {PORT} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 5\n"
        "sys_interval 1\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)
    yield PORT
    proc.terminate()
    proc.wait(timeout=10)


def _client(client_id: str, *, clean: bool) -> mqtt.Client:
    c = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
        protocol=mqtt.MQTTv311, clean_session=clean,
    )  # fmt: skip
    c.connect("127.0.0.1", PORT)
    c.loop_start()
    return c


def test_broker_drops_are_seen_shown_and_alerted(
    sqlite_platform: Platform, lossy_broker: int
) -> None:
    p = sqlite_platform
    p.settings.mqtt_url = f"mqtt://127.0.0.1:{lossy_broker}"
    # a subscriber with a persistent session goes away: the broker queues for it (5 at most)
    away = _client("hakama-away", clean=False)
    away.subscribe("hakama/#", qos=1)[1]
    time.sleep(0.3)
    away.disconnect()
    away.loop_stop()
    publisher = _client("device", clean=True)
    for i in range(200):
        publisher.publish("hakama/k/d/attrs", f'{{"p": {i}}}', qos=1).wait_for_publish(5)
    publisher.disconnect()
    publisher.loop_stop()

    async def watch() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(broker_watch.run(p, stop, every=0.5))
        for _ in range(80):
            await asyncio.sleep(0.25)
            with p.db.connect() as conn:
                if conn.execute(
                    sa.select(alerts.c.id).where(alerts.c.kind == "broker_drops")
                ).first():
                    break
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(watch())
    broker = p.ops.broker
    assert broker.dropping and (broker.dropped_1min or 0) > 0, broker.public()
    with p.db.connect() as conn:
        [row] = conn.execute(sa.select(alerts).where(alerts.c.closed_at.is_(None))).all()
    assert row.kind == "broker_drops" and "broker-config" in row.message

    admin = keys.create_key(
        p, name="ops", role="admin", area_code=None, scopes=None, actor=system_actor("test")
    ).token
    auth = {"Authorization": f"Bearer {admin}"}
    app = create_app(p.settings, platform=p, background=False)
    with TestClient(app) as client:
        ingest = client.get("/api/devices/_ingest", headers=auth).json()
        health = client.get("/health").json()
        metrics = client.get("/metrics", headers=auth).text
    assert (
        ingest["broker"]["dropping"] is True and ingest["broker"]["dropped_per_minute"]["1min"] > 0
    )
    assert health["mqtt"]["broker"]["dropped_per_minute"]["1min"] > 0
    assert 'hakama_broker_dropped_per_minute{window="1min"}' in metrics
    assert 'hakama_alerts_open{kind="broker_drops"} 1.0' in metrics

    # the broker stops dropping: the alert closes
    broker.dropped_1min = broker.dropped_5min = 0.0
    assert broker_watch.check(p).closed


def test_broker_config_is_what_a_real_mosquitto_accepts(tmp_path: Path) -> None:
    conf = tmp_path / "m.conf"
    (tmp_path / "store").mkdir()
    conf.write_text(
        broker_config(port=18835, persistence_location=str(tmp_path / "store"),
                      run_as_root=os.geteuid() == 0)
    )  # fmt: skip
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", 18835), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = conf.read_text()
    assert "max_queued_messages 0" in text and "persistence true" in text
