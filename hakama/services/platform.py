"""What every service needs, opened once from the settings: the database and the lake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hakama.core.operations import Operations
from hakama.settings import Settings
from hakama.storage.db import Database
from hakama.storage.lake import Lake
from hakama.storage.secret_box import session_key


@dataclass
class Platform:
    """The open storage of one hakama instance. Built at the edge (CLI, app), passed down."""

    settings: Settings
    db: Database
    lake: Lake
    cache: dict[str, Any] = field(default_factory=dict)  # derived, rebuildable (area index…)
    ops: Operations = field(default_factory=Operations)  # broker losses, jobs' last successes

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Platform:
        """Open (and by default migrate) the storage the settings point at."""
        settings.ensure_dirs()
        db = Database.from_url(settings.database)
        if migrate:
            db.upgrade()
        return cls(settings=settings, db=db, lake=Lake(settings.lake_dir))

    def session_secret(self) -> str:
        """The cookie-signing key: the configured one, else the one kept in the data folder."""
        return session_key(self.settings.secrets_dir, self.settings.secret_key)

    def invalidate(self, *keys: str) -> None:
        for key in keys or tuple(self.cache):
            self.cache.pop(key, None)

    def close(self) -> None:
        self.db.dispose()
