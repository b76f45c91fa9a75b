"""Background job: read the MQTT broker's own loss figures from its `$SYS` topics.

Mosquitto counts what it drops — QoS 1 messages beyond `max_queued_messages` for a slow or
absent subscriber, after it acknowledged them to the device — and publishes it every
`sys_interval`: `$SYS/broker/load/publish/dropped/1min|5min|15min` (per-minute averages),
`$SYS/broker/publish/messages/dropped` and `$SYS/broker/store/messages/count`. hakama's own
counters cannot see those losses; this job keeps the figures in `platform.ops.broker` (shown by
`/api/devices/_ingest`, `/health` and `/metrics`) and keeps one alert open while the broker drops.
Runs when `HAKAMA_MQTT_URL` is set; a separate clean connection, QoS 0, nothing to acknowledge.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hakama.core.clock import utcnow
from hakama.core.operations import BROKER_TOPICS
from hakama.jobs import rounds
from hakama.jobs.mqtt import MqttConfig, default_client_id
from hakama.services import alerts
from hakama.services.platform import Platform

log = logging.getLogger("hakama.broker")

#: How often the alert is brought in line with the figures (seconds).
CHECK_EVERY = 15.0


def enabled(platform: Platform) -> bool:
    return bool(platform.settings.mqtt_url)


def _client(platform: Platform, config: MqttConfig) -> mqtt.Client:
    broker = platform.ops.broker
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{config.client_id}-sys",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls:
        import ssl

        client.tls_set_context(ssl.create_default_context())

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker $SYS watch refused: %s", reason)
            return
        broker.connected = True
        c.subscribe([(topic, 0) for topic in BROKER_TOPICS])

    def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        broker.connected = False

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        broker.update(message.topic, bytes(message.payload), utcnow())

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def check(platform: Platform) -> alerts.EvaluationReport:
    """Open the broker-loss alert while the broker drops messages; close it when it stopped."""
    broker = platform.ops.broker
    report = alerts.broker_losses(platform, broker)
    if report.opened:
        log.warning(
            "the MQTT broker is dropping messages: %s per minute (1 min), %s (5 min); "
            "see `hakama mqtt broker-config`",
            broker.dropped_1min,
            broker.dropped_5min,
        )
    if report.closed:
        log.info("the MQTT broker no longer drops messages")
    return report


async def run(platform: Platform, stop: asyncio.Event, *, every: float = CHECK_EVERY) -> None:
    assert platform.settings.mqtt_url
    try:
        config = MqttConfig.from_url(
            platform.settings.mqtt_url, default_client_id=default_client_id(platform)
        )
    except ValueError as exc:
        log.error("broker $SYS watch not started: %s", exc)
        return
    client = _client(platform, config)
    client.connect_async(config.host, config.port, keepalive=config.keepalive)
    client.loop_start()
    try:
        while not stop.is_set():
            await rounds.pause(stop, every)
            try:
                await asyncio.to_thread(check, platform)
                platform.ops.succeeded("broker_watch", utcnow())
            except Exception:
                log.exception("broker loss check failed; next try in %.0fs", every)
    finally:
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)
