"""What an operator reads from a running hakama in one call: ingest counters, staging depth,
outboxes, open alerts, the broker's losses and the jobs' last successes (/metrics, /health)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hakama.core.operations import BrokerLoad, IngestStats
from hakama.services import observations
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import alert_deliveries, alerts
from hakama.storage.schema_subscriptions import notification_outbox


@dataclass(frozen=True)
class Snapshot:
    mqtt: IngestStats | None  # of this process, if it subscribes
    staging: observations.StagingStats
    notifications: dict[str, int]  # outbox rows by state (pending, dead…)
    alert_deliveries_pending: int
    alerts_open: dict[str, int]  # open alerts by kind
    broker: BrokerLoad
    job_success: dict[str, datetime]


def snapshot(platform: Platform) -> Snapshot:
    """Everything /metrics exposes, read in a few aggregate queries."""
    with platform.db.connect() as conn:
        outbox = {
            str(state): int(n)
            for state, n in conn.execute(
                sa.select(notification_outbox.c.state, sa.func.count()).group_by(
                    notification_outbox.c.state
                )
            )
        }
        pending = conn.execute(
            sa.select(sa.func.count()).where(alert_deliveries.c.delivered_at.is_(None))
        ).scalar_one()
        open_alerts = {
            str(kind): int(n)
            for kind, n in conn.execute(
                sa.select(alerts.c.kind, sa.func.count())
                .where(alerts.c.closed_at.is_(None))
                .group_by(alerts.c.kind)
            )
        }
    return Snapshot(
        mqtt=platform.ops.mqtt,
        staging=observations.staging_stats(platform),
        notifications=outbox,
        alert_deliveries_pending=int(pending),
        alerts_open=open_alerts,
        broker=platform.ops.broker,
        job_success=dict(platform.ops.job_success),
    )
