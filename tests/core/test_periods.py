"""Reporting periods: parsing, the period before, the same period last year, names in ar/fr/en."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.errors import Invalid
from hakama.core.indicators import Grain, MeasureKind
from hakama.core.periods import Period, closest, month_names, parse_period
from hakama.core.rollup import can_combine, combine


def test_quarter_month_and_year() -> None:
    q = parse_period("2026-Q3")
    assert (q.start, q.end, q.grain) == (date(2026, 7, 1), date(2026, 10, 1), Grain.QUARTER)
    assert q.previous() == Period(date(2026, 4, 1), Grain.QUARTER)
    assert q.year_before() == Period(date(2025, 7, 1), Grain.QUARTER)
    assert parse_period("2026-01").previous().code == "2025-12"
    assert parse_period("2026-Q1").previous().code == "2025-Q4"
    assert parse_period("2026").previous().code == "2025"


def test_labels_use_moroccan_arabic_month_names() -> None:
    assert parse_period("2026-09").label("ar") == "شتنبر 2026"
    assert parse_period("2026-08").label("ar") == "غشت 2026"
    assert parse_period("2026-09").label("fr") == "septembre 2026"
    assert parse_period("2026-Q1").label("fr") == "1er trimestre 2026"
    assert parse_period("2026-Q3").label("en") == "Q3 2026"
    assert month_names("ar")[11] == "دجنبر"


@pytest.mark.parametrize(
    "text", ["2026-Q5", "2026-13", "26-Q1", "2026Q3", "", "Q3", "2026-9", "1800"]
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(Invalid, match="2026-Q3"):
        parse_period(text)


@given(st.integers(1950, 2100), st.integers(1, 12))
def test_a_month_round_trips_and_steps_back_one_month(year: int, month: int) -> None:
    p = parse_period(f"{year}-{month:02d}")
    assert parse_period(p.code) == p
    assert p.previous().end == p.start
    assert p.year_before().start.year == year - 1


def test_weekly_indicator_in_a_monthly_profile_shows_the_last_week() -> None:
    week = closest(parse_period("2026-09"), Grain.WEEK)
    assert week.start == date(2026, 9, 28) and week.previous().start == date(2026, 9, 21)
    assert week.year_before().start.weekday() == week.start.weekday()


def test_rollup_is_exact_only_where_the_arithmetic_is() -> None:
    assert can_combine(MeasureKind.COUNT, Grain.MONTH, Grain.QUARTER)
    assert not can_combine(MeasureKind.MEDIAN, Grain.MONTH, Grain.QUARTER)
    assert not can_combine(MeasureKind.COUNT, Grain.WEEK, Grain.MONTH)  # weeks straddle months
    assert combine(MeasureKind.COUNT, [(3.0, 3), (None, 0), (4.0, 4)]) == (7.0, 7)
    # A share over 10 rows at 50 % and 30 rows at 10 % is 8 of 40 rows: 20 %.
    assert combine(MeasureKind.SHARE, [(50.0, 10), (10.0, 30)]) == (20.0, 40)
    assert combine(MeasureKind.MIN, [(5.0, 1), (2.0, 1)]) == (2.0, 2)
    with pytest.raises(ValueError):
        combine(MeasureKind.MEDIAN, [(1.0, 1)])
