"""Open data: published datasets' state, approved public texts of requests, harvested datasets.

Revision ID: 0011
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from hakama.storage.types import UTCDateTime

revision = "0011"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_datasets",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("licence_id", sa.String(64), nullable=True),
        sa.Column("version", sa.String(40), nullable=True),
        sa.Column("manifest", sa.JSON, nullable=True),
        sa.Column("issued_at", UTCDateTime, nullable=True),
        sa.Column("built_at", UTCDateTime, nullable=True),
        sa.Column("attempted_at", UTCDateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "request_publications",
        sa.Column(
            "request_id",
            sa.String(40),
            sa.ForeignKey("service_requests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("public_text", sa.Text, nullable=False, server_default=""),
        sa.Column("photos", sa.JSON, nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "harvested_datasets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("harvested_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvested_datasets")
    op.drop_table("request_publications")
    op.drop_table("open_datasets")
