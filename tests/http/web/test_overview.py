"""What the home page shows, worked out from the areas of any territory."""

from __future__ import annotations

import shapely
from shapely.geometry import shape

from hakama.core.territory import Area, Level
from hakama.demo.territory import demo_areas
from hakama.http.web.overview import attributions, build, drawing


def test_demo_territory_is_the_province_of_its_communes() -> None:
    view = build(demo_areas())
    assert view.territory is not None and view.territory.code == "02.113"
    assert len(view.communes) == 16 and view.mapped == 16
    assert (view.latest_year, view.previous_year) == (2024, 2014)
    berkane = next(c for c in view.communes if c.area.code == "02.113.01.09")
    assert (berkane.latest, berkane.previous) == (99069, 109237)
    assert berkane.change_pct is not None and round(berkane.change_pct, 2) == -9.31
    assert view.outlines_approximate and not view.figures_approximate


def test_nothing_loaded_gives_an_empty_overview() -> None:
    view = build([])
    assert view.territory is None and view.communes == () and view.latest_year is None
    assert drawing(view)["features"] == []


def test_communes_of_two_provinces_are_shown_under_their_region() -> None:
    region = Area(code="R", level=Level.REGION, names={"fr": "Région"})
    p1 = Area(code="R.1", level=Level.PROVINCE, parent_code="R", names={"fr": "Un"})
    p2 = Area(code="R.2", level=Level.PROVINCE, parent_code="R", names={"fr": "Deux"})
    c1 = Area(
        code="R.1.a",
        level=Level.COMMUNE,
        parent_code="R.1",
        names={"fr": "A"},
        population={2024: 5},
    )
    c2 = Area(code="R.2.b", level=Level.COMMUNE, parent_code="R.2", names={"fr": "B"})
    view = build([region, p1, p2, c1, c2])
    assert view.territory == region
    assert [c.area.code for c in view.communes] == ["R.1.a", "R.2.b"]
    assert view.communes[1].latest is None and view.communes[1].change_pct is None
    assert view.previous_year is None


def test_credits_are_listed_once_in_order() -> None:
    a = Area(code="a", level=Level.COMMUNE, names={}, attribution="HCP; outlines X")
    b = Area(code="b", level=Level.COMMUNE, names={}, attribution="outlines X;  OSM (ODbL) ")
    assert attributions([a, b]) == ("HCP", "outlines X", "OSM (ODbL)")


def test_drawn_outlines_are_lighter_and_stay_close_to_the_real_ones() -> None:
    view = build(demo_areas())
    drawn = {f["id"]: shape(f["geometry"]) for f in drawing(view)["features"]}
    for figures in view.communes:
        real = shape(figures.area.geometry)
        light = drawn[figures.area.code]
        assert shapely.get_num_coordinates(light) <= shapely.get_num_coordinates(real)
        # Within about 200 m everywhere: a few pixels at the scales the province is drawn at.
        assert real.hausdorff_distance(light) < 0.002, figures.area.code


def test_communes_without_outlines_are_listed_but_not_drawn() -> None:
    areas = [
        Area(code="P", level=Level.PROVINCE, names={"fr": "P"}, population={2024: 10}),
        Area(code="P.1", level=Level.COMMUNE, parent_code="P", names={"fr": "Un"}),
    ]
    view = build(areas)
    assert view.territory is not None and view.territory.code == "P"
    assert len(view.communes) == 1 and view.mapped == 0
    assert not view.outlines_approximate
    assert drawing(view)["features"] == []
