"""Administrative record types and the mappings that bring a commune's files onto them (pure).

A *record type* is one procedure family (civil-status extracts, legalisations, permits…): its
fields with their types and code lists, the fields that identify one record, and the fields that
are personal. Personal fields are dropped on the way in unless the type says the record cannot
serve without them (`keep: true`, e.g. the name on a civil-status extract that another commune
may ask for); they never reach the lake, open data or public pages.

Every type has the four fields the lake and the administration indicators read: `requested_at`,
`channel` (counter/online), `status` (delivered/pending/rejected) and `delivered_at`. A type
declares them only to change their labels.

A *mapping* says how one file's columns become a type's fields: which column (by any of several
names, French or Arabic) feeds which field, value maps (`"شباك": counter`), date formats, the
file's encoding and delimiter, the time zone of naive times. Without a mapping, a column named
like the field or like one of its labels (ar/fr/en) feeds it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from hakama.core.errors import Invalid

IDENT = re.compile(r"[a-z][a-z0-9_]{0,62}")


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    CODE = "code"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record type."""

    name: str
    type: FieldType
    required: bool = False
    codes: tuple[str, ...] = ()  # the allowed values of a `code` field
    personal: bool = False
    keep: bool = False  # a personal field the record cannot serve without: stored, never published
    max_length: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # column names per language

    @property
    def stored(self) -> bool:
        return not self.personal or self.keep


#: The fields every type has: what the lake dataset `admin_records` and the indicators read.
COMMON_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "requested_at",
        FieldType.DATETIME,
        required=True,
        labels={"fr": "date_demande", "ar": "تاريخ الطلب", "en": "requested at"},
    ),
    FieldSpec(
        "channel",
        FieldType.CODE,
        required=True,
        codes=("counter", "online"),
        labels={"fr": "canal", "ar": "القناة", "en": "channel"},
    ),
    FieldSpec(
        "status",
        FieldType.CODE,
        required=True,
        codes=("delivered", "pending", "rejected"),
        labels={"fr": "statut", "ar": "الحالة", "en": "status"},
    ),
    FieldSpec(
        "delivered_at",
        FieldType.DATETIME,
        labels={"fr": "date_delivrance", "ar": "تاريخ التسليم", "en": "delivered at"},
    ),
)
COMMON_NAMES = tuple(f.name for f in COMMON_FIELDS)


@dataclass(frozen=True)
class RecordType:
    """One procedure family's records: fields, identifying fields, the lake's service code."""

    id: str
    service: str  # the `service` column of the lake dataset (indicators group by it)
    names: Mapping[str, str]
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]  # the fields that identify one record within a commune
    origin: str = "<built-in>"

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def personal(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)

    @property
    def extra(self) -> tuple[FieldSpec, ...]:
        """The type's own fields (not the four common ones) that are stored."""
        return tuple(f for f in self.fields if f.name not in COMMON_NAMES and f.stored)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id


def _fail(origin: str, what: str, reason: str) -> Invalid:
    return Invalid(f"{origin}: {what}: {reason}", origin=origin)


def _labels(raw: Any, origin: str, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"en": raw}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise _fail(origin, what, "labels must map a language to a text")
    return dict(raw)


def parse_field(raw: Any, *, origin: str, type_id: str) -> FieldSpec:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise _fail(origin, f"type {type_id}", "each field needs a `name`")
    name = raw["name"]
    what = f"type {type_id}, field {name}"
    if not IDENT.fullmatch(name):
        raise _fail(origin, what, "a field name is lower-case letters, digits and _")
    unknown = set(raw) - {
        "name", "type", "required", "codes", "personal", "keep", "max_length", "labels",
    }  # fmt: skip
    if unknown:
        raise _fail(origin, what, f"unknown keys {sorted(unknown)}")
    try:
        kind = FieldType(raw.get("type", "string"))
    except ValueError:
        raise _fail(
            origin, what, f"type must be one of {', '.join(t.value for t in FieldType)}"
        ) from None
    codes = raw.get("codes") or ()
    if kind is FieldType.CODE and not codes:
        raise _fail(origin, what, "a code field needs its `codes`")
    if not isinstance(codes, Sequence) or isinstance(codes, str):
        raise _fail(origin, what, "codes must be a list")
    max_length = raw.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise _fail(origin, what, "max_length must be a positive integer")
    return FieldSpec(
        name=name,
        type=kind,
        required=bool(raw.get("required", False)),
        codes=tuple(str(c) for c in codes),
        personal=bool(raw.get("personal", False)),
        keep=bool(raw.get("keep", False)),
        max_length=max_length,
        labels=_labels(raw.get("labels"), origin, what),
    )


def parse_type(raw: Mapping[str, Any], *, origin: str = "<text>") -> RecordType:
    """One record type from its mapping; `Invalid` names the file and what is wrong."""
    type_id = raw.get("id")
    if not isinstance(type_id, str) or not IDENT.fullmatch(type_id):
        raise _fail(origin, "type", "`id` must be lower-case letters, digits and _")
    unknown = set(raw) - {"id", "service", "names", "fields", "key"}
    if unknown:
        raise _fail(origin, f"type {type_id}", f"unknown keys {sorted(unknown)}")
    declared = [parse_field(f, origin=origin, type_id=type_id) for f in raw.get("fields") or ()]
    by_name = {f.name: f for f in declared}
    if len(by_name) != len(declared):
        raise _fail(origin, f"type {type_id}", "a field is declared twice")
    fields: list[FieldSpec] = []
    for common in COMMON_FIELDS:
        own = by_name.pop(common.name, None)
        if own is not None and (own.type, own.codes) != (common.type, common.codes):
            raise _fail(
                origin, f"type {type_id}, field {common.name}", "a common field keeps its type"
            )
        fields.append(own or common)
    fields.extend(f for f in declared if f.name in by_name)
    key = raw.get("key")
    if not isinstance(key, Sequence) or isinstance(key, str) or not key:
        raise _fail(origin, f"type {type_id}", "`key` lists the fields that identify a record")
    names = {f.name: f for f in fields}
    for name in key:
        if name not in names:
            raise _fail(origin, f"type {type_id}", f"key field {name!r} is not a field")
        if not names[name].stored:
            raise _fail(
                origin,
                f"type {type_id}",
                f"key field {name!r} is personal: mark it `keep: true` to identify by it",
            )
    service = raw.get("service", type_id)
    if not isinstance(service, str) or not IDENT.fullmatch(service):
        raise _fail(origin, f"type {type_id}", "`service` is a lower-case code")
    return RecordType(
        id=type_id,
        service=service,
        names=_labels(raw.get("names"), origin, f"type {type_id}") or {"en": type_id},
        fields=tuple(fields),
        key=tuple(str(k) for k in key),
        origin=origin,
    )


def load_types(folders: Sequence[Path]) -> list[RecordType]:
    """The types of every `*.yaml` in `folders`; a later id replaces an earlier one."""
    by_id: dict[str, RecordType] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise Invalid(f"{path}: not readable YAML ({exc})") from None
            items = loaded if isinstance(loaded, list) else [loaded]
            for raw in items:
                if not isinstance(raw, Mapping):
                    raise Invalid(f"{path}: each record type is a mapping")
                t = parse_type(raw, origin=str(path))
                by_id[t.id] = t
    return sorted(by_id.values(), key=lambda t: t.id)


# Mappings -------------------------------------------------------------------------------------

ENCODINGS = {
    "auto": "auto",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "windows-1256": "cp1256",
    "cp1256": "cp1256",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso-8859-6": "iso8859_6",
}


@dataclass(frozen=True)
class ColumnMapping:
    """How one file's columns become a record type's fields."""

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field → column names
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field → {in: out}
    dates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field → strptime formats
    defaults: Mapping[str, str] = field(default_factory=dict)  # field → value when no column
    encoding: str = "auto"
    delimiter: str | None = None  # None: guess from the header line
    sheet: str | None = None  # XLSX: the sheet to read (default the first)
    timezone: str = "Africa/Casablanca"  # of times written without an offset
    type: str | None = None  # the record type the mapping was written for


NO_MAPPING = ColumnMapping()


def parse_mapping(raw: Any, *, origin: str = "<mapping>") -> ColumnMapping:
    """A mapping from its YAML mapping; `Invalid` says what is wrong."""
    if raw is None:
        return NO_MAPPING
    if not isinstance(raw, Mapping):
        raise Invalid(f"{origin}: a mapping is a YAML mapping")
    unknown = set(raw) - {
        "columns", "values", "dates", "defaults", "encoding", "delimiter", "sheet", "timezone", "type",
    }  # fmt: skip
    if unknown:
        raise Invalid(f"{origin}: unknown keys {sorted(unknown)}")

    def names(value: Any, what: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise Invalid(f"{origin}: {what} must be a text or a list of texts")

    columns = {str(k): names(v, f"columns.{k}") for k, v in (raw.get("columns") or {}).items()}
    dates = {str(k): names(v, f"dates.{k}") for k, v in (raw.get("dates") or {}).items()}
    values: dict[str, dict[str, str]] = {}
    for k, v in (raw.get("values") or {}).items():
        if not isinstance(v, Mapping):
            raise Invalid(f"{origin}: values.{k} maps a file's value to a code")
        values[str(k)] = {str(a).strip(): str(b) for a, b in v.items()}
    encoding = str(raw.get("encoding", "auto")).lower()
    if encoding not in ENCODINGS:
        raise Invalid(f"{origin}: encoding must be one of {', '.join(sorted(ENCODINGS))}")
    delimiter = raw.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise Invalid(f"{origin}: delimiter is one character")
    return ColumnMapping(
        columns=columns,
        values=values,
        dates=dates,
        defaults={str(k): str(v) for k, v in (raw.get("defaults") or {}).items()},
        encoding=ENCODINGS[encoding],
        delimiter=delimiter,
        sheet=raw.get("sheet"),
        timezone=str(raw.get("timezone", "Africa/Casablanca")),
        type=raw.get("type"),
    )


def load_mapping(text: str, *, origin: str = "<mapping>") -> ColumnMapping:
    try:
        return parse_mapping(yaml.safe_load(text) if text.strip() else None, origin=origin)
    except yaml.YAMLError as exc:
        raise Invalid(f"{origin}: not readable YAML ({exc})") from None


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").strip().casefold().split())


def resolve_columns(
    record_type: RecordType, mapping: ColumnMapping, header: Sequence[str]
) -> dict[str, str]:
    """Which file column feeds each field: {field: column}. Raises `Invalid` naming the
    required fields no column (and no default) feeds, and the columns the file has."""
    present = {_norm(h): h for h in header}
    chosen: dict[str, str] = {}
    for spec in record_type.fields:
        candidates = mapping.columns.get(spec.name) or (spec.name, *spec.labels.values())
        for candidate in candidates:
            found = present.get(_norm(candidate))
            if found is not None:
                chosen[spec.name] = found
                break
    for name in mapping.columns:
        if name not in {f.name for f in record_type.fields}:
            raise Invalid(f"the mapping names {name!r}, which is not a field of {record_type.id}")
    missing = [
        f.name
        for f in record_type.fields
        if f.required and f.name not in chosen and f.name not in mapping.defaults
    ]
    missing += [k for k in record_type.key if k not in chosen and k not in missing]
    if missing:
        wanted = ", ".join(
            f"{m} (" + " / ".join(mapping.columns.get(m) or _candidates(record_type, m)) + ")"
            for m in missing
        )
        raise Invalid(
            f"missing columns for {wanted}; the file has: {', '.join(header) or 'no header'}",
            missing=missing,
            header=list(header),
        )
    return chosen


def _candidates(record_type: RecordType, name: str) -> tuple[str, ...]:
    spec = record_type.field(name)
    return (spec.name, *spec.labels.values())
