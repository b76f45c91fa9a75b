"""One entry point for every front end: a council report as bytes in the asked format."""

from __future__ import annotations

from dataclasses import dataclass

from hakama.core.access import Actor
from hakama.core.periods import parse_period
from hakama.reports import council, pdf, xlsx
from hakama.reports.tables import XLSX_TYPE
from hakama.services.platform import Platform


@dataclass(frozen=True)
class Rendered:
    filename: str
    content: bytes
    media_type: str


def report_file(
    platform: Platform, *, area: str, period: str, lang: str, fmt: str, actor: Actor
) -> Rendered:
    """The report of `area` for `period` (2026-Q3, 2026-09, 2026) in `lang` as `fmt` (pdf|xlsx)."""
    council.check_request(area, lang, fmt)
    built = council.build(platform, area_code=area, period=parse_period(period), actor=actor)
    name = f"hakama-report-{area}-{built.period.code}-{lang}.{fmt}"
    if fmt == "pdf":
        return Rendered(name, pdf.pdf(built, lang), "application/pdf")
    return Rendered(name, xlsx.workbook(built, lang), XLSX_TYPE)
