"""Why a record row was rejected: a stable machine code and a message to translate.

The validator writes its reasons in English, column-wise (`ingest.record_validation`); each one
has a fixed shape, so its code and its parameters are read back here, and the office shows it in
the page's language (`message` is the msgid, with `%(name)s` placeholders) and the CSV of errors
carries the code beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    pattern: re.Pattern[str]
    message: str  # the English text with placeholders: the msgid the catalogs translate


def _reason(code: str, pattern: str, message: str) -> Reason:
    return Reason(code, re.compile(pattern), message)


REASONS: tuple[Reason, ...] = (
    _reason("required", r"required, empty", "required, empty"),
    _reason("too_long", r"longer than (?P<n>\d+) characters", "longer than %(n)s characters"),
    _reason("future", r"in the future", "in the future"),
    _reason("before_requested", r"before requested_at", "before requested_at"),
    _reason(
        "unknown_code",
        r"unknown code \(allowed: (?P<allowed>.*)\)",
        "unknown code (allowed: %(allowed)s)",
    ),
    _reason("not_integer", r"not a whole number", "not a whole number"),
    _reason("not_number", r"not a number", "not a number"),
    _reason("not_boolean", r"not yes/no", "not yes/no"),
    _reason(
        "not_datetime",
        r"not a date/time in a known format \((?P<formats>.*)\)",
        "not a date/time in a known format (%(formats)s)",
    ),
    _reason(
        "duplicate_key", r"same (?P<key>.+) as line (?P<line>\d+)", "same %(key)s as line %(line)s"
    ),
    _reason("duplicate_key", r"(?P<key>.+) repeated further down", "%(key)s repeated further down"),
    _reason(
        "cell_count",
        r"(?P<cells>\d+) cells where the header has (?P<width>\d+)",
        "%(cells)s cells where the header has %(width)s",
    ),
    _reason(
        "extra_cells",
        r"cells beyond the (?P<width>\d+) named columns",
        "cells beyond the %(width)s named columns",
    ),
)
CODES = (*dict.fromkeys(r.code for r in REASONS), "other")


@dataclass(frozen=True)
class Explained:
    code: str
    message: str  # msgid
    params: dict[str, str]


def explain(reason: str) -> Explained:
    """The code, msgid and parameters of a validator's reason (`other` for an unknown one)."""
    for r in REASONS:
        found = r.pattern.fullmatch(reason)
        if found:
            return Explained(r.code, r.message, found.groupdict())
    return Explained("other", reason, {})
