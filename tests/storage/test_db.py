from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hakama.services.platform import Platform
from hakama.storage import db, schema
from hakama.storage.db import current_revision, head_revision


def test_migrations_reach_head(platform: Platform) -> None:
    assert current_revision(platform.db.engine) == head_revision()
    tables = set(sa.inspect(platform.db.engine).get_table_names())
    assert {"areas", "users", "sessions", "api_keys", "audit_log"} <= tables


def test_times_come_back_aware_and_in_utc(platform: Platform) -> None:
    casablanca = timezone(timedelta(hours=1))
    at = datetime(2026, 3, 1, 9, 30, tzinfo=casablanca)
    with platform.db.begin() as conn:
        conn.execute(
            schema.areas.insert().values(
                code="X",
                level="province",
                names={"fr": "X"},
                population={},
                attributes={},
                updated_at=at,
            )
        )
    with platform.db.connect() as conn:
        got = conn.execute(sa.select(schema.areas.c.updated_at)).scalar_one()
    assert got == at
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got.hour == 8


def test_naive_times_are_refused(platform: Platform) -> None:
    with pytest.raises(sa.exc.StatementError), platform.db.begin() as conn:
        conn.execute(
            schema.areas.insert().values(
                code="Y",
                level="province",
                names={},
                population={},
                attributes={},
                updated_at=datetime(2026, 1, 1),
            )
        )
    assert datetime.now(UTC)  # the failed insert left nothing behind:
    with platform.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.areas)).scalar_one() == 0


def test_insert_new_counts_only_new_keys_and_keeps_times(platform: Platform) -> None:
    from hakama.storage.schema_observations import observation_staging

    at = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    columns = (
        "key",
        "time",
        "entity_id",
        "entity_type",
        "attribute",
        "value",
        "source",
        "staged_at",
    )

    def row(key: str) -> tuple[object, ...]:
        return (key, at, "urn:e", "T", "temperature", 1.5, "test", at)

    with platform.db.begin() as conn:
        assert db.insert_new(conn, observation_staging, "key", columns, [row("a"), row("b")]) == 2
    with platform.db.begin() as conn:
        assert db.insert_new(conn, observation_staging, "key", columns, [row("b"), row("c")]) == 1
        assert db.insert_new(conn, observation_staging, "key", columns, []) == 0
    with platform.db.connect() as conn:
        got = conn.execute(
            sa.select(observation_staging.c.key, observation_staging.c.time).order_by("key")
        ).all()
    assert [(k, t) for k, t in got] == [("a", at), ("b", at), ("c", at)]


def test_a_named_lock_is_held_by_one_holder_at_a_time(platform: Platform) -> None:
    engine = platform.db.engine
    with db.try_lock(engine, "request_events_flush") as first:
        assert first
        if platform.db.dialect == "postgresql":  # across processes: a second session is refused
            with db.try_lock(engine, "request_events_flush") as second:
                assert not second
    with db.try_lock(engine, "request_events_flush") as again:
        assert again  # released on leaving the block


def test_integrity_problems_of_a_sound_database_are_none(platform: Platform) -> None:
    with platform.db.connect() as conn:
        assert db.integrity_problems(conn) == []


def test_locking_adds_for_update_only_where_rows_are_locked(platform: Platform) -> None:
    query = sa.select(schema.areas.c.code)
    with platform.db.begin() as conn:
        db.write_lock(conn, schema.areas)
        sql = str(db.locking(conn, query).compile(dialect=conn.dialect))
        conn.execute(db.locking(conn, query, skip_locked=True)).all()
    assert ("FOR UPDATE" in sql) == (platform.db.dialect == "postgresql")
