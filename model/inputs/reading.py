"""Read a dataset's tables as text, cell by cell, with the row numbers a user sees.

Nothing here interprets a value: typing and checks live in ``validate``.
Every cell arrives as a string so that "NA" (Namibia) stays "NA" and ids are
never turned into numbers.  A dataset is a folder of ``<table>.csv`` files or
one ``.xlsx`` workbook with a sheet per table.

What cannot be read is reported where it is and reading goes on, so that one
bad cell never hides the others: a CSV quote left open (at the line and cell
where it opens), text after a closing quote, a workbook formula, a damaged
number cell, a bad cell reference or a sheet whose XML breaks off.  Such a
cell arrives as ``Unreadable`` and validation skips it.  Cells keep their
control characters (NUL included) for validation to refuse; only spaces,
tabs and line breaks around a value are trimmed.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
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

# Excel's own grid: a reference outside it is damage, not data.
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384


class Unreadable(str):
    """A cell already reported as unreadable: validation treats it as missing, silently."""


@dataclass(frozen=True)
class RawTable:
    """A table as read: header names and rows of text keyed by header."""

    name: str
    where: str  # file or sheet name used in messages
    header: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, dict[str, str]], ...]  # (row number, cells)
    problems: tuple[Problem, ...] = ()  # what could not be read, located


def read_dataset(path: Path) -> dict[str, RawTable]:
    """Read every known table present at ``path`` (a folder or an .xlsx)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        raise InputError([Problem(str(path), None, None,
                                  "dataset not found: expected a folder of CSV files or an .xlsx")])
    if path.suffix.lower() != ".xlsx":
        raise InputError([Problem(path.name, None, None, "a dataset is a folder of CSV files or an .xlsx workbook",
                                  path.suffix)])
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
    data = file.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError([Problem(where, None, None, "not UTF-8 text", str(error)[:60])]) from None
    # The csv module refuses NUL outright; let a stand-in through and put the
    # NUL back in its cell, where validation reports it located.
    stand_in = None
    if "\0" in text:
        stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
        text = text.replace("\0", stand_in)
    lines = _lines(text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    table = _Rows()
    problems = []
    while True:
        start = reader.line_num + 1  # a quoted cell may span lines: a row is where it starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(_csv_problem(where, lines, start, reader.line_num, table.header, error))
            continue  # the reader goes on at the next line
        if stand_in is not None:
            cells = [cell.replace(stand_in, "\0") for cell in cells]
        table.add(start, cells)
    return table.raw(name, where, problems)


class _Rows:
    """A table's rows as a CSV file or a sheet gives them: blank rows skipped, note rows before the
    header skipped, the first other row the header, every later row a dict by header name."""

    def __init__(self):
        self.header: list[str] | None = None
        self.header_row = 1
        self.rows: list[tuple[int, dict[str, str]]] = []

    def add(self, number: int, cells: list[str]) -> None:
        if not any(_trim(cell) for cell in cells):
            return
        if self.header is None:
            if not is_note_row(cells):
                self.header, self.header_row = [_trim(cell) for cell in cells], number
            return
        self.rows.append((number, _cells_by_header(self.header, cells)))

    def raw(self, name: str, where: str, problems) -> RawTable:
        return RawTable(name, where, tuple(self.header or ()), self.header_row, tuple(self.rows), tuple(problems))


def _lines(text: str) -> list[str]:
    """The lines as the csv module counts them (\\n, \\r\\n or \\r end a line)."""
    return list(io.StringIO(text, newline=""))


def _csv_problem(where: str, lines: list[str], start: int, end: int, header, error: csv.Error) -> Problem:
    """Locate a CSV syntax error: the line and cell where the quote opens, or the text after one closes."""
    found = _scan_record(lines, start)
    if found is None:
        return Problem(where, end, None, "malformed CSV", str(error))
    line, field, what = found
    column = (header[field] if header and field < len(header) else f"cell {field + 1}") if header else None
    if what == "open":
        return Problem(where, line, column, "a quoted cell is never closed: the quote opens here and the rest of "
                                            "the file was read into it")
    return Problem(where, line, column, "text after the closing quote of a quoted cell (quote the whole cell "
                                        "and double any quote inside it)")


def _scan_record(lines: list[str], start: int) -> tuple[int, int, str] | None:
    """Walk one CSV record from line ``start`` as the csv module does; the first fault, or None.

    Returns (line, field index, "open") for a quote never closed, or (line,
    field index, "after") for text following a closing quote.
    """
    field, quoted, closed, at_start, opened = 0, False, False, True, None
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        i = 0
        while i < len(line):
            character = line[i]
            if quoted:
                if character == '"':
                    if line[i + 1:i + 2] == '"':
                        i += 2
                        continue
                    quoted, closed = False, True
                i += 1
                continue
            if character in "\r\n":
                break
            if closed and character != ",":
                return number, field, "after"
            if character == ",":
                field, closed, at_start = field + 1, False, True
            elif character == '"' and at_start:
                quoted, at_start, opened = True, False, (number, field)
            else:
                at_start = False
            i += 1
        if not quoted:
            return None
    return (opened[0], opened[1], "open") if quoted and opened else None


def is_note_row(cells: list[str]) -> bool:
    """A row before the header whose first non-empty cell starts with ``#`` (units, remarks)."""
    first = next((_trim(cell) for cell in cells if cell and _trim(cell)), "")
    return first.startswith(NOTE_MARK)


def _cells_by_header(header: list[str], cells: list[str]) -> dict[str, str]:
    row = {name: (_trim(cells[i]) if i < len(cells) else "") for i, name in enumerate(header)}
    if len(cells) > len(header) and any(_trim(cell) for cell in cells[len(header):]):
        row["\0extra"] = ",".join(cells[len(header):])
    return row


def _trim(cell: str) -> str:
    """Spaces, tabs and line breaks around a value go; control characters stay, for validation to refuse."""
    if isinstance(cell, Unreadable):
        return cell
    start, end = 0, len(cell)
    while start < end and _blank(cell[start]):
        start += 1
    while end > start and _blank(cell[end - 1]):
        end -= 1
    return cell[start:end]


def _blank(character: str) -> bool:
    return character in " \t\r\n" or unicodedata.category(character) == "Zs"


def check_workbook_archive(path: Path) -> None:
    """Refuse workbooks too large, not zip archives, or likely zip bombs."""
    where = path.name
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise InputError([Problem(where, None, None, f"workbook larger than {MAX_WORKBOOK_BYTES // 1024**2} MiB",
                                  size)])
    if not zipfile.is_zipfile(path):
        raise InputError([Problem(where, None, None, "not an .xlsx workbook (not a zip archive)")])
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    uncompressed = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members) or 1
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise InputError([Problem(where, None, None,
                                  f"uncompressed size over {MAX_UNCOMPRESSED_BYTES // 1024**2} MiB (zip bomb?)",
                                  uncompressed)])
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
        return {sheet.title: _read_sheet(workbook, sheet) for sheet in workbook.worksheets if sheet.title in names}
    finally:
        workbook.close()


def _read_sheet(workbook, sheet) -> RawTable:
    """Every row of a sheet as text; a cell or a stretch of XML that cannot be read becomes a located problem.

    The sheet's XML is parsed here (not through openpyxl's row iterator,
    which stops at the first damaged cell and trusts a stale <dimension>),
    with openpyxl's own cell parser wrapped so that one bad cell is one
    problem and the rest of the sheet is still read.
    """
    title = sheet.title
    parser = _tolerant_parser()(sheet._get_source(), sheet._shared_strings, data_only=False,
                                 epoch=workbook.epoch, date_formats=getattr(workbook, "_date_formats", set()),
                                 timedelta_formats=getattr(workbook, "_timedelta_formats", set()))
    table = _Rows()
    faults = parser.faults  # (row, column index or None, message, value)
    last = 0
    try:
        for number, parsed in parser.parse():
            if number <= last:  # Excel writes rows in order, each once
                faults.append((number, None, f"row {number} out of order or repeated (after row {last})", None))
                continue
            last = number
            cells: list[str] = []
            for cell in parsed:
                index = cell["column"] - 1
                cells.extend([""] * (index + 1 - len(cells)))
                if cells[index] != "":
                    faults.append((number, index + 1, "cell appears twice in the row", None))
                if cell["data_type"] == "f":
                    # No trustworthy value (openpyxl-written files carry no cached
                    # result): refuse rather than read it as empty.
                    faults.append((number, index + 1, "formulas are not read; paste the value instead",
                                   str(cell["value"])))
                    cells[index] = Unreadable("")
                elif isinstance(cell["value"], Unreadable):
                    cells[index] = cell["value"]
                else:
                    cells[index] = _cell_text(cell["value"])
            table.add(number, cells)
    except Exception as error:  # XML that breaks off (a truncated file) or is not well formed
        faults.append(_xml_fault(sheet, error, last))
    finally:
        parser.source.close()

    def column_name(row: int, index: int | None) -> str | None:
        if index is None:
            return None
        header = table.header
        if header and row > table.header_row and index <= len(header) and header[index - 1]:
            return header[index - 1]
        from openpyxl.utils import get_column_letter

        return get_column_letter(index) if 1 <= index <= MAX_COLUMNS else str(index)

    problems = tuple(Problem(title, row, column_name(row, index), message, value)
                     for row, index, message, value in faults)
    return table.raw(title, title, problems)


_PARSER = None


def _tolerant_parser():
    """openpyxl's worksheet parser, made to report a damaged cell or row and go on."""
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    from openpyxl.utils import column_index_from_string
    from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser

    class TolerantParser(WorkSheetParser):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.faults: list[tuple] = []

        def parse_row(self, row):
            number = row.get("r")
            if number is not None and not (number.isdigit() and 1 <= int(number) <= MAX_ROWS):
                self.faults.append((self.row_counter + 1, None, "bad row number", number))
                del row.attrib["r"]  # count it as the next row
            return super().parse_row(row)

        def parse_cell(self, element):
            reference = element.get("r")
            row, column = self.row_counter, self.col_counter + 1
            if reference is not None:
                match = re.fullmatch(r"([A-Za-z]{1,3})([0-9]{1,7})", reference)
                if match:
                    column, row = column_index_from_string(match.group(1).upper()), int(match.group(2))
                if not match or not 1 <= column <= MAX_COLUMNS or row != self.row_counter:
                    self.col_counter += 1
                    self.faults.append((self.row_counter, self.col_counter,
                                        "bad cell reference" + (f" (it is in row {self.row_counter})"
                                                                if match and row != self.row_counter else ""),
                                        reference))
                    return self._unreadable(self.col_counter)
            try:
                return super().parse_cell(element)
            except Exception:  # noqa: BLE001 - any damage in one cell is that cell's problem
                self.col_counter = column
                kind = element.get("t", "n")
                what = {"n": "a number cell that does not hold a number", "s": "a text cell whose shared "
                        "string does not exist", "b": "a true/false cell that does not hold 0 or 1",
                        "d": "a date cell that does not hold a date"}.get(kind, f"a damaged cell (type {kind})")
                self.faults.append((self.row_counter, column, what, element.findtext(VALUE_TAG)))
                return self._unreadable(column)

        def _unreadable(self, column: int) -> dict:
            return {"row": self.row_counter, "column": column, "value": Unreadable(""), "data_type": "n",
                    "style_id": 0}

    _PARSER = TolerantParser
    return _PARSER


def _xml_fault(sheet, error: Exception, last_row: int) -> tuple:
    """Where a sheet's XML stops making sense: the cell (or row) being read at the parser's position.

    A truncated file ends inside its last cell: that cell is the one named.
    """
    message = str(error)
    cut = any(words in message for words in ("no element found", "unclosed token", "unexpected end"))
    position = getattr(error, "position", None)
    row, index = last_row + 1, None
    if position:
        try:
            with sheet._get_source() as source:
                text = source.read().decode("utf-8", errors="replace")
        except Exception:  # noqa: BLE001 - the location is a courtesy; the problem is reported anyway
            text = ""
        lines = text.split("\n")
        offset = sum(len(line) + 1 for line in lines[:position[0] - 1]) + position[1]
        before = text if cut else text[:offset]
        cells = re.findall(r"<c\b[^>]*?\br=\"([A-Za-z]{1,3})([0-9]{1,7})\"", before)
        rows = re.findall(r"<row\b[^>]*?\br=\"([0-9]{1,7})\"", before)
        if rows:
            row = int(rows[-1])
        if cells and int(cells[-1][1]) == row:
            from openpyxl.utils import column_index_from_string

            index = column_index_from_string(cells[-1][0].upper())
    what = ("the sheet's XML breaks off here (a truncated or damaged file)" if cut
            else "the sheet's XML is damaged here")
    return row, index, what, f"{type(error).__name__}: {message}"


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return _trim(str(value))
