"""Disparities, the composite and alerts on a small lake whose answers are known in advance."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pyarrow as pa
import pytest
import sqlalchemy as sa

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.errors import Forbidden
from hakama.demo.territory import demo_areas
from hakama.services import alerts, disparities, indicators, territory
from hakama.services.platform import Platform
from hakama.storage.schema_indicators import alert_deliveries

BERKANE, AHFIR, SAIDIA = "02.113.01.09", "02.113.01.01", "02.113.01.25"
TS = pa.timestamp("us", tz="UTC")


def requests_table(rows: list[tuple[str, datetime, float | None]]) -> pa.Table:
    """Service requests: (area, filed at, hours to resolve or None)."""
    n = len(rows)
    times = [t for _, t, _ in rows]
    resolved = [t + timedelta(hours=h) if h is not None else None for _, t, h in rows]
    return pa.table(
        {
            "time": pa.array(times, TS),
            "request_id": [f"r{i}" for i in range(n)],
            "service_code": ["public_lighting"] * n,
            "category": ["public_lighting"] * n,
            "area_code": [a for a, _, _ in rows],
            "lat": [35.0] * n,
            "lon": [-2.3] * n,
            "channel": ["web"] * n,
            "status": ["resolved" if h is not None else "open" for _, _, h in rows],
            "expected_at": pa.array([t + timedelta(hours=72) for t in times], TS),
            "resolved_at": pa.array(resolved, TS),
            "closed_at": pa.array([None] * n, TS),
            "reopened": [False] * n,
            "language": ["ar"] * n,
        }
    )


@pytest.fixture
def seeded(platform: Platform) -> Platform:
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows: list[tuple[str, datetime, float | None]] = []
    for i in range(20):
        rows.append((BERKANE, start + timedelta(hours=i), 24.0))  # fast: median 24 h
        rows.append((AHFIR, start + timedelta(hours=i), 300.0))  # slow: median 300 h
        rows.append((SAIDIA, start + timedelta(hours=i), 48.0 if i % 2 else 96.0))  # median 72 h
    platform.lake.append("service_requests", requests_table(rows))
    return platform


def test_disparity_ranks_and_measures(seeded: Platform) -> None:
    indicators.compute(seeded, only=["resolution_time_median"])
    d = disparities.for_period(seeded, "resolution_time_median", actor=ANONYMOUS)
    assert str(d.period_start) == "2026-03-01"
    assert [s.area_code for s in d.communes] == [BERKANE, SAIDIA, AHFIR]
    assert [s.value for s in d.communes] == [24.0, 72.0, 300.0]
    assert d.province_value == 72.0  # the median of all 60 requests
    ahfir = d.communes[-1]
    assert ahfir.rank == 3 and ahfir.behind_province == 228.0 and ahfir.behind_target == 228.0
    assert d.dispersion.n == 3 and d.dispersion.max_min_ratio == pytest.approx(12.5)
    assert d.dispersion.gini == pytest.approx(
        2 * (48 + 276 + 228) / (2 * 9 * 132)
    )  # Σ|xi−xj| / 2n²μ
    assert len(d.excluded) == 13  # communes without requests are listed, not ranked


def test_composite_flags_the_communes_furthest_behind(seeded: Platform) -> None:
    indicators.compute(seeded)
    c = disparities.composite(seeded, actor=ANONYMOUS)
    assert {i.source for i in c.inputs} == {"census", "live"}
    ranked = [s for s in c.communes if s.rank is not None]
    assert len(ranked) == 16 and sum(s.flagged for s in ranked) == 6  # ceil(16 × 0.33)
    assert all(0 <= (s.score or 0) <= 100 for s in ranked)
    scores = [s.score for s in ranked]
    assert scores == sorted(scores, reverse=True)
    # Rislane: the highest illiteracy and unemployment, no piped water for many — flagged.
    rislane = next(s for s in ranked if s.names["fr"] == "Rislane")
    assert rislane.flagged and rislane.inputs["illiteracy_rate_10_plus"]["normalised"] > 0.8
    assert "relative ranking" in c.method["en"]


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.fail:
            self.send_response(503)
        else:
            Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received = []
    Hook.fail = False
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()
    server.server_close()


def test_alert_opens_once_is_scoped_sent_and_closes(seeded: Platform, webhook: str) -> None:
    seeded.settings.alert_webhooks = [webhook]
    indicators.compute(seeded, only=["resolution_time_median"])
    first = alerts.evaluate(seeded)
    assert len(first.opened) == 1  # Ahfir: 300 h > 240 h
    assert alerts.evaluate(seeded).opened == []  # recorded once
    agent_ahfir = Actor("user", "a", Role.AGENT, AHFIR)
    agent_berkane = Actor("user", "b", Role.AGENT, BERKANE)
    [seen] = alerts.list_alerts(seeded, actor=agent_ahfir)
    assert seen.area_code == AHFIR and seen.kind == "threshold" and seen.value == 300.0
    assert alerts.list_alerts(seeded, actor=agent_berkane) == []
    assert alerts.list_alerts(seeded, actor=ANONYMOUS) == []

    Hook.fail = True
    assert alerts.deliver(seeded) == 0
    with seeded.db.connect() as conn:
        row = conn.execute(sa.select(alert_deliveries)).one()
    assert row.attempts == 1 and row.last_error == "HTTP 503" and row.delivered_at is None
    Hook.fail = False
    with seeded.db.begin() as conn:  # the backoff has passed
        conn.execute(
            alert_deliveries.update().values(next_attempt_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    assert alerts.deliver(seeded) == 1
    assert Hook.received[0]["event"] == "opened" and Hook.received[0]["alert"]["area"] == AHFIR

    # Ahfir gets faster: the value returns under the threshold and the alert closes.
    later = datetime(2026, 3, 2, 9, tzinfo=UTC)
    seeded.lake.append(
        "service_requests",
        requests_table([(AHFIR, later + timedelta(minutes=i), 1.0) for i in range(60)]),
    )
    indicators.compute(seeded, only=["resolution_time_median"])
    closing = alerts.evaluate(seeded)
    assert closing.closed == first.opened
    assert alerts.list_alerts(seeded, actor=agent_ahfir) == []
    assert len(alerts.list_alerts(seeded, actor=agent_ahfir, state="closed")) == 1
    assert alerts.deliver(seeded) == 1 and Hook.received[-1]["event"] == "closed"


def test_internal_indicators_stay_with_staff(seeded: Platform) -> None:
    indicators.compute(seeded, only=["open_backlog"])
    with pytest.raises(Forbidden):
        indicators.series(seeded, "open_backlog", actor=ANONYMOUS, area=BERKANE)
    staff = Actor("user", "b", Role.AGENT, BERKANE)
    assert indicators.series(seeded, "open_backlog", actor=staff, area=BERKANE)
    with pytest.raises(Forbidden):
        indicators.series(seeded, "open_backlog", actor=staff, area=AHFIR)
