"""One indicator at a reporting period, beside the period before and the same period last year.

A period of the indicator's own grain (a month of a monthly indicator) reads the stored values,
the same ones the dashboards show. A longer period is added up from the stored ones where that
is exact (`core.rollup`: counts, sums, shares and means weighted by their observations); any
other (a quarter's median, a month of a weekly indicator) is computed from the lake for that
period by the same compiled definition: a quarter's median is the median of the quarter's
rows, not a mean of three monthly medians. Either way the values pass the same access and privacy rules as
`indicators.series`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa

from hakama.analytics.engines import Engine, open_engine
from hakama.core import disparities, rollup
from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden
from hakama.core.indicators import IndicatorDefinition, IndicatorValue, Quality, quality_of
from hakama.core.periods import Period
from hakama.services import indicators, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import indicator_values

USABLE = frozenset({Quality.COMPLETE, Quality.PARTIAL})


@dataclass(frozen=True)
class Compared:
    """One area's value this period, the period before and the same period last year."""

    area_code: str
    current: IndicatorValue | None
    previous: IndicatorValue | None
    last_year: IndicatorValue | None

    @staticmethod
    def _value(v: IndicatorValue | None) -> float | None:
        return v.value if v is not None and v.quality in USABLE else None

    @property
    def change(self) -> float | None:
        """This period minus the previous one (None unless both are usable)."""
        now, before = self._value(self.current), self._value(self.previous)
        return None if now is None or before is None else now - before

    @property
    def change_year(self) -> float | None:
        now, before = self._value(self.current), self._value(self.last_year)
        return None if now is None or before is None else now - before


@dataclass(frozen=True)
class Comparison:
    definition: IndicatorDefinition
    period: Period
    rows: dict[str, Compared]  # area code → its three values

    def ranks(self, codes: Sequence[str]) -> dict[str, int]:
        """Rank (1 = best) of the given areas this period, among those with a usable value."""
        usable = {c: v for c in codes if (v := self.value(c)) is not None}
        return disparities.rank(usable, self.definition.direction)

    def value(self, code: str) -> float | None:
        row = self.rows.get(code)
        return Compared._value(row.current) if row else None

    @property
    def has_data(self) -> bool:
        return any(
            r.current is not None and r.current.value is not None for r in self.rows.values()
        )


def values_for(
    platform: Platform,
    d: IndicatorDefinition,
    periods: Sequence[Period],
    *,
    actor: Actor,
    engine: Engine | None = None,
) -> dict[tuple[str, date], IndicatorValue]:
    """The values of `d` for each period, keyed by (area code, period start)."""
    found: dict[tuple[str, date], IndicatorValue] = {}
    stored = [p for p in periods if p.grain is d.grain]
    for p in stored:
        for v in indicators.series(platform, d.id, actor=actor, date_from=p.start, date_to=p.start):
            found[(v.area_code, p.start)] = v
    others = [p for p in periods if p.grain is not d.grain]
    if others:
        _check_readable(platform, d, actor)
    combined = [p for p in others if rollup.can_combine(d.measure.kind, d.grain, p.grain)]
    if combined:
        for v in _visible(platform, d, _combined(platform, d, combined), actor):
            found[(v.area_code, v.period_start)] = v
    computed = [p for p in others if p not in combined]
    if computed:
        by_grain: dict[str, list[Period]] = {}
        for p in computed:
            by_grain.setdefault(p.grain.value, []).append(p)
        for grain_periods in by_grain.values():
            as_grain = replace(d, grain=grain_periods[0].grain)
            starts = [p.start for p in grain_periods]
            if engine is None:
                with open_engine("duckdb", platform.lake) as opened:
                    values = indicators.compute_periods(platform, opened, as_grain, starts)
            else:
                values = indicators.compute_periods(platform, engine, as_grain, starts)
            for v in _visible(platform, d, values, actor):
                found[(v.area_code, v.period_start)] = v
    return found


def _combined(
    platform: Platform, d: IndicatorDefinition, periods: list[Period]
) -> list[IndicatorValue]:
    """Values of longer periods added up (or weighted) from the stored shorter ones."""
    days = platform.lake.days(d.source)
    coverage = (days[0], days[-1]) if days else None
    out: list[IndicatorValue] = []
    with platform.db.connect() as conn:
        for p in periods:
            rows = conn.execute(
                sa.select(
                    indicator_values.c.area_code,
                    indicator_values.c.value,
                    indicator_values.c.sample,
                ).where(
                    indicator_values.c.indicator_id == d.id,
                    indicator_values.c.period_start >= p.start,
                    indicator_values.c.period_start < p.end,
                )
            ).all()
            parts: dict[str, list[tuple[float | None, int]]] = {}
            for r in rows:
                parts.setdefault(r.area_code, []).append((r.value, int(r.sample)))
            for code, found in parts.items():
                value, sample = rollup.combine(d.measure.kind, found)
                quality = quality_of(
                    sample=sample,
                    min_sample=d.min_sample,
                    period_start=p.start,
                    period_end=p.end,
                    coverage=coverage,
                )
                out.append(IndicatorValue(d.id, code, p.grain, p.start, value, sample, quality))
    return out


def _check_readable(platform: Platform, d: IndicatorDefinition, actor: Actor) -> None:
    if d.public:
        return
    chain = territory.area_chain(platform, actor.area_code) if actor.area_code else ()
    if not allowed(actor, Action.READ_INTERNAL, chain):
        raise Forbidden(f"indicator {d.id} is internal: staff of the area only")


def _visible(
    platform: Platform, d: IndicatorDefinition, values: list[IndicatorValue], actor: Actor
) -> list[IndicatorValue]:
    out: list[IndicatorValue] = []
    min_cell = platform.settings.min_cell_count
    for v in values:
        staff = allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, v.area_code))
        if not d.public and not staff:
            continue
        out.append(indicators.publishable(d, v, staff=staff, min_cell=min_cell))
    return out


def compare(
    platform: Platform,
    indicator_id: str,
    period: Period,
    *,
    actor: Actor,
    engine: Engine | None = None,
) -> Comparison:
    """The indicator for every area: this period, the previous one, the same one last year."""
    d = indicators.definition(platform, indicator_id)
    previous, last_year = period.previous(), period.year_before()
    values = values_for(platform, d, [period, previous, last_year], actor=actor, engine=engine)
    codes = sorted({code for code, _ in values})
    rows = {
        code: Compared(
            code,
            values.get((code, period.start)),
            values.get((code, previous.start)),
            values.get((code, last_year.start)),
        )
        for code in codes
    }
    return Comparison(d, period, rows)


def history(
    platform: Platform,
    indicator_id: str,
    periods: Sequence[Period],
    *,
    actor: Actor,
    engine: Engine | None = None,
) -> dict[str, list[IndicatorValue | None]]:
    """Per area, the values of `periods` in order (None where there is none): chart series."""
    d = indicators.definition(platform, indicator_id)
    values = values_for(platform, d, periods, actor=actor, engine=engine)
    codes = sorted({code for code, _ in values})
    return {code: [values.get((code, p.start)) for p in periods] for code in codes}
