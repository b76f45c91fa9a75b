"""`/dashboards/{id}/compare`: one indicator this period against the previous one and the same
period last year (a table and a chart), up to six chosen communes on one chart over time, and
small multiples of every commune. Charts are SVG drawn by the server: they work without
JavaScript, print, and run right to left with Moroccan Arabic month names in Arabic.

`/dashboards/{id}/download` and `/dashboards/composite/download` give the shown tables as CSV or
XLSX, with names, units and the page's rounding.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hakama.core.access import Actor
from hakama.core.errors import Invalid
from hakama.core.indicators import Grain, IndicatorDefinition, IndicatorValue
from hakama.core.periods import Period, month_short_names, parse_period
from hakama.core.territory import Area
from hakama.http.deps import ActorDep, PlatformDep
from hakama.http.web.render import page_language, render
from hakama.reports import labels, svg
from hakama.reports.tables import CSV_TYPE, FORMATS, XLSX_TYPE, Column, Table, to_csv, to_xlsx
from hakama.services import comparisons, disparities, indicators, profiles, territory
from hakama.services.platform import Platform

router = APIRouter(include_in_schema=False)
MAX_CHOSEN = 6
HISTORY = 12


def _period(platform: Platform, d: IndicatorDefinition, asked: str | None) -> Period:
    if asked:
        return parse_period(asked)
    latest = indicators.latest_period(platform, d.id, complete_only=True) or indicators.latest_period(platform, d.id)
    grain = d.grain if d.grain in (Grain.MONTH, Grain.QUARTER, Grain.YEAR) else Grain.MONTH
    day = latest or profiles.default_period(platform).start
    return Period(grain.start_of(day), grain)


def _areas(platform: Platform) -> tuple[Area | None, list[Area]]:
    groups = indicators.groups(platform)
    if not groups:
        return None, []
    group = max(groups, key=lambda g: len(g.children))
    return group.parent, list(group.children)


def _label(p: Period, lang: str) -> str:
    if p.grain is Grain.MONTH:
        return f"{month_short_names(lang)[p.start.month - 1]} {p.start.year % 100:02d}"
    return p.label(lang)


def _history(period: Period, count: int) -> list[Period]:
    out = [period]
    for _ in range(count - 1):
        out.append(out[-1].previous())
    return list(reversed(out))


def comparison_table(
    platform: Platform, d: IndicatorDefinition, period: Period, actor: Actor, lang: str
) -> tuple[comparisons.Comparison, list[Area], Area | None, Table]:
    province, communes = _areas(platform)
    c = comparisons.compare(platform, d.id, period, actor=actor)
    areas = ([province] if province else []) + sorted(communes, key=lambda a: a.name(lang))

    def t(key: str) -> str:
        return labels.text(key, lang)

    unit = labels.unit(d.unit, lang)
    rows = []
    for a in areas:
        row = c.rows.get(a.code)
        if row is None:
            continue
        rows.append([
            a.name(lang),
            labels.rounded(row.current.value if row.current else None),
            labels.rounded(row.previous.value if row.previous else None),
            labels.rounded(row.last_year.value if row.last_year else None),
            labels.rounded(row.change),
            labels.rounded(row.change_year),
            row.current.sample if row.current else None,
        ])  # fmt: skip
    table = Table(
        d.name(lang)[:31],
        [Column(t("commune")), Column(period.label(lang), unit), Column(period.previous().label(lang), unit),
         Column(period.year_before().label(lang), unit), Column(t("change"), unit),
         Column(f"{t('change')} ({t('last_year')})", unit), Column(t("sample"), number_format="#,##0")],
        rows,
        note=t("no_indicators"),
    )  # fmt: skip
    return c, areas, province, table


@router.get("/dashboards/{indicator_id}/compare", response_class=HTMLResponse)
def compare(request: Request, platform: PlatformDep, actor: ActorDep, indicator_id: str) -> HTMLResponse:
    """This period against the previous one and last year; chosen communes over time; all communes."""
    lang = page_language(request)
    rtl = lang in labels.RTL
    d = indicators.visible_definition(platform, actor, indicator_id)
    period = _period(platform, d, request.query_params.get("period"))
    c, areas, province, table = comparison_table(platform, d, period, actor, lang)
    known = {a.code for a in areas}
    chosen = [code for code in request.query_params.getlist("area") if code in known][:MAX_CHOSEN]
    if len(request.query_params.getlist("area")) > MAX_CHOSEN:
        raise Invalid(f"at most {MAX_CHOSEN} communes on one chart")
    if not chosen:
        ranked = sorted((a for a in areas if a is not province and c.value(a.code) is not None),
                        key=lambda a: c.value(a.code) or 0.0)  # fmt: skip
        ends = [a.code for a in ranked[:2] + ranked[-2:]]  # the two best and the two worst
        chosen = list(dict.fromkeys(([province.code] if province else []) + ends))[:MAX_CHOSEN]
    names = {a.code: a.name(lang) for a in areas}
    keys = [period.label(lang), period.previous().label(lang), period.year_before().label(lang)]
    bars = svg.grouped_bars(
        [(names[code], [v.value if v else None for v in (row.current, row.previous, row.last_year)])
         for code in chosen if (row := c.rows.get(code))],
        keys, rtl=rtl,
    )  # fmt: skip
    history_periods = _history(period, HISTORY)
    history = comparisons.history(platform, d.id, history_periods, actor=actor)
    x_labels = [_label(p, lang) for p in history_periods]
    lines = svg.line_chart(
        [(names[code], [v.value if v else None for v in history.get(code, [])] or [None] * HISTORY) for code in chosen],
        x_labels, rtl=rtl,
    )  # fmt: skip
    multiples = [
        (a, svg.line_chart([(a.name(lang), [v.value if v else None for v in history.get(a.code, [])])],
                           x_labels, rtl=rtl, width=300, height=150, legend=False))
        for a in areas if a is not province and a.code in history
    ]  # fmt: skip
    return render(
        request, "dashboards/compare.html", d=d, period=period, table=table, chosen=chosen, areas=areas,
        names=names, keys=keys, bars=bars, lines=lines, multiples=multiples, colours=svg.SERIES,
        t=lambda k: labels.text(k, lang), n=lambda v: labels.number(v, lang), signed=lambda v: labels.signed(v, lang),
        unit=labels.unit(d.unit, lang), max_chosen=MAX_CHOSEN,
    )  # fmt: skip


def _send(tables: list[Table], fmt: str, stem: str, lang: str) -> Response:
    if fmt not in FORMATS:
        raise Invalid(f"format {fmt!r}: choose csv or xlsx")
    body, media = (to_csv(tables[0]), CSV_TYPE) if fmt == "csv" else (to_xlsx(tables, lang=lang), XLSX_TYPE)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


def composite_table(platform: Platform, actor: Actor, lang: str) -> list[Table]:
    result = disparities.composite(platform, actor=actor)

    def t(key: str) -> str:
        return labels.text(key, lang)

    inputs = {i.key: i for i in result.inputs}
    scores = [[c.rank, c.names.get(lang) or c.area_code, labels.rounded(c.score), t("priority") if c.flagged else ""]
              for c in result.communes]  # fmt: skip
    parts = [[c.names.get(lang) or c.area_code, inputs[k].names.get(lang) or k,
              t("census") if inputs[k].source == "census" else t("live"), labels.rounded(v["weight"]),
              labels.rounded(v["raw"]), labels.rounded(result.province.get(k)), labels.rounded(v["normalised"]),
              labels.rounded(v["contribution"])]
             for c in result.communes for k, v in c.inputs.items()]  # fmt: skip
    return [
        Table(t("score"), [Column(t("rank"), number_format="0"), Column(t("commune")), Column(t("score"), "0–100"),
                           Column(t("priority"))], scores),
        Table(t("reasons"), [Column(t("commune")), Column(t("indicator")), Column(t("sources")), Column("×"),
                             Column(t("raw")), Column(t("province_value")), Column("0–1"), Column(t("contribution"))], parts),
        Table(t("method"), [Column(t("method"))], [[result.method.get(lang) or result.method.get("en", "")], *[[s] for s in result.sources]]),
    ]  # fmt: skip


def series_table(platform: Platform, d: IndicatorDefinition, actor: Actor, lang: str) -> Table:
    """Every stored value of one indicator over time, as the page shows it: the period in words,
    the area's name (its code beside it, for joining), the value rounded with its unit, the
    sample and the quality in words; the province first, then the communes by name."""
    names = {code: a.name(lang) for code, a in territory.areas_by_code(platform).items()}
    province, _ = _areas(platform)
    values = indicators.series(platform, d.id, actor=actor)

    def order(v: IndicatorValue) -> tuple[date, bool, str]:
        return v.period_start, v.area_code != (province.code if province else None), names.get(v.area_code, v.area_code)

    def t(key: str) -> str:
        return labels.text(key, lang)

    rows = [
        [Period(v.period_start, v.grain).label(lang), v.period_start.isoformat(), names.get(v.area_code, v.area_code),
         v.area_code, labels.rounded(v.value), v.sample, t(v.quality.value)]
        for v in sorted(values, key=order)
    ]  # fmt: skip
    return Table(
        d.name(lang)[:31],
        [Column(t("period")), Column(t("period_start")), Column(t("area")), Column(t("code")),
         Column(t("value"), labels.unit(d.unit, lang)),
         Column(t("sample"), number_format="#,##0"), Column(t("quality"))],
        rows,
        note=t("no_indicators"),
    )  # fmt: skip


@router.get("/dashboards/{indicator_id}/download")
def download(
    request: Request, platform: PlatformDep, actor: ActorDep, indicator_id: str, format: str = "csv", table: str = "period"
) -> Response:
    """The page's tables: an indicator's communes this period, previous, last year (`table=period`),
    or every value over time (`table=series`); or the composite."""
    lang = page_language(request)
    if indicator_id == "composite":
        return _send(composite_table(platform, actor, lang), format, f"hakama-composite-{date.today().isoformat()}-{lang}", lang)
    d = indicators.visible_definition(platform, actor, indicator_id)
    if table == "series":
        return _send([series_table(platform, d, actor, lang)], format, f"hakama-{d.id}-series-{lang}", lang)
    if table != "period":
        raise Invalid(f"table {table!r}: choose period or series")
    period = _period(platform, d, request.query_params.get("period"))
    shown = comparison_table(platform, d, period, actor, lang)[3]
    return _send([shown], format, f"hakama-{d.id}-{period.code}-{lang}", lang)
