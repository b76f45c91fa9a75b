"""Tables of computed indicator values, the lake files they were computed from, and alerts."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

indicator_values = sa.Table(
    "indicator_values",
    metadata,
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

#: The lake files (path, size, mtime) each indicator's stored values reflect: what incremental
#: runs compare, per indicator, so computing some indicators never hides changes from others.
indicator_inputs = sa.Table(
    "indicator_inputs",
    metadata,
    sa.Column("indicator_id", sa.String(64), primary_key=True),
    sa.Column("path", sa.String(500), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
)

#: Which version of each definition the stored values were computed with.
indicator_state = sa.Table(
    "indicator_state",
    metadata,
    sa.Column("indicator_id", sa.String(64), primary_key=True),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # threshold | silent | implausible
    sa.Column("subject", sa.String(300), nullable=False),  # indicator id or entity id
    sa.Column("attribute", sa.String(100), nullable=False, server_default=""),
    sa.Column("area_code", sa.String(64), nullable=True),
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    # the open alert of a subject, found without a scan (as migration 0004 creates it)
    sa.Index("ix_alerts_open", "kind", "subject", "attribute", "area_code", "closed_at"),
)

#: Durable outbox of alert webhooks: written with the alert, sent by the indicator job (hakama.jobs.indicators).
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),  # opened | closed
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)
