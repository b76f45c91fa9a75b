"""The locks that elect one process (`storage.leader.ProcessLock`), on both engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hakama.services.platform import Platform
from hakama.storage.db import create_engine
from hakama.storage.leader import ProcessLock


def test_one_holder_at_a_time_and_the_next_after_release(platform: Platform) -> None:
    url = platform.db.engine.url.render_as_string(hide_password=False)
    other_engine = create_engine(url)  # another process's engine: its own connections
    try:
        first = ProcessLock(platform.db.engine, "jobs_leader")
        second = ProcessLock(other_engine, "jobs_leader")
        assert first.acquire()
        assert not second.acquire()
        assert first.still_held()
        # a lock of another name (an MQTT client id) is independent
        assert ProcessLock(other_engine, "mqtt:hakama-abc").acquire()
        first.release()
        assert second.acquire()
        assert not first.acquire()
        second.release()
    finally:
        other_engine.dispose()


# PostgreSQL only (no skip on SQLite): there the kernel drops the flock with its process, which
# tests/http/test_workers holds with a real kill -9.
@pytest.mark.parametrize("engine_kind", ["postgresql"])
def test_a_postgresql_holder_whose_session_dies_loses_the_lock(platform: Platform) -> None:
    assert platform.db.dialect == "postgresql"
    url = platform.db.engine.url.render_as_string(hide_password=False)
    other_engine = create_engine(url)
    try:
        holder = ProcessLock(platform.db.engine, "jobs_leader")
        assert holder.acquire()
        assert holder._guard is not None
        pid = holder._guard.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        holder._guard.commit()
        with other_engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
        assert not holder.still_held()
        assert ProcessLock(other_engine, "jobs_leader").acquire()
    finally:
        other_engine.dispose()
