"""Reporting periods: a month (`2026-09`), a quarter (`2026-Q3`) or a year (`2026`), the period
before it and the same period a year earlier, and their names in Arabic, French and English.

Arabic month names are Morocco's (يناير، فبراير… غشت، شتنبر، دجنبر), from Babel's `ar_MA`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import get_month_names

from hakama.core.errors import Invalid
from hakama.core.indicators import Grain

LANGUAGES = ("ar", "fr", "en")
DATE_LOCALES = {"ar": "ar_MA", "fr": "fr", "en": "en"}
_QUARTER = {"ar": "الربع {n} من {year}", "fr": "{n}e trimestre {year}", "en": "Q{n} {year}"}
_FIRST = {"fr": "1er trimestre {year}"}
PATTERN = re.compile(r"(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?")
_WEEK = {"ar": "أسبوع {day}", "fr": "semaine du {day}", "en": "week of {day}"}
FINE = {Grain.DAY: timedelta(days=1), Grain.WEEK: timedelta(weeks=1)}
REPORT_GRAINS = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)


def month_names(lang: str) -> list[str]:
    """The twelve month names in `lang` (Moroccan Arabic names for `ar`)."""
    names = get_month_names("wide", locale=DATE_LOCALES.get(lang, "en"))
    return [str(names[m]) for m in range(1, 13)]


def month_short_names(lang: str) -> list[str]:
    """Short month names for chart axes (Arabic keeps the full names: they are short)."""
    names = get_month_names("wide" if lang == "ar" else "abbreviated", locale=DATE_LOCALES.get(lang, "en"))
    return [str(names[m]) for m in range(1, 13)]


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, quarter or year, starting on `start`."""

    start: date
    grain: Grain

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.grain.next_start(self.start)

    @property
    def code(self) -> str:
        """The period as written on the command line: 2026, 2026-Q3 or 2026-09."""
        if self.grain is Grain.YEAR:
            return f"{self.start.year}"
        if self.grain is Grain.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.grain is Grain.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        return self.start.isoformat()

    def previous(self) -> Period:
        """The period just before, of the same length."""
        if self.grain in FINE:
            return Period(self.start - FINE[self.grain], self.grain)
        months = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[self.grain]
        index = self.start.year * 12 + self.start.month - 1 - months
        return Period(date(index // 12, index % 12 + 1, 1), self.grain)

    def year_before(self) -> Period:
        """The same period one year earlier (for a week: 52 weeks before, the same weekday)."""
        if self.grain is Grain.WEEK:
            return Period(self.start - timedelta(weeks=52), self.grain)
        if self.grain is Grain.DAY and self.start.month == 2 and self.start.day == 29:
            return Period(self.start.replace(year=self.start.year - 1, day=28), self.grain)
        return Period(self.start.replace(year=self.start.year - 1), self.grain)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def label(self, lang: str) -> str:
        """The period in words: « شتنبر 2026 », « 3e trimestre 2026 », « 2026 »."""
        year = self.start.year
        if self.grain is Grain.YEAR:
            return str(year)
        if self.grain is Grain.QUARTER:
            n = (self.start.month - 1) // 3 + 1
            template = _FIRST.get(lang, "") if n == 1 else ""
            return (template or _QUARTER.get(lang, _QUARTER["en"])).format(n=n, year=year)
        if self.grain is Grain.MONTH:
            return f"{month_names(lang)[self.start.month - 1]} {year}"
        day = f"{self.start.day} {month_names(lang)[self.start.month - 1]} {year}"
        return _WEEK.get(lang, _WEEK["en"]).format(day=day) if self.grain is Grain.WEEK else day


def parse_period(text: str) -> Period:
    """`2026-09`, `2026-Q3` or `2026` as a Period; Invalid names the accepted forms."""
    found = PATTERN.fullmatch(text.strip())
    if not found or not 1900 <= int(found["year"]) <= 2999:
        raise Invalid(
            f"period {text!r} is not a month (2026-09), a quarter (2026-Q3) or a year (2026)"
        )
    year = int(found["year"])
    if found["quarter"]:
        return Period(date(year, (int(found["quarter"]) - 1) * 3 + 1, 1), Grain.QUARTER)
    if found["month"]:
        return Period(date(year, int(found["month"]), 1), Grain.MONTH)
    return Period(date(year, 1, 1), Grain.YEAR)


def period_of(day: date, grain: Grain) -> Period:
    """The period of `grain` holding `day`."""
    return Period(grain.start_of(day), grain)


def closest(period: Period, grain: Grain) -> Period:
    """The period of `grain` to show for `period`: itself for the same grain; for a finer grain
    (a weekly indicator in a monthly profile) the last one starting in it; else computed."""
    if grain is period.grain or grain not in FINE:
        return period
    return Period(grain.start_of(period.end - timedelta(days=1)), grain)
