"""Tables of administrative records, their imports, pull sources and inter-commune exchanges."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

#: One record per (type, commune, key): what the communes' own systems say was asked and done.
admin_records = sa.Table(
    "admin_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_type", sa.String(64), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),  # sha256 of type, area and key
    sa.Column("record_id", sa.String(40), nullable=False),  # the lake's id: from key_hash
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False, index=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),  # the type's other stored, non-personal fields
    sa.Column("personal", sa.JSON, nullable=True),  # personal fields the type keeps
    sa.Column("row_hash", sa.String(64), nullable=False),  # of everything stored: change test
    sa.Column("import_id", sa.String(32), nullable=True),  # the import that last wrote it
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("record_type", "area_code", "key_hash", name="uq_admin_records_key"),
)

#: One file import, pull or push batch: who, when, what file, what came of it.
record_imports = sa.Table(
    "record_imports",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("record_type", sa.String(64), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # file | pull | push
    sa.Column("file_name", sa.String(300), nullable=False, server_default=""),
    sa.Column("file_sha256", sa.String(64), nullable=False, server_default=""),
    sa.Column("file_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("mapping", sa.Text, nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False),  # previewed | committed | refused
    sa.Column("partial", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rows_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_valid", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("committed_at", UTCDateTime, nullable=True),
)

#: UTC days whose lake files must be rebuilt from `admin_records` (written with the records).
record_lake_days = sa.Table(
    "record_lake_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
)

#: HTTP endpoints pulled on a schedule.
record_sources = sa.Table(
    "record_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("record_type", sa.String(64), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("format", sa.String(8), nullable=False),  # json | csv
    sa.Column("auth", sa.JSON, nullable=False),  # {"kind": none|header|basic, ...}
    sa.Column("cursor_field", sa.String(64), nullable=False),
    sa.Column("cursor_param", sa.String(64), nullable=False),
    sa.Column("cursor_value", sa.String(200), nullable=True),
    sa.Column("mapping", sa.Text, nullable=False, server_default=""),
    sa.Column("interval_minutes", sa.Integer, nullable=False, server_default="60"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("last_run_at", UTCDateTime, nullable=True),
    sa.Column("last_ok_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

#: A request from one commune's agent for a record another commune holds, and its answer.
record_exchanges = sa.Table(
    "record_exchanges",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("record_type", sa.String(64), nullable=False),
    sa.Column("key", sa.JSON, nullable=False),  # the identifying fields asked for
    sa.Column("requester", sa.String(200), nullable=False),
    sa.Column("requester_area", sa.String(64), nullable=False, index=True),
    sa.Column("holder_area", sa.String(64), nullable=False, index=True),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("consent", sa.JSON, nullable=False),  # {"method": …, "reference": …, "at": …}
    sa.Column("state", sa.String(16), nullable=False),  # requested | answered | refused
    sa.Column("answered_by", sa.String(200), nullable=True),
    sa.Column("answer_reason", sa.Text, nullable=True),
    sa.Column("record", sa.JSON, nullable=True),  # what the holder sent
    sa.Column("record_sha256", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=True),
)
