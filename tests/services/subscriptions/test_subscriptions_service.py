"""Subscriptions service on SQLite and PostgreSQL: CRUD, access by area, matching into the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Forbidden, HakamaError, Invalid, NotFound
from hakama.http.problems import status_of
from hakama.services import audit, events
from hakama.services import subscriptions as subs
from hakama.services.platform import Platform
from hakama.storage.schema_subscriptions import notification_outbox

ADMIN = system_actor("test")
AGENT_A = Actor(kind="user", id="agent-a", role=Role.AGENT, area_code="C-A")
AGENT_B = Actor(kind="user", id="agent-b", role=Role.AGENT, area_code="C-B")


def body(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "AirQualityObserved"}],
        "watchedAttributes": ["pm25"],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    out.update(extra)
    return out


def entity(pm25: float, *, eid: str = "urn:ngsi-ld:AirQualityObserved:1") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "AirQualityObserved",
        "pm25": {"type": "Property", "value": pm25, "unitCode": "GQ"},
        "no2": {"type": "Property", "value": 12.0},
    }


def changed(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    area: str | None = "C-A",
    attrs: frozenset[str] = frozenset({"pm25"}),
) -> events.EntityChanged:
    some = after or before
    assert some is not None
    return events.EntityChanged(
        entity_id=some["id"],
        entity_type=some["type"],
        area_code=area,
        before=before,
        after=after,
        attributes=attrs,
        at=utcnow(),
    )


def outbox(platform: Platform) -> list[Any]:
    with platform.db.connect() as conn:
        return conn.execute(sa.select(notification_outbox).order_by(notification_outbox.c.id)).all()


@pytest.fixture
def installed(platform: Platform) -> Iterator[Platform]:
    subs.install(platform)
    yield platform


def test_create_get_update_delete_round_trip(platform: Platform) -> None:
    created = subs.create(
        platform, body(id="urn:ngsi-ld:Subscription:s1", throttling=5), actor=ADMIN
    )
    assert created.sub.id == "urn:ngsi-ld:Subscription:s1"
    got = subs.get(platform, created.sub.id, actor=ADMIN).render()
    assert got["id"] == "urn:ngsi-ld:Subscription:s1"
    assert got["type"] == "Subscription"
    assert got["status"] == "active" and "isActive" not in got  # as sent (default true)
    assert got["throttling"] == 5
    assert got["notification"]["timesSent"] == 0
    assert got["notification"]["endpoint"]["uri"] == "http://127.0.0.1:9/notify"

    updated = subs.update(
        platform, created.sub.id, {"isActive": False, "q": "pm25>10"}, actor=ADMIN
    )
    rendered = updated.render()
    assert rendered["status"] == "paused" and rendered["isActive"] is False
    assert rendered["q"] == "pm25>10"
    assert rendered["watchedAttributes"] == ["pm25"]  # untouched members stay

    assert [s.sub.id for s in subs.list_(platform, actor=ADMIN)] == [created.sub.id]
    subs.delete(platform, created.sub.id, actor=ADMIN)
    with pytest.raises(NotFound):
        subs.get(platform, created.sub.id, actor=ADMIN)
    with platform.db.connect() as conn:
        actions = [e.action for e in audit.entries(conn)]
    assert actions == ["subscription.create", "subscription.update", "subscription.delete"]


def test_ids_are_generated_and_unique(platform: Platform) -> None:
    a = subs.create(platform, body(), actor=ADMIN)
    b = subs.create(platform, body(), actor=ADMIN)
    assert a.sub.id != b.sub.id and a.sub.id.startswith("urn:ngsi-ld:Subscription:")
    with pytest.raises(Conflict):
        subs.create(platform, body(id=a.sub.id), actor=ADMIN)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"notification": None}, "notification"),
        ({"entities": None, "watchedAttributes": None}, "entities or watchedAttributes"),
        ({"entities": [{"id": "urn:x:1"}]}, "type"),
        ({"watchedAttributes": []}, "empty"),
        ({"notification": {"endpoint": {"uri": "not a uri"}}}, "URI"),
        ({"notification": {"endpoint": {"uri": "http://h/x", "accept": "text/csv"}}}, "accept"),
        ({"notification": {"format": "xml", "endpoint": {"uri": "http://h/x"}}}, "format"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "future"),
        ({"expiresAt": "2031-01-01T00:00:00"}, "time zone"),
        ({"throttling": -1}, "throttling"),
        ({"isActive": "yes"}, "isActive"),
        ({"type": "Entity"}, "Subscription"),
        ({"entities": [{"type": "T", "idPattern": "("}]}, "idPattern"),
        ({"notificationTrigger": ["whenever"]}, "notificationTrigger"),
        ({"colour": "blue"}, "unknown"),
    ],
)
def test_bad_subscriptions_are_refused_with_a_reason(
    sqlite_platform: Platform, bad: dict[str, Any], message: str
) -> None:
    sent = {k: v for k, v in body(**bad).items() if v is not None}
    with pytest.raises(Invalid) as err:
        subs.create(sqlite_platform, sent, actor=ADMIN)
    assert message in err.value.message


def test_unsupported_features_say_so(sqlite_platform: Platform) -> None:
    from hakama.core.subscriptions import Unsupported

    with pytest.raises(Unsupported):
        subs.create(sqlite_platform, body(temporalQ={"timerel": "after"}), actor=ADMIN)
    with pytest.raises(Unsupported):
        subs.create(
            sqlite_platform,
            body(notification={"endpoint": {"uri": "mqtt://broker/topic"}}),
            actor=ADMIN,
        )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "entities",
                "watchedAttributes",
                "notification",
                "q",
                "expiresAt",
                "throttling",
                "isActive",
                "geoQ",
                "id",
                "type",
                "notificationTrigger",
            ]
        ),
        json_values,
        max_size=5,
    )
)
def test_any_json_is_accepted_or_refused_cleanly(
    sqlite_platform: Platform, garbage: dict[str, Any]
) -> None:
    try:
        subs.create(sqlite_platform, garbage, actor=ADMIN)
    except HakamaError as exc:
        assert exc.message
        assert 400 <= status_of(exc) < 600


def test_only_internal_readers_subscribe_and_areas_are_kept_apart(platform: Platform) -> None:
    with pytest.raises(Forbidden):
        subs.create(platform, body(), actor=ANONYMOUS)
    mine = subs.create(platform, body(), actor=AGENT_A)
    assert mine.area_code == "C-A"
    with pytest.raises(NotFound):
        subs.get(platform, mine.sub.id, actor=AGENT_B)
    with pytest.raises(NotFound):
        subs.delete(platform, mine.sub.id, actor=AGENT_B)
    assert subs.list_(platform, actor=AGENT_B) == []
    assert [s.sub.id for s in subs.list_(platform, actor=ADMIN)] == [mine.sub.id]


def test_changes_that_match_land_in_the_outbox(installed: Platform) -> None:
    platform = installed
    sub = subs.create(
        platform,
        body(notification={"attributes": ["pm25"], "endpoint": {"uri": "http://h/n"}}),
        actor=ADMIN,
    )
    events.publish(platform, changed(None, entity(30.0), attrs=frozenset({"pm25", "no2"})))
    rows = outbox(platform)
    assert len(rows) == 1
    assert rows[0].subscription_id == sub.sub.id and rows[0].state == "pending"
    data = rows[0].payload["data"]
    assert data == [
        {
            "id": "urn:ngsi-ld:AirQualityObserved:1",
            "type": "AirQualityObserved",
            "pm25": {"type": "Property", "value": 30.0, "unitCode": "GQ"},
        }
    ]
    # Only no2 changed: pm25 is the watched attribute, so nothing is queued.
    before, after = entity(30.0), entity(30.0)
    after["no2"] = {"type": "Property", "value": 99.0}
    events.publish(platform, changed(before, after, attrs=frozenset({"no2"})))
    # Another type: nothing.
    other = entity(31.0) | {"type": "WaterQualityObserved"}
    events.publish(platform, changed(None, other))
    assert len(outbox(platform)) == 1


def test_key_values_format_and_entity_filters(installed: Platform) -> None:
    platform = installed
    subs.create(
        platform,
        body(
            entities=[{"type": "AirQualityObserved", "idPattern": ".*:2$"}],
            notification={"format": "keyValues", "endpoint": {"uri": "http://h/n"}},
        ),
        actor=ADMIN,
    )
    events.publish(platform, changed(None, entity(1.0, eid="urn:ngsi-ld:AirQualityObserved:1")))
    events.publish(platform, changed(None, entity(2.0, eid="urn:ngsi-ld:AirQualityObserved:2")))
    rows = outbox(platform)
    assert [r.payload["data"] for r in rows] == [
        [
            {
                "id": "urn:ngsi-ld:AirQualityObserved:2",
                "type": "AirQualityObserved",
                "pm25": 2.0,
                "no2": 12.0,
            }
        ]
    ]


def test_paused_expired_and_other_area_subscriptions_stay_quiet(installed: Platform) -> None:
    platform = installed
    subs.create(platform, body(isActive=False), actor=ADMIN)
    soon = (utcnow() + timedelta(milliseconds=300)).isoformat()
    subs.create(platform, body(expiresAt=soon), actor=ADMIN)
    subs.create(platform, body(), actor=AGENT_B)  # watches commune C-B only
    import time

    time.sleep(0.4)
    platform.derived.subscriptions = None
    events.publish(platform, changed(None, entity(5.0), area="C-A"))
    assert outbox(platform) == []
    events.publish(
        platform, changed(None, entity(5.0, eid="urn:ngsi-ld:AirQualityObserved:9"), area="C-B")
    )
    assert len(outbox(platform)) == 1


def test_deletion_notifies_only_when_asked(installed: Platform) -> None:
    platform = installed
    sub = subs.create(platform, body(notificationTrigger=["entityDeleted"]), actor=ADMIN)
    events.publish(platform, changed(None, entity(5.0)))
    assert outbox(platform) == []
    events.publish(platform, changed(entity(5.0), None))
    rows = outbox(platform)
    assert [r.subscription_id for r in rows] == [sub.sub.id]
    subs.delete(platform, sub.sub.id, actor=ADMIN)
    assert outbox(platform) == []  # what was waiting goes with the subscription
