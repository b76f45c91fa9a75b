"""Incremental pull of 10^5 new records from a commune's system (a local HTTP server in its own
process), against fetching the same pages with a plain HTTP client in the same run.

The source pages its records by id (`?after_id=`, 5,000 per page, `Link: rel="next"`) behind
an API-key header. Timed:
- baseline: httpx fetches and JSON-decodes every page (the transfer, no checks, no storage);
- hakama pull: `record_sources.pull` — fetch, validate, store each page with the cursor in one
  transaction, rebuild the lake days;
- second pull: nothing new (one request; the cursor holds).
Usage:
    python benchmarks/records_pull.py [--records 100000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa
from _report import report

from hakama.core.access import system_actor
from hakama.core.territory import Area, Level
from hakama.services import record_sources, territory
from hakama.services.platform import Platform
from hakama.settings import Settings

PAGE = 5_000
SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
port, total = int(sys.argv[1]), int(sys.argv[2])
def record(i):
    return {"id": i, "file_number": f"P-{i}", "requested_at": f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}T09:00:00Z",
            "channel": "online" if i % 3 else "counter", "status": "delivered" if i % 2 else "pending",
            "delivered_at": f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}T15:00:00Z" if i % 2 else None,
            "project_kind": "housing", "floor_area_m2": 80 + i % 200, "applicant_name": "X"}
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.headers.get("X-Api-Key") != "k":
            self.send_response(401); self.end_headers(); return
        q = parse_qs(urlsplit(self.path).query)
        after = int(q.get("after_id", ["0"])[0])
        ids = range(after + 1, min(total, after + PAGE) + 1)
        body = json.dumps({"records": [record(i) for i in ids]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if ids and ids[-1] < total:
            self.send_header("Link", f'</records?after_id={ids[-1]}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)
PAGE = PAGE_SIZE
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
""".replace("PAGE_SIZE", str(PAGE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 records")
    args = parser.parse_args()
    total = 10_000 if args.quick else args.records
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(total)])
    url = f"http://127.0.0.1:{port}/records"
    pa.array(["warm"])  # pyarrow imports pandas on first use; a running server already has
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        t = time.perf_counter()
        fetched, next_url = 0, url + "?after_id=0"
        with httpx.Client(timeout=60) as client:
            while next_url:
                response = client.get(next_url, headers={"X-Api-Key": "k"})
                fetched += len(json.loads(response.content)["records"])
                link = response.headers.get("link", "")
                next_url = f"http://127.0.0.1:{port}" + link[1 : link.index(">")] if link else ""
        baseline = time.perf_counter() - t
        assert fetched == total, fetched
        with tempfile.TemporaryDirectory(prefix="hakama-bench-pull-") as tmp:
            p = Platform.open(Settings(data_dir=Path(tmp) / "data", environment="test"))
            actor = system_actor("bench")
            territory.save_areas(p, [Area("99", Level.PROVINCE, {"fr": "P"}),
                                     Area("99.01", Level.COMMUNE, {"fr": "C"}, parent_code="99")],
                                 actor=actor)  # fmt: skip
            record_sources.add_source(
                p, actor=actor, name="bench", record_type="building_permit", area_code="99.01",
                url=url, auth={"kind": "header", "name": "X-Api-Key", "value": "k"},
                cursor_field="id", cursor_param="after_id",
            )  # fmt: skip
            t = time.perf_counter()
            first = record_sources.pull(p, "bench")
            pulled = time.perf_counter() - t
            t = time.perf_counter()
            again = record_sources.pull(p, "bench")
            idle = time.perf_counter() - t
            lake_rows = p.lake.row_count("admin_records")
            p.close()
    finally:
        server.terminate()
        server.wait()
    assert first.error is None and first.inserted == total, first
    assert again.rows == 0 and lake_rows == total
    rows = [
        {"step": "httpx fetch + JSON decode (baseline)", "seconds": baseline, "records_per_s": total / baseline, "vs_baseline": 1.0},
        {"step": "hakama pull (validate, store, cursor, lake)", "seconds": pulled, "records_per_s": total / pulled,
         "vs_baseline": baseline / pulled},
        {"step": "second pull (nothing new)", "seconds": idle, "records_per_s": 0.0, "vs_baseline": baseline / idle},
    ]  # fmt: skip
    report("records_pull", rows, records=total, pages=first.pages, cursor=first.cursor)


if __name__ == "__main__":
    main()
