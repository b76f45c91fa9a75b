"""Indicator definitions: declarative, validated, engine-free.

An indicator says what to measure over which lake dataset, per area and period: a count, a sum,
a mean, a median or percentile, a share, a rate per 10,000 inhabitants, a duration between two
times, the number of days a daily mean exceeds a threshold… It also says how to read the result
(unit, direction, target, alert thresholds, method note, in ar/fr/en). The engines in
`hakama.analytics` compile a definition to DuckDB or Spark; nothing here touches data.

Definitions are YAML files; a wrong one is refused with its file, line and reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from hakama.core.errors import Invalid

LANGUAGES = ("ar", "fr", "en")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{1,62}")


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    def start_of(self, day: date) -> date:
        """The first day of the period holding `day` (weeks start on Monday, ISO 8601)."""
        if self is Grain.DAY:
            return day
        if self is Grain.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Grain.MONTH:
            return day.replace(day=1)
        if self is Grain.QUARTER:
            return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        return day.replace(month=1, day=1)

    def next_start(self, start: date) -> date:
        """The first day of the following period."""
        if self is Grain.DAY:
            return start + timedelta(days=1)
        if self is Grain.WEEK:
            return start + timedelta(days=7)
        months = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[self]
        month = start.month - 1 + months
        return date(start.year + month // 12, month % 12 + 1, 1)


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class MeasureKind(StrEnum):
    COUNT = "count"  # rows
    DISTINCT_COUNT = "distinct_count"  # distinct values of `column`
    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    PERCENTILE = "percentile"  # `percentile` in (0, 1), exact
    MIN = "min"
    MAX = "max"
    SHARE = "share"  # share (0–100 %) of rows that meet `condition`
    RATE_PER_10K = "rate_per_10k"  # rows per 10,000 inhabitants of the area
    PER_INHABITANT = "per_inhabitant"  # sum of `column` per inhabitant
    INHABITANTS_PER = "inhabitants_per"  # inhabitants per distinct `column` (e.g. per lamp)
    PER_ENTITY = "per_entity"  # sum of `column` per distinct `entity_column`
    DURATION = "duration"  # `statistic` of (end − start) in `duration_unit`
    DAYS_ABOVE = "days_above"  # days whose mean of `column` exceeds `threshold`
    RATIO = "ratio"  # mean of `column` over rows meeting `condition` ÷ mean over all rows
    COUNT_PER_ENTITY = "count_per_entity"  # rows per distinct `entity_column`, × `factor`


class Quality(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial_period"  # the data does not cover the whole period
    TOO_FEW = "too_few_observations"  # fewer than `min_sample`
    SUPPRESSED = "suppressed"  # a public count below the minimum cell size


OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null", "hour_in")


@dataclass(frozen=True)
class Filter:
    """`column op value`. `value` may name another column (`{column: expected_at}`);
    `hour_in` takes [from, to) hours of the UTC day and wraps past midnight ([20, 6])."""

    column: str
    op: str
    value: Any = None

    @property
    def other_column(self) -> str | None:
        if isinstance(self.value, dict) and isinstance(self.value.get("column"), str):
            return str(self.value["column"])
        return None


@dataclass(frozen=True)
class Measure:
    kind: MeasureKind
    column: str | None = None
    percentile: float | None = None
    condition: tuple[Filter, ...] = ()
    start: str | None = None
    end: str | None = None
    statistic: str = "median"  # for durations: median | mean | p90 | max
    duration_unit: str = "hours"  # hours | days
    threshold: float | None = None
    entity_column: str = "entity_id"
    factor: float = 1.0  # the value is multiplied by this (e.g. 0.25 h per 15-minute reading)


@dataclass(frozen=True)
class Alert:
    """Raise an alert when the value is above `above` or below `below`."""

    above: float | None = None
    below: float | None = None

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )


@dataclass(frozen=True)
class IndicatorDefinition:
    id: str
    names: Mapping[str, str]
    descriptions: Mapping[str, str]
    unit: str
    theme: str
    source: str  # lake dataset
    measure: Measure
    grain: Grain
    direction: Direction
    method: Mapping[str, str]
    time_column: str = "time"
    area_column: str = "area_code"
    filters: tuple[Filter, ...] = ()
    target: float | None = None
    alert: Alert | None = None
    min_sample: int = 10
    public: bool = True
    in_composite: bool = False
    origin: str = ""  # file the definition came from

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id

    def columns(self) -> set[str]:
        """Every column of the source dataset the definition reads."""
        cols = {self.time_column, self.area_column}
        for f in (*self.filters, *self.measure.condition):
            cols.add(f.column)
            if f.other_column:
                cols.add(f.other_column)
        m = self.measure
        for col in (m.column, m.start, m.end):
            if col:
                cols.add(col)
        if m.kind is MeasureKind.PER_ENTITY:
            cols.add(m.entity_column)
        return cols


# Loading -----------------------------------------------------------------------------------


class _Located:
    """YAML values with the line each mapping starts on, for error messages."""

    @staticmethod
    def load(text: str, origin: str) -> list[tuple[dict[str, Any], int]]:
        try:
            nodes = list(yaml.compose_all(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise Invalid(
                f"{origin}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})"
            ) from None
        out: list[tuple[dict[str, Any], int]] = []
        for node in nodes:
            if node is None:
                continue
            value = yaml.safe_load(yaml.serialize(node))
            items = value if isinstance(value, list) else [value]
            lines = (
                [child.start_mark.line + 1 for child in node.value]
                if isinstance(node, yaml.SequenceNode)
                else [node.start_mark.line + 1]
            )
            for item, line in zip(items, lines, strict=False):
                if not isinstance(item, dict):
                    raise Invalid(f"{origin}:{line}: an indicator must be a mapping")
                out.append((item, line))
        return out


def load_file(path: Path) -> list[IndicatorDefinition]:
    """Every definition in a YAML file (one document, a list, or several documents)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: cannot be read ({exc})") from None
    return load_text(text, origin=str(path))


def load_text(text: str, *, origin: str = "<text>") -> list[IndicatorDefinition]:
    return [parse(item, origin=origin, line=line) for item, line in _Located.load(text, origin)]


def load_catalogue(folders: Sequence[Path]) -> list[IndicatorDefinition]:
    """All definitions of the `*.yaml` files in `folders`; a later id replaces an earlier one."""
    by_id: dict[str, IndicatorDefinition] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            for definition in load_file(path):
                by_id[definition.id] = definition
    return sorted(by_id.values(), key=lambda d: (d.theme, d.id))


def parse(raw: Mapping[str, Any], *, origin: str = "<text>", line: int = 0) -> IndicatorDefinition:
    """One definition from its mapping; `Invalid` names the file, line and what is wrong."""

    def fail(reason: str) -> Invalid:
        ident = raw.get("id", "?")
        return Invalid(f"{origin}:{line}: indicator {ident}: {reason}", origin=origin, line=line)

    known = {
        "id",
        "names",
        "descriptions",
        "unit",
        "theme",
        "source",
        "measure",
        "grain",
        "direction",
        "method",
        "time_column",
        "area_column",
        "filters",
        "target",
        "alert",
        "min_sample",
        "public",
        "in_composite",
    }
    unknown = set(raw) - known
    if unknown:
        raise fail(f"unknown field(s) {sorted(unknown)}")
    ident = raw.get("id")
    if not isinstance(ident, str) or not IDENTIFIER.fullmatch(ident):
        raise fail("`id` must be lower-case letters, digits and _ (2-63 characters)")
    names = _languages(raw.get("names"), "names", fail, required=True)
    descriptions = _languages(raw.get("descriptions", {}), "descriptions", fail, required=False)
    method = raw.get("method", {})
    method_map = (
        {lang: method for lang in LANGUAGES}
        if isinstance(method, str)
        else _languages(method, "method", fail, required=False)
    )
    if not method_map:
        raise fail("`method` (how the value is computed, in words) is required")
    for key in ("unit", "source", "theme"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise fail(f"`{key}` is required (text)")
    if not IDENTIFIER.fullmatch(raw["source"]):
        raise fail(f"`source` {raw['source']!r} is not a dataset name")
    try:
        grain = Grain(raw.get("grain", "month"))
    except ValueError:
        raise fail(f"`grain` must be one of {[g.value for g in Grain]}") from None
    try:
        direction = Direction(str(raw.get("direction")))
    except ValueError:
        raise fail(f"`direction` must be one of {[d.value for d in Direction]}") from None
    filters = _filters(raw.get("filters", []), "filters", fail)
    measure = _measure(raw.get("measure"), fail)
    target = _number(raw.get("target"), "target", fail)
    alert = None
    if raw.get("alert") is not None:
        spec = raw["alert"]
        if not isinstance(spec, dict) or not set(spec) <= {"above", "below"} or not spec:
            raise fail("`alert` must be a mapping with `above` and/or `below`")
        alert = Alert(
            above=_number(spec.get("above"), "alert.above", fail),
            below=_number(spec.get("below"), "alert.below", fail),
        )
    min_sample = raw.get("min_sample", 10)
    if not isinstance(min_sample, int) or isinstance(min_sample, bool) or min_sample < 1:
        raise fail("`min_sample` must be a whole number ≥ 1")
    for flag in ("public", "in_composite"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise fail(f"`{flag}` must be true or false")
    return IndicatorDefinition(
        id=ident,
        names=names,
        descriptions=descriptions,
        unit=raw["unit"],
        theme=raw["theme"],
        source=raw["source"],
        measure=measure,
        grain=grain,
        direction=direction,
        method=method_map,
        time_column=str(raw.get("time_column", "time")),
        area_column=str(raw.get("area_column", "area_code")),
        filters=filters,
        target=target,
        alert=alert,
        min_sample=min_sample,
        public=bool(raw.get("public", True)),
        in_composite=bool(raw.get("in_composite", False)),
        origin=origin,
    )


def _languages(value: Any, what: str, fail: Any, *, required: bool) -> dict[str, str]:
    if value in (None, {}) and not required:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise fail(f"`{what}` must map languages to text")
    missing = [lang for lang in LANGUAGES if lang not in value]
    if required and missing:
        raise fail(f"`{what}` lacks {missing} (ar, fr and en are required)")
    return {str(k): str(v) for k, v in value.items()}


def _number(value: Any, what: str, fail: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"`{what}` must be a number")
    return float(value)


def _filters(value: Any, what: str, fail: Any) -> tuple[Filter, ...]:
    if not isinstance(value, list):
        raise fail(f"`{what}` must be a list of {{column, op, value}}")
    out: list[Filter] = []
    for item in value:
        if not isinstance(item, dict) or "column" not in item or "op" not in item:
            raise fail(f"each of `{what}` needs `column` and `op`")
        op = item["op"]
        if op not in OPERATORS:
            raise fail(f"operator {op!r} in `{what}` is not one of {list(OPERATORS)}")
        val = item.get("value")
        if op in ("in", "not_in") and not isinstance(val, list):
            raise fail(f"`{op}` in `{what}` takes a list")
        if op == "hour_in" and not (
            isinstance(val, list)
            and len(val) == 2
            and all(isinstance(h, int) and 0 <= h <= 24 for h in val)
        ):
            raise fail(f"`hour_in` in `{what}` takes [from_hour, to_hour)")
        if isinstance(val, dict) and (
            set(val) != {"column"} or op not in ("=", "!=", "<", "<=", ">", ">=")
        ):
            raise fail(f"a column reference in `{what}` is {{column: NAME}} with a comparison")
        if op not in ("is_null", "not_null", "in", "not_in", "hour_in") and val is None:
            raise fail(f"`{op}` in `{what}` needs a value")
        out.append(Filter(str(item["column"]), op, val))
    return tuple(out)


NEEDS_COLUMN = {
    MeasureKind.DISTINCT_COUNT,
    MeasureKind.SUM,
    MeasureKind.MEAN,
    MeasureKind.MEDIAN,
    MeasureKind.PERCENTILE,
    MeasureKind.MIN,
    MeasureKind.MAX,
    MeasureKind.PER_INHABITANT,
    MeasureKind.INHABITANTS_PER,
    MeasureKind.PER_ENTITY,
    MeasureKind.DAYS_ABOVE,
    MeasureKind.RATIO,
}
NEEDS_POPULATION = {
    MeasureKind.RATE_PER_10K,
    MeasureKind.PER_INHABITANT,
    MeasureKind.INHABITANTS_PER,
}


def _measure(value: Any, fail: Any) -> Measure:
    if not isinstance(value, dict) or "kind" not in value:
        raise fail("`measure` must be a mapping with a `kind`")
    try:
        kind = MeasureKind(value["kind"])
    except ValueError:
        raise fail(f"measure kind must be one of {[k.value for k in MeasureKind]}") from None
    column = value.get("column")
    if kind in NEEDS_COLUMN and not column:
        raise fail(f"measure `{kind.value}` needs a `column`")
    percentile = value.get("percentile")
    if kind is MeasureKind.PERCENTILE and not (
        isinstance(percentile, int | float) and 0 < percentile < 1
    ):
        raise fail("measure `percentile` needs `percentile` between 0 and 1")
    condition = _filters(value.get("condition", []), "measure.condition", fail)
    if kind in (MeasureKind.SHARE, MeasureKind.RATIO) and not condition:
        raise fail(f"measure `{kind.value}` needs a `condition`")
    if kind is MeasureKind.DURATION:
        if not value.get("start") or not value.get("end"):
            raise fail("measure `duration` needs `start` and `end` columns")
        if value.get("statistic", "median") not in ("median", "mean", "p90", "max"):
            raise fail("duration `statistic` must be median, mean, p90 or max")
        if value.get("duration_unit", "hours") not in ("hours", "days"):
            raise fail("`duration_unit` must be hours or days")
    threshold = value.get("threshold")
    if kind is MeasureKind.DAYS_ABOVE and not isinstance(threshold, int | float):
        raise fail("measure `days_above` needs a numeric `threshold`")
    factor = value.get("factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise fail("measure `factor` must be a number")
    unknown = set(value) - {
        "kind",
        "column",
        "percentile",
        "condition",
        "start",
        "end",
        "statistic",
        "duration_unit",
        "threshold",
        "entity_column",
        "factor",
    }
    if unknown:
        raise fail(f"unknown measure field(s) {sorted(unknown)}")
    return Measure(
        kind=kind,
        factor=float(factor),
        column=column,
        percentile=float(percentile) if percentile is not None else None,
        condition=condition,
        start=value.get("start"),
        end=value.get("end"),
        statistic=str(value.get("statistic", "median")),
        duration_unit=str(value.get("duration_unit", "hours")),
        threshold=float(threshold) if threshold is not None else None,
        entity_column=str(value.get("entity_column", "entity_id")),
    )


# Reading values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorValue:
    """One computed value: an indicator for an area and a period, with its sample and quality."""

    indicator_id: str
    area_code: str
    grain: Grain
    period_start: date
    value: float | None
    sample: int
    quality: Quality


def quality_of(
    *,
    sample: int,
    min_sample: int,
    period_start: date,
    period_end: date,
    coverage: tuple[date, date] | None,
) -> Quality:
    """How far to trust a value: too few observations first, then a partly covered period."""
    if sample < min_sample:
        return Quality.TOO_FEW
    if (
        coverage is None
        or period_start < coverage[0]
        or period_end > coverage[1] + timedelta(days=1)
    ):
        return Quality.PARTIAL
    return Quality.COMPLETE


@dataclass(frozen=True)
class Catalogue:
    definitions: tuple[IndicatorDefinition, ...] = field(default_factory=tuple)

    def get(self, ident: str) -> IndicatorDefinition | None:
        return next((d for d in self.definitions if d.id == ident), None)
