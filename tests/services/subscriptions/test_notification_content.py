"""What a notification carries (clause 5.2.14 and the subscription's `notification` member):
linked entities (`join`), the representation asked for, system attributes, the @context."""

from __future__ import annotations

from typing import Any

from hakama.core.access import system_actor
from hakama.core.clock import utcnow
from hakama.services import entities, events, subscriptions
from hakama.services.platform import Platform
from tests.services.subscriptions.test_notifier import deliver

ADMIN = system_actor("test")
BUILDING = "urn:ngsi-ld:Building:tower"
CITY = "urn:ngsi-ld:City:paris"


def linked_entities(platform: Platform) -> None:
    entities.create(
        platform,
        {
            "id": CITY,
            "type": "City",
            "name": {"type": "Property", "value": "Paris"},
            "country": {"type": "Relationship", "object": "urn:ngsi-ld:Country:fr"},
        },
        actor=ADMIN,
    )
    entities.create(
        platform,
        {
            "id": BUILDING,
            "type": "Building",
            "locatedAt": {"type": "Relationship", "object": CITY},
        },
        actor=ADMIN,
    )


def notified(platform: Platform, receiver: Any, notification: dict[str, Any]) -> list[Any]:
    """Subscribe to buildings, name the building, and return the data notified."""
    subscriptions.install(platform)
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": receiver.url()}, **notification},
    }
    subscriptions.create(platform, body, actor=ADMIN)
    entities.append_attrs(
        platform, BUILDING, {"name": {"type": "Property", "value": "Tour"}}, actor=ADMIN
    )
    deliver(platform)
    data: list[Any] = receiver.wait_for(1)[0]["body"]["data"]
    return data


def test_join_flat_appends_the_linked_entities(sqlite_platform: Platform, receiver: Any) -> None:
    """SubscriptionNotificationBehaviour 046_23/24: `join: flat` notifies the linked entity
    after the notified one, once, with system attributes when `sysAttrs` asks."""
    linked_entities(sqlite_platform)
    data = notified(sqlite_platform, receiver, {"join": "flat", "joinLevel": 1, "sysAttrs": True})
    assert [e["id"] for e in data] == [BUILDING, CITY]
    assert data[0]["name"]["value"] == "Tour" and "createdAt" in data[0]["name"]
    assert data[1]["name"]["value"] == "Paris" and "modifiedAt" in data[1]


def test_join_inline_nests_the_linked_entity_and_keeps_its_attributes(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """046_29/30: `join: inline` puts the linked entity inside the relationship; the
    subscription's `attributes` select the notified entity's attributes only; `simplified`
    is keyValues."""
    linked_entities(sqlite_platform)
    data = notified(
        sqlite_platform,
        receiver,
        {"join": "inline", "attributes": ["locatedAt"], "format": "simplified"},
    )
    assert data == [
        {
            "id": BUILDING,
            "type": "Building",
            "locatedAt": {
                "id": CITY,
                "type": "City",
                "name": "Paris",
                "country": "urn:ngsi-ld:Country:fr",
            },
        }
    ]


def test_key_values_with_sys_attrs_carry_the_entity_timestamps(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """046_17: `sysAttrs` in a keyValues notification adds the entity's createdAt/modifiedAt."""
    linked_entities(sqlite_platform)
    data = notified(sqlite_platform, receiver, {"format": "keyValues", "sysAttrs": True})
    assert data[0]["name"] == "Tour"
    assert data[0]["createdAt"].endswith("Z") and data[0]["modifiedAt"].endswith("Z")


def publish_change(
    platform: Platform, before: dict[str, Any], after: dict[str, Any] | None
) -> None:
    events.publish(
        platform,
        events.EntityChanged(
            entity_id=before["id"],
            entity_type=before["type"],
            area_code=None,
            before=before,
            after=after,
            attributes=frozenset(k for k in before if k not in ("id", "type")),
            at=utcnow(),
        ),
    )


SHOP = {
    "id": "urn:ngsi-ld:Shop:1",
    "type": "Shop",
    "createdAt": "2026-01-01T00:00:00Z",
    "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place"}},
    "name": [
        {"type": "Property", "value": "a"},
        {"type": "Property", "value": "b", "datasetId": "urn:ngsi-ld:Dataset:fr"},
    ],
}


def deletion_notified(
    platform: Platform, receiver: Any, notification: dict[str, Any], after: Any, **extra: Any
) -> dict[str, Any]:
    subscriptions.install(platform)
    body = {
        "type": "Subscription",
        "entities": [{"type": "Shop"}],
        "notification": {"endpoint": {"uri": receiver.url()}, **notification},
        **extra,
    }
    subscriptions.create(platform, body, actor=ADMIN)
    publish_change(platform, SHOP, after)
    deliver(platform)
    data: dict[str, Any] = receiver.wait_for(1)[0]["body"]["data"][0]
    return data


def test_a_deleted_entity_is_notified_as_its_id_type_and_deleted_at(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """046_21_01/02, 046_22_12: an entityDeleted notification carries id, type, deletedAt
    (and the system attributes with sysAttrs), not the attributes."""
    data = deletion_notified(
        sqlite_platform,
        receiver,
        {"format": "keyValues", "sysAttrs": True},
        None,
        notificationTrigger=["entityDeleted"],
    )
    assert set(data) == {"id", "type", "createdAt", "deletedAt"}


def test_show_changes_on_a_deleted_entity_nulls_each_attribute_with_its_previous_value(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """046_37: with showChanges, the deleted entity's attributes are notified nulled with
    their previous values; a LanguageProperty's null is `{"@none": "urn:ngsi-ld:null"}`."""
    data = deletion_notified(
        sqlite_platform,
        receiver,
        {"showChanges": True},
        None,
        notificationTrigger=["entityDeleted"],
    )
    assert "deletedAt" in data
    assert data["street"] == {
        "type": "LanguageProperty",
        "languageMap": {"@none": "urn:ngsi-ld:null"},
        "previousLanguageMap": {"fr": "Grand Place"},
    }
    # Every instance gone: one null, with the default instance's previous value.
    assert data["name"] == {"type": "Property", "value": "urn:ngsi-ld:null", "previousValue": "a"}


def test_deleting_one_instance_is_an_attribute_deletion(
    sqlite_platform: Platform, receiver: Any
) -> None:
    """046_22_05/06: removing one datasetId instance fires attributeDeleted; the instance is
    notified nulled, with its deletedAt under sysAttrs."""
    after = {**SHOP, "name": SHOP["name"][0]}
    data = deletion_notified(
        sqlite_platform,
        receiver,
        {"sysAttrs": True},
        after,
        notificationTrigger=["attributeDeleted"],
        watchedAttributes=["name"],
    )
    gone = data["name"][1]
    assert gone["value"] == "urn:ngsi-ld:null" and gone["datasetId"] == "urn:ngsi-ld:Dataset:fr"
    assert gone["deletedAt"].endswith("Z")
