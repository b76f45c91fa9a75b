"""Pure subscription rules: what a change triggers, states, and the notification shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hakama.core import jsonld
from hakama.core.entity_render import render_all
from hakama.core.notifications import change_triggers, notification, shape
from hakama.core.subscriptions import Trigger, parse

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def sub(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "entities": [{"type": "T"}],
        "notification": {"endpoint": {"uri": "http://h/n"}},
    }
    body.update(extra)
    return body


def test_change_triggers() -> None:
    a = {"id": "urn:x:1", "type": "T", "p": {"type": "Property", "value": 1}, "createdAt": "x"}
    b = {
        "id": "urn:x:1",
        "type": "T",
        "p": {"type": "Property", "value": 2},
        "q": {"type": "Property", "value": 0},
    }
    assert change_triggers(None, a, frozenset({"p"})) == {
        Trigger.ENTITY_CREATED: frozenset({"p"}),
        Trigger.ATTRIBUTE_CREATED: frozenset({"p"}),
    }
    updated = change_triggers(a, b, frozenset({"p", "q"}))
    assert updated[Trigger.ATTRIBUTE_UPDATED] == frozenset({"p"})
    assert updated[Trigger.ATTRIBUTE_CREATED] == frozenset({"q"})
    assert Trigger.ATTRIBUTE_DELETED in change_triggers(b, a, frozenset({"q"}))
    assert Trigger.ENTITY_DELETED in change_triggers(a, None, frozenset())


def test_states_and_firing() -> None:
    s = parse(sub(watchedAttributes=["p"], expiresAt="2026-03-02T00:00:00Z"), now=NOW)
    assert s.state(NOW) == "active" and s.state(NOW + timedelta(days=2)) == "expired"
    assert s.fired_by({Trigger.ATTRIBUTE_UPDATED: frozenset({"p"})})
    assert not s.fired_by({Trigger.ATTRIBUTE_UPDATED: frozenset({"other"})})
    assert not s.fired_by({Trigger.ENTITY_DELETED: frozenset({"p"})})
    assert parse(sub(isActive=False), now=NOW).state(NOW) == "paused"
    assert s.selects("urn:x:1", "T") and not s.selects("urn:x:1", "U")


def test_projection_and_notification() -> None:
    s = parse(
        sub(
            notification={
                "attributes": ["p"],
                "format": "concise",
                "endpoint": {"uri": "http://h/n"},
            }
        ),
        now=NOW,
    )
    entity = {
        "id": "urn:x:1",
        "type": "T",
        "p": {"type": "Property", "value": 3},
        "r": {"type": "Relationship", "object": "urn:x:2"},
        "modifiedAt": "2026-03-01T00:00:00Z",
    }
    [shown] = render_all([entity], shape(s, jsonld.core()), lambda ids: {})
    assert shown == {"id": "urn:x:1", "type": "T", "p": 3}
    note = notification(s, [shown], at=NOW)
    assert note["type"] == "Notification" and note["subscriptionId"] == s.id
    assert note["notifiedAt"] == "2026-03-01T00:00:00Z" and note["data"] == [shown]
