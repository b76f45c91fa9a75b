"""Tables of scheduled council reports: who gets which report, and what was sent (migration 0012)."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

report_subscriptions = sa.Table(
    "report_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=False),
    sa.Column("frequency", sa.String(16), nullable=False),  # monthly | quarterly
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("format", sa.String(8), nullable=False),  # pdf | xlsx
    sa.Column("recipients", sa.JSON, nullable=False),  # e-mail addresses
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

report_deliveries = sa.Table(
    "report_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("report_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("period", sa.String(16), nullable=False),  # 2026-Q3, 2026-09
    sa.Column("status", sa.String(16), nullable=False),  # sent | failed
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("filename", sa.String(200), nullable=False, server_default=""),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("subscription_id", "period", name="uq_report_deliveries_period"),
)
