"""The migrations and the table definitions (`storage/schema*.py`) describe the same schema.

The columns are written twice — once in a migration, once as SQLAlchemy tables the services
query — so a migration that forgets a column, or a table edited without a migration, shows up
here, on both engines, as Alembic's autogenerate would see it.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import hakama.storage
from hakama.services.platform import Platform
from hakama.storage.schema import metadata

#: Every table module, found on disk so that a new one cannot be left out of the check.
SCHEMA_MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules(hakama.storage.__path__, "hakama.storage.")
    if m.name.rsplit(".", 1)[-1].startswith("schema")
)


@pytest.fixture(autouse=True, scope="module")
def _all_tables_defined() -> None:
    for name in SCHEMA_MODULES:
        importlib.import_module(name)


def test_every_schema_module_is_found() -> None:
    assert "hakama.storage.schema_requests" in SCHEMA_MODULES
    assert len(SCHEMA_MODULES) >= 10


def test_migrated_database_matches_the_table_definitions(platform: Platform) -> None:
    """`platform` is migrated to head; Alembic compares it with the metadata (tables, columns,
    types, nullability, indexes, unique constraints, foreign keys)."""
    with platform.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        drift = compare_metadata(context, metadata)
    assert drift == [], f"migrations and storage/schema*.py differ on {platform.db.dialect}"
    assert len(metadata.tables) >= 30  # the comparison saw the whole schema
