"""`hakama devices …` and `hakama lake …` as an operator runs them (a real process each)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hakama.core.access import system_actor
from hakama.core.observations import Observation
from hakama.demo.territory import demo_areas
from hakama.services import keys, observations, territory
from hakama.services.platform import Platform
from hakama.settings import Settings


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=120,
    )


def test_devices_and_lake_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    key = keys.create_key(platform, name="k", role="agent", area_code="02.113.05.15", scopes=None,
                          actor=system_actor("test")).key
    with platform.db.begin() as conn:
        observations.stage(conn, [
            Observation(datetime(2026, 3, d, tzinfo=UTC), "urn:x:1", "T", "a", float(d), None, None, None, "import")
            for d in (1, 2)
        ])
    platform.close()

    added = hakama(data, "devices", "add", "aq-1", "--type", "AirQualityObserved", "--key", key.id,
                   "--attr", "p=pm25:GQ", "--lon", "-2.3151", "--lat", "34.7015")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1] == f"hakama/{key.id}/aq-1/attrs"
    listed = hakama(data, "devices", "list", "--json")
    [device] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert device["area_code"] == "02.113.05.15"
    assert device["attributes"] == {"p": {"name": "pm25", "unit": "GQ"}}
    bad = hakama(data, "devices", "add", "aq/2", "--type", "X")
    assert bad.returncode == 1 and "device_id" in bad.stderr and "Traceback" not in bad.stderr

    flushed = hakama(data, "lake", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert "flushed 3 observations" in flushed.stdout  # 2 staged + the device's location
    stats = json.loads(hakama(data, "lake", "stats", "--json").stdout)
    [obs] = [d for d in stats["datasets"] if d["dataset"] == "observations"]
    assert obs["rows"] == 3 and obs["first_day"] == "2026-03-01"
    assert stats["staging"]["pending"] == 0
    bad_day = hakama(data, "lake", "compact", "--day", "March")
    assert bad_day.returncode == 1 and "YYYY-MM-DD" in bad_day.stderr
    compacted = hakama(data, "lake", "compact")
    assert compacted.returncode == 0 and "merged into" in compacted.stdout
