"""The public dashboards: `/dashboards` (themes → indicators, the province's latest value and the
communes ahead and behind), `/dashboards/{id}` (a chart over time per area, a map of the
communes coloured by value, the ranking, the method note, a CSV link) and
`/dashboards/composite` (the communes that lag behind across themes).

Every figure carries its sample size and quality: a value built on too few observations or on a
partly covered period is drawn as uncertain (hollow, greyed, marked ≈) so nobody reads it as a
confident number. Values come from `services.indicators`, the same as `/api/indicators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hakama.core.access import Actor
from hakama.core.errors import Forbidden, NotFound
from hakama.core.indicators import Direction, Grain, IndicatorDefinition, IndicatorValue, Quality
from hakama.core.periods import Period, month_short_names
from hakama.core.territory import Area
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.web import numbers, overview
from hakama.http.web.render import page_language, render
from hakama.reports import labels
from hakama.services import access, disparities, indicators, territory
from hakama.services.platform import Platform

router = APIRouter(include_in_schema=False)

#: From the best value to the worst (a colour-blind-safe sequential scale, teal → orange).
PALETTE = ("#1b7a6e", "#6aaa8f", "#c9c27a", "#e39a4d", "#c2462e")
UNCERTAIN = frozenset({Quality.TOO_FEW, Quality.PARTIAL, Quality.SUPPRESSED})
RANKING_SIZE = 3


@dataclass(frozen=True)
class Figure:
    """One area's value for one period, written for the page."""

    area_code: str
    name: str
    value: float | None
    text: str
    sample: int
    quality: str
    period_start: date

    @property
    def uncertain(self) -> bool:
        return Quality(self.quality) in UNCERTAIN


@dataclass(frozen=True)
class Card:
    """An indicator on the overview page."""

    definition: IndicatorDefinition
    period: date | None
    province: Figure | None
    ahead: list[Figure]
    behind: list[Figure]
    communes_with_value: int


def decimal(value: float | None, lang: str) -> str:
    """A value with as many decimals as it deserves, grouped the language's way."""
    if value is None:
        return "—"
    size = abs(value)
    pattern = "#,##0" if size >= 100 else "#,##0.0" if size >= 10 else "#,##0.##"
    return str(format_decimal(value, format=pattern, locale=numbers.number_locale(lang)))


def _figure(v: IndicatorValue, names: dict[str, str], lang: str) -> Figure:
    return Figure(
        v.area_code,
        names.get(v.area_code, v.area_code),
        v.value,
        decimal(v.value, lang),
        v.sample,
        v.quality.value,
        v.period_start,
    )


def _province_and_communes(platform: Platform) -> tuple[Area | None, list[Area]]:
    groups = indicators.groups(platform)
    if not groups:
        return None, []
    return groups[0].parent, list(groups[0].children)


def _best_first(figures: list[Figure], direction: Direction) -> list[Figure]:
    valued = [f for f in figures if f.value is not None]
    return sorted(
        valued, key=lambda f: f.value or 0.0, reverse=direction is Direction.HIGHER_IS_BETTER
    )


def _period(platform: Platform, indicator_id: str) -> date | None:
    return indicators.latest_period(
        platform, indicator_id, complete_only=True
    ) or indicators.latest_period(platform, indicator_id)


def _visible(platform: Platform, actor: Actor) -> list[IndicatorDefinition]:
    staff = access.is_staff(platform, actor)
    return [d for d in indicators.catalogue(platform) if d.public or staff]


def _card(
    platform: Platform,
    d: IndicatorDefinition,
    actor: Actor,
    province: Area | None,
    communes: list[Area],
    names: dict[str, str],
    lang: str,
) -> Card:
    period = _period(platform, d.id)
    if period is None:
        return Card(d, None, None, [], [], 0)
    values = indicators.series(platform, d.id, actor=actor, date_from=period, date_to=period)
    figures = {v.area_code: _figure(v, names, lang) for v in values}
    codes = {a.code for a in communes}
    ranked = _best_first([f for c, f in figures.items() if c in codes], d.direction)
    confident = [f for f in ranked if not f.uncertain] or ranked
    return Card(
        definition=d,
        period=period,
        province=figures.get(province.code) if province else None,
        ahead=confident[:RANKING_SIZE],
        behind=list(reversed(confident[-RANKING_SIZE:])) if len(confident) > RANKING_SIZE else [],
        communes_with_value=len(ranked),
    )


@router.get("/dashboards", response_class=HTMLResponse)
def dashboards(request: Request, platform: PlatformDep, actor: ActorDep) -> HTMLResponse:
    """Every theme's indicators with the latest value for the province and the communes."""
    lang = page_language(request)
    province, communes = _province_and_communes(platform)
    names = {a.code: a.name(lang) for a in territory.list_areas(platform)}
    themes: dict[str, list[Card]] = {}
    for d in _visible(platform, actor):
        themes.setdefault(d.theme, []).append(
            _card(platform, d, actor, province, communes, names, lang)
        )
    return render(
        request,
        "dashboards/index.html",
        themes=themes,
        province=province,
    )


@router.get("/dashboards/composite", response_class=HTMLResponse)
def composite(request: Request, platform: PlatformDep, actor: ActorDep) -> HTMLResponse:
    """The communes that lag behind: the composite ranking, its inputs and its method note."""
    lang = page_language(request)
    result = disparities.composite(platform, actor=actor)
    ranked = sorted(result.communes, key=lambda c: (c.rank is None, c.rank or 0))
    before = disparities.previous_as_of(platform)
    moves = (
        disparities.moves(result, disparities.composite(platform, actor=actor, as_of=before))
        if before
        else {}
    )
    return render(
        request,
        "dashboards/composite.html",
        result=result,
        communes=ranked,
        score=lambda v: decimal(v, lang),
        names={a.code: a.name(lang) for a in territory.list_areas(platform)},
        moves=moves,
        inputs={i.key: i for i in result.inputs},
        t=lambda k: labels.text(k, lang),
        previous=Period(before, Grain.MONTH).label(lang) if before else None,
    )


@router.get("/dashboards/{indicator_id}", response_class=HTMLResponse)
def indicator(
    request: Request, platform: PlatformDep, actor: ActorDep, indicator_id: str
) -> HTMLResponse:
    """One indicator: its series per area, the communes on a map and ranked, and how it is made."""
    lang = page_language(request)
    d = indicators.visible_definition(platform, actor, indicator_id)
    province, communes = _province_and_communes(platform)
    areas = territory.list_areas(platform)
    names = {a.code: a.name(lang) for a in areas}
    values = indicators.series(platform, d.id, actor=actor)
    period = _period(platform, d.id)
    latest = [_figure(v, names, lang) for v in values if v.period_start == period]
    codes = {a.code for a in communes}
    in_order = _best_first([f for f in latest if f.area_code in codes], d.direction)
    # Confident values are ranked; uncertain ones follow, unranked, so none heads the list on three readings.
    ranked = [f for f in in_order if not f.uncertain] + [f for f in in_order if f.uncertain]
    missing = [f for f in latest if f.area_code in codes and f.value is None]
    province_figure = next((f for f in latest if province and f.area_code == province.code), None)
    chosen = request.query_params.get("area")
    selected = chosen if chosen in codes else (ranked[0].area_code if ranked else None)
    return render(
        request,
        "dashboards/indicator.html",
        d=d,
        period=period,
        province=province,
        province_figure=province_figure,
        ranked=ranked,
        missing=missing,
        communes=sorted(communes, key=lambda a: a.name(lang)),
        selected=selected,
        dispersion=_dispersion(platform, d.id, period, actor),
        fmt=lambda v: decimal(v, lang),
        chart=_chart(values, names, province),
        map_data=_map(areas, ranked, d.direction, lang),
        months=month_short_names(lang),
        number_tag=numbers.number_locale(lang).replace("_", "-"),
    )


def _dispersion(platform: Platform, indicator_id: str, period: date | None, actor: Actor) -> Any:
    if period is None:
        return None
    try:
        return disparities.for_period(
            platform, indicator_id, period_start=period, actor=actor
        ).dispersion
    except (
        NotFound,
        Forbidden,
        ValueError,
        ZeroDivisionError,
    ):  # no usable communes, or not province staff
        return None


def _chart(
    values: list[IndicatorValue], names: dict[str, str], province: Area | None
) -> dict[str, Any]:
    """uPlot's data: one x axis (period starts, UTC seconds), a value list per area."""
    starts = sorted({v.period_start for v in values})
    index = {s: i for i, s in enumerate(starts)}
    series: dict[str, dict[str, Any]] = {}
    for v in values:
        s = series.setdefault(
            v.area_code,
            {
                "name": names.get(v.area_code, v.area_code),
                "values": [None] * len(starts),
                "uncertain": [False] * len(starts),
                "samples": [0] * len(starts),
            },
        )
        i = index[v.period_start]
        s["values"][i] = v.value
        s["uncertain"][i] = v.quality in UNCERTAIN
        s["samples"][i] = v.sample
    return {
        "x": [int(datetime(s.year, s.month, s.day, tzinfo=UTC).timestamp()) for s in starts],
        "areas": series,
        "province": province.code if province else None,
    }


def _map(
    areas: list[Area], ranked: list[Figure], direction: Direction, lang: str
) -> dict[str, Any]:
    """The communes' outlines and, per commune, a fill from best to worst (equal intervals)."""
    drawing = overview.drawing(overview.build(areas))
    valued = [f.value for f in ranked if f.value is not None]
    low, high = (min(valued), max(valued)) if valued else (0.0, 0.0)
    span = high - low

    def colour(value: float) -> str:
        step = 0 if span == 0 else min(int((value - low) / span * len(PALETTE)), len(PALETTE) - 1)
        return PALETTE[len(PALETTE) - 1 - step if direction is Direction.HIGHER_IS_BETTER else step]

    return {
        "outlines": drawing,
        "communes": {
            f.area_code: {
                "name": f.name,
                "text": f.text,
                "sample": numbers.integer(f.sample, lang),
                "quality": f.quality,
                "uncertain": f.uncertain,
                "fill": colour(f.value) if f.value is not None else None,
            }
            for f in ranked
        },
        "legend": {
            "low": low,
            "high": high,
            "palette": list(PALETTE),
            "best_is_high": direction is Direction.HIGHER_IS_BETTER,
        },
    }
