"""Observation staging (durable before the lake), its flush journal, and devices.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observation_staging",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("entity_id", sa.String(512), nullable=False),
        sa.Column("entity_type", sa.String(512), nullable=False),
        sa.Column("attribute", sa.String(512), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("area_code", sa.String(64), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("staged_at", UTCDateTime, nullable=False),
        sa.Column("batch", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("key", name="uq_observation_staging_key"),
    )
    op.create_index("ix_observation_staging_batch", "observation_staging", ["batch"])
    op.create_table(
        "lake_flushes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sqlite_autoincrement=True,  # batch ids name lake files: never reused
    )
    op.create_index("ix_lake_flushes_state", "lake_flushes", ["state"])
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("api_key_id", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("entity_id", sa.String(512), nullable=False),
        sa.Column("entity_type", sa.String(512), nullable=False),
        sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("location", sa.JSON, nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("entity_id", name="uq_devices_entity_id"),
    )
    op.create_index("ix_devices_api_key_id", "devices", ["api_key_id"])
    op.create_index("ix_devices_area_code", "devices", ["area_code"])


def downgrade() -> None:
    op.drop_table("devices")
    op.drop_table("lake_flushes")
    op.drop_table("observation_staging")
