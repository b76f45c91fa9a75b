"""Time, one way for every layer: the one ISO 8601 parser, the one formatter, and `utcnow`.

The rule: an instant carries its zone, `Z` or an offset (NGSI-LD times are UTC; Open311 dates
are W3C date-times with an offset). A date-time without one is refused, never guessed; a front
end that knows a local zone (the portal's `datetime-local` fields) attaches it first. Instants
are written in UTC with a `Z`, to the precision they have: seconds, milliseconds when a whole
number of them, else microseconds — so a time reads the same through every API that shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hakama.core.errors import Invalid


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_instant(text: object) -> datetime:
    """An aware UTC datetime from an ISO 8601 date-time with `Z` or an offset.

    Raises ValueError saying why (not text, not ISO 8601, a bare date, no zone); callers wrap
    it in their own error with where the value came from.
    """
    if not isinstance(text, str):
        raise ValueError("expected an ISO 8601 date-time string")
    stripped = text.strip()
    if stripped[-1:] in ("Z", "z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time") from None
    if "T" not in stripped and " " not in stripped:
        raise ValueError(f"{text!r} is a date, not a date-time")
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z for UTC, or an offset)")
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """An instant as hakama writes it: ISO 8601 in UTC with a `Z`, seconds, milliseconds or
    microseconds as the value needs."""
    utc = value.astimezone(UTC)
    micro = utc.microsecond
    spec = "seconds" if not micro else ("milliseconds" if micro % 1000 == 0 else "microseconds")
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


def read_instant(text: object, *, where: str, **details: Any) -> datetime:
    """`parse_instant` for input from outside: a bad value is `Invalid`, naming `where`."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}", **details) from None
