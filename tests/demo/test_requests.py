from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakama.core.territory import Area, AreaIndex
from hakama.demo.requests import (
    CATEGORIES,
    REQUEST_EVENTS_SCHEMA,
    SERVICE_REQUESTS_SCHEMA,
    generate_requests,
    generate_requests_and_events,
    median_resolution_hours,
    period_bounds,
)
from hakama.demo.sensors import population

START, END = date(2025, 11, 1), date(2026, 10, 31)


@pytest.fixture(scope="module")
def year(areas: list[Area]) -> tuple[pa.Table, pa.Table]:
    return generate_requests_and_events(areas, seed=2026, scale=1.0, start=START, end=END)


def test_columns_and_types_are_the_lake_contract(year: tuple[pa.Table, pa.Table]) -> None:
    requests, events = year
    assert requests.schema == SERVICE_REQUESTS_SCHEMA
    assert events.schema == REQUEST_EVENTS_SCHEMA
    assert 10_000 < requests.num_rows < 20_000  # ~15k a year for a province of 280k people
    assert set(pc.unique(requests["category"]).to_pylist()) == {c.code for c in CATEGORIES}


def test_pure_function_same_seed_same_table(
    areas: list[Area], year: tuple[pa.Table, pa.Table]
) -> None:
    again = generate_requests(areas, seed=2026, scale=1.0, start=START, end=END)
    assert again.equals(year[0])
    other = generate_requests(areas, seed=1, scale=1.0, start=START, end=END)
    assert not other.equals(year[0])


def test_every_request_is_inside_its_commune(
    communes: list[Area], year: tuple[pa.Table, pa.Table]
) -> None:
    requests = year[0]
    found = AreaIndex(communes).locate_many(requests["lon"].to_numpy(), requests["lat"].to_numpy())
    assert list(found) == requests["area_code"].to_pylist()


def test_volumes_follow_population(communes: list[Area], year: tuple[pa.Table, pa.Table]) -> None:
    counts = _count_by(year[0], "area_code")
    pops = np.array([population(c) for c in communes], dtype=float)
    per = np.array([counts.get(c.code, 0) for c in communes], dtype=float)
    assert np.corrcoef(pops, per)[0, 1] > 0.95


def _count_by(table: pa.Table, column: str) -> dict[str, int]:
    grouped = table.group_by(column).aggregate([(column, "count")])
    return dict(
        zip(grouped[column].to_pylist(), grouped[f"{column}_count"].to_pylist(), strict=True)
    )


def test_resolution_medians_differ_between_communes(year: tuple[pa.Table, pa.Table]) -> None:
    medians = median_resolution_hours(year[0])
    assert len(medians) == 16
    assert max(medians.values()) > 4 * min(medians.values())


def test_states_and_times_are_consistent(year: tuple[pa.Table, pa.Table]) -> None:
    requests, events = year
    con = duckdb.connect()
    con.register("r", requests)
    con.register("e", events)
    _, as_of = period_bounds(START, END)
    bad = con.execute(
        """
        select count(*) from r where
           (status = 'closed') != (closed_at is not null)
        or (status in ('resolved', 'closed')) != (resolved_at is not null)
        or resolved_at < time or closed_at < resolved_at or expected_at <= time
        or epoch_us(closed_at) >= $as_of
        """,
        {"as_of": as_of},
    ).fetchone()
    assert bad == (0,)
    created = con.execute(
        "select count(distinct request_id), count(*) from e where event = 'created'"
    ).fetchone()
    assert created == (requests.num_rows, requests.num_rows)
    # The last status-changing event of each request is the request's status.
    mismatched = con.execute(
        """
        with last as (
          select request_id, arg_max(status, time) status from e
          where event != 'commented' group by 1)
        select count(*) from r join last using (request_id) where r.status != last.status
        """
    ).fetchone()
    assert mismatched == (0,)
    assert con.execute("select max(epoch_us(time)) < $a from e", {"a": as_of}).fetchone() == (True,)
    reopened = con.execute("select avg(reopened::int) from r").fetchone()
    assert reopened is not None and 0.02 < reopened[0] < 0.1


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.floats(0.001, 0.2),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(0, 60),
)
def test_any_window_gives_valid_rows(
    areas: list[Area], seed: int, scale: float, start: date, days: int
) -> None:
    end = start + timedelta(days=days)
    requests, events = generate_requests_and_events(
        areas, seed=seed, scale=scale, start=start, end=end
    )
    assert requests.schema == SERVICE_REQUESTS_SCHEMA and events.schema == REQUEST_EVENTS_SCHEMA
    first, last = period_bounds(start, end)
    if requests.num_rows:
        times = pc.cast(requests["time"], pa.int64()).to_numpy()
        assert times.min() >= first and times.max() < last
        assert len(set(requests["request_id"].to_pylist())) == requests.num_rows


def test_bad_arguments_are_refused(areas: list[Area]) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_requests(areas, seed=1, scale=-1, start=START, end=END)
    with pytest.raises(ValueError, match="end"):
        generate_requests(areas, seed=1, scale=1, start=END, end=START)
