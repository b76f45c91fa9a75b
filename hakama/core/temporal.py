"""The NGSI-LD temporal vocabulary, pure: ISO-8601 durations, time windows, aggregation methods.

What a temporal query asks for (`TemporalQuery`) is parsed here from the request parameters
(`timerel`, `timeAt`, `endTimeAt`, `lastN`, `attrs`, `aggrMethods`, `aggrPeriodDuration`) and
checked once, so the service that answers it from the lake only builds SQL from valid values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from hakama.core.clock import read_instant
from hakama.core.errors import Invalid, NotFound
from hakama.core.observations import observation_key

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """An ISO-8601 duration split the way calendars need it: whole months, then an exact span.

    Months and years have no fixed length, so they are kept apart from the days-and-seconds
    part (`span`); DuckDB's `time_bucket` cannot mix the two either.
    """

    months: int
    span: timedelta
    text: str

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.span == timedelta(0)

    def sql_interval(self) -> str:
        """The duration as a DuckDB INTERVAL literal, e.g. `INTERVAL '86400000000 microseconds'`."""
        if self.months and self.span:
            raise Invalid(
                f"aggrPeriodDuration {self.text}: months and days in one period are not supported",
                parameter="aggrPeriodDuration",
            )
        if self.months:
            return f"INTERVAL '{self.months} months'"
        micros = self.span // timedelta(microseconds=1)
        return f"INTERVAL '{micros} microseconds'"


def parse_duration(text: str) -> Duration:
    """Read an ISO-8601 duration (`P1D`, `PT15M`, `P1Y2M`, `P2W`, `PT0.5S`); refuse the rest."""
    match = _DURATION.fullmatch(text.strip()) if text else None
    if match is None:
        raise Invalid(f"{text!r} is not an ISO-8601 duration such as P1D or PT1H", value=text)
    parts = {k: v for k, v in match.groupdict().items() if v is not None}
    months = int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
    span = timedelta(
        weeks=int(parts.get("weeks", 0)),
        days=int(parts.get("days", 0)),
        hours=int(parts.get("hours", 0)),
        minutes=int(parts.get("minutes", 0)),
        seconds=float(parts.get("seconds", 0)),
    )
    return Duration(months=months, span=span, text=text.strip())


def format_duration(duration: timedelta) -> str:
    """An exact span as ISO-8601 (`P1DT2H`, `PT0S`), the inverse of `parse_duration` for spans."""
    micros = duration // timedelta(microseconds=1)
    if micros < 0:
        raise Invalid("a duration cannot be negative")
    days, rest = divmod(micros, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micro = divmod(rest, 1_000_000)
    out = "P" + (f"{days}D" if days else "")
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or micro:
        clock += f"{seconds}.{micro:06d}".rstrip("0").rstrip(".") + "S"
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"


class TimeRel(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    BETWEEN = "between"


class AggrMethod(StrEnum):
    """The aggregation functions of NGSI-LD clause 4.5.19 (names as the API spells them)."""

    TOTAL_COUNT = "totalCount"
    DISTINCT_COUNT = "distinctCount"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    STDDEV = "stddev"
    SUMSQ = "sumsq"


#: Which methods need a number; the others also apply to text values.
NUMERIC_METHODS = frozenset({AggrMethod.SUM, AggrMethod.AVG, AggrMethod.STDDEV, AggrMethod.SUMSQ})


class Format(StrEnum):
    """How a temporal entity is rendered (NGSI-LD clause 4.5.7 to 4.5.9)."""

    NORMALIZED = "normalized"
    TEMPORAL_VALUES = "temporalValues"
    AGGREGATED = "aggregatedValues"


@dataclass(frozen=True)
class TimeWindow:
    """The instants a query covers: `start <= t < end`, either side open when None."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, instant: datetime) -> bool:
        return (self.start is None or instant >= self.start) and (
            self.end is None or instant < self.end
        )


def time_window(timerel: str | None, time_at: str | None, end_time_at: str | None) -> TimeWindow:
    """The window of `timerel`/`timeAt`/`endTimeAt`, checked as NGSI-LD requires.

    `before` is strict, `after` inclusive, `between` is [timeAt, endTimeAt).
    """
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise Invalid("timeAt and endTimeAt need timerel", parameter="timerel")
        return TimeWindow()
    try:
        rel = TimeRel(timerel)
    except ValueError:
        raise Invalid(
            f"timerel must be before, after or between, not {timerel!r}", parameter="timerel"
        ) from None
    if time_at is None:
        raise Invalid("timerel needs timeAt", parameter="timeAt")
    at = read_instant(time_at, where="timeAt", parameter="timeAt")
    if rel is TimeRel.BEFORE:
        return TimeWindow(end=at)
    if rel is TimeRel.AFTER:
        return TimeWindow(start=at)
    if end_time_at is None:
        raise Invalid("timerel=between needs endTimeAt", parameter="endTimeAt")
    end = read_instant(end_time_at, where="endTimeAt", parameter="endTimeAt")
    if end <= at:
        raise Invalid("endTimeAt must be after timeAt", parameter="endTimeAt")
    return TimeWindow(start=at, end=end)


@dataclass(frozen=True)
class Aggregation:
    """`aggrMethods` over periods of `period` (the whole window when None)."""

    methods: tuple[AggrMethod, ...]
    period: Duration | None = None


def parse_aggregation(methods: str | None, period: str | None) -> Aggregation | None:
    """`aggrMethods=avg,max` and `aggrPeriodDuration=P1D`, or None when no aggregation is asked."""
    if not methods:
        if period:
            raise Invalid("aggrPeriodDuration needs aggrMethods", parameter="aggrMethods")
        return None
    parsed: list[AggrMethod] = []
    for name in (m.strip() for m in methods.split(",")):
        try:
            method = AggrMethod(name)
        except ValueError:
            known = ", ".join(m.value for m in AggrMethod)
            raise Invalid(
                f"unknown aggregation method {name!r}; known: {known}", parameter="aggrMethods"
            ) from None
        if method not in parsed:
            parsed.append(method)
    duration = parse_duration(period) if period else None
    if duration is not None and duration.is_zero:
        duration = None  # PT0S means "the whole window" (clause 4.5.19)
    if duration is not None:
        duration.sql_interval()  # refuse mixed month/day periods now, not in the engine
    return Aggregation(methods=tuple(parsed), period=duration)


def parse_last_n(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise Invalid(
            f"lastN must be a positive integer, not {text!r}", parameter="lastN"
        ) from None
    if value < 1:
        raise Invalid("lastN must be a positive integer", parameter="lastN")
    return value


def split_list(text: str | None) -> tuple[str, ...]:
    """A comma-separated parameter (`attrs`, `type`, `id`) as a tuple without blanks."""
    if not text:
        return ()
    return tuple(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class TemporalQuery:
    """Everything a temporal retrieval or query asks for, validated."""

    window: TimeWindow = field(default_factory=TimeWindow)
    attrs: tuple[str, ...] = ()
    last_n: int | None = None
    aggregation: Aggregation | None = None
    format: Format = Format.NORMALIZED

    @classmethod
    def parse(
        cls,
        *,
        timerel: str | None = None,
        time_at: str | None = None,
        end_time_at: str | None = None,
        attrs: str | None = None,
        last_n: str | None = None,
        aggr_methods: str | None = None,
        aggr_period: str | None = None,
        options: Sequence[str] = (),
    ) -> TemporalQuery:
        """Build a query from request parameters; `options` are the `options`/`format` words."""
        aggregation = parse_aggregation(aggr_methods, aggr_period)
        fmt = Format.NORMALIZED
        if "temporalValues" in options:
            fmt = Format.TEMPORAL_VALUES
        if "aggregatedValues" in options or aggregation is not None:
            if aggregation is None:
                raise Invalid("aggregatedValues needs aggrMethods", parameter="aggrMethods")
            fmt = Format.AGGREGATED
        return cls(
            window=time_window(timerel, time_at, end_time_at),
            attrs=split_list(attrs),
            last_n=parse_last_n(last_n),
            aggregation=aggregation,
            format=fmt,
        )


# Instance ids and cut answers --------------------------------------------------------------

INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Truncated:
    """The answer covers [first, last] only (clause 6.3.10, HTTP 206 with `Content-Range:
    date-time <start>-<end>/<size>`): oldest first, later instances were left out (ask again
    with timeAt after `last`); with `lastN` (`size`), newest first, `first` is the most recent
    instant and older instances were left out. `emptied`: (entity, type, attribute) whose every
    instance fell outside the range (answered as an empty attribute)."""

    first: datetime
    last: datetime
    size: int | None = None
    emptied: tuple[tuple[str, str, str], ...] = ()


def instance_id(
    entity_id: str, attribute: str, time: datetime, value: float | None, text: str | None
) -> str:
    """The stable id of one attribute instance (its time, then its observation key)."""
    micros = (time.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return f"{INSTANCE_PREFIX}{micros}-{observation_key(entity_id, attribute, time, value, text)}"


def instance_time(instance: str) -> tuple[datetime, str]:
    """(instant, observation key) of an instance id; `NotFound` when it is not one of ours."""
    match = re.fullmatch(re.escape(INSTANCE_PREFIX) + r"(-?\d+)-([0-9a-f]{32})", instance)
    if match is None:
        raise NotFound(f"no attribute instance {instance}", id=instance)
    return _EPOCH + timedelta(microseconds=int(match.group(1))), match.group(2)
