"""Request types (Open311 "services"), pure: what a citizen may ask a commune for, and how an
answer is checked. Not the open-data catalogue (`core/datasets.py`).

A service is defined for an area. A definition made at the province applies to every commune of
the province; a commune may override it (other department, other target time) or disable it.
`effective_catalogue` resolves what one commune offers. Attributes follow Open311 GeoReport v2
service definitions: datatypes string, number, datetime, text, singlevaluelist, multivaluelist.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from hakama.core.clock import parse_instant
from hakama.core.languages import pick

LANGUAGES = ("ar", "fr", "en", "zgh")  # zgh: Tamazight, in Tifinagh
SERVICE_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
ATTRIBUTE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_STRING = 200
MAX_TEXT = 4000

#: Icons the portal draws (static/icons/<icon>.svg); a service names one of them.
ICONS = (
    "lighting",
    "waste",
    "road",
    "water",
    "sewer",
    "tree",
    "animal",
    "noise",
    "dumping",
    "occupation",
    "document",
    "other",
)


class Datatype(StrEnum):
    """Open311 attribute datatypes."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"

    @property
    def is_list(self) -> bool:
        return self in (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST)


@dataclass(frozen=True)
class AttributeValue:
    """One choice of a list attribute: a stable key and its name per language."""

    key: str
    names: Mapping[str, str]

    def name(self, language: str) -> str:
        return pick(self.names, language) or self.key


@dataclass(frozen=True)
class ServiceAttribute:
    """A question asked when filing a request (Open311 `attribute`).

    `variable=False` marks an informational attribute: shown, never answered.
    """

    code: str
    datatype: Datatype
    descriptions: Mapping[str, str]
    required: bool = False
    order: int = 1
    variable: bool = True
    datatype_descriptions: Mapping[str, str] = field(default_factory=dict)
    values: tuple[AttributeValue, ...] = ()

    def description(self, language: str) -> str:
        return pick(self.descriptions, language) or self.code

    def value_keys(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.values)


@dataclass(frozen=True)
class Service:
    """A service one area offers: names ar/fr/en, who handles it, how fast it should be done.

    `department` is the handling department as requests store it (a key, in whatever language
    the catalogue was first written); `department_names` names it per language for the pages.
    `target_hours` is the time to resolve that the SLA clock counts from filing; `icon` names
    an icon of `ICONS` (for people who read little).
    """

    code: str
    area_code: str
    category: str
    names: Mapping[str, str]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    department: str = ""
    department_names: Mapping[str, str] = field(default_factory=dict)
    target_hours: float = 72.0
    icon: str = "other"
    keywords: tuple[str, ...] = ()
    group: str = ""
    attributes: tuple[ServiceAttribute, ...] = ()
    active: bool = True
    business_hours: bool = False  # count the target in working hours only

    def name(self, language: str) -> str:
        return pick(self.names, language) or self.code

    def description(self, language: str) -> str:
        return pick(self.descriptions, language)

    def department_name(self, language: str) -> str:
        return department_name(self.department, {self.department: self.department_names}, language)

    @property
    def has_metadata(self) -> bool:
        """Open311 `metadata`: whether the service has attributes to ask."""
        return bool(self.attributes)

    def attribute(self, code: str) -> ServiceAttribute | None:
        return next((a for a in self.attributes if a.code == code), None)


def department_names(services: Iterable[Service]) -> dict[str, Mapping[str, str]]:
    """Each department met in `services` (as requests store it) with its names per language;
    the first definition that names a department in a language gives that language's name."""
    found: dict[str, dict[str, str]] = {}
    for service in services:
        if not service.department:
            continue
        names = found.setdefault(service.department, {})
        for lang, text in service.department_names.items():
            names.setdefault(lang, text)
    return dict(found)


def department_name(
    department: str, names: Mapping[str, Mapping[str, str]], language: str
) -> str:
    """A stored department in `language`: its name there (Tamazight falls back to Arabic, as its
    pages do), else the stored text itself — what the catalogue was written in, or what an
    agent typed for a department the catalogue never named."""
    known = names.get(department) or {}
    for lang in (language, "ar") if language == "zgh" else (language,):
        if known.get(lang):
            return known[lang]
    return department


# Validation of definitions -------------------------------------------------------------------


def validate_service(service: Service) -> Service:
    """Check a definition before it is stored; raises ValueError with a clear message."""
    if not SERVICE_CODE.fullmatch(service.code):
        raise ValueError(
            f"service code {service.code!r} must be 1-64 lower-case letters, digits, '_', '.', '-'"
        )
    if not any(service.names.get(lang) for lang in LANGUAGES[:3]):
        raise ValueError(f"service {service.code}: a name in ar, fr or en is required")
    unknown = (set(service.names) | set(service.department_names)) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"service {service.code}: unknown languages {sorted(unknown)}")
    if service.department_names and not service.department:
        raise ValueError(f"service {service.code}: department names without a department")
    if not (0 < service.target_hours <= 24 * 366) or not math.isfinite(service.target_hours):
        raise ValueError(f"service {service.code}: target_hours must be between 0 and 8784")
    if service.icon not in ICONS:
        raise ValueError(f"service {service.code}: icon must be one of {', '.join(ICONS)}")
    if not service.category or len(service.category) > 64:
        raise ValueError(f"service {service.code}: category must be 1-64 characters")
    seen: set[str] = set()
    for attr in service.attributes:
        if not ATTRIBUTE_CODE.fullmatch(attr.code):
            raise ValueError(f"service {service.code}: attribute code {attr.code!r} is not valid")
        if attr.code in seen:
            raise ValueError(f"service {service.code}: attribute {attr.code!r} is listed twice")
        seen.add(attr.code)
        if attr.datatype.is_list and not attr.values:
            raise ValueError(f"service {service.code}: list attribute {attr.code!r} needs values")
        if not attr.datatype.is_list and attr.values:
            raise ValueError(f"service {service.code}: attribute {attr.code!r} is not a list")
        keys = attr.value_keys()
        if len(set(keys)) != len(keys):
            raise ValueError(f"service {service.code}: attribute {attr.code!r} repeats a value")
    return service


def effective_catalogue(definitions: Iterable[Service], area_chain: Sequence[str]) -> list[Service]:
    """The services offered in the area whose chain (leaf first) is given.

    For each code the definition made closest to the area wins; a disabled definition hides
    the service there even if a wider area offers it.
    """
    depth = {code: i for i, code in enumerate(area_chain)}
    best: dict[str, Service] = {}
    for service in definitions:
        if service.area_code not in depth:
            continue
        current = best.get(service.code)
        if current is None or depth[service.area_code] < depth[current.area_code]:
            best[service.code] = service
    return sorted(
        (s for s in best.values() if s.active), key=lambda s: (s.group, s.category, s.code)
    )


# Validation of answers -----------------------------------------------------------------------

Answer = str | float | list[str]


def parse_answers(service: Service, raw: Mapping[str, str | Sequence[str]]) -> dict[str, Answer]:
    """Check the answers to a service's attributes and return them normalised.

    `raw` maps attribute codes to a text value, or several for a multivaluelist. Raises
    ValueError naming the attribute on a missing required answer, an unknown attribute, a
    value of the wrong type or outside the list.
    """
    answers: dict[str, Answer] = {}
    for code in raw:
        if service.attribute(code) is None:
            raise ValueError(f"attribute {code!r} is not defined for service {service.code}")
    for attr in service.attributes:
        if not attr.variable:
            continue
        given = raw.get(attr.code)
        values = [given] if isinstance(given, str) else list(given or [])
        values = [v.strip() for v in values if v is not None and v.strip()]
        if not values:
            if attr.required:
                raise ValueError(f"attribute {attr.code!r} is required for service {service.code}")
            continue
        answers[attr.code] = _parse_answer(attr, values)
    return answers


def _parse_answer(attr: ServiceAttribute, values: list[str]) -> Answer:
    if attr.datatype is Datatype.MULTIVALUELIST:
        unknown = [v for v in values if v not in attr.value_keys()]
        if unknown:
            raise ValueError(f"attribute {attr.code!r}: {unknown[0]!r} is not one of its values")
        return sorted(set(values), key=attr.value_keys().index)
    if len(values) > 1:
        raise ValueError(f"attribute {attr.code!r} takes one value, not {len(values)}")
    value = values[0]
    if attr.datatype is Datatype.SINGLEVALUELIST:
        if value not in attr.value_keys():
            raise ValueError(f"attribute {attr.code!r}: {value!r} is not one of its values")
        return value
    if attr.datatype is Datatype.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"attribute {attr.code!r} must be a number, not {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"attribute {attr.code!r} must be a finite number")
        return number
    if attr.datatype is Datatype.DATETIME:
        return parse_datetime(value, what=f"attribute {attr.code!r}").isoformat()
    limit = MAX_STRING if attr.datatype is Datatype.STRING else MAX_TEXT
    if len(value) > limit:
        raise ValueError(f"attribute {attr.code!r} is longer than {limit} characters")
    return value


def parse_datetime(value: str, *, what: str = "date") -> datetime:
    """An ISO 8601 / W3C instant (with its offset, as Open311 dates are written)."""
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise ValueError(f"{what} must be an ISO 8601 date-time: {exc}") from None


def service_to_dict(service: Service) -> dict[str, Any]:
    """A plain JSON form of a definition (YAML import/export, the database row)."""
    return {
        "code": service.code,
        "area_code": service.area_code,
        "category": service.category,
        "names": dict(service.names),
        "descriptions": dict(service.descriptions),
        "department": service.department,
        "department_names": dict(service.department_names),
        "target_hours": service.target_hours,
        "icon": service.icon,
        "keywords": list(service.keywords),
        "group": service.group,
        "active": service.active,
        "business_hours": service.business_hours,
        "attributes": [attribute_to_dict(a) for a in service.attributes],
    }


def attribute_to_dict(attr: ServiceAttribute) -> dict[str, Any]:
    return {
        "code": attr.code,
        "datatype": attr.datatype.value,
        "descriptions": dict(attr.descriptions),
        "required": attr.required,
        "order": attr.order,
        "variable": attr.variable,
        "datatype_descriptions": dict(attr.datatype_descriptions),
        "values": [{"key": v.key, "names": dict(v.names)} for v in attr.values],
    }


def service_from_dict(data: Mapping[str, Any], *, area_code: str | None = None) -> Service:
    """Build a definition from its plain form; raises ValueError on anything malformed."""
    try:
        attributes = tuple(
            attribute_from_dict(a, order=i + 1) for i, a in enumerate(data.get("attributes") or [])
        )
        return validate_service(
            Service(
                code=str(data["code"]),
                area_code=str(area_code or data["area_code"]),
                category=str(data.get("category") or data["code"]),
                names=_lang_map(data.get("names"), "names"),
                descriptions=_lang_map(data.get("descriptions") or {}, "descriptions"),
                department=str(data.get("department") or ""),
                department_names=_lang_map(data.get("department_names") or {}, "department names"),
                target_hours=float(data.get("target_hours", 72)),
                icon=str(data.get("icon") or "other"),
                keywords=tuple(str(k) for k in data.get("keywords") or ()),
                group=str(data.get("group") or ""),
                attributes=attributes,
                active=bool(data.get("active", True)),
                business_hours=bool(data.get("business_hours", False)),
            )
        )
    except KeyError as exc:
        raise ValueError(f"service definition lacks {exc.args[0]!r}") from None
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"service definition is malformed: {exc}") from None


def attribute_from_dict(data: Mapping[str, Any], *, order: int = 1) -> ServiceAttribute:
    try:
        datatype = Datatype(str(data.get("datatype", "string")))
    except ValueError:
        raise ValueError(
            f"attribute datatype must be one of {', '.join(d.value for d in Datatype)}"
        ) from None
    values = tuple(
        AttributeValue(
            key=str(v["key"]), names=_lang_map(v.get("names") or {"fr": v["key"]}, "names")
        )
        for v in data.get("values") or []
    )
    return ServiceAttribute(
        code=str(data["code"]),
        datatype=datatype,
        descriptions=_lang_map(data.get("descriptions") or {}, "descriptions"),
        required=bool(data.get("required", False)),
        order=int(data.get("order", order)),
        variable=bool(data.get("variable", True)),
        datatype_descriptions=_lang_map(data.get("datatype_descriptions") or {}, "descriptions"),
        values=values,
    )


def _lang_map(value: Any, what: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"fr": value}
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must map languages (ar, fr, en) to text")
    return {str(k): str(v) for k, v in value.items() if v}
