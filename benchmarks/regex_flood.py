"""Does a flood of adversarial regular expressions freeze the server? `/health` latency while
50 clients send patterns that backtrack exponentially in Python's `re`.

A real `uvicorn` server (one worker, its own process) serves the demo territory and
`--entities` sensors. A prober GETs `/health` every 20 ms; first alone (the baseline, same run),
then while `--clients` anonymous clients, in a process of their own (so the prober's timings
are not the attackers' event loop), each loop without pause on NGSI-LD queries with an
adversarial `idPattern` or `q=attr~="…"` (the issue's `^(?:.|.){25}Z`, `(a+)+$` and friends).
They ignore `Retry-After`, as an attacker would. The bar (issue 10): `/health` p99 < 100 ms
under the flood. Prints the table and the ratio of the p99s, writes results/regex_flood.json.

    python benchmarks/regex_flood.py [--entities 2000] [--clients 50] [--seconds 20] [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _report import report
from ngsi_latency import free_port, prepare, start_server

PATTERNS: list[dict[str, str]] = [
    {"type": "AirQualityObserved", "idPattern": "^(?:.|.){25}Z"},
    {"type": "AirQualityObserved", "idPattern": "^(?:.|.){30}Z"},
    {"type": "AirQualityObserved", "idPattern": "(.*a){20}$"},
    {"type": "AirQualityObserved", "idPattern": "^(\\w+\\W?)*$#"},
    {"type": "AirQualityObserved", "q": 'name~="(a+)+$"'},
    {"type": "AirQualityObserved", "q": 'id~="(.|.)*Z"'},
    {"type": "AirQualityObserved", "q": 'pm25~="((\\d+)+)+x"'},
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


async def probe(base: str, seconds: float) -> tuple[list[float], Counter[int]]:
    """GET /health every 20 ms for `seconds`; the latencies and statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            response = await client.get("/health")
            latencies.append(time.perf_counter() - t0)
            statuses[response.status_code] += 1
            await asyncio.sleep(0.02)
    return latencies, statuses


async def attack(base: str, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` loops of adversarial queries for `seconds` (run in a process of its own)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(n: int) -> None:
            i = n
            while time.perf_counter() < end:
                params = PATTERNS[i % len(PATTERNS)]
                i += 1
                t0 = time.perf_counter()
                response = await client.get("/ngsi-ld/v1/entities?" + urlencode(params))
                latencies.append(time.perf_counter() - t0)
                statuses[response.status_code] += 1

        await asyncio.gather(*(one(n) for n in range(clients)))
    return {
        "pattern_requests": len(latencies),
        "pattern_p50_ms": round(pct(latencies, 0.5), 1),
        "pattern_p99_ms": round(pct(latencies, 0.99), 1),
        "pattern_statuses": dict(sorted(statuses.items())),
    }


def phase(base: str, *, clients: int, seconds: float) -> dict[str, Any]:
    attacker: subprocess.Popen[str] | None = None
    if clients:
        attacker = subprocess.Popen(
            [sys.executable, __file__, "--attack", base, str(clients), str(seconds + 2)],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)  # let the flood build up before probing
    health, statuses = asyncio.run(probe(base, seconds))
    row: dict[str, Any] = {
        "clients": clients,
        "health_probes": len(health),
        "health_p50_ms": round(pct(health, 0.5), 2),
        "health_p99_ms": round(pct(health, 0.99), 2),
        "health_max_ms": round(pct(health, 1.0), 2),
        "health_statuses": dict(sorted(statuses.items())),
    }
    if attacker is not None:
        out, _ = attacker.communicate(timeout=seconds + 180)
        row.update(json.loads(out))
    else:
        row.update(pattern_requests=0, pattern_p50_ms=None, pattern_p99_ms=None)
        row["pattern_statuses"] = {}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--attack", nargs=3, help=argparse.SUPPRESS)  # BASE CLIENTS SECONDS
    args = parser.parse_args()
    if args.attack:
        base, clients, seconds = args.attack
        print(json.dumps(asyncio.run(attack(base, int(clients), float(seconds)))))
        return
    folder = Path(tempfile.mkdtemp(prefix="hakama-bench-regex-"))
    port = args.port or free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        prepare(folder / "data", args.entities)
        server = start_server(folder / "data", port, "/health")
        base = f"http://127.0.0.1:{port}"
        baseline = phase(base, clients=0, seconds=min(args.seconds, 10))
        flood = phase(base, clients=args.clients, seconds=args.seconds)
        rows = [{"phase": "baseline (no load)", **baseline}, {"phase": "pattern flood", **flood}]
        ratio = flood["health_p99_ms"] / max(baseline["health_p99_ms"], 0.001)
        report(
            "regex_flood",
            rows,
            entities=args.entities,
            health_p99_ratio_flood_vs_baseline=round(ratio, 2),
            bar="health p99 < 100 ms under the flood",
            meets_bar=flood["health_p99_ms"] < 100,
            load_average_1m=round(os.getloadavg()[0], 2),
            server="uvicorn, 1 worker, SQLite, separate process; attackers in another process",
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
