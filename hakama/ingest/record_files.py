"""Reading a commune's record file (CSV in any delimiter and encoding, or XLSX) as batches of
text columns, each row with the line of the file it came from.

What the file is comes from its bytes, not its name: an XLSX is a ZIP holding
`xl/workbook.xml`; an old `.xls`, a PDF, an image or any other binary is refused before anything
is read. The encoding is UTF-8 (with or without BOM), UTF-16 with a BOM, or what the mapping
says; `auto` falls back to Windows-1256 (Arabic Windows) when the bytes are not UTF-8. A
file named UTF-8 that is not gets an error naming the first bad line.

Well-formed CSV is read by pyarrow's streaming reader (bounded memory, fast). When a row has
the wrong number of cells, or a quoted value spans lines, the file is read again with Python's
`csv` module, which knows the line of every row, so each problem is reported where it is.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from hakama.core.errors import Invalid
from hakama.core.records import ColumnMapping

BATCH_ROWS = 65_536
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class FileShape:
    """What a record file is: its kind, encoding, delimiter and header."""

    kind: str  # "csv" | "xlsx"
    encoding: str  # Python codec name ("utf-8", "cp1256"…); "" for XLSX
    delimiter: str
    header: tuple[str, ...]
    size: int
    sheet: str | None = None  # XLSX: the sheet read


@dataclass(frozen=True)
class RowBatch:
    """Rows of the file as text columns (null when a cell is empty), with their lines."""

    columns: pa.RecordBatch
    lines: np.ndarray  # int64, the file's line (CSV) or row number (XLSX) of each row


@dataclass(frozen=True)
class ShapeProblem:
    """A row the reader could not split into the header's columns."""

    line: int
    reason: str


def inspect(path: Path, mapping: ColumnMapping, *, max_bytes: int) -> FileShape:
    """What the file is; `Invalid` with a one-line reason when it cannot be read as records."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Invalid(
            f"the file is {_mb(size)}, above the {_mb(max_bytes)} limit (records_max_file_mb): "
            "split it or raise the limit",
            size=size,
            limit=max_bytes,
        )
    if size == 0:
        raise Invalid("the file is empty")
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _inspect_xlsx(path, mapping, size)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Invalid("this is an old Excel .xls file: save it as .xlsx or CSV first")
    if head.startswith(b"%PDF"):
        raise Invalid("this is a PDF, not a CSV or XLSX file")
    encoding = mapping.encoding
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise Invalid("this is a binary file, not a CSV or XLSX file")
    if encoding == "auto":
        encoding = "utf-8" if _first_bad_utf8(path) is None else "cp1256"
    elif encoding == "utf-8":
        bad = _first_bad_utf8(path)
        if bad is not None:
            raise Invalid(
                f"line {bad}: the file is not UTF-8 as the mapping says; "
                "set `encoding: windows-1256` (Arabic Windows) or save it as UTF-8",
                line=bad,
            )
    if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    try:
        text = head.decode(encoding, errors="strict" if len(head) < SNIFF_BYTES else "ignore")
    except UnicodeDecodeError:
        raise Invalid(f"line 1: the file cannot be read as {encoding}") from None
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise Invalid("line 1: the first line is empty; it must name the columns")
    delimiter = mapping.delimiter or max(DELIMITERS, key=first.count)
    header = tuple(h.strip() for h in next(csv.reader([first], delimiter=delimiter)))
    _check_header(header)
    return FileShape("csv", encoding, delimiter, header, size)


def _check_header(header: tuple[str, ...]) -> None:
    if len(header) < 2:
        raise Invalid(
            f"line 1: only one column ({header[0][:60]!r}): is this a CSV with another "
            "delimiter? Set `delimiter:` in the mapping"
        )
    seen: set[str] = set()
    for name in header:
        if not name:
            raise Invalid("line 1: a column has no name")
        if name in seen:
            raise Invalid(f"line 1: the column {name!r} appears twice")
        seen.add(name)


def _mb(n: int) -> str:
    return f"{n / 1_048_576:,.0f} MB" if n >= 1_048_576 else f"{n:,} bytes"


def _first_bad_utf8(path: Path) -> int | None:
    """The line of the first byte sequence that is not UTF-8, or None when all of it is."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk[: exc.start].count(b"\n")
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None


class Reread(Exception):
    """The fast reader met, after yielding rows, a row it cannot place: read again exactly."""


def read(
    path: Path, shape: FileShape, problems: list[ShapeProblem], *, exact: bool = False
) -> Iterator[RowBatch]:
    """The file's rows in batches; rows that do not fit the header go to `problems`.

    Raises `Reread` when the fast reader finds an irregular row after some batches went out:
    the caller drops what it made of them and reads again with `exact=True`.
    """
    if shape.kind == "xlsx":
        yield from _read_xlsx(path, shape, problems)
    elif exact:
        yield from _read_exact(path, shape, problems)
    else:
        yield from _read_fast(path, shape)


def _read_fast(path: Path, shape: FileShape) -> Iterator[RowBatch]:
    irregular: list[str] = []

    def handler(row: pcsv.InvalidRow) -> str:
        irregular.append(row.text)
        return "skip"

    types = {name: pa.string() for name in shape.header}
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(
            encoding=shape.encoding,
            block_size=1 << 22,
            column_names=list(shape.header),
            skip_rows=1,
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=shape.delimiter,
            newlines_in_values=False,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )
    line = 2
    for batch in reader:
        if irregular:
            raise Reread
        yield RowBatch(batch, np.arange(line, line + batch.num_rows, dtype=np.int64))
        line += batch.num_rows
    if irregular:
        raise Reread


def _read_exact(path: Path, shape: FileShape, problems: list[ShapeProblem]) -> Iterator[RowBatch]:
    width = len(shape.header)
    with open(path, encoding=shape.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=shape.delimiter)
        next(reader)
        cells: list[list[str | None]] = [[] for _ in range(width)]
        lines: list[int] = []
        start = reader.line_num + 1
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                start = reader.line_num + 1
                continue
            if len(row) != width:
                problems.append(
                    ShapeProblem(start, f"{len(row)} cells where the header has {width}")
                )
            else:
                for i, value in enumerate(row):
                    cells[i].append(value if value != "" else None)
                lines.append(start)
                if len(lines) >= BATCH_ROWS:
                    yield _batch(shape.header, cells, lines)
                    cells, lines = [[] for _ in range(width)], []
            start = reader.line_num + 1
        if lines:
            yield _batch(shape.header, cells, lines)


def _batch(header: tuple[str, ...], cells: list[list[str | None]], lines: list[int]) -> RowBatch:
    arrays = [pa.array(column, pa.string()) for column in cells]
    return RowBatch(
        pa.RecordBatch.from_arrays(arrays, names=list(header)), np.array(lines, dtype=np.int64)
    )


# XLSX -----------------------------------------------------------------------------------------


def _inspect_xlsx(path: Path, mapping: ColumnMapping, size: int) -> FileShape:
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise Invalid("this ZIP file is not an XLSX workbook")
    except zipfile.BadZipFile:
        raise Invalid("this file looks like a ZIP/XLSX but is damaged") from None
    header = next(_xlsx_rows(path, mapping.sheet), None)
    if header is None:
        raise Invalid("the sheet is empty")
    names = tuple(_cell_text(v) or "" for v in header[1])
    while names and not names[-1]:
        names = names[:-1]
    _check_header(names)
    return FileShape("xlsx", "", "", names, size, mapping.sheet)


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, tuple[object, ...]]]:
    import openpyxl  # a heavy import, needed only for XLSX

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise Invalid(f"the XLSX workbook cannot be read ({type(exc).__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise Invalid(f"no sheet {sheet!r} (the workbook has: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        yield from enumerate(ws.iter_rows(values_only=True), start=1)
    finally:
        book.close()


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _read_xlsx(path: Path, shape: FileShape, problems: list[ShapeProblem]) -> Iterator[RowBatch]:
    width = len(shape.header)
    cells: list[list[str | None]] = [[] for _ in range(width)]
    lines: list[int] = []
    rows = _xlsx_rows(path, shape.sheet)
    next(rows, None)
    for number, row in rows:
        values = [_cell_text(v) for v in row]
        if all(v is None for v in values):
            continue
        if any(v is not None for v in values[width:]):
            problems.append(ShapeProblem(number, f"cells beyond the {width} named columns"))
            continue
        values = (values + [None] * width)[:width]
        for i, value in enumerate(values):
            cells[i].append(value)
        lines.append(number)
        if len(lines) >= BATCH_ROWS:
            yield _batch(shape.header, cells, lines)
            cells, lines = [[] for _ in range(width)], []
    if lines:
        yield _batch(shape.header, cells, lines)
