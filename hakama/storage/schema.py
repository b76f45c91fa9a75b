"""The operational database's tables (SQLAlchemy Core). Migrations in `migrations/` build them."""

from __future__ import annotations

import sqlalchemy as sa

from hakama.storage.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

areas = sa.Table(
    "areas",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("parent_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=True, index=True),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("names", sa.JSON, nullable=False),  # {"ar": …, "fr": …, "en": …}
    sa.Column("population", sa.JSON, nullable=False),  # {"2014": n, "2024": n}
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("geometry", sa.JSON, nullable=True),  # GeoJSON geometry, WGS 84
    sa.Column("attribution", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=True),
    sa.Column("language", sa.String(2), nullable=False, server_default="fr"),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # public prefix shown to people
    sa.Column("secret_hash", sa.String(64), nullable=False),  # sha256 of the secret part
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("area_code", sa.String(64), sa.ForeignKey("areas.code"), nullable=True),
    sa.Column("scopes", sa.JSON, nullable=False),  # list of Action values
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("resource", sa.String(300), nullable=False),
    sa.Column("area_code", sa.String(64), nullable=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
