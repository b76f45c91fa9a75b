"""The operational database: one engine factory for SQLite (WAL) and PostgreSQL, and migrations."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event

from hakama.storage.types import UTCDateTime

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
    time in the database, not in per-value conversions (PostgreSQL: COPY, which casts the text
    itself)."""
    if not rows:
        return
    names = ", ".join(table.c[c].name for c in columns)
    if conn.dialect.name == "postgresql":  # COPY: one stream, no statement per row
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql("PRAGMA cache_size = -65536")  # random keys into big indexes
    marks = ", ".join(["?"] * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


#: An instant in Arrow: microseconds, UTC.
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def columns(conn: sa.Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The columns of `query`'s rows, as the driver returns the values (no SQLAlchemy conversion
    of each: a `UTCDateTime` is the stored text on SQLite, see `instants`), for reads of many
    rows that are then handled a column at a time. Empty columns when there is no row."""
    result = conn.execute(query)
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    if not rows:
        return [() for _ in query.selected_columns]
    return list(zip(*rows, strict=True))


def instants(conn: sa.Connection, values: Sequence[Any]) -> pa.Array:
    """Stored instants as the driver returns them (`columns`), as one Arrow UTC timestamp array:
    SQLite's naive UTC text parsed by Arrow in one pass, PostgreSQL's aware datetimes as they are."""
    if conn.dialect.name == "sqlite":
        text = pa.array(values, type=pa.string())
        return pc.cast(pc.cast(text, pa.timestamp("us")), UTC_TIMESTAMP)
    return pa.array(values, type=UTC_TIMESTAMP)


def select_rows(conn: sa.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a raw query with `?` placeholders, as the driver returns them (no conversions)."""
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    return [tuple(r) for r in conn.exec_driver_sql(sql, params).fetchall()]


# Engine differences, named once -------------------------------------------------------------
# Services say what they need (a lock, rows locked as read, new rows only); how each engine
# does it lives here and nowhere else.

#: PostgreSQL advisory-lock keys of the named cross-process locks. The numbers are stable:
#: a process of an older version may hold one during an upgrade.
ADVISORY_LOCKS = {"audit_log": 7243101, "request_events_flush": 7243102, "jobs_leader": 7243103}


def write_lock(conn: sa.Connection, table: sa.Table) -> None:
    """Take the write lock before reading what this transaction will change (read, then write).

    SQLite: a transaction that reads first and writes later fails at once (SQLITE_BUSY, no
    waiting) if another writer committed in between; an empty UPDATE takes the write lock now,
    so writers queue (busy_timeout) instead. PostgreSQL locks the rows as they are read
    (`locking`), so nothing is taken here.
    """
    if conn.dialect.name == "sqlite":
        key = next(iter(table.primary_key.columns))
        conn.execute(table.update().where(sa.false()).values({key.name: key}))


def locking(
    conn: sa.Connection, query: sa.Select[Any], *, skip_locked: bool = False, of: Any = None
) -> sa.Select[Any]:
    """`query` locking the rows it reads until the transaction ends (`FOR UPDATE`), where the
    engine locks rows (PostgreSQL); `skip_locked` leaves rows another transaction holds to it.
    SQLite has one writer at a time (`write_lock`), so the query is returned unchanged."""
    if conn.dialect.name != "postgresql":
        return query
    if of is not None:
        return query.with_for_update(skip_locked=skip_locked, of=of)
    return query.with_for_update(skip_locked=skip_locked)


def serialise(conn: sa.Connection, name: str) -> None:
    """Hold the lock `name` until this transaction ends: transactions that take it run one after
    the other, across processes. SQLite write transactions already do (one writer at a time)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCKS[name]})


@contextmanager
def try_lock(engine: sa.Engine, name: str) -> Iterator[bool]:
    """Try the cross-process lock `name` for the length of the block; yields whether it was got
    (False: another process holds it). Within one process, callers add their own lock; SQLite
    serves one process's jobs, so there it is always got."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = ADVISORY_LOCKS[name]
    with engine.connect() as guard:
        got = bool(
            guard.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        )
        guard.commit()
        try:
            yield got
        finally:
            if got:
                guard.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                guard.commit()


def time_param(conn: sa.Connection, value: datetime) -> Any:
    """An instant as a parameter of a raw query (`select_rows`): SQLite compares stored text."""
    if conn.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime(stored_time_format(conn))
    return value


def integrity_problems(conn: sa.Connection) -> list[str]:
    """What the engine's own consistency check finds wrong (SQLite `PRAGMA integrity_check`;
    PostgreSQL checks pages as it reads them, so nothing is run ahead)."""
    if conn.dialect.name != "sqlite":
        return []
    found = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check(20)")]
    return [] if found == ["ok"] else found


def insert_new(
    conn: sa.Connection, table: sa.Table, key: str, columns: tuple[str, ...], rows: list[Any]
) -> int:
    """Insert `rows` (tuples of `columns`; times as aware datetimes) whose `key` is not stored
    yet, in the caller's transaction; returns how many were new. The fast path of ingest: it
    goes around SQLAlchemy's per-row processing.

    SQLite: one `executemany` of INSERT OR IGNORE, times as the text `UTCDateTime` reads.
    PostgreSQL: COPY into a session-local table, then one INSERT … ON CONFLICT DO NOTHING —
    several times faster than multi-row INSERTs, and its row count is exactly the new rows
    (executemany's is not, on psycopg). Times go as UTC text on both, written once per
    distinct instant (a batch repeats a few): COPY then takes half the time per row.
    """
    if not rows:
        return 0
    names = ", ".join(columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
    if times:
        write = _sqlite_time if conn.dialect.name == "sqlite" else _pg_time
        rows = _times_as_text(rows, times, write)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        cursor = raw.cursor()  # pysqlite begins the transaction on the INSERT
        try:
            cursor.executemany(
                f"INSERT OR IGNORE INTO {table.name} ({names}) VALUES ({marks})", rows
            )
            return int(cursor.rowcount)
        finally:
            cursor.close()
    stage = f"_{table.name}_in"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
        f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM {stage} ON CONFLICT ({key}) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DELETE FROM {stage}")
    return int(inserted)


def update_many(
    conn: sa.Connection,
    table: sa.Table,
    key: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Update the rows whose `key` is each row's first value with the values of `columns` that
    follow (times as aware datetimes, JSON columns as Python values), in the caller's
    transaction, stored exactly as SQLAlchemy stores them but without its work per row.

    SQLite: one `executemany`. PostgreSQL: COPY into a session-local table, then one UPDATE …
    FROM it, instead of one statement per row.
    """
    if not rows:
        return
    names = (key, *columns)
    dumps = getattr(conn.dialect, "_json_serializer", None) or json.dumps
    documents = [i for i, c in enumerate(names) if isinstance(table.c[c].type, sa.JSON)]
    times = [i for i, c in enumerate(names) if isinstance(table.c[c].type, UTCDateTime)]
    write = _sqlite_time if conn.dialect.name == "sqlite" else _pg_time
    values = _times_as_text(rows, times, write)
    for row in values:
        for i in documents:
            row[i] = dumps(row[i])  # None too: SQLAlchemy's JSON stores it as JSON null
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "sqlite":
        sets = ", ".join(f"{c} = ?" for c in columns)
        cursor = raw.cursor()
        try:
            cursor.executemany(
                f"UPDATE {table.name} SET {sets} WHERE {key} = ?",
                [(*row[1:], row[0]) for row in values],
            )
        finally:
            cursor.close()
        return
    stage = f"_{table.name}_up"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
        f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    sets = ", ".join(f"{c} = s.{c}" for c in columns)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({', '.join(names)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table.name} AS t SET {sets} FROM {stage} AS s WHERE t.{key} = s.{key}"
        )
        cursor.execute(f"DELETE FROM {stage}")


def _times_as_text(
    rows: list[Any], times: list[int], write: Callable[[datetime], str]
) -> list[list[Any]]:
    """`rows` as lists with their aware datetimes at `times` written by `write`, once each."""
    texts: dict[datetime, str] = {}
    out = [list(row) for row in rows]
    for row in out:
        for i in times:
            value = row[i]
            if value is not None:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = write(value)
                row[i] = text
    return out


def _pg_time(value: datetime) -> str:
    """An instant as PostgreSQL reads a timestamptz (UTC, with its offset)."""
    return value.astimezone(UTC).isoformat(" ", "microseconds")


def _sqlite_time(value: datetime) -> str:
    """An instant as SQLAlchemy's SQLite DATETIME text (naive UTC), what `UTCDateTime` reads."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
