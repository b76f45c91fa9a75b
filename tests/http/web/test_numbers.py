"""Numbers as each language's readers write them (Western digits in Arabic too)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hakama.http.web.numbers import change_percent, integer


def test_integers_use_each_language_grouping() -> None:
    assert integer(284061, "ar") == "284.061"
    assert integer(284061, "fr") == "284\u202f061"
    assert integer(284061, "en") == "284,061"
    assert integer(7, "ar") == "7"


def test_changes_are_signed_with_one_decimal() -> None:
    assert change_percent(-9.3131, "ar") == "-9,3%"
    assert change_percent(12.04, "fr") == "+12,0\xa0%"
    assert change_percent(0.0, "en") == "+0.0%"


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["ar", "fr", "en", "xx"]))
def test_integers_keep_their_digits_in_western_numerals(value: int, lang: str) -> None:
    written = integer(value, lang)
    assert "".join(c for c in written if c.isdigit()) == str(value)
    assert all(c.isascii() or c in "\u202f\xa0" for c in written)
