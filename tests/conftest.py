"""Fixtures on real components: SQLite in tmp_path and the real PostgreSQL on 127.0.0.1:5432.

`platform` is parametrised over both engines, so every test that asks for it runs on SQLite and
PostgreSQL (the contract suite). Each PostgreSQL test gets its own database, cloned from a
migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.db import create_engine, upgrade

PG_ADMIN_URL = os.environ.get("HAKAMA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ENGINES = ("sqlite", "postgresql")


def _pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is cloned from."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hakama_tpl_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - the environment is broken
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    engine = create_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'hakama.db'}"
    template: str = request.getfixturevalue("pg_template")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hakama_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return _pg_url(name)


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    url = make_database_url(engine_kind, tmp_path, request)
    return Settings(data_dir=tmp_path / "data", database_url=url, environment="test")


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    """An empty, migrated platform on each engine."""
    p = Platform.open(settings)
    yield p
    p.close()


@pytest.fixture
def sqlite_platform(tmp_path: Path) -> Iterator[Platform]:
    """An empty platform on SQLite only, for tests that are not about storage."""
    p = Platform.open(Settings(data_dir=tmp_path / "data", environment="test"))
    yield p
    p.close()
