"""Tombstones of deleted temporal history, applied by every reader of the observation lake.

The lake is append-only Parquet; deleting history rewrites nothing. A tombstone hides either
one attribute instance (`instance_id`, with its `observed_at`) or, when `instance_id` is null,
every observation of the entity (or of one of its attributes) observed at or before `cutoff`.
"""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

temporal_tombstones = sa.Table(
    "temporal_tombstones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity_id", sa.String(300), nullable=False, index=True),
    sa.Column("attribute", sa.String(300), nullable=True),  # null: the whole entity
    sa.Column("instance_id", sa.String(100), nullable=True),  # null: all up to `cutoff`
    sa.Column("observed_at", UTCDateTime, nullable=True),  # the instance's time…
    sa.Column("value", sa.Float, nullable=True),  # …and value: together its identity
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("cutoff", UTCDateTime, nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=False),
)
