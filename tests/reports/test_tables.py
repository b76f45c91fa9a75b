"""Downloadable tables: CSV with a BOM and units in the headers; XLSX reopened and checked."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from hakama.reports.tables import Column, Table, to_csv, to_xlsx

TABLE = Table(
    "Délais",
    [Column("Commune"), Column("Délai", "jours"), Column("Demandes", number_format="#,##0")],
    [["بركان", 1.25, 1200], ["Ahfir", 12.5, 3]],
)


def test_csv_has_names_units_and_reads_back() -> None:
    body = to_csv(TABLE)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Commune", "Délai (jours)", "Demandes"]
    assert rows[1] == ["بركان", "1.25", "1200"]


def test_xlsx_keeps_numbers_as_numbers_with_formats_rtl_and_frozen_header() -> None:
    book = load_workbook(
        io.BytesIO(to_xlsx([TABLE, Table("Vide", [Column("x")], [], note="Rien")], lang="ar"))
    )
    assert book.sheetnames == ["Délais", "Vide"]
    sheet = book["Délais"]
    assert sheet.sheet_view.rightToLeft is True
    assert sheet.freeze_panes == "B2"
    assert sheet["A2"].value == "بركان"
    assert sheet["B2"].value == 1.25 and sheet["B2"].number_format == "#,##0.00"
    assert sheet["B3"].number_format == "#,##0.0"
    assert sheet["C2"].value == 1200 and sheet["C2"].number_format == "#,##0"
    assert book["Vide"]["A2"].value == "Rien"  # a table without rows says why
    french = load_workbook(io.BytesIO(to_xlsx([TABLE], lang="fr")))
    assert not french["Délais"].sheet_view.rightToLeft
