"""File imports of administrative records on real SQLite and PostgreSQL: encodings, mappings,
validation errors as line/column/value/reason, all-or-nothing, idempotence, lake and indicators."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import openpyxl
import pytest
import sqlalchemy as sa

from hakama.core.errors import Forbidden, Invalid
from hakama.services import audit, indicators, record_file_imports, records
from hakama.services.platform import Platform
from hakama.storage.schema_records import admin_records, record_imports
from tests.services.records.conftest import EAST, WEST, agent

ARABIC_MAPPING = """
type: civil_status_certificate
columns:
  register_number: رقم العقد
  register_year: سنة العقد
  act_kind: نوع العقد
  requested_at: تاريخ الطلب
  delivered_at: تاريخ التسليم
  channel: القناة
  status: الحالة
  holder_name: اسم صاحب العقد
  requester_name: اسم الطالب
values:
  act_kind: {ولادة: birth, زواج: marriage, وفاة: death}
  channel: {شباك: counter, الإنترنت: online}
  status: {سلمت: delivered, قيد المعالجة: pending, مرفوض: rejected}
dates:
  requested_at: ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
  delivered_at: ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
"""

ARABIC_HEADER = ["رقم العقد", "سنة العقد", "نوع العقد", "تاريخ الطلب", "تاريخ التسليم", "القناة",
                 "الحالة", "اسم صاحب العقد", "اسم الطالب"]  # fmt: skip
ARABIC_ROWS = [
    ["101", "1990", "ولادة", "03/02/2025 09:30", "04/02/2025 10:00", "شباك", "سلمت", "محمد العلوي", "فاطمة"],
    ["102", "1991", "زواج", "05/02/2025 11:00", "", "الإنترنت", "قيد المعالجة", "سعاد", "خالد"],
    ["103", "1985", "وفاة", "10/03/2025", "12/03/2025", "شباك", "سلمت", "أحمد", ""],
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def stored(platform: Platform, area: str = EAST) -> list[sa.Row[tuple[object, ...]]]:
    with platform.db.connect() as conn:
        return conn.execute(
            sa.select(admin_records)
            .where(admin_records.c.area_code == area)
            .order_by(admin_records.c.requested_at)
        ).all()


def lake_rows(platform: Platform) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT record_id, area_code, service, channel, status FROM read_parquet('{platform.lake.glob('admin_records')}') ORDER BY time"
        ).fetchall()
    finally:
        con.close()


def test_windows_1256_arabic_file_with_arabic_columns_is_stored_in_db_lake_and_indicators(
    territory_platform: Platform, tmp_path: Path
) -> None:
    p = territory_platform
    path = write_csv(
        tmp_path / "etat-civil.csv", ARABIC_HEADER, ARABIC_ROWS, encoding="cp1256", delimiter=";"
    )
    report = record_file_imports.import_file(p, actor=agent(EAST), area_code=EAST, type_id="civil_status_certificate",
                                 path=path, mapping_text=ARABIC_MAPPING)  # fmt: skip
    assert (report.rows_total, report.rows_valid, report.inserted, report.state) == (
        3,
        3,
        3,
        "committed",
    )
    rows = stored(p)
    assert [r.data["register_number"] for r in rows] == ["101", "102", "103"]
    assert [r.data["act_kind"] for r in rows] == ["birth", "marriage", "death"]
    assert rows[0].personal == {"holder_name": "محمد العلوي"}  # kept: the record serves with it
    assert all(
        "requester_name" not in (r.personal or {}) and "requester_name" not in r.data for r in rows
    )
    # 09:30 in Casablanca (UTC+1) is 08:30 UTC; a delivered record keeps its delivery time
    assert rows[0].requested_at.isoformat() == "2025-02-03T08:30:00+00:00"
    assert (
        rows[1].delivered_at is None and rows[1].status == "pending" and rows[1].channel == "online"
    )
    lake = lake_rows(p)
    assert [r[2:] for r in lake] == [
        ("civil_status_certificate", "counter", "delivered"),
        ("civil_status_certificate", "online", "pending"),
        ("civil_status_certificate", "counter", "delivered"),
    ]
    assert {r[1] for r in lake} == {EAST}
    assert all(str(r[0]).startswith("rec-") for r in lake)
    # no personal value reaches the lake
    files = b"".join(f.read_bytes() for f in p.lake.files("admin_records"))
    assert "محمد".encode() not in files and "فاطمة".encode() not in files
    values = indicators.series(p, "admin_documents_delivered", area=EAST, actor=agent(EAST))
    by_month = {v.period_start.isoformat(): v.value for v in values}
    assert by_month["2025-02-01"] == 1 and by_month["2025-03-01"] == 1


def test_same_file_twice_adds_nothing_and_a_corrected_file_updates(
    territory_platform: Platform, tmp_path: Path
) -> None:
    p = territory_platform
    path = write_csv(tmp_path / "a.csv", ARABIC_HEADER, ARABIC_ROWS)
    first = record_file_imports.import_file(p, actor=agent(EAST), area_code=EAST, type_id="civil_status_certificate",
                                path=path, mapping_text=ARABIC_MAPPING)  # fmt: skip
    again = record_file_imports.import_file(p, actor=agent(EAST), area_code=EAST, type_id="civil_status_certificate",
                                path=path, mapping_text=ARABIC_MAPPING)  # fmt: skip
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
    corrected = [list(r) for r in ARABIC_ROWS]
    corrected[1][4], corrected[1][6] = "20/02/2025 12:00", "سلمت"  # record 102 was delivered
    path2 = write_csv(tmp_path / "b.csv", ARABIC_HEADER, corrected)
    fixed = record_file_imports.import_file(p, actor=agent(EAST), area_code=EAST, type_id="civil_status_certificate",
                                path=path2, mapping_text=ARABIC_MAPPING)  # fmt: skip
    assert (fixed.inserted, fixed.updated, fixed.unchanged) == (0, 1, 2)
    assert len(stored(p)) == 3
    assert [r.status for r in stored(p)] == ["delivered", "delivered", "delivered"]
    lake = lake_rows(p)
    assert len(lake) == 3 and len({r[0] for r in lake}) == 3  # updated in place, never twice
    assert [r[4] for r in lake] == ["delivered", "delivered", "delivered"]
    with p.db.connect() as conn:
        imports = conn.execute(
            sa.select(record_imports).order_by(record_imports.c.created_at)
        ).all()
        actions = [e.action for e in audit.entries(conn)]
        assert audit.verify(conn).ok
    assert [i.state for i in imports] == ["committed"] * 3
    assert imports[0].file_sha256 == imports[1].file_sha256 != imports[2].file_sha256
    assert imports[0].actor == "user:amina"
    assert actions.count("records.import") == 3 and actions.count("records.preview") == 3


def test_rejected_rows_stop_the_whole_file_and_are_reported_by_line_column_value_reason(
    territory_platform: Platform, tmp_path: Path
) -> None:
    p = territory_platform
    header = [
        "numero_dossier",
        "date_demande",
        "canal",
        "statut",
        "date_delivrance",
        "surface_m2",
        "nom_demandeur",
    ]
    rows = [
        ["P-1", "2025-01-10 09:00", "counter", "delivered", "2025-02-01 10:00", "120,5", "Ali"],
        ["P-2", "2099-01-01 09:00", "counter", "pending", "", "80", "Samir"],  # future
        ["P-3", "2025-01-11", "fax", "pending", "", "80", "Nadia"],  # unknown code
        ["P-4", "2025-01-12", "online", "delivered", "2025-01-01", "lots", "Omar"],  # two errors
        ["P-1", "2025-01-13", "online", "pending", "", "", "Ali"],  # duplicate key
        ["", "2025-01-14", "online", "pending", "", "", "Ali"],  # no key
    ]
    path = write_csv(tmp_path / "permis.csv", header, rows, delimiter=";")
    staged = record_file_imports.stage(
        p, actor=agent(EAST), area_code=EAST, type_id="building_permit", path=path
    )
    assert (staged.rows_total, staged.rows_valid, staged.rows_rejected) == (6, 0, 6)
    found = {(e.line, e.column, e.value, e.reason) for e in staged.errors}
    assert (3, "date_demande", "2099-01-01 09:00", "in the future") in found
    assert (4, "canal", "fax", "unknown code (allowed: counter, online)") in found
    assert (5, "surface_m2", "lots", "not a number") in found
    assert (5, "date_delivrance", "2025-01-01", "before requested_at") in found
    assert (6, "numero_dossier", "P-1", "same file_number as line 2") in found
    assert (2, "numero_dossier", "P-1", "file_number repeated further down") in found
    assert (7, "numero_dossier", None, "required, empty") in found
    with pytest.raises(Invalid, match="6 of 6 rows were rejected, so nothing was stored"):
        record_file_imports.commit(p, actor=agent(EAST), import_id=staged.id)
    assert stored(p) == [] and not p.lake.has("admin_records")
    report = records.get_import(p, actor=agent(EAST), import_id=staged.id)
    assert report.state == "refused"
    text = records.errors_csv(p, actor=agent(EAST), import_id=staged.id).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == ["line", "column", "value", "code", "reason"]
    assert {r["code"] for r in table} == {
        "future", "unknown_code", "not_number", "before_requested", "duplicate_key", "required"
    }  # fmt: skip
    assert "other" not in {e.code for e in staged.errors}
    assert len(table) == len(staged.errors) == 7
    assert [int(r["line"]) for r in table] == sorted(int(r["line"]) for r in table)


def test_partial_keeps_the_good_rows_and_personal_values_never_show_in_errors(
    territory_platform: Platform, tmp_path: Path
) -> None:
    p = territory_platform
    header = ["file_number", "requested_at", "channel", "status", "applicant_name"]
    rows = [["A", "2025-04-01T10:00:00Z", "online", "pending", "Ali"],
            ["B", "not a date", "online", "pending", "x" * 10],
            ["C", "2025-04-02T10:00:00+01:00", "ONLINE", "Pending", "Sara"]]  # fmt: skip
    path = write_csv(tmp_path / "p.csv", header, rows)
    report = record_file_imports.import_file(p, actor=agent(EAST), area_code=EAST, type_id="building_permit",
                                 path=path, partial=True)  # fmt: skip
    assert (report.inserted, report.rows_rejected) == (2, 1)
    assert [r.data["file_number"] for r in stored(p)] == ["A", "C"]
    assert stored(p)[1].requested_at.isoformat() == "2025-04-02T09:00:00+00:00"
    assert all(r.personal is None for r in stored(p))  # applicant_name is not kept
    assert [(e.line, e.column, e.reason.split(" (")[0]) for e in report.errors] == [
        (3, "requested_at", "not a date/time in a known format")
    ]


def test_xlsx_file_is_read_with_its_row_numbers(
    territory_platform: Platform, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["N° dossier", "date_demande", "canal", "statut", "date_delivrance"])
    sheet.append(["L-1", "2025-05-02 08:00", "guichet", "delivered", "2025-05-20 09:00"])
    sheet.append([None, None, None, None, None])
    sheet.append([1234, "2025-05-03 08:00", "guichet", "tomorrow", None])
    path = tmp_path / "licences.xlsx"
    book.save(path)
    mapping = "columns: {file_number: N° dossier}\nvalues: {channel: {guichet: counter}}\n"
    staged = record_file_imports.stage(territory_platform, actor=agent(EAST), area_code=EAST,
                           type_id="business_licence", path=path, mapping_text=mapping)  # fmt: skip
    assert (staged.rows_total, staged.rows_valid) == (2, 1)
    assert [(e.line, e.column, e.value) for e in staged.errors] == [(4, "statut", "tomorrow")]
    assert staged.preview[0]["file_number"] == "L-1" and staged.preview[0]["channel"] == "counter"


@pytest.mark.parametrize(
    ("content", "mapping", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "", "binary file, not a CSV or XLSX"),
        (b"%PDF-1.7\n1 0 obj", "", "PDF, not a CSV or XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "", "old Excel .xls"),
        (b"PK\x03\x04broken", "", "damaged"),
        (b"", "", "empty"),
        (b"file_number\nA\n", "", "only one column"),
        (b"file_number,file_number\nA,B\n", "", "appears twice"),
        (
            b"file_number,requested_at,channel\nA,2025-01-01,online\n",
            "",
            "missing columns for status",
        ),
        ("رقم الملف,date\n".encode("cp1256"), "encoding: utf-8\n", "line 1: the file is not UTF-8"),
        (b"a,b\n1,2\n", "encoding: klingon\n", "encoding must be one of"),
        (b"a,b\n1,2\n", "columns: [oops", "not readable YAML"),
    ],
)
def test_unreadable_files_fail_before_anything_is_kept(
    sqlite_territory: Platform, tmp_path: Path, content: bytes, mapping: str, message: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(Invalid, match=message):
        record_file_imports.stage(sqlite_territory, actor=agent(EAST), area_code=EAST, type_id="building_permit",
                      path=path, mapping_text=mapping)  # fmt: skip
    with sqlite_territory.db.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(record_imports)).scalar_one() == 0
        )
    assert not any(sqlite_territory.settings.records_dir.glob("*/*"))


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, sqlite_territory: Platform
) -> None:
    settings = sqlite_territory.settings.model_copy(update={"records_max_file_mb": 1})
    small = Platform(settings=settings, db=sqlite_territory.db, lake=sqlite_territory.lake)
    path = tmp_path / "big.csv"
    with open(path, "wb") as handle:  # sparse: 2 GB of nothing costs no disk
        handle.write(b"file_number,requested_at,channel,status\n")
        handle.truncate(2 * 1024**3)
    with pytest.raises(Invalid, match=r"the file is 2,048 MB, above the 1 MB limit"):
        record_file_imports.stage(
            small, actor=agent(EAST), area_code=EAST, type_id="building_permit", path=path
        )


def test_irregular_rows_are_reported_on_their_own_lines(
    sqlite_territory: Platform, tmp_path: Path
) -> None:
    text = (
        "file_number,requested_at,channel,status\n"
        "A,2025-01-01,online,pending\n"
        "\n"
        "B,2025-01-01,online\n"
        '"C\nD",2025-01-01,online,pending\n'
        "E,2025-01-01,online,pending,extra\n"
        "F,2025-01-02,online,pending\n"
    )
    path = tmp_path / "ragged.csv"
    path.write_text(text, encoding="utf-8")
    staged = record_file_imports.stage(sqlite_territory, actor=agent(EAST), area_code=EAST,
                           type_id="building_permit", path=path)  # fmt: skip
    assert [(e.line, e.reason) for e in staged.errors] == [
        (4, "3 cells where the header has 4"),
        (7, "5 cells where the header has 4"),
    ]
    assert [r["line"] for r in staged.preview] == [2, 5, 8]
    assert staged.preview[1]["file_number"] == "C\nD"


def test_an_agent_imports_only_into_their_own_commune(
    sqlite_territory: Platform, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", ARABIC_HEADER, ARABIC_ROWS)
    with pytest.raises(Forbidden):
        record_file_imports.stage(sqlite_territory, actor=agent(WEST), area_code=EAST,
                      type_id="civil_status_certificate", path=path, mapping_text=ARABIC_MAPPING)  # fmt: skip


def test_operator_record_types_load_from_the_data_folder(
    sqlite_territory: Platform, tmp_path: Path
) -> None:
    folder = sqlite_territory.settings.user_record_types_dir
    folder.mkdir(parents=True)
    (folder / "taxes.yaml").write_text(
        "id: market_fee\nservice: market_fee\nnames: {fr: Droits de marché}\nkey: [receipt]\n"
        "fields:\n  - {name: receipt, type: string, required: true}\n"
        "  - {name: amount_mad, type: number, required: true}\n",
        encoding="utf-8",
    )
    sqlite_territory.derived.record_types = None
    path = tmp_path / "fees.csv"
    path.write_text(
        "receipt,amount_mad,requested_at,channel,status\nR1,12.5,2025-06-01,counter,delivered\n"
    )
    report = record_file_imports.import_file(sqlite_territory, actor=agent(EAST), area_code=EAST,
                                 type_id="market_fee", path=path)  # fmt: skip
    assert report.inserted == 1
    assert stored(sqlite_territory)[0].data == {"receipt": "R1", "amount_mad": 12.5}
