"""Tables of NGSI-LD subscriptions and of the notification outbox (durable, sent after commit)."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),  # actor label of who created it
    sa.Column("area_code", sa.String(64), nullable=True),  # owner's area: what it may watch
    sa.Column("body", sa.JSON, nullable=False),  # the subscription as accepted, without status
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("throttling", sa.Float, nullable=True),  # seconds between two notifications
    sa.Column("times_sent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_notification", UTCDateTime, nullable=True),
    sa.Column("last_success", UTCDateTime, nullable=True),
    sa.Column("last_failure", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(16), nullable=True),  # ok | failed (of the last notification)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("modified_at", UTCDateTime, nullable=False),
)

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.String(300), nullable=False, index=True),
    sa.Column("payload", sa.JSON, nullable=False),  # {"data": [entities…], "trigger": …}
    sa.Column("state", sa.String(16), nullable=False),  # pending | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),  # lease of the sender holding it
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
