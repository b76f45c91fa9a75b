"""Tables of the notices citizens get about requests (migration 0013).

`notice_recipients` holds the addresses people gave to be told about one request (the
requester's e-mail and phone at filing; followers' e-mails) — personal data, read only by the
notice sender. `notice_outbox` holds the notices waiting to go out, retried until sent or given
up; a row carries no address, only its recipient's id.
"""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.schema import metadata
from hakama.storage.types import UTCDateTime

notice_recipients = sa.Table(
    "notice_recipients",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "request_id",
        sa.String(40),
        sa.ForeignKey("service_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("channel", sa.String(8), nullable=False),  # email | sms
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # requester | follower
    sa.Column("state", sa.String(16), nullable=False),  # pending | active | stopped
    sa.Column("token", sa.String(64), nullable=False),  # in the stop (and confirm) links
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("token", name="uq_notice_recipients_token"),
    sa.UniqueConstraint("request_id", "channel", "address", name="uq_notice_recipients_address"),
)

notice_outbox = sa.Table(
    "notice_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recipient_id", sa.Integer, nullable=False, index=True),
    sa.Column("request_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # an EventKind value, or `follow`
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)
