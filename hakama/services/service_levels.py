"""Service levels of citizen requests for some areas and one period: how many were filed and
resolved, the backlog at the period's end, the median time to resolve and the share resolved
within the service's target, overall and per service.

Public figures: counts below the minimum cell size are given as None (suppressed) unless the
reader is staff of the area.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.periods import Period
from hakama.services.platform import Platform
from hakama.storage.schema_requests import service_requests, services


@dataclass(frozen=True)
class Levels:
    """One line of the table: all services, or one."""

    key: str  # "" for all services, else the service code
    names: dict[str, str]
    filed: int
    resolved: int
    backlog: int
    median_hours: float | None
    within_target: float | None  # % of resolved requests resolved by their expected time

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("fr") or self.names.get("en") or self.key


@dataclass(frozen=True)
class ServiceLevels:
    period: Period
    total: Levels
    by_service: list[Levels] = field(default_factory=list)
    by_area: dict[str, Levels] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.total.filed > 0 or self.total.resolved > 0 or self.total.backlog > 0


def _at(day: object) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)  # type: ignore[attr-defined]


def _levels(
    key: str,
    names: dict[str, str],
    rows: Sequence[Any],
    start: datetime,
    end: datetime,
) -> Levels:
    filed = [r for r in rows if start <= r.requested_at < end]
    resolved = [r for r in rows if r.resolved_at is not None and start <= r.resolved_at < end]
    backlog = [
        r
        for r in rows
        if r.requested_at < end
        and not (r.resolved_at is not None and r.resolved_at < end)
        and not (r.closed_at is not None and r.closed_at < end)
    ]
    hours = [(r.resolved_at - r.requested_at).total_seconds() / 3600 for r in resolved]
    timed = [r for r in resolved if r.expected_at is not None]
    within = (
        100.0 * sum(1 for r in timed if r.resolved_at <= r.expected_at) / len(timed)
        if timed
        else None
    )
    return Levels(
        key,
        names,
        len(filed),
        len(resolved),
        len(backlog),
        statistics.median(hours) if hours else None,
        within,
    )


def levels(platform: Platform, area_codes: Sequence[str], period: Period) -> ServiceLevels:
    """Service levels of the requests of `area_codes` (the communes) over `period`."""
    start, end = _at(period.start), _at(period.end)
    with platform.db.connect() as conn:
        rows = conn.execute(
            sa.select(
                service_requests.c.area_code,
                service_requests.c.service_code,
                service_requests.c.service_name,
                service_requests.c.requested_at,
                service_requests.c.resolved_at,
                service_requests.c.closed_at,
                service_requests.c.expected_at,
            ).where(
                service_requests.c.area_code.in_(list(area_codes)),
                service_requests.c.requested_at < end,
                service_requests.c.merged_into.is_(None),
                sa.or_(
                    service_requests.c.resolved_at.is_(None),
                    service_requests.c.resolved_at >= start,
                ),
            )
        ).all()
        catalogue = {
            r.code: dict(r.names)
            for r in conn.execute(sa.select(services.c.code, services.c.names))
        }
    by_code: dict[str, list[Any]] = {}
    by_area: dict[str, list[Any]] = {}
    fallback: dict[str, str] = {}
    for r in rows:
        by_code.setdefault(r.service_code, []).append(r)
        by_area.setdefault(r.area_code, []).append(r)
        fallback.setdefault(r.service_code, r.service_name)
    per_service = [
        _levels(code, catalogue.get(code) or {"fr": fallback[code]}, found, start, end)
        for code, found in by_code.items()
    ]
    per_service = [s for s in per_service if s.filed or s.resolved or s.backlog]
    per_service.sort(key=lambda s: (-s.filed, s.key))
    return ServiceLevels(
        period,
        _levels("", {}, rows, start, end),
        per_service,
        {code: _levels(code, {}, found, start, end) for code, found in by_area.items()},
    )
