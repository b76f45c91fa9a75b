"""ISO-8601 durations, time windows and aggregation parameters of the temporal API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.errors import Invalid
from hakama.core.temporal import (
    AggrMethod,
    Format,
    TemporalQuery,
    format_duration,
    parse_aggregation,
    parse_duration,
    time_window,
)


@pytest.mark.parametrize(
    ("text", "months", "span"),
    [
        ("P1D", 0, timedelta(days=1)),
        ("PT15M", 0, timedelta(minutes=15)),
        ("PT1H30M", 0, timedelta(hours=1, minutes=30)),
        ("P2W", 0, timedelta(weeks=2)),
        ("P1Y2M", 14, timedelta(0)),
        ("P1M", 1, timedelta(0)),
        ("PT0.5S", 0, timedelta(milliseconds=500)),
        ("P1DT12H", 0, timedelta(days=1, hours=12)),
        ("PT0S", 0, timedelta(0)),
    ],
)
def test_durations_are_read(text: str, months: int, span: timedelta) -> None:
    duration = parse_duration(text)
    assert (duration.months, duration.span) == (months, span)


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "1D", "P1H", "PT1D", "P-1D", "P1.5D", "p1d", "P1DT", "PT1H2"]
)
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_duration(text)


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9999)))
def test_spans_round_trip_through_iso_8601(span: timedelta) -> None:
    assert parse_duration(format_duration(span)).span == span


def test_sql_intervals() -> None:
    assert parse_duration("P1D").sql_interval() == "INTERVAL '86400000000 microseconds'"
    assert parse_duration("P1Y").sql_interval() == "INTERVAL '12 months'"
    with pytest.raises(Invalid, match="months and days"):
        parse_duration("P1M1D").sql_interval()


def test_time_windows() -> None:
    at = "2026-03-01T00:00:00Z"
    end = "2026-03-02T00:00:00Z"
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    assert time_window("before", at, None).end == t0
    assert time_window("after", at, None).start == t0
    window = time_window("between", at, end)
    assert window.contains(t0) and not window.contains(t0 + timedelta(days=1))
    assert time_window(None, None, None).contains(t0)
    for bad in [("during", at, None), ("before", None, None), ("between", at, None),
                ("between", end, at), (None, at, None), ("after", "yesterday", None),
                ("after", "2026-03-01T00:00:00", None)]:  # fmt: skip
        with pytest.raises(Invalid):
            time_window(*bad)


def test_aggregation_parameters() -> None:
    aggregation = parse_aggregation("avg,max,avg", "P1D")
    assert aggregation is not None
    assert aggregation.methods == (AggrMethod.AVG, AggrMethod.MAX)
    assert aggregation.period is not None and aggregation.period.span == timedelta(days=1)
    whole = parse_aggregation("totalCount", "PT0S")
    assert whole is not None and whole.period is None
    assert parse_aggregation(None, None) is None
    with pytest.raises(Invalid, match="median"):
        parse_aggregation("avg,median", "P1D")
    with pytest.raises(Invalid):
        parse_aggregation(None, "P1D")


def test_temporal_query_picks_the_format() -> None:
    assert TemporalQuery.parse().format is Format.NORMALIZED
    assert TemporalQuery.parse(options=["temporalValues"]).format is Format.TEMPORAL_VALUES
    tq = TemporalQuery.parse(aggr_methods="sum", aggr_period="PT1H", attrs="a, b", last_n="3")
    assert tq.format is Format.AGGREGATED and tq.attrs == ("a", "b") and tq.last_n == 3
    with pytest.raises(Invalid):
        TemporalQuery.parse(options=["aggregatedValues"])
    for bad in ("0", "-1", "x"):
        with pytest.raises(Invalid):
            TemporalQuery.parse(last_n=bad)


@given(st.text(max_size=12))
def test_any_text_is_a_duration_or_a_clean_refusal(text: str) -> None:
    try:
        parse_duration(text)
    except Invalid as exc:
        assert exc.message
