"""What may be published: the one gate every open-data publication passes through.

Three rules, pure, used by the dataset builder, the CKAN and DCAT answers and the pages alike:

- columns: a published table declares its columns; a name that carries personal data
  (requesters' names, phones, e-mails, tokens, free text, notes, agents) is refused outright;
- positions: a request's point is published as the centre of its H3 cell (resolution in the
  settings, 9 ≈ 0.1 km²), never as typed or clicked;
- small counts: a figure made of fewer than k contributions (k = `min_cell_count`) is empty,
  with a `suppressed` flag beside it, the same in files, API answers and pages.

And a last wall: every text that leaves is scanned for what looks like a phone number, an
e-mail address or a national identity card (CIN) number; a hit stops the publication.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import h3

#: Column names that never appear in open data, whatever dataset asks for them.
PERSONAL_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "name_of_requester",
        "email",
        "phone",
        "account_id",
        "device_id",
        "token",
        "token_hash",
        "idempotency_key",
        "description",
        "status_notes",
        "note",
        "notes",
        "comment",
        "answer",
        "assignee",
        "actor",
        "agent",
        "username",
        "display_name",
        "address",
        "address_string",
        "address_id",
        "media",
        "password_hash",
    }
)

#: The one free-text column open data may carry: a text an agent approved for publication.
APPROVED_TEXT_COLUMN = "public_text"

#: Regular expressions (DuckDB/RE2 and Python agree on them) for what must never leave.
#: Moroccan mobiles and fixed lines (+212 6…, 00212 7…, 06…, 05…), e-mail addresses, CIN numbers
#: (one or two letters then 3–6 digits, e.g. AB123456 or J412345).
PATTERNS: dict[str, str] = {
    "phone": r"(\+|00)\s?212[\s.-]?[5-8]([\s.-]?[0-9]){8}|(^|[^0-9])0[5-8]([\s.-]?[0-9]){8}([^0-9]|$)",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "cin": r"(^|[^A-Za-z0-9])[A-Za-z]{1,2}[0-9]{5,6}([^A-Za-z0-9]|$)",
}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}


class PrivacyViolation(ValueError):
    """Something personal was about to be published; nothing was."""


@dataclass(frozen=True)
class Finding:
    kind: str  # phone | email | cin
    where: str  # dataset/column, for the operator (never the value itself)


def check_columns(dataset: str, columns: Iterable[str]) -> None:
    """Refuse a table that has a personal column (see PERSONAL_COLUMNS)."""
    bad = sorted(c for c in columns if c.lower() in PERSONAL_COLUMNS)
    if bad:
        raise PrivacyViolation(
            f"{dataset}: personal columns may not be published: {', '.join(bad)}"
        )


def scan_text(text: str) -> list[str]:
    """The kinds of personal data `text` looks like it holds (empty: none)."""
    return [kind for kind, pattern in _COMPILED.items() if pattern.search(text)]


def check_public_text(text: str) -> str:
    """A text an agent wants published, refused if it still holds a phone, e-mail or CIN."""
    found = scan_text(text)
    if found:
        raise PrivacyViolation(
            "the text still holds what looks like " + ", ".join(found) + ": remove it first"
        )
    return text.strip()


def coarsen(lat: float, lon: float, resolution: int) -> tuple[float, float, str]:
    """The centre of the H3 cell holding (lat, lon), rounded to 6 decimals, and the cell."""
    cell = h3.latlng_to_cell(lat, lon, resolution)
    c_lat, c_lon = h3.cell_to_latlng(cell)
    return round(c_lat, 6), round(c_lon, 6), cell


def suppress(count: int | None, k: int) -> tuple[int | None, bool]:
    """(the count or None, whether it was suppressed): fewer than k contributions are hidden."""
    if count is None:
        return None, False
    return (None, True) if count < k else (count, False)


def suppressed_sql(count_expr: str, k: int) -> str:
    """SQL for `suppressed` (a boolean column) over a count expression: the same rule in DuckDB."""
    return f"({count_expr}) < {int(k)}"


def keep_if_enough(value_expr: str, count_expr: str, k: int) -> str:
    """SQL keeping `value_expr` only when `count_expr` reaches k; NULL (suppressed) otherwise."""
    return f"CASE WHEN ({count_expr}) >= {int(k)} THEN {value_expr} END"
