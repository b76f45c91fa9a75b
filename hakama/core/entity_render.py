"""A stored entity (see `hakama.core.entities`) as a client sees it: names compacted for its
@context, normalized, concise or keyValues, system attributes on request, one language; and
as one request or notification shows entities (`Shape`: `pick`/`omit`, `datasetId`, the
linked entities of `join`, clauses 4.21, 4.5.5, 4.5.23). Pure."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hakama.core.entities import (
    ATTRIBUTE_MEMBERS,
    ENTITY_MEMBERS,
    SYSTEM_MEMBERS,
    VALUE_MEMBER,
    Format,
    instances,
    types_of,
)
from hakama.core.jsonld import Context


def render(
    entity: Mapping[str, Any],
    context: Context,
    *,
    fmt: Format = "normalized",
    sys_attrs: bool = False,
    attrs: Collection[str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The entity as a client sees it: names compacted for `context`, the chosen representation,
    only `attrs` (canonical names) when given, system attributes on request, LanguageProperties
    reduced to one language when `lang` is given. No @context member (the router adds it)."""
    names = context.from_canonical
    types = [names(t) for t in types_of(entity)]
    out: dict[str, Any] = {"id": entity["id"], "type": types[0] if len(types) == 1 else types}
    if "scope" in entity:
        out["scope"] = entity["scope"]
    wanted = set(attrs) if attrs else None
    for name, attribute in entity.items():
        if name in ENTITY_MEMBERS or (wanted is not None and name not in wanted):
            continue
        rendered = [
            _render_instance(i, context, fmt, sys_attrs, lang) for i in instances(attribute)
        ]
        if fmt == "keyValues":
            default = next(
                (
                    r
                    for r, i in zip(rendered, instances(attribute), strict=True)
                    if "datasetId" not in i
                ),
                rendered[0],
            )
            out[names(name)] = default
        else:
            out[names(name)] = rendered[0] if len(rendered) == 1 else rendered
    if sys_attrs:  # the entity's own, in keyValues too (its attributes' have no place there)
        for member in SYSTEM_MEMBERS:
            if member in entity:
                out[member] = entity[member]
    if "deletedAt" in entity:  # a deleted entity, as notified (clause 4.5.5)
        out["deletedAt"] = entity["deletedAt"]
    return out


def _render_instance(
    instance: Mapping[str, Any], context: Context, fmt: Format, sys_attrs: bool, lang: str | None
) -> Any:
    kind = instance.get("type", "Property")
    member = VALUE_MEMBER.get(kind, "value")
    value = instance.get(member)
    if kind == "VocabProperty":
        value = (
            [context.from_canonical(v) for v in value]
            if isinstance(value, list)
            else context.from_canonical(str(value))
        )
    chosen: str | None = None
    if kind == "LanguageProperty" and lang is not None and isinstance(value, Mapping):
        chosen, value = _pick_language(value, lang)
        kind, member = "Property", "value"
    if fmt == "keyValues":
        return value
    out: dict[str, Any] = {"type": kind, member: value}
    if chosen is not None:
        out["lang"] = chosen
    for key, item in instance.items():
        if key in ("type", VALUE_MEMBER.get(instance.get("type", "Property"), "value")):
            continue
        if key in SYSTEM_MEMBERS or key == "deletedAt":
            if sys_attrs:
                out[key] = item
        elif key == "objectType":
            out[key] = (
                [context.from_canonical(t) for t in item]
                if isinstance(item, list)
                else context.from_canonical(item)
            )
        elif key in ATTRIBUTE_MEMBERS:
            out[key] = item
        else:
            out[context.from_canonical(key)] = _render_instance(item, context, fmt, sys_attrs, lang)
    if fmt == "concise":
        del out["type"]
        extra = set(out) - {member}
        simple = not isinstance(value, Mapping | list) or (kind == "GeoProperty")
        if not extra and simple and member == "value":
            return value
    return out


def _pick_language(language_map: Mapping[str, Any], lang: str) -> tuple[str, Any]:
    """The text for the first wanted language present (`lang` may be `fr,en` or `fr;q=1,ar;q=0.5`)."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(lang.split(",")):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            quality = 0.0
        wanted.append((-quality, index, tag.strip()))
    for _, _, tag in sorted(wanted):
        if tag in language_map:
            return tag, language_map[tag]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


#: A `pick`/`omit` expression: member names, each with the members of the entity it links to.
Projection = dict[str, "Projection | None"]
Spec = tuple[str, Projection]  # ("pick" | "omit", members)


def apply_spec(body: dict[str, Any], spec: Spec | None) -> dict[str, Any]:
    """Keep the picked members, or drop the omitted ones (a member followed by `{...}` is
    kept: the braces apply to the entity it links to)."""
    if spec is None:
        return body
    kind, members = spec
    if kind == "pick":
        return {k: v for k, v in body.items() if k in members}
    return {k: v for k, v in body.items() if k not in members or members[k] is not None}


def _nested(spec: Spec | None, name: str) -> Spec | None:
    if spec is None:
        return None
    child = spec[1].get(name)
    return (spec[0], child) if child else None


@dataclass(frozen=True)
class Shape:
    """How entities are rendered for one request: names, representation, projection, join."""

    context: Context
    fmt: Format
    sys_attrs: bool
    attrs: list[str]
    lang: str | None
    spec: Spec | None = None
    join: str | None = None
    level: int = 1
    datasets: tuple[str | None, ...] | None = None
    #: `containedBy`: ids of entities the client holds already, which `join` does not follow
    contained_by: frozenset[str] = frozenset()

    def one(self, doc: Mapping[str, Any], spec: Spec | None) -> dict[str, Any]:
        if self.datasets is not None:
            doc = _only_datasets(doc, self.datasets)
        rendered = render(
            doc,
            self.context,
            fmt=self.fmt,
            sys_attrs=self.sys_attrs,
            attrs=self.attrs or None,
            lang=self.lang,
        )
        return apply_spec(rendered, spec)


def _only_datasets(doc: Mapping[str, Any], datasets: tuple[str | None, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attribute in doc.items():
        if name in ENTITY_MEMBERS:
            out[name] = attribute
            continue
        kept = [i for i in instances(attribute) if i.get("datasetId") in datasets]
        if kept:
            out[name] = kept[0] if len(kept) == 1 else kept
    return out


def _links(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """The entities each relationship of an entity points to (canonical attribute names)."""
    out: dict[str, list[str]] = {}
    for name, attribute in doc.items():
        if name in ENTITY_MEMBERS:
            continue
        for instance in instances(attribute):
            kind = instance.get("type")
            found = instance.get("object") if kind == "Relationship" else None
            if kind == "ListRelationship":
                found = instance.get("objectList")
            for target in found if isinstance(found, list) else [found]:
                if isinstance(target, str) and target not in out.setdefault(name, []):
                    out[name].append(target)
    return out


def render_all(
    docs: list[dict[str, Any]],
    shape: Shape,
    fetch: Callable[[list[str]], Mapping[str, dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Render entities; with `join` (clause 4.5.23), the entities their relationships point
    to, up to `joinLevel` hops: inside the relationship (`inline`: an `entity` member, or the
    value itself in keyValues) or after the entities (`flat`, each once). Only relationships
    the projection keeps are followed; `rel{...}` projects the linked entity. Relationships to
    an entity of `shape.contained_by` are left as they are (the client holds it already).
    `fetch` reads the entities of a list of ids (those that exist)."""
    roots = [shape.one(d, shape.spec) for d in docs]
    if shape.join not in ("inline", "flat"):
        return roots
    flat: list[dict[str, Any]] = []
    seen = {d["id"] for d in docs}
    level = [(d, r, shape.spec) for d, r in zip(docs, roots, strict=True)]
    for _ in range(shape.level):
        wanted = {
            target for doc, _, _ in level for targets in _links(doc).values() for target in targets
        } - shape.contained_by
        if not wanted:
            break
        linked = fetch(sorted(wanted))
        following: list[tuple[dict[str, Any], dict[str, Any], Spec | None]] = []
        for doc, rendered, spec in level:
            for name, targets in _links(doc).items():
                public = shape.context.from_canonical(name)
                if public not in rendered:
                    continue
                child = _nested(spec, public)
                found = [(linked[t], shape.one(linked[t], child)) for t in targets if t in linked]
                if not found:
                    continue
                following.extend((d, r, child) for d, r in found)
                if shape.join == "flat":
                    for d, r in found:
                        if d["id"] not in seen:
                            seen.add(d["id"])
                            flat.append(r)
                    continue
                entities = [r for _, r in found]
                value = entities[0] if len(entities) == 1 else entities
                if shape.fmt == "keyValues" or not isinstance(rendered[public], dict):
                    rendered[public] = value
                else:
                    rendered[public]["entity"] = value
        level = following
    return roots + flat
