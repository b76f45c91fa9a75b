"""Indicators: computed values, their lake inputs, alerts and alert webhooks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_values",
        sa.Column("indicator_id", sa.String(64), primary_key=True),
        sa.Column("area_code", sa.String(64), primary_key=True),
        sa.Column("grain", sa.String(8), primary_key=True),
        sa.Column("period_start", sa.Date, primary_key=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("sample", sa.BigInteger, nullable=False),
        sa.Column("quality", sa.String(32), nullable=False),
        sa.Column("computed_at", UTCDateTime, nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
    )
    op.create_table(
        "indicator_inputs",
        sa.Column("indicator_id", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(500), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "indicator_state",
        sa.Column("indicator_id", sa.String(64), primary_key=True),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("computed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("attribute", sa.String(100), nullable=False, server_default=""),
        sa.Column("area_code", sa.String(64), nullable=True),
        sa.Column("period_start", sa.Date, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_alerts_open", "alerts", ["kind", "subject", "attribute", "area_code", "closed_at"]
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for table in (
        "alert_deliveries",
        "alerts",
        "indicator_state",
        "indicator_inputs",
        "indicator_values",
    ):
        op.drop_table(table)
