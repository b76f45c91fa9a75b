"""Security headers on every answer, and how long browsers keep static files.

The Content-Security-Policy allows this server's own scripts, styles, images and connections
only: no inline script, event handler or `<style>` element (style attributes are allowed:
bar widths and legend colours are data), no other host — except the image sources given to
`SecurityHeaders` (the map's tile host, when one is configured: `basemap.tile_origin`).
Pages may not be framed (`frame-ancestors 'none'`), MIME types are not sniffed, the Referer never leaves the site (a tracking link names a request), and over
HTTPS browsers are told to stay on HTTPS (HSTS).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"
#: Static files carry no version in their names: a day, then the ETag revalidates them.
STATIC_CACHE = "public, max-age=86400"
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(extra_image_sources: Sequence[str] = ()) -> str:
    """The policy: self only, plus extra image sources (the map's tile host)."""
    images = " ".join(["'self'", "data:", *extra_image_sources])
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # Style attributes (a bar's width, a legend's colour) may be inline; <style>
            # elements and every script may not. CSS cannot run code.
            "style-src-attr 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp, *, extra_image_sources: Sequence[str] = ()) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(extra_image_sources).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))
        if scope.get("path", "").startswith(STATIC_PREFIX):
            extra.append((b"cache-control", STATIC_CACHE.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
