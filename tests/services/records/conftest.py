"""A small territory (a province, two communes) and agents for the record tests."""

from __future__ import annotations

import pytest

from hakama.core.access import Actor, Role, system_actor
from hakama.core.territory import Area, Level
from hakama.services import territory
from hakama.services.platform import Platform

PROVINCE, EAST, WEST = "99.1", "99.1.01", "99.1.02"
OPERATOR = system_actor("test")


def agent(area: str, name: str = "amina") -> Actor:
    return Actor(kind="user", id=name, role=Role.AGENT, area_code=area)


def seed(platform: Platform) -> None:
    areas = [
        Area(PROVINCE, Level.PROVINCE, {"fr": "Province test"}),
        Area(EAST, Level.COMMUNE, {"fr": "Est", "ar": "الشرق"}, parent_code=PROVINCE,
             population={2024: 50_000}),
        Area(WEST, Level.COMMUNE, {"fr": "Ouest", "ar": "الغرب"}, parent_code=PROVINCE,
             population={2024: 20_000}),
    ]  # fmt: skip
    territory.save_areas(platform, areas, actor=OPERATOR)


@pytest.fixture
def territory_platform(platform: Platform) -> Platform:
    seed(platform)
    return platform


@pytest.fixture
def sqlite_territory(sqlite_platform: Platform) -> Platform:
    seed(sqlite_platform)
    return sqlite_platform
