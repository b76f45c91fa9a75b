"""NGSI-LD notifications, pure: which triggers an entity change sets off (clause 5.2.12), the
entity a notification carries (its removed instances nulled, `showChanges`), how a subscription
shapes it, and the notification body (clause 5.2.14). What a subscription is and how one is
accepted stays in `core.subscriptions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hakama.core import jsonld
from hakama.core.clock import format_instant
from hakama.core.entities import NULL_URI, VALUE_MEMBER, instances
from hakama.core.entity_render import Shape, Spec
from hakama.core.subscriptions import CORE_MEMBERS, Subscription, Trigger


def change_triggers(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, changed: frozenset[str]
) -> dict[Trigger, frozenset[str]]:
    """Which triggers an entity change sets off, each with the attributes it concerns."""
    attrs_before = frozenset(before or {}) - CORE_MEMBERS
    attrs_after = frozenset(after or {}) - CORE_MEMBERS
    if before is None and after is not None:
        return {Trigger.ENTITY_CREATED: attrs_after, Trigger.ATTRIBUTE_CREATED: attrs_after}
    if after is None:
        return {Trigger.ENTITY_DELETED: attrs_before, Trigger.ATTRIBUTE_DELETED: attrs_before}
    created = attrs_after - attrs_before
    # An attribute loses an instance (one datasetId) as it would lose itself whole.
    deleted = attrs_before - attrs_after | frozenset(
        name
        for name in attrs_after & attrs_before
        if {i.get("datasetId") for i in instances((before or {}).get(name))}
        - {i.get("datasetId") for i in instances(after.get(name))}
    )
    updated = (changed & attrs_after & attrs_before) | frozenset(
        name
        for name in attrs_after & attrs_before
        if before is not None and before.get(name) != after.get(name)
    )
    out: dict[Trigger, frozenset[str]] = {Trigger.ENTITY_UPDATED: created | deleted | updated}
    if created:
        out[Trigger.ATTRIBUTE_CREATED] = created
    if deleted:
        out[Trigger.ATTRIBUTE_DELETED] = deleted
    if updated:
        out[Trigger.ATTRIBUTE_UPDATED] = updated
    return out


def notified_entity(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    at: datetime,
    show_changes: bool = False,
) -> dict[str, Any]:
    """The entity a notification carries (clause 4.5.5, 5.8.6): its state after the change,
    where each attribute instance the change removed appears with NGSI-LD Null as value and
    its `deletedAt` (one instance for an attribute removed whole); a deleted entity is its id,
    type, system attributes and `deletedAt`. With `show_changes` (clause 4.5.18) a deleted
    entity keeps its attributes, nulled, and every changed instance its `previous…` value."""
    if after is not None and before is None:
        return dict(after)
    stamp = format_instant(at.astimezone(UTC))
    if after is None:
        base = {k: v for k, v in (before or {}).items() if k in CORE_MEMBERS}
        base["deletedAt"] = stamp
        if not show_changes:
            return base
    else:
        base = dict(after)
    for name, attribute in (before or {}).items():
        if name in CORE_MEMBERS:
            continue
        kept = instances(base.get(name))
        datasets = {i.get("datasetId") for i in kept}
        gone = [i for i in instances(attribute) if i.get("datasetId") not in datasets]
        if not kept and len(gone) > 1:  # every instance deleted: the attribute is gone
            gone = [{"type": gone[0].get("type", "Property")}]
        nulled = [_nulled(i, stamp) for i in gone]
        if nulled:
            merged = [*kept, *nulled]
            base[name] = merged[0] if len(merged) == 1 else merged
    return with_previous(base, before) if show_changes else base


def _nulled(instance: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    """A deleted attribute instance as notified: its type, NGSI-LD Null, its datasetId."""
    kind = instance.get("type", "Property")
    null: Any = {"@none": NULL_URI} if kind == "LanguageProperty" else NULL_URI
    out = {"type": kind, VALUE_MEMBER.get(kind, "value"): null, "deletedAt": stamp}
    if "datasetId" in instance:
        out["datasetId"] = instance["datasetId"]
    return out


def with_previous(entity: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any]:
    """`showChanges` (clause 5.2.12): each instance that changed carries its value before the
    change as `previousValue` (`previousObject`, `previousLanguageMap`, `previousJson`…)."""
    out = dict(entity)
    for name, attribute in entity.items():
        if name in CORE_MEMBERS or before is None:
            continue
        old = {i.get("datasetId"): i for i in instances(before.get(name))}
        changed = []
        for instance in instances(attribute):
            previous = old.get(instance.get("datasetId"))
            member = VALUE_MEMBER.get(instance.get("type", "Property"), "value")
            if (
                previous is not None
                and member in previous
                and previous[member] != instance.get(member)
            ):
                key = "previous" + member[0].upper() + member[1:]
                instance = {**instance, key: previous[member]}
            changed.append(instance)
        out[name] = changed[0] if len(changed) == 1 else changed
    return out


def shape(sub: Subscription, context: jsonld.Context) -> Shape:
    """How this subscription's notifications carry entities: only `notification.attributes`
    (all when none) or its `pick`/`omit`, in its format, with the subscriber's names, system
    attributes only when `notification.sysAttrs` asks, and the linked entities of `join`."""
    note = sub.body.get("notification", {})
    join = note.get("join") if note.get("join") in ("flat", "inline") else None
    names = [context.from_canonical(a) for a in sub.attributes]
    spec: Spec | None = None
    attrs = list(sub.attributes)
    if join is not None and attrs:
        # `attributes` selects the notified entity's, not those of the entities it links to.
        spec = ("pick", dict.fromkeys([*CORE_MEMBERS, *names]))
        attrs = []
    for kind in ("pick", "omit"):
        members = note.get(kind)
        if isinstance(members, list) and members:
            spec = (kind, dict.fromkeys(m for m in members if isinstance(m, str)))
    datasets = sub.body.get("datasetId")
    if datasets is not None:
        listed = datasets if isinstance(datasets, list) else [datasets]
        datasets = tuple(None if d == "@none" else d for d in listed)
    return Shape(
        context,
        sub.format,  # type: ignore[arg-type]  # checked by `parse`
        bool(note.get("sysAttrs", False)),
        attrs,
        None,
        spec,
        join,
        note.get("joinLevel", 1),
        datasets,
    )


def notification(
    sub: Subscription, entities: Sequence[Mapping[str, Any]], *, at: datetime
) -> dict[str, Any]:
    """The notification body (clause 5.2.14) for `entities`, already projected."""
    return {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4().hex}",
        "type": "Notification",
        "subscriptionId": sub.id,
        "notifiedAt": format_instant(at.astimezone(UTC)),
        "data": list(entities),
    }
