"""Domain errors carry no HTTP status: the HTTP layer maps each one, in one table."""

from __future__ import annotations

import pytest

from hakama.core.errors import (
    Conflict,
    Forbidden,
    HakamaError,
    Invalid,
    NotFound,
    Overloaded,
    TooSlow,
    Unauthorized,
)
from hakama.core.subscriptions import Unsupported
from hakama.http.problems import status_of, title_of
from hakama.reports.pdf import Unavailable as PdfUnavailable
from hakama.services.contexts import ContextUnavailable


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (HakamaError("x"), 400, "Bad request"),
        (Invalid("x"), 400, "Invalid input"),
        (Unsupported("x"), 501, "Operation not supported"),
        (type("Other", (Invalid,), {})("x"), 400, "Invalid input"),  # else its parent's
        (Unauthorized("x"), 401, "Unauthorized"),
        (Forbidden("x"), 403, "Forbidden"),
        (NotFound("x"), 404, "Not found"),
        (Conflict("x"), 409, "Conflict"),
        (TooSlow("x"), 503, "Service unavailable"),
        (Overloaded("x"), 503, "Service unavailable"),
        (PdfUnavailable("x"), 503, "Service unavailable"),
        (ContextUnavailable("x"), 504, "LD context not available"),
    ],
)
def test_each_domain_error_has_one_http_status(error: HakamaError, status: int, title: str) -> None:
    assert (status_of(error), title_of(error)) == (status, title)
    assert not hasattr(error, "status")
