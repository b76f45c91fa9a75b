"""HTTP ingest: durable observations per second through NGSI-LD batch upsert
(`POST /ngsi-ld/v1/entityOperations/upsert?options=update`), against a baseline measured in the
same run (the same observations staged straight into the same storage with
`observations.stage` in one transaction, no HTTP and no API).

The real server (`hakama serve`, uvicorn, background jobs on: the lake flusher runs) is started
in its own process on a free port; the client posts from this process with `--clients`
concurrent connections. Each request carries `--entities` entities × `--attrs` numeric
attributes with their `observedAt`; an observation counts when its response (2xx) came back,
i.e. after the commit. Usage:
    python benchmarks/ingest_http.py [--observations 200000] [--entities 500] [--attrs 10]
        [--clients 2] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _ingest_setup import drop_database, free_port, open_platform, province_key
from _report import report

from hakama.core.observations import Observation
from hakama.services import observations

T0 = datetime(2026, 3, 1, tzinfo=UTC)
COMMUNE_POINT = [-2.32, 34.92]


def body(request_no: int, entities: int, attrs: int) -> list[dict[str, Any]]:
    at = (T0 + timedelta(seconds=request_no)).isoformat().replace("+00:00", "Z")
    out = []
    for e in range(entities):
        entity: dict[str, Any] = {"id": f"urn:ngsi-ld:Sensor:bench-{e}", "type": "Sensor"}
        for a in range(attrs):
            entity[f"m{a}"] = {
                "type": "Property",
                "value": float((request_no * 7 + e + a) % 1000),
                "observedAt": at,
                "unitCode": "C62",
            }
        out.append(entity)
    return out


def baseline(platform: Any, n: int, entities: int, attrs: int) -> float:
    per_request = entities * attrs
    rows = []
    for i in range(n):
        r, rest = divmod(i, per_request)
        e, a = divmod(rest, attrs)
        rows.append(
            Observation(
                T0 + timedelta(days=300, seconds=r),
                f"urn:ngsi-ld:Sensor:base-{e}",
                "Sensor",
                f"m{a}",
                float(i % 1000),
                None,
                "C62",
                "02.113.01.09",
                "http",
            )
        )
    t = time.perf_counter()
    with platform.db.begin() as conn:
        observations.stage(conn, rows)
    return n / (time.perf_counter() - t)


def serve(data_dir: Path, database_url: str | None, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HAKAMA_ENVIRONMENT": "test"}
    if database_url:
        env["HAKAMA_DATABASE_URL"] = database_url
    env.pop("HAKAMA_MQTT_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hakama.cli.main",
            "--data-dir",
            str(data_dir),
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("hakama serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--attrs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    per_request = args.entities * args.attrs
    requests = max(1, args.observations // per_request)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform, db_name = open_platform(folder, args.engine)
        token = province_key(platform).token
        base = baseline(platform, requests * per_request, args.entities, args.attrs)
        url = platform.settings.database_url
        platform.close()
        port = free_port()
        server = serve(folder / "data", url, port)
        try:
            bodies = [body(i, args.entities, args.attrs) for i in range(requests + 1)]
            headers = {"X-API-Key": token, "Content-Type": "application/json"}
            endpoint = f"http://127.0.0.1:{port}/ngsi-ld/v1/entityOperations/upsert?options=update"
            with httpx.Client(timeout=300) as warm:  # creates the entities: not timed
                first = warm.post(endpoint, json=bodies[0], headers=headers)
                assert first.status_code in (201, 204), first.text[:500]

            def send(i: int) -> int:
                with httpx.Client(timeout=300) as client:
                    response = client.post(endpoint, json=bodies[i], headers=headers)
                    assert response.status_code in (201, 204), response.text[:500]
                    return per_request

            t = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                done = sum(pool.map(send, range(1, requests + 1)))
            seconds = time.perf_counter() - t
        finally:
            server.terminate()
            server.wait(timeout=30)
            drop_database(db_name)
    rate = done / seconds
    rows = [
        {
            "path": "baseline: observations.stage, one transaction",
            "observations": requests * per_request,
            "seconds": round(requests * per_request / base, 2),
            "per_second": base,
            "vs_baseline": 1.0,
        },
        {
            "path": f"HTTP NGSI-LD batch upsert ({args.entities} entities × {args.attrs} attrs per request, {args.clients} clients)",
            "observations": done,
            "seconds": round(seconds, 2),
            "per_second": rate,
            "vs_baseline": round(rate / base, 3),
        },
    ]
    report(
        f"ingest_http_{args.engine}",
        rows,
        engine=args.engine,
        requests=requests,
        aim_observations_per_second=50_000,
    )


if __name__ == "__main__":
    main()
