"""A mixed working day under Locust: citizens, agents, devices and dashboard readers at once.

Builds a demo territory (`--scale`), serves it (one uvicorn process, SQLite, as `./run demo`),
creates an agent key and a device key, then runs two Locust phases with the same number of
users: a baseline where every user only asks `/health` (what the server does with nothing to
do), and the mix of benchmarks/locust_mixed.py. The table gives each scenario's throughput and
latency; the ratio compares the mix with the baseline of the same run. Needs Locust
(`pip install locust`, not a dependency of hakama). Usage:

    python benchmarks/load_mixed.py [--scale 0.05] [--users 50] [--seconds 60] [--port 8093]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _report import report
from shapely.geometry import shape

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def hakama(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "hakama"), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def new_key(env: dict[str, str], name: str, area: str, scope: str) -> str:
    out = hakama(env, "keys", "create", name, "--role", "agent", "--area", area, "--scope", scope)
    found = re.search(r"\bhk_[A-Za-z0-9_-]+", out)
    if found is None:
        raise SystemExit(f"no key in: {out}")
    return found.group(0)


def wait_up(url: str, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


def setup(url: str, env: dict[str, str], where: Path) -> Path:
    territory = httpx.get(f"{url}/api/territory", params={"format": "geojson"}, timeout=30).json()
    areas = [(f["properties"]["code"], shape(f["geometry"])) for f in territory["features"] if f.get("geometry")]
    depth = max(code.count(".") for code, _ in areas)
    communes = [(code, geometry) for code, geometry in areas if code.count(".") == depth]
    province = min((code for code, _ in areas), key=len)
    points = [list(geometry.representative_point().coords[0]) for _, geometry in communes]
    listed_services = httpx.get(f"{url}/open311/v2/services.json", timeout=30).json()
    services = [answers(url, s) for s in listed_services]
    listed = httpx.get(f"{url}/api/indicators", timeout=30).json()
    indicators = [i["id"] for i in (listed["indicators"] if isinstance(listed, dict) else listed)]
    commune = communes[0][0]
    body = {
        "agent_key": new_key(env, "load-agent", commune, "work_requests"),
        "device_key": new_key(env, "load-device", province, "write_data"),
        "commune": commune,
        "points": points,
        "services": services,
        "indicators": indicators[:8],
    }
    out = where / "setup.json"
    out.write_text(json.dumps(body))
    return out


def answers(url: str, service: dict[str, Any]) -> dict[str, Any]:
    """A service and the form fields that answer its required questions (Open311's
    `attribute[code]`), as a citizen's form would send them: the first choice of a list, a
    plain word or number otherwise."""
    fields: dict[str, str] = {}
    if service.get("metadata"):
        code = service["service_code"]
        definition = httpx.get(f"{url}/open311/v2/services/{code}.json", timeout=30).json()
        for attribute in definition.get("attributes", []):
            if not attribute.get("required") or not attribute.get("variable", True):
                continue
            kind = attribute.get("datatype")
            if kind in ("singlevaluelist", "multivaluelist"):
                value = attribute["values"][0]["key"]
            elif kind == "number":
                value = "1"
            elif kind == "datetime":
                value = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            else:
                value = "test"
            fields[f"attribute[{attribute['code']}]"] = value
    return {"code": service["service_code"], "fields": fields}


BASELINE = '''
from locust import HttpUser, between, task

class Health(HttpUser):
    wait_time = between(1, 3)

    @task
    def health(self):
        self.client.get("/health", name="baseline: /health")
'''


def locust(
    file: Path, url: str, users: int, seconds: int, prefix: Path, env: dict[str, str]
) -> list[dict[str, str]]:
    subprocess.run(
        [str(BIN / "locust"), "-f", str(file), "--headless", "--host", url, "-u", str(users),
         "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--csv", str(prefix), "--only-summary"],
        env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def rows_of(stats: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "scenario": s["Name"] if s["Name"] != "Aggregated" else "ALL (mixed)",
            "requests": int(s["Request Count"]),
            "failures": int(s["Failure Count"]),
            "req/s": round(float(s["Requests/s"]), 1),
            "p50 ms": float(s["50%"]),
            "p95 ms": float(s["95%"]),
            "p99 ms": float(s["99%"]),
        }
        for s in stats
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hakama-load-"))
    env = {**os.environ, "HAKAMA_DATA_DIR": str(work / "data"), "HAKAMA_LOG_LEVEL": "WARNING"}
    print(f"building the demo (scale {args.scale}) in {work} ...", flush=True)
    hakama(env, "demo", "--no-serve", "--scale", str(args.scale))
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(BIN / "hakama"), "serve", "--port", str(args.port)],
        env=env, stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),  # noqa: SIM115 (lives as long as the server)
    )  # fmt: skip
    try:
        wait_up(url)
        env["HAKAMA_LOAD_SETUP"] = str(setup(url, env, work))
        baseline_file = work / "baseline.py"
        baseline_file.write_text(BASELINE)
        print(f"baseline: {args.users} users asking /health for {args.seconds} s ...", flush=True)
        base = locust(baseline_file, url, args.users, args.seconds, work / "baseline", env)
        print(f"mixed: {args.users} users for {args.seconds} s ...", flush=True)
        mixed = locust(HERE / "locust_mixed.py", url, args.users, args.seconds, work / "mixed", env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    base_rps = float(base[-1]["Requests/s"])
    total = mixed[-1]
    report(
        "load_mixed",
        rows_of(base[:-1]) + rows_of(mixed),
        users=args.users,
        seconds=args.seconds,
        scale=args.scale,
        mixed_requests_per_s=float(total["Requests/s"]),
        baseline_health_requests_per_s=base_rps,
        failure_ratio=round(int(total["Failure Count"]) / max(1, int(total["Request Count"])), 4),
        note="Locust users wait 0.5-5 s between tasks: req/s is what the users asked, p95/p99 "
        "what they waited; the baseline row is the same users asking /health only",
    )


if __name__ == "__main__":
    main()
