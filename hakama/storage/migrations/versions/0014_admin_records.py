"""Administrative records, their imports, pull sources, lake days to rebuild, exchanges.

Revision ID: 0014
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("area_code", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("personal", sa.JSON, nullable=True),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("import_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("record_type", "area_code", "key_hash", name="uq_admin_records_key"),
        sa.UniqueConstraint("record_id", name="uq_admin_records_record_id"),
    )
    op.create_index("ix_admin_records_requested_at", "admin_records", ["requested_at"])
    op.create_table(
        "record_imports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("area_code", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False, server_default=""),
        sa.Column("file_sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("file_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("mapping", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
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
    op.create_index("ix_record_imports_area_code", "record_imports", ["area_code"])
    op.create_table("record_lake_days", sa.Column("day", sa.Date, primary_key=True))
    op.create_table(
        "record_sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("area_code", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("auth", sa.JSON, nullable=False),
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
        sa.UniqueConstraint("name", name="uq_record_sources_name"),
    )
    op.create_table(
        "record_exchanges",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("key", sa.JSON, nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("requester_area", sa.String(64), nullable=False),
        sa.Column("holder_area", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("consent", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.Column("answer_reason", sa.Text, nullable=True),
        sa.Column("record", sa.JSON, nullable=True),
        sa.Column("record_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_record_exchanges_requester_area", "record_exchanges", ["requester_area"])
    op.create_index("ix_record_exchanges_holder_area", "record_exchanges", ["holder_area"])


def downgrade() -> None:
    for table in (
        "record_exchanges", "record_sources", "record_lake_days", "record_imports", "admin_records",
    ):  # fmt: skip
        op.drop_table(table)
