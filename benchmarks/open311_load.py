"""Open311 under concurrent load on loopback, and the GET list over 10⁶ stored requests.

A real server (uvicorn, one process) serves hakama over a database holding `--rows` requests
filed in the last 80 days (all inside Open311's default 90-day window). The same process also
serves a bare FastAPI endpoint that runs the same SELECT on the same table and returns the
same rows as JSON, with nothing of hakama around it (no auth middleware, visibility rules or
spec formatting): the ratio says what hakama's layers cost. Measured, with `--concurrency`
clients: p50/p99 latency of POST requests.json and GET requests/{id}.json, and the throughput
of GET requests.json (1000 rows a page) against the bare endpoint. Usage:

    python benchmarks/open311_load.py [--rows 1000000] [--engine sqlite|postgresql] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from _report import report
from shapely.geometry import shape

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import request_types, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.schema_requests import service_requests

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASE_ROWS = 100_000
WINDOW = timedelta(days=90)
FIELDS = (
    "id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "department",
    "requested_at",
    "updated_at",
    "expected_at",
    "address",
    "address_id",
    "lat",
    "lon",
    "media",
)


# The server side (runs in the uvicorn process) -------------------------------------------------


def make_app() -> Any:
    """hakama's app plus `/bare/requests`: the same read with nothing around it."""
    from fastapi.responses import Response

    from hakama.http.app import create_app

    settings = Settings()
    platform = Platform.open(settings, migrate=False)
    app = create_app(settings, platform=platform, background=False)
    t = service_requests
    columns = [t.c[name] for name in FIELDS]

    def bare(status: str | None = None, service_code: str | None = None) -> Response:
        end = datetime.now(UTC)
        query = sa.select(*columns).where(t.c.requested_at >= end - WINDOW, t.c.requested_at <= end)
        if status == "open":
            query = query.where(t.c.status.in_(["open", "acknowledged", "in_progress"]))
        if service_code:
            query = query.where(t.c.service_code == service_code)
        query = query.order_by(t.c.requested_at.desc(), t.c.id).limit(1000)
        with platform.db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        body = json.dumps(
            rows, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)
        )
        return Response(body, media_type="application/json")

    app.add_api_route("/bare/requests", bare, methods=["GET"])
    return app


# Set-up ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(platform: Platform, rows: int, seed: int = 7) -> list[str]:
    """Store `rows` requests (a base batch, then copied in SQL with new ids); returns some ids."""
    areas = demo_areas()
    operator = system_actor("bench")
    territory.save_areas(platform, areas, actor=operator)
    services = catalogue_for(areas)
    request_types.save_services(platform, services, actor=operator)
    communes = [a for a in areas if a.level.value == "commune"]
    codes = sorted({s.code for s in services})
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    base = min(rows, BASE_ROWS)
    ages = rng.uniform(0, 80 * 86400, base)
    statuses = rng.choice(
        ["open", "acknowledged", "in_progress", "resolved", "closed"],
        base,
        p=[0.15, 0.1, 0.15, 0.2, 0.4],
    )
    area_idx = rng.integers(0, len(communes), base)
    code_idx = rng.integers(0, len(codes), base)
    points = {a.code: shape(a.geometry).representative_point() for a in communes}
    batch: list[dict[str, Any]] = []
    t = service_requests
    with platform.db.begin() as conn:
        for i in range(base):
            at = now - timedelta(seconds=float(ages[i]))
            area = communes[int(area_idx[i])].code
            point = points[area]
            batch.append(
                {
                    "id": f"b{i:07d}",
                    "area_code": area,
                    "service_code": codes[int(code_idx[i])],
                    "service_name": codes[int(code_idx[i])],
                    "category": codes[int(code_idx[i])],
                    "status": str(statuses[i]),
                    "description": "",
                    "lat": point.y,
                    "lon": point.x,
                    "address": "",
                    "address_id": "",
                    "attributes": {},
                    "media": [],
                    "language": "fr",
                    "channel": "web",
                    "requested_at": at,
                    "updated_at": at,
                    "expected_at": at + timedelta(hours=72),
                    "status_notes": "",
                    "department": "",
                    "assignee": "",
                    "reopened": 0,
                }
            )
            if len(batch) == 10_000:
                conn.execute(t.insert(), batch)
                batch = []
        if batch:
            conn.execute(t.insert(), batch)
        copies = (rows - base + base - 1) // base
        names = [c.name for c in t.columns if c.name != "id"]
        cols = ", ".join(names)
        for k in range(1, copies + 1):
            limit = min(base, rows - k * base)
            conn.execute(
                sa.text(
                    f"INSERT INTO service_requests (id, {cols}) SELECT id || '-{k}', {cols} "
                    f"FROM service_requests WHERE id NOT LIKE '%-%' ORDER BY id LIMIT {limit}"
                )
            )
    # Fresh statistics, as autovacuum (PostgreSQL) or `ANALYZE` after an import would give.
    with platform.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            sa.text("ANALYZE service_requests" if conn.dialect.name == "postgresql" else "ANALYZE")
        )
    return [f"b{i:07d}" for i in rng.integers(0, base, 2000)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def load(
    client: httpx.AsyncClient, make: Any, total: int, concurrency: int
) -> tuple[list[float], float, int, int]:
    """Run `total` calls with `concurrency` workers; (latencies ms, seconds, failures, rows)."""
    latencies: list[float] = []
    failures = 0
    rows = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal failures, rows
        for i in counter:
            method, url, kwargs = make(i)
            t0 = time.perf_counter()
            response = await client.request(method, url, **kwargs)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                failures += 1
            elif method == "GET" and "requests" in url and "/requests/" not in url:
                rows += len(response.json())

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0, failures, rows


async def measure(
    base_url: str, ids: list[str], points: list[tuple[float, float]], args: Any
) -> list[dict[str, Any]]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        form = {"content-type": "application/x-www-form-urlencoded"}

        def post(i: int) -> tuple[str, str, dict[str, Any]]:
            lon, lat = points[i % len(points)]
            body = (
                f"api_key=hakama-citizen-app&service_code=waste&lat={lat}&long={lon}"
                f"&attribute%5Bproblem%5D=not_collected&description=bench+{i}"
            )
            return "POST", "/open311/v2/requests.json", {"content": body, "headers": form}

        def get_one(i: int) -> tuple[str, str, dict[str, Any]]:
            return "GET", f"/open311/v2/requests/{ids[i % len(ids)]}.json", {}

        def fixed(url: str) -> Any:
            return lambda _i: ("GET", url, {})

        plan = [
            ("POST requests.json", post, args.posts, args.concurrency),
            ("GET requests/{id}.json", get_one, args.gets, args.concurrency),
            ("GET requests.json (list)", fixed("/open311/v2/requests.json"), args.lists, 4),
            ("bare FastAPI, same read", fixed("/bare/requests"), args.lists, 4),
            (
                "GET requests.json?status=open&service_code=waste",
                fixed("/open311/v2/requests.json?status=open&service_code=waste"),
                args.lists,
                4,
            ),
            (
                "bare FastAPI, same filtered read",
                fixed("/bare/requests?status=open&service_code=waste"),
                args.lists,
                4,
            ),
        ]
        await load(client, get_one, 50, 4)  # warm-up: connections, caches
        await load(client, fixed("/open311/v2/requests.json"), 2, 1)
        await load(client, fixed("/bare/requests"), 2, 1)
        out = []
        for name, make, total, conc in plan:
            latencies, seconds, failures, rows = await load(client, make, total, conc)
            out.append(
                {
                    "operation": name,
                    "calls": total,
                    "concurrency": conc,
                    "failures": failures,
                    "p50_ms": percentile(latencies, 50),
                    "p99_ms": percentile(latencies, 99),
                    "calls_per_s": total / seconds,
                    "rows_per_s": rows / seconds if rows else None,
                }
            )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--lists", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, fewer calls")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.posts, args.gets, args.lists = 100_000, 200, 500, 10
    workdir = Path(tempfile.mkdtemp(prefix="hakama-bench-"))
    pg_name = None
    url = None
    if args.engine == "postgresql":
        pg_name = f"hakama_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{pg_name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name
    settings = Settings(data_dir=workdir, database_url=url, environment="test")
    server = None
    try:
        platform = Platform.open(settings)
        t0 = time.perf_counter()
        ids = fill(platform, args.rows)
        fill_seconds = time.perf_counter() - t0
        with platform.db.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(service_requests)
            ).scalar_one()
        points = [
            (p.x, p.y)
            for p in (
                shape(a.geometry).representative_point()
                for a in demo_areas()
                if a.level.value == "commune"
            )
        ]
        platform.close()
        port = free_port()
        env = {**os.environ, "HAKAMA_DATA_DIR": str(workdir), "HAKAMA_ENVIRONMENT": "test"}
        if url:
            env["HAKAMA_DATABASE_URL"] = url
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "open311_load:make_app",
                "--app-dir",
                str(Path(__file__).parent),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base_url}/open311/v2/discovery.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        random.seed(1)
        rows = asyncio.run(measure(base_url, ids, points, args))
        by_name = {r["operation"]: r for r in rows}
        ratio = (
            by_name["GET requests.json (list)"]["rows_per_s"]
            / by_name["bare FastAPI, same read"]["rows_per_s"]
        )
        ratio_filtered = (
            by_name["GET requests.json?status=open&service_code=waste"]["rows_per_s"]
            / by_name["bare FastAPI, same filtered read"]["rows_per_s"]
        )
        report(
            f"open311_load_{args.engine}",
            rows,
            engine=args.engine,
            stored_requests=int(stored),
            fill_seconds=round(fill_seconds, 1),
            list_throughput_ratio_vs_bare=round(ratio, 3),
            filtered_list_throughput_ratio_vs_bare=round(ratio_filtered, 3),
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        if pg_name:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
