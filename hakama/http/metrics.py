"""Prometheus metrics (prometheus-client): requests and latency per route, and what
`services.operations.snapshot` reads at each scrape — ingest counters and lag, staging depth,
outboxes, open alerts, the broker's losses, the jobs' last successes.

One registry per app (no process-wide global): `Metrics` is built by `create_app`.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Scope

from hakama.services import operations
from hakama.services.platform import Platform

#: Latency buckets (seconds): a phone on a slow link notices 1 s; /health must stay under 0.1 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PlatformCollector(Collector):
    """Reads the platform's state at each scrape."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        snap = operations.snapshot(self.platform)
        stats = snap.mqtt
        if stats is not None:
            for name, value, text in (
                ("received", stats.received, "MQTT messages received"),
                ("stored", stats.stored, "MQTT messages stored (committed, then acknowledged)"),
                ("duplicates", stats.duplicates, "redelivered MQTT messages already stored"),
                ("failures", stats.failures, "MQTT batches the database refused (retried)"),
            ):
                yield CounterMetricFamily(f"hakama_mqtt_messages_{name}", text, value=value)
            rejected = CounterMetricFamily(
                "hakama_mqtt_messages_rejected",
                "MQTT messages dropped, by reason",
                labels=["reason"],
            )
            for reason, count in sorted(stats.rejected.items()):
                rejected.add_metric([reason], count)
            yield rejected
            yield CounterMetricFamily(
                "hakama_mqtt_observations_staged",
                "observations staged from MQTT",
                value=stats.observations,
            )
            yield GaugeMetricFamily(
                "hakama_mqtt_connected",
                "1 when connected to the broker",
                value=int(stats.connected),
            )
            yield GaugeMetricFamily(
                "hakama_mqtt_ingest_lag_seconds",
                "reception to commit of the last batch's first message",
                value=stats.lag_seconds,
            )
        staging = GaugeMetricFamily(
            "hakama_staging_rows", "observations in staging, by state", labels=["state"]
        )
        staging.add_metric(["pending"], snap.staging.pending)
        staging.add_metric(["claimed"], snap.staging.claimed)
        staging.add_metric(["flushed_kept"], snap.staging.flushed_kept)
        yield staging
        yield GaugeMetricFamily(
            "hakama_staging_oldest_pending_seconds",
            "age of the oldest observation waiting for the lake (lake lag)",
            value=snap.staging.oldest_pending_seconds or 0.0,
        )
        outbox = GaugeMetricFamily(
            "hakama_notification_outbox", "NGSI-LD notifications by state", labels=["state"]
        )
        for state in sorted({"pending", "dead", *snap.notifications}):
            outbox.add_metric([state], snap.notifications.get(state, 0))
        yield outbox
        yield GaugeMetricFamily(
            "hakama_alert_deliveries_pending",
            "alert webhook deliveries not yet made",
            value=snap.alert_deliveries_pending,
        )
        open_alerts = GaugeMetricFamily(
            "hakama_alerts_open", "open alerts, by kind", labels=["kind"]
        )
        for kind, n in sorted(snap.alerts_open.items()):
            open_alerts.add_metric([kind], n)
        yield open_alerts
        jobs = GaugeMetricFamily(
            "hakama_job_last_success_timestamp_seconds",
            "when each background job last succeeded (Unix time)",
            labels=["job"],
        )
        for job, at in sorted(snap.job_success.items()):
            jobs.add_metric([job], at.timestamp())
        yield jobs
        broker = snap.broker
        if broker.updated_at is not None:
            dropped = GaugeMetricFamily(
                "hakama_broker_dropped_per_minute",
                "messages the MQTT broker dropped per minute ($SYS load averages)",
                labels=["window"],
            )
            for window, per_minute in (
                ("1min", broker.dropped_1min),
                ("5min", broker.dropped_5min),
                ("15min", broker.dropped_15min),
            ):
                if per_minute is not None:
                    dropped.add_metric([window], per_minute)
            yield dropped
            if broker.dropped_total is not None:
                yield CounterMetricFamily(
                    "hakama_broker_dropped", "messages the broker dropped since it started",
                    value=broker.dropped_total,
                )  # fmt: skip
            if broker.stored_messages is not None:
                yield GaugeMetricFamily(
                    "hakama_broker_stored_messages",
                    "messages held in the broker's store",
                    value=broker.stored_messages,
                )


class Metrics:
    """The app's registry: request metrics, and the platform read at scrape time."""

    def __init__(self, platform: Platform) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hakama_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hakama_http_request_duration_seconds",
            "time to answer, by route template and method",
            ["route", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(PlatformCollector(platform))

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request (called by `logs.RequestLog`, which times every one)."""
        route, method = route_of(scope), str(scope.get("method", "-"))
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


def route_of(scope: Scope) -> str:
    """The route template (`/ngsi-ld/v1/entities/{entity_id}`), never the raw path: bounded
    label values, and no ids or personal data in metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "unmatched"
