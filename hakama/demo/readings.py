"""A year of 15-minute readings for the demo sensors, generated day by day with numpy.

The model, per attribute: a level (commune effect × sensor effect) × a daily cycle (in local
time, Africa/Casablanca taken as UTC+1 all year; the Ramadan switch to UTC+0 is left out) × a
weekly cycle (quieter Saturday and Sunday) × a season (dust and heating in winter, water and
traffic up in summer, more in communes with a strong summer influx) × a weather-like day factor
(log-AR(1) across days, interpolated within the day) × noise. Waste containers fill along the
day's cycle and are emptied on collection days (rural communes miss more collections, so their
bins overflow); street lights draw power between sunset and sunrise computed from their
latitude and the day of the year.

Faults, as real deployments have them: gaps (rows absent, from 15 minutes to days), isolated
dropped readings, stuck values (the same value repeated for hours or days), spikes (×3–8), a few
silent sensors (stop reporting for good in the second half of the year), water leaks (a flow
that never drops at night), street lamps out (zero at night) or burning by day.

Generation is sequential by day across all series (one lake file per day), so memory stays
bounded at any `scale`: a day of 3,000 series is 288,000 rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from hakama.core.territory import Area
from hakama.demo.sensors import Sensor, SensorKind, is_urban, stable_int
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA

STEPS_PER_DAY = 96
STEP_US = 15 * 60 * 1_000_000
DAY_US = STEPS_PER_DAY * STEP_US
LOCAL_OFFSET_HOURS = 1.0  # Africa/Casablanca outside Ramadan

#: Last day of the default demo year: fixed, so the same seed gives the same lake on any date.
DEFAULT_YEAR_END = date(2026, 10, 31)

#: Decimal places kept per attribute (what a real device reports; also compresses well).
DECIMALS = {
    "pm25": 1,
    "pm10": 1,
    "no2": 1,
    "waterConsumption": 3,
    "fillingLevel": 1,
    "energyConsumed": 3,
    "intensity": 0,
    "averageVehicleSpeed": 1,
}

DROPOUT_RATE = 0.003
SPIKE_RATE = 0.0005
SILENT_SHARE = 0.03


@dataclass(frozen=True)
class Period:
    """The demo's days, `start` to `end` inclusive (UTC days)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_us(self) -> int:
        start = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return int(start.timestamp()) * 1_000_000

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)


def demo_period(year_end: date | None = None) -> Period:
    """The twelve months ending on `year_end` (default 2026-10-31: 2025-11-01 .. 2026-10-31)."""
    end = year_end or DEFAULT_YEAR_END
    try:
        start = end.replace(year=end.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - 1, day=28) + timedelta(days=1)
    return Period(start=start, end=end)


@dataclass(frozen=True)
class CommuneEffects:
    """How a commune departs from the average, drawn once per commune from the seed."""

    air: float  # multiplies pollutant levels
    water: float  # multiplies consumption per meter
    summer: float  # extra summer activity (visitors): 0 = none, 1.5 = ×2.5 in August
    missed_collection: float  # probability a scheduled waste collection does not happen
    collection_every: int  # days between scheduled collections
    traffic: float


def commune_effects(area: Area, *, seed: int) -> CommuneEffects:
    rng = np.random.default_rng([seed, stable_int(area.code), 7])
    urban = is_urban(area)
    population = (area.latest_population() or (0, 0))[1]
    size = np.log10(max(population, 1000)) - 4  # ~0 for 10k inhabitants, ~1 for 100k
    summer = float(rng.choice([0.1, 0.2, 0.4, 1.5], p=[0.45, 0.3, 0.15, 0.1]))
    return CommuneEffects(
        air=float((1.0 + 0.35 * size if urban else 0.7) * rng.lognormal(0, 0.15)),
        water=float((1.0 if urban else 0.6) * rng.lognormal(0, 0.15)),
        summer=summer,
        missed_collection=float(rng.uniform(0.01, 0.05) if urban else rng.uniform(0.08, 0.3)),
        collection_every=1 if urban else int(rng.choice([2, 3, 4])),
        traffic=float((1.0 + 0.3 * size if urban else 0.35) * rng.lognormal(0, 0.2)),
    )


@dataclass
class _Kind:
    """The sensors of one kind and their year-long parameters (arrays of one entry per sensor)."""

    kind: SensorKind
    sensors: list[int]  # indices into the sensor list
    first_series: int  # index of the first series of this kind
    params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.sensors)


@dataclass
class _Interval:
    series: int
    start: int  # step, inclusive
    end: int  # step, exclusive
    fault: str  # gap | stuck | out | burn


@dataclass
class ReadingsPlan:
    """Everything fixed for the whole year; `days()` then generates one day after another."""

    sensors: list[Sensor]
    period: Period
    seed: int
    kinds: list[_Kind]
    series_sensor: np.ndarray  # sensor index of each series
    series_attribute: list[str]
    intervals: list[_Interval]
    silent_from: np.ndarray  # per series: first step with no reading (a huge number if never)

    @property
    def series(self) -> int:
        return len(self.series_attribute)

    def expected_rows(self) -> int:
        """Upper bound of the rows generated (before gaps and faults remove some)."""
        return self.series * self.period.days * STEPS_PER_DAY


def plan_readings(
    sensors: Sequence[Sensor], areas: Sequence[Area], *, seed: int, period: Period
) -> ReadingsPlan:
    """Draw the year-long parameters of every series (levels, day factors, faults)."""
    sensors = list(sensors)
    by_code = {a.code: a for a in areas}
    effects = {
        code: commune_effects(by_code[code], seed=seed) for code in {s.area_code for s in sensors}
    }
    days = period.days
    kinds: list[_Kind] = []
    series_sensor: list[int] = []
    series_attribute: list[str] = []
    for kind in SensorKind:
        members = [i for i, s in enumerate(sensors) if s.kind == kind]
        if not members:
            continue
        block = _Kind(kind=kind, sensors=members, first_series=len(series_attribute))
        # Sensors of a kind are contiguous series blocks: sensor-major, attribute-minor.
        for i in members:
            for attr in sensors[i].attributes:
                series_sensor.append(i)
                series_attribute.append(attr.name)
        rng = np.random.default_rng([seed, stable_int(kind.value), 11])
        block.params = _kind_params(
            kind, [sensors[i] for i in members], effects, by_code, rng, period
        )
        kinds.append(block)

    total_steps = days * STEPS_PER_DAY
    rng = np.random.default_rng([seed, 13])
    intervals: list[_Interval] = []
    n_series = len(series_attribute)
    for s in range(n_series):
        for _ in range(rng.poisson(3)):
            length = int(np.clip(rng.lognormal(np.log(16), 1.3), 1, 5 * STEPS_PER_DAY))
            start = int(rng.integers(0, total_steps))
            intervals.append(_Interval(s, start, min(start + length, total_steps), "gap"))
        if rng.random() < 0.25:
            length = int(rng.integers(24, 4 * STEPS_PER_DAY))
            start = int(rng.integers(0, total_steps))
            intervals.append(_Interval(s, start, min(start + length, total_steps), "stuck"))
    for block in kinds:
        if block.kind != SensorKind.STREETLIGHT:
            continue
        for j in range(block.n):
            s = block.first_series + j
            for fault, share in (("out", 0.15), ("burn", 0.1)):
                if rng.random() < share:
                    length = int(rng.integers(2, 20)) * STEPS_PER_DAY
                    start = int(rng.integers(0, total_steps))
                    intervals.append(_Interval(s, start, min(start + length, total_steps), fault))

    # A few sensors fall silent for good in the second half of the year.
    sensor_silent = np.full(len(sensors), np.iinfo(np.int64).max // 2, dtype=np.int64)
    silent_count = round(len(sensors) * SILENT_SHARE)
    if silent_count:
        chosen = rng.choice(len(sensors), size=silent_count, replace=False)
        sensor_silent[chosen] = rng.integers(total_steps // 2, total_steps, size=silent_count)
    series_sensor_arr = np.asarray(series_sensor, dtype=np.int64)
    return ReadingsPlan(
        sensors=sensors,
        period=period,
        seed=seed,
        kinds=kinds,
        series_sensor=series_sensor_arr,
        series_attribute=series_attribute,
        intervals=sorted(intervals, key=lambda iv: iv.start),
        silent_from=sensor_silent[series_sensor_arr] if n_series else np.empty(0, np.int64),
    )


def _day_factors(rng: np.random.Generator, n: int, days: int, sigma: float) -> np.ndarray:
    """Weather-like multiplicative factors per sensor and day boundary: log-AR(1), mean 1."""
    phi = 0.7
    out = np.empty((n, days + 1))
    current = rng.normal(0, sigma, n)
    innovation = sigma * np.sqrt(1 - phi**2)
    for d in range(days + 1):
        out[:, d] = current
        current = phi * current + rng.normal(0, innovation, n)
    return np.exp(out - sigma**2 / 2)


def _kind_params(
    kind: SensorKind,
    members: list[Sensor],
    effects: dict[str, CommuneEffects],
    areas: dict[str, Area],
    rng: np.random.Generator,
    period: Period,
) -> dict[str, np.ndarray]:
    days = period.days
    n = len(members)
    urban = np.array([is_urban(areas[s.area_code]) for s in members])
    eff = [effects[s.area_code] for s in members]
    own = rng.lognormal(0, 0.2, n)
    p: dict[str, np.ndarray] = {"summer": np.array([e.summer for e in eff])}
    if kind == SensorKind.AIR_QUALITY:
        air = np.array([e.air for e in eff]) * own
        p["pm25"] = 16.0 * air
        p["no2"] = np.where(urban, 26.0, 9.0) * air
        p["pm10_ratio"] = rng.uniform(1.6, 2.2, n)
        p["day"] = _day_factors(rng, n, days, 0.35)
        # Saharan dust days (mostly spring) add coarse particles to every sensor at once.
        doy = np.array([period.day(i).timetuple().tm_yday for i in range(days + 1)])
        dust_p = 0.01 + 0.05 * np.exp(-(((doy - 110) / 35.0) ** 2))
        p["dust"] = np.where(rng.random(days + 1) < dust_p, rng.uniform(30, 160, days + 1), 0.0)
    elif kind == SensorKind.WATER:
        p["level"] = np.where(urban, 0.6, 0.35) * np.array([e.water for e in eff]) * own
        p["day"] = _day_factors(rng, n, days, 0.12)
        leaking = rng.random(n) < 0.06
        p["leak_from"] = np.where(
            leaking, rng.integers(0, days * STEPS_PER_DAY, n), np.iinfo(np.int64).max // 2
        )
        p["leak_rate"] = p["level"] * rng.uniform(0.3, 0.8, n)
    elif kind == SensorKind.WASTE:
        # Share of the bin filled per day, and the day's collections (missed at commune rates).
        p["fill_per_day"] = np.where(urban, 0.75, 0.4) * own
        every = np.array([e.collection_every for e in eff])
        missed = np.array([e.missed_collection for e in eff])
        phase = rng.integers(0, 4, n)
        day_idx = np.arange(days)[None, :]
        scheduled = (day_idx + phase[:, None]) % every[:, None] == 0
        collected = scheduled & (rng.random((n, days)) >= missed[:, None])
        p["collected"] = collected
        p["collect_step"] = rng.integers(4 * 4, 8 * 4, n)  # between 04:00 and 08:00 UTC
        # Day index of the last collection strictly before each day (-1: none, empty at start).
        last = np.where(collected, day_idx, -1)
        before = np.maximum.accumulate(last, axis=1)
        p["last_before"] = np.concatenate([np.full((n, 1), -1), before[:, :-1]], axis=1)
        p["day"] = _day_factors(rng, n, days, 0.15)
    elif kind == SensorKind.STREETLIGHT:
        p["kw"] = np.where(urban, rng.uniform(3, 8, n), rng.uniform(1, 3, n))
        p["lat"] = np.radians([s.lat for s in members])
        p["lon"] = np.array([s.lon for s in members])
    elif kind == SensorKind.TRAFFIC:
        p["peak"] = np.where(urban, 140.0, 30.0) * np.array([e.traffic for e in eff]) * own
        p["free_speed"] = np.where(urban, rng.uniform(40, 55, n), rng.uniform(60, 80, n))
        p["day"] = _day_factors(rng, n, days, 0.1)
    return p


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A daily Gaussian bump around `centre` o'clock (wrapping around midnight)."""
    delta = (hours - centre + 12) % 24 - 12
    return np.asarray(np.exp(-(delta**2) / (2 * width**2)))


class _Day:
    """The calendar of one UTC day's 96 steps (local hours, weekday, season)."""

    def __init__(self, period: Period, index: int) -> None:
        self.index = index
        self.first_step = index * STEPS_PER_DAY
        self.start_us = period.start_us + index * DAY_US
        utc_hours = np.arange(STEPS_PER_DAY) / 4
        self.utc_hours = utc_hours
        self.hours = (utc_hours + LOCAL_OFFSET_HOURS) % 24
        day = period.day(index)
        local_next = utc_hours + LOCAL_OFFSET_HOURS >= 24
        weekday = np.where(local_next, (day.weekday() + 1) % 7, day.weekday())
        self.weekend = np.isin(weekday, (5, 6))
        self.sunday = weekday == 6
        self.doy = day.timetuple().tm_yday
        self.frac = np.arange(STEPS_PER_DAY) / STEPS_PER_DAY
        # Seasons: +1 in mid-January (winter), -1 in mid-July.
        self.winter = float(np.cos(2 * np.pi * (self.doy - 15) / 365.25))
        self.summer = float(max(0.0, np.cos(2 * np.pi * (self.doy - 222) / 365.25)) ** 2)

    def interpolate(self, factors: np.ndarray) -> np.ndarray:
        """Day factors (n, days+1) → (n, 96), linear from this day's boundary to the next."""
        a = factors[:, self.index][:, None]
        b = factors[:, self.index + 1][:, None]
        return np.asarray(a + (b - a) * self.frac[None, :])


def _air(day: _Day, p: dict[str, np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    h = day.hours
    weekly = np.where(day.sunday, 0.85, np.where(day.weekend, 0.93, 1.0))
    weather = day.interpolate(p["day"])
    cycle_pm = (0.75 + 0.35 * _bump(h, 8.5, 1.5) + 0.55 * _bump(h, 21, 2.0)) * weekly
    pm25 = p["pm25"][:, None] * (1 + 0.35 * day.winter) * cycle_pm * weather
    pm25 *= rng.lognormal(0, 0.12, pm25.shape)
    dust = p["dust"][day.index]
    pm10 = pm25 * p["pm10_ratio"][:, None] + dust * rng.lognormal(0, 0.2, pm25.shape)
    cycle_no2 = (0.55 + 0.8 * _bump(h, 8.0, 1.2) + 0.7 * _bump(h, 19.0, 1.6)) * np.where(
        day.sunday, 0.75, np.where(day.weekend, 0.9, 1.0)
    )
    no2 = p["no2"][:, None] * (1 + 0.2 * day.winter) * cycle_no2 * np.sqrt(weather)
    no2 *= rng.lognormal(0, 0.15, no2.shape)
    return [pm25, pm10, no2]


def _water(day: _Day, p: dict[str, np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    h = day.hours
    cycle = 0.25 + 0.9 * _bump(h, 7.5, 1.3) + 0.55 * _bump(h, 13.5, 1.5) + 0.8 * _bump(h, 20.5, 1.8)
    weekly = np.where(day.weekend, 1.06, 1.0)
    season = 1 + (0.25 + p["summer"][:, None]) * day.summer
    flow = p["level"][:, None] * cycle * weekly * season * day.interpolate(p["day"])
    flow *= rng.lognormal(0, 0.15, flow.shape)
    steps = day.first_step + np.arange(STEPS_PER_DAY)
    flow += np.where(steps[None, :] >= p["leak_from"][:, None], p["leak_rate"][:, None], 0.0)
    return [flow]


def _waste(
    day: _Day, p: dict[str, np.ndarray], rng: np.random.Generator, fill_curve: np.ndarray
) -> list[np.ndarray]:
    """Fill level in percent: filling along the day's cycle since the last collection."""
    d = day.index
    k = np.arange(STEPS_PER_DAY)[None, :]
    collect = p["collect_step"][:, None]
    today = p["collected"][:, d][:, None] & (k >= collect)
    last_day = np.where(today, d, p["last_before"][:, d][:, None])
    last_step = np.where(last_day >= 0, last_day * STEPS_PER_DAY + collect, 0)
    now = day.first_step + k
    filled_days = fill_curve[now] - fill_curve[last_step]
    season = 1 + 0.3 * p["summer"][:, None] * day.summer
    level = 100 * p["fill_per_day"][:, None] * filled_days * season * day.interpolate(p["day"])
    level = level * rng.lognormal(0, 0.05, level.shape) + rng.normal(0, 1.0, level.shape)
    return [np.clip(level, 0.0, 100.0)]


def _streetlight(day: _Day, p: dict[str, np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + day.doy) / 365.0)
    cos_h0 = np.clip(-np.tan(p["lat"]) * np.tan(declination), -1, 1)
    half_day_hours = np.degrees(np.arccos(cos_h0)) / 15.0
    solar_noon_utc = 12.0 - p["lon"] / 15.0
    from_noon = np.abs(day.utc_hours[None, :] - solar_noon_utc[:, None])
    # Photocells switch on a little after sunset and off a little before sunrise.
    on = from_noon > (half_day_hours[:, None] + 0.25)
    dimmed = (day.hours >= 0) & (day.hours < 5)
    power = p["kw"][:, None] * np.where(dimmed[None, :], 0.5, 1.0)
    energy = np.where(on, power * 0.25, 0.0) * rng.normal(1, 0.03, on.shape)
    return [np.maximum(energy, 0.0)]


def _traffic(day: _Day, p: dict[str, np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    h = day.hours
    cycle = (
        0.04
        + 0.95 * _bump(h, 8.0, 1.3)
        + 0.55 * _bump(h, 13.0, 2.0)
        + 1.0 * _bump(h, 18.5, 1.8)
        + 0.3 * _bump(h, 22.0, 1.5)
    )
    weekly = np.where(day.sunday, 0.7, np.where(day.weekend, 0.85, 1.0))
    season = 1 + p["summer"][:, None] * day.summer
    lam = p["peak"][:, None] * cycle * weekly * season * day.interpolate(p["day"])
    count = rng.poisson(lam).astype(float)
    load = np.clip(count / (p["peak"][:, None] * 1.4), 0, 1.5)
    speed = p["free_speed"][:, None] * (1 - 0.35 * load**2) + rng.normal(0, 3, count.shape)
    return [count, np.clip(speed, 5.0, None)]


class _Generator:
    """Generates the plan's days in order, carrying what spans days (stuck values)."""

    def __init__(self, plan: ReadingsPlan) -> None:
        self.plan = plan
        sensors = plan.sensors
        self.entity_id = pa.array([s.id for s in sensors], pa.string())
        self.entity_type = pa.array([s.entity_type for s in sensors], pa.string())
        self.area_code = pa.array([s.area_code for s in sensors], pa.string())
        units = {a.name: a.unit for s in sensors for a in s.attributes}
        names = sorted(set(plan.series_attribute))
        name_index = {name: i for i, name in enumerate(names)}
        self.attribute = pa.array(names, pa.string())
        self.unit = pa.array([units[n] for n in names], pa.string())
        self.series_attr_idx = np.array([name_index[a] for a in plan.series_attribute], np.int64)
        self.decimals = np.array([DECIMALS.get(a, 3) for a in plan.series_attribute])
        self.source = pa.array(["demo"], pa.string())
        self.stuck_values: dict[int, float] = {}
        self.next_interval = 0
        self.open_intervals: list[tuple[int, _Interval]] = []
        # Cumulative daily fill (in days' worth) at each step, for the waste model.
        local = (np.arange(STEPS_PER_DAY) / 4 + LOCAL_OFFSET_HOURS) % 24
        weights = 0.3 + _bump(local, 12.0, 2.5) + 1.2 * _bump(local, 20.5, 1.8)
        weights = weights / weights.sum()
        steps = plan.period.days * STEPS_PER_DAY
        self.fill_curve = np.concatenate([[0.0], np.cumsum(np.tile(weights, plan.period.days))])[
            :steps
        ]

    def day(self, index: int) -> pa.Table:
        plan = self.plan
        day = _Day(plan.period, index)
        rng = np.random.default_rng([plan.seed, 17, index])
        values = np.empty((plan.series, STEPS_PER_DAY))
        for block in plan.kinds:
            kind_rng = np.random.default_rng([plan.seed, 19, index, stable_int(block.kind.value)])
            if block.kind == SensorKind.AIR_QUALITY:
                parts = _air(day, block.params, kind_rng)
            elif block.kind == SensorKind.WATER:
                parts = _water(day, block.params, kind_rng)
            elif block.kind == SensorKind.WASTE:
                parts = _waste(day, block.params, kind_rng, self.fill_curve)
            elif block.kind == SensorKind.STREETLIGHT:
                parts = _streetlight(day, block.params, kind_rng)
            else:
                parts = _traffic(day, block.params, kind_rng)
            stacked = np.stack(parts, axis=1).reshape(block.n * len(parts), STEPS_PER_DAY)
            values[block.first_series : block.first_series + stacked.shape[0]] = stacked
        valid = np.ones(values.shape, dtype=bool)
        self._apply_intervals(day, values, valid)
        spikes = rng.random(values.shape) < SPIKE_RATE
        values[spikes] *= rng.uniform(3, 8, int(spikes.sum()))
        valid &= rng.random(values.shape) >= DROPOUT_RATE
        steps = day.first_step + np.arange(STEPS_PER_DAY)
        valid &= steps[None, :] < plan.silent_from[:, None]
        return self._table(day, values, valid)

    def _apply_intervals(self, day: _Day, values: np.ndarray, valid: np.ndarray) -> None:
        first, last = day.first_step, day.first_step + STEPS_PER_DAY
        intervals = self.plan.intervals
        while self.next_interval < len(intervals) and intervals[self.next_interval].start < last:
            self.open_intervals.append((self.next_interval, intervals[self.next_interval]))
            self.next_interval += 1
        still_open: list[tuple[int, _Interval]] = []
        for key, iv in self.open_intervals:
            a, b = max(iv.start, first) - first, min(iv.end, last) - first
            if b > a:
                row = iv.series
                if iv.fault == "gap":
                    valid[row, a:b] = False
                elif iv.fault == "stuck":
                    held = self.stuck_values.setdefault(key, float(values[row, a]))
                    values[row, a:b] = held
                elif iv.fault == "out":
                    values[row, a:b] = 0.0
                elif iv.fault == "burn":
                    values[row, a:b] = np.maximum(values[row, a:b], values[row].max())
            if iv.end > last:
                still_open.append((key, iv))
            else:
                self.stuck_values.pop(key, None)
        self.open_intervals = still_open

    def _table(self, day: _Day, values: np.ndarray, valid: np.ndarray) -> pa.Table:
        plan = self.plan
        flat = np.flatnonzero(valid.ravel())
        series = flat // STEPS_PER_DAY
        step = flat % STEPS_PER_DAY
        raw = values.ravel()[flat]
        decimals = self.decimals[series]
        rounded = np.empty_like(raw)
        for places in np.unique(decimals):
            sel = decimals == places
            rounded[sel] = np.round(raw[sel], int(places))
        sensor = pa.array(plan.series_sensor[series])
        n = len(flat)
        return pa.Table.from_arrays(
            [
                pa.array(day.start_us + step * STEP_US, pa.timestamp("us", tz="UTC")),
                self.entity_id.take(sensor),
                self.entity_type.take(sensor),
                self.attribute.take(pa.array(self.series_attr_idx[series])),
                pa.array(rounded, pa.float64()),
                pa.nulls(n, pa.string()),
                self.unit.take(pa.array(self.series_attr_idx[series])),
                self.area_code.take(sensor),
                self.source.take(pa.array(np.zeros(n, np.int64))),
            ],
            schema=OBSERVATIONS_SCHEMA,
        )


def iter_days(plan: ReadingsPlan) -> Iterator[tuple[date, pa.Table]]:
    """Each day of the period with its readings (all series), in order."""
    generator = _Generator(plan)
    for index in range(plan.period.days):
        yield plan.period.day(index), generator.day(index)


def generate_readings(
    sensors: Sequence[Sensor], areas: Sequence[Area], *, seed: int, period: Period
) -> pa.Table:
    """All readings of a (short) period as one table: for tests and small exports."""
    plan = plan_readings(sensors, areas, seed=seed, period=period)
    tables = [table for _, table in iter_days(plan)]
    if not tables:
        return OBSERVATIONS_SCHEMA.empty_table()
    return pa.concat_tables(tables)
