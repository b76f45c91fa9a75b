"""The MQTT subscriber against real Mosquitto: the shared broker on 127.0.0.1:1883 for the
happy path and bad input, a private broker for restarts (of hakama and of the broker)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hakama.jobs.mqtt import MqttConfig, Subscriber, run
from hakama.services import observations
from hakama.services.device_readings import Item, StagingSink
from hakama.services.platform import Platform
from tests.jobs.conftest import COMMUNE, Broker, provision

pytestmark = pytest.mark.mqtt
SHARED = "mqtt://127.0.0.1:1883"


def config(url: str, client_id: str | None = None) -> MqttConfig:
    # a group of our own, so other engineers' subscribers on the shared broker take nothing
    unique = uuid.uuid4().hex[:10]
    joiner = "&" if "?" in url else "?"
    return MqttConfig.from_url(
        f"{url}{joiner}group=g{unique}", default_client_id=client_id or f"hakama-test-{unique}"
    )


@contextmanager
def publisher(url: str) -> Iterator[mqtt.Client]:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    host, port = url.removeprefix("mqtt://").split(":")
    client.connect(host, int(port))
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish(client: mqtt.Client, messages: Sequence[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)


def pump(sub: Subscriber, until: Callable[[], bool], timeout: float = 20) -> None:
    """Drive the subscriber's worker in this thread (what `run` does) until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"timed out; stats {sub.stats.public()}"
        batch = sub.next_batch(0.2)
        if batch:
            sub.commit(batch)


def subscribed(sub: Subscriber) -> Subscriber:
    sub.start()
    assert sub.subscribed.wait(10), sub.stats.public()
    return sub


def values(platform: Platform) -> list[float]:
    with observations.recent_and_lake(platform) as db:
        rows = db.execute(f"SELECT value FROM {observations.VIEW} ORDER BY time, value").fetchall()
    return [r[0] for r in rows]


def measure(i: int) -> bytes:
    return json.dumps({"p": float(i), "t": f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z"}).encode()


def test_measures_reach_staging_and_bad_messages_are_counted(platform: Platform) -> None:
    dev = provision(platform, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    sub = subscribed(Subscriber(platform, config(SHARED), sink=StagingSink(platform)))
    try:
        with publisher(SHARED) as pub:
            publish(
                pub,
                [(topic, measure(i)) for i in range(20)]
                + [
                    (topic, b"{broken"),
                    (topic, b'{"p": 1, "t": "no time"}'),
                    (f"hakama/{dev.key_id}/stranger/attrs", measure(99)),
                    (f"hakama/000000000000/{dev.device_id}/attrs", measure(98)),
                    (f"{topic}/p", b"7.5"),
                    (topic, json.dumps({"p": {"type": "Property", "value": 3.25,
                                              "observedAt": "2026-03-01T11:00:00Z"}}).encode()),
                ],
            )
        pump(sub, lambda: sub.stats.received >= 26)
    finally:
        sub.stop()
    assert sub.stats.stored == 22
    assert dict(sub.stats.rejected) == {"not_json": 1, "bad_time": 1, "unknown_device": 1, "wrong_key": 1}
    got = values(platform)
    assert len(got) == 22 and got[:20] == [float(i) for i in range(20)]
    assert 7.5 in got and 3.25 in got
    with observations.recent_and_lake(platform) as db:
        row = db.execute(
            f"SELECT entity_id, attribute, unit, area_code, source FROM {observations.VIEW} LIMIT 1"
        ).fetchone()
    assert row == (f"urn:ngsi-ld:AirQualityObserved:{dev.device_id}", "pm25", "GQ", COMMUNE, "mqtt")


def test_run_as_a_background_job(sqlite_platform: Platform) -> None:
    dev = provision(sqlite_platform, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    sqlite_platform.settings.mqtt_url = f"{SHARED}?group=g{uuid.uuid4().hex[:8]}&client_id=hk-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run(sqlite_platform, stop, sink=StagingSink(sqlite_platform)))
        await asyncio.sleep(1.0)  # connect and subscribe
        await asyncio.to_thread(_publish_shared, [(topic, measure(i)) for i in range(5)])
        for _ in range(100):
            stats = sqlite_platform.ops.mqtt
            if stats is not None and stats.stored >= 5:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert values(sqlite_platform) == [0.0, 1.0, 2.0, 3.0, 4.0]


def _publish_shared(messages: list[tuple[str, bytes]]) -> None:
    with publisher(SHARED) as pub:
        publish(pub, messages)


class FailingSink:
    """A sink whose database is down: nothing is written, so nothing may be acknowledged."""

    def write(self, items: Sequence[Item]) -> int:
        raise ConnectionError("database unreachable")


@pytest.mark.parametrize("protocol", [5, 4])
def test_nothing_acknowledged_is_lost_across_restarts(
    sqlite_platform: Platform, broker: Broker, protocol: int
) -> None:
    p = sqlite_platform
    dev = provision(p)
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    cfg = config(f"{broker.url}?protocol={protocol}", client_id="hakama-restart-test")
    # 1. first start: the broker learns our persistent session
    first = subscribed(Subscriber(p, cfg, sink=StagingSink(p)))
    first.stop()
    # 2. hakama is down: devices keep publishing; the broker queues for our session
    with publisher(broker.url) as pub:
        publish(pub, [(topic, measure(i)) for i in range(30)])
    # 3. the broker restarts (its persistence keeps session and queue)
    broker.stop()
    broker.start()
    # 4. hakama comes back with a database that fails: it must not acknowledge
    failing = subscribed(Subscriber(p, cfg, sink=FailingSink()))
    batch = failing.next_batch(5)
    assert batch
    with pytest.raises(ConnectionError):
        failing.commit(batch)
    failing.client.disconnect()  # a crash: no PUBACK was sent
    failing.client.loop_stop()
    # 5. the next start gets everything again and stores it once
    again = subscribed(Subscriber(p, cfg, sink=StagingSink(p)))
    try:
        pump(again, lambda: again.stats.stored >= 30)
        # a redelivered duplicate (same reading) is staged once
        with publisher(broker.url) as pub:
            publish(pub, [(topic, measure(0))])
        pump(again, lambda: again.stats.received >= 31)
    finally:
        again.stop()
    assert values(p) == [float(i) for i in range(30)]
    report = observations.flush(p)
    assert report.rows == 30
    assert values(p) == [float(i) for i in range(30)]


def test_a_slow_database_does_not_lose_messages_beyond_the_inflight_window(
    sqlite_platform: Platform, broker: Broker
) -> None:
    """More messages than the receive window: the broker holds the rest until we ack."""
    p = sqlite_platform
    dev = provision(p)
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    cfg = MqttConfig.from_url(f"{broker.url}?receive_maximum=10&batch=5", default_client_id="hk-window")
    sub = subscribed(Subscriber(p, cfg, sink=StagingSink(p)))
    try:
        with publisher(broker.url) as pub:
            publish(pub, [(topic, measure(i)) for i in range(200)])
        time.sleep(0.3)
        assert sub.inbox.qsize() <= 10  # the broker respects our receive maximum
        pump(sub, lambda: sub.stats.stored >= 200)
    finally:
        sub.stop()
    assert len(values(p)) == 200


@pytest.mark.parametrize("protocol", [5, 4])
def test_several_processes_share_the_load(
    sqlite_platform: Platform, broker: Broker, protocol: int
) -> None:
    p = sqlite_platform
    dev = provision(p)
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    group = f"{broker.url}?group=pool&protocol={protocol}"
    a = subscribed(Subscriber(p, MqttConfig.from_url(group, default_client_id="hk-a"), sink=StagingSink(p)))
    b = subscribed(Subscriber(p, MqttConfig.from_url(group, default_client_id="hk-b"), sink=StagingSink(p)))
    stop = threading.Event()
    taken = {"hk-a": 0, "hk-b": 0}

    def work(sub: Subscriber) -> None:
        while not stop.is_set():
            batch = sub.next_batch(0.1)
            if batch:
                sub.commit(batch)
                taken[sub.config.client_id] += len(batch)

    threads = [threading.Thread(target=work, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    try:
        with publisher(broker.url) as pub:
            publish(pub, [(topic, measure(i)) for i in range(100)])
        deadline = time.monotonic() + 20
        while a.stats.received + b.stats.received < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
        a.stop()
        b.stop()
    # both share one stats object in platform.ops.mqtt; each message went to exactly one of them
    assert len(values(p)) == 100
    assert sum(taken.values()) == 100 and min(taken.values()) > 0  # both took a share


def test_the_default_sink_updates_the_entity_and_keeps_every_reading(platform: Platform) -> None:
    from hakama.services import entities

    p = platform
    dev = provision(p, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    sub = subscribed(Subscriber(p, config(SHARED)))
    try:
        with publisher(SHARED) as pub:
            # three readings of one attribute, likely in one batch: the entity keeps the last
            publish(pub, [(topic, measure(i)) for i in range(3)])
        pump(sub, lambda: sub.stats.stored >= 3)
    finally:
        sub.stop()
    entity = entities.get(p, f"urn:ngsi-ld:AirQualityObserved:{dev.device_id}")
    assert entity["pm25"]["value"] == 2.0 and entity["pm25"]["unitCode"] == "GQ"
    assert entity["pm25"]["observedAt"].startswith("2026-03-01T10:00:02")
    with observations.recent_and_lake(p) as db:
        got = db.execute(
            f"SELECT value, source FROM {observations.VIEW} WHERE attribute = 'pm25' ORDER BY time"
        ).fetchall()
    assert got == [(0.0, "mqtt"), (1.0, "mqtt"), (2.0, "mqtt")]
    assert devices_last_seen(p, dev.device_id) is not None


def devices_last_seen(platform: Platform, device_id: str) -> object:
    from hakama.services import devices

    return devices.get_device(platform, device_id).last_seen_at


class StagesThenFails(StagingSink):
    """The observations commit, then something after them fails (e.g. the entity update)."""

    def write(self, items: Sequence[Item]) -> int:
        super().write(items)
        raise ConnectionError("entity update failed after staging")


def test_a_retried_batch_counts_time_less_readings_once(sqlite_platform: Platform) -> None:
    p = sqlite_platform
    dev = provision(p, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    sub = subscribed(Subscriber(p, config(SHARED), sink=StagesThenFails(p)))
    try:
        with publisher(SHARED) as pub:
            publish(pub, [(topic, b'{"p": 5}'), (topic, b"{broken")])
        batch: list = []
        deadline = time.monotonic() + 10
        while len(batch) < 2 and time.monotonic() < deadline:
            batch += sub.next_batch(0.5)
        with pytest.raises(ConnectionError):
            sub.commit(batch)
        assert sub.stats.received == 0 and not sub.stats.rejected  # nothing counted yet
        sub.sink = StagingSink(p)
        sub.commit(batch)  # the worker's retry of the same batch
    finally:
        sub.stop()
    assert values(p) == [5.0]
    assert dict(sub.stats.rejected) == {"not_json": 1} and sub.stats.stored == 1


def test_a_redelivered_time_less_message_counts_once(sqlite_platform: Platform) -> None:
    """Crash between commit and acknowledgement: the broker resends with DUP set."""
    p = sqlite_platform
    dev = provision(p, device_id=f"aq-{uuid.uuid4().hex[:6]}")
    topic = f"hakama/{dev.key_id}/{dev.device_id}/attrs"
    sub = subscribed(Subscriber(p, config(SHARED), sink=StagingSink(p)))
    try:
        with publisher(SHARED) as pub:
            publish(pub, [(topic, b'{"p": 5}')])
        pump(sub, lambda: sub.stats.stored == 1)
    finally:
        sub.stop()

    def resent(payload: bytes, *, dup: bool) -> tuple[int, object, mqtt.MQTTMessage]:
        message = mqtt.MQTTMessage(mid=7, topic=topic.encode())
        message.payload = payload
        message.qos = 1
        message.dup = dup
        from hakama.core.clock import utcnow

        return (-1, utcnow(), message)  # an old connection's generation: nothing to acknowledge

    sub.commit([resent(b'{"p": 5}', dup=True)])  # the retransmission after a restart
    assert values(p) == [5.0] and sub.stats.duplicates == 1
    sub.commit([resent(b'{"p": 6}', dup=True)])  # a DUP carrying another reading is stored
    sub.commit([resent(b'{"p": 5}', dup=False)])  # the device sending 5 again, later: a new reading
    assert sorted(values(p)) == [5.0, 5.0, 6.0] and sub.stats.duplicates == 1


def test_mqtt5_messages_with_and_without_properties_arrive_whole(sqlite_platform: Platform) -> None:
    """The MQTT 5 fast path (no `Properties` built) and paho's own path for messages that carry
    properties give the same topic, payload and flags; both are acknowledged."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    sub = subscribed(Subscriber(sqlite_platform, config(SHARED), sink=StagingSink(sqlite_platform)))
    key = f"k{uuid.uuid4().hex[:8]}"
    topic = f"hakama/{key}/dev/attrs"
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = ("site", "berkane")
    props.ContentType = "application/json"
    try:
        with publisher(SHARED) as pub:
            infos = [
                pub.publish(topic, b'{"p": 1}', qos=1),
                pub.publish(topic, b'{"p": 2}', qos=1, properties=props),
                pub.publish(topic + "/p", b"3", qos=0),
                pub.publish(topic, b"", qos=1),
            ]
            for info in infos:
                info.wait_for_publish(timeout=10)
        got: list[tuple[str, bytes, int, bool]] = []
        deadline = time.monotonic() + 10
        while len(got) < 4 and time.monotonic() < deadline:
            for _gen, _at, message in sub.next_batch(0.2):
                got.append((message.topic, message.payload, message.qos, message.properties is None))
                if message.qos:
                    sub.client.ack(message.mid, message.qos)
    finally:
        sub.stop()
    assert sorted(got) == sorted(
        [
            (topic, b'{"p": 1}', 1, True),  # fast path
            (topic, b'{"p": 2}', 1, False),  # paho's path: the properties decoded
            (topic + "/p", b"3", 0, True),
            (topic, b"", 1, True),
        ]
    )
