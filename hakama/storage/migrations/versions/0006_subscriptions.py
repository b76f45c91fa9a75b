"""NGSI-LD subscriptions, the notification outbox, tombstones of deleted temporal history.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("area_code", sa.String(64), nullable=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("throttling", sa.Float, nullable=True),
        sa.Column("times_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_notification", UTCDateTime, nullable=True),
        sa.Column("last_success", UTCDateTime, nullable=True),
        sa.Column("last_failure", UTCDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("modified_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(300), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("claimed_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_notification_outbox_subscription_id", "notification_outbox", ["subscription_id"]
    )
    op.create_index("ix_notification_outbox_due_at", "notification_outbox", ["due_at"])
    op.create_table(
        "temporal_tombstones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_id", sa.String(300), nullable=False),
        sa.Column("attribute", sa.String(300), nullable=True),
        sa.Column("instance_id", sa.String(100), nullable=True),
        sa.Column("observed_at", UTCDateTime, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("cutoff", UTCDateTime, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_temporal_tombstones_entity_id", "temporal_tombstones", ["entity_id"])


def downgrade() -> None:
    op.drop_table("temporal_tombstones")
    op.drop_table("notification_outbox")
    op.drop_table("subscriptions")
