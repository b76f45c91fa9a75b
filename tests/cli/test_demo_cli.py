"""`hakama demo` end to end, as a user runs it: a real process on a fresh data folder."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hakama.storage.lake import Lake


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_demo_builds_without_serving_and_the_audit_log_verifies(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    done = hakama(data, "demo", "--no-serve", "--scale", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "observations" in done.stdout and "administrative records" in done.stdout, done.stdout
    assert "2025-11-01 .. 2026-10-31" in done.stdout, done.stdout
    manifest = json.loads((data / "demo.json").read_text())
    lake = Lake(data / "lake")
    assert lake.row_count("observations") == manifest["counts"]["observations"] > 0
    assert set(lake.datasets()) >= {
        "observations",
        "service_requests",
        "request_events",
        "admin_records",
    }
    again = hakama(data, "demo", "--no-serve", "--scale", "0.01")
    assert again.returncode == 0 and "already built" in again.stdout, again.stdout + again.stderr
    # The audit CLI belongs to another module; when it is there, the demo's writes must verify.
    if importlib.util.find_spec("hakama.cli.audit") is not None:
        verified = hakama(data, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "chain intact" in verified.stdout, verified.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scale", "0"), "--scale must be greater than 0"),
        (("--scale", "5000"), "--scale must be greater than 0"),
        (("--year-end", "2026-13-01"), "--year-end '2026-13-01' is not a date"),
    ],
)
def test_bad_options_end_in_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = hakama(tmp_path / "d", "demo", "--no-serve", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "d" / "lake").exists() or not any((tmp_path / "d" / "lake").iterdir())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_demo_serves_after_building(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    built = hakama(data, "demo", "--no-serve", "--scale", "0.01")
    assert built.returncode == 0, built.stderr
    port = free_port()
    command = [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data), "demo"]
    server = subprocess.Popen(
        [*command, "--scale", "0.01", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        body: dict[str, object] = {}
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            body = response.json()
            break
        assert body.get("status") == "ok", body
    finally:
        server.terminate()
        try:
            output = server.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0]
    assert "already built" in output and f"http://127.0.0.1:{port}" in output
