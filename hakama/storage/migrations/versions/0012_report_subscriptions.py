"""Scheduled council reports: subscriptions and the record of what was sent.

Revision ID: 0012
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("report_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False, server_default=""),
        sa.Column("size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("subscription_id", "period", name="uq_report_deliveries_period"),
    )


def downgrade() -> None:
    op.drop_table("report_deliveries")
    op.drop_table("report_subscriptions")
