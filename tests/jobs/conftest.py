"""Fixtures for the MQTT tests: a provisioned territory and a private Mosquitto that a test may
stop and restart (the shared broker on 127.0.0.1:1883 must not be restarted)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import devices, keys, territory
from hakama.services.platform import Platform

ADMIN = system_actor("test")
POINT = {"type": "Point", "coordinates": [-2.3151, 34.7015]}  # Sidi Bouhria
COMMUNE = "02.113.05.15"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Broker:
    """A Mosquitto of our own, with persistence, on a random port."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\nmax_inflight_messages 1000\n"
            "max_queued_messages 100000\nautosave_interval 1\n"
            # started as root, mosquitto drops to its own user, which cannot write in tmp_path
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(timeout=10)
            self.process = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed")
    folder = tmp_path / "broker"
    folder.mkdir()
    b = Broker(folder, free_port())
    b.start()
    yield b
    b.stop()


@dataclass(frozen=True)
class Provisioned:
    platform: Platform
    key_id: str
    device_id: str


def provision(platform: Platform, device_id: str = "aq-1") -> Provisioned:
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    key = keys.create_key(
        platform, name="sensors", role="agent", area_code=COMMUNE, scopes=["write_data"], actor=ADMIN
    ).key
    devices.create_device(
        platform, actor=ADMIN, device_id=device_id, entity_type="AirQualityObserved",
        api_key_id=key.id, attributes={"p": {"name": "pm25", "unit": "GQ"}}, location=POINT,
    )
    return Provisioned(platform, key.id, device_id)
