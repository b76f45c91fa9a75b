"""The limits on heavy queries answer with problems, not with a frozen server: a full queue is
an immediate 503 with `Retry-After`, a query past its time limit a 503, and a scan whose caller
gave up stops at its next check. None of these tests depends on timing: the pool is held busy
by a function that waits on an event."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from hakama.core import deadline
from hakama.core.errors import TooSlow
from hakama.http.app import create_app
from hakama.services import entities
from tests.http.ngsi_ld.conftest import Api
from tests.http.ngsi_ld.test_user_patterns import seed

BASE = "/ngsi-ld/v1"
TOO_COMPLEX = "https://uri.etsi.org/ngsi-ld/errors/TooComplexQuery"


def test_a_full_queue_answers_503_with_retry_after_and_health_stays_up(sqlite_api: Api) -> None:
    seed(sqlite_api)
    settings = sqlite_api.platform.settings.model_copy(
        update={"query_concurrency": 1, "query_queue": 0, "query_time_limit_seconds": 60}
    )
    app = create_app(settings, platform=sqlite_api.platform, background=False)
    release = threading.Event()
    with TestClient(app) as client:
        held = client.portal.start_task_soon(app.state.offload.run, release.wait, 30)
        try:
            for _ in range(200):  # until the worker has taken the held call
                if app.state.offload.busy():
                    break
                release.wait(0.01)
            assert app.state.offload.busy()
            r = client.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": "^a+$"})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/")
            assert r.headers["retry-after"] == "5"
            body = r.json()
            assert body["type"] == TOO_COMPLEX and "busy" in body["detail"]
            health = client.get("/health")  # never behind the heavy queries' pool
            assert health.status_code == 200 and health.json()["status"] == "ok"
        finally:
            release.set()
        assert held.result(timeout=30) is True
        # the worker is free again: the same query is answered
        r = client.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": "^urn.*$"})
        assert r.status_code == 200 and [e["type"] for e in r.json()] == ["Thing"]


def test_past_the_time_limit_is_a_503_problem_with_retry_after(sqlite_api: Api) -> None:
    seed(sqlite_api)
    settings = sqlite_api.platform.settings.model_copy(update={"query_time_limit_seconds": 1e-9})
    app = create_app(settings, platform=sqlite_api.platform, background=False)
    with TestClient(app) as client:
        r = client.get(f"{BASE}/entities", params={"type": "Thing", "q": 'label~="(a+)+$"'})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5" and r.json()["type"] == TOO_COMPLEX


def test_a_bad_pattern_is_a_400_problem_not_a_wait(sqlite_api: Api) -> None:
    r = sqlite_api.client.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": "(a)\\1"})
    assert r.status_code == 400
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "retry-after" not in r.headers


def test_a_scan_stops_at_its_deadline(sqlite_api: Api) -> None:
    seed(sqlite_api)
    with deadline.within(0), pytest.raises(TooSlow):
        entities.query(sqlite_api.platform, id_pattern="^nothing$")
    # without a deadline, or within one, the same scan answers
    assert entities.query(sqlite_api.platform, id_pattern="^nothing$").entities == []
    with deadline.within(60):
        found = entities.query(sqlite_api.platform, id_pattern="^urn.*$")
    assert len(found.entities) == 3
