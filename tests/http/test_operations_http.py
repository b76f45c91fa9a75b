"""The operator's view over HTTP: `/metrics` (Prometheus text, staff only), and the server's
log when `hakama serve` runs for real: one line per event, a request id, no personal data."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.http import logs
from hakama.http.api.open311 import PUBLIC_APP_KEY
from hakama.http.app import create_app
from hakama.services import keys, request_types, territory
from hakama.services.platform import Platform
from hakama.settings import Settings

OPERATOR = system_actor("test")
PORT, METRICS_PORT = 8131, 8132
NAME, PHONE, PHONE_LOCAL, EMAIL = "Zineb", "+212661234567", "0661234567", "zineb.k@example.ma"


def _seed(platform: Platform) -> tuple[float, float]:
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=OPERATOR)
    request_types.save_services(platform, catalogue_for(areas), actor=OPERATOR)
    commune = next(a for a in areas if a.level.value == "commune")
    point = shape(commune.geometry).representative_point()
    return point.x, point.y


@pytest.fixture
def client(sqlite_platform: Platform) -> Iterator[TestClient]:
    app = create_app(sqlite_platform.settings, platform=sqlite_platform, background=False)
    with TestClient(app) as c:
        yield c


def test_metrics_are_staff_only_and_in_prometheus_format(
    client: TestClient, sqlite_platform: Platform
) -> None:
    admin = keys.create_key(
        sqlite_platform,
        name="prometheus",
        role="admin",
        area_code=None,
        scopes=None,
        actor=OPERATOR,
    ).token
    agent = keys.create_key(
        sqlite_platform, name="agent", role="agent", area_code=None, scopes=["write_data"],
        actor=OPERATOR,
    ).token  # fmt: skip
    for _ in range(3):
        assert client.get("/health").status_code == 200
    client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:X:does-not-exist")
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and "hakama_" not in anonymous.text
    assert client.get("/metrics", headers={"Authorization": f"Bearer {agent}"}).status_code == 403
    got = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    text = got.text
    assert 'hakama_http_requests_total{method="GET",route="/health",status="200"} 3.0' in text
    # the route template, never the raw path (bounded labels, no ids in them)
    assert 'route="/ngsi-ld/v1/entities/{entity_id}"' in text and "does-not-exist" not in text
    assert (
        'hakama_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/health"}' in text
    )
    assert 'hakama_staging_rows{state="pending"} 0.0' in text
    assert 'hakama_notification_outbox{state="pending"} 0.0' in text
    assert "hakama_staging_oldest_pending_seconds" in text and "hakama_alerts_open" in text


def test_log_lines_fold_tracebacks_and_mask_contacts() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.LineFormatter(as_json=False))
    logger = logging.getLogger("hakama.test-logs")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"no account for {EMAIL} / {PHONE_LOCAL}")
        except ValueError:
            logger.error("sign-in failed for %s", PHONE, exc_info=True)
        logger.warning("batch of %d at 2026-03-01 10:00:00 (%s)", 20000, "ok")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines  # the traceback is folded into its event's line
    assert "Traceback" in lines[0] and "ValueError" in lines[0]
    assert EMAIL not in lines[0] and "661234567" not in lines[0] and "[email]" in lines[0]
    assert "20000 at 2026-03-01 10:00:00" in lines[1]  # counts and dates are not phones


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_served_log_has_request_ids_and_no_personal_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    lon, lat = _seed(platform)
    platform.close()
    env = {
        **os.environ, "HAKAMA_LOG_JSON": "true", "HAKAMA_LOG_LEVEL": "INFO",
        "HAKAMA_METRICS_PORT": str(METRICS_PORT),
    }  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data), "serve",
         "--port", str(PORT)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(PORT)
        base = f"http://127.0.0.1:{PORT}"
        form = {
            "api_key": PUBLIC_APP_KEY, "service_code": "public_lighting", "lat": str(lat),
            "long": str(lon), "description": f"Lampe éteinte, appelez {NAME} au {PHONE_LOCAL}",
            "attribute[problem]": "off", "first_name": NAME, "phone": PHONE, "email": EMAIL,
        }  # fmt: skip
        headers = {"content-type": "application/x-www-form-urlencoded"}
        filed = httpx.post(
            f"{base}/open311/v2/requests.json", content=urlencode(form), headers=headers
        )
        assert filed.status_code == 200, filed.text
        rid = filed.headers["x-request-id"]
        bad = httpx.post(
            f"{base}/open311/v2/requests.json",
            content=urlencode({**form, "email": f"{NAME} {PHONE}"}), headers=headers,
        )  # fmt: skip
        assert bad.status_code == 400
        query = urlencode({"email": EMAIL, "phone": PHONE})
        httpx.get(f"{base}/open311/v2/requests.json?{query}")
        httpx.get(f"{base}/track/{EMAIL}", headers={"X-Request-ID": "trace-me-42"})
        httpx.post(f"{base}/sign-in", data={"login": EMAIL, "password": PHONE})
        scraped = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
        assert scraped.status_code == 200 and "hakama_http_requests_total" in scraped.text
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    for secret in (NAME, "661234567", "zineb", "example.ma"):
        assert secret not in err, f"{secret!r} leaked into the log"
    requests = [e for e in events if e["logger"] == "hakama.http"]
    assert len(requests) >= 5, events
    assert {"method", "path", "status", "duration_ms", "request_id"} <= set(requests[0])
    assert any(e["request_id"] == rid and e["status"] == 200 for e in requests)
    assert any(e["request_id"] == "trace-me-42" for e in requests)
    assert any(e["logger"].startswith("uvicorn") for e in events)  # uvicorn's lines too, same form
