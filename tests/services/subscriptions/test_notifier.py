"""The notifier against a real HTTP endpoint on loopback: delivery, status, retries, throttling."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hakama.core.access import system_actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid
from hakama.jobs import notifier
from hakama.services import entities, events
from hakama.services import subscriptions as subs
from hakama.services.platform import Platform
from hakama.storage.schema_subscriptions import notification_outbox

ADMIN = system_actor("test")


def subscribe(platform: Platform, uri: str, **extra: Any) -> str:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "Sensor"}],
        "notification": {"endpoint": {"uri": uri}},
    }
    body.update(extra)
    return subs.create(platform, body, actor=ADMIN).sub.id


def reading(value: float, eid: str = "urn:ngsi-ld:Sensor:1") -> events.EntityChanged:
    return events.EntityChanged(
        entity_id=eid,
        entity_type="Sensor",
        area_code=None,
        before=None,
        after={"id": eid, "type": "Sensor", "pm25": {"type": "Property", "value": value}},
        attributes=frozenset({"pm25"}),
        at=utcnow(),
    )


def deliver(platform: Platform) -> list[notifier.Delivery]:
    async def go() -> list[notifier.Delivery]:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return await notifier.deliver_once(platform, client)

    return asyncio.run(go())


def pending(platform: Platform) -> list[Any]:
    with platform.db.connect() as conn:
        return conn.execute(sa.select(notification_outbox)).all()


def test_a_notification_reaches_the_endpoint_and_is_recorded(
    platform: Platform, receiver: Any
) -> None:
    subs.install(platform)
    sid = subscribe(platform, receiver.url())
    events.publish(platform, reading(31.5))
    events.publish(platform, reading(32.5, "urn:ngsi-ld:Sensor:2"))
    deliveries = deliver(platform)
    assert [d.ok for d in deliveries] == [True]
    got = receiver.wait_for(1)
    assert len(got) == 1
    note = got[0]["body"]
    assert note["type"] == "Notification" and note["subscriptionId"] == sid
    assert note["id"].startswith("urn:ngsi-ld:Notification:")
    assert note["notifiedAt"].endswith("Z")
    assert [e["pm25"]["value"] for e in note["data"]] == [31.5, 32.5]
    assert got[0]["headers"]["content-type"] == "application/json"
    assert "ngsi-ld-core-context" in got[0]["headers"]["link"]
    status = subs.get(platform, sid, actor=ADMIN).render()["notification"]
    assert status["timesSent"] == 1 and status["status"] == "ok"
    assert "lastSuccess" in status and "lastFailure" not in status
    assert pending(platform) == []


def test_ld_json_endpoints_get_the_context_in_the_body(
    sqlite_platform: Platform, receiver: Any
) -> None:
    subs.install(sqlite_platform)
    subscribe(
        sqlite_platform,
        receiver.url(),
        notification={"endpoint": {"uri": receiver.url(), "accept": "application/ld+json"}},
    )
    events.publish(sqlite_platform, reading(1.0))
    deliver(sqlite_platform)
    got = receiver.wait_for(1)
    assert got[0]["headers"]["content-type"] == "application/ld+json"
    assert "ngsi-ld-core-context" in str(got[0]["body"]["@context"])


def test_failures_are_retried_with_backoff_then_given_up(platform: Platform, receiver: Any) -> None:
    subs.install(platform)
    receiver.status = 500
    sid = subscribe(platform, receiver.url())
    events.publish(platform, reading(1.0))
    assert [d.status_code for d in deliver(platform)] == [500]
    rows = pending(platform)
    assert rows[0].attempts == 1 and rows[0].state == "pending"
    assert rows[0].due_at > utcnow()  # waits its backoff
    assert deliver(platform) == []  # not due yet
    status = subs.get(platform, sid, actor=ADMIN).render()["notification"]
    assert status["status"] == "failed" and "lastFailure" in status and status["timesSent"] == 1
    for _ in range(notifier.MAX_ATTEMPTS - 1):
        with platform.db.begin() as conn:
            conn.execute(notification_outbox.update().values(due_at=utcnow()))
        deliver(platform)
    rows = pending(platform)
    assert rows[0].state == "dead" and rows[0].attempts == notifier.MAX_ATTEMPTS
    assert "HTTP 500" in rows[0].last_error
    # The endpoint recovers: a new change gets through, the dead row stays for inspection.
    receiver.status = 200
    events.publish(platform, reading(2.0))
    assert [d.ok for d in deliver(platform)] == [True]
    assert [r.state for r in pending(platform)] == ["dead"]


def test_unreachable_endpoint_is_a_recorded_failure(sqlite_platform: Platform) -> None:
    subs.install(sqlite_platform)
    sid = subscribe(sqlite_platform, "http://127.0.0.1:9/closed")
    events.publish(sqlite_platform, reading(1.0))
    [delivery] = deliver(sqlite_platform)
    assert not delivery.ok and delivery.error and "Connect" in delivery.error
    assert (
        subs.get(sqlite_platform, sid, actor=ADMIN).render()["notification"]["status"] == "failed"
    )


def test_throttling_holds_notifications_back_and_sends_them_together(
    platform: Platform, receiver: Any
) -> None:
    subs.install(platform)
    subscribe(platform, receiver.url(), throttling=60)
    events.publish(platform, reading(1.0))
    assert len(deliver(platform)) == 1
    events.publish(platform, reading(2.0))
    events.publish(platform, reading(3.0))
    assert deliver(platform) == []
    rows = pending(platform)
    assert len(rows) == 2 and all(r.due_at > utcnow() for r in rows)
    with platform.db.begin() as conn:  # a minute later…
        conn.execute(notification_outbox.update().values(due_at=utcnow()))
        from hakama.storage.schema_subscriptions import subscriptions as table

        conn.execute(table.update().values(last_notification=utcnow().replace(year=2000)))
    assert len(deliver(platform)) == 1
    got = receiver.wait_for(2)
    assert [e["pm25"]["value"] for e in got[1]["body"]["data"]] == [2.0, 3.0]


def test_paused_subscriptions_drop_what_was_waiting(
    sqlite_platform: Platform, receiver: Any
) -> None:
    subs.install(sqlite_platform)
    sid = subscribe(sqlite_platform, receiver.url())
    events.publish(sqlite_platform, reading(1.0))
    subs.update(sqlite_platform, sid, {"isActive": False}, actor=ADMIN)
    assert deliver(sqlite_platform) == []
    assert pending(sqlite_platform) == []
    assert receiver.received == []


def test_background_run_delivers_promptly_and_a_hanging_endpoint_blocks_no_one(
    sqlite_platform: Platform, receiver: Any, make_receiver: Any
) -> None:
    platform = sqlite_platform
    subs.install(platform)
    slow = make_receiver()
    slow.delay = 3.0
    try:
        subscribe(platform, slow.url("/slow"))
        subscribe(platform, receiver.url("/fast"))

        async def scenario() -> float:
            stop = asyncio.Event()
            task = asyncio.create_task(notifier.run(platform, stop))
            await asyncio.sleep(0.2)
            start = time.monotonic()
            await asyncio.to_thread(events.publish, platform, reading(7.0))
            while not receiver.received and time.monotonic() - start < 5:
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - start
            stop.set()
            await asyncio.wait_for(task, timeout=15)
            return elapsed

        elapsed = asyncio.run(scenario())
        assert receiver.received and receiver.received[0]["path"] == "/fast"
        assert elapsed < 1.0  # woken by the outbox, not held by the slow endpoint
    finally:
        slow.delay = 0


def test_a_hanging_endpoint_does_not_slow_down_writers(
    sqlite_platform: Platform, make_receiver: Any
) -> None:
    platform = sqlite_platform
    subs.install(platform)
    hanging = make_receiver()
    hanging.delay = 2.0
    subscribe(platform, hanging.url())

    async def scenario() -> list[float]:
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(platform, stop))
        took: list[float] = []
        for n in range(20):
            body = {
                "id": f"urn:ngsi-ld:Sensor:{n}",
                "type": "Sensor",
                "pm25": {"type": "Property", "value": n},
            }
            t0 = time.monotonic()
            await asyncio.to_thread(entities.create, platform, body, actor=ADMIN)
            took.append(time.monotonic() - t0)
        stop.set()
        await asyncio.wait_for(task, timeout=20)
        return took

    took = asyncio.run(scenario())
    hanging.delay = 0
    assert max(took) < 1.0, took  # each write is done long before the endpoint answers
    assert len(hanging.wait_for(1, timeout=5)) >= 1


def test_claimed_rows_are_leased_once_and_come_back_after_a_crash(platform: Platform) -> None:
    subs.install(platform)
    subscribe(platform, "http://127.0.0.1:9/x")
    events.publish(platform, reading(1.0))
    first = notifier.claim(platform, now=utcnow())
    assert [len(b.row_ids) for b in first] == [1]
    assert notifier.claim(platform, now=utcnow()) == []  # another sender gets nothing
    # The sender died without recording anything: once the lease ends, the row is sent again.
    later = utcnow() + notifier.LEASE + timedelta(seconds=1)
    again = notifier.claim(platform, now=later)
    assert [b.row_ids for b in again] == [first[0].row_ids]


def test_a_periodic_subscription_notifies_the_current_state_on_its_clock(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """timeInterval (clause 5.8.6 / suite 046_02): every interval, the selected entities as
    they are now, whether or not they changed; the schedule comes from lastNotification."""
    platform = sqlite_platform
    subs.install(platform)
    entities.create(
        platform,
        {"id": "urn:ngsi-ld:Sensor:p", "type": "Sensor", "pm25": 12},
        actor=ADMIN,
    )
    sid = subscribe(platform, receiver.url(), timeInterval=2)
    events.publish(platform, reading(40.0, "urn:ngsi-ld:Sensor:p"))  # not change-driven
    assert pending(platform) == []
    assert [d.ok for d in deliver(platform)] == [True]
    first = receiver.wait_for(1)[0]["body"]
    assert first["subscriptionId"] == sid
    assert [(e["id"], e["pm25"]["value"]) for e in first["data"]] == [("urn:ngsi-ld:Sensor:p", 12)]
    assert deliver(platform) == []  # not due again before the interval
    time.sleep(2.1)
    assert [d.ok for d in deliver(platform)] == [True]
    assert len(receiver.wait_for(2)) == 2
    status = subs.get(platform, sid, actor=ADMIN).render()
    assert status["timeInterval"] == 2 and status["notification"]["timesSent"] == 2


def test_periodic_subscriptions_refuse_what_contradicts_them(sqlite_platform: Platform) -> None:
    for extra in (
        {"timeInterval": 0},
        {"timeInterval": -5},
        {"timeInterval": 5, "watchedAttributes": ["pm25"]},
        {"timeInterval": 5, "throttling": 2},
    ):
        with pytest.raises(Invalid):
            subscribe(sqlite_platform, "http://127.0.0.1:9/n", **extra)


def test_receiver_info_headers_and_json_ld_entities(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """SubscriptionNotificationBehaviour 046_09 (receiverInfo) and 046_14 (JSON-LD data)."""
    subs.install(sqlite_platform)
    endpoint = {
        "uri": receiver.url(),
        "accept": "application/ld+json",
        "receiverInfo": [{"key": "X-Additional-Key", "value": "secret-1"}],
    }
    subscribe(sqlite_platform, receiver.url(), notification={"endpoint": endpoint})
    events.publish(sqlite_platform, reading(3.0))
    deliver(sqlite_platform)
    got = receiver.wait_for(1)[0]
    assert got["headers"]["x-additional-key"] == "secret-1"
    assert all("@context" in e for e in got["body"]["data"])


def test_deleted_attributes_are_notified_as_ngsi_ld_null(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """SubscriptionNotificationBehaviour 046_22: an attributeDeleted notification carries the
    entity with the deleted attribute (or instance) valued NGSI-LD Null."""
    subs.install(sqlite_platform)
    subscribe(sqlite_platform, receiver.url(), notificationTrigger=["attributeDeleted"])
    before = {
        "id": "urn:ngsi-ld:Sensor:d",
        "type": "Sensor",
        "pm25": {"type": "Property", "value": 3},
        "name": [
            {"type": "Property", "value": "a"},
            {"type": "Property", "value": "b", "datasetId": "urn:ngsi-ld:Dataset:fr"},
        ],
    }
    after = {"id": "urn:ngsi-ld:Sensor:d", "type": "Sensor", "name": before["name"][0]}
    events.publish(
        sqlite_platform,
        events.EntityChanged(
            entity_id="urn:ngsi-ld:Sensor:d",
            entity_type="Sensor",
            area_code=None,
            before=before,
            after=after,
            attributes=frozenset({"pm25", "name"}),
            at=utcnow(),
        ),
    )
    deliver(sqlite_platform)
    data = receiver.wait_for(1)[0]["body"]["data"][0]
    assert data["pm25"] == {"type": "Property", "value": "urn:ngsi-ld:null"}
    assert data["name"] == [
        {"type": "Property", "value": "a"},
        {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": "urn:ngsi-ld:Dataset:fr"},
    ]


def test_show_changes_adds_the_previous_values(sqlite_platform: Platform, receiver: Any) -> None:
    """SubscriptionNotificationBehaviour 046_31..33 (`notification.showChanges`)."""
    subs.install(sqlite_platform)
    subscribe(
        sqlite_platform,
        receiver.url(),
        notification={"endpoint": {"uri": receiver.url()}, "showChanges": True},
    )
    before = {
        "id": "urn:ngsi-ld:Sensor:s",
        "type": "Sensor",
        "pm25": {"type": "Property", "value": 3},
        "near": {"type": "Relationship", "object": "urn:x:a"},
        "same": {"type": "Property", "value": 1},
    }
    after = {
        **before,
        "pm25": {"type": "Property", "value": 4},
        "near": {"type": "Relationship", "object": "urn:x:b"},
    }
    events.publish(
        sqlite_platform,
        events.EntityChanged(
            entity_id="urn:ngsi-ld:Sensor:s",
            entity_type="Sensor",
            area_code=None,
            before=before,
            after=after,
            attributes=frozenset({"pm25", "near"}),
            at=utcnow(),
        ),
    )
    deliver(sqlite_platform)
    data = receiver.wait_for(1)[0]["body"]["data"][0]
    assert data["pm25"] == {"type": "Property", "value": 4, "previousValue": 3}
    assert data["near"]["previousObject"] == "urn:x:a"
    assert data["same"] == {"type": "Property", "value": 1}


def test_a_batch_write_queues_one_notification_per_entity_it_concerns(platform: Platform) -> None:
    subs.install(platform)
    sub_id = subscribe(platform, "http://127.0.0.1:9/notify", watchedAttributes=["pm25"])
    batch = [
        {"id": f"urn:ngsi-ld:Sensor:{i}", "type": "Sensor", "pm25": float(i)} for i in range(3)
    ]
    batch.append({"id": "urn:ngsi-ld:Road:1", "type": "Road", "pm25": 1.0})  # another type
    batch.append({"id": "urn:ngsi-ld:Sensor:9", "type": "Sensor", "no2": 1.0})  # not watched
    result = entities.batch_upsert(platform, batch, actor=ADMIN, update=True)
    assert not result.errors
    rows = pending(platform)
    assert sorted(r.payload["entityId"] for r in rows) == [
        f"urn:ngsi-ld:Sensor:{i}" for i in range(3)
    ]
    assert {r.subscription_id for r in rows} == {sub_id}
    assert sorted(e["pm25"]["value"] for r in rows for e in r.payload["data"]) == [0.0, 1.0, 2.0]
