"""File imports of records: `stage` (read, validate, preview) then `commit` (one transaction)."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import sqlalchemy as sa

from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Invalid
from hakama.core.records import (
    NO_MAPPING,
    ColumnMapping,
    RecordType,
    load_mapping,
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
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.services.record_lake import recompute_indicators, sync_lake
from hakama.services.record_store import write_records
from hakama.services.records import (
    SHOWN_ERRORS,
    ImportReport,
    RowError,
    audit_summary,
    check_write,
    get_import,
    import_dir,
    preview_rows,
    record_type,
    save_import,
    staged_batches,
)
from hakama.storage.lake import open_duckdb
from hakama.storage.schema_records import record_imports

CHECK_THREADS = max(1, min(4, os.cpu_count() or 1))


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
    hashes: list[np.ndarray] = []  # 8 bytes a row: the keys themselves would be ~10 times that
    key_lines: list[np.ndarray] = []
    shown: list[pa.Table] = []
    shown_count = 0
    duck = open_duckdb(threads=1)
    with (
        pcsv.CSVWriter(str(errors_path), ERRORS_SCHEMA) as errors_out,
        ipc.new_file(str(valid_path), schema) as writer,
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
            hashes.append(_key_hashes(duck, checked.valid.column(1)))
            key_lines.append(checked.valid.column(0).to_numpy())
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
        writer.close()  # the staged rows are read back for the keys that may repeat
        duck.close()
        dup_errors, dup_lines = duplicate_errors(
            *_keys_that_may_repeat(valid_path, hashes, key_lines),
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


def _key_hashes(duck: duckdb.DuckDBPyConnection, keys: pa.Array) -> np.ndarray:
    """A 64-bit hash of each key (DuckDB's `hash`), in order."""
    duck.register("keys", pa.table({"key": keys}))
    try:
        found: np.ndarray = duck.execute("SELECT hash(key) AS h FROM keys").fetchnumpy()["h"]
    finally:
        duck.unregister("keys")
    return np.asarray(found, dtype=np.uint64)


def _keys_that_may_repeat(
    staged: Path, hashes: list[np.ndarray], lines: list[np.ndarray]
) -> tuple[pa.Array, pa.Array]:
    """The keys and lines of the staged rows whose key hash is not unique (the exact check is
    then made on these few): a million keys are compared as integers, not strings."""
    every_hash = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    ordered = np.sort(every_hash)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if repeated.size == 0:
        return pa.array([], pa.string()), pa.array([], pa.int64())
    suspects = pa.array(np.concatenate(lines)[np.isin(every_hash, repeated)])
    keys: list[pa.Array] = []
    found: list[pa.Array] = []
    with pa.OSFile(str(staged)) as source:
        reader = ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            batch = batch.filter(pc.is_in(batch.column(0), value_set=suspects))
            keys.append(batch.column(1))
            found.append(batch.column(0))
    return pa.concat_arrays(keys), pa.concat_arrays(found)


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
    folder = import_dir(platform, import_id)
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
        save_import(conn, report, file_bytes=shape.size, mapping=mapping_text)
        audit.record(
            conn,
            actor=actor,
            action="records.preview",
            resource=f"record_import:{import_id}",
            area_code=area_code,
            after=audit_summary(report),
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


# Commit ---------------------------------------------------------------------------------------


def commit(
    platform: Platform, *, actor: Actor, import_id: str, recompute: bool = True
) -> ImportReport:
    """Store a previewed import's records in one transaction, then bring the lake up to date."""
    report = get_import(platform, actor=actor, import_id=import_id)
    check_write(platform, actor, report.area_code)
    rt = record_type(platform, report.record_type)
    folder = import_dir(platform, import_id)
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
                batches=staged_batches(folder),
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
                after=audit_summary(report),
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
