"""The errors services raise; each front end maps them to its own format (HTTP, CLI)."""

from __future__ import annotations

from typing import Any


class HakamaError(Exception):
    """Base of the domain errors: a message for people and optional details for machines."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(HakamaError):
    """The input breaks a rule: wrong type, out of range, missing field."""

    status = 400
    title = "Invalid input"


class NotFound(HakamaError):
    status = 404
    title = "Not found"


class Conflict(HakamaError):
    """The thing already exists, or the change clashes with its current state."""

    status = 409
    title = "Conflict"


class Unauthorized(HakamaError):
    """No valid credentials were given."""

    status = 401
    title = "Unauthorized"


class Forbidden(HakamaError):
    """The actor is known but may not do this."""

    status = 403
    title = "Forbidden"


class TooSlow(HakamaError):
    """Work that did not finish within its time limit (the server stays free for others)."""

    status = 503
    title = "Service unavailable"


class Overloaded(TooSlow):
    """Work refused before it started: as much of its kind is already running and waiting."""
