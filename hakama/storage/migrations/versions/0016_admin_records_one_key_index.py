"""admin_records: drop the unique index on record_id (it is derived from the key hash, which
`uq_admin_records_key` already keeps unique): one index fewer to maintain per record written.

Revision ID: 0016
Revises: 0012
"""

from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_records") as batch:
        batch.drop_constraint("uq_admin_records_record_id", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("admin_records") as batch:
        batch.create_unique_constraint("uq_admin_records_record_id", ["record_id"])
