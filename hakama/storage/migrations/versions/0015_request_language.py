"""A request keeps the language it was filed in, Tamazight (`zgh`) included: 3 characters.

Revision ID: 0015
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_requests") as batch:
        batch.alter_column(
            "language",
            existing_type=sa.String(2),
            type_=sa.String(3),
            existing_nullable=False,
            existing_server_default="fr",
        )


def downgrade() -> None:
    # Tamazight requests become Arabic ones (the pages' fallback) before the column shrinks.
    op.execute("UPDATE service_requests SET language = 'ar' WHERE language = 'zgh'")
    with op.batch_alter_table("service_requests") as batch:
        batch.alter_column(
            "language",
            existing_type=sa.String(3),
            type_=sa.String(2),
            existing_nullable=False,
            existing_server_default="fr",
        )
