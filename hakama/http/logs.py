"""The server's log: configured once by `serve`/`demo` — level from the settings, one line per
event on stderr (text, or JSON for log collectors), each HTTP request with an id.

Personal data never reaches the log: a request line carries the method, the path (never the
query string or the body), the status and the duration; SQL parameters are kept out of database
errors (`hide_parameters`); and every line passes through `redact`, which masks what looks like
an e-mail address or a phone number, whatever logger wrote it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hakama.http.metrics import Metrics
from hakama.settings import Settings

#: The id of the request being served, on every line logged while serving it.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("hakama_request_id", default="-")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 9 to 14 digits, possibly grouped by spaces, dots or dashes, possibly after + or 00: a phone
# number (0661234567, +212 6 61 23 45 67); dates (8 digits) and times are left alone.
PHONE = re.compile(r"(?<![\w:.-])(?:\+|00)?\d(?:[ .-]?\d){8,13}(?![\w:])")
#: An incoming X-Request-ID is reused only if it is this harmless.
GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def redact(text: str) -> str:
    """`text` with e-mail addresses and phone numbers masked."""
    return PHONE.sub("[phone]", EMAIL.sub("[email]", text))


class LineFormatter(logging.Formatter):
    """One line per event: `time level logger [request id] message`, tracebacks folded in."""

    def __init__(self, *, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        error = self.formatException(record.exc_info) if record.exc_info else None
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        at += f".{int(record.msecs):03d}Z"
        rid = request_id.get()
        if self.as_json:
            body: dict[str, Any] = {
                "time": at,
                "level": record.levelname,
                "logger": record.name,
                "request_id": rid,
                "message": redact(message),
            }
            for name in ("method", "path", "status", "duration_ms"):
                if hasattr(record, name):
                    body[name] = getattr(record, name)
            if error:
                body["error"] = redact(error)
            return json.dumps(body, ensure_ascii=False, default=str)
        line = f"{at} {record.levelname} {record.name} [{rid}] {message}"
        if error:
            line += " | " + error.replace("\n", " | ")
        return redact(line.replace("\n", " | "))


def configure(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records (hakama's, uvicorn's) to one handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LineFormatter(as_json=settings.log_json))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's access lines carry the query string: ours (RequestLog) do not.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic announces its context at every schema look-up (health, checks): not events.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    return handler


class RequestLog:
    """ASGI middleware: gives each request an id (`X-Request-ID`, kept if the client sent a
    harmless one), answers with it, logs one line when the response is sent, and counts it in
    `metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics  # counted and timed here too: one wrapper around each request
        self.log = logging.getLogger("hakama.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        rid = given if GOOD_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope, status, elapsed)
            ms = round(elapsed * 1000, 1)
            method, path = scope.get("method", "-"), scope.get("path", "-")
            self.log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                ms,
                extra={"method": method, "path": redact(path), "status": status, "duration_ms": ms},
            )
            request_id.reset(token)
