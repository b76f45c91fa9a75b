"""A real SMTP server (aiosmtpd) and a real HTTP server standing in for an SMS gateway, in
threads, for the notice tests."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import request_types, territory
from hakama.services.platform import Platform
from hakama.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@dataclass
class Gateway:
    """What the SMS gateway received, and what it answers next (status codes, in order)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    def next_status(self) -> int:
        return self.answers.pop(0) if self.answers else 200


@contextmanager
def sms_gateway() -> Iterator[tuple[str, Gateway]]:
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("application/json"):
                body: Any = json.loads(raw)
            else:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            auth = self.headers.get("Authorization", "")
            basic = None
            if auth.startswith("Basic "):
                basic = base64.b64decode(auth[6:]).decode()
            gateway.received.append(
                {"path": self.path, "type": kind, "body": body, "auth": auth, "basic": basic}
            )
            status = gateway.next_status()
            answer = json.dumps(
                {"sid": "SM1", "status": "queued"}
                if status < 400
                else {"message": "refused number"}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gateway
    finally:
        server.shutdown()
        server.server_close()


# Fixtures -----------------------------------------------------------------------------------


@dataclass
class World:
    platform: Platform
    mailbox: Mailbox
    gateway: Gateway
    commune: str
    point: tuple[float, float]  # (lon, lat)


@pytest.fixture
def mail() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as served:
        yield served


@pytest.fixture
def sms() -> Iterator[tuple[str, Gateway]]:
    with sms_gateway() as served:
        yield served


@pytest.fixture
def world(
    settings: Settings, mail: tuple[int, Mailbox], sms: tuple[str, Gateway]
) -> Iterator[World]:
    """The demo territory and catalogue, mail through a real SMTP server and SMS through a
    real HTTP gateway (`json`), on SQLite and PostgreSQL."""
    port, mailbox = mail
    url, gateway = sms
    configured = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_from": "commune@example.ma",
            "sms_gateway": "json",
            "sms_url": f"{url}/send",
            "sms_token": "s3cret",
            "public_url": "https://hakama.example.ma",
        }
    )
    platform = Platform.open(configured)
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("test"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("test"))
    commune = next(a for a in areas if a.level.value == "commune")
    p = shape(commune.geometry).representative_point()
    yield World(platform, mailbox, gateway, commune.code, (p.x, p.y))
    platform.close()
