"""Writing validated records into the database: new ones inserted in bulk, changed ones updated."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from hakama.core.clock import utcnow
from hakama.core.records import (
    RecordType,
)
from hakama.storage import db
from hakama.storage.lake import open_duckdb
from hakama.storage.schema_records import admin_records, record_lake_days

LOOKUP_CHUNK = 2000


def key_hash(type_id: str, area_code: str, key: str) -> str:
    return hashlib.sha256(f"{type_id}\x1f{area_code}\x1f{key}".encode()).hexdigest()


def write_records(
    conn: sa.Connection,
    *,
    rt: RecordType,
    area_code: str,
    import_id: str,
    batches: Iterable[pa.RecordBatch],
) -> dict[str, int]:
    """Insert new records, update changed ones, count unchanged ones; mark touched lake days.

    Keys, JSON and hashes are computed by DuckDB over whole batches and new records go in
    through the driver (`db.insert_many`): a million records is a bulk load, not a loop."""
    now = utcnow()
    time_format = db.stored_time_format(conn)
    stamp = now.astimezone(UTC).strftime(time_format)
    inserted = updated = unchanged = 0
    days: set[date] = set()
    # Nothing of this type and commune stored yet (a first load): every record is new, no
    # lookups. Rows of one import never share a key (validation rejects repeated keys).
    anything = conn.execute(
        sa.select(admin_records.c.id)
        .where(admin_records.c.record_type == rt.id, admin_records.c.area_code == area_code)
        .limit(1)
    ).first()
    duck = open_duckdb(memory_limit="128MB")  # it shapes one batch at a time
    try:
        for batch in _slices(batches, WRITE_ROWS):
            prepared = _prepare(duck, batch, rt, area_code, time_format)
            cols = {name: prepared.column(name).to_pylist() for name in prepared.column_names}
            existing = _existing(conn, rt.id, area_code, cols["key_hash"]) if anything else {}
            new_rows: list[tuple[Any, ...]] = []
            changed: list[int] = []
            for i, h in enumerate(cols["key_hash"]):
                old = existing.get(h)
                if old is None:
                    new_rows.append(
                        (rt.id, area_code, h, cols["record_id"][i], rt.service,
                         cols["requested_at"][i], cols["channel"][i], cols["status"][i],
                         cols["delivered_at"][i], cols["data"][i], cols["personal"][i],
                         cols["row_hash"][i], import_id, stamp, stamp)
                    )  # fmt: skip
                    days.add(cols["day"][i])
                elif old[0] != cols["row_hash"][i]:
                    changed.append(i)
                    days.add(cols["day"][i])
                    days.add(old[1].date())
                else:
                    unchanged += 1
            new_rows.sort(key=_by_key_hash)  # neighbours in the key index: fewer pages touched
            db.insert_many(conn, admin_records, INSERT_COLUMNS, new_rows)
            if changed:
                _update(conn, rt, area_code, import_id, now, batch, cols, changed)
            inserted += len(new_rows)
            updated += len(changed)
            pa.default_memory_pool().release_unused()
    finally:
        duck.close()
    _mark_days(conn, days)
    return {"inserted": inserted, "updated": updated, "unchanged": unchanged}


def _by_key_hash(row: tuple[Any, ...]) -> str:
    return str(row[2])


WRITE_ROWS = 16_384  # records shaped and written at a time: bounds the memory of a bulk load


def _slices(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for offset in range(0, batch.num_rows, size):
            yield batch.slice(offset, size)


INSERT_COLUMNS = [
    "record_type", "area_code", "key_hash", "record_id", "service", "requested_at", "channel",
    "status", "delivered_at", "data", "personal", "row_hash", "import_id", "created_at",
    "updated_at",
]  # fmt: skip


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _prepare(
    duck: duckdb.DuckDBPyConnection,
    batch: pa.RecordBatch,
    rt: RecordType,
    area_code: str,
    time_format: str,
) -> pa.Table:
    """Per row: key hash, lake id, times in storage form, JSON of the stored fields, row hash."""
    data_fields = [f.name for f in rt.extra if not f.personal]
    personal_fields = [f.name for f in rt.extra if f.personal]
    naive = batch
    for name in ("requested_at", "delivered_at"):  # UTC wall time, formatted as stored
        i = naive.schema.get_field_index(name)
        naive = naive.set_column(i, name, pc.cast(naive.column(i), pa.timestamp("us")))
    duck.register("batch", naive)

    def struct(names: list[str]) -> str:
        return "{" + ", ".join(f"'{n}': \"{n}\"" for n in names) + "}"

    data = f"to_json({struct(data_fields)})" if data_fields else "'{}'"
    if personal_fields:
        empty = " AND ".join(f'"{n}" IS NULL' for n in personal_fields)
        personal = f"CASE WHEN {empty} THEN NULL ELSE to_json({struct(personal_fields)}) END"
    else:
        personal = "NULL"
    prefix = _sql_text(f"{rt.id}\x1f{area_code}\x1f")
    fmt = _sql_text(time_format)
    query = f"""
        WITH rows AS (
            SELECT sha256({prefix} || key) AS key_hash,
                   strftime(requested_at, {fmt}) AS requested_at,
                   channel, status,
                   strftime(delivered_at, {fmt}) AS delivered_at,
                   CAST({data} AS VARCHAR) AS data,
                   CAST({personal} AS VARCHAR) AS personal,
                   CAST(requested_at AS DATE) AS day
            FROM batch
        )
        SELECT key_hash, 'rec-' || substr(key_hash, 1, 24) AS record_id, requested_at, channel,
               status, delivered_at, data, personal, day,
               sha256(concat_ws(chr(31), requested_at, channel, status,
                                coalesce(delivered_at, ''), data, coalesce(personal, ''))) AS row_hash
        FROM rows
    """
    try:
        return duck.sql(query).to_arrow_table()
    finally:
        duck.unregister("batch")


def _update(
    conn: sa.Connection,
    rt: RecordType,
    area_code: str,
    import_id: str,
    now: datetime,
    batch: pa.RecordBatch,
    cols: dict[str, list[Any]],
    changed: list[int],
) -> None:
    rows = batch.take(pa.array(changed)).to_pylist()
    values = [
        {
            "b_key_hash": cols["key_hash"][i],
            "requested_at": row["requested_at"],
            "channel": row["channel"],
            "status": row["status"],
            "delivered_at": row["delivered_at"],
            "data": json.loads(cols["data"][i]),
            "personal": json.loads(cols["personal"][i]) if cols["personal"][i] else None,
            "row_hash": cols["row_hash"][i],
            "import_id": import_id,
            "updated_at": now,
        }
        for i, row in zip(changed, rows, strict=True)
    ]
    conn.execute(
        admin_records.update()
        .where(admin_records.c.record_type == rt.id)
        .where(admin_records.c.area_code == area_code)
        .where(admin_records.c.key_hash == sa.bindparam("b_key_hash")),
        values,
    )


def _existing(
    conn: sa.Connection, type_id: str, area_code: str, hashes: Sequence[str]
) -> dict[str, tuple[str, datetime]]:
    found: dict[str, tuple[str, datetime]] = {}
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[start : start + LOOKUP_CHUNK]
        query = sa.select(
            admin_records.c.key_hash, admin_records.c.row_hash, admin_records.c.requested_at
        ).where(
            admin_records.c.record_type == type_id,
            admin_records.c.area_code == area_code,
            admin_records.c.key_hash.in_(chunk),
        )
        for r in conn.execute(query):
            found[r.key_hash] = (r.row_hash, r.requested_at)
    return found


def _mark_days(conn: sa.Connection, days: set[date]) -> None:
    if not days:
        return
    marked = {r.day for r in conn.execute(sa.select(record_lake_days.c.day))}
    fresh = [{"day": d} for d in sorted(days - marked)]
    if fresh:
        conn.execute(record_lake_days.insert(), fresh)
