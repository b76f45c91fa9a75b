"""Locust scenarios of a working day on hakama: citizens filing and tracking requests, agents
working their commune's queue, devices posting readings, people reading the dashboards.

Run by benchmarks/load_mixed.py (which builds a demo, starts a server and writes the table), or
by hand against any hakama:

    HAKAMA_LOAD_SETUP=setup.json locust -f benchmarks/locust_mixed.py --host http://127.0.0.1:8000

`setup.json` holds what the scenarios need from the server: {"agent_key", "device_key",
"commune", "points": [[lon, lat], ...], "services": [...], "indicators": [...]}.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

SETUP: dict[str, Any] = json.loads(Path(os.environ["HAKAMA_LOAD_SETUP"]).read_text())
CITIZEN_KEY = "hakama-citizen-app"
STEPS = (
    ("acknowledged", "Pris en charge"),
    ("in_progress", "Équipe envoyée"),
    ("resolved", "Réparé"),
)


class Citizen(HttpUser):
    """Files a request from a phone, then follows it; browses the public list."""

    weight = 5
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.filed: list[str] = []

    @task(2)
    def file_request(self) -> None:
        lon, lat = random.choice(SETUP["points"])
        service = random.choice(SETUP["services"])
        form = {
            **service["fields"],
            "api_key": CITIZEN_KEY,
            "service_code": service["code"],
            "lat": f"{lat + random.uniform(-0.002, 0.002):.6f}",
            "long": f"{lon + random.uniform(-0.002, 0.002):.6f}",
            "description": "Lampadaire en panne devant l'école (load test)",
        }
        with self.client.post(
            "/open311/v2/requests.json",
            data=form,
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name="citizen: file a request",
            catch_response=True,
        ) as answer:
            if answer.status_code in (200, 201):
                self.filed.append(answer.json()[0]["service_request_id"])
            else:
                answer.failure(f"{answer.status_code} {answer.text[:120]}")

    @task(4)
    def track(self) -> None:
        if self.filed:
            number = random.choice(self.filed)
            self.client.get(f"/open311/v2/requests/{number}.json", name="citizen: track one")

    @task(1)
    def public_list(self) -> None:
        self.client.get(
            f"/requests?page={random.randint(1, 5)}",
            headers={"Accept": "text/html"},
            name="citizen: public list page",
        )


class Agent(HttpUser):
    """Works the commune's queue through the Open311 API with the commune's key."""

    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = SETUP["agent_key"]

    @task(3)
    def queue(self) -> None:
        self.client.get(
            f"/open311/v2/requests.json?status=open&jurisdiction_id={SETUP['commune']}",
            name="agent: the open queue",
        )

    @task(1)
    def move_on(self) -> None:
        """Takes an open request one step further: acknowledged, then in progress, then
        resolved. Open311 shows all three as `open`, so the agent tries them in order; the
        server's 400 "cannot become" for a step already taken (by this agent or another) is
        the expected answer, not a failure."""
        answer = self.client.get(
            f"/open311/v2/requests.json?status=open&jurisdiction_id={SETUP['commune']}",
            name="agent: the open queue",
        )
        rows = answer.json() if answer.status_code == 200 else []
        if not rows:
            return
        number = random.choice(rows)["service_request_id"]
        for status, words in STEPS:
            with self.client.post(
                f"/open311/v2/requests/{number}/updates.json",
                data={"status": status, "description": words, "public": "true"},
                name="agent: move a request on",
                catch_response=True,
            ) as done:
                if done.status_code == 200:
                    return
                if done.status_code in (400, 409) and "cannot become" in done.text:
                    done.success()  # that step was taken already: try the next one
                    continue
                done.failure(f"{done.status_code} {done.text[:120]}")
                return


class Device(HttpUser):
    """A gateway upserting a batch of air-quality readings over NGSI-LD."""

    weight = 3
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {SETUP['device_key']}"
        self.gateway = uuid.uuid4().hex[:8]

    @task
    def post_readings(self) -> None:
        lon, lat = random.choice(SETUP["points"])
        batch = [
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:load-{self.gateway}-{n}",
                "type": "AirQualityObserved",
                "pm25": {"type": "Property", "value": round(random.uniform(5, 80), 1)},
                "no2": {"type": "Property", "value": round(random.uniform(5, 120), 1)},
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [lon, lat]},
                },
            }
            for n in range(10)
        ]
        self.client.post(
            "/ngsi-ld/v1/entityOperations/upsert",
            json=batch,
            name="device: upsert 10 entities",
        )


class Reader(HttpUser):
    """Someone reading the public dashboards and the indicator API."""

    weight = 3
    wait_time = between(1, 4)

    @task(2)
    def dashboards(self) -> None:
        self.client.get("/dashboards", headers={"Accept": "text/html"}, name="reader: /dashboards")

    @task(2)
    def indicator_page(self) -> None:
        indicator = random.choice(SETUP["indicators"])
        self.client.get(
            f"/dashboards/{indicator}",
            headers={"Accept": "text/html"},
            name="reader: an indicator page",
        )

    @task(1)
    def series(self) -> None:
        indicator = random.choice(SETUP["indicators"])
        self.client.get(f"/api/indicators/{indicator}/series", name="reader: series API")
