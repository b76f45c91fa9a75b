"""`hakama indicators` and `hakama alerts` run as a user runs them (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hakama.demo.build import build_demo
from hakama.services.platform import Platform
from hakama.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"},
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "data"
    platform = Platform.open(Settings(data_dir=folder, environment="test"))
    build_demo(platform, scale=0.01, run_seeds=False)
    platform.close()
    return folder


def test_list_shows_the_catalogue(data_dir: Path) -> None:
    done = hakama(data_dir, "indicators", "list", "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "requests_per_10k" in done.stdout and "Requests per 10,000 inhabitants" in done.stdout
    assert done.stdout.count("\n") > 19


def test_compute_then_show(data_dir: Path) -> None:
    done = hakama(data_dir, "indicators", "compute", "--only", "requests_per_10k", "--only", "open_backlog")
    assert done.returncode == 0, done.stderr
    assert "duckdb: 2 computed" in done.stdout and "requests_per_10k" in done.stdout
    again = hakama(data_dir, "indicators", "compute", "--only", "requests_per_10k")
    assert again.returncode == 0 and "0 computed, 1 skipped" in again.stdout  # nothing changed
    shown = hakama(data_dir, "indicators", "show", "requests_per_10k")
    assert shown.returncode == 0, shown.stderr
    assert "Province de Berkane" in shown.stdout and "2026-10-01" in shown.stdout
    assert "complete" in shown.stdout or "too_few" in shown.stdout
    series = hakama(data_dir, "indicators", "show", "requests_per_10k", "--area", "02.113.01.09")
    assert series.returncode == 0 and series.stdout.count("02.113.01.09 Berkane") >= 11


def test_validate_names_file_and_line(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(
        "# mine\n- id: ok_one\n  theme: t\n  names: {ar: أ, fr: a, en: a}\n  unit: x\n  source: observations\n"
        "  measure: {kind: count}\n  direction: higher_is_better\n  method: counted\n"
        "- id: broken\n  theme: t\n  names: {ar: أ, fr: a, en: a}\n  unit: x\n  source: observations\n"
        "  measure: {kind: median}\n  direction: higher_is_better\n  method: m\n",
        encoding="utf-8",
    )
    done = hakama(data_dir, "indicators", "validate", str(bad))
    assert done.returncode == 1
    assert f"{bad}:10: indicator broken: measure `median` needs a `column`" in done.stderr
    assert "Traceback" not in done.stderr
    good = Path(__file__).resolve().parents[2] / "hakama" / "analytics" / "definitions" / "administration.yaml"
    ok = hakama(data_dir, "indicators", "validate", str(good))
    assert ok.returncode == 0 and "3 indicator(s) valid" in ok.stdout


def test_unknown_indicator_and_engine_fail_in_one_line(data_dir: Path) -> None:
    missing = hakama(data_dir, "indicators", "show", "nope")
    assert missing.returncode == 1 and "no indicator 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    engine = hakama(data_dir, "indicators", "compute", "--engine", "oracle")
    assert engine.returncode == 1 and "unknown engine" in engine.stderr


def test_alerts_list(data_dir: Path) -> None:
    done = hakama(data_dir, "alerts", "list", "--state", "all")
    assert done.returncode == 0, done.stderr
    assert "all alert(s)" in done.stdout
    bad = hakama(data_dir, "alerts", "list", "--state", "maybe")
    assert bad.returncode == 1 and "state must be" in bad.stderr
