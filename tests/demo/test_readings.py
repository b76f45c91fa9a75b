from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.territory import Area
from hakama.demo.readings import (
    STEPS_PER_DAY,
    Period,
    demo_period,
    generate_readings,
    iter_days,
    plan_readings,
)
from hakama.demo.sensors import Sensor, plan_sensors, series_count
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA


@pytest.fixture(scope="module")
def sensors(areas: list[Area]) -> list[Sensor]:
    return plan_sensors(areas, seed=2026, scale=1.0)


@pytest.fixture(scope="module")
def readings(sensors: list[Sensor], areas: list[Area], short_period: Period) -> pa.Table:
    return generate_readings(sensors, areas, seed=2026, period=short_period)


def test_default_year_is_fixed_and_twelve_months() -> None:
    period = demo_period()
    assert (period.start, period.end, period.days) == (date(2025, 11, 1), date(2026, 10, 31), 365)
    leap = demo_period(date(2024, 2, 29))
    assert (leap.start, leap.days) == (date(2023, 3, 1), 366)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_any_year_end_gives_a_year(end: date) -> None:
    period = demo_period(end)
    assert period.end == end and period.days in (365, 366)


def test_columns_and_types_are_the_lake_contract(readings: pa.Table) -> None:
    assert readings.schema == OBSERVATIONS_SCHEMA
    assert set(pc.unique(readings["source"]).to_pylist()) == {"demo"}
    assert readings["text"].null_count == readings.num_rows
    assert readings["value"].null_count == 0


def test_same_seed_same_table_other_seed_other(
    readings: pa.Table, sensors: list[Sensor], areas: list[Area], short_period: Period
) -> None:
    again = generate_readings(sensors, areas, seed=2026, period=short_period)
    assert again.equals(readings)
    other = generate_readings(sensors, areas, seed=2027, period=short_period)
    assert not other.equals(readings)


def test_one_reading_per_series_and_step_at_most(
    readings: pa.Table, sensors: list[Sensor], short_period: Period
) -> None:
    con = duckdb.connect()
    dupes = con.execute(
        "select count(*) from (select entity_id, attribute, time, count(*) n "
        "from readings group by all having n > 1)"
    ).fetchone()
    assert dupes == (0,)
    full = series_count(sensors) * short_period.days * STEPS_PER_DAY
    # Gaps, dropouts and silent sensors remove some readings, but not most of them.
    assert 0.85 * full < readings.num_rows < full
    times = readings["time"].to_numpy().astype("datetime64[us]").astype(np.int64)
    assert np.all(times % (15 * 60 * 1_000_000) == 0)


def test_daily_and_weekly_cycles(readings: pa.Table) -> None:
    con = duckdb.connect()
    by_hour = dict(
        con.execute(
            "select hour(time at time zone 'UTC'), avg(value) from readings "
            "where attribute = 'intensity' group by all"
        ).fetchall()
    )
    assert by_hour[7] > 5 * by_hour[2]  # 08:00 local rush vs 03:00
    light = dict(
        con.execute(
            "select hour(time at time zone 'UTC'), avg(value) from readings "
            "where attribute = 'energyConsumed' group by all"
        ).fetchall()
    )
    assert light[21] > 10 * max(light[12], 0.001)  # lamps burn at night
    weekday, weekend = con.execute(
        "select avg(value) filter (where isodow(time) < 6), avg(value) filter (where isodow(time) >= 6) "
        "from readings where attribute = 'no2'"
    ).fetchone() or (0, 0)
    assert weekday > weekend


def test_faults_are_present(readings: pa.Table) -> None:
    con = duckdb.connect()
    # Stuck values: the same non-zero value repeated for 3 hours or more.
    stuck = con.execute(
        """
        with runs as (
          select entity_id, attribute, time,
                 coalesce(value = lag(value) over w, false) as same
          from readings where value > 0 and attribute not in ('intensity', 'fillingLevel')
          window w as (partition by entity_id, attribute order by time)),
        groups as (
          select entity_id, attribute, sum(case when same then 0 else 1 end) over (
            partition by entity_id, attribute order by time) as g
          from runs)
        select count(*) from (
          select entity_id, attribute, g from groups group by all having count(*) >= 12)
        """
    ).fetchone()
    assert stuck is not None and stuck[0] > 0
    # Spikes: a reading far above its series' median.
    spikes = con.execute(
        "with m as (select entity_id, attribute, median(value) med from readings "
        "where attribute in ('pm25', 'no2', 'waterConsumption') group by all) "
        "select count(*) from readings r join m using (entity_id, attribute) where r.value > 4 * m.med"
    ).fetchone()
    assert spikes is not None and spikes[0] > 0
    # Gaps longer than an hour inside a series.
    gaps = con.execute(
        "select count(*) from (select time - lag(time) over (partition by entity_id, attribute "
        "order by time) d from readings) where d > interval 1 hour"
    ).fetchone()
    assert gaps is not None and gaps[0] > 0


def test_silent_sensors_stop_for_good(areas: list[Area]) -> None:
    sensors = plan_sensors(areas, seed=2026, scale=3.0)
    plan = plan_readings(sensors, areas, seed=2026, period=demo_period())
    silent = np.flatnonzero(plan.silent_from < plan.period.days * STEPS_PER_DAY)
    assert silent.size > 0
    assert np.all(plan.silent_from[silent] >= plan.period.days * STEPS_PER_DAY // 2)


def test_days_come_one_file_worth_at_a_time(
    sensors: list[Sensor], areas: list[Area], short_period: Period
) -> None:
    plan = plan_readings(sensors, areas, seed=2026, period=short_period)
    for day, table in iter_days(plan):
        days = pc.unique(pc.cast(table["time"], pa.date32())).to_pylist()
        assert days == [day]
