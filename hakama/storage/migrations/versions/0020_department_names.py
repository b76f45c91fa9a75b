"""A service's department gets names per language (ar, fr, en, zgh) beside the stored key.

Revision ID: 0020
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing definitions name no department yet: pages show the stored text, as before.
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("department_names", sa.JSON, nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("department_names")
