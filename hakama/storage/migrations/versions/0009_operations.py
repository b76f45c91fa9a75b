"""Operations: an index for the MQTT subscriber's redelivery check; entities of devices
provisioned by commune (no position) placed in that commune.

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # was this time-less reading staged lately? (hakama.services.device_readings.already_stored)
    op.create_index(
        "ix_observation_staging_redelivery",
        "observation_staging",
        ["entity_id", "attribute", "value", "staged_at"],
    )
    # Entities of devices added with `--area` and no position were left without a commune, so
    # the commune's own key could not update them: place them in their device's commune.
    op.execute(
        sa.text(
            "UPDATE entities SET area_code = (SELECT d.area_code FROM devices d "
            "WHERE d.entity_id = entities.id) "
            "WHERE area_code IS NULL AND EXISTS (SELECT 1 FROM devices d "
            "WHERE d.entity_id = entities.id AND d.area_code IS NOT NULL)"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_observation_staging_redelivery", "observation_staging")
