"""Latency of the NGSI-LD API under concurrent load, from a second process on loopback.

A real `uvicorn` server (one worker, its own process) serves a data folder holding the demo
territory and `--entities` air-quality sensors placed across its communes. This process is the
load generator: for each `--concurrency` value, that many asyncio clients (httpx, keep-alive) send a bounded number of
requests (`--requests` per scenario, at most `--seconds`), and the latency of every request
is recorded. Scenarios: GET one entity by id; a `q=` + geo query (`pm25>30` within 10 km of a
point). Prints p50/p90/p99 and throughput, writes results/ngsi_latency.json.

    python benchmarks/ngsi_latency.py [--entities 2000] [--concurrency 32] [--requests 3000]
        [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _report import report

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import entities, territory
from hakama.services.platform import Platform
from hakama.settings import Settings

SERVER = """
import sys, uvicorn
from pathlib import Path
from hakama.http.app import create_app
from hakama.settings import Settings
settings = Settings(data_dir=Path(sys.argv[1]), environment="test")
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
if workers == 1:
    uvicorn.run(create_app(settings, background=False), host="127.0.0.1", port=int(sys.argv[2]),
                log_level="warning", access_log=False)
else:  # what `hakama serve --workers N` runs: the factory, one app per forked worker
    import os
    os.environ.update(HAKAMA_DATA_DIR=sys.argv[1], HAKAMA_ENVIRONMENT="test", HAKAMA_LOG_LEVEL="WARNING")
    uvicorn.run("hakama.http.asgi:application", factory=True, workers=workers,
                host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""
CENTRE = (-2.32, 34.92)  # a point in the province


def start_server(data: Path, port: int, ready: str, workers: int = 1) -> subprocess.Popen[bytes]:
    """`SERVER` over `data` on `port` (`workers` processes), once `GET ready` answers 200 (or
    503: up, degraded)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data), str(port), str(workers)], env=env
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code in (200, 503):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prepare(data: Path, count: int, seed: int = 3) -> list[str]:
    """The demo territory and `count` sensors with a location and a pm25 reading."""
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    try:
        actor = system_actor("bench")
        territory.save_areas(platform, demo_areas(), actor=actor)
        rng = random.Random(seed)
        minx, miny, maxx, maxy = territory.leaf_index(platform).bounds()
        bodies: list[dict[str, Any]] = []
        for i in range(count):
            lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            bodies.append(
                {
                    "id": f"urn:ngsi-ld:AirQualityObserved:bench-{i:05d}",
                    "type": "AirQualityObserved",
                    "pm25": {
                        "type": "Property",
                        "value": round(rng.gammavariate(2, 12), 1),
                        "unitCode": "GQ",
                    },
                    "location": {
                        "type": "GeoProperty",
                        "value": {"type": "Point", "coordinates": [lon, lat]},
                    },
                }
            )
        for start in range(0, count, 500):
            result = entities.batch_upsert(platform, bodies[start : start + 500], actor=actor)
            if result.errors:
                raise SystemExit(f"could not create the sensors: {result.errors[0].error}")
        return [b["id"] for b in bodies]
    finally:
        platform.close()


async def load(
    base: str, make_path: Any, *, concurrency: int, requests: int, seconds: float
) -> dict[str, Any]:
    """Send `requests` requests from `concurrency` clients; latencies of those answered 200."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal sent, errors
            while sent < requests and time.monotonic() < deadline:
                sent += 1
                path = make_path()
                t0 = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - t0
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "p50_ms": round(pct(0.50), 2),
        "p90_ms": round(pct(0.90), 2),
        "p99_ms": round(pct(0.99), 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else 0.0,
        "req_per_s": round((len(latencies) + errors) / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument(
        "--concurrency", default="1,32", help="comma-separated client counts, each a run"
    )
    parser.add_argument("--requests", type=int, default=3000, help="per scenario")
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario, at most")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (hakama serve --workers N)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hakama-bench-latency-"))
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        ids = prepare(folder / "data", args.entities)
        server = start_server(folder / "data", port, f"/ngsi-ld/v1/entities/{ids[0]}", args.workers)
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(5)
        near = (
            "/ngsi-ld/v1/entities?type=AirQualityObserved&q=pm25%3E30"
            "&georel=near%3BmaxDistance%3D%3D10000&geometry=Point"
            f"&coordinates=%5B{CENTRE[0]}%2C{CENTRE[1]}%5D&limit=100"
        )
        scenarios = {
            "GET /entities/{id}": lambda: f"/ngsi-ld/v1/entities/{rng.choice(ids)}",
            "GET /entities?q=pm25>30&georel=near (10 km)": lambda: near,
        }
        sample = httpx.get(base + near, timeout=30).json()
        rows = []
        for clients in (int(c) for c in args.concurrency.split(",")):
            for name, make in scenarios.items():
                result = asyncio.run(
                    load(
                        base,
                        make,
                        concurrency=clients,
                        requests=args.requests,
                        seconds=args.seconds,
                    )
                )
                rows.append({"scenario": name, "clients": clients, **result})
        report(
            "ngsi_latency",
            rows,
            entities=args.entities,
            concurrency=args.concurrency,
            geo_query_matches=len(sample),
            load_average_1m=round(os.getloadavg()[0], 2),  # other work on the machine skews figures
            workers=args.workers,
            server=f"uvicorn, {args.workers} worker(s), SQLite, separate process; "
            "load from this process on loopback",
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
