"""Administrative records from the communes' own systems: types, imports kept, reading.

Every way in — a file from the office or the CLI (`record_file_imports`), a pull from a source
or a push to the API (`record_rows`) — ends in the same checks (`ingest.record_validation`), the
same writer (`record_store`) and one transaction per import, kept here (`save_import`), audited.

A file import goes in two steps. `stage` reads and validates the whole file without storing a
record: the rows as they will be stored go to a staging file, every rejected row to an errors
CSV, and an import entry (`previewed`) records who, when, which file (SHA-256) and the counts.
`commit` then writes the records in one transaction — all of them, or, when any row was
rejected, none unless the import is `partial`. A record is identified by its type, commune and
key fields: the same file twice adds nothing, a corrected file updates the records it names.
A crash (even `kill -9`) at any point leaves either the whole import or nothing.

The lake dataset `admin_records` keeps its columns. Imported rows carry ids `rec-<hash>`; the
commit marks the UTC days it touched (in the same transaction), and `record_lake.sync_lake` rebuilds each
marked day's file from the database (keeping the rows of other origins, such as the demo's),
then clears the mark: a crash in between only means the day is rebuilt again. The indicators'
incremental computation then recomputes exactly the periods of those days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, NotFound
from hakama.core.record_errors import explain
from hakama.core.records import (
    RecordType,
    load_types,
)
from hakama.ingest.record_validation import (
    ERRORS_SCHEMA,
)
from hakama.services import territory
from hakama.services.platform import Platform
from hakama.storage.schema_records import admin_records, record_imports

BUILT_IN = Path(__file__).resolve().parents[1] / "core" / "record_types"
SHOWN_ERRORS = 200


# Types ----------------------------------------------------------------------------------------


def types(platform: Platform) -> list[RecordType]:
    """The built-in record types and the operator's own (`record_types/*.yaml`)."""
    cached = platform.derived.record_types
    if cached is None:
        cached = load_types([BUILT_IN, platform.settings.user_record_types_dir])
        platform.derived.record_types = cached
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
    reason: str  # in English; `code` is stable, `record_errors.explain` translates it

    @property
    def code(self) -> str:
        return explain(self.reason).code

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "code": self.code}


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
        out["errors"] = [e.as_dict() for e in self.errors]
        out["preview"] = self.preview
        for k in ("created_at", "committed_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def import_dir(platform: Platform, import_id: str) -> Path:
    if not import_id.isalnum():
        raise NotFound(f"no import {import_id!r}")
    return platform.settings.records_dir / import_id


def errors_csv(
    platform: Platform,
    *,
    actor: Actor,
    import_id: str,
    lang: str = "en",
    translate: Callable[[str], str] | None = None,
) -> Path:
    """The import's rejected rows as CSV: line, column, value, code (stable), reason (in `lang`,
    through `translate`, a gettext). Made once per language from the report kept at staging."""
    report = get_import(platform, actor=actor, import_id=import_id)
    folder = import_dir(platform, report.id)
    kept = folder / "errors.csv"
    if not kept.exists():
        raise NotFound(f"import {import_id} kept no error report")
    if not lang.isalpha():
        raise NotFound(f"no language {lang!r}")
    path = folder / f"errors.{lang}.csv"
    if path.exists():
        return path
    table = _read_errors(kept)
    reasons = pc.dictionary_encode(table["reason"]).combine_chunks()
    codes, texts = [], []
    for reason in reasons.dictionary.to_pylist():
        explained = explain(reason)
        codes.append(explained.code)
        message = translate(explained.message) if translate else explained.message
        texts.append(message % explained.params if explained.params else message)
    out = pa.table(
        {
            "line": table["line"],
            "column": table["column"],
            "value": table["value"],
            "code": pc.take(pa.array(codes, pa.string()), reasons.indices),
            "reason": pc.take(pa.array(texts, pa.string()), reasons.indices),
        }
    )
    tmp = path.with_suffix(".tmp")
    pcsv.write_csv(out, tmp)
    tmp.replace(path)
    return path


def _read_errors(path: Path) -> pa.Table:
    if not path.stat().st_size:
        return ERRORS_SCHEMA.empty_table()
    types = dict(zip(ERRORS_SCHEMA.names, ERRORS_SCHEMA.types, strict=True))
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=types))


def staged_batches(folder: Path) -> Iterator[pa.RecordBatch]:
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
    folder = import_dir(platform, import_id)
    if not (folder / "valid.arrow").exists():
        return []
    rows: list[dict[str, Any]] = []
    for batch in staged_batches(folder):
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


def save_import(
    conn: sa.Connection, report: ImportReport, *, file_bytes: int, mapping: str = ""
) -> None:
    """Keep an import's entry: who, when, which file or batch, the counts."""
    conn.execute(
        record_imports.insert().values(
            id=report.id,
            record_type=report.record_type,
            area_code=report.area_code,
            actor=report.actor,
            channel=report.channel,
            file_name=report.file_name,
            file_sha256=report.file_sha256,
            file_bytes=file_bytes,
            mapping=mapping,
            state=report.state,
            partial=report.partial,
            rows_total=report.rows_total,
            rows_valid=report.rows_valid,
            rows_rejected=report.rows_rejected,
            inserted=report.inserted,
            updated=report.updated,
            unchanged=report.unchanged,
            created_at=report.created_at,
            committed_at=report.committed_at,
        )
    )


def audit_summary(report: ImportReport) -> dict[str, Any]:
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
    errors_path = import_dir(platform, import_id) / "errors.csv"
    if errors_path.exists():
        table = _read_errors(errors_path)
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
