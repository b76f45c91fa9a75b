"""NGSI-LD ProblemDetails (ETSI GS CIM 009, clause 5.5.2) for the three NGSI-LD routers.

Services raise `hakama.core.errors.*`; routers raise `NgsiError` when the standard needs a
precise error type (e.g. OperationNotSupported, LdContextNotAvailable). The app-level handler in
`hakama.http.problems` calls `to_response` for every error on a path under `/ngsi-ld/`, so the
NGSI-LD API never answers with hakama's generic problem+json:

    Invalid → BadRequestData 400        NotFound → ResourceNotFound 404
    Conflict → AlreadyExists 409        Forbidden → 403, Unauthorized → 401
    request validation (FastAPI) → BadRequestData 400, unknown path → ResourceNotFound 404,
    wrong method → OperationNotSupported 405, anything else → InternalError 500.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hakama.core.errors import (
    Conflict,
    Forbidden,
    HakamaError,
    Invalid,
    NotFound,
    TooSlow,
    Unauthorized,
)
from hakama.http.problems import status_of
from hakama.services.contexts import ContextUnavailable

ERRORS_BASE = "https://uri.etsi.org/ngsi-ld/errors/"
#: NGSI-LD answers errors as plain JSON (clause 6.3.7); clients key on the `type` URI.
NGSI_ERROR_MEDIA_TYPE = "application/json"
NGSI_PREFIX = "/ngsi-ld/"


class ErrorKind(StrEnum):
    """The error types of clause 5.5.2, with the status each one answers with by default."""

    INVALID_REQUEST = "InvalidRequest"
    BAD_REQUEST_DATA = "BadRequestData"
    ALREADY_EXISTS = "AlreadyExists"
    OPERATION_NOT_SUPPORTED = "OperationNotSupported"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    INTERNAL_ERROR = "InternalError"
    TOO_COMPLEX_QUERY = "TooComplexQuery"
    TOO_MANY_RESULTS = "TooManyResults"
    LD_CONTEXT_NOT_AVAILABLE = "LdContextNotAvailable"
    NO_MULTI_TENANT_SUPPORT = "NoMultiTenantSupport"
    NONEXISTENT_TENANT = "NonexistentTenant"
    # Not in clause 5.5.2 (the standard leaves access control out); same URI scheme.
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_ACCEPTABLE = "NotAcceptable"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"

    @property
    def uri(self) -> str:
        return ERRORS_BASE + self.value

    @property
    def default_status(self) -> int:
        return _DEFAULT_STATUS[self]


_DEFAULT_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.BAD_REQUEST_DATA: 400,
    ErrorKind.ALREADY_EXISTS: 409,
    ErrorKind.OPERATION_NOT_SUPPORTED: 422,
    ErrorKind.RESOURCE_NOT_FOUND: 404,
    ErrorKind.INTERNAL_ERROR: 500,
    ErrorKind.TOO_COMPLEX_QUERY: 403,
    ErrorKind.TOO_MANY_RESULTS: 403,
    ErrorKind.LD_CONTEXT_NOT_AVAILABLE: 504,
    ErrorKind.NO_MULTI_TENANT_SUPPORT: 501,
    ErrorKind.NONEXISTENT_TENANT: 404,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_ACCEPTABLE: 406,
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: 415,
}


class NgsiError(HakamaError):
    """An error that must reach an NGSI-LD client with a precise ProblemDetails type."""

    def __init__(
        self, kind: ErrorKind, message: str, *, status: int | None = None, title: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status or kind.default_status
        self.title = title or _title(kind)


def ngsi_problem(
    kind: ErrorKind | str, title: str, detail: str, status: int | None = None, **extra: Any
) -> JSONResponse:
    """A ProblemDetails response: `{"type": <URI>, "title", "status", "detail", ...extra}`."""
    kind = ErrorKind(kind)
    code = status or kind.default_status
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": title,
        "status": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=code, media_type=NGSI_ERROR_MEDIA_TYPE)


def problem_body(
    kind: ErrorKind, detail: str, *, title: str | None = None, status: int | None = None
) -> dict[str, Any]:
    """The ProblemDetails object alone, e.g. for the `errors` list of a batch operation result."""
    return {
        "type": kind.uri,
        "title": title or _title(kind),
        "status": status or kind.default_status,
        "detail": detail,
    }


def kind_of(exc: HakamaError) -> ErrorKind:
    """The NGSI-LD error type of a domain error."""
    if isinstance(exc, NgsiError):
        return exc.kind
    for cls, kind in _DOMAIN_KINDS:
        if isinstance(exc, cls):
            return kind
    return ErrorKind.BAD_REQUEST_DATA


_DOMAIN_KINDS: tuple[tuple[type[HakamaError], ErrorKind], ...] = (
    (ContextUnavailable, ErrorKind.LD_CONTEXT_NOT_AVAILABLE),
    (NotFound, ErrorKind.RESOURCE_NOT_FOUND),
    (Conflict, ErrorKind.ALREADY_EXISTS),
    (Invalid, ErrorKind.BAD_REQUEST_DATA),
    (Forbidden, ErrorKind.FORBIDDEN),
    (Unauthorized, ErrorKind.UNAUTHORIZED),
    (TooSlow, ErrorKind.TOO_COMPLEX_QUERY),  # answered 503: the time limit, not the query
)


def is_ngsi_path(path: str) -> bool:
    return path.startswith(NGSI_PREFIX) or path == NGSI_PREFIX.rstrip("/")


def to_response(exc: Exception) -> JSONResponse:
    """Any exception raised while serving an NGSI-LD path, as a ProblemDetails response."""
    if isinstance(exc, HakamaError):
        kind = kind_of(exc)
        if isinstance(exc, NgsiError):
            status = exc.status
        elif isinstance(exc, ContextUnavailable | TooSlow):
            status = status_of(exc)
        else:
            status = kind.default_status
        return ngsi_problem(kind, _title(kind), exc.message, status)
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        detail = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return ngsi_problem(ErrorKind.BAD_REQUEST_DATA, "Bad request data", detail)
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        kind = _HTTP_KINDS.get(exc.status_code, ErrorKind.BAD_REQUEST_DATA)
        response = ngsi_problem(kind, _title(kind), detail, exc.status_code)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
    return ngsi_problem(
        ErrorKind.INTERNAL_ERROR,
        "Internal error",
        "an unexpected error occurred; it has been logged",
    )


_HTTP_KINDS: dict[int, ErrorKind] = {
    404: ErrorKind.RESOURCE_NOT_FOUND,
    405: ErrorKind.OPERATION_NOT_SUPPORTED,
    406: ErrorKind.NOT_ACCEPTABLE,
    415: ErrorKind.UNSUPPORTED_MEDIA_TYPE,
    401: ErrorKind.UNAUTHORIZED,
    403: ErrorKind.FORBIDDEN,
    409: ErrorKind.ALREADY_EXISTS,
}


def _title(kind: ErrorKind) -> str:
    """`BadRequestData` → `Bad request data`."""
    words: list[str] = []
    for ch in kind.value:
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.lower() if words else ch)
    return "".join(words)
