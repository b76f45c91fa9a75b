"""`hakama services`: list, add, import a YAML catalogue, disable, flush events — as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.services import territory
from hakama.services.platform import Platform
from hakama.settings import Settings

CATALOGUE = """
services:
  - code: public_lighting
    area_code: "02.113"
    category: public_lighting
    icon: lighting
    target_hours: 48
    names: {ar: الإنارة العمومية, fr: Éclairage public, en: Street lighting}
    attributes:
      - code: problem
        datatype: singlevaluelist
        required: true
        descriptions: {fr: "Quel est le problème ?"}
        values:
          - {key: "off", names: {fr: Éteint}}
  - code: noise
    area_code: "02.113"
    names: {fr: Bruit}
"""


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_catalogue_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    platform.close()
    file = tmp_path / "catalogue.yaml"
    file.write_text(CATALOGUE, encoding="utf-8")
    done = hakama(data, "services", "import", str(file))
    assert done.returncode == 0, done.stderr
    assert "imported 2 services" in done.stdout
    added = hakama(
        data,
        "services",
        "add",
        "water_leak",
        "--area",
        "02.113",
        "--name-fr",
        "Fuite d'eau",
        "--target-hours",
        "24",
        "--icon",
        "water",
    )
    assert added.returncode == 0, added.stderr
    listed = hakama(data, "services", "list", "--area", "02.113.01.01", "--lang", "ar")
    assert (
        listed.returncode == 0
        and "الإنارة العمومية" in listed.stdout
        and "3 services" in listed.stdout
    )
    off = hakama(data, "services", "disable", "noise", "--area", "02.113.01.01")
    assert off.returncode == 0, off.stderr
    after = hakama(data, "services", "list", "--area", "02.113.01.01")
    assert "noise" not in after.stdout and "2 services" in after.stdout
    still = hakama(data, "services", "list", "--area", "02.113.01.05")
    assert "noise" in still.stdout
    flushed = hakama(data, "services", "flush-events")
    assert flushed.returncode == 0 and "0 request events" in flushed.stdout


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad_icon = hakama(
        data, "services", "add", "x", "--area", "02.113", "--name-fr", "X", "--icon", "rocket"
    )
    assert bad_icon.returncode == 1 and "icon must be one of" in bad_icon.stderr
    file = tmp_path / "broken.yaml"
    file.write_text("services: [ {code: 1", encoding="utf-8")
    broken = hakama(data, "services", "import", str(file))
    assert broken.returncode == 1 and "cannot read" in broken.stderr
    file.write_text("- code: x\n  names: {fr: X}\n", encoding="utf-8")
    no_area = hakama(data, "services", "import", str(file))
    assert no_area.returncode == 1 and "has no area_code" in no_area.stderr
    assert "Traceback" not in bad_icon.stderr + broken.stderr + no_area.stderr
