"""`check`: is this hakama's storage sound — the database's own integrity check, the schema,
the audit chain, every lake file readable? Used by `hakama check`, after `hakama restore`, and
by the background check that makes `/health` say "degraded"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq
import sqlalchemy as sa

from hakama.core.clock import utcnow
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.storage import db


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: `problems` is empty when everything is sound."""

    at: datetime
    problems: tuple[str, ...] = ()
    audit_entries: int = 0
    lake_files: int = 0
    lake_rows: int = 0
    tables: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def public(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at.isoformat(),
            "problems": list(self.problems),
            "audit_entries": self.audit_entries,
            "lake_files": self.lake_files,
            "lake_rows": self.lake_rows,
            "tables": self.tables,
        }


def check(platform: Platform, *, read_lake_data: bool = True) -> CheckReport:
    """Check the database (SQLite `PRAGMA integrity_check`, or a full read of every table on
    PostgreSQL), that its schema is current, the audit chain, and every lake file (its footer,
    and with `read_lake_data` every row group). Never raises: each failure is a problem."""
    problems: list[str] = []
    tables = entries = files = rows = 0
    try:
        tables = _check_database(platform, problems)
    except Exception as exc:  # a broken file raises anywhere: report it
        problems.append(f"database unreadable: {_why(exc)}")
    try:
        if not platform.db.is_current():
            problems.append(
                "database schema is not at the current revision (run hakama db upgrade)"
            )
    except Exception as exc:
        problems.append(f"database schema unreadable: {_why(exc)}")
    try:
        with platform.db.connect() as conn:
            chain = audit.verify(conn)
        entries = chain.checked
        if not chain.ok:
            problems.append(f"audit chain broken at entry {chain.broken_seq}: {chain.reason}")
    except Exception as exc:
        problems.append(f"audit log unreadable: {_why(exc)}")
    for dataset in platform.lake.datasets():
        for path in platform.lake.files(dataset):
            files += 1
            try:
                parquet = pq.ParquetFile(path)
                rows += parquet.metadata.num_rows
                if read_lake_data:
                    for group in range(parquet.num_row_groups):
                        parquet.read_row_group(group)
            except Exception as exc:
                rel = path.relative_to(platform.lake.root)
                problems.append(f"lake file {rel} unreadable: {_why(exc)}")
    return CheckReport(
        at=utcnow(),
        problems=tuple(problems),
        audit_entries=entries,
        lake_files=files,
        lake_rows=rows,
        tables=tables,
    )


def _check_database(platform: Platform, problems: list[str]) -> int:
    with platform.db.connect() as conn:
        found = db.integrity_problems(conn)
        if found:
            problems.append("database integrity check failed: " + "; ".join(found[:5]))
        names = sa.inspect(conn).get_table_names()
        for name in names:
            try:  # reads every page of the table
                conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            except sa.exc.DBAPIError as exc:
                problems.append(f"table {name} unreadable: {_why(exc)}")
                conn.rollback()
        return len(names)


def _why(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0] if text else ''}"[:300]
