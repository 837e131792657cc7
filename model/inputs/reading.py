"""Read a dataset's tables as text, cell by cell, with the row numbers a user sees.

Nothing here interprets a value: typing and checks live in ``validate``.
Every cell arrives as a string so that "NA" (Namibia) stays "NA" and ids are
never turned into numbers.  A dataset is a folder of ``<table>.csv`` files or
one ``.xlsx`` workbook with a sheet per table.
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Problem
from .schema import TABLES

# A row above the header whose first non-empty cell starts with this is a note
# (the template's units row); it is skipped, and row numbers stay as in Excel.
NOTE_MARK = "#"

# Workbook limits: large enough for any real dataset, small enough that a
# hostile file cannot exhaust memory.  Checked before openpyxl opens the file.
MAX_WORKBOOK_BYTES = 50 * 1024**2
MAX_UNCOMPRESSED_BYTES = 500 * 1024**2
MAX_COMPRESSION_RATIO = 100.0


@dataclass(frozen=True)
class RawTable:
    """A table as read: header names and rows of text keyed by header."""

    name: str
    where: str  # file or sheet name used in messages
    header: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, dict[str, str]], ...]  # (row number, cells)


def read_dataset(path: Path) -> dict[str, RawTable]:
    """Read every known table present at ``path`` (a folder or an .xlsx)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        raise InputError([Problem(str(path), None, None, "dataset not found: expected a folder of CSV files or an .xlsx")])
    if path.suffix.lower() != ".xlsx":
        raise InputError([Problem(path.name, None, None, "a dataset is a folder of CSV files or an .xlsx workbook", path.suffix)])
    return _read_workbook(path)


def dataset_files(path: Path) -> list[Path]:
    """The files a dataset consists of (for hashing and overwrite checks)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.glob("*.csv") if p.stem in {t.name for t in TABLES})
    return [path]


def _read_folder(folder: Path) -> dict[str, RawTable]:
    tables = {}
    for table in TABLES:
        file = folder / f"{table.name}.csv"
        if file.exists():
            tables[table.name] = _read_csv(table.name, file)
    return tables


def _read_csv(name: str, file: Path) -> RawTable:
    where = file.name
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            header_row = 1
            rows = []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    if is_note_row(cells):
                        continue
                    header = [cell.strip() for cell in cells]
                    header_row = reader.line_num
                    continue
                rows.append((reader.line_num, _cells_by_header(header, cells)))
    except UnicodeDecodeError as error:
        raise InputError([Problem(where, None, None, "not UTF-8 text", str(error)[:60])]) from None
    except csv.Error as error:
        raise InputError([Problem(where, None, None, "malformed CSV", str(error))]) from None
    return RawTable(name, where, tuple(header or ()), header_row, tuple(rows))


def is_note_row(cells: list[str]) -> bool:
    """A row before the header whose first non-empty cell starts with ``#`` (units, remarks)."""
    first = next((cell.strip() for cell in cells if cell and cell.strip()), "")
    return first.startswith(NOTE_MARK)


def _cells_by_header(header: list[str], cells: list[str]) -> dict[str, str]:
    row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
        row["\0extra"] = ",".join(cells[len(header):])
    return row


def check_workbook_archive(path: Path) -> None:
    """Refuse workbooks too large, not zip archives, or likely zip bombs."""
    where = path.name
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise InputError([Problem(where, None, None, f"workbook larger than {MAX_WORKBOOK_BYTES // 1024**2} MiB", size)])
    if not zipfile.is_zipfile(path):
        raise InputError([Problem(where, None, None, "not an .xlsx workbook (not a zip archive)")])
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    uncompressed = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members) or 1
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise InputError([Problem(where, None, None,
                                  f"uncompressed size over {MAX_UNCOMPRESSED_BYTES // 1024**2} MiB (zip bomb?)", uncompressed)])
    if uncompressed / compressed > MAX_COMPRESSION_RATIO:
        raise InputError([Problem(where, None, None, "compression ratio out of proportion (zip bomb?)",
                                  f"{uncompressed / compressed:.0f}:1")])


def _read_workbook(path: Path) -> dict[str, RawTable]:
    import openpyxl

    # openpyxl parses with defusedxml only when it is importable; without it a
    # crafted workbook could expand entities without bound.
    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise InputError([Problem(path.name, None, None, "refusing to read workbooks: defusedxml is not installed")])
    check_workbook_archive(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many types for corrupt files
        raise InputError([Problem(path.name, None, None, "cannot open workbook", type(error).__name__)]) from None
    try:
        names = {table.name for table in TABLES}
        tables = {}
        problems = []
        for sheet in workbook.worksheets:
            if sheet.title in names:
                tables[sheet.title], sheet_problems = _read_sheet(sheet)
                problems += sheet_problems
        if problems:
            raise InputError(problems)
        return tables
    finally:
        workbook.close()


def _read_sheet(sheet) -> tuple[RawTable, list[Problem]]:
    header: list[str] | None = None
    header_row = 1
    rows = []
    problems = []
    # A stale <dimension> written by some tools would make openpyxl stop early
    # and silently drop rows; read every row that is there instead.
    sheet.reset_dimensions()
    # Rows come one per Excel row from row 1, gaps filled with empty rows whose
    # cells carry no row number, so count them rather than ask a cell.
    for row_number, excel_row in enumerate(sheet.iter_rows(), start=1):
        if not excel_row:
            continue
        cells = []
        for cell in excel_row:
            if getattr(cell, "data_type", None) == "f":
                column = header[cell.column - 1] if header and cell.column - 1 < len(header) else cell.column_letter
                # A formula has no trustworthy value here (openpyxl-written
                # files carry no cache), so refuse rather than read it as empty.
                problems.append(Problem(sheet.title, row_number, column,
                                        "formulas are not read; paste the value instead", cell.value))
                cells.append("")
            else:
                cells.append(_cell_text(cell.value))
        if not any(cells):
            continue
        if header is None:
            if is_note_row(cells):
                continue
            header = [c.strip() for c in cells]
            header_row = row_number
            continue
        rows.append((row_number, _cells_by_header(header, cells)))
    return RawTable(sheet.title, sheet.title, tuple(header or ()), header_row, tuple(rows)), problems


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value).strip()
