"""Tables of the observation staging area (durable before the lake) and its flush journal."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

#: An auto-incrementing 64-bit id on PostgreSQL; SQLite only auto-increments INTEGER keys.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

observation_staging = sa.Table(
    "observation_staging",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    # core.observations.observation_key: a retry of the same reading collides here
    sa.Column("key", sa.String(32), nullable=False, unique=True),
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
    sa.Column("batch", sa.BigInteger, nullable=True, index=True),  # lake_flushes.id once claimed
    # The MQTT subscriber's redelivery check: was this time-less reading staged lately?
    sa.Index("ix_observation_staging_redelivery", "entity_id", "attribute", "value", "staged_at"),
)

lake_flushes = sa.Table(
    "lake_flushes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # claimed | done
    sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=True),
    # Batch ids name lake files: SQLite must never reuse one, even after the rows are purged.
    sqlite_autoincrement=True,
)
