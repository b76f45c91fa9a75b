"""The demo's administrative service records: what residents asked their commune for, and when
it was delivered.

Volumes per 1,000 inhabitants and year, online shares and processing times are set per service
below; each commune adds its own digital uptake (urban communes use the online channel much
more) and its own speed. Counter requests are filed in office hours on working days; online
ones at any hour. Signature legalisation needs the signer in person, so it is never online.
Records are generated month by month (`iter_months`) so any `scale` streams to the lake in
bounded memory; record ids are `demo-YYYYMM-0000001`, numbered in time order within a month.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from hakama.core.territory import Area
from hakama.demo.requests import DAY_US, labels, period_bounds
from hakama.demo.sensors import is_urban, leaf_communes, population, stable_int
from hakama.storage.lake_schemas import ADMIN_RECORDS_SCHEMA

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class AdminService:
    """One administrative service: demand, how much of it can go online, how long it takes."""

    code: str
    per_1000: float  # requests per 1,000 inhabitants per year
    online_factor: float  # multiplies the commune's digital uptake (0: counter only)
    counter_hours: float  # median hours from request to delivery at the counter
    online_hours: float  # median hours when asked online
    rejection_rate: float


SERVICES: tuple[AdminService, ...] = (
    AdminService("civil_status_certificate", 400, 1.0, 0.5, 48, 0.01),
    AdminService("signature_legalisation", 300, 0.0, 0.3, 0, 0.02),
    AdminService("residence_certificate", 80, 0.7, 30, 72, 0.03),
    AdminService("building_permit", 3.5, 1.3, 45 * 24, 30 * 24, 0.12),
    AdminService("business_licence", 5, 1.0, 20 * 24, 12 * 24, 0.08),
)


@dataclass(frozen=True)
class CommuneOffice:
    """A commune's digital uptake (0–1) and speed factor (>1 slower)."""

    online_uptake: float
    slowness: float


def commune_office(area: Area, *, seed: int) -> CommuneOffice:
    rng = np.random.default_rng([seed, stable_int(area.code), 37])
    urban = is_urban(area)
    return CommuneOffice(
        online_uptake=float(rng.uniform(0.4, 0.65) if urban else rng.uniform(0.08, 0.3)),
        slowness=float((1.0 if urban else 1.6) * rng.lognormal(0, 0.3)),
    )


def _months(start: date, end: date) -> list[tuple[date, date]]:
    """(first day, last day) of each calendar month overlapping start..end, clipped."""
    out: list[tuple[date, date]] = []
    first = start
    while first <= end:
        following = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(end, following - timedelta(days=1))
        out.append((first, last))
        first = following
    return out


def _month_records(
    communes: Sequence[Area], *, seed: int, scale: float, first: date, last: date, as_of: int
) -> pa.Table:
    days = (last - first).days + 1
    first_us, _ = period_bounds(first, last)
    weekday = np.array([(first + timedelta(days=i)).weekday() for i in range(days)])
    working = np.flatnonzero(weekday < 5)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "area", "svc", "online", "due")}
    for ci, area in enumerate(communes):
        office = commune_office(area, seed=seed)
        rng = np.random.default_rng([seed, stable_int(area.code), first.toordinal(), 41])
        for si, service in enumerate(SERVICES):
            expected = population(area) / 1000 * service.per_1000 * scale * days / 365.0
            n = int(rng.poisson(expected))
            if n == 0:
                continue
            online = rng.random(n) < min(0.95, office.online_uptake * service.online_factor)
            # Counter: a working day, 08:30–16:30 local (07:30–15:30 UTC); online: any day, hour.
            counter_day = rng.choice(working, n) if working.size else rng.integers(0, days, n)
            counter_hour = rng.uniform(7.5, 15.5, n)
            online_day = rng.integers(0, days, n)
            online_hour = (rng.normal(13, 5, n) - 1.0) % 24
            day = np.where(online, online_day, counter_day)
            hour = np.where(online, online_hour, counter_hour)
            time = first_us + day * DAY_US + (hour * 3600).astype(np.int64) * 1_000_000
            median = np.where(online, service.online_hours, service.counter_hours) * office.slowness
            duration = median * rng.lognormal(0, 0.6, n)
            parts["time"].append(time)
            parts["area"].append(np.full(n, ci))
            parts["svc"].append(np.full(n, si))
            parts["online"].append(online)
            parts["due"].append(time + (duration * 3600).astype(np.int64) * 1_000_000)
    if not parts["time"]:
        return ADMIN_RECORDS_SCHEMA.empty_table()
    arr = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((arr["svc"], arr["area"], arr["time"]))
    arr = {k: v[order] for k, v in arr.items()}
    n = len(order)
    rng = np.random.default_rng([seed, first.toordinal(), 43])
    rejected = rng.random(n) < np.array([s.rejection_rate for s in SERVICES])[arr["svc"]]
    delivered = (arr["due"] < as_of) & ~rejected
    status = np.where(rejected, 2, np.where(delivered, 0, 1))
    prefix = f"demo-{first:%Y%m}-"
    return pa.Table.from_arrays(
        [
            pa.array(arr["time"], TS),
            pa.array([f"{prefix}{i:07d}" for i in range(1, n + 1)], pa.string()),
            labels([a.code for a in communes], arr["area"]),
            labels([s.code for s in SERVICES], arr["svc"]),
            labels(("counter", "online"), arr["online"].astype(np.int64)),
            labels(("delivered", "pending", "rejected"), status),
            pa.array(arr["due"], TS, mask=~delivered),
        ],
        schema=ADMIN_RECORDS_SCHEMA,
    )


def iter_months(
    areas: Sequence[Area], *, seed: int, scale: float, start: date, end: date
) -> Iterator[pa.Table]:
    """The records of each calendar month of start..end, in order, as of the end."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    communes = leaf_communes(areas)
    _, as_of = period_bounds(start, end)
    for first, last in _months(start, end):
        yield _month_records(communes, seed=seed, scale=scale, first=first, last=last, as_of=as_of)


def generate_records(
    areas: Sequence[Area], *, seed: int, scale: float, start: date, end: date
) -> pa.Table:
    """All records of start..end as one table (pure; for tests and small scales)."""
    tables = list(iter_months(areas, seed=seed, scale=scale, start=start, end=end))
    return pa.concat_tables(tables) if tables else ADMIN_RECORDS_SCHEMA.empty_table()
