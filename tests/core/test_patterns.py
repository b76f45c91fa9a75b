"""User regular expressions run in linear time (RE2): the patterns that froze the server for
seconds with Python's `re` answer at once, and what RE2 cannot run linearly is refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hakama.core import ngsi_query
from hakama.core.errors import Invalid
from hakama.core.patterns import MAX_LENGTH, compile_user_pattern

# Each doubles its backtracking in Python's `re` with every extra character of the text: with
# the texts below `re` would run for longer than the age of the universe.
ADVERSARIAL = [
    (r"^(?:.|.){25}Z", "a" * 60),
    (r"(a+)+$", "a" * 5000 + "!"),
    (r"(a|aa)*b", "a" * 5000),
    (r"(.*a){20}", "a" * 30 + "b" * 5000),
    (r"^(\w+\s?)*$", "word " * 2000 + "!"),
]


@pytest.mark.parametrize(("pattern", "text"), ADVERSARIAL)
def test_adversarial_patterns_answer_in_linear_time(pattern: str, text: str) -> None:
    compiled = compile_user_pattern(pattern)
    assert compiled.fullmatch(text) is False
    assert compiled.pattern == pattern


def test_meaning_is_that_of_re_for_ordinary_patterns() -> None:
    for pattern, text, full, found in [
        (r"urn:ngsi-ld:.*:s[12]", "urn:ngsi-ld:Air:s1", True, True),
        (r"s[12]$", "urn:ngsi-ld:Air:s1", False, True),
        (r"^Capteur", "capteur", False, False),
        (r"(?i)^capteur", "Capteur 2", False, True),
        (r"\d{4}-\d{2}", "day 2026-12", False, True),
    ]:
        compiled = compile_user_pattern(pattern)
        assert compiled.fullmatch(text) is full is (re.fullmatch(pattern, text) is not None)
        assert compiled.search(text) is found is (re.search(pattern, text) is not None)


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"a(?=b)", r"(?<!x)y", "(", "[z-a]", "x" * (MAX_LENGTH + 1), "a{100000}"],
)
def test_what_cannot_run_in_linear_time_is_bad_input(pattern: str) -> None:
    with pytest.raises(Invalid, match="idPattern"):
        compile_user_pattern(pattern, what="idPattern")


def test_q_uses_the_same_engine() -> None:
    query = ngsi_query.parse_q('name~="(a+)+$"')
    entity = {"id": "urn:x", "type": "T", "name": {"type": "Property", "value": "a" * 5000 + "!"}}
    assert ngsi_query.matches(entity, query) is False
    assert ngsi_query.to_text(query) == 'name~="(a+)+$"'
    with pytest.raises(Invalid, match="linear time"):
        ngsi_query.parse_q('name~="(x)\\1"')


@given(st.text(max_size=40), st.text(max_size=60))
def test_any_pattern_is_refused_or_answers(pattern: str, text: str) -> None:
    try:
        compiled = compile_user_pattern(pattern)
    except Invalid:
        return
    assert isinstance(compiled.search(text), bool)
    assert isinstance(compiled.fullmatch(text), bool)
