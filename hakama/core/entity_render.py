"""A stored entity (see `hakama.core.entities`) as a client sees it: names compacted for its
@context, normalized, concise or keyValues, system attributes on request, one language. Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
    if sys_attrs and fmt != "keyValues":
        for member in SYSTEM_MEMBERS:
            if member in entity:
                out[member] = entity[member]
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
        if key in SYSTEM_MEMBERS:
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
