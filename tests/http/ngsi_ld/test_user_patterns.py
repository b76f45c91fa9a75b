"""The issue's freezing requests, through the API: anonymous idPattern and `q=~=` patterns that
backtrack for seconds in Python's `re` answer at once (RE2); patterns RE2 cannot run in linear
time are BadRequestData; a query past the time limit is a 503 ProblemDetails."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient

from hakama.core.errors import TooSlow
from hakama.http.app import create_app
from hakama.http.offload import Offload
from hakama.http.problems import status_of
from tests.http.ngsi_ld.conftest import Api
from tests.http.ngsi_ld.test_entities_api import sensor

BASE = "/ngsi-ld/v1"
LONG_ID = "urn:ngsi-ld:Thing:" + "a" * 40


def seed(api: Api) -> None:
    for n in (1, 2):
        assert (
            api.client.post(f"{BASE}/entities", json=sensor(n), headers=api.province).status_code
            == 201
        )
    thing = {
        "id": LONG_ID,
        "type": "Thing",
        "label": {"type": "Property", "value": "a" * 3000 + "!"},
    }
    assert api.client.post(f"{BASE}/entities", json=thing, headers=api.province).status_code == 201


def test_the_issues_patterns_answer_and_mean_what_they_say(sqlite_api: Api) -> None:
    seed(sqlite_api)
    c = sqlite_api.client
    frozen = c.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": "^(?:.|.){25}Z"})
    assert frozen.status_code == 200 and frozen.json() == []
    found = c.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": "^(?:.|.){58}$"})
    assert [e["id"] for e in found.json()] == [LONG_ID]
    q = c.get(f"{BASE}/entities", params={"type": "Thing", "q": 'label~="(a+)+$"'})
    assert q.status_code == 200 and q.json() == []
    q = c.get(f"{BASE}/entities", params={"type": "Thing", "q": 'label~="(a+)+!$"'})
    assert [e["id"] for e in q.json()] == [LONG_ID]
    batch = c.post(
        f"{BASE}/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "AirQualityObserved", "idPattern": "(.*s){12}1$"}],
        },
    )
    assert batch.status_code == 200 and batch.json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"type": "Thing", "idPattern": "(a)\\1"},
        {"type": "Thing", "idPattern": "urn(?=:)"},
        {"type": "Thing", "q": 'label~="(?<=a)b"'},
    ],
)
def test_patterns_beyond_linear_time_are_bad_request_data(
    sqlite_api: Api, params: dict[str, str]
) -> None:
    r = sqlite_api.client.get(f"{BASE}/entities", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "linear time" in r.json()["detail"]


def test_temporal_and_subscriptions_refuse_them_too(sqlite_api: Api) -> None:
    c = sqlite_api.client
    r = c.get(f"{BASE}/temporal/entities", params={"type": "Thing", "idPattern": "(a)\\1"})
    assert r.status_code == 400 and "linear time" in r.json()["detail"]
    sub = {
        "type": "Subscription",
        "entities": [{"type": "Thing", "idPattern": "a(?!b)"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
    }
    r = c.post(f"{BASE}/subscriptions", json=sub, headers=sqlite_api.province)
    assert r.status_code == 400 and "linear time" in r.json()["detail"], r.text


def test_a_query_past_the_time_limit_is_a_503_problem(sqlite_api: Api) -> None:
    seed(sqlite_api)
    settings = sqlite_api.platform.settings.model_copy(update={"query_time_limit_seconds": 1e-9})
    app = create_app(settings, platform=sqlite_api.platform, background=False)
    with TestClient(app) as client:
        r = client.get(f"{BASE}/entities", params={"type": "Thing", "idPattern": ".*"})
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/TooComplexQuery"
        assert "longer than" in r.json()["detail"]
        assert client.get("/health").status_code == 200  # the server itself is fine


def test_offload_runs_a_few_at_a_time_and_stops_waiting() -> None:
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def work() -> str:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "done"

    async def scenario() -> tuple[list[str], BaseException | str]:
        offload = Offload(concurrency=2, time_limit=30)
        done = await asyncio.gather(*(offload.run(work) for _ in range(10)))
        slow = Offload(concurrency=1, time_limit=0.1)
        try:
            outcome: BaseException | str = await slow.run(time.sleep, 3)
        except TooSlow as exc:
            outcome = exc
        return done, outcome

    done, outcome = asyncio.run(scenario())
    assert done == ["done"] * 10 and running[1] == 2
    assert isinstance(outcome, TooSlow) and status_of(outcome) == 503
