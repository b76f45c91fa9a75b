"""Shared inputs of the demo tests: the demo areas and a short period (a year is slow)."""

from __future__ import annotations

from datetime import date

import pytest

from hakama.core.territory import Area, Level
from hakama.demo.readings import Period
from hakama.demo.territory import demo_areas


@pytest.fixture(scope="session")
def areas() -> list[Area]:
    return demo_areas()


@pytest.fixture(scope="session")
def communes(areas: list[Area]) -> list[Area]:
    return [a for a in areas if a.level == Level.COMMUNE]


@pytest.fixture(scope="session")
def short_period() -> Period:
    """Three weeks spanning a month end, long enough for weekly cycles and faults."""
    return Period(start=date(2026, 1, 20), end=date(2026, 2, 9))
