"""One error handler for the HTTP front end: domain errors and bad input become problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hakama.core.errors import (
    Conflict,
    Forbidden,
    HakamaError,
    Invalid,
    NotFound,
    TooSlow,
    Unauthorized,
    Unavailable,
)
from hakama.core.subscriptions import Unsupported
from hakama.http.auth import CsrfRefused
from hakama.http.web.errors import error_page, is_page_form, wants_html
from hakama.services.contexts import ContextUnavailable

log = logging.getLogger("hakama.http")

PROBLEM_JSON = "application/problem+json"


#: The HTTP status and title of each domain error; an error takes its nearest listed class's.
STATUSES: dict[type[Exception], tuple[int, str]] = {
    HakamaError: (400, "Bad request"),
    Invalid: (400, "Invalid input"),
    Unauthorized: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    Unsupported: (501, "Operation not supported"),
    TooSlow: (503, "Service unavailable"),
    Unavailable: (503, "Service unavailable"),
    ContextUnavailable: (504, "LD context not available"),  # NGSI-LD clause 6.3.2
}


def status_of(exc: HakamaError) -> int:
    """The HTTP status a domain error is answered with."""
    return _mapped(exc)[0]


def title_of(exc: HakamaError) -> str:
    return _mapped(exc)[1]


def _mapped(exc: HakamaError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        found = STATUSES.get(cls)
        if found is not None:
            return found
    return STATUSES[HakamaError]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, for a 405's `Allow` (Starlette lists only
    the first route's, and a path often has one route per method)."""
    routes = request.app.router.routes
    methods = {
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    }
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers; routers under a standard with its own error format add theirs."""

    from hakama.http.api import ngsi_errors  # NGSI-LD paths answer with its ProblemDetails

    @app.exception_handler(HakamaError)
    async def _domain(_request: Request, exc: HakamaError) -> Response:
        response: Response
        if ngsi_errors.is_ngsi_path(_request.url.path):
            response = ngsi_errors.to_response(exc)
        elif wants_html(_request) or (isinstance(exc, CsrfRefused) and is_page_form(_request)):
            # a person browsing gets a page (hakama.http.web.errors), so does a citizen's form
            response = error_page(
                _request,
                status_of(exc),
                title_of(exc),
                exc.message,
                expired_form=isinstance(exc, CsrfRefused),
            )
        else:
            response = problem(status_of(exc), title_of(exc), exc.message, **_safe(exc.details))
        retry_after = exc.details.get("retry_after")
        if isinstance(retry_after, int):  # busy or too slow: when to come back
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        if ngsi_errors.is_ngsi_path(_request.url.path):
            return ngsi_errors.to_response(exc)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405 and (allowed := allowed_methods(_request)):
            exc.headers = {**(exc.headers or {}), "Allow": allowed}
        if ngsi_errors.is_ngsi_path(_request.url.path):
            return ngsi_errors.to_response(exc)
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if wants_html(_request):
            return error_page(_request, exc.status_code, _title(exc.status_code), detail)
        response = problem(exc.status_code, _title(exc.status_code), detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if ngsi_errors.is_ngsi_path(_request.url.path):
            return ngsi_errors.to_response(exc)
        if wants_html(_request):
            return error_page(_request, 500, "Internal error")
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _safe(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in details.items() if isinstance(v, str | int | float | bool | list | None)
    }
