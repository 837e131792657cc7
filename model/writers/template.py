"""The input workbook an analyst edits: ``critmin template OUT.xlsx [--from DATASET]``.

Everything on it comes from the schema manifest (``inputs/schema.py``): the
sheets, the headers, the units row, the header comments, the drop-downs and
the number checks.  Layout of each table sheet:

- row 1: a note row (first cell starts with ``#``) giving each column's unit
  or kind; the reader skips it, so Excel row numbers in errors stay true;
- row 2: the header, the first row of a named Excel table ``tbl_<table>``;
- rows 3...: the data, as numbers where the column is numeric and as text
  cells otherwise (so "NA" stays Namibia and "=..." stays text).

Drop-downs on reference columns read the key column of the referenced sheet
through a defined name ``<table>_ids``, so a mineral added on the
``minerals`` sheet is offered on every other sheet at once.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..inputs import schema
from ..inputs.reading import NOTE_MARK
from . import style
from .files import atomic_path
from .render import header_cell, print_setup, put

# Rows below the header that carry drop-downs and number checks: room to grow.
EDIT_ROWS = 5000
HEADER_ROW, FIRST_ROW = 2, 3

KIND_TEXT = {
    schema.ID: "id (text)",
    schema.TEXT: "text",
    schema.QUANTITY: "number >= 0",
    schema.RATE: "fraction 0-1",
    schema.YEAR: "year",
    schema.BOOL: "true / false",
}


def ids_name(table: str) -> str:
    """Defined name of a table's key column (the drop-down source)."""
    return f"{table}_ids"


def column_note(column: schema.Column) -> str:
    """Short text for the units row: the unit, or what kind of value goes there."""
    if column.references:
        text = f"{schema.TABLES_BY_NAME[column.references].key[0]} id (list)"
        if column.wildcard:
            text = f"{schema.TABLES_BY_NAME[column.references].key[0]} id or {column.wildcard} (list)"
    elif getattr(column, "choices", ()):
        text = " / ".join(column.choices)
    elif column.unit and column.kind == schema.RATE:
        text = f"fraction, {column.unit}"
    elif column.unit:
        text = column.unit
    else:
        text = KIND_TEXT[column.kind]
    if not column.required:
        text += ", optional"
    return text


def column_comment(table: schema.Table, column: schema.Column) -> str:
    lines = [f"{column.name}: {column.meaning}"]
    if column.unit:
        lines.append(f"unit: {column.unit}")
    lines.append(f"kind: {KIND_TEXT[column.kind]}")
    if column.references:
        lines.append(f"must name a {schema.TABLES_BY_NAME[column.references].key[0]} "
                     f"on the '{column.references}' sheet (drop-down)")
    if column.name in table.key:
        lines.append("unique" + (" together with " + ", ".join(k for k in table.key if k != column.name)
                                 if len(table.key) > 1 else ""))
    if column.required:
        lines.append("required")
    else:
        default = _default_text(column)
        lines.append(f"optional; blank means {default}")
    return "\n".join(lines)


def _default_text(column: schema.Column) -> str:
    if column.default_multiple is not None:
        other, multiple = column.default_multiple
        return f"{multiple:g} x {other}"
    if column.default in (None, ""):
        return "empty"
    if isinstance(column.default, bool):
        return "true" if column.default else "false"
    return f"{column.default:g}" if isinstance(column.default, float) else str(column.default)


def _validation(column: schema.Column) -> DataValidation | None:
    if column.references and len(schema.TABLES_BY_NAME[column.references].key) == 1:
        target = column.references
        noun = schema.TABLES_BY_NAME[target].key[0]
        check = DataValidation(type="list", formula1=ids_name(target), allow_blank=True)
        check.error = f"Pick a {noun} listed on the '{target}' sheet" + (
            f" or {column.wildcard}" if column.wildcard else "") + "."
        # A wildcard ('*') is not on the list: warn instead of refusing it.
        check.errorStyle = "warning" if column.wildcard else "stop"
    elif getattr(column, "choices", ()):
        check = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"', allow_blank=True)
        check.error = "Pick one of: " + ", ".join(column.choices) + "."
    elif column.kind == schema.BOOL:
        check = DataValidation(type="list", formula1='"true,false"', allow_blank=True)
        check.error = "Enter true or false."
    elif column.kind == schema.QUANTITY:
        check = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        check.error = "Enter a number that is not negative."
    elif column.kind == schema.RATE:
        check = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True)
        check.error = "Enter a fraction between 0 and 1 (0.65, not 65)."
    elif column.kind == schema.YEAR:
        check = DataValidation(type="whole", operator="between", formula1="1900", formula2="2200", allow_blank=True)
        check.error = "Enter a year (1900-2200)."
    else:
        return None
    check.errorTitle = f"{column.name}"
    check.showErrorMessage = True
    check.prompt = column.meaning[:250]
    check.promptTitle = column.name[:32]
    check.showInputMessage = True
    return check


def _value(column: schema.Column, value):
    """A typed dataset value as the cell should hold it."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if column.kind == schema.BOOL:
        return "true" if value else "false"
    if column.kind in (schema.ID, schema.TEXT):
        return str(value)
    if column.kind == schema.YEAR:
        return int(value)
    return float(value) if not float(value).is_integer() else int(value) if abs(value) < 1e15 else float(value)


def _width(column: schema.Column, values: list) -> float:
    if column.name in ("source", "notes"):
        return 60
    texts = [column.name, column_note(column)] + [
        f"{v:,.0f}" if isinstance(v, (int, float)) and float(v).is_integer() else str(v) for v in values[:500]
        if v is not None]
    return min(48, max(10, max(len(t) for t in texts) + 2))


def _table_sheet(book, table: schema.Table, frame) -> None:
    sheet = book.create_sheet(table.name)
    columns = table.all_columns
    rows = [[_value(column, value) for column, value in zip(columns, record)]
            for record in frame[[c.name for c in columns]].itertuples(index=False, name=None)]
    for j, column in enumerate(columns, start=1):
        note = column_note(column)
        put(sheet, 1, j, f"{NOTE_MARK} {note}" if j == 1 else note)
        sheet.cell(1, j).font = style.SMALL_NOTE_FONT
        sheet.cell(1, j).fill = style.NOTE_FILL
        sheet.cell(1, j).alignment = Alignment(wrap_text=True, vertical="top")
        header_cell(sheet, HEADER_ROW, j, column.name, wrap=False)
        comment = Comment(column_comment(table, column), "critmin")
        comment.width, comment.height = 320, 150
        sheet.cell(HEADER_ROW, j).comment = comment
    for i, row in enumerate(rows, start=FIRST_ROW):
        for j, value in enumerate(row, start=1):
            put(sheet, i, j, value)
    last_row = FIRST_ROW + max(len(rows), 1) - 1  # an Excel table needs one data row, blank if need be
    last_column = get_column_letter(len(columns))
    excel_table = Table(displayName=f"tbl_{table.name}", ref=f"A{HEADER_ROW}:{last_column}{last_row}")
    excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    sheet.add_table(excel_table)
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        values = [row[j - 1] for row in rows]
        sheet.column_dimensions[letter].width = _width(column, values)
        number_format = style.input_number_format(column.kind, values)
        if number_format:
            for i in range(FIRST_ROW, last_row + 1):
                sheet.cell(i, j).number_format = number_format
        check = _validation(column)
        if check is not None:
            check.add(f"{letter}{FIRST_ROW}:{letter}{FIRST_ROW + EDIT_ROWS - 1}")
            sheet.add_data_validation(check)
    sheet.row_dimensions[1].height = 30
    sheet.freeze_panes = f"B{FIRST_ROW}"
    sheet.sheet_properties.tabColor = style.BLUE if table.required else style.TAB_OPTIONAL
    print_setup(sheet)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    # The key column (first of the key) feeds the drop-downs of the sheets that refer to this one.
    if len(table.key) == 1:
        key_letter = get_column_letter([c.name for c in columns].index(table.key[0]) + 1)
        first = f"{quote_sheetname(table.name)}!${key_letter}${FIRST_ROW}"
        whole = f"{quote_sheetname(table.name)}!${key_letter}${FIRST_ROW}:${key_letter}${FIRST_ROW + EDIT_ROWS - 1}"
        # The list grows and shrinks with the filled cells: no trailing blanks in the drop-down.
        book.defined_names[ids_name(table.name)] = DefinedName(
            ids_name(table.name), attr_text=f"OFFSET({first},0,0,MAX(1,COUNTA({whole})),1)")


def _readme(sheet, source: str) -> None:
    lines: list[tuple[str, object]] = [
        ("title", "critmin input workbook"),
        ("text", f"Made by 'critmin template' from {source}. Edit the tables, then solve this file."),
        ("blank", None),
        ("head", "How to solve this workbook"),
        ("text", "1. Save this file as .xlsx, for example next to your run files as runs/my-inputs.xlsx."),
        ("text", "2. Write a run file (TOML), for example runs/my-run.toml (copy runs/base-2030.toml for every "
                 "policy key with comments):"),
        ("code", 'name = "my-run"'),
        ("code", 'data = "my-inputs.xlsx"        # relative to the run file'),
        ("code", "year = 2030"),
        ("code", "[policy]"),
        ("code", "country_cap = 0.65"),
        ("code", "stockpile_days = 60"),
        ("text", "3. Check it:  critmin validate runs/my-run.toml   then solve it:  critmin solve runs/my-run.toml"),
        ("text", "4. Results go to runs/out/my-run/ (results.xlsx, summary.json, flows.csv, manifest.json)."),
        ("blank", None),
        ("head", "Rules of the workbook"),
        ("text", "- One sheet per table. Keep the sheet names and the header names (row 2) as they are."),
        ("text", "- Row 1 of each table sheet (grey, starting with #) gives units; critmin skips it. Hover over a "
                 "header for its meaning, unit and default."),
        ("text", "- Add rows directly under a table: Excel extends the table, its drop-downs and checks."),
        ("text", "- Columns that name a mineral, country or project have a drop-down fed by the key column of "
                 "that sheet; add the mineral, country or project there first."),
        ("text", "- Type values, not formulas: a formula in a data cell is refused (paste its value instead)."),
        ("text", "- Money is in one currency throughout: the one the currency sheet names (USD when it is empty); "
                 "tonnes are per year in the mineral's reporting unit (minerals.unit). Rates are fractions: 0.65, "
                 "not 65 %."),
        ("text", "- Blank optional cells take the default shown in the header comment. Ids are text: NA is Namibia."),
        ("text", "- Optional tables may stay empty. Every table may also carry free-text source and notes columns."),
        ("text", "- critmin checks everything again when it reads the file and reports every problem as "
                 "sheet:row:column with the Excel row number."),
        ("blank", None),
        ("head", "Tables"),
    ]
    row = 1
    for kind, text in lines:
        if kind != "blank":
            put(sheet, row, 1, text)
            fonts = {"title": style.README_TITLE_FONT, "head": style.README_HEAD_FONT}
            sheet.cell(row, 1).font = fonts.get(kind, Font())
            if kind == "code":
                sheet.cell(row, 1).font = style.CODE_FONT
                sheet.cell(row, 1).alignment = Alignment(indent=2)
        row += 1
    header = ["table / column", "required", "unit or kind", "default", "refers to", "meaning"]
    for table in schema.TABLES:
        put(sheet, row, 1, table.name)
        sheet.cell(row, 1).hyperlink = f"#{quote_sheetname(table.name)}!A1"
        sheet.cell(row, 1).font = style.TABLE_LINK_FONT
        put(sheet, row, 2, "required table" if table.required else "optional table")
        put(sheet, row, 6, table.meaning + f" Unique: {', '.join(table.key)}.")
        sheet.cell(row, 6).font = style.BOLD_FONT
        row += 1
        for j, text in enumerate(header, start=1):
            put(sheet, row, j, text)
            sheet.cell(row, j).font = style.NOTE_FONT
            sheet.cell(row, j).border = style.THIN_BORDER
        row += 1
        for column in table.all_columns:
            values = [f"  {column.name}", "yes" if column.required else "no",
                      column.unit or KIND_TEXT[column.kind],
                      "" if column.required else _default_text(column),
                      column.references or "", column.meaning]
            for j, value in enumerate(values, start=1):
                put(sheet, row, j, value)
            row += 1
        row += 1
    for letter, width in zip("ABCDEF", (26, 14, 22, 22, 16, 90)):
        sheet.column_dimensions[letter].width = width
    sheet.sheet_properties.tabColor = style.TAB_README
    print_setup(sheet)


def write_template(path: Path, dataset, source: str) -> None:
    """Write the input workbook for a validated ``Dataset`` (every schema table, empty if absent)."""
    book = openpyxl.Workbook()
    _readme(book.active, source)
    book.active.title = "README"
    for table in schema.TABLES:
        _table_sheet(book, table, dataset.tables[table.name])
    book.active = 0
    with atomic_path(path) as temporary:
        book.save(temporary)
