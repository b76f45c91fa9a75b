"""Tables of the open-data catalogue (migration 0011): each published dataset's state, the
public texts agents approved for requests, and datasets listed from other CKAN portals."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

#: One row per dataset hakama publishes: the admin's licence choice and the last builds.
open_datasets = sa.Table(
    "open_datasets",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("licence_id", sa.String(64), nullable=True),  # None: the settings' default
    sa.Column("version", sa.String(40), nullable=True),  # folder of the last good build
    sa.Column("manifest", sa.JSON, nullable=True),  # the last good build's distributions
    sa.Column("issued_at", UTCDateTime, nullable=True),
    sa.Column("built_at", UTCDateTime, nullable=True),  # last good build
    sa.Column("attempted_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),  # why the last attempt failed, if it did
)

#: A text (and photos) an agent approved for publication about one request (moderation).
request_publications = sa.Table(
    "request_publications",
    metadata,
    sa.Column(
        "request_id",
        sa.String(40),
        sa.ForeignKey("service_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("public_text", sa.Text, nullable=False, server_default=""),
    sa.Column("photos", sa.JSON, nullable=False),  # approved media names
    sa.Column("approved_at", UTCDateTime, nullable=False),
)

#: Datasets of another CKAN portal about the territory, listed beside hakama's (links out).
harvested_datasets = sa.Table(
    "harvested_datasets",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("source_url", sa.String(500), nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("harvested_at", UTCDateTime, nullable=False),
)
