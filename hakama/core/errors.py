"""The errors services raise; each front end maps them to its own format (HTTP statuses:
`hakama.http.problems.STATUSES`; CLI messages)."""

from __future__ import annotations

from typing import Any


class HakamaError(Exception):
    """Base of the domain errors: a message for people and optional details for machines."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(HakamaError):
    """The input breaks a rule: wrong type, out of range, missing field."""


class NotFound(HakamaError):
    """The thing asked for does not exist (or is not visible to the actor)."""


class Conflict(HakamaError):
    """The thing already exists, or the change clashes with its current state."""


class Unauthorized(HakamaError):
    """No valid credentials were given."""


class Forbidden(HakamaError):
    """The actor is known but may not do this."""


class TooSlow(HakamaError):
    """Work that did not finish within its time limit (the server stays free for others)."""


class Overloaded(TooSlow):
    """Work refused before it started: as much of its kind is already running and waiting."""


class Unavailable(HakamaError):
    """Something the work needs is missing on this machine (a library, a renderer)."""
