"""The operational database: one engine factory for SQLite (WAL) and PostgreSQL, and migrations."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # hakama issues BEGIN itself (see `_sqlite_begin`), not the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode at commit boundaries
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    """Write transactions take SQLite's write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can fail at once with "database is
    locked" when another writer got there between the read and the write: busy_timeout does not
    apply to that upgrade. Taking the lock at BEGIN makes writers queue (up to busy_timeout)
    instead. Read-only work keeps a deferred BEGIN, so readers never wait for writers (WAL).
    """
    immediate = conn.info.pop("hakama_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine for `url`, with SQLite set up for concurrent readers and one writer."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,  # values (maybe personal) never reach an error or a log line
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the latest by default)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache  # the migrations shipped with this process; /health asks on every call
def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    return script.get_current_head()


class Database:
    """The operational database: an engine and the transactions services run in."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect() as conn:
            conn.info["hakama_write"] = True
            with conn.begin():
                yield conn

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def upgrade(self) -> None:
        upgrade(self.engine)

    def is_current(self) -> bool:
        return current_revision(self.engine) == head_revision()

    def dispose(self) -> None:
        self.engine.dispose()


# Bulk loads: values in storage form, through the driver ------------------------------------

#: How each engine stores a UTC instant written as text (DuckDB/strftime format): SQLite keeps
#: SQLAlchemy's naive UTC text, PostgreSQL reads an explicit offset into timestamptz.
STORED_TIME_FORMAT = {"sqlite": "%Y-%m-%d %H:%M:%S.%f", "postgresql": "%Y-%m-%d %H:%M:%S.%f+00"}


def stored_time_format(conn: sa.Connection) -> str:
    return STORED_TIME_FORMAT[conn.dialect.name]


def insert_many(
    conn: sa.Connection, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows whose values are already in storage form (times as `stored_time_format`
    text, JSON as text) straight through the driver: a bulk load of a million rows spends its
    time in the database, not in per-value conversions. PostgreSQL casts the text itself."""
    if not rows:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    if conn.dialect.name == "sqlite":  # random keys into big indexes: keep them in memory
        conn.exec_driver_sql("PRAGMA cache_size = -65536")
    names = ", ".join(table.c[c].name for c in columns)
    marks = ", ".join([mark] * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def select_rows(conn: sa.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a raw query with `?` placeholders, as the driver returns them (no conversions)."""
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    return [tuple(r) for r in conn.exec_driver_sql(sql, params).fetchall()]
