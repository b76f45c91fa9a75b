"""The one time rule: instants carry their zone, and are written in UTC to their precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core.clock import format_instant, parse_instant, read_instant, utcnow
from hakama.core.errors import Invalid


def test_times_are_written_in_utc_with_z_to_their_precision() -> None:
    casablanca = parse_instant("2026-03-01T10:00:00+01:00")
    assert casablanca == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert format_instant(casablanca) == "2026-03-01T09:00:00Z"
    assert format_instant(casablanca.replace(microsecond=250000)) == "2026-03-01T09:00:00.250Z"
    assert format_instant(casablanca.replace(microsecond=123456)) == "2026-03-01T09:00:00.123456Z"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-03-01T08:00:00", "no time zone"),  # naive: refused, never guessed
        ("2026-03-01", "a date, not a date-time"),
        ("yesterday", "not an ISO 8601"),
        (None, "string"),
        (1772352000, "string"),
    ],
)
def test_what_is_not_an_instant_says_why(text: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_instant(text)
    with pytest.raises(Invalid, match=f"^observedAt: .*{why}") as err:
        read_instant(text, where="observedAt", parameter="observedAt")
    assert err.value.details == {"parameter": "observedAt"}


@pytest.mark.parametrize(
    "text", ["2026-03-01T08:00:00Z", "2026-03-01T08:00:00z", " 2026-03-01T09:00:00+01:00 "]
)
def test_every_way_of_writing_utc_is_read(text: str) -> None:
    assert parse_instant(text) == datetime(2026, 3, 1, 8, tzinfo=UTC)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(timezone(timedelta(hours=-3))),
    )
)
def test_format_then_parse_is_the_same_instant(moment: datetime) -> None:
    text = format_instant(moment)
    assert text.endswith("Z")
    assert parse_instant(text) == moment


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().utcoffset() == timedelta(0)
