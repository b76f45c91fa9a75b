from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakama.core.territory import Area, AreaIndex
from hakama.demo.sensors import KINDS, SensorKind, plan_sensors, population, series_count, slugify


def test_same_seed_same_sensors_other_seed_others(areas: list[Area]) -> None:
    first = plan_sensors(areas, seed=7, scale=1.0)
    assert first == plan_sensors(areas, seed=7, scale=1.0)
    other = plan_sensors(areas, seed=8, scale=1.0)
    assert [(s.lon, s.lat) for s in first] != [(s.lon, s.lat) for s in other]


def test_ids_are_unique_ngsi_ld_urns_with_the_commune_slug(areas: list[Area]) -> None:
    sensors = plan_sensors(areas, seed=2026, scale=1.0)
    ids = [s.id for s in sensors]
    assert len(ids) == len(set(ids))
    assert "urn:ngsi-ld:AirQualityObserved:berkane-1" in ids
    for s in sensors:
        assert s.id.startswith(f"urn:ngsi-ld:{s.entity_type}:")
    units = {a.name: a.unit for s in sensors for a in s.attributes}
    assert units == {
        "pm25": "GQ",
        "pm10": "GQ",
        "no2": "GQ",
        "waterConsumption": "MTQ",
        "fillingLevel": "P1",
        "energyConsumed": "KWH",
        "intensity": "C62",
        "averageVehicleSpeed": "KMH",
    }


def test_every_sensor_stands_inside_its_commune(areas: list[Area], communes: list[Area]) -> None:
    sensors = plan_sensors(areas, seed=2026, scale=2.0)
    index = AreaIndex(communes)
    found = index.locate_many([s.lon for s in sensors], [s.lat for s in sensors])
    assert list(found) == [s.area_code for s in sensors]


def test_counts_follow_population(areas: list[Area], communes: list[Area]) -> None:
    sensors = plan_sensors(areas, seed=2026, scale=5.0)
    per_commune = Counter(s.area_code for s in sensors)
    pops = np.array([population(c) for c in communes], dtype=float)
    counts = np.array([per_commune[c.code] for c in communes], dtype=float)
    assert np.corrcoef(pops, counts)[0, 1] > 0.95


def test_scale_multiplies_and_small_scales_keep_one_of_each_kind(areas: list[Area]) -> None:
    tiny = plan_sensors(areas, seed=2026, scale=0.01)
    assert {s.kind for s in tiny} == set(SensorKind)
    one = series_count(plan_sensors(areas, seed=2026, scale=1.0))
    twenty = series_count(plan_sensors(areas, seed=2026, scale=20.0))
    assert 17 < twenty / one < 23
    # 10^8 observations at scale 20: series × 35,040 steps (before faults remove ~2 %).
    assert 0.95e8 < twenty * 35_040 < 1.2e8


def test_bad_scale_is_refused(areas: list[Area]) -> None:
    with pytest.raises(ValueError, match="scale"):
        plan_sensors(areas, seed=1, scale=0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.001, 3.0))
def test_any_seed_and_scale_plan_valid_sensors(areas: list[Area], seed: int, scale: float) -> None:
    sensors = plan_sensors(areas, seed=seed, scale=scale)
    assert {s.kind for s in sensors} == {k.kind for k in KINDS}
    assert len({s.id for s in sensors}) == len(sensors)
    codes = {a.code for a in areas}
    assert all(s.area_code in codes for s in sensors)


def test_slugify() -> None:
    assert slugify("Aïn Erreggada") == "ain-erreggada"
    assert slugify("Sidi Slimane Echcharaa") == "sidi-slimane-echcharaa"
    assert slugify("!!!") == "area"


@pytest.mark.parametrize(
    ("slug", "centre"),
    [("berkane", (-2.318, 34.917)), ("saidia", (-2.239, 35.085)), ("ahfir", (-2.101, 34.952))],
)
def test_urban_sensors_stand_in_their_town(
    areas: list[Area], slug: str, centre: tuple[float, float]
) -> None:
    """On the corrected outlines a town's sensors are in the town, not 20 km north of it."""
    sensors = [s for s in plan_sensors(areas, seed=2026, scale=1.0) if f":{slug}-" in s.id]
    assert sensors
    for s in sensors:
        km_east = (s.lon - centre[0]) * 111.32 * np.cos(np.radians(centre[1]))
        km_north = (s.lat - centre[1]) * 110.57
        assert np.hypot(km_east, km_north) < 6, (s.id, s.lon, s.lat)
