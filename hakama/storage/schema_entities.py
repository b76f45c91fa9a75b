"""The `entities` table: NGSI-LD entities in normalized form with canonical names.

`doc` holds the whole entity (see `hakama.core.entities`); the other columns are copies kept
for filtering in SQL: the first type (others in `extra_types`), the commune, the times, and the
bounding box of `location` and the grid cell holding it (`geo_cell`, see
`hakama.services.entity_filters`) for a geo prefilter before the exact test in Python.
"""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", sa.String(512), primary_key=True),
    sa.Column("type", sa.String(512), nullable=False, index=True),
    sa.Column("extra_types", sa.JSON, nullable=True),  # further types of a multi-typed entity
    sa.Column("area_code", sa.String(64), nullable=True, index=True),
    sa.Column("doc", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("modified_at", UTCDateTime, nullable=False),
    sa.Column("min_lon", sa.Float, nullable=True),
    sa.Column("min_lat", sa.Float, nullable=True),
    sa.Column("max_lon", sa.Float, nullable=True),
    sa.Column("max_lat", sa.Float, nullable=True),
    sa.Column("geo_cell", sa.BigInteger, nullable=True),
    sa.Index("ix_entities_bbox", "min_lon", "min_lat"),
    sa.Index("ix_entities_geo_cell", "geo_cell", "min_lon", "min_lat", "max_lon", "max_lat", "id"),
)
