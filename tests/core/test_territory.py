from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.territory import (
    Area,
    AreaIndex,
    Level,
    ancestors,
    contains,
    normalise_name,
    validate_code,
)
from hakama.demo.territory import demo_areas


def square(x0: float, y0: float, size: float = 1.0) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
        ],
    }


GRID = [
    Area(code=f"c{i}{j}", level=Level.COMMUNE, names={"fr": f"C{i}{j}"}, geometry=square(i, j))
    for i in range(3)
    for j in range(3)
]


def test_locate_finds_the_holding_square() -> None:
    index = AreaIndex(GRID)
    assert index.locate(0.5, 0.5) == "c00"
    assert index.locate(2.5, 1.5) == "c21"
    assert index.locate(5.0, 5.0) is None


@given(st.floats(-1, 4, allow_nan=False), st.floats(-1, 4, allow_nan=False))
def test_locate_many_agrees_with_arithmetic(x: float, y: float) -> None:
    index = AreaIndex(GRID)
    got = index.locate_many(np.array([x]), np.array([y]))[0]
    inside = 0 <= x <= 3 and 0 <= y <= 3
    if not inside:
        assert got == ""
    elif x % 1 and y % 1 and x < 3 and y < 3:  # off the borders the answer is unique
        assert got == f"c{int(x)}{int(y)}"
    else:
        assert got.startswith("c")


def test_border_point_goes_to_exactly_one_area() -> None:
    index = AreaIndex(GRID)
    codes = index.locate_many(np.array([1.0, 1.0, 2.0]), np.array([1.0, 0.5, 2.0]))
    assert all(c.startswith("c") for c in codes)
    assert index.locate_many(np.array([1.0]), np.array([1.0]))[0] == codes[0]  # deterministic


def test_demo_communes_tile_the_province() -> None:
    areas = demo_areas()
    communes = [a for a in areas if a.level == Level.COMMUNE]
    assert len(communes) == 16
    province = next(a for a in areas if a.level == Level.PROVINCE)
    assert province.population[2024] == 284_061
    assert province.population[2014] == 289_137
    index = AreaIndex(communes)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = index.bounds()
    lons = rng.uniform(minx, maxx, 5000)
    lats = rng.uniform(miny, maxy, 5000)
    codes = index.locate_many(lons, lats)
    import shapely

    inside_province = shapely.contains_xy(province.shape, lons, lats)
    # every point in the province falls in one commune (outline union minus float slivers)
    assert (codes[inside_province] != "").mean() > 0.999
    assert (codes[~inside_province] == "").mean() > 0.999
    assert len(set(codes) - {""}) == 16


def test_hierarchy_walks() -> None:
    areas = {a.code: a for a in demo_areas()}
    assert ancestors(areas, "02.113.01.09") == ["02.113.01.09", "02.113", "02"]
    assert contains(areas, "02.113", "02.113.01.09")
    assert not contains(areas, "02.113.01.01", "02.113.01.09")


def test_names_fall_back_and_normalise() -> None:
    area = Area(code="x", level=Level.COMMUNE, names={"fr": "Aïn Erreggada"})
    assert area.name("ar") == "Aïn Erreggada"
    assert normalise_name("Aïn-Erreggada ") == normalise_name("AIN ERREGGADA") == "ainerreggada"


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "02/113", "é"])
def test_bad_codes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_code(bad)
