"""Entity queries in SQL: a `q=` expression and a geo-query's box as SQL conditions.

Both are *prefilters*: a condition keeps every entity the exact test in Python
(`ngsi_query.matches`, `ngsi_query.geo_matches`) would keep, and drops as many of the others as
SQL can tell apart. The exact test still runs on what SQL returns, so results are those of the
Python filter alone; what SQL cannot express (sub-attributes, keys, regular expressions,
dates, lists, ranges, absence, multi-instance attributes, non-scalar values) is left to it.

What SQL decides: a comparison `attr op value` (op `==`, `!=`, `<`, `<=`, `>`, `>=`; value a
number or a string) when the attribute is one instance whose `value` is a scalar, combined with
`;` and `|`. Numbers compare as numbers, strings by code point (SQLite's binary collation,
PostgreSQL's "C"), so the two engines and Python agree.

Geo: `entities.geo_cell` holds the cell of a fixed grid (`CELL_DEGREES`) holding the whole
bounding box of `location`, or `LARGE` when the box spans cells; a query box becomes the list of
cells it covers (plus `LARGE`), a B-tree lookup on both engines, then the box columns.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hakama.core.ngsi_query import And, Comparison, Not, Or, Query
from hakama.storage.schema_entities import entities

CELL_DEGREES = 0.02  # about 2 km of latitude
_COLUMNS = round(360 / CELL_DEGREES) + 1
LARGE = -1  # the cell of a box that spans more than one cell
MAX_CELLS = 2000  # a wider query box is filtered on the box columns alone
_OPS = ("==", "!=", "<", "<=", ">", ">=")
_INT64 = 2**63 - 1


# --------------------------------------------------------------------------- geo


def _column(lon: float) -> int:
    return math.floor((lon + 180.0) / CELL_DEGREES)


def _row(lat: float) -> int:
    return math.floor((lat + 90.0) / CELL_DEGREES)


def cell_of(box: tuple[float, float, float, float] | None) -> int | None:
    """The grid cell holding a whole (min_lon, min_lat, max_lon, max_lat) box, `LARGE` if it
    spans cells, None without a box."""
    if box is None:
        return None
    column, row = _column(box[0]), _row(box[1])
    if column != _column(box[2]) or row != _row(box[3]):
        return LARGE
    return row * _COLUMNS + column


def _cells(box: tuple[float, float, float, float]) -> list[int] | None:
    """The cells `box` covers, None when more than `MAX_CELLS`."""
    columns = range(_column(max(box[0], -180.0)), _column(min(box[2], 180.0)) + 1)
    rows = range(_row(max(box[1], -90.0)), _row(min(box[3], 90.0)) + 1)
    if len(columns) * len(rows) > MAX_CELLS:
        return None
    return [r * _COLUMNS + k for r in rows for k in columns]


def uses_cells(box: tuple[float, float, float, float]) -> bool:
    """Is `box` small enough to be read cell by cell (`ids_in_box`)?"""
    return _cells(box) is not None


def box_condition(box: tuple[float, float, float, float]) -> sa.ColumnElement[bool]:
    """Entities whose `location` box meets `box`: the cells it covers, then the box columns."""
    c = entities.c
    overlap = [c.min_lon <= box[2], c.max_lon >= box[0], c.min_lat <= box[3], c.max_lat >= box[1]]
    cells = _cells(box)
    if cells is None:
        return sa.and_(c.min_lon.is_not(None), *overlap)
    return sa.and_(c.geo_cell.in_([*cells, LARGE]), *overlap)


def ids_in_box(box: tuple[float, float, float, float]) -> sa.Select[Any]:
    """The ids of the entities whose `location` box meets `box`, ordered by id, read from the
    index on (geo_cell, box, id) alone."""
    return sa.select(entities.c.id).where(box_condition(box)).order_by(entities.c.id)


# --------------------------------------------------------------------------- q


def q_condition(query: Query, dialect: str) -> sa.ColumnElement[bool] | None:
    """A SQL condition keeping at least every entity `query` matches; None when SQL cannot
    narrow it down at all."""
    if isinstance(query, And):
        parts = [q_condition(t, dialect) for t in query.terms]
        kept = [p for p in parts if p is not None]
        return sa.and_(*kept) if kept else None
    if isinstance(query, Or):
        parts = [q_condition(t, dialect) for t in query.terms]
        if any(p is None for p in parts):
            return None
        return sa.or_(*[p for p in parts if p is not None])
    if isinstance(query, Not):
        return None
    return _comparison(query, dialect)


def _comparison(term: Comparison, dialect: str) -> sa.ColumnElement[bool] | None:
    path = term.path
    if path.sub_attributes or path.keys or '"' in path.attribute or "\\" in path.attribute:
        return None
    json = _Postgres(path.attribute) if dialect == "postgresql" else _Sqlite(path.attribute)
    if term.op is None or term.op not in _OPS:
        return json.present() if term.op is None else None
    value = term.value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int) and abs(value) > _INT64:
        return None
    number = not isinstance(value, str)
    same_kind = json.is_number() if number else json.is_text()
    scalar = json.scalar_value()
    if term.op == "!=":
        decided = sa.and_(
            json.value_type_not_null(),
            sa.not_(sa.and_(same_kind, json.compare("==", value, number=number))),
        )
    else:
        decided = sa.and_(same_kind, json.compare(term.op, value, number=number))
    # An attribute that is not one instance with a scalar value is left to Python.
    return sa.and_(json.present(), sa.or_(sa.not_(scalar), decided))


class _Sqlite:
    """JSON access in SQLite (json_type / json_extract on the `doc` text)."""

    def __init__(self, attribute: str) -> None:
        self.attribute = f'$."{attribute}"'
        self.value = f'$."{attribute}".value'

    def present(self) -> sa.ColumnElement[bool]:
        return sa.func.json_type(entities.c.doc, self.attribute).is_not(None)

    def _value_type(self) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.json_type(entities.c.doc, self.value), "absent")

    def scalar_value(self) -> sa.ColumnElement[bool]:
        return sa.and_(
            sa.func.json_type(entities.c.doc, self.attribute) == "object",
            self._value_type().in_(["integer", "real", "text", "true", "false", "null"]),
        )

    def value_type_not_null(self) -> sa.ColumnElement[bool]:
        return self._value_type() != "null"

    def is_number(self) -> sa.ColumnElement[bool]:
        return self._value_type().in_(["integer", "real"])

    def is_text(self) -> sa.ColumnElement[bool]:
        return self._value_type() == "text"

    def compare(self, op: str, value: int | float | str, *, number: bool) -> Any:
        return _apply(op, sa.func.json_extract(entities.c.doc, self.value), value)


class _Postgres:
    """JSON access in PostgreSQL (`json` operators; casts guarded by CASE)."""

    def __init__(self, attribute: str) -> None:
        self.name = attribute

    def _attribute(self) -> sa.ColumnElement[Any]:
        return entities.c.doc.op("->", return_type=sa.JSON)(sa.literal(self.name, sa.String))

    def _value(self) -> sa.ColumnElement[Any]:
        return self._attribute().op("->", return_type=sa.JSON)(sa.literal("value", sa.String))

    def _value_type(self) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.json_typeof(self._value()), "absent")

    def present(self) -> sa.ColumnElement[bool]:
        return self._attribute().is_not(None)

    def scalar_value(self) -> sa.ColumnElement[bool]:
        return sa.and_(
            sa.func.json_typeof(self._attribute()) == "object",
            self._value_type().in_(["number", "string", "boolean", "null"]),
        )

    def value_type_not_null(self) -> sa.ColumnElement[bool]:
        return self._value_type() != "null"

    def is_number(self) -> sa.ColumnElement[bool]:
        return self._value_type() == "number"

    def is_text(self) -> sa.ColumnElement[bool]:
        return self._value_type() == "string"

    def compare(self, op: str, value: int | float | str, *, number: bool) -> Any:
        text = self._attribute().op("->>", return_type=sa.String)(sa.literal("value", sa.String))
        if number:
            # Exact: JSON numbers are written by Python (shortest repr), compared as decimals.
            guarded = sa.case((self.is_number(), sa.cast(text, sa.Numeric)), else_=None)
            return _apply(op, guarded, sa.literal(Decimal(repr(value)), sa.Numeric))
        guarded = sa.case((self.is_text(), text), else_=None)
        return _apply(op, guarded.collate("C"), sa.literal(value, sa.String).collate("C"))


def _apply(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right
