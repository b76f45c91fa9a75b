"""The council report's content for one area (a province or a commune) and one period, gathered
from the services the pages use, so the report and the pages show the same figures.

The content is language-free data; `pdf` and `xlsx` write it in Arabic, French or English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hakama.analytics.engines import open_engine
from hakama.core import census
from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.core.indicators import IndicatorDefinition
from hakama.core.periods import Period
from hakama.core.territory import Area, Level
from hakama.services import alerts, comparisons, disparities, indicators, profiles, territory
from hakama.services.platform import Platform
from hakama.services.service_levels import ServiceLevels, levels

FORMATS = ("pdf", "xlsx")
LANGUAGES = ("ar", "fr", "en")


@dataclass(frozen=True)
class KeyFigure:
    """One indicator for the report's area: this period, the previous one, last year, rank."""

    definition: IndicatorDefinition
    compared: comparisons.Compared | None
    rank: int | None
    ranked: int
    per_commune: dict[str, float | None]  # commune code → this period's usable value


@dataclass(frozen=True)
class Lagging:
    standing: disparities.CompositeStanding
    moves: list[disparities.Move]


@dataclass(frozen=True)
class CouncilReport:
    area: Area
    province: Area
    communes: list[Area]
    period: Period
    generated_at: datetime
    key_figures: list[KeyFigure]
    composite: disparities.Composite | None
    lagging: list[Lagging]  # the flagged communes (the report's commune alone, for a commune)
    service_levels: ServiceLevels
    alerts: list[alerts.AlertView]
    census: list[census.CensusFigure]
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # code → names

    @property
    def is_province(self) -> bool:
        return self.area.code == self.province.code

    @property
    def has_live_data(self) -> bool:
        return any(
            k.compared and k.compared.current and k.compared.current.value is not None
            for k in self.key_figures
        )

    def name(self, code: str | None, lang: str) -> str:
        if code is None:
            return ""
        names = self.names.get(code, {})
        return names.get(lang) or names.get("fr") or names.get("en") or code

    def input_name(self, key: str, lang: str) -> str:
        if self.composite is None:
            return key
        found = next((i for i in self.composite.inputs if i.key == key), None)
        return (found.names.get(lang) or found.names.get("en") or key) if found else key

    def input_unit(self, key: str) -> str:
        if self.composite is None:
            return ""
        found = next((i for i in self.composite.inputs if i.key == key), None)
        if found is None:
            return ""
        if found.source == "census":
            return "km" if key.endswith("_km") else "%"
        return next((d.unit for d in (k.definition for k in self.key_figures) if d.id == key), "")


def check_request(area: str, lang: str, fmt: str) -> None:
    """Refuse an unknown language or format before any work (the area is checked by `build`)."""
    if lang not in LANGUAGES:
        raise Invalid(f"language {lang!r}: choose ar, fr or en")
    if fmt not in FORMATS:
        raise Invalid(f"format {fmt!r}: choose pdf or xlsx")
    if not area:
        raise Invalid("an area code is required (a province or a commune)")


def _as_of(period: Period) -> date:
    """The last month starting in the period: where the composite's live window ends."""
    last = period.end - timedelta(days=1)
    return date(last.year, last.month, 1)


def build(platform: Platform, *, area_code: str, period: Period, actor: Actor) -> CouncilReport:
    """Gather the report of `area_code` (a province or one of its communes) for `period`."""
    try:
        area = territory.get_area(platform, area_code)
    except NotFound:
        raise NotFound(f"no area {area_code!r}: give a province or commune code") from None
    if area.level not in (Level.PROVINCE, Level.COMMUNE):
        raise Invalid(
            f"{area_code} is a {area.level.value}: a report is for a province or a commune"
        )
    province, communes = profiles.province_of(platform, area)
    if province is None:
        raise NotFound(f"{area_code} has no province with communes to compare it with")
    codes = [a.code for a in communes]
    chain = territory.area_chain(platform, area.code)
    figures: list[KeyFigure] = []
    with open_engine("duckdb", platform.lake) as engine:
        for d in indicators.catalogue(platform):
            if not indicators.can_read(actor, d, chain):
                continue
            c = comparisons.compare(platform, d.id, period, actor=actor, engine=engine)
            ranks = c.ranks(codes)
            figures.append(
                KeyFigure(
                    d,
                    c.rows.get(area.code),
                    ranks.get(area.code),
                    len(ranks),
                    {code: c.value(code) for code in codes},
                )
            )
    composite: disparities.Composite | None
    try:
        composite = disparities.composite(platform, actor=actor, as_of=_as_of(period))
        before = disparities.composite(platform, actor=actor, as_of=_as_of(period.previous()))
        moved = disparities.moves(composite, before)
    except NotFound:
        composite, moved = None, {}
    if composite is None:
        lagging: list[Lagging] = []
    elif area.level is Level.PROVINCE:
        lagging = [Lagging(c, moved.get(c.area_code, [])) for c in composite.communes if c.flagged]
    else:
        mine = composite.standing(area.code)
        lagging = [Lagging(mine, moved.get(area.code, []))] if mine else []
    members = codes if area.level is Level.PROVINCE else [area.code]
    return CouncilReport(
        area=area,
        province=province,
        communes=communes,
        period=period,
        generated_at=utcnow(),
        key_figures=figures,
        composite=composite,
        lagging=lagging,
        service_levels=levels(platform, members, period),
        alerts=_period_alerts(platform, actor, area, members, period),
        census=census.figures(area, province if area.level is Level.COMMUNE else None),
        names={a.code: dict(a.names) for a in [province, *communes]},
    )


def _period_alerts(
    platform: Platform, actor: Actor, area: Area, members: list[str], period: Period
) -> list[alerts.AlertView]:
    """Alerts open at some time during the period, of the area or its communes."""
    wanted = {area.code, *members}
    start = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    end = datetime(period.end.year, period.end.month, period.end.day, tzinfo=UTC)
    return [
        a
        for a in alerts.list_alerts(platform, actor=actor, state="all", limit=2000)
        if a.area_code in wanted
        and a.opened_at < end
        and (a.closed_at is None or a.closed_at >= start)
    ]
