"""Regular expressions written by users (NGSI-LD `idPattern`, `q=attr~="…"`), matched in
linear time.

Python's `re` backtracks: `^(?:.|.){25}Z` or `(a+)+$` take seconds to fail, and one anonymous
request held the whole server meanwhile. Every pattern that comes from outside goes through
`compile_user_pattern`, which compiles it with RE2 (google-re2): matching time is linear in the
text, whatever the pattern. What RE2 cannot run in linear time (backreferences, lookaround) is
refused as bad input, and so is a pattern longer than `MAX_LENGTH` or whose automaton would
need more than `MAX_MEMORY`. DuckDB's `regexp_full_match` is RE2 too, so a pattern accepted
here means the same thing in the history lake.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from hakama.core.errors import Invalid

MAX_LENGTH = 256
MAX_MEMORY = 8 << 20  # bytes for the compiled program; RE2 refuses patterns that need more


class UserPattern:
    """A compiled user pattern; `pattern` is the text the user wrote."""

    __slots__ = ("_regex", "pattern")

    def __init__(self, pattern: str, regex: Any) -> None:
        self.pattern = pattern
        self._regex = regex

    def search(self, text: str) -> bool:
        """Does the pattern match anywhere in `text` (the `~=` operator)?"""
        return self._regex.search(text) is not None

    def fullmatch(self, text: str) -> bool:
        """Does the pattern match the whole of `text` (`idPattern`)?"""
        return self._regex.fullmatch(text) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UserPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(("UserPattern", self.pattern))

    def __repr__(self) -> str:
        return f"UserPattern({self.pattern!r})"


def _options() -> Any:
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.log_errors = False
    return options


@lru_cache(maxsize=1024)  # subscriptions test the same patterns on every change
def compile_user_pattern(pattern: str, *, what: str = "regular expression") -> UserPattern:
    """Compile a pattern from outside; Invalid (a 400) when it is too long or not something RE2
    runs in linear time. `what` names the parameter in the message, e.g. "idPattern"."""
    if len(pattern) > MAX_LENGTH:
        raise Invalid(f"{what}: longer than {MAX_LENGTH} characters")
    try:
        regex = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise Invalid(
            f"{what}: not a regular expression this server runs in linear time ({reason}); "
            "backreferences and lookaround are not supported"
        ) from None
    return UserPattern(pattern, regex)
