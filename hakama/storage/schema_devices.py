"""The table of provisioned devices: which entity a device feeds, with which key, where."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("api_key_id", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True, index=True),
    sa.Column("entity_id", sa.String(512), nullable=False, unique=True),
    sa.Column("entity_type", sa.String(512), nullable=False),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=True, index=True),
    # {"pm25": {"name": "pm25", "unit": "GQ"}, "t": ...}: payload key → attribute and unit
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("location", sa.JSON, nullable=True),  # GeoJSON Point of the device, WGS 84
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=True),
)
