"""Open-data datasets: one metadata model, rendered as CKAN packages and as DCAT-AP 3.

A `Dataset` is what the catalogue says about one table hakama publishes: titles and
descriptions in ar/fr/en, publisher (an area: the province or a commune), themes, keywords,
licence, coverage in time and space, update frequency, dates, and its distributions (the same
table as CSV, JSON, Parquet, and GeoJSON when it has geometry). The CKAN and DCAT renderings
read only this model, so the two always say the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hakama.core.languages import pick

LANGUAGES = ("ar", "fr", "en")
#: Resource and dataset UUIDs are derived from names under this namespace (stable across builds).
NAMESPACE = uuid.UUID("6f1c9a52-33b4-4c9e-9a3e-6b1d0c1a7e13")


@dataclass(frozen=True)
class Licence:
    id: str  # CKAN licence id
    title: str
    url: str
    od_conformance: str = "approved"


LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in (
        Licence(
            "odc-odbl",
            "Open Data Commons Open Database License (ODbL)",
            "https://opendatacommons.org/licenses/odbl/1-0/",
        ),
        Licence(
            "odc-by",
            "Open Data Commons Attribution License",
            "https://opendatacommons.org/licenses/by/1-0/",
        ),
        Licence(
            "odc-pddl",
            "Open Data Commons Public Domain Dedication and License (PDDL)",
            "https://opendatacommons.org/licenses/pddl/1-0/",
        ),
        Licence(
            "cc-by-4.0",
            "Creative Commons Attribution 4.0",
            "https://creativecommons.org/licenses/by/4.0/",
        ),
        Licence(
            "cc-by-sa-4.0",
            "Creative Commons Attribution Share-Alike 4.0",
            "https://creativecommons.org/licenses/by-sa/4.0/",
        ),
        Licence(
            "cc-zero",
            "Creative Commons CCZero",
            "https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        Licence(
            "etalab-2.0",
            "Licence Ouverte / Open Licence 2.0",
            "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        ),
    )
}


@dataclass(frozen=True)
class Theme:
    """A CKAN group and a DCAT theme (the EU data-theme vocabulary)."""

    id: str
    eu_code: str  # http://publications.europa.eu/resource/authority/data-theme/<code>
    titles: Mapping[str, str]

    @property
    def uri(self) -> str:
        return f"http://publications.europa.eu/resource/authority/data-theme/{self.eu_code}"


THEMES: dict[str, Theme] = {
    t.id: t
    for t in (
        Theme(
            "government",
            "GOVE",
            {
                "ar": "الحكومة والقطاع العام",
                "fr": "Gouvernement et secteur public",
                "en": "Government and public sector",
            },
        ),
        Theme("environment", "ENVI", {"ar": "البيئة", "fr": "Environnement", "en": "Environment"}),
        Theme(
            "population",
            "SOCI",
            {
                "ar": "السكان والمجتمع",
                "fr": "Population et société",
                "en": "Population and society",
            },
        ),
        Theme(
            "regions",
            "REGI",
            {"ar": "الجهات والمدن", "fr": "Régions et villes", "en": "Regions and cities"},
        ),
        Theme("energy", "ENER", {"ar": "الطاقة", "fr": "Énergie", "en": "Energy"}),
    )
}


class Frequency:
    """Update frequencies (EU frequency vocabulary codes) and their CKAN/ISO names."""

    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    ANNUAL = "ANNUAL"
    IRREGULAR = "IRREG"

    @staticmethod
    def uri(code: str) -> str:
        return f"http://publications.europa.eu/resource/authority/frequency/{code}"


@dataclass(frozen=True)
class Format:
    name: str  # CKAN format, e.g. CSV
    extension: str
    media_type: str  # IANA
    eu_code: str  # http://publications.europa.eu/resource/authority/file-type/<code>

    @property
    def eu_uri(self) -> str:
        return f"http://publications.europa.eu/resource/authority/file-type/{self.eu_code}"

    @property
    def iana_uri(self) -> str:
        return f"https://www.iana.org/assignments/media-types/{self.media_type}"


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("CSV", "csv", "text/csv", "CSV"),
        Format("JSON", "json", "application/json", "JSON"),
        Format("Parquet", "parquet", "application/vnd.apache.parquet", "PARQUET"),
        Format("GeoJSON", "geojson", "application/geo+json", "GEOJSON"),
    )
}


@dataclass(frozen=True)
class Column:
    """One published column: its name, DuckDB type and meaning (ar/fr/en)."""

    name: str
    type: str
    descriptions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Distribution:
    """One file of a dataset, as built."""

    dataset_id: str
    format: str  # key of FORMATS
    size: int
    rows: int
    path: str = ""  # relative to the open-data folder ("" until built)

    @property
    def id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.dataset_id}/{self.format}"))

    @property
    def filename(self) -> str:
        return f"{self.dataset_id}.{FORMATS[self.format].extension}"

    @property
    def tabular(self) -> bool:
        return self.format != "GeoJSON"


@dataclass(frozen=True)
class Dataset:
    """What the catalogue says about one published table (or a harvested one, `external`)."""

    id: str  # CKAN `name`, URL-safe
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    publisher: str  # area code of the province or commune publishing it
    publisher_names: Mapping[str, str]
    themes: Sequence[str]  # keys of THEMES
    keywords: Mapping[str, Sequence[str]]  # per language
    licence_id: str
    frequency: str  # Frequency code
    issued: datetime | None = None
    modified: datetime | None = None
    temporal: tuple[date, date] | None = None
    spatial: Mapping[str, Any] | None = None  # GeoJSON geometry of the coverage
    spatial_code: str | None = None
    distributions: Sequence[Distribution] = ()
    columns: Sequence[Column] = ()
    time_column: str | None = None  # what a chart's x axis is, when there is one
    value_column: str | None = None  # what a chart draws
    stale_error: str | None = None  # the last build failed: what is served is the last good one
    built: bool = True
    external_url: str | None = None  # harvested from another portal: where it lives
    source: str | None = None  # the other portal's URL, for harvested datasets

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(NAMESPACE, self.id))

    def title(self, lang: str) -> str:
        return pick(self.titles, lang) or self.id

    def description(self, lang: str) -> str:
        return pick(self.descriptions, lang)

    def all_keywords(self) -> list[str]:
        seen: list[str] = []
        for lang in LANGUAGES:
            for word in self.keywords.get(lang, ()):
                if word not in seen:
                    seen.append(word)
        return seen

    @property
    def licence(self) -> Licence:
        return LICENCES.get(self.licence_id) or Licence(self.licence_id, self.licence_id, "")

    def distribution(self, fmt: str) -> Distribution | None:
        return next((d for d in self.distributions if d.format == fmt), None)

    @property
    def formats(self) -> list[str]:
        return [d.format for d in self.distributions]

    def searchable_text(self) -> str:
        parts = [self.id, *self.titles.values(), *self.descriptions.values(), *self.all_keywords()]
        parts += [
            t for theme in self.themes if theme in THEMES for t in THEMES[theme].titles.values()
        ]
        return " ".join(parts).casefold()
