"""`HEAD` for every `GET`: the same status and headers, no body.

FastAPI routes answer only the methods they declare, so `HEAD /` was a 405 where Starlette (and
HTTP, RFC 9110 §9.3.2) expects the headers `GET` would send: link checkers and uptime probes
use it. The request goes through as a `GET` and its body is dropped on the way out.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Serves `HEAD` requests by running `GET` and sending no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headers_only)
