"""Tables as people download them: CSV and XLSX with names (not codes), units in the headers,
and numbers rounded as the page shows them; XLSX keeps numbers as numbers with a format,
freezes the header row and runs right to left in Arabic.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from hakama.reports import labels

Cell = str | int | float | None
Row = list[Cell]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMATS = ("csv", "xlsx")
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    name: str
    unit: str = ""  # shown in the header: "Valeur (jours)"
    number_format: str | None = None  # Excel format for numbers, e.g. "#,##0.0"

    def header(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[Column]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)
    note: str = ""  # said instead of rows when there are none (a period without data)


def number_format(value: float | None) -> str:
    """The Excel format matching `labels.number`'s rounding for this size of value."""
    if value is None:
        return "#,##0.##"
    size = abs(value)
    return "#,##0" if size >= 100 else "#,##0.0" if size >= 10 else "#,##0.00"


def to_csv(table: Table) -> bytes:
    """One table as UTF-8 CSV with a BOM (so spreadsheet programs read Arabic right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header() for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    if not table.rows and table.note:
        writer.writerow([table.note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table], *, lang: str) -> bytes:
    """A workbook with one sheet per table."""
    book = Workbook()
    for sheet in list(book.worksheets):
        book.remove(sheet)
    used: set[str] = set()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEF3EF")
    for table in tables:
        name = table.title.translate(_SHEET_FORBIDDEN)[:31] or "Sheet"
        while name in used:
            name = name[:28] + f"~{len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.sheet_view.rightToLeft = lang in labels.RTL
        sheet.append([c.header() for c in table.columns])
        for cell in sheet[1]:
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.rows:
            sheet.append(list(row))
        if not table.rows and table.note:
            sheet.append([table.note])
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            widest = max(
                [len(column.header())] + [len(str(r[index - 1] or "")) for r in table.rows]
            )
            sheet.column_dimensions[letter].width = min(max(10, widest + 2), 60)
            for cell in sheet[letter][1:]:
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = column.number_format or number_format(float(cell.value))
        sheet.freeze_panes = "B2" if len(table.columns) > 1 else "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
