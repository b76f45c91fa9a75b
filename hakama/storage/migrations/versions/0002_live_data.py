"""Live data: the NGSI-LD `entities` table (devices, staging and subscriptions come in 0005-0006).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("type", sa.String(512), nullable=False),
        sa.Column("extra_types", sa.JSON, nullable=True),
        sa.Column("area_code", sa.String(64), nullable=True),
        sa.Column("doc", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("modified_at", UTCDateTime, nullable=False),
        sa.Column("min_lon", sa.Float, nullable=True),
        sa.Column("min_lat", sa.Float, nullable=True),
        sa.Column("max_lon", sa.Float, nullable=True),
        sa.Column("max_lat", sa.Float, nullable=True),
    )
    op.create_index("ix_entities_type", "entities", ["type"])
    op.create_index("ix_entities_area_code", "entities", ["area_code"])
    op.create_index("ix_entities_bbox", "entities", ["min_lon", "min_lat"])


def downgrade() -> None:
    op.drop_table("entities")
