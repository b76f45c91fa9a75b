"""Alerts: an indicator past its threshold, a sensor gone silent, an implausible reading.

An alert is recorded once (one open alert per kind, subject, attribute and area), shown to the
staff of its area, sent to the configured webhooks through a durable outbox, and closed when
the condition is gone. Times are judged against the data's own clock (the latest observation
received), so a replayed or historical lake does not flag every sensor as silent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from hakama.core.access import Action, Actor, allowed, system_actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid
from hakama.core.indicators import Quality
from hakama.core.operations import BrokerLoad
from hakama.services import audit, indicators, observations, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import alert_deliveries, alerts, indicator_values

log = logging.getLogger("hakama.alerts")
SYSTEM = system_actor("alerts")

#: Physically plausible ranges per attribute; outside them a reading is implausible.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "pm25": (0.0, 1000.0),
    "pm10": (0.0, 2000.0),
    "no2": (0.0, 1000.0),
    "fillingLevel": (0.0, 100.0),
    "energyConsumed": (0.0, 50.0),
    "waterConsumption": (0.0, 100.0),
    "intensity": (0.0, 3000.0),
    "averageVehicleSpeed": (0.0, 200.0),
}
#: Attributes whose value naturally moves: the same value for this many readings in a row is stuck.
STUCK_AFTER = {"pm25": 24, "pm10": 24, "no2": 24, "intensity": 24, "averageVehicleSpeed": 24}
SILENT_AFTER = timedelta(hours=6)
WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    subject: str
    attribute: str
    area_code: str | None
    period_start: date | None
    value: float | None
    threshold: float | None
    message: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass
class EvaluationReport:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    data_clock: datetime | None = None


@dataclass(frozen=True)
class Condition:
    """A condition that holds now: what `evaluate` compares with the open alerts."""

    kind: str
    subject: str
    attribute: str
    area_code: str | None
    message: str
    value: float | None = None
    threshold: float | None = None
    period_start: date | None = None
    public: bool = False

    @property
    def key(self) -> tuple[str, str, str, str | None]:
        return (self.kind, self.subject, self.attribute, self.area_code)


def threshold_conditions(platform: Platform) -> list[Condition]:
    """Indicators whose latest usable value per area is past their alert threshold."""
    found: list[Condition] = []
    for d in indicators.catalogue(platform):
        if d.alert is None:
            continue
        latest = indicators.latest_period(platform, d.id)
        if latest is None:
            continue
        with platform.db.connect() as conn:
            rows = conn.execute(
                sa.select(indicator_values).where(
                    indicator_values.c.indicator_id == d.id,
                    indicator_values.c.period_start == latest,
                    indicator_values.c.quality != Quality.TOO_FEW.value,
                )
            ).all()
        for row in rows:
            if d.alert.breached(row.value):
                limit = (
                    d.alert.above
                    if d.alert.above is not None and row.value > d.alert.above
                    else d.alert.below
                )
                found.append(
                    Condition(
                        kind="threshold",
                        subject=d.id,
                        attribute="",
                        area_code=row.area_code,
                        value=row.value,
                        threshold=limit,
                        period_start=row.period_start,
                        message=f"{d.name('en')}: {row.value:.4g} {d.unit} "
                        f"({'above' if limit == d.alert.above else 'below'} {limit:g}) for the period starting {row.period_start}",
                        public=d.public,
                    )
                )
    return found


def sensor_conditions(platform: Platform) -> tuple[list[Condition], datetime | None]:
    """Silent sensors and implausible or stuck readings, judged on the data's own clock."""
    with observations.recent_and_lake(platform) as conn:
        clock_row = conn.execute("SELECT max(time) FROM observations_all").fetchone()
        clock = clock_row[0] if clock_row else None
        if clock is None:
            return [], None
        since = clock - max(WINDOW, SILENT_AFTER) * 30  # a sensor silent for a month still counts
        last_seen = conn.execute(
            "SELECT entity_id, any_value(entity_type), any_value(area_code), max(time) "
            "FROM observations_all WHERE time >= ? GROUP BY entity_id",
            [since],
        ).fetchall()
        ranges = " OR ".join(
            f"(attribute = '{name}' AND (value < {lo} OR value > {hi}))"
            for name, (lo, hi) in PLAUSIBLE.items()
        )
        implausible = conn.execute(
            f"SELECT entity_id, attribute, any_value(area_code), count(*), max(value), min(value) "
            f"FROM observations_all WHERE time >= ? AND value IS NOT NULL AND ({ranges}) "
            f"GROUP BY entity_id, attribute",
            [clock - WINDOW],
        ).fetchall()
        stuck_attrs = ", ".join(f"'{a}'" for a in STUCK_AFTER)
        stuck = conn.execute(
            f"""
            WITH runs AS (
              SELECT entity_id, attribute, area_code, value, time,
                     value IS NOT DISTINCT FROM lag(value) OVER w AS same
              FROM observations_all
              WHERE time >= ? AND attribute IN ({stuck_attrs}) AND value IS NOT NULL
              WINDOW w AS (PARTITION BY entity_id, attribute ORDER BY time)
            ), groups AS (
              SELECT *, sum(CASE WHEN same THEN 0 ELSE 1 END) OVER
                (PARTITION BY entity_id, attribute ORDER BY time) AS run_id FROM runs
            )
            SELECT entity_id, attribute, any_value(area_code), max(n), any_value(v) FROM (
              SELECT entity_id, attribute, area_code, run_id, count(*) AS n, any_value(value) AS v
              FROM groups GROUP BY entity_id, attribute, area_code, run_id
            ) GROUP BY entity_id, attribute
            """,
            [clock - WINDOW],
        ).fetchall()
    found: list[Condition] = []
    for entity_id, _etype, area, seen in last_seen:
        if clock - seen > SILENT_AFTER:
            hours = (clock - seen).total_seconds() / 3600
            found.append(
                Condition(
                    "silent",
                    entity_id,
                    "",
                    area,
                    f"{entity_id} has sent nothing for {hours:.0f} h (last {seen:%Y-%m-%d %H:%M} UTC)",
                    value=hours,
                    threshold=SILENT_AFTER.total_seconds() / 3600,
                )
            )
    for entity_id, attribute, area, count, high, low in implausible:
        lo, hi = PLAUSIBLE[attribute]
        found.append(
            Condition(
                "implausible",
                entity_id,
                attribute,
                area,
                f"{entity_id} {attribute}: {count} readings outside [{lo:g}, {hi:g}] in the last 24 h (min {low:g}, max {high:g})",
                value=float(high if high > hi else low),
            )
        )
    for entity_id, attribute, area, longest, value in stuck:
        if longest >= STUCK_AFTER[attribute]:
            found.append(
                Condition(
                    "implausible",
                    entity_id,
                    f"{attribute}:stuck",
                    area,
                    f"{entity_id} {attribute} stuck at {value:g} for {longest} readings in a row",
                    value=float(value),
                    threshold=float(STUCK_AFTER[attribute]),
                )
            )
    return found, clock


#: Alerts about hakama's own operation, raised by jobs as they watch (not by `evaluate`).
BROKER_DROPS = "broker_drops"
OPERATIONAL_KINDS = (BROKER_DROPS,)


def evaluate(platform: Platform) -> EvaluationReport:
    """Open the alerts whose condition holds and close those whose condition is gone."""
    report = EvaluationReport()
    conditions = threshold_conditions(platform)
    sensors, clock = sensor_conditions(platform)
    conditions += sensors
    report.data_clock = clock
    return _reconcile(platform, conditions, alerts.c.kind.not_in(OPERATIONAL_KINDS), report)


def broker_losses(platform: Platform, broker: BrokerLoad) -> EvaluationReport:
    """Keep one alert open (province-wide) while the MQTT broker drops messages."""
    conditions = []
    if broker.dropping:
        rate = max(broker.dropped_1min or 0.0, broker.dropped_5min or 0.0)
        conditions.append(
            Condition(
                kind=BROKER_DROPS,
                subject="mqtt-broker",
                attribute="dropped",
                area_code=None,
                message=f"the MQTT broker drops about {rate:.0f} messages a minute after "
                "acknowledging them to devices: raise its queue limits (hakama mqtt broker-config)",
                value=rate,
                threshold=0.0,
            )
        )
    return _reconcile(platform, conditions, alerts.c.kind == BROKER_DROPS, EvaluationReport())


def _reconcile(
    platform: Platform,
    conditions: list[Condition],
    kinds: sa.ColumnElement[bool],
    report: EvaluationReport,
) -> EvaluationReport:
    """Open alerts for `conditions` not yet open; close the open ones (of `kinds`) not held."""
    holding = {c.key: c for c in conditions}
    now = utcnow()
    webhooks = list(platform.settings.alert_webhooks)
    with platform.db.begin() as conn:
        open_rows = conn.execute(sa.select(alerts).where(alerts.c.closed_at.is_(None), kinds)).all()
        open_keys = {(r.kind, r.subject, r.attribute, r.area_code): r for r in open_rows}
        for key, row in open_keys.items():
            if key not in holding:
                conn.execute(alerts.update().where(alerts.c.id == row.id).values(closed_at=now))
                _enqueue(conn, row.id, "closed", webhooks, now)
                audit.record(
                    conn,
                    actor=SYSTEM,
                    action="alert.close",
                    resource=f"alert:{row.id}",
                    area_code=row.area_code,
                )
                report.closed.append(row.id)
        for key, c in holding.items():
            if key in open_keys:
                continue
            new_id = conn.execute(
                alerts.insert()
                .values(
                    kind=c.kind,
                    subject=c.subject,
                    attribute=c.attribute,
                    area_code=c.area_code,
                    period_start=c.period_start,
                    value=c.value,
                    threshold=c.threshold,
                    message=c.message,
                    opened_at=now,
                    public=c.public,
                )
                .returning(alerts.c.id)
            ).scalar_one()
            _enqueue(conn, new_id, "opened", webhooks, now)
            audit.record(
                conn,
                actor=SYSTEM,
                action="alert.open",
                resource=f"alert:{new_id}",
                area_code=c.area_code,
                after={
                    "kind": c.kind,
                    "subject": c.subject,
                    "attribute": c.attribute,
                    "value": c.value,
                },
            )
            report.opened.append(new_id)
    return report


def _enqueue(
    conn: sa.Connection, alert_id: int, event: str, urls: Sequence[str], now: datetime
) -> None:
    for url in urls:
        conn.execute(
            alert_deliveries.insert().values(
                alert_id=alert_id, event=event, url=url, next_attempt_at=now
            )
        )


def deliver(platform: Platform, *, client: httpx.Client | None = None, timeout: float = 5.0) -> int:
    """Send the due webhook deliveries; failures are retried with exponential backoff."""
    now = utcnow()
    with platform.db.connect() as conn:
        due = conn.execute(
            sa.select(alert_deliveries, alerts)
            .join(alerts, alerts.c.id == alert_deliveries.c.alert_id)
            .where(
                alert_deliveries.c.delivered_at.is_(None),
                alert_deliveries.c.attempts < MAX_ATTEMPTS,
                alert_deliveries.c.next_attempt_at <= now,
            )
            .order_by(alert_deliveries.c.id)
            .limit(200)
        ).all()
    sent = 0
    own_client = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        for row in due:
            body = {
                "event": row.event,
                "alert": _as_json(row),
            }
            error: str | None = None
            try:
                response = http.post(row.url, json=body)
                if response.status_code >= 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            with platform.db.begin() as conn:
                attempts = row.attempts + 1
                if error is None:
                    conn.execute(
                        alert_deliveries.update()
                        .where(alert_deliveries.c.id == row[0])
                        .values(attempts=attempts, delivered_at=utcnow(), last_error=None)
                    )
                    sent += 1
                else:
                    backoff = timedelta(seconds=min(3600, 10 * 2 ** (attempts - 1)))
                    conn.execute(
                        alert_deliveries.update()
                        .where(alert_deliveries.c.id == row[0])
                        .values(
                            attempts=attempts, next_attempt_at=utcnow() + backoff, last_error=error
                        )
                    )
                    log.warning(
                        "alert webhook %s failed (%s), attempt %d", row.url, error, attempts
                    )
    finally:
        if own_client:
            http.close()
    return sent


def _as_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.alert_id,
        "kind": row.kind,
        "subject": row.subject,
        "attribute": row.attribute,
        "area": row.area_code,
        "period_start": row.period_start.isoformat() if row.period_start else None,
        "value": row.value,
        "threshold": row.threshold,
        "message": row.message,
        "opened_at": row.opened_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def list_alerts(
    platform: Platform,
    *,
    actor: Actor,
    state: str = "open",
    area: str | None = None,
    limit: int = 500,
) -> list[AlertView]:
    """Alerts the actor may see: those of areas where they are staff (READ_INTERNAL)."""
    if state not in ("open", "closed", "all"):
        raise Invalid("state must be open, closed or all")
    if area is not None:
        territory.get_area(platform, area)
    query = (
        sa.select(alerts).order_by(alerts.c.opened_at.desc(), alerts.c.id.desc()).limit(limit * 4)
    )
    if state == "open":
        query = query.where(alerts.c.closed_at.is_(None))
    elif state == "closed":
        query = query.where(alerts.c.closed_at.is_not(None))
    if area is not None:
        query = query.where(alerts.c.area_code == area)
    with platform.db.connect() as conn:
        rows = conn.execute(query).all()
    visible = [
        AlertView(
            r.id,
            r.kind,
            r.subject,
            r.attribute,
            r.area_code,
            r.period_start,
            r.value,
            r.threshold,
            r.message,
            r.opened_at,
            r.closed_at,
        )
        for r in rows
        if allowed(actor, Action.READ_INTERNAL, territory.area_chain(platform, r.area_code))
    ]
    return visible[:limit]
