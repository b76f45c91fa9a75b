"""The council report as HTML and as a PDF typeset by WeasyPrint (HTML/CSS → PDF).

WeasyPrint lays text out with Pango and HarfBuzz, so Arabic is shaped and bidirectional text
ordered correctly; it needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0) and fonts with
Arabic (fonts-noto-core), which `./run` installs. A4, page numbers, the province's name and the
date on every page; the map is SVG and the bars are boxes, so both print as vectors.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from hakama.core import errors
from hakama.core.indicators import IndicatorValue, Quality
from hakama.reports import labels, svg
from hakama.reports.council import CouncilReport
from hakama.services import disparities

TEMPLATES = Path(__file__).parent / "templates"
UNCERTAIN = frozenset({Quality.TOO_FEW, Quality.PARTIAL})


class Unavailable(errors.Unavailable):
    """The PDF cannot be made on this machine (WeasyPrint or its libraries are missing)."""


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def sources(report: CouncilReport, lang: str) -> list[str]:
    found = list(report.composite.sources) if report.composite else []
    for s in (report.area.attribution, report.province.attribution):
        for part in s.split(";"):
            if part.strip() and part.strip() not in found:
                found.append(part.strip())
    found.append(labels.text("hakama_source", lang))
    return found


def map_values(report: CouncilReport) -> dict[str, float | None]:
    if report.composite is None:
        return {}
    return {c.area_code: c.score for c in report.composite.communes}


def html(report: CouncilReport, lang: str) -> str:
    """The report as one HTML page (the PDF's source)."""
    composite = report.composite
    ranked = [c for c in composite.communes if c.rank is not None] if composite else []
    fills, legend = svg.classes(map_values(report))
    live_keys = {i.key for i in composite.inputs if i.source == "live"} if composite else set()

    def part(c: disparities.CompositeStanding, live: bool) -> float:
        return sum(v["contribution"] for k, v in c.inputs.items() if (k in live_keys) == live)

    def value(v: IndicatorValue | None) -> str:
        if v is None or v.value is None:
            return "—"
        mark = "≈ " if v.quality in UNCERTAIN else ""
        return f"{mark}{labels.number(v.value, lang)}"

    sl = report.service_levels
    level_rows: list[tuple[str, Any]] = (
        [(a.code, sl.by_area[a.code]) for a in report.communes if a.code in sl.by_area]
        if report.is_province
        else [(s.key, s) for s in sl.by_service]
    )
    province_name = report.name(report.province.code, lang)
    when = report.generated_at.date().isoformat()
    return (
        _environment()
        .get_template("council.html")
        .render(
            report=report,
            lang=lang,
            dir="rtl" if lang in labels.RTL else "ltr",
            t=lambda key: labels.text(key, lang),
            n=lambda v: labels.number(v, lang),
            signed=lambda v: labels.signed(v, lang),
            unit=lambda u: labels.unit(u, lang),
            value=value,
            css=_css_string,
            top_left=province_name if lang not in labels.RTL else when,
            top_right=when if lang not in labels.RTL else province_name,
            generated=when,
            ranked=ranked,
            map_svg=svg.choropleth(
                report.communes,
                fills,
                highlight=None if report.is_province else report.area.code,
                labels={c.area_code: str(i) for i, c in enumerate(ranked, start=1)},
            ),
            legend=legend,
            live_inputs=bool(live_keys),
            census_part=lambda c: part(c, False),
            live_part=lambda c: part(c, True),
            level_rows=level_rows,
            max_filed=max((lv.filed for _, lv in level_rows), default=0),
            sources=sources(report, lang),
        )
    )


def pdf(report: CouncilReport, lang: str) -> bytes:
    """The report typeset as an A4 PDF."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # the Python package, or Pango, is missing
        raise Unavailable(
            f"PDF reports need WeasyPrint and Pango ({exc}); run ./run demo or install "
            "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core — XLSX works without them"
        ) from None
    document: bytes = HTML(string=html(report, lang), base_url=str(TEMPLATES)).write_pdf()
    return document
