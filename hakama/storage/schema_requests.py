"""Tables of the service catalogue and citizen service requests (migration 0003).

The requester's personal data sits in `request_contacts`, apart from `service_requests`, so that
no query made for the public, Open311 or exports can reach it by accident.
"""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("names", sa.JSON, nullable=False),
    sa.Column("descriptions", sa.JSON, nullable=False),
    sa.Column("department", sa.String(200), nullable=False, server_default=""),
    sa.Column("department_names", sa.JSON, nullable=False, server_default="{}"),  # 0020
    sa.Column("target_hours", sa.Float, nullable=False),
    sa.Column("business_hours", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("icon", sa.String(32), nullable=False, server_default="other"),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("group_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("area_code", "code", name="uq_services_area_code_code"),
)

service_requests = sa.Table(
    "service_requests",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=False),
    sa.Column("service_code", sa.String(64), nullable=False),
    sa.Column("service_name", sa.String(200), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("address", sa.String(500), nullable=False, server_default=""),
    sa.Column("address_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("media", sa.JSON, nullable=False),  # stored file names or http(s) URLs
    sa.Column("language", sa.String(3), nullable=False, server_default="fr"),
    sa.Column("channel", sa.String(16), nullable=False, server_default="web"),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expected_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("status_notes", sa.Text, nullable=False, server_default=""),
    sa.Column("department", sa.String(200), nullable=False, server_default=""),
    sa.Column("assignee", sa.String(200), nullable=False, server_default=""),
    sa.Column("reopened", sa.Integer, nullable=False, server_default="0"),
    sa.Column("merged_into", sa.String(40), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_service_requests_token_hash"),
    # sha256 of (client, Idempotency-Key): a retried POST finds its request instead of a twin.
    sa.Column("idempotency_key", sa.String(64), nullable=True),
    sa.UniqueConstraint("idempotency_key", name="uq_service_requests_idempotency_key"),
    sa.Index("ix_service_requests_requested_at", "requested_at"),
    sa.Index("ix_service_requests_area_status", "area_code", "status", "requested_at"),
    sa.Index("ix_service_requests_service_code", "service_code"),
)

request_contacts = sa.Table(
    "request_contacts",
    metadata,
    sa.Column(
        "request_id",
        sa.String(40),
        sa.ForeignKey("service_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("first_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("last_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("email", sa.String(320), nullable=False, server_default=""),
    sa.Column("phone", sa.String(40), nullable=False, server_default=""),
    sa.Column("account_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("device_id", sa.String(200), nullable=False, server_default=""),
)

request_events = sa.Table(
    "request_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(40), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("actor_kind", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

#: Request events waiting to be written to the lake dataset `request_events` (no personal data).
request_events_staging = sa.Table(
    "request_events_staging",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("request_id", sa.String(40), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=True),
    sa.Column("service_code", sa.String(64), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("actor_kind", sa.String(16), nullable=False),
)


#: A request's state after each change, waiting for the lake dataset `service_requests`.
request_snapshots_staging = sa.Table(
    "request_snapshots_staging",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("request_id", sa.String(40), nullable=False),
    sa.Column("service_code", sa.String(64), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expected_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("reopened", sa.Boolean, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
