"""The privacy gate's pure rules: personal columns refused, text scanned, positions coarsened,
small counts suppressed."""

from __future__ import annotations

import h3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core import privacy


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("appelez le +212 6 61 23 45 67", ["phone"]),
        ("appelez le +212661234567", ["phone"]),
        ("tel 00212 7 12 34 56 78", ["phone"]),
        ("0661234567", ["phone"]),
        ("06 61 23 45 67 svp", ["phone"]),
        ("05.36.61.23.45", ["phone"]),
        ("amina.b@example.ma", ["email"]),
        ("CIN AB123456", ["cin"]),
        ("carte J412345.", ["cin"]),
        ("Lampadaire réparé le 2026-03-04 à 10:15, rue 12", []),
        ("demande AB12-CD34, commune 02.113.01.09", []),
        ("35.116216,-2.314439", []),
    ],
)
def test_scan_text_finds_phones_emails_and_cin(text: str, kinds: list[str]) -> None:
    assert privacy.scan_text(text) == kinds


def test_personal_columns_are_refused() -> None:
    privacy.check_columns("ok", ["request_id", "status", "public_text", "lat"])
    for bad in (
        "email",
        "Phone",
        "description",
        "assignee",
        "status_notes",
        "token_hash",
        "address",
    ):
        with pytest.raises(privacy.PrivacyViolation, match=bad):
            privacy.check_columns("requests", ["request_id", bad])


def test_a_public_text_with_a_phone_is_refused() -> None:
    assert privacy.check_public_text("  Réparé.  ") == "Réparé."
    with pytest.raises(privacy.PrivacyViolation, match="phone"):
        privacy.check_public_text("rappeler le 0612345678")


@given(st.floats(min_value=-60, max_value=60), st.floats(min_value=-179, max_value=179))
def test_coarsening_gives_the_centre_of_the_cell(lat: float, lon: float) -> None:
    c_lat, c_lon, cell = privacy.coarsen(lat, lon, 9)
    assert cell == h3.latlng_to_cell(lat, lon, 9)
    assert h3.latlng_to_cell(c_lat, c_lon, 9) == cell  # the centre lies in the same cell
    assert privacy.coarsen(c_lat, c_lon, 9) == (
        c_lat,
        c_lon,
        cell,
    )  # every point of a cell says the same


def test_small_counts_are_suppressed_with_a_flag() -> None:
    assert privacy.suppress(4, 5) == (None, True)
    assert privacy.suppress(5, 5) == (5, False)
    assert privacy.suppress(None, 5) == (None, False)
    assert privacy.keep_if_enough("v", "n", 5) == "CASE WHEN (n) >= 5 THEN v END"
    assert privacy.suppressed_sql("n", 3) == "(n) < 3"
