"""Validating a batch of record rows against their type, column by column (pure, vectorised).

This is hakama's table validator: the checks a table-validation library such as frictionless
makes (required, type, format, enum, max length, unique key), written as Arrow compute kernels
over whole columns so that a million rows validate in about a second (benchmarks/records_import.py)
instead of row by row in Python. Each failed check gives one error per row: the line, the file's
column, the value (withheld when the field is personal) and the reason.

What comes out per batch: the rows that passed, normalised to the type's fields (times in UTC,
codes in lower case, personal fields not kept dropped), and the errors. Rows of a batch are
never partly kept: a row with any error is out. Keys repeated across batches are checked by
the caller (`duplicate_errors`), which sees the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hakama.core.records import ColumnMapping, FieldSpec, FieldType, RecordType

TS = pa.timestamp("us", tz="UTC")
KEY_SEPARATOR = "\x1f"
FUTURE_SLACK = timedelta(minutes=10)  # clocks of the communes' systems drift

ERRORS_SCHEMA = pa.schema(
    [("line", pa.int64()), ("column", pa.string()), ("value", pa.string()), ("reason", pa.string())]
)

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")
NAIVE_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    *DATE_FORMATS,
)
AWARE_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M%z")
TRUE_WORDS = ("true", "yes", "oui", "1", "نعم", "vrai")
FALSE_WORDS = ("false", "no", "non", "0", "لا", "faux")
ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.CODE: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: TS,
    FieldType.BOOLEAN: pa.bool_(),
}


def normalised_schema(record_type: RecordType) -> pa.Schema:
    """Columns of validated rows: line, key, then every stored field in the type's order."""
    stored = [f for f in record_type.fields if f.stored]
    return pa.schema(
        [("line", pa.int64()), ("key", pa.string())]
        + [(f.name, ARROW_TYPES[f.type]) for f in stored]
    )


@dataclass(frozen=True)
class Checked:
    valid: pa.RecordBatch  # normalised_schema
    errors: pa.Table  # ERRORS_SCHEMA
    rows: int


@dataclass(frozen=True)
class _Problem:
    mask: pa.Array  # bool, True where the row fails
    column: str
    values: pa.Array  # the raw text of each row
    reason: str | pa.Array
    personal: bool


def check(
    batch: pa.RecordBatch,
    lines: np.ndarray,
    *,
    record_type: RecordType,
    mapping: ColumnMapping,
    columns: dict[str, str],
    now: datetime,
) -> Checked:
    """Validate and normalise one batch (`columns`: field → file column, from resolve_columns)."""
    n = batch.num_rows
    problems: list[_Problem] = []
    out: dict[str, pa.Array] = {}
    horizon = pa.scalar(now + FUTURE_SLACK, TS)
    raw_text: dict[str, pa.Array] = {}
    for spec in record_type.fields:
        column = columns.get(spec.name, spec.name)
        raw = batch.column(columns[spec.name]) if spec.name in columns else pa.nulls(n, pa.string())
        raw_text[spec.name] = raw
        text = _clean(raw)
        if spec.name in mapping.defaults:
            text = pc.fill_null(text, mapping.defaults[spec.name])
        if spec.name in mapping.values:
            text = _map_values(text, mapping.values[spec.name])
        value, bad, reason = _convert(spec, text, mapping)

        def add(
            mask: pa.Array,
            why: str | pa.Array,
            *,
            c: str = column,
            t: pa.Array = raw,
            personal: bool = spec.personal,
        ) -> None:
            problems.append(_Problem(mask, c, t, why, personal))

        if bad is not None:
            add(bad, reason)
        if spec.required or spec.name in record_type.key:
            add(pc.is_null(text), "required, empty")
        if spec.max_length is not None and spec.type is FieldType.STRING:
            add(
                pc.fill_null(pc.greater(pc.utf8_length(value), spec.max_length), False),
                f"longer than {spec.max_length} characters",
            )
        if spec.type is FieldType.DATETIME:
            add(pc.fill_null(pc.greater(value, horizon), False), "in the future")
        if spec.type is FieldType.DATE:
            today = pa.scalar(now.date(), pa.date32())
            add(pc.fill_null(pc.greater(value, today), False), "in the future")
        if spec.stored:
            out[spec.name] = value
    delivered, requested = out["delivered_at"], out["requested_at"]
    problems.append(
        _Problem(
            pc.fill_null(pc.less(delivered, requested), False),
            columns.get("delivered_at", "delivered_at"),
            raw_text["delivered_at"],
            "before requested_at",
            False,
        )
    )
    failed = np.zeros(n, dtype=bool)
    for p in problems:
        failed |= np.asarray(p.mask.to_numpy(zero_copy_only=False), dtype=bool)
    keep = pa.array(~failed)
    key = _key(record_type, out)
    schema = normalised_schema(record_type)
    arrays = [pa.array(lines, pa.int64()), key] + [out[f.name] for f in list(schema)[2:]]
    valid = pa.RecordBatch.from_arrays(
        [pc.filter(a, keep) for a in arrays],
        schema=schema,
    )
    return Checked(valid=valid, errors=_errors(problems, lines), rows=n)


def _clean(raw: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(pc.cast(raw, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _map_values(text: pa.Array, table: Mapping[str, str]) -> pa.Array:
    keys = pa.array([k.casefold() for k in table], pa.string())
    targets = pa.array(list(table.values()), pa.string())
    index = pc.index_in(pc.utf8_lower(text), value_set=keys)
    return pc.coalesce(pc.take(targets, index), text)


def _convert(
    spec: FieldSpec, text: pa.Array, mapping: ColumnMapping
) -> tuple[pa.Array, pa.Array | None, str | pa.Array]:
    """The typed column, the mask of rows whose text is not of the type, and why."""
    present = pc.is_valid(text)
    kind = spec.type
    if kind is FieldType.STRING:
        return text, None, ""
    if kind is FieldType.CODE:
        lowered = pc.utf8_lower(text)
        known = pc.is_in(lowered, value_set=pa.array(spec.codes, pa.string()))
        bad = pc.and_(present, pc.invert(known))
        return lowered, bad, f"unknown code (allowed: {', '.join(spec.codes)})"
    if kind is FieldType.INTEGER:
        ok = pc.match_substring_regex(text, r"^[+-]?\d{1,18}$")
        value = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.int64())
        return value, pc.and_(present, pc.invert(pc.fill_null(ok, False))), "not a whole number"
    if kind is FieldType.NUMBER:
        dotted = pc.replace_substring(text, ",", ".")
        ok = pc.match_substring_regex(dotted, r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
        value = pc.cast(pc.if_else(ok, dotted, pa.scalar(None, pa.string())), pa.float64())
        return value, pc.and_(present, pc.invert(pc.fill_null(ok, False))), "not a number"
    if kind is FieldType.BOOLEAN:
        lowered = pc.utf8_lower(text)
        yes = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
        no = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
        value = pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
        return value, pc.and_(present, pc.is_null(value)), "not yes/no"
    formats = mapping.dates.get(spec.name)
    if kind is FieldType.DATE:
        parsed = _parse_times(text, formats or DATE_FORMATS, ())
        value = pc.cast(parsed, pa.date32())
        return value, pc.and_(present, pc.is_null(value)), _format_reason(formats or DATE_FORMATS)
    naive = formats or NAIVE_TIME_FORMATS
    aware = () if formats else AWARE_TIME_FORMATS
    value = _to_utc(text, naive, aware, mapping.timezone)
    return value, pc.and_(present, pc.is_null(value)), _format_reason(naive)


def _format_reason(formats: Sequence[str]) -> str:
    shown = ", ".join(f.replace("%", "").replace("Y", "YYYY") for f in formats[:3])
    return f"not a date/time in a known format ({shown}…)"


def _parse_times(text: pa.Array, naive: Sequence[str], aware: Sequence[str]) -> pa.Array:
    out = pa.nulls(len(text), pa.timestamp("us"))
    for fmt in naive:
        out = pc.coalesce(out, _strptime(text, fmt))
    return out


_TOKENS = {
    "%Y": r"(?P<y>\d{4})",
    "%m": r"(?P<mo>\d{1,2})",
    "%d": r"(?P<d>\d{1,2})",
    "%H": r"\d{1,2}",
    "%M": r"\d{1,2}",
    "%S": r"\d{1,2}",
    "%z": r"[+-]\d{4}",
}
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _format_regex(fmt: str) -> str:
    out, i = "^", 0
    while i < len(fmt):
        token = fmt[i : i + 2]
        if token in _TOKENS:
            out, i = out + _TOKENS[token], i + 2
        else:
            out, i = out + re.escape(fmt[i]), i + 1
    return out + "$"


def _strptime(text: pa.Array, fmt: str) -> pa.Array:
    """strptime that refuses days a month does not have (Arrow's rolls 31/02 over to March).

    A rolled-over date lands on day 1 to 3 of the next month, so only those rows are checked
    against the day and month the text says."""
    parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
    if not all(t in fmt for t in ("%Y", "%m", "%d")):
        return parsed
    suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)
    if not pc.any(suspect).as_py():
        return parsed
    where = pc.indices_nonzero(suspect)
    parts = pc.extract_regex(pc.take(text, where), _format_regex(fmt))

    def number(name: str) -> np.ndarray:
        field = pc.fill_null(pc.cast(pc.struct_field(parts, name), pa.int64()), 0)
        return np.asarray(field.to_numpy(zero_copy_only=False), dtype=np.int64)

    year, month, day = number("y"), number("mo"), number("d")
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    last = _MONTH_DAYS[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    unreal = ~(month_ok & (day >= 1) & (day <= last))
    if not unreal.any():
        return parsed
    bad = np.zeros(len(text), dtype=bool)
    bad[where.to_numpy()[unreal]] = True
    return pc.if_else(pa.array(bad), pa.scalar(None, parsed.type), parsed)


def _to_utc(text: pa.Array, naive: Sequence[str], aware: Sequence[str], tz: str) -> pa.Array:
    tidy = text
    if aware:  # ISO forms: fractions of a second, "Z" and "+01:00" as strptime's %z reads them
        tidy = pc.replace_substring_regex(tidy, r"(\d\d:\d\d:\d\d)[.,]\d+", r"\1")
        tidy = pc.replace_substring_regex(tidy, r"Z$", "+0000")
        tidy = pc.replace_substring_regex(tidy, r"([+-]\d\d):(\d\d)$", r"\1\2")
    local = _parse_times(tidy, naive, ())
    result = pc.assume_timezone(local, tz, ambiguous="earliest", nonexistent="earliest")
    for fmt in aware:
        parsed = _strptime(tidy, fmt)
        result = pc.coalesce(pc.cast(result, TS), pc.cast(parsed, TS))
    return pc.cast(result, TS)


def _key(record_type: RecordType, out: dict[str, pa.Array]) -> pa.Array:
    parts = [pc.cast(out[name], pa.string()) for name in record_type.key]
    if len(parts) == 1:
        return parts[0]
    joined: pa.Array = pc.binary_join_element_wise(*parts, KEY_SEPARATOR)
    return joined


def _errors(problems: list[_Problem], lines: np.ndarray) -> pa.Table:
    line_array = pa.array(lines, pa.int64())
    parts: list[pa.Table] = []
    for p in problems:
        mask = pc.fill_null(p.mask, False)
        if not pc.any(mask).as_py():
            continue
        count = int(pc.sum(mask).as_py())
        values = (
            pa.array(["(personal, not shown)"] * count, pa.string())
            if p.personal
            else pc.filter(pc.cast(p.values, pa.string()), mask)
        )
        reason = (
            pa.array([p.reason] * count, pa.string())
            if isinstance(p.reason, str)
            else pc.filter(p.reason, mask)
        )
        parts.append(
            pa.table(
                [pc.filter(line_array, mask), pa.array([p.column] * count), values, reason],
                schema=ERRORS_SCHEMA,
            )
        )
    if not parts:
        return ERRORS_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def duplicate_errors(
    keys: pa.Array, lines: pa.Array, key_label: str, column: str | None = None
) -> tuple[pa.Table, set[int]]:
    """Rows whose key another row of the file also has: one error each, naming the first line.

    Returns the errors and the lines to drop (every row of a repeated key: which one is right
    is not for hakama to guess)."""
    table = pa.table({"key": keys, "line": lines})
    first = table.group_by("key").aggregate([("line", "min"), ("line", "count")])
    repeated = first.filter(pc.greater(first["line_count"], 1))
    if repeated.num_rows == 0:
        return ERRORS_SCHEMA.empty_table(), set()
    joined = table.join(repeated, "key", join_type="inner")
    joined = joined.sort_by("line")
    dup_lines = joined["line"].to_pylist()
    firsts = joined["line_min"].to_pylist()
    reasons = [
        f"same {key_label} as line {f}" if f != line else f"{key_label} repeated further down"
        for line, f in zip(dup_lines, firsts, strict=True)
    ]
    errors = pa.table(
        [
            pa.array(dup_lines, pa.int64()),
            pa.array([column or key_label] * len(dup_lines)),
            pc.cast(joined["key"], pa.string()),
            pa.array(reasons, pa.string()),
        ],
        schema=ERRORS_SCHEMA,
    )
    return errors, set(dup_lines)
