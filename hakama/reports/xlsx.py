"""The council report as a workbook: one sheet per section, a sources sheet last."""

from __future__ import annotations

from hakama.core.indicators import IndicatorValue, Quality
from hakama.reports import labels, pdf
from hakama.reports.council import CouncilReport
from hakama.reports.tables import Column, Table, to_xlsx

USABLE = frozenset({Quality.COMPLETE, Quality.PARTIAL})


def _v(v: IndicatorValue | None) -> float | None:
    return labels.rounded(v.value) if v is not None else None


def tables(report: CouncilReport, lang: str) -> list[Table]:
    """The report's sections as tables, in `lang`."""

    def t(key: str) -> str:
        return labels.text(key, lang)

    period = report.period.label(lang)
    out: list[Table] = []
    key_rows: list[list[str | int | float | None]] = []
    for k in report.key_figures:
        c = k.compared
        quality = c.current.quality.value if c and c.current else None
        key_rows.append(
            [
                k.definition.name(lang),
                labels.unit(k.definition.unit, lang),
                _v(c.current if c else None),
                _v(c.previous if c else None),
                _v(c.last_year if c else None),
                labels.rounded(c.change if c else None),
                c.current.sample if c and c.current else None,
                t(quality) if quality else None,
                k.rank,
                k.ranked or None,
            ]
        )
    out.append(
        Table(
            t("key_figures"),
            [
                Column(t("indicator")),
                Column(t("unit")),
                Column(period),
                Column(t("previous")),
                Column(t("last_year")),
                Column(t("change")),
                Column(t("sample"), number_format="#,##0"),
                Column(t("quality")),
                Column(t("rank"), number_format="0"),
                Column(t("communes"), number_format="0"),
            ],
            key_rows if report.has_live_data else [],
            note=t("no_indicators"),
        )
    )
    if report.composite is not None:
        rows: list[list[str | int | float | None]] = []
        for s in report.composite.communes:
            reasons = " · ".join(report.input_name(k, lang) for k in s.reasons(3))
            rows.append(
                [
                    s.rank,
                    s.names.get(lang) or s.area_code,
                    labels.rounded(s.score),
                    t("priority") if s.flagged else "",
                    reasons,
                ]
            )
        out.append(
            Table(
                t("score"),
                [
                    Column(t("rank"), number_format="0"),
                    Column(t("commune")),
                    Column(t("score"), "0–100"),
                    Column(t("priority")),
                    Column(t("reasons")),
                ],
                rows,
            )
        )
        why: list[list[str | int | float | None]] = []
        for lag in report.lagging:
            moved = {m.key: m.delta for m in lag.moves}
            for key, item in sorted(
                lag.standing.inputs.items(), key=lambda kv: -kv[1]["contribution"]
            ):
                why.append(
                    [
                        lag.standing.names.get(lang) or lag.standing.area_code,
                        report.input_name(key, lang),
                        labels.rounded(item["contribution"]),
                        labels.rounded(item["raw"]),
                        labels.rounded(report.composite.province.get(key)),
                        labels.unit(report.input_unit(key), lang),
                        labels.rounded(moved.get(key)),
                    ]
                )
        out.append(
            Table(
                t("lagging"),
                [
                    Column(t("commune")),
                    Column(t("indicator")),
                    Column(t("contribution")),
                    Column(t("raw")),
                    Column(t("province_value")),
                    Column(t("unit")),
                    Column(t("moved")),
                ],
                why,
            )
        )
    else:
        out.append(Table(t("lagging"), [Column(t("commune"))], [], note=t("no_composite")))
    sl = report.service_levels
    level_rows: list[list[str | int | float | None]] = []
    if report.is_province:
        for a in report.communes:
            lv = sl.by_area.get(a.code)
            if lv:
                level_rows.append(
                    [
                        a.name(lang),
                        lv.filed,
                        lv.resolved,
                        lv.backlog,
                        labels.rounded(lv.median_hours),
                        labels.rounded(lv.within_target),
                    ]
                )
    else:
        for lv in sl.by_service:
            level_rows.append(
                [
                    lv.name(lang),
                    lv.filed,
                    lv.resolved,
                    lv.backlog,
                    labels.rounded(lv.median_hours),
                    labels.rounded(lv.within_target),
                ]
            )
    if sl.has_data:
        level_rows.append(
            [
                report.name(report.area.code, lang),
                sl.total.filed,
                sl.total.resolved,
                sl.total.backlog,
                labels.rounded(sl.total.median_hours),
                labels.rounded(sl.total.within_target),
            ]
        )
    out.append(
        Table(
            t("service_levels"),
            [
                Column(t("commune") if report.is_province else t("service")),
                Column(t("filed"), number_format="#,##0"),
                Column(t("resolved"), number_format="#,##0"),
                Column(t("backlog"), number_format="#,##0"),
                Column(t("median_hours")),
                Column(t("within_target")),
            ],
            level_rows if sl.has_data else [],
            note=t("no_requests"),
        )
    )
    out.append(
        Table(
            t("alerts"),
            [Column(t("alert")), Column(t("commune")), Column(t("opened")), Column(t("closed"))],
            [
                [
                    a.message,
                    report.name(a.area_code, lang),
                    a.opened_at.date().isoformat(),
                    a.closed_at.date().isoformat() if a.closed_at else t("still_open"),
                ]
                for a in report.alerts
            ],
            note=t("no_alerts"),
        )
    )
    if not report.is_province:
        out.append(
            Table(
                t("census_title"),
                [
                    Column(t("what")),
                    Column(t("unit")),
                    Column("2014"),
                    Column("2024"),
                    Column(t("change")),
                    Column(f"{t('province')} 2024"),
                ],
                [
                    [
                        f.item.name(lang),
                        labels.unit(f.item.unit, lang) if f.item.unit != "%" else "%",
                        labels.rounded(f.value_2014),
                        labels.rounded(f.value_2024),
                        labels.rounded(f.change),
                        labels.rounded(f.province_2024),
                    ]
                    for f in report.census
                ],
            )
        )
    out.append(
        Table(
            t("sheet_sources"),
            [Column(t("sources"))],
            [[s] for s in pdf.sources(report, lang)]
            + [
                [f"{t('period')}: {period}"],
                [f"{t('generated')}: {report.generated_at.date().isoformat()}"],
            ]
            + (
                [[report.composite.method.get(lang) or report.composite.method.get("en", "")]]
                if report.composite
                else []
            ),
        )
    )
    return out


def workbook(report: CouncilReport, lang: str) -> bytes:
    return to_xlsx(tables(report, lang), lang=lang)
