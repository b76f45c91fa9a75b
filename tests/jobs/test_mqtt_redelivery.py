"""Redelivered time-less MQTT messages (DUP set) are recognised by an indexed look-up, on both
engines, for numeric and text readings alike."""

from __future__ import annotations

import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from hakama.core.clock import utcnow
from hakama.jobs.mqtt import MqttConfig, Subscriber
from hakama.services import observations
from hakama.services.device_readings import StagingSink
from hakama.services.platform import Platform
from tests.jobs.conftest import provision


def _resent(
    topic: str, payload: bytes, *, dup: bool, late: float = 0.0
) -> tuple[int, object, mqtt.MQTTMessage]:
    message = mqtt.MQTTMessage(mid=7, topic=topic.encode())
    message.payload = payload
    message.qos = 1
    message.dup = dup
    # generation -1: an old connection's message, so commit() acknowledges nothing
    return (-1, utcnow() + timedelta(seconds=late), message)


def _rows(platform: Platform) -> list[tuple[object, object]]:
    with observations.recent_and_lake(platform) as db:
        return db.execute(
            f"SELECT attribute, coalesce(CAST(value AS VARCHAR), text) FROM {observations.VIEW} "
            "ORDER BY attribute, 2"
        ).fetchall()


def test_redelivered_readings_count_once_numbers_and_texts(platform: Platform) -> None:
    dev = provision(platform, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    cfg = MqttConfig.from_url("mqtt://127.0.0.1:1", default_client_id="hk-never-connects")
    sub = Subscriber(platform, cfg, sink=StagingSink(platform))
    sub.commit([_resent(topic, b'{"p": 5, "state": "ok"}', dup=False)])
    # the broker resends after a crash, a moment later: same readings, another reception time
    sub.commit([_resent(topic, b'{"p": 5, "state": "ok"}', dup=True, late=2)] * 3)
    assert sub.stats.duplicates == 3
    # a DUP whose text differs, or whose number differs, is a reading of its own
    sub.commit([_resent(topic, b'{"p": 5, "state": "low"}', dup=True, late=3)])
    sub.commit([_resent(topic, b'{"p": 6}', dup=True, late=4)])
    assert sub.stats.duplicates == 3
    assert _rows(platform) == [
        ("pm25", "5.0"), ("pm25", "5.0"), ("pm25", "6.0"), ("state", "low"), ("state", "ok"),
    ]  # fmt: skip


def test_the_redelivery_check_uses_the_index(sqlite_platform: Platform) -> None:
    from hakama.services.device_readings import _latest_staged

    with sqlite_platform.db.connect() as conn:
        captured: list[tuple[str, object]] = []

        def grab(_c: object, _cur: object, statement: str, params: object, *_a: object) -> None:
            if statement.startswith("SELECT"):
                captured.append((statement, params))

        sa.event.listen(conn, "before_cursor_execute", grab)
        wanted = {("urn:x:1", "a"): {(1.0, None), (2.0, None), (None, "on")}}
        assert _latest_staged(conn, wanted, utcnow() - timedelta(hours=1)) == {}
        sa.event.remove(conn, "before_cursor_execute", grab)
        assert len(captured) == 2  # one query for the numbers, one for the texts
        for statement, params in captured:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()  # type: ignore[arg-type]
            assert any("ix_observation_staging_redelivery" in str(row[-1]) for row in plan), plan
