from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hakama.services.platform import Platform
from hakama.storage import schema
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
