"""Records sent by systems (push API, pull sources): one batch validated and stored at once."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid
from hakama.core.records import (
    NO_MAPPING,
    ColumnMapping,
    resolve_columns,
)
from hakama.ingest import record_files
from hakama.ingest.record_validation import (
    check,
    duplicate_errors,
)
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.services.record_lake import sync_lake
from hakama.services.record_store import write_records
from hakama.services.records import (
    SHOWN_ERRORS,
    ImportReport,
    RowError,
    audit_summary,
    check_write,
    record_type,
    save_import,
)

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
            errors=[e.as_dict() for e in errors[:SHOWN_ERRORS]],
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
        save_import(conn, report, file_bytes=len(payload))
        if on_commit is not None:
            on_commit(conn)
        if counts["inserted"] or counts["updated"]:
            audit.record(
                conn,
                actor=actor,
                action="records.import",
                resource=f"record_import:{import_id}",
                area_code=area_code,
                after=audit_summary(report),
            )
    if sync:  # a pull syncs once after its last page
        sync_lake(platform)
    return report
