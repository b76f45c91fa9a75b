"""`/communes` (every commune, searchable by name in any language) and `/communes/{code}`, a
commune's profile: census 2024 beside 2014, live indicators with trend and place, citizen
requests, its place on the composite; alerts and sensors for the area's staff. The profile's
tables download as CSV or XLSX with names, units and the page's rounding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hakama.core.errors import Invalid
from hakama.core.indicators import Direction
from hakama.core.periods import Period, parse_period
from hakama.core.territory import normalise_name
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.web.render import page_language, render
from hakama.reports import labels, svg
from hakama.reports.tables import CSV_TYPE, FORMATS, XLSX_TYPE, Column, Table, to_csv, to_xlsx
from hakama.services import disparities, indicators, profiles, territory
from hakama.services.profiles import Profile

router = APIRouter(include_in_schema=False)


@router.get("/communes", response_class=HTMLResponse)
def communes(request: Request, platform: PlatformDep, q: str = "") -> HTMLResponse:
    """Every commune of the territory; `q` keeps those whose name (ar, fr or en) holds it."""
    lang = page_language(request)
    q = q.strip()[:100]
    wanted = normalise_name(q) if q else ""
    found = []
    for group in indicators.groups(platform):
        for area in sorted(group.children, key=lambda a: a.name(lang)):
            names = list(area.names.values())
            if (
                not q
                or any(q in n for n in names)
                or (wanted and any(wanted in normalise_name(n) for n in names))
            ):
                found.append((area, group.parent))
    return render(
        request, "communes/index.html", found=found, q=q, t=lambda k: labels.text(k, lang)
    )


def _period(request: Request) -> Any:
    asked = request.query_params.get("period")
    return parse_period(asked) if asked else None


def _trend(line: profiles.IndicatorLine) -> str:
    change = line.compared.change if line.compared else None
    if change is None:
        return ""
    if change == 0:
        return "same"
    better = change < 0 if line.definition.direction is Direction.LOWER_IS_BETTER else change > 0
    return "better" if better else "worse"


@router.get("/communes/{code}", response_class=HTMLResponse)
def commune(request: Request, platform: PlatformDep, actor: ActorDep, code: str) -> HTMLResponse:
    """A commune's profile."""
    lang = page_language(request)
    found = profiles.profile(platform, code, actor=actor, period=_period(request))
    areas = [
        a
        for a in territory.list_areas(platform)
        if a.parent_code == (found.province.code if found.province else None)
    ]
    fills, legend = svg.classes(found.composite_scores or {a.code: None for a in areas})
    return render(
        request,
        "communes/profile.html",
        p=found,
        t=lambda k: labels.text(k, lang),
        n=lambda v: labels.number(v, lang),
        signed=lambda v: labels.signed(v, lang),
        unit=lambda u: labels.unit(u, lang),
        trend=_trend,
        map_svg=svg.choropleth(
            areas,
            fills,
            highlight=found.area.code,
            width=360,
            title=f"{labels.text('map', lang)}: {found.area.name(lang)}",
        ),
        legend=legend,
        input_name=lambda key: _input_name(platform, key, lang),
        period_label=found.period.label(lang),
        plabel=lambda v: Period(v.period_start, v.grain).label(lang),
    )


def _input_name(platform: Any, key: str, lang: str) -> str:
    spec = disparities.load_composite_spec()
    for item in spec["census"]:
        if item["key"] == key:
            return str(item["names"].get(lang) or key)
    try:
        return indicators.definition(platform, key).name(lang)
    except Exception:  # an input whose indicator is gone: its key is still meaningful
        return key


def profile_tables(p: Profile, lang: str) -> list[Table]:
    """The profile's figures as downloadable tables (the page's names, units and rounding)."""

    def t(key: str) -> str:
        return labels.text(key, lang)

    name = p.area.name(lang)
    tables = [
        Table(
            f"{t('census_title')}",
            [
                Column(t("commune")),
                Column(t("what")),
                Column(t("unit")),
                Column("2014"),
                Column("2024"),
                Column(t("change")),
                Column(f"{t('province')} 2024"),
                Column(t("sources")),
            ],
            [
                [
                    name,
                    f.item.name(lang),
                    labels.unit(f.item.unit, lang),
                    labels.rounded(f.value_2014),
                    labels.rounded(f.value_2024),
                    labels.rounded(f.change),
                    labels.rounded(f.province_2024),
                    "HCP RGPH 2014, 2024",
                ]
                for f in p.census
            ],
        ),
        Table(
            t("live_title"),
            [
                Column(t("commune")),
                Column(t("indicator")),
                Column(t("period")),
                Column(t("value")),
                Column(t("unit")),
                Column(t("previous")),
                Column(t("change")),
                Column(t("rank")),
                Column(t("communes")),
                Column(t("sample")),
                Column(t("quality")),
            ],
            [
                [
                    name,
                    line.definition.name(lang),
                    line.compared.current.period_start.isoformat()
                    if line.compared and line.compared.current
                    else p.period.code,
                    labels.rounded(line.value),
                    labels.unit(line.definition.unit, lang),
                    labels.rounded(
                        line.compared.previous.value
                        if line.compared and line.compared.previous
                        else None
                    ),
                    labels.rounded(line.compared.change if line.compared else None),
                    line.rank,
                    line.ranked or None,
                    line.compared.current.sample
                    if line.compared and line.compared.current
                    else None,
                    t(line.compared.current.quality.value)
                    if line.compared and line.compared.current
                    else None,
                ]
                for line in p.indicators
            ],
        ),
        Table(
            t("requests_title"),
            [
                Column(t("service")),
                Column(t("filed")),
                Column(t("resolved")),
                Column(t("backlog")),
                Column(t("median_hours")),
                Column(t("within_target")),
            ],
            [
                [
                    lv.name(lang) if lv.key else t("all_services"),
                    lv.filed,
                    lv.resolved,
                    lv.backlog,
                    labels.rounded(lv.median_hours),
                    labels.rounded(lv.within_target),
                ]
                for lv in [*p.requests.by_service, p.requests.total]
            ]
            if p.requests.has_data
            else [],
            note=t("no_requests"),
        ),
    ]
    return tables


@router.get("/communes/{code}/download")
def download(
    request: Request, platform: PlatformDep, actor: ActorDep, code: str, format: str = "xlsx"
) -> Response:
    """The profile's tables: XLSX (a sheet per table) or CSV (the live indicators' table)."""
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose csv or xlsx")
    lang = page_language(request)
    found = profiles.profile(platform, code, actor=actor, period=_period(request))
    tables = profile_tables(found, lang)
    stem = f"hakama-{found.area.code}-{found.period.code}-{lang}"
    if format == "csv":
        body, media = to_csv(tables[1]), CSV_TYPE
    else:
        body, media = to_xlsx(tables, lang=lang), XLSX_TYPE
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'},
    )
