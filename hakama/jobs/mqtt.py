"""The MQTT device subscriber, a background job of `hakama serve`: messages from devices are
stored through `services.device_readings` (staged observations, entity updates) and
acknowledged after that committed.

Enabled when `HAKAMA_MQTT_URL` is set. Topics (see docs/mqtt.md): `hakama/<key id>/<device
id>/attrs` with a JSON object of measures (or an NGSI-LD fragment), and
`hakama/<key id>/<device id>/attrs/<measure>` with a bare value.

Delivery guarantees:

- QoS 1 with a persistent session: a fixed client id, `clean_start=False` and a session expiry
  interval, so the broker keeps our subscription and queues messages while hakama is down.
- Manual acknowledgement (paho's `manual_ack=True`): a message is acknowledged (PUBACK) only
  after the transaction holding what it carries has committed. Messages are grouped: the
  worker takes whatever arrived (up to `batch` messages) and commits them together.
- A message that cannot be used (unknown device, wrong key, malformed payload) is counted by
  reason, logged, and acknowledged — it would never get better by being redelivered — and
  never stops the other messages of its batch.
- If the database fails, nothing of the batch is acknowledged; the worker retries the same
  batch with back-off, and if hakama dies meanwhile the broker redelivers it.
- Several hakama processes share the load through the MQTT 5 shared subscription
  `$share/<group>/hakama/+/+/attrs` (each process with its own client id).

A redelivered message counts once when it carries its time (`t`, `TimeInstant`, `observedAt`):
its observations have the same dedupe key. Without a time the reading takes the instant it was
received, which differs on redelivery; so a message the broker marks as a retransmission (DUP)
whose readings were already stored from the same device within the dedupe window is
acknowledged and not stored again (`device_readings.already_stored`). (A device that repeats
the same value gets no DUP flag on its new messages, so those count.)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import socket
import ssl
import threading
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hakama.core.clock import utcnow
from hakama.core.operations import IngestStats
from hakama.services import device_readings
from hakama.services.device_readings import TOPIC_ROOT, EntitySink, Message, Sink
from hakama.services.platform import Platform

log = logging.getLogger("hakama.mqtt")


@dataclass(frozen=True)
class MqttConfig:
    """Where and how to connect, from `HAKAMA_MQTT_URL`.

    `mqtt://user:pass@host:1883?client_id=hakama-1&group=hakama&receive_maximum=1000`;
    `mqtts://` for TLS. The client id must be stable across restarts (the broker keeps the
    session under it) and distinct per process.
    """

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    client_id: str = "hakama"
    group: str = "hakama"
    receive_maximum: int = 1000
    session_expiry: int = 7 * 24 * 3600
    keepalive: int = 30
    batch: int = 2000
    protocol: int = 5  # 5, or 4 (3.1.1): paho decodes 3.1.1 messages about twice as fast
    linger: float = 0.02  # seconds a batch waits for more messages once one arrived

    OPTIONS: ClassVar[frozenset[str]] = frozenset(
        {"client_id", "group", "receive_maximum", "session_expiry", "batch", "protocol"}
    )

    @classmethod
    def from_url(cls, url: str, *, default_client_id: str) -> MqttConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            raise ValueError(f"HAKAMA_MQTT_URL must start with mqtt:// or mqtts://, got {url!r}")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(options) - cls.OPTIONS)
        if unknown:
            raise ValueError(f"HAKAMA_MQTT_URL: unknown option(s) {', '.join(unknown)}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            client_id=options.get("client_id", default_client_id),
            group=options.get("group", "hakama"),
            receive_maximum=int(options.get("receive_maximum", 1000)),
            session_expiry=int(options.get("session_expiry", 7 * 24 * 3600)),
            batch=int(options.get("batch", 2000)),
            protocol=5 if options.get("protocol", "5") == "5" else 4,
        )

    @property
    def subscriptions(self) -> list[str]:
        share = f"$share/{self.group}/" if self.group else ""
        return [f"{share}{TOPIC_ROOT}/+/+/attrs", f"{share}{TOPIC_ROOT}/+/+/attrs/+"]


def default_client_id(platform: Platform) -> str:
    """A client id stable for this host and data folder (so restarts resume the session)."""
    where = f"{socket.gethostname()}:{platform.settings.data_dir.resolve()}"
    return "hakama-" + hashlib.sha256(where.encode()).hexdigest()[:12]


Queued = tuple[int, datetime, mqtt.MQTTMessage]


class BufferedClient(mqtt.Client):
    """paho's client, reading the socket in 64 KiB chunks and every whole packet they hold.

    paho reads one packet per select() and several `recv` calls per packet; each `recv`
    releases the GIL, and while the worker thread is busy committing, the network thread gets
    it back only every switch interval (5 ms) — a convoy that capped reception near 1,500
    messages/s. Serving paho's small reads from a buffer keeps the network thread on the CPU
    for a whole chunk. Relies on paho 2.x's `_sock_recv`/`_sock_close`; the MQTT tests cover it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = bytearray()

    def _sock_recv(self, bufsize: int) -> bytes:
        if not self._read_buffer:
            chunk = super()._sock_recv(65536)
            if not chunk:
                return chunk  # the broker closed the connection
            self._read_buffer += chunk
        out = bytes(self._read_buffer[:bufsize])
        del self._read_buffer[:bufsize]
        return out

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._read_buffer and self._sock is not None:
            rc = super().loop_read(max_packets)
        return rc

    def _sock_close(self) -> None:
        self._read_buffer.clear()  # bytes of a dead connection must not reach the next one
        super()._sock_close()

    def _handle_publish(self) -> MQTTErrorCode:
        """A QoS 0/1 PUBLISH without MQTT 5 properties, decoded in one pass.

        paho builds a `Properties` object for every MQTT 5 message, properties or not (~60 µs
        of ~80 µs per message here: `benchmarks/mqtt_decode.py`). Device messages carry none;
        those with some (a topic alias, user properties), and QoS 2, take paho's own path. Both
        protocol versions share this path, so MQTT 5 costs what 3.1.1 does. `message.properties`
        stays None on it (hakama reads none).
        """
        packet = self._in_packet["packet"]
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if qos == 2:
            return super()._handle_publish()
        end = 2 + int.from_bytes(packet[0:2], "big")
        topic = bytes(packet[2:end])
        mid = 0
        if qos:
            mid = int.from_bytes(packet[end : end + 2], "big")
            end += 2
        if self._protocol == mqtt.MQTTv5:
            if end >= len(packet) or packet[end] != 0:  # properties (or a topic alias)
                return super()._handle_publish()
            end += 1
        if not topic or end > len(packet):
            return super()._handle_publish()  # paho's errors for malformed packets
        message = mqtt.MQTTMessage(mid=mid, topic=topic)
        message.dup = bool(header & 0x08)
        message.qos = qos
        message.retain = bool(header & 0x01)
        message.payload = bytes(packet[end:])
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        if qos == 0 or self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(mid)


class Subscriber:
    """One MQTT connection (paho, own network thread) and the worker that commits batches."""

    def __init__(
        self,
        platform: Platform,
        config: MqttConfig,
        *,
        sink: Sink | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.platform = platform
        self.config = config
        self.sink: Sink = sink or EntitySink(platform)
        self.on_batch = on_batch
        if platform.ops.mqtt is None:
            platform.ops.mqtt = IngestStats()
        self.stats: IngestStats = platform.ops.mqtt
        # (connection generation, reception instant, message)
        self.inbox: queue.Queue[Queued] = queue.Queue()
        self.generation = 0  # bumped on every (re)connection: acks of older ones are void
        self.subscribed = threading.Event()
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        v5 = self.config.protocol == 5
        client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    # paho's network thread -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.stats.last_error = f"connect refused: {reason}"
            log.error("MQTT connection refused: %s", reason)
            return
        self.generation += 1
        self.stats.connected = True
        log.info(
            "MQTT connected to %s:%s as %s (session present: %s)",
            self.config.host,
            self.config.port,
            self.config.client_id,
            flags.session_present,
        )
        client.subscribe([(topic, 1) for topic in self.config.subscriptions])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        failed = [c for c in codes if c.is_failure]
        if failed:
            self.stats.last_error = f"subscription refused: {failed}"
            log.error("MQTT subscription refused: %s", failed)
        else:
            self.subscribed.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.stats.connected = False
        self.subscribed.clear()
        log.warning("MQTT disconnected: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        # The reception instant is fixed here, so a batch retried after a database error gives
        # time-less readings the same time, hence the same dedupe keys.
        self.inbox.put((self.generation, utcnow(), message))

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.protocol == 5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.config.session_expiry
            props.ReceiveMaximum = self.config.receive_maximum
            self.client.connect_async(
                self.config.host,
                self.config.port,
                keepalive=self.config.keepalive,
                clean_start=False,
                properties=props,
            )
        else:  # 3.1.1: the persistent session comes from clean_session=False
            self.client.connect_async(
                self.config.host, self.config.port, keepalive=self.config.keepalive
            )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Commit batches until `stop` is set; the last batch is finished first."""
        self.start()
        try:
            while not stop.is_set():
                batch = await asyncio.to_thread(self.next_batch, 0.2)
                if batch:
                    await self._commit_with_retry(batch, stop)
        finally:
            await asyncio.to_thread(self.stop)

    def next_batch(self, wait: float) -> list[Queued]:
        """The messages that arrived: waits `wait` for a first one, then `linger` for more."""
        try:
            first = self.inbox.get(timeout=wait)
        except queue.Empty:
            return []
        batch = [first]
        deadline = clock.monotonic() + self.config.linger
        while len(batch) < self.config.batch:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                left = deadline - clock.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self.inbox.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    async def _commit_with_retry(self, batch: list[Queued], stop: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.commit, batch)
                return
            except Exception as exc:  # the database is down or refuses: keep the batch, retry
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception(
                    "MQTT batch of %d messages not stored; retrying in %.1fs", len(batch), delay
                )
                if stop.is_set():
                    return  # not acknowledged: the broker redelivers to the next session
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def commit(self, batch: Sequence[Queued]) -> int:
        """Store and then acknowledge one batch; returns the observations staged.

        Raises if the database refuses: then nothing is acknowledged or counted, and the same
        batch can be committed again.
        """
        messages = [
            Message(message.topic, bytes(message.payload), received, bool(message.dup))
            for _generation, received, message in batch
        ]
        outcome = device_readings.store(self.platform, messages, self.sink)
        for reason, topic, detail in outcome.rejected:
            self._reject(reason, topic, detail)
        self.stats.received += len(batch)
        self.stats.duplicates += outcome.duplicates
        self.stats.stored += outcome.stored
        self.stats.observations += outcome.observations
        self.stats.batches += 1
        now = utcnow()
        self.stats.lag_seconds = (now - batch[0][1]).total_seconds()
        self.platform.ops.succeeded("mqtt", now)
        # Only now is what the messages carry durable: acknowledge, in arrival order.
        for generation, _received, message in batch:
            if generation == self.generation and message.qos > 0:
                self.client.ack(message.mid, message.qos)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        return outcome.observations

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.stats.rejected[reason] += 1
        count = self.stats.rejected[reason]
        # Log every rejection at first, then one in a thousand, so a broken device cannot
        # flood the log.
        if count <= 100 or count % 1000 == 0:
            log.warning("MQTT message on %s dropped (%s, #%d): %s", topic, reason, count, detail)


def enabled(platform: Platform) -> bool:
    """The subscriber runs when `HAKAMA_MQTT_URL` is set."""
    return bool(platform.settings.mqtt_url)


def client_id(platform: Platform) -> str | None:
    """The client id the subscriber connects with (None: `HAKAMA_MQTT_URL` is not usable)."""
    if not platform.settings.mqtt_url:
        return None
    try:
        config = MqttConfig.from_url(
            platform.settings.mqtt_url, default_client_id=default_client_id(platform)
        )
    except ValueError:
        return None  # `run` logs why
    return config.client_id


async def run(platform: Platform, stop: asyncio.Event, *, sink: Sink | None = None) -> None:
    """Background job of `hakama serve`: subscribe and ingest until `stop` is set."""
    assert platform.settings.mqtt_url
    try:
        config = MqttConfig.from_url(
            platform.settings.mqtt_url, default_client_id=default_client_id(platform)
        )
    except ValueError as exc:  # a bad URL must not take the web server down with it
        log.error("MQTT subscriber not started: %s", exc)
        return
    await Subscriber(platform, config, sink=sink).run(stop)
