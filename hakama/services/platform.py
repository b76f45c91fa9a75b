"""What every service needs, opened once from the settings: the database and the lake, and the
per-process state kept beside them (caches, event listeners, the notifier's wake-up)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hakama.core.operations import Operations
from hakama.settings import Settings
from hakama.storage.db import Database
from hakama.storage.lake import Lake
from hakama.storage.secret_box import session_key

if TYPE_CHECKING:  # the types of what the services keep here; they import this module
    from itsdangerous import URLSafeTimedSerializer

    from hakama.core.indicators import IndicatorDefinition
    from hakama.core.records import RecordType
    from hakama.core.request_types import Service
    from hakama.core.territory import Area, AreaIndex
    from hakama.services.dataset_specs import Spec
    from hakama.services.datasets import Snapshot
    from hakama.services.datastore import Reader
    from hakama.services.devices import Binding, Rejected
    from hakama.services.subscriptions import Stored


@dataclass
class Derived:
    """What is derived from the database and kept for speed. Each service drops its own when it
    changes the source; `Platform.invalidate()` drops everything (rebuilt on next use)."""

    areas: list[Area] | None = None
    areas_by_code: dict[str, Area] | None = None
    leaf_index: AreaIndex | None = None
    device_bindings: dict[tuple[str, str], Binding | Rejected] = field(default_factory=dict)
    record_types: list[RecordType] | None = None
    request_services: list[Service] | None = None
    indicator_catalogue: list[IndicatorDefinition] | None = None
    #: (when loaded, time.monotonic(); the subscriptions)
    subscriptions: tuple[float, list[Stored]] | None = None
    open_data: Snapshot | None = None
    #: the open-data slices per commune, with the areas list they were made from
    commune_specs: tuple[list[Area], list[Spec]] | None = None
    jsonld_contexts: dict[str, Any] = field(default_factory=dict)
    datastore_reader: Reader | None = None
    csrf_serializer: URLSafeTimedSerializer | None = None
    #: pages' drawings, each with the areas list it was drawn from (a new import replaces it)
    home_drawing: tuple[list[Area], dict[str, Any]] | None = None
    portal_outlines: tuple[list[Area], dict[str, dict[str, Any]]] | None = None


@dataclass
class Platform:
    """The open storage of one hakama instance. Built at the edge (CLI, app), passed down."""

    settings: Settings
    db: Database
    lake: Lake
    derived: Derived = field(default_factory=Derived)
    ops: Operations = field(default_factory=Operations)  # broker losses, jobs' last successes
    #: services.events: the listeners of each event type
    listeners: dict[type, list[Callable[[Platform, Any], None]]] = field(default_factory=dict)
    #: set by the notifier job while it runs: wakes it when a notification is queued
    notifier_wakeup: Callable[[], object] | None = None
    #: services.subscriptions: entity changes feed the outbox (installed once)
    subscriptions_installed: bool = False
    #: services.subscriptions: the last round of each periodic subscription
    periodic_rounds: dict[str, datetime] = field(default_factory=dict)

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

    def invalidate(self) -> None:
        """Drop every derived cache (after the database changed behind the services' back)."""
        self.derived = Derived()

    def close(self) -> None:
        self.db.dispose()
