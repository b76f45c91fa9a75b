"""The demo's citizen service requests and their histories, per commune, from a seed.

Volumes are proportional to each commune's population (urban residents report more), seasonal
per category (waste and noise up in summer, roads and sanitation after the winter rains), on
weekdays and waking hours more than at night. Each commune has its own median resolution time
(rural communes are slower, and a few communes are much slower than the rest), so the
disparity between communes is plain in any indicator computed from these tables.

`generate_requests(...)` is pure and returns the `service_requests` table of `docs/lake.md`;
the Open311 seed step loads the same rows into the operational database. `service_code` is the
category code (one demo service per category). Statuses follow the request status machine:
open → acknowledged → in_progress → resolved → closed, with reopening. A request's state is the
state at the end of the period ("the export"); events after it are not included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hakama.core.territory import Area
from hakama.demo.sensors import is_urban, leaf_communes, points_inside, population, stable_int
from hakama.storage.lake_schemas import REQUEST_EVENTS_SCHEMA, SERVICE_REQUESTS_SCHEMA

TS = pa.timestamp("us", tz="UTC")
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


@dataclass(frozen=True)
class Category:
    """A kind of request: its share (urban, rural), target time, effort and season."""

    code: str
    urban_share: float
    rural_share: float
    target_hours: float
    effort: float  # multiplies the commune's median resolution time
    summer: float  # +x in August, -x in February (negative: a winter category)


CATEGORIES: tuple[Category, ...] = (
    Category("public_lighting", 0.17, 0.16, 72, 1.0, -0.2),
    Category("waste", 0.19, 0.18, 48, 0.5, 0.35),
    Category("roads", 0.13, 0.2, 240, 3.0, -0.4),
    Category("water_leak", 0.08, 0.09, 24, 0.6, 0.3),
    Category("sanitation", 0.09, 0.11, 72, 1.2, -0.3),
    Category("green_spaces", 0.05, 0.02, 168, 2.0, 0.2),
    Category("stray_animals", 0.07, 0.08, 72, 1.5, 0.1),
    Category("noise", 0.07, 0.02, 48, 0.7, 0.5),
    Category("illegal_dumping", 0.09, 0.12, 120, 1.5, 0.2),
    Category("public_space_occupation", 0.06, 0.02, 240, 2.5, 0.3),
)

#: Requests per 1,000 inhabitants per year (scale 1).
RATE_URBAN = 60.0
RATE_RURAL = 35.0

CHANNELS = ("web", "app", "phone", "counter")
CHANNEL_SHARES_URBAN = (0.35, 0.25, 0.2, 0.2)
CHANNEL_SHARES_RURAL = (0.15, 0.1, 0.35, 0.4)
LANGUAGES = ("ar", "fr", "en")
LANGUAGE_SHARES = (0.7, 0.28, 0.02)
REOPEN_RATE = 0.06
UNRESOLVED_RATE = 0.03  # requests nobody ever resolves (lost, out of competence…)
STATUSES = ("open", "acknowledged", "in_progress", "resolved", "closed")
EVENTS = (
    "created",
    "acknowledged",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "commented",
)


@dataclass(frozen=True)
class CommuneService:
    """How fast a commune answers: median hours to resolve and to acknowledge."""

    resolve_median_hours: float
    ack_median_hours: float


def commune_service(area: Area, *, seed: int) -> CommuneService:
    """A commune's speed: rural slower; about one commune in six much slower (×3)."""
    rng = np.random.default_rng([seed, stable_int(area.code), 23])
    base = 40.0 if is_urban(area) else 110.0
    laggard = 3.0 if rng.random() < 0.17 else 1.0
    return CommuneService(
        resolve_median_hours=float(base * laggard * rng.lognormal(0, 0.3)),
        ack_median_hours=float((3.0 if is_urban(area) else 12.0) * laggard),
    )


def period_bounds(start: date, end: date) -> tuple[int, int]:
    """Microseconds of `start` 00:00 UTC and of the day after `end` (exclusive)."""
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    return int(first.timestamp()) * 1_000_000, int(last.timestamp()) * 1_000_000


def _day_weights(start: date, days: int, summer: float) -> np.ndarray:
    doy = np.array([(start + timedelta(days=i)).timetuple().tm_yday for i in range(days)])
    weekday = np.array([(start + timedelta(days=i)).weekday() for i in range(days)])
    season = 1 + summer * np.cos(2 * np.pi * (doy - 222) / 365.25)
    weekly = np.where(weekday == 6, 0.6, np.where(weekday == 5, 0.8, 1.0))
    w = season * weekly
    return np.asarray(w / w.sum())


def _hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Local hours of filing: mostly 8–22, a few at night; returned as UTC hours (UTC+1)."""
    local = np.where(rng.random(n) < 0.92, rng.normal(14, 3.8, n) % 24, rng.uniform(0, 24, n))
    return np.asarray((local - 1.0) % 24)


def generate_requests(
    areas: Sequence[Area], *, seed: int, scale: float, start: date, end: date
) -> pa.Table:
    """Every demo service request filed from `start` to `end` (inclusive), as of `end`.

    Columns are `SERVICE_REQUESTS_SCHEMA`, rows sorted by filing time, ids `demo-0000001`…
    in that order. Pure: the same arguments give the same table.
    """
    return _generate(areas, seed=seed, scale=scale, start=start, end=end)[0]


def generate_requests_and_events(
    areas: Sequence[Area], *, seed: int, scale: float, start: date, end: date
) -> tuple[pa.Table, pa.Table]:
    """The requests and their events (`REQUEST_EVENTS_SCHEMA`, sorted by time)."""
    return _generate(areas, seed=seed, scale=scale, start=start, end=end)


def _generate(
    areas: Sequence[Area], *, seed: int, scale: float, start: date, end: date
) -> tuple[pa.Table, pa.Table]:
    if scale <= 0:
        raise ValueError("scale must be positive")
    if end < start:
        raise ValueError("end must not be before start")
    days = (end - start).days + 1
    first_us, as_of = period_bounds(start, end)
    codes = [c.code for c in CATEGORIES]
    day_weights = {c.code: _day_weights(start, days, c.summer) for c in CATEGORIES}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("time", "cat", "area", "lat", "lon", "channel", "lang", "resolve", "ack")
    }
    communes = leaf_communes(areas)
    for ci, area in enumerate(communes):
        rng = np.random.default_rng([seed, stable_int(area.code), 29])
        urban = is_urban(area)
        rate = RATE_URBAN if urban else RATE_RURAL
        expected = population(area) / 1000 * rate * scale * days / 365.0
        n = int(rng.poisson(expected))
        if n == 0:
            continue
        shares = np.array([c.urban_share if urban else c.rural_share for c in CATEGORIES])
        cat = rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum())
        day = np.empty(n, dtype=np.int64)
        for k, category in enumerate(CATEGORIES):
            sel = cat == k
            day[sel] = rng.choice(days, size=int(sel.sum()), p=day_weights[category.code])
        hours = _hours(rng, n)
        time = first_us + day * DAY_US + (hours * HOUR_US).astype(np.int64)
        geom = area.shape
        assert geom is not None
        points = points_inside(geom, n, rng)
        channel_p = CHANNEL_SHARES_URBAN if urban else CHANNEL_SHARES_RURAL
        service = commune_service(area, seed=seed)
        effort = np.array([c.effort for c in CATEGORIES])[cat]
        parts["time"].append(time)
        parts["cat"].append(cat)
        parts["area"].append(np.full(n, ci))
        parts["lon"].append(points[:, 0])
        parts["lat"].append(points[:, 1])
        parts["channel"].append(rng.choice(len(CHANNELS), size=n, p=channel_p))
        parts["lang"].append(rng.choice(len(LANGUAGES), size=n, p=LANGUAGE_SHARES))
        parts["resolve"].append(service.resolve_median_hours * effort * rng.lognormal(0, 0.8, n))
        parts["ack"].append(service.ack_median_hours * rng.lognormal(0, 0.7, n))
    if not parts["time"]:
        return SERVICE_REQUESTS_SCHEMA.empty_table(), REQUEST_EVENTS_SCHEMA.empty_table()
    arr = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((arr["area"], arr["time"]))
    arr = {k: v[order] for k, v in arr.items()}
    n = len(order)
    rng = np.random.default_rng([seed, 31])
    ids = pa.array([f"demo-{i:07d}" for i in range(1, n + 1)], pa.string())
    t0 = arr["time"] // 1_000_000 * 1_000_000  # whole seconds, as a real system stamps
    ack = t0 + _seconds(arr["ack"] * HOUR_US)
    assigned = ack + _seconds(rng.lognormal(np.log(2), 0.8, n) * HOUR_US)
    resolve_us = _seconds(arr["resolve"] * HOUR_US)
    first_resolved = np.maximum(assigned + HOUR_US, t0 + resolve_us)
    started = assigned + _seconds((first_resolved - assigned) * rng.uniform(0.1, 0.6, n))
    never = rng.random(n) < UNRESOLVED_RATE
    reopened = (rng.random(n) < REOPEN_RATE) & ~never
    reopen_at = first_resolved + _seconds(rng.uniform(1, 5, n) * DAY_US)
    final_resolved = np.where(
        reopened, reopen_at + _seconds(resolve_us * rng.uniform(0.3, 1.0, n)), first_resolved
    )
    closed = final_resolved + _seconds(rng.lognormal(np.log(72), 0.6, n) * HOUR_US)
    target = np.array([c.target_hours for c in CATEGORIES])[arr["cat"]]
    expected_at = t0 + _seconds(target * HOUR_US)
    OPEN, ACK, IN_PROGRESS, RESOLVED, CLOSED = range(5)

    def known(at: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        mask = at < as_of
        return mask if valid is None else mask & valid

    def status_at(at: np.ndarray | int) -> np.ndarray:
        """Each request's status (index into STATUSES) at instant(s) `at`, inclusive."""
        out = np.full(n, OPEN, dtype=np.int8)
        out[ack <= at] = ACK
        out[(started <= at) & ~never] = IN_PROGRESS
        out[(first_resolved <= at) & ~never] = RESOLVED
        out[(reopen_at <= at) & reopened] = IN_PROGRESS
        out[(final_resolved <= at) & reopened] = RESOLVED
        out[(closed <= at) & ~never] = CLOSED
        return out

    has_ack = known(ack)
    has_assigned = known(assigned)
    has_started = known(started, ~never)
    has_first = known(first_resolved, ~never)
    has_reopen = known(reopen_at, reopened)
    has_final = known(final_resolved, ~never)
    has_closed = known(closed, ~never)
    resolved_at = np.where(has_final, final_resolved, np.where(has_first, first_resolved, 0))
    resolved_valid = has_final | (has_first & ~has_reopen)
    category = labels(codes, arr["cat"])
    requests = pa.Table.from_arrays(
        [
            pa.array(t0, TS),
            ids,
            category,
            category,
            labels([a.code for a in communes], arr["area"]),
            pa.array(arr["lat"], pa.float64()),
            pa.array(arr["lon"], pa.float64()),
            labels(CHANNELS, arr["channel"]),
            labels(STATUSES, status_at(as_of - 1)),
            pa.array(expected_at, TS),
            pa.array(resolved_at, TS, mask=~resolved_valid),
            pa.array(closed, TS, mask=~has_closed),
            pa.array(reopened & has_reopen, pa.bool_()),
            labels(LANGUAGES, arr["lang"]),
            # The demo exports each request once, as it stands at the end of the period.
            pa.array(np.full(n, as_of - 1), TS),
        ],
        schema=SERVICE_REQUESTS_SCHEMA,
    )
    # Phone and counter requests are typed in by an agent; the others by the citizen.
    AGENT, CITIZEN, SYSTEM = range(3)
    filer = np.where(np.isin(arr["channel"], (2, 3)), AGENT, CITIZEN)
    commented = rng.random(n) < 0.2
    comment_at = t0 + _seconds((np.minimum(final_resolved, as_of) - t0) * rng.uniform(0.2, 0.9, n))
    # A comment leaves the status as it was: the request's status at that moment.
    comment_status = status_at(comment_at)
    event_specs: list[tuple[int, np.ndarray | int, np.ndarray, np.ndarray, np.ndarray | int]] = [
        (EVENTS.index("created"), OPEN, t0, np.ones(n, bool), filer),
        (EVENTS.index("acknowledged"), ACK, ack, has_ack, AGENT),
        (EVENTS.index("assigned"), ACK, assigned, has_assigned, AGENT),
        (EVENTS.index("in_progress"), IN_PROGRESS, started, has_started, AGENT),
        (EVENTS.index("resolved"), RESOLVED, first_resolved, has_first, AGENT),
        (EVENTS.index("reopened"), IN_PROGRESS, reopen_at, has_reopen, CITIZEN),
        (EVENTS.index("resolved"), RESOLVED, final_resolved, has_final & reopened, AGENT),
        (EVENTS.index("closed"), CLOSED, closed, has_closed, SYSTEM),
        (
            EVENTS.index("commented"),
            comment_status,
            comment_at,
            commented & known(comment_at),
            CITIZEN,
        ),
    ]
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("time", "idx", "event", "status", "actor")
    }
    for event, event_status, at, mask, actor in event_specs:
        idx = np.flatnonzero(mask)
        columns["time"].append(at[idx])
        columns["idx"].append(idx)
        columns["event"].append(np.full(idx.size, event, dtype=np.int8))
        for key, value in (("status", event_status), ("actor", actor)):
            if isinstance(value, np.ndarray):
                columns[key].append(value[idx].astype(np.int8))
            else:
                columns[key].append(np.full(idx.size, value, dtype=np.int8))
    ev = {k: np.concatenate(v) for k, v in columns.items()}
    order = np.lexsort((ev["idx"], ev["time"]))
    ev = {k: v[order] for k, v in ev.items()}
    idx = pa.array(ev["idx"])
    events = pa.Table.from_arrays(
        [
            pa.array(ev["time"], TS),
            requests["request_id"].combine_chunks().take(idx),
            requests["area_code"].combine_chunks().take(idx),
            requests["service_code"].combine_chunks().take(idx),
            requests["category"].combine_chunks().take(idx),
            labels(EVENTS, ev["event"]),
            labels(STATUSES, ev["status"]),
            labels(("agent", "citizen", "system"), ev["actor"]),
        ],
        schema=REQUEST_EVENTS_SCHEMA,
    )
    return requests, events


def labels(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """A string column from small integer codes (no Python string per row)."""
    return pa.array(list(names), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _seconds(us: np.ndarray) -> np.ndarray:
    """Durations in microseconds rounded to whole seconds."""
    return np.asarray(np.round(us / 1_000_000).astype(np.int64) * 1_000_000)


def median_resolution_hours(requests: pa.Table) -> dict[str, float]:
    """Median hours from filing to resolution per commune (resolved requests only)."""
    resolved = requests.filter(pc.is_valid(requests["resolved_at"]))
    hours = pc.divide(
        pc.cast(pc.subtract(resolved["resolved_at"], resolved["time"]), pa.int64()), HOUR_US
    )
    out: dict[str, float] = {}
    codes = resolved["area_code"].to_numpy(zero_copy_only=False)
    values = hours.to_numpy(zero_copy_only=False)
    for code in np.unique(codes):
        out[str(code)] = float(np.median(values[codes == code]))
    return out
