"""Shared set-up of the ingest benchmarks: a platform with the demo territory, a key, devices,
and a private Mosquitto (tuned as docs/mqtt.md says) on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import devices, keys, territory
from hakama.services.platform import Platform
from hakama.settings import Settings

ADMIN = system_actor("bench")
PROVINCE = "02.113"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def open_platform(folder: Path, engine: str) -> tuple[Platform, str | None]:
    """A fresh platform on SQLite (in `folder`) or on a new PostgreSQL database."""
    url = None
    dropped = None
    if engine == "postgresql":
        name = f"hakama_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        dropped = name
    platform = Platform.open(
        Settings(data_dir=folder / "data", database_url=url, environment="test")
    )
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    return platform, dropped


def drop_database(name: str | None) -> None:
    if name is None:
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def province_key(platform: Platform) -> keys.CreatedKey:
    return keys.create_key(
        platform, name="bench", role="agent", area_code=PROVINCE, scopes=["write_data"], actor=ADMIN
    )


def provision(platform: Platform, key_id: str, count: int) -> list[str]:
    """`count` air-quality devices spread over the province (positions on a small grid)."""
    ids = []
    for i in range(count):
        device_id = f"bench-{i}"
        devices.create_device(
            platform,
            actor=ADMIN,
            device_id=device_id,
            entity_type="AirQualityObserved",
            api_key_id=key_id,
            attributes={"p": {"name": "pm25", "unit": "GQ"}},
            area_code="02.113.01.09",
        )
        ids.append(device_id)
    return ids


@dataclass
class Broker:
    folder: Path
    port: int
    tuned: bool = True
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        tuning = (
            "max_inflight_messages 0\nmax_queued_messages 0\nmax_queued_bytes 0\n"
            if self.tuned
            else ""
        )
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\n{tuning}"
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
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"
