"""A device provisioned by commune (`hakama devices add … --area CODE`, no position): its entity
lies in that commune, so the commune's own key updates it with every reading, and the
commune's subscriptions fire (issue 10, item 8)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from hakama.core.access import Actor, Role, system_actor
from hakama.core.clock import utcnow
from hakama.demo.territory import demo_areas
from hakama.jobs.mqtt import MqttConfig, Subscriber
from hakama.services import devices, entities, keys, subscriptions, territory
from hakama.services.device_readings import EntitySink
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.schema_entities import entities as entities_table
from hakama.storage.schema_subscriptions import notification_outbox

ADMIN = system_actor("test")
COMMUNE = "02.113.05.15"


def _message(topic: str, payload: bytes, late: float) -> tuple[int, object, mqtt.MQTTMessage]:
    message = mqtt.MQTTMessage(mid=1, topic=topic.encode())
    message.payload = payload
    message.qos = 1
    return (-1, utcnow() + timedelta(seconds=late), message)


def _entity_area(platform: Platform, entity_id: str) -> str | None:
    with platform.db.connect() as conn:
        return conn.execute(
            sa.select(entities_table.c.area_code).where(entities_table.c.id == entity_id)
        ).scalar_one()


def _provisioned_by_area(platform: Platform) -> tuple[str, devices.Device]:
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    key = keys.create_key(
        platform,
        name="sensors",
        role="agent",
        area_code=COMMUNE,
        scopes=["write_data"],
        actor=ADMIN,
    ).key
    device = devices.create_device(
        platform, actor=ADMIN, device_id="wm-1", entity_type="WaterMeter", api_key_id=key.id,
        attributes={"v": {"name": "volume", "unit": "MTQ"}}, area_code=COMMUNE,
    )  # fmt: skip
    devices.provision_entity(platform, device, actor=ADMIN)  # what the CLI and the API do
    return key.id, device


def test_readings_reach_the_entity_and_subscriptions_fire(platform: Platform) -> None:
    subscriptions.install(platform)
    key_id, device = _provisioned_by_area(platform)
    assert _entity_area(platform, device.entity_id) == COMMUNE
    agent = Actor(kind="user", id="agent-sb", role=Role.AGENT, area_code=COMMUNE)
    subscriptions.create(
        platform,
        {"id": "urn:ngsi-ld:Subscription:meters", "type": "Subscription",
         "entities": [{"type": "WaterMeter"}], "watchedAttributes": ["volume"],
         "notification": {"endpoint": {"uri": "http://127.0.0.1:8139/hook"}}},
        actor=agent,
    )  # fmt: skip
    cfg = MqttConfig.from_url("mqtt://127.0.0.1:1", default_client_id="hk-never-connects")
    sub = Subscriber(platform, cfg, sink=EntitySink(platform))
    topic = f"hakama/{key_id}/wm-1/attrs"
    sub.commit([_message(topic, b'{"v": 12.5}', 0)])
    sub.commit([_message(topic, b'{"v": 13.0}', 1)])
    assert sub.stats.stored == 2 and not sub.stats.rejected
    doc = entities.get(platform, device.entity_id)
    assert doc["volume"]["value"] == 13.0 and doc["volume"]["unitCode"] == "MTQ"
    assert _entity_area(platform, device.entity_id) == COMMUNE  # not moved by the key's writes
    with platform.db.connect() as conn:
        queued = conn.execute(
            sa.select(notification_outbox.c.payload).where(
                notification_outbox.c.subscription_id == "urn:ngsi-ld:Subscription:meters"
            )
        ).all()
    values = [p.payload["data"][0]["volume"]["value"] for p in queued]
    assert 13.0 in values, values


def test_devices_add_by_area_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    key = keys.create_key(
        platform, name="k", role="agent", area_code=COMMUNE, scopes=["write_data"], actor=ADMIN
    ).key
    platform.close()
    added = subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data), "devices", "add",
         "wm-2", "--type", "WaterMeter", "--key", key.id, "--area", COMMUNE],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    try:
        assert _entity_area(platform, "urn:ngsi-ld:WaterMeter:wm-2") == COMMUNE
        # and the commune's key may now update it (it could not before)
        keyed = Actor(kind="key", id=key.id, role=key.role, area_code=COMMUNE, scopes=key.scopes)
        result = entities.batch_upsert(
            platform, [{"id": "urn:ngsi-ld:WaterMeter:wm-2", "type": "WaterMeter",
                        "volume": {"type": "Property", "value": 1.0}}],
            actor=keyed, update=True,
        )  # fmt: skip
        assert not result.errors
    finally:
        platform.close()
