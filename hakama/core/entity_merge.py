"""Changing a stored entity (see `hakama.core.entities`): applying a fragment (append, update,
merge-patch), stamping system attributes, and which written attributes are history. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hakama.core.clock import format_instant
from hakama.core.entities import (
    ENTITY_MEMBERS,
    NULL_URI,
    SYSTEM_MEMBERS,
    VALUE_MEMBER,
    instances,
    is_null,
    types_of,
)


@dataclass(frozen=True)
class MergeResult:
    """The entity after applying a fragment, and which attributes changed or were refused."""

    entity: dict[str, Any]
    updated: tuple[str, ...]
    not_updated: tuple[tuple[str, str], ...]  # (attribute, reason)


def apply_fragment(
    entity: Mapping[str, Any],
    fragment: Mapping[str, Any],
    *,
    mode: Literal["append", "append_no_overwrite", "update", "merge"],
    now: datetime,
) -> MergeResult:
    """Apply attributes to an entity (stamping createdAt/modifiedAt).

    append: add or replace (POST .../attrs); append_no_overwrite: add only missing (noOverwrite);
    update: replace existing only, unknown attributes end in `not_updated` (PATCH .../attrs);
    merge: merge-patch semantics (PATCH /entities/{id}): sub-attributes merged. In every mode
    but append_no_overwrite, the value "urn:ngsi-ld:null" deletes the attribute. `type` in the fragment adds types (clause 5.6.3/5.6.17).
    """
    stamp = format_instant(now)
    result = dict(entity)
    updated: list[str] = []
    not_updated: list[tuple[str, str]] = []
    if "type" in fragment:
        merged = list(types_of(result))
        for kind in types_of(fragment):
            if kind not in merged:
                merged.append(kind)
        result["type"] = merged[0] if len(merged) == 1 else merged
    if "scope" in fragment:
        _apply_scope(result, fragment["scope"], mode, updated, not_updated)
    for name, attribute in fragment.items():
        if name in ENTITY_MEMBERS:
            continue
        if mode == "append" and _single(attribute) and not is_null(attribute):
            current = result.get(name)
            if current is None or _single(current):
                # The common write (one instance over at most one, no datasetId): what the
                # general path below does, without its per-attribute bookkeeping.
                created = current.get("createdAt", stamp) if current is not None else stamp
                result[name] = {**attribute, "createdAt": created, "modifiedAt": stamp}
                updated.append(name)
                continue
        old = instances(result.get(name))
        new = instances(attribute)
        if mode != "append_no_overwrite" and any(is_null(i) for i in new):
            # NGSI-LD Null deletes the instance of its datasetId (none: the default instance).
            gone = {i.get("datasetId") for i in new if is_null(i)}
            kept = [i for i in old if i.get("datasetId") not in gone]
            if len(kept) != len(old):
                updated.append(name)
            if kept:
                result[name] = kept[0] if len(kept) == 1 else kept
            else:
                result.pop(name, None)
            new = [i for i in new if not is_null(i)]
            if not new:
                continue
            old = kept
        by_dataset = {i.get("datasetId"): i for i in old}
        changed = False
        for instance in new:
            dataset = instance.get("datasetId")
            previous = by_dataset.get(dataset)
            if previous is None and mode == "update":
                not_updated.append(
                    (
                        name,
                        "attribute does not exist"
                        if not old
                        else f"no instance with datasetId {dataset!r}",
                    )
                )
                continue
            if previous is not None and mode == "append_no_overwrite":
                not_updated.append((name, "attribute exists and noOverwrite was asked"))
                continue
            if previous is not None and mode == "merge":
                instance = _merge_instance(previous, instance)
            fresh = dict(instance)
            fresh["createdAt"] = previous.get("createdAt", stamp) if previous else stamp
            fresh["modifiedAt"] = stamp
            by_dataset[dataset] = fresh
            changed = True
        if changed:
            kept = list(by_dataset.values())
            result[name] = kept[0] if len(kept) == 1 else kept
            updated.append(name)
    if updated or "type" in fragment:
        result["modifiedAt"] = stamp
    return MergeResult(result, tuple(updated), tuple(not_updated))


def _single(attribute: Any) -> bool:
    """Is this stored attribute one instance of the default dataset (no `datasetId`)?"""
    return type(attribute) is dict and "datasetId" not in attribute


def _apply_scope(
    result: dict[str, Any],
    scope: Any,
    mode: str,
    updated: list[str],
    not_updated: list[tuple[str, str]],
) -> None:
    """`scope` in a fragment (clause 4.18): replaces the entity's (append, merge, and update
    when it has one), is added to it with noOverwrite; NGSI-LD Null removes it."""
    if scope == NULL_URI:
        if mode != "append_no_overwrite" and result.pop("scope", None) is not None:
            updated.append("scope")
        return
    had = result.get("scope")
    if mode == "update" and had is None:
        not_updated.append(("scope", "the entity has no scope to update"))
        return
    if mode == "append_no_overwrite" and had is not None:
        old = [had] if isinstance(had, str) else list(had)
        new = [scope] if isinstance(scope, str) else list(scope)
        scope = list(dict.fromkeys([*old, *new]))
        scope = scope[0] if len(scope) == 1 else scope
    result["scope"] = scope
    updated.append("scope")


def _merge_instance(previous: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge-patch one attribute instance: members replaced, sub-attributes merged one level."""
    merged = dict(previous)
    if patch.get("type") != previous.get("type"):
        # A patch that changes the kind of attribute replaces it (value members differ).
        return dict(patch)
    for key, value in patch.items():
        if (
            isinstance(value, Mapping)
            and isinstance(merged.get(key), Mapping)
            and key not in VALUE_MEMBER.values()
        ):
            merged[key] = _merge_instance(merged[key], value)
        else:
            merged[key] = value
    return merged


def stamp_new(
    entity: Mapping[str, Any], now: datetime, created: datetime | str | None = None
) -> dict[str, Any]:
    """The entity with system attributes set: createdAt (kept from `created`), modifiedAt = now.

    Every attribute instance gets createdAt/modifiedAt = now (it is new or replaced).
    """
    stamp = format_instant(now)
    out: dict[str, Any] = {}
    for name, value in entity.items():
        if name in ENTITY_MEMBERS:
            if name in ("id", "type", "scope"):
                out[name] = value
            continue
        stamped = [{**i, "createdAt": stamp, "modifiedAt": stamp} for i in instances(value)]
        out[name] = stamped[0] if len(stamped) == 1 else stamped
    if isinstance(created, datetime):
        created = format_instant(created)
    out["createdAt"] = created or stamp
    out["modifiedAt"] = stamp
    return out


def changed_attributes(
    before: Mapping[str, Any] | None, written: Mapping[str, Any]
) -> dict[str, Any]:
    """The written attributes that are readings worth keeping as history.

    A Property is always a reading (a steady value at a new time is still news). The other
    kinds — locations, names, relationships, structured values — describe the entity rather
    than measure it, so rewriting them unchanged (a whole-entity upsert every minute) adds
    nothing to the lake and is left out.
    """
    if before is None:
        return dict(written)
    kept: dict[str, Any] = {}
    for name, attribute in written.items():
        if name in ENTITY_MEMBERS:
            continue
        new = instances(attribute)
        if all(i.get("type") == "Property" for i in new):
            if new:  # the common reading: nothing to compare, so nothing serialised
                kept[name] = new
            continue
        old = {_stripped(i) for i in instances(before.get(name))}
        fresh = [i for i in new if i.get("type") == "Property" or _stripped(i) not in old]
        if fresh:
            kept[name] = fresh
    return kept


def _stripped(instance: Mapping[str, Any]) -> str:
    """An instance without its system members, as a comparable key."""
    return json.dumps(
        {k: v for k, v in instance.items() if k not in SYSTEM_MEMBERS}, sort_keys=True, default=str
    )
