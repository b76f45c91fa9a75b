"""Administrative records from the communes' own systems: import, validation, storage.

Every way in — a file from the office or the CLI, a pull from a source, a push to the API —
ends in `validate` (the same checks, `ingest.record_validation`) and `commit` (one transaction).

A file import goes in two steps. `stage` reads and validates the whole file without storing a
record: the rows as they will be stored go to a staging file, every rejected row to an errors
CSV, and an import entry (`previewed`) records who, when, which file (SHA-256) and the counts.
`commit` then writes the records in one transaction — all of them, or, when any row was
rejected, none unless the import is `partial`. A record is identified by its type, commune and
key fields: the same file twice adds nothing, a corrected file updates the records it names.
A crash (even `kill -9`) at any point leaves either the whole import or nothing.

The lake dataset `admin_records` keeps its columns. Imported rows carry ids `rec-<hash>`; the
commit marks the UTC days it touched (in the same transaction), and `sync_lake` rebuilds each
marked day's file from the database (keeping the rows of other origins, such as the demo's),
then clears the mark: a crash in between only means the day is rebuilt again. The indicators'
incremental computation then recomputes exactly the periods of those days.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound
from hakama.core.lake_datasets import ADMIN_RECORDS_SCHEMA
from hakama.core.records import (
    NO_MAPPING,
    ColumnMapping,
    RecordType,
    load_mapping,
    load_types,
    resolve_columns,
)
from hakama.ingest import record_files
from hakama.ingest.record_validation import (
    ERRORS_SCHEMA,
    KEY_SEPARATOR,
    Checked,
    check,
    duplicate_errors,
    normalised_schema,
)
from hakama.services import audit, territory
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.lake import Lake, fsync_dir, write_file
from hakama.storage.schema_records import admin_records, record_imports, record_lake_days
from hakama.storage.types import utcnow

BUILT_IN = Path(__file__).resolve().parents[1] / "core" / "record_types"
DATASET = "admin_records"
ID_PREFIX = "rec-"
SHOWN_ERRORS = 200
LOOKUP_CHUNK = 2000
CHECK_THREADS = max(1, min(4, os.cpu_count() or 1))


# Types ----------------------------------------------------------------------------------------


def types(platform: Platform) -> list[RecordType]:
    """The built-in record types and the operator's own (`record_types/*.yaml`)."""
    cached: list[RecordType] | None = platform.cache.get("record_types")
    if cached is None:
        cached = load_types([BUILT_IN, platform.settings.user_record_types_dir])
        platform.cache["record_types"] = cached
    return cached


def record_type(platform: Platform, type_id: str) -> RecordType:
    for t in types(platform):
        if t.id == type_id:
            return t
    known = ", ".join(t.id for t in types(platform))
    raise NotFound(f"no record type {type_id!r} (known: {known})", type=type_id)


def check_write(platform: Platform, actor: Actor, area_code: str) -> None:
    """Records of a commune are written by its own agents (or the province's, the operator)."""
    chain = territory.area_chain(platform, territory.get_area(platform, area_code).code)
    if not allowed(actor, Action.WRITE_DATA, chain):
        raise Forbidden(f"{actor.label} may not write records of {area_code}")


# Import reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str | None
    reason: str


@dataclass
class ImportReport:
    """What an import is and did: shown by the office, the CLI and the API."""

    id: str
    record_type: str
    area_code: str
    actor: str
    channel: str
    file_name: str
    file_sha256: str
    state: str
    partial: bool
    rows_total: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    message: str = ""
    created_at: datetime | None = None
    committed_at: datetime | None = None
    errors: list[RowError] = field(default_factory=list)  # the first SHOWN_ERRORS, by line
    preview: list[dict[str, Any]] = field(default_factory=list)  # the first rows as stored
    periods_recomputed: int = 0

    @property
    def committable(self) -> bool:
        return self.state == "previewed" and (self.rows_rejected == 0 or self.partial)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("errors", "preview")}
        out["errors"] = [e.__dict__ for e in self.errors]
        out["preview"] = self.preview
        for k in ("created_at", "committed_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def _import_dir(platform: Platform, import_id: str) -> Path:
    if not import_id.isalnum():
        raise NotFound(f"no import {import_id!r}")
    return platform.settings.records_dir / import_id


def errors_csv(platform: Platform, *, actor: Actor, import_id: str) -> Path:
    """The import's rejected rows as CSV (line, column, value, reason)."""
    report = get_import(platform, actor=actor, import_id=import_id)
    path = _import_dir(platform, report.id) / "errors.csv"
    if not path.exists():
        raise NotFound(f"import {import_id} kept no error report")
    return path


# Validation -----------------------------------------------------------------------------------


@dataclass
class _Staged:
    rows_total: int
    rows_valid: int
    rows_rejected: int
    errors: list[RowError]


def _validate_batches(
    batches: Iterable[record_files.RowBatch],
    *,
    rt: RecordType,
    mapping: ColumnMapping,
    columns: dict[str, str],
    valid_path: Path,
    errors_path: Path,
    shape_problems: list[record_files.ShapeProblem],
) -> _Staged:
    """Check every batch, stage the good rows in an Arrow file and every error in a CSV."""
    now = utcnow()
    schema = normalised_schema(rt)
    total = valid = 0
    keys: list[pa.Array] = []
    key_lines: list[pa.Array] = []
    shown: list[pa.Table] = []
    shown_count = 0
    with (
        ipc.new_file(str(valid_path), schema) as writer,
        pcsv.CSVWriter(str(errors_path), ERRORS_SCHEMA) as errors_out,
    ):

        def write_errors(table: pa.Table) -> None:
            nonlocal shown_count
            if table.num_rows == 0:
                return
            table = table.sort_by([("line", "ascending")])
            errors_out.write_table(table)
            if shown_count < SHOWN_ERRORS:
                shown.append(table.slice(0, SHOWN_ERRORS - shown_count))
                shown_count += min(table.num_rows, SHOWN_ERRORS - shown_count)

        def take(checked: Checked) -> None:
            nonlocal total, valid
            total += checked.rows
            valid += checked.valid.num_rows
            writer.write_batch(checked.valid)
            keys.append(checked.valid.column(1))
            key_lines.append(checked.valid.column(0))
            write_errors(checked.errors)

        # Arrow's kernels release the GIL: batches are checked on every core while the next
        # ones are read, a few at a time so memory stays bounded, written back in file order.
        with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
            pending: deque[Future[Checked]] = deque()
            for rb in batches:
                pending.append(
                    pool.submit(
                        check,
                        rb.columns,
                        rb.lines,
                        record_type=rt,
                        mapping=mapping,
                        columns=columns,
                        now=now,
                    )
                )
                if len(pending) > CHECK_THREADS:
                    take(pending.popleft().result())
            while pending:
                take(pending.popleft().result())
        if shape_problems:
            write_errors(
                pa.table(
                    [
                        pa.array([p.line for p in shape_problems], pa.int64()),
                        pa.array([""] * len(shape_problems), pa.string()),
                        pa.array([None] * len(shape_problems), pa.string()),
                        pa.array([p.reason for p in shape_problems], pa.string()),
                    ],
                    schema=ERRORS_SCHEMA,
                )
            )
        dup_errors, dup_lines = duplicate_errors(
            pa.concat_arrays(keys) if keys else pa.array([], pa.string()),
            pa.concat_arrays(key_lines) if key_lines else pa.array([], pa.int64()),
            "+".join(rt.key),
            "+".join(columns.get(k, k) for k in rt.key),
        )
        if dup_errors.num_rows:
            dup_errors = dup_errors.set_column(
                2, "value", pc.replace_substring(dup_errors["value"], KEY_SEPARATOR, " / ")
            )
        write_errors(dup_errors)
    _sort_csv(errors_path)
    total += len(shape_problems)
    valid -= len(dup_lines)
    if dup_lines:
        np.save(valid_path.with_suffix(".dups.npy"), np.array(sorted(dup_lines), dtype=np.int64))
    errors = [
        RowError(int(r["line"]), r["column"], r["value"], r["reason"])
        for t in shown
        for r in t.to_pylist()
    ]
    errors.sort(key=lambda e: e.line)
    return _Staged(total, valid, total - valid, errors)


def _sort_csv(path: Path) -> None:
    """Order the error report by line (checks write it batch by batch, check by check)."""
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            column_types=dict(zip(ERRORS_SCHEMA.names, ERRORS_SCHEMA.types, strict=True))
        ),
    )
    if table.num_rows > 1:
        ordered = table.sort_by([("line", "ascending")])
        tmp = path.with_suffix(".tmp")
        pcsv.write_csv(ordered, tmp)
        tmp.replace(path)


def stage(
    platform: Platform,
    *,
    actor: Actor,
    area_code: str,
    type_id: str,
    path: Path,
    file_name: str | None = None,
    mapping_text: str = "",
    partial: bool = False,
    channel: str = "file",
) -> ImportReport:
    """Read and validate a record file without storing a record: the import's preview.

    The checked rows are staged in the import's folder (so `commit` stores what was checked,
    whatever happens to the file afterwards). Raises
    `Invalid` before anything is kept when the file cannot be read as records at all."""
    check_write(platform, actor, area_code)
    rt = record_type(platform, type_id)
    mapping = load_mapping(mapping_text) if mapping_text else NO_MAPPING
    if mapping.type is not None and mapping.type != rt.id:
        raise Invalid(f"the mapping is for type {mapping.type!r}, not {rt.id!r}")
    max_bytes = platform.settings.records_max_file_mb * 1_048_576
    shape = record_files.inspect(path, mapping, max_bytes=max_bytes)
    columns = resolve_columns(rt, mapping, shape.header)
    import_id = uuid.uuid4().hex
    folder = _import_dir(platform, import_id)
    folder.mkdir(parents=True)
    try:
        digest = _sha256(path)
        staged = _stage_file(path, shape, rt, mapping, columns, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    now = utcnow()
    report = ImportReport(
        id=import_id,
        record_type=rt.id,
        area_code=area_code,
        actor=actor.label,
        channel=channel,
        file_name=(file_name or path.name)[:300],
        file_sha256=digest,
        state="previewed",
        partial=partial,
        rows_total=staged.rows_total,
        rows_valid=staged.rows_valid,
        rows_rejected=staged.rows_rejected,
        created_at=now,
        errors=staged.errors,
    )
    with platform.db.begin() as conn:
        conn.execute(
            record_imports.insert().values(
                id=import_id,
                record_type=rt.id,
                area_code=area_code,
                actor=actor.label,
                channel=channel,
                file_name=report.file_name,
                file_sha256=digest,
                file_bytes=shape.size,
                mapping=mapping_text,
                state="previewed",
                partial=partial,
                rows_total=staged.rows_total,
                rows_valid=staged.rows_valid,
                rows_rejected=staged.rows_rejected,
                created_at=now,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="records.preview",
            resource=f"record_import:{import_id}",
            area_code=area_code,
            after=_audit_summary(report),
        )
    report.preview = preview_rows(platform, rt, import_id)
    return report


def _stage_file(
    path: Path,
    shape: record_files.FileShape,
    rt: RecordType,
    mapping: ColumnMapping,
    columns: dict[str, str],
    folder: Path,
) -> _Staged:
    for exact in (False, True):
        problems: list[record_files.ShapeProblem] = []
        try:
            return _validate_batches(
                record_files.read(path, shape, problems, exact=exact),
                rt=rt,
                mapping=mapping,
                columns=columns,
                valid_path=folder / "valid.arrow",
                errors_path=folder / "errors.csv",
                shape_problems=problems,
            )
        except record_files.Reread:
            continue
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
            raise Invalid(
                f"the file cannot be read as {shape.kind.upper()}: {_short(exc)}"
            ) from None
    raise AssertionError("the exact reader does not ask to read again")


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _staged_batches(folder: Path) -> Iterator[pa.RecordBatch]:
    dups_path = folder / "valid.dups.npy"
    dups = pa.array(np.load(dups_path)) if dups_path.exists() else None
    with pa.OSFile(str(folder / "valid.arrow")) as source:  # read, not mapped: RSS stays small
        reader = ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            if dups is not None and batch.num_rows:
                batch = batch.filter(pc.invert(pc.is_in(batch.column(0), value_set=dups)))
            if batch.num_rows:
                yield batch


def preview_rows(
    platform: Platform, rt: RecordType, import_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The first rows of a staged import, as they will be stored."""
    folder = _import_dir(platform, import_id)
    if not (folder / "valid.arrow").exists():
        return []
    rows: list[dict[str, Any]] = []
    for batch in _staged_batches(folder):
        for row in batch.slice(0, limit - len(rows)).to_pylist():
            row.pop("key", None)
            rows.append({k: _plain(v) for k, v in row.items()})
        if len(rows) >= limit:
            break
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# Commit ---------------------------------------------------------------------------------------


def commit(
    platform: Platform, *, actor: Actor, import_id: str, recompute: bool = True
) -> ImportReport:
    """Store a previewed import's records in one transaction, then bring the lake up to date."""
    report = get_import(platform, actor=actor, import_id=import_id)
    check_write(platform, actor, report.area_code)
    rt = record_type(platform, report.record_type)
    folder = _import_dir(platform, import_id)
    with platform.db.begin() as conn:
        row = conn.execute(
            sa.select(record_imports).where(record_imports.c.id == import_id).with_for_update()
        ).one()
        if row.state != "previewed":
            raise Conflict(f"import {import_id} is already {row.state}")
        if row.rows_rejected and not row.partial:
            message = (
                f"{row.rows_rejected} of {row.rows_total} rows were rejected, so nothing was "
                "stored: correct them (see the error report) or import with --partial"
            )
            conn.execute(
                record_imports.update()
                .where(record_imports.c.id == import_id)
                .values(state="refused", message=message)
            )
            audit.record(
                conn,
                actor=actor,
                action="records.refuse",
                resource=f"record_import:{import_id}",
                area_code=report.area_code,
                after={"rejected": row.rows_rejected, "total": row.rows_total},
            )
            refused = True
        else:
            counts = write_records(
                conn, rt=rt, area_code=report.area_code, import_id=import_id,
                batches=_staged_batches(folder),
            )  # fmt: skip
            now = utcnow()
            conn.execute(
                record_imports.update()
                .where(record_imports.c.id == import_id)
                .values(state="committed", committed_at=now, **counts)
            )
            report.__dict__.update(counts, state="committed", committed_at=now)
            audit.record(
                conn,
                actor=actor,
                action="records.import",
                resource=f"record_import:{import_id}",
                area_code=report.area_code,
                after=_audit_summary(report),
            )
            refused = False
    if refused:
        raise Invalid(message, import_id=import_id, rejected=row.rows_rejected)
    for name in ("valid.arrow", "valid.dups.npy"):
        (folder / name).unlink(missing_ok=True)  # the errors CSV stays downloadable
    sync_lake(platform)
    if recompute:
        report.periods_recomputed = recompute_indicators(platform)
    return report


def _audit_summary(report: ImportReport) -> dict[str, Any]:
    return {
        "type": report.record_type,
        "channel": report.channel,
        "file": report.file_name,
        "sha256": report.file_sha256,
        "rows": report.rows_total,
        "valid": report.rows_valid,
        "rejected": report.rows_rejected,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "partial": report.partial,
    }


def key_hash(type_id: str, area_code: str, key: str) -> str:
    return hashlib.sha256(f"{type_id}\x1f{area_code}\x1f{key}".encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


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
    duck = duckdb.connect()
    duck.execute("SET memory_limit = '128MB'")  # it shapes one batch at a time
    try:
        for batch in _slices(batches, WRITE_ROWS):
            prepared = _prepare(duck, batch, rt, area_code, time_format)
            cols = {name: prepared.column(name).to_pylist() for name in prepared.column_names}
            existing = _existing(conn, rt.id, area_code, cols["key_hash"])
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


# The lake -------------------------------------------------------------------------------------


SYNC_DAYS = 8  # days rebuilt per round: bounds the rows held in memory


def sync_lake(platform: Platform, *, wait: float = 30.0) -> int:
    """Rebuild the lake files of every marked day from the database; returns the days done.

    Runs under the lake's exclusive lock (readers never see a day half rebuilt). A day keeps the
    rows of other origins (ids not starting with `rec-`); each mark is cleared only after its
    day's new file is on disk and the old ones gone, so an interrupted sync is finished by the
    next one (which also drops any row a cut-short rebuild left twice)."""
    with platform.db.connect() as conn:
        days = sorted(r.day for r in conn.execute(sa.select(record_lake_days.c.day)))
    if not days:
        return 0
    with platform.lake.lock(exclusive=True, wait=wait) as got:
        if not got:
            return 0
        for start in range(0, len(days), SYNC_DAYS):
            chunk = days[start : start + SYNC_DAYS]
            _rebuild_days(platform, chunk)
            with platform.db.begin() as conn:
                conn.execute(record_lake_days.delete().where(record_lake_days.c.day.in_(chunk)))
    return len(days)


def _db_rows(platform: Platform, first: date, last: date) -> pa.Table:
    """The stored records requested on days first..last, in the lake's columns, by time."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    with platform.db.connect() as conn:
        fmt = db.stored_time_format(conn)
        rows = db.select_rows(
            conn,
            "SELECT requested_at, record_id, area_code, service, channel, status, delivered_at "
            "FROM admin_records WHERE requested_at >= ? AND requested_at < ? "
            "ORDER BY requested_at, record_id",
            (start.strftime(fmt), end.strftime(fmt))
            if conn.dialect.name == "sqlite"
            else (start, end),
        )
    columns: list[Sequence[Any]] = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(7)]
    )
    arrays = []
    for field_, values in zip(ADMIN_RECORDS_SCHEMA, columns, strict=True):
        if pa.types.is_timestamp(field_.type):
            raw = pa.array(values)
            if pa.types.is_string(raw.type) or pa.types.is_null(raw.type):
                raw = pc.cast(pc.cast(raw, pa.string()), pa.timestamp("us"))
                raw = pc.assume_timezone(raw, "UTC")
            arrays.append(pc.cast(raw, field_.type))
        else:
            arrays.append(pa.array(values, field_.type))
    return pa.Table.from_arrays(arrays, schema=ADMIN_RECORDS_SCHEMA)


def _rebuild_days(platform: Platform, days: list[date]) -> None:
    ours = _db_rows(platform, days[0], days[-1])
    day_of = pc.cast(ours["time"], pa.date32()).to_numpy()
    lake: Lake = platform.lake
    written: list[Path] = []
    replaced: list[Path] = []
    for day in days:
        lo, hi = np.searchsorted(
            day_of, [np.datetime64(day), np.datetime64(day + timedelta(days=1))]
        )
        folder = lake.dataset_dir(DATASET) / f"day={day.isoformat()}"
        old_files = sorted(folder.glob("*.parquet")) if folder.exists() else []
        kept = [_foreign_rows(old_files)] if old_files else []
        combined = pa.concat_tables([*kept, ours.slice(lo, hi - lo)])
        if combined.num_rows:
            combined = combined.sort_by("time")
            path = folder / f"part-{uuid.uuid4().hex}.parquet"
            write_file(combined, path, durable=False)
            written.append(path)
        replaced.extend(old_files)
    Lake.sync(written)
    for path in replaced:
        path.unlink(missing_ok=True)
    for folder in {p.parent for p in replaced}:
        fsync_dir(folder)


def _foreign_rows(files: list[Path]) -> pa.Table:
    """The rows of other origins (the demo's…) in a day's files, each once."""
    names = ADMIN_RECORDS_SCHEMA.names
    tables = [pq.read_table(path).select(names).cast(ADMIN_RECORDS_SCHEMA) for path in files]
    table = pa.concat_tables(tables)
    table = table.filter(pc.invert(pc.starts_with(table["record_id"], ID_PREFIX)))
    if len(files) > 1 and pc.count_distinct(table["record_id"]).as_py() < table.num_rows:
        first = table.append_column("_i", pa.array(np.arange(table.num_rows)))
        keep = first.group_by("record_id").aggregate([("_i", "min")])["_i_min"]
        table = table.take(pa.array(np.sort(keep.to_numpy())))
    return table


def recompute_indicators(platform: Platform) -> int:
    """Bring the indicators up to date (incremental: the periods of the days touched)."""
    from hakama.services import indicators  # indicators import the territory, as we do

    report = indicators.compute(platform)
    return sum(report.periods.values())


# Reading --------------------------------------------------------------------------------------


def _row_to_report(row: Any) -> ImportReport:
    return ImportReport(
        id=row.id,
        record_type=row.record_type,
        area_code=row.area_code,
        actor=row.actor,
        channel=row.channel,
        file_name=row.file_name,
        file_sha256=row.file_sha256,
        state=row.state,
        partial=row.partial,
        rows_total=row.rows_total,
        rows_valid=row.rows_valid,
        rows_rejected=row.rows_rejected,
        inserted=row.inserted,
        updated=row.updated,
        unchanged=row.unchanged,
        message=row.message,
        created_at=row.created_at,
        committed_at=row.committed_at,
    )


def get_import(platform: Platform, *, actor: Actor, import_id: str) -> ImportReport:
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(record_imports).where(record_imports.c.id == import_id)
        ).first()
    if row is None:
        raise NotFound(f"no import {import_id!r}")
    chain = territory.area_chain(platform, row.area_code)
    if not allowed(actor, Action.READ_INTERNAL, chain):
        raise NotFound(f"no import {import_id!r}")  # another commune's imports are not listed
    report = _row_to_report(row)
    errors_path = _import_dir(platform, import_id) / "errors.csv"
    if errors_path.exists():
        with open(errors_path, encoding="utf-8") as handle:
            table = (
                pcsv.read_csv(
                    handle.buffer,
                    convert_options=pcsv.ConvertOptions(
                        column_types={
                            "line": pa.int64(),
                            "column": pa.string(),
                            "value": pa.string(),
                            "reason": pa.string(),
                        }
                    ),
                )
                if errors_path.stat().st_size
                else ERRORS_SCHEMA.empty_table()
            )
        report.errors = [
            RowError(int(r["line"]), r["column"] or "", r["value"], r["reason"])
            for r in table.slice(0, SHOWN_ERRORS).to_pylist()
        ]
    if report.state == "previewed":
        report.preview = preview_rows(
            platform, record_type(platform, report.record_type), import_id
        )
    return report


def list_imports(
    platform: Platform, *, actor: Actor, area_code: str | None = None, limit: int = 50
) -> list[ImportReport]:
    """Imports the actor may see, newest first."""
    query = sa.select(record_imports).order_by(record_imports.c.created_at.desc()).limit(limit * 4)
    if area_code:
        query = query.where(record_imports.c.area_code == area_code)
    with platform.db.connect() as conn:
        rows = conn.execute(query).all()
    out = [
        _row_to_report(r)
        for r in rows
        if allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, r.area_code))
    ]
    return out[:limit]


def count_records(
    platform: Platform, *, type_id: str | None = None, area_code: str | None = None
) -> int:
    query = sa.select(sa.func.count()).select_from(admin_records)
    if type_id:
        query = query.where(admin_records.c.record_type == type_id)
    if area_code:
        query = query.where(admin_records.c.area_code == area_code)
    with platform.db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def import_file(
    platform: Platform,
    *,
    actor: Actor,
    area_code: str,
    type_id: str,
    path: Path,
    mapping_text: str = "",
    partial: bool = False,
    recompute: bool = True,
) -> ImportReport:
    """Stage then commit a file (the CLI's one step)."""
    staged = stage(
        platform, actor=actor, area_code=area_code, type_id=type_id, path=path,
        mapping_text=mapping_text, partial=partial,
    )  # fmt: skip
    return commit(platform, actor=actor, import_id=staged.id, recompute=recompute)


# Rows from systems (push API, pull sources) ----------------------------------------------------

MAX_BATCH = 10_000


def rows_batch(rows: Sequence[Mapping[str, Any]]) -> record_files.RowBatch:
    """JSON objects as a batch of text columns (numbered from 1), like a file's rows."""
    if len(rows) > MAX_BATCH:
        raise Invalid(f"{len(rows)} records in one batch; send at most {MAX_BATCH}")
    header: dict[str, None] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise Invalid(f"record {i + 1} is not a JSON object")
        for k in row:
            header.setdefault(str(k), None)
    columns = {
        name: pa.array([_text(row.get(name)) for row in rows], pa.string()) for name in header
    }
    batch = pa.RecordBatch.from_pydict(columns) if columns else pa.RecordBatch.from_pydict({})
    return record_files.RowBatch(batch, np.arange(1, len(rows) + 1, dtype=np.int64))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def ingest_rows(
    platform: Platform,
    *,
    actor: Actor,
    area_code: str,
    type_id: str,
    rows: Sequence[Mapping[str, Any]],
    channel: str,
    source_name: str = "",
    mapping: ColumnMapping = NO_MAPPING,
    partial: bool = False,
    on_commit: Any = None,
    sync: bool = True,
) -> ImportReport:
    """Validate records sent by a system and store them in one transaction (with `on_commit`,
    e.g. a pull's new cursor). Raises `Invalid` carrying every error when a row fails and the
    batch is not partial: nothing is stored then."""
    check_write(platform, actor, area_code)
    rt = record_type(platform, type_id)
    batch = rows_batch(rows)
    header = tuple(batch.columns.schema.names)
    columns = resolve_columns(rt, mapping, header)
    checked = check(
        batch.columns, batch.lines, record_type=rt, mapping=mapping, columns=columns, now=utcnow()
    )
    dup_errors, dup_lines = duplicate_errors(
        checked.valid.column(1),
        checked.valid.column(0),
        "+".join(rt.key),
        "+".join(columns.get(k, k) for k in rt.key),
    )
    errors_table = pa.concat_tables([checked.errors, dup_errors]).sort_by("line")
    valid = checked.valid
    if dup_lines:
        valid = valid.filter(
            pc.invert(pc.is_in(valid.column(0), value_set=pa.array(sorted(dup_lines), pa.int64())))
        )
    errors = [
        RowError(int(r["line"]), r["column"], r["value"], r["reason"])
        for r in errors_table.to_pylist()
    ]
    rejected = len(rows) - valid.num_rows
    if rejected and not partial:
        raise Invalid(
            f"{rejected} of {len(rows)} records rejected; nothing stored",
            errors=[e.__dict__ for e in errors[:SHOWN_ERRORS]],
        )
    payload = json.dumps(rows, sort_keys=True, default=str, ensure_ascii=False).encode()
    import_id = uuid.uuid4().hex
    now = utcnow()
    report = ImportReport(
        id=import_id, record_type=rt.id, area_code=area_code, actor=actor.label, channel=channel,
        file_name=source_name[:300], file_sha256=hashlib.sha256(payload).hexdigest(),
        state="committed", partial=partial, rows_total=len(rows), rows_valid=valid.num_rows,
        rows_rejected=rejected, created_at=now, committed_at=now, errors=errors[:SHOWN_ERRORS],
    )  # fmt: skip
    with platform.db.begin() as conn:
        counts = write_records(
            conn, rt=rt, area_code=area_code, import_id=import_id, batches=[valid]
        )
        report.__dict__.update(counts)
        conn.execute(
            record_imports.insert().values(
                id=import_id,
                record_type=rt.id,
                area_code=area_code,
                actor=actor.label,
                channel=channel,
                file_name=report.file_name,
                file_sha256=report.file_sha256,
                file_bytes=len(payload),
                state="committed",
                partial=partial,
                rows_total=len(rows),
                rows_valid=valid.num_rows,
                rows_rejected=rejected,
                created_at=now,
                committed_at=now,
                **counts,
            )
        )
        if on_commit is not None:
            on_commit(conn)
        if counts["inserted"] or counts["updated"]:
            audit.record(
                conn,
                actor=actor,
                action="records.import",
                resource=f"record_import:{import_id}",
                area_code=area_code,
                after=_audit_summary(report),
            )
    if sync:  # a pull syncs once after its last page
        sync_lake(platform)
    return report
