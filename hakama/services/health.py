"""What `/health` reports: is the database reachable and current, is the lake readable, did
the last storage check pass."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from hakama.services import record_sources
from hakama.services.platform import Platform

#: Seconds a "schema is current" answer is reused: it changes only when someone migrates, and
#: asking Alembic costs more than the rest of the report.
SCHEMA_RECHECK = 30.0


def report(platform: Platform) -> dict[str, Any]:
    """The health report; `status` is "ok" or "degraded"."""
    database: dict[str, Any] = {"engine": platform.db.dialect}
    try:
        with platform.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        database["ok"] = True
        database["schema_current"] = _schema_current(platform)
    except Exception as exc:  # a health check reports, it does not raise
        database.update(ok=False, error=type(exc).__name__)
    lake: dict[str, Any] = {"path": str(platform.lake.root)}
    try:
        datasets = platform.lake.datasets()
        lake.update(
            ok=platform.lake.root.is_dir(),
            datasets={name: len(platform.lake.files(name)) for name in datasets},
        )
    except OSError as exc:
        lake.update(ok=False, error=type(exc).__name__)
    ok = bool(database.get("ok") and database.get("schema_current") and lake.get("ok"))
    check = platform.ops.check  # the background storage check (hakama.jobs.storage_check)
    if check is not None and not check["ok"]:
        ok = False
    body: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "lake": lake,
        # Several processes may serve one database: the one holding the leader lock runs the
        # background jobs that must run once (http.background).
        "jobs": {"leader": platform.ops.leader},
    }
    if database.get("schema_current"):  # a failing record source degrades its data, not hakama
        body["record_sources"] = record_sources.health(platform)
    if check is not None:
        body["check"] = {k: check[k] for k in ("ok", "at", "problems")}
    if platform.settings.mqtt_url:
        stats = platform.ops.mqtt
        body["mqtt"] = {
            "subscriber": stats.public() if stats is not None else None,
            "broker": platform.ops.broker.public(),  # what the broker itself dropped
        }
    return body


def _schema_current(platform: Platform) -> bool:
    checked = platform.ops.schema_checked
    now = time.monotonic()
    if checked is not None and now - checked < SCHEMA_RECHECK:
        return True
    current = platform.db.is_current()
    platform.ops.schema_checked = now if current else None
    return current
