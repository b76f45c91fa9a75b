"""A commune's profile: its census (2024 beside 2014), its live indicators with their trend and
place among the communes, its service requests, and — for the area's staff — its open alerts
and the health of its sensors. Every figure says its period, source and sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from hakama.analytics.engines import Engine, open_engine
from hakama.core import census
from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import NotFound
from hakama.core.indicators import Grain, IndicatorDefinition, Quality
from hakama.core.periods import Period, closest
from hakama.core.territory import Area, Level
from hakama.services import alerts, comparisons, devices, disparities, indicators, territory
from hakama.services.platform import Platform
from hakama.services.service_levels import ServiceLevels, levels


@dataclass(frozen=True)
class IndicatorLine:
    """One live indicator for the commune this period: value, trend and place."""

    definition: IndicatorDefinition
    compared: comparisons.Compared | None
    province: float | None
    rank: int | None
    ranked: int  # how many communes have a usable value

    @property
    def value(self) -> float | None:
        v = self.compared.current if self.compared else None
        return v.value if v is not None else None


@dataclass(frozen=True)
class Sensor:
    device_id: str
    entity_type: str
    last_seen_at: datetime | None
    disabled: bool
    alerts: list[str]  # messages of the open sensor alerts


@dataclass(frozen=True)
class Profile:
    area: Area
    province: Area | None
    period: Period
    staff: bool
    census: list[census.CensusFigure]
    indicators: list[IndicatorLine]
    requests: ServiceLevels
    composite: disparities.CompositeStanding | None
    composite_size: int
    alerts: list[alerts.AlertView] | None  # None: not staff
    sensors: list[Sensor] | None  # None: not staff
    composite_scores: dict[str, float | None] = field(default_factory=dict)  # commune → score


def latest_complete_month(platform: Platform) -> date | None:
    """The latest month with complete values of a monthly indicator."""
    found = [
        indicators.latest_period(platform, d.id, complete_only=True)
        for d in indicators.catalogue(platform)
        if d.grain is Grain.MONTH
    ]
    return max((d for d in found if d is not None), default=None)


def default_period(platform: Platform) -> Period:
    """The latest month with complete values of a monthly indicator (or the last month)."""
    latest = latest_complete_month(platform)
    if latest is None:
        today = date.today()
        index = today.year * 12 + today.month - 2
        latest = date(index // 12, index % 12 + 1, 1)
    return Period(latest, Grain.MONTH)


def province_of(platform: Platform, area: Area) -> tuple[Area | None, list[Area]]:
    """The area's province (itself, for a province) and that province's communes."""
    group = next(
        (g for g in indicators.groups(platform) if g.parent.code in (area.code, area.parent_code)),
        None,
    )
    return (group.parent, list(group.children)) if group else (None, [])


def indicator_lines(
    platform: Platform,
    area: Area,
    communes: list[Area],
    period: Period,
    *,
    actor: Actor,
    engine: Engine,
    province_code: str | None,
) -> list[IndicatorLine]:
    """Every indicator the actor may read, for `area` this period, with trend and rank."""
    chain = territory.area_chain(platform, area.code)
    codes = [a.code for a in communes]
    lines: list[IndicatorLine] = []
    for d in indicators.catalogue(platform):
        if not indicators.can_read(actor, d, chain):
            continue
        own = closest(period, d.grain)  # stored values: a page must stay fast
        c = comparisons.compare(platform, d.id, own, actor=actor, engine=engine)
        ranks = c.ranks(codes)
        province = c.value(province_code) if province_code else None
        lines.append(
            IndicatorLine(d, c.rows.get(area.code), province, ranks.get(area.code), len(ranks))
        )
    return lines


def profile(
    platform: Platform, code: str, *, actor: Actor, period: Period | None = None
) -> Profile:
    """The profile of the commune (or province) `code` for `period` (default: the latest month)."""
    area = territory.get_area(platform, code)
    if area.level not in (Level.COMMUNE, Level.PROVINCE):
        raise NotFound(f"{code} is a {area.level.value}: profiles are for communes and provinces")
    period = period or default_period(platform)
    province, communes = province_of(platform, area)
    chain = territory.area_chain(platform, code)
    staff = allowed(actor, Action.READ_INTERNAL, chain)
    with open_engine("duckdb", platform.lake) as engine:
        lines = indicator_lines(
            platform,
            area,
            communes,
            period,
            actor=actor,
            engine=engine,
            province_code=province.code if province else None,
        )
    members = [a.code for a in communes] if area.level is Level.PROVINCE else [area.code]
    standing = None
    size = 0
    scores: dict[str, float | None] = {}
    if communes:
        try:
            result = disparities.composite(platform, actor=actor)
            standing = result.standing(area.code)
            size = sum(1 for c in result.communes if c.rank is not None)
            scores = {c.area_code: c.score for c in result.communes}
        except NotFound:
            pass
    return Profile(
        area=area,
        province=province,
        period=period,
        staff=staff,
        census=census.figures(area, province if province and province.code != area.code else None),
        indicators=lines,
        requests=levels(platform, members, period),
        composite=standing,
        composite_size=size,
        alerts=alerts.list_alerts(platform, actor=actor, state="open", area=code)
        if staff
        else None,
        sensors=_sensors(platform, code, actor) if staff else None,
        composite_scores=scores,
    )


def _sensors(platform: Platform, code: str, actor: Actor) -> list[Sensor]:
    open_alerts = alerts.list_alerts(platform, actor=actor, state="open", area=code)
    by_subject: dict[str, list[str]] = {}
    for a in open_alerts:
        if a.kind != "indicator":
            by_subject.setdefault(a.subject, []).append(a.message)
    return [
        Sensor(
            d.device_id,
            d.entity_type,
            d.last_seen_at,
            d.disabled,
            by_subject.get(d.entity_id, []) + by_subject.get(d.device_id, []),
        )
        for d in devices.list_devices(platform, actor=actor, area_code=code)
    ]


def usable(quality: Quality) -> bool:
    return quality in comparisons.USABLE
