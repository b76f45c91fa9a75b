"""The demo's sensors: which devices stand in which commune, deterministically from a seed.

`plan_sensors(areas, seed=…, scale=…)` is pure and stable: the same areas, seed and scale give
the same sensors, in the same order, with the same identifiers and positions. The readings
generator and the device provisioning (`hakama.demo.seed_devices`) both call it, so the devices
an integrator sees are the ones the history was generated for.

Entity types and attribute names follow the FIWARE Smart Data Models; units are UN/CEFACT
common codes:

| kind | entity type | attribute | unit | meaning of one reading |
| --- | --- | --- | --- | --- |
| air_quality | AirQualityObserved | pm25, pm10, no2 | GQ (µg/m³) | 15-minute mean concentration |
| water | WaterConsumptionObserved | waterConsumption | MTQ (m³) | volume through the meter in the 15 minutes |
| waste | WasteContainer | fillingLevel | P1 (percent) | fill level 0–100 at the instant (Smart Data Models uses 0–1; percent reads better on dashboards) |
| streetlight | Streetlight | energyConsumed | KWH | energy drawn by the lamp group in the 15 minutes |
| traffic | TrafficFlowObserved | intensity | C62 (one) | vehicles counted in the 15 minutes |
| traffic | TrafficFlowObserved | averageVehicleSpeed | KMH | mean speed of those vehicles |

Counts per commune are `population / 10 000 × rate(kind, urban|rural) × scale`, rounded with a
seeded draw (so small communes get a sensor with the right probability); every kind keeps at
least one sensor in the territory, placed in the most populous commune, so even `scale=0.01`
has one sensor of each kind. Positions are drawn inside the commune's outline by rejection
sampling, most of them around the commune's centre (where people live), the rest anywhere.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from hakama.core import territory
from hakama.core.territory import Area, Level


class SensorKind(StrEnum):
    AIR_QUALITY = "air_quality"
    WATER = "water"
    WASTE = "waste"
    STREETLIGHT = "streetlight"
    TRAFFIC = "traffic"


@dataclass(frozen=True)
class SensorAttribute:
    """One measured attribute of a sensor: its NGSI-LD name and UN/CEFACT unit code."""

    name: str
    unit: str


@dataclass(frozen=True)
class Sensor:
    """One demo device: NGSI-LD id and type, what it measures, where it stands."""

    id: str
    entity_type: str
    kind: SensorKind
    attributes: tuple[SensorAttribute, ...]
    lon: float
    lat: float
    area_code: str


@dataclass(frozen=True)
class KindSpec:
    """How a kind of sensor is modelled: its entity type, attributes and density."""

    kind: SensorKind
    entity_type: str
    attributes: tuple[SensorAttribute, ...]
    per_10k_urban: float
    per_10k_rural: float


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        SensorKind.AIR_QUALITY,
        "AirQualityObserved",
        (
            SensorAttribute("pm25", "GQ"),
            SensorAttribute("pm10", "GQ"),
            SensorAttribute("no2", "GQ"),
        ),
        0.6,
        0.2,
    ),
    KindSpec(
        SensorKind.WATER,
        "WaterConsumptionObserved",
        (SensorAttribute("waterConsumption", "MTQ"),),
        1.5,
        1.0,
    ),
    KindSpec(
        SensorKind.WASTE, "WasteContainer", (SensorAttribute("fillingLevel", "P1"),), 1.5, 0.8
    ),
    KindSpec(
        SensorKind.STREETLIGHT, "Streetlight", (SensorAttribute("energyConsumed", "KWH"),), 1.0, 0.6
    ),
    KindSpec(
        SensorKind.TRAFFIC,
        "TrafficFlowObserved",
        (SensorAttribute("intensity", "C62"), SensorAttribute("averageVehicleSpeed", "KMH")),
        0.5,
        0.2,
    ),
)

SPEC_BY_KIND = {spec.kind: spec for spec in KINDS}

#: Share of a commune's sensors placed around its centre rather than anywhere in it.
CENTRE_SHARE = 0.7


def slugify(name: str) -> str:
    """A lower-case ASCII slug of a name: `Sidi Slimane Echcharaa` → `sidi-slimane-echcharaa`."""
    return territory.slug(name) or "area"


def stable_int(text: str) -> int:
    """A stable 32-bit number for a string (Python's `hash` changes between runs)."""
    return zlib.crc32(text.encode("utf-8"))


def is_urban(area: Area) -> bool:
    return str(area.attributes.get("kind", "")).lower() == "urban"


def population(area: Area) -> int:
    latest = area.latest_population()
    return latest[1] if latest else 0


def leaf_communes(areas: Sequence[Area]) -> list[Area]:
    """The areas sensors go in: communes (or the deepest areas) that have an outline."""
    with_outline = [a for a in areas if a.geometry]
    communes = [a for a in with_outline if a.level == Level.COMMUNE]
    if communes:
        return sorted(communes, key=lambda a: a.code)
    parents = {a.parent_code for a in with_outline}
    return sorted((a for a in with_outline if a.code not in parents), key=lambda a: a.code)


def commune_slugs(communes: Sequence[Area]) -> dict[str, str]:
    """A unique slug per commune code (the code is appended when two names collide)."""
    slugs = {a.code: slugify(a.name("fr")) for a in communes}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {
        code: slug if counts[slug] == 1 else f"{slug}-{slugify(code)}"
        for code, slug in slugs.items()
    }


def sensor_counts(
    communes: Sequence[Area], *, seed: int, scale: float
) -> dict[tuple[str, SensorKind], int]:
    """How many sensors of each kind each commune gets."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    counts: dict[tuple[str, SensorKind], int] = {}
    for spec in KINDS:
        for area in communes:
            rate = spec.per_10k_urban if is_urban(area) else spec.per_10k_rural
            expected = population(area) / 10_000 * rate * scale
            rng = np.random.default_rng(
                [seed, stable_int(area.code), stable_int(spec.kind.value), 1]
            )
            counts[(area.code, spec.kind)] = int(np.floor(expected + rng.random()))
        if communes and not any(counts[(a.code, spec.kind)] for a in communes):
            biggest = max(communes, key=lambda a: (population(a), a.code))
            counts[(biggest.code, spec.kind)] = 1
    return counts


def points_inside(geom: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` (lon, lat) points inside `geom`: most near its centre, all strictly inside."""
    if count <= 0:
        return np.empty((0, 2))
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    centre = geom.representative_point()
    spread = np.array([(maxx - minx) * 0.12, (maxy - miny) * 0.12])
    near = rng.random(count) < CENTRE_SHARE
    out = np.empty((count, 2))
    pending = np.arange(count)
    for _ in range(200):
        if pending.size == 0:
            break
        n = pending.size
        uniform = np.column_stack((rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)))
        clustered = np.array([centre.x, centre.y]) + rng.normal(size=(n, 2)) * spread
        candidates = np.where(near[pending, None], clustered, uniform)
        inside = shapely.contains_xy(geom, candidates[:, 0], candidates[:, 1])
        out[pending[inside]] = candidates[inside]
        pending = pending[~inside]
    if pending.size:  # a sliver of a polygon: fall back to its representative point
        out[pending] = (centre.x, centre.y)
    return np.round(out, 6)


def plan_sensors(areas: Sequence[Area], *, seed: int, scale: float) -> list[Sensor]:
    """Every demo sensor of the territory, ordered by kind, commune code and number."""
    communes = leaf_communes(areas)
    counts = sensor_counts(communes, seed=seed, scale=scale)
    slugs = commune_slugs(communes)
    sensors: list[Sensor] = []
    for spec in KINDS:
        for area in communes:
            count = counts[(area.code, spec.kind)]
            if not count:
                continue
            geom = area.shape
            assert geom is not None  # leaf_communes keeps areas with an outline
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            rng = np.random.default_rng(
                [seed, stable_int(area.code), stable_int(spec.kind.value), 2]
            )
            points = points_inside(geom, count, rng)
            for n, (lon, lat) in enumerate(points, start=1):
                sensors.append(
                    Sensor(
                        id=f"urn:ngsi-ld:{spec.entity_type}:{slugs[area.code]}-{n}",
                        entity_type=spec.entity_type,
                        kind=spec.kind,
                        attributes=spec.attributes,
                        lon=float(lon),
                        lat=float(lat),
                        area_code=area.code,
                    )
                )
    return sensors


def series_count(sensors: Sequence[Sensor]) -> int:
    """How many (sensor, attribute) time series the sensors produce."""
    return sum(len(s.attributes) for s in sensors)
