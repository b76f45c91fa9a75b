"""`backup`/`restore`/`check` on SQLite and PostgreSQL: a backup taken hot, while readings are
acknowledged and flushed and compacted, restores every acknowledged reading exactly once; a
broken copy fails the check and makes /health "degraded" (issue 10, item 5)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hakama.core.access import system_actor
from hakama.core.errors import Conflict, Invalid
from hakama.core.observations import Observation
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.jobs import storage_check
from hakama.services import backup, integrity, observations, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.conftest import make_database_url

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ADMIN = system_actor("test")


def _values(platform: Platform) -> list[float]:
    with observations.recent_and_lake(platform) as db:
        return [r[0] for r in db.execute(f"SELECT value FROM {observations.VIEW}").fetchall()]


def test_a_hot_backup_restores_every_acknowledged_reading_once(
    platform: Platform, engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    territory.save_areas(platform, demo_areas(), actor=ADMIN)  # audit entries, areas
    (platform.settings.uploads_dir / "photo.jpg").write_bytes(b"\xff\xd8 a photo")
    platform.session_secret()  # a secret to carry over
    acked: list[float] = []  # values of readings whose transaction committed
    stop = threading.Event()
    errors: list[BaseException] = []

    def ingest() -> None:
        i = 0
        try:
            while not stop.is_set():
                rows = [
                    Observation(T0 + timedelta(minutes=(i + j) * 7), "urn:ngsi-ld:T:1", "T", "a",
                                float(i + j), None, None, None, "mqtt")
                    for j in range(25)
                ]  # fmt: skip
                with platform.db.begin() as conn:
                    observations.stage(conn, rows)
                acked.extend(o.value for o in rows if o.value is not None)  # acknowledged now
                i += 25
                time.sleep(0.005)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def flush_and_compact() -> None:
        try:
            while not stop.is_set():
                observations.flush(platform, max_rows=60, retention=timedelta(seconds=0.3))
                observations.compact(platform, wait=0.2)
                time.sleep(0.02)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=ingest), threading.Thread(target=flush_and_compact)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 1500 or len(platform.lake.files(observations.DATASET)) < 3:
            assert time.monotonic() < deadline, (len(acked), errors)
            time.sleep(0.05)
        before = list(acked)
        report = backup.backup(platform, tmp_path / "bk")
        during = len(acked)
        time.sleep(0.3)  # ingest goes on after the backup
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert report.lake_files > 0 and report.engine == engine_kind
    manifest = json.loads((tmp_path / "bk" / "backup.json").read_text())
    assert "uploads/photo.jpg" in manifest["files"] and "secrets/secret_key" in manifest["files"]

    url = make_database_url(engine_kind, tmp_path / "restored", request)
    restored_settings = Settings(
        data_dir=tmp_path / "restored" / "data", database_url=url, environment="test"
    )
    restored_report = backup.restore(restored_settings, tmp_path / "bk")
    assert restored_report.check.ok, restored_report.check.problems
    restored = Platform.open(restored_settings)
    try:
        for step in ("as restored", "after the first flush"):
            values = _values(restored)
            assert len(values) == len(set(values)), f"readings counted twice {step}"
            missing = set(before) - set(values)
            assert not missing, f"{len(missing)} acknowledged readings lost {step}"
            assert len(values) <= during  # nothing acknowledged after the backup ended
            observations.flush(restored)
        assert (restored.settings.uploads_dir / "photo.jpg").read_bytes() == b"\xff\xd8 a photo"
        assert restored.session_secret() == platform.session_secret()
        assert integrity.check(restored).ok
    finally:
        restored.close()
    # a second restore over data is refused unless forced
    with pytest.raises(Conflict, match="--force"):
        backup.restore(restored_settings, tmp_path / "bk")


def test_a_damaged_backup_is_refused_before_anything_changes(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    territory.save_areas(sqlite_platform, demo_areas(), actor=ADMIN)
    backup.backup(sqlite_platform, tmp_path / "bk")
    with pytest.raises(Conflict):
        backup.backup(sqlite_platform, tmp_path / "bk")  # never over an existing backup
    db = tmp_path / "bk" / backup.SQLITE_FILE
    db.write_bytes(db.read_bytes()[:-4096])
    target = Settings(data_dir=tmp_path / "other", environment="test")
    with pytest.raises(Invalid, match="damaged"):
        backup.restore(target, tmp_path / "bk")
    assert not (tmp_path / "other").exists()  # nothing was touched


def _corrupt_an_index(db_file: Path) -> None:
    """Overwrite the root page of an index with zeros-but-valid-header garbage."""
    with sqlite3.connect(db_file) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_audit_log_at' OR "
            "(type = 'index' AND tbl_name = 'areas') ORDER BY name LIMIT 1"
        ).fetchone()[0]
    conn.close()
    with open(db_file, "r+b") as handle:
        handle.seek((root - 1) * page_size + 8)
        handle.write(b"\x07" * 64)


def test_a_broken_copy_fails_the_check_and_health_says_degraded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    with platform.db.begin() as conn:
        observations.stage(
            conn, [Observation(T0, "urn:x:1", "T", "a", 1.0, None, None, None, "mqtt")]
        )
    observations.flush(platform)
    assert integrity.check(platform).ok
    platform.close()
    with sqlite3.connect(data / "hakama.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    _corrupt_an_index(copy / "hakama.db")
    broken = Platform.open(Settings(data_dir=copy, environment="test"), migrate=False)
    try:
        report = integrity.check(broken)
        assert not report.ok and any(
            "integrity" in p or "malformed" in p for p in report.problems
        ), report
        app = create_app(broken.settings, platform=broken, background=False)

        async def one_check() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(storage_check.run(broken, stop, first_after=0.01))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if broken.ops.check is not None:
                    break
            stop.set()
            await asyncio.wait_for(task, 10)

        asyncio.run(one_check())
        with TestClient(app) as client:
            health = client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["check"]["problems"]
    finally:
        broken.close()
    # a lake file cut short and an edited audit entry are problems too
    lake_file = next((data / "lake").rglob("*.parquet"))
    lake_file.write_bytes(lake_file.read_bytes()[:50])
    engine = sa.create_engine(f"sqlite:///{data / 'hakama.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1"))
    engine.dispose()
    cli = subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data), "check", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1, cli.stderr
    problems = json.loads(cli.stdout)["problems"]
    assert any("lake file" in p for p in problems) and any("audit chain" in p for p in problems)
