from __future__ import annotations

import pytest
import shapely

from hakama.ingest.territory_sources import (
    GeoJSONMapping,
    Outline,
    areas_from_geojson,
    join_outlines,
    remove_overlaps,
)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def test_urban_drawn_on_rural_is_cut_out() -> None:
    out = remove_overlaps({"rural": box(0, 0, 10, 10), "town": box(4, 4, 6, 6)})
    assert out["town"].area == pytest.approx(4)
    assert out["rural"].area == pytest.approx(96)
    assert not out["rural"].intersection(out["town"]).area


def test_join_merges_parts_and_reports_what_it_cannot_match() -> None:
    outlines = [
        Outline("Madagh", "Madagh", box(0, 0, 1, 1)),
        Outline("Madagh", "Madagh (Centre)", box(1, 0, 2, 1)),
        Outline("Bni Makada", "Bni Makada", box(5, 5, 6, 6)),
    ]
    communes = [{"code": "A", "name_fr": "Madagh"}, {"code": "B", "name_fr": "Zegzel"}]
    joined = join_outlines(outlines, communes)
    assert joined.geometries["A"].area == pytest.approx(2)
    assert joined.unmatched == ["Bni Makada"]
    assert joined.missing == ["B"]
    manual = join_outlines(outlines, communes, manual={"Bni Makada": "B"})
    assert manual.missing == [] and manual.unmatched == []


def feature(code: object, **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"code": code, **props},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }


def test_geojson_mapping_reads_names_and_population() -> None:
    doc = {"type": "FeatureCollection", "features": [feature("X1", nom="Un", pop2024="1200")]}
    areas = areas_from_geojson(
        doc, GeoJSONMapping(names={"fr": "nom"}, population={2024: "pop2024"})
    )
    assert areas[0].names == {"fr": "Un"} and areas[0].population == {2024: 1200}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": [feature(None, name_fr="A")]}, "no code"),
        (
            {
                "type": "FeatureCollection",
                "features": [feature("A", name_fr="A"), feature("A", name_fr="B")],
            },
            "twice",
        ),
        ({"type": "FeatureCollection", "features": [feature("A")]}, "no name"),
        (
            {
                "type": "FeatureCollection",
                "features": [feature("A", name_fr="A", population_2024="many")],
            },
            "not a number",
        ),
    ],
)
def test_bad_geojson_names_the_feature(doc: dict[str, object], message: str) -> None:
    spec = GeoJSONMapping(population={2024: "population_2024"})
    with pytest.raises(ValueError, match=message):
        areas_from_geojson(doc, spec)
