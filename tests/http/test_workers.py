"""More than one process over one storage, for real: server processes over one PostgreSQL and
one lake folder (a process killed with SIGKILL mid-ingest), and `hakama serve --workers 2` on
SQLite under concurrent writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import keys, observations, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.conftest import make_database_url
from tests.jobs.conftest import free_port

pytestmark = [pytest.mark.slow]

ADMIN = system_actor("test")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
ENTITIES = 5
ATTRS = 2


def setup_storage(settings: Settings) -> str:
    """Territory and a data-writing key; returns the key's token."""
    platform = Platform.open(settings)
    try:
        territory.save_areas(platform, demo_areas(), actor=ADMIN)
        created = keys.create_key(
            platform, name="w", role="agent", area_code="02.113", scopes=["write_data"], actor=ADMIN
        )
        return created.token
    finally:
        platform.close()


def start_server(
    data: Path, database_url: str, port: int, *extra: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HAKAMA_ENVIRONMENT": "test", "HAKAMA_DATABASE_URL": database_url}
    env.pop("HAKAMA_MQTT_URL", None)
    with open(log, "ab") as err:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hakama.cli.main",
                "--data-dir",
                str(data),
                "serve",
                "--port",
                str(port),
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def health(port: int) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        return body
    except httpx.HTTPError:
        return None


def wait_until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds}s: {what}")


def readings(request_no: int) -> list[dict[str, Any]]:
    """One batch upsert: ENTITIES × ATTRS readings, all at an instant unique to `request_no`."""
    at = (T0 + timedelta(seconds=request_no)).isoformat().replace("+00:00", "Z")
    return [
        {
            "id": f"urn:ngsi-ld:Sensor:w-{e}",
            "type": "Sensor",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [-2.32, 34.92]},
            },
            **{
                f"m{a}": {"type": "Property", "value": float(request_no), "observedAt": at}
                for a in range(ATTRS)
            },
        }
        for e in range(ENTITIES)
    ]


class Ingester(threading.Thread):
    """Posts numbered batches to one server; keeps the numbers whose 2xx came back."""

    def __init__(self, port: int, token: str, numbers: Iterator[int]) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/ngsi-ld/v1/entityOperations/upsert"
        self.headers = {"X-API-Key": token}
        self.numbers = numbers
        self.acked: list[int] = []
        self.failed = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            for n in self.numbers:
                if self.stop.is_set():
                    return
                try:
                    response = client.post(self.url, json=readings(n), headers=self.headers)
                except httpx.HTTPError:
                    self.failed += 1
                    time.sleep(0.05)
                    continue
                if response.is_success:
                    self.acked.append(n)
                else:
                    self.errors.append(f"{response.status_code} {response.text[:300]}")


def stored_readings(settings: Settings) -> list[tuple[str, str, datetime, int]]:
    """(entity, attribute, time, copies) of every stored reading, staged or in the lake."""
    platform = Platform.open(settings, migrate=False)
    try:
        with observations.recent_and_lake(platform) as db:
            rows = db.execute(
                f"SELECT entity_id, attribute, time, count(*) FROM {observations.VIEW} "
                "WHERE attribute LIKE 'm%' GROUP BY ALL"
            ).fetchall()
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]
    finally:
        platform.close()


def pending(settings: Settings) -> int:
    platform = Platform.open(settings, migrate=False)
    try:
        return observations.staging_stats(platform).pending
    finally:
        platform.close()


@pytest.mark.postgres
def test_two_servers_one_postgresql_survive_a_kill_9(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = make_database_url("postgresql", tmp_path, request)
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=url, environment="test")
    token = setup_storage(settings)
    log = tmp_path / "servers.log"
    ports = [free_port(), free_port()]
    servers = [start_server(data, url, port, log=log) for port in ports]
    try:
        for port in ports:
            wait_until(lambda p=port: health(p), 60, f"server on {port} answers")
        # exactly one of them leads (runs the flusher and the other jobs)
        leaders = wait_until(
            lambda: [p for p in ports if (health(p) or {}).get("jobs", {}).get("leader")],
            20,
            "a leader",
        )
        assert len(leaders) == 1
        victim = ports.index(leaders[0])
        survivor = 1 - victim
        ingesters = [
            Ingester(ports[0], token, iter(range(0, 10**6, 2))),
            Ingester(ports[1], token, iter(range(1, 10**6, 2))),
        ]
        for ingester in ingesters:
            ingester.start()
        wait_until(lambda: all(len(i.acked) >= 20 for i in ingesters), 60, "ingest through both")
        os.kill(servers[victim].pid, signal.SIGKILL)  # mid-ingest, mid-flush perhaps
        servers[victim].wait(timeout=10)
        before = len(ingesters[survivor].acked)
        wait_until(lambda: len(ingesters[survivor].acked) >= before + 20, 60, "survivor ingests")
        # the survivor takes the jobs over: it leads, and flushes what was staged
        wait_until(
            lambda: (health(ports[survivor]) or {}).get("jobs", {}).get("leader"),
            20,
            "the survivor leads",
        )
        for ingester in ingesters:
            ingester.stop.set()
            ingester.join(timeout=60)
        wait_until(lambda: pending(settings) == 0, 60, "the survivor flushes the staging table")
        assert ingesters[survivor].errors == []
        assert ingesters[survivor].failed == 0
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)
    assert log.read_text().count("holding the jobs_leader lock") == 2  # first leader, survivor
    stored = stored_readings(settings)
    duplicated = [r for r in stored if r[3] != 1]
    assert duplicated == []
    keys_stored = {(e, a, t.astimezone(UTC)) for e, a, t, _ in stored}
    acked = sorted(n for i in ingesters for n in i.acked)
    assert len(acked) >= 60
    missing = [
        (e, a, n)
        for n in acked
        for e in range(ENTITIES)
        for a in range(ATTRS)
        if (f"urn:ngsi-ld:Sensor:w-{e}", f"m{a}", T0 + timedelta(seconds=n)) not in keys_stored
    ]
    assert missing == []
    platform = Platform.open(settings, migrate=False)
    try:
        # what the survivor flushed is in the lake, not only in staging
        with platform.lake.duckdb() as lake:
            in_lake = lake.execute(
                f"SELECT count(*) FROM {observations.DATASET} WHERE attribute LIKE 'm%'"
            ).fetchone()
        assert in_lake == (len(stored),)
    finally:
        platform.close()


def test_two_workers_on_sqlite_never_answer_database_is_locked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'hakama.db'}"
    settings = Settings(data_dir=data, database_url=url, environment="test")
    token = setup_storage(settings)
    log = tmp_path / "server.log"
    port = free_port()
    server = start_server(data, url, port, "--workers", "2", log=log)
    try:
        wait_until(lambda: health(port), 60, "the server answers")
        ingesters = [Ingester(port, token, iter(range(k, 8 * 40, 8))) for k in range(8)]
        for ingester in ingesters:
            ingester.start()
        for ingester in ingesters:
            ingester.join(timeout=300)
        errors = [e for i in ingesters for e in i.errors]
        assert errors == []
        assert sum(i.failed for i in ingesters) == 0
        assert sum(len(i.acked) for i in ingesters) == 8 * 40
        wait_until(lambda: pending(settings) == 0, 60, "the leader flushes")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    text = log.read_text()
    assert "database is locked" not in text
    assert text.count("worker 1 started") == 1
    assert text.count("holding the jobs_leader lock") == 1  # the jobs run in one worker only
    stored = stored_readings(settings)
    assert len(stored) == 8 * 40 * ENTITIES * ATTRS
    assert all(copies == 1 for *_k, copies in stored)
