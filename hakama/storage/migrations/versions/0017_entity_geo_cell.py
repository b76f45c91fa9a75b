"""entities.geo_cell: the cell of a fixed 0.02° grid holding the whole box of `location` (-1
when the box spans cells), B-tree indexed with the box and the id (a covering index), so that a geo-query reads only the
cells its box covers (`hakama.services.entity_filters`). Existing rows are filled in.

Revision ID: 0017
Revises: 0015
"""

import math

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

CELL_DEGREES = 0.02  # as hakama.services.entity_filters (a migration keeps its own copy)
COLUMNS = round(360 / CELL_DEGREES) + 1


def _cell(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> int:
    column = math.floor((min_lon + 180.0) / CELL_DEGREES)
    row = math.floor((min_lat + 90.0) / CELL_DEGREES)
    if column != math.floor((max_lon + 180.0) / CELL_DEGREES) or row != math.floor(
        (max_lat + 90.0) / CELL_DEGREES
    ):
        return -1
    return row * COLUMNS + column


def upgrade() -> None:
    op.add_column("entities", sa.Column("geo_cell", sa.BigInteger, nullable=True))
    op.create_index(
        "ix_entities_geo_cell",
        "entities",
        ["geo_cell", "min_lon", "min_lat", "max_lon", "max_lat", "id"],
    )
    conn = op.get_bind()
    table = sa.table(
        "entities",
        sa.column("id", sa.String),
        sa.column("min_lon", sa.Float),
        sa.column("min_lat", sa.Float),
        sa.column("max_lon", sa.Float),
        sa.column("max_lat", sa.Float),
        sa.column("geo_cell", sa.BigInteger),
    )
    rows = conn.execute(
        sa.select(
            table.c.id, table.c.min_lon, table.c.min_lat, table.c.max_lon, table.c.max_lat
        ).where(table.c.min_lon.is_not(None))
    ).all()
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("_id"))
        .values(geo_cell=sa.bindparam("cell"))
    )
    for start in range(0, len(rows), 1000):
        conn.execute(
            update,
            [
                {"_id": r.id, "cell": _cell(r.min_lon, r.min_lat, r.max_lon, r.max_lat)}
                for r in rows[start : start + 1000]
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_entities_geo_cell", table_name="entities")
    with op.batch_alter_table("entities") as batch:
        batch.drop_column("geo_cell")
