"""results.xlsx: a plain sheet per result table (the analyst workbook comes later).

Strings from inputs are forced to text cells: openpyxl would otherwise store
"=HYPERLINK(...)" as a formula and "#N/A" as an error.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from .files import atomic_path


def _put(sheet, row: int, column: int, value) -> None:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        value = None
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"


def _table_sheet(workbook, title: str, frame) -> None:
    sheet = workbook.create_sheet(title)
    for j, name in enumerate(frame.columns, start=1):
        _put(sheet, 1, j, str(name))
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            _put(sheet, i, j, value if not isinstance(value, (dict, list)) else str(value))
    sheet.freeze_panes = "A2"
    for j, name in enumerate(frame.columns, start=1):
        width = max([len(str(name))] + [len(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in frame.iloc[:200, j - 1]])
        sheet.column_dimensions[get_column_letter(j)].width = min(60, max(8, width + 2))


def write_results_xlsx(path: Path, summary_rows: list[tuple[str, object]], tables: dict) -> None:
    """``summary_rows`` are (label, value) pairs; ``tables`` maps sheet title to DataFrame."""
    workbook = openpyxl.Workbook()
    summary = workbook.active
    summary.title = "Summary"
    for i, (label, value) in enumerate(summary_rows, start=1):
        _put(summary, i, 1, label)
        _put(summary, i, 2, value if not isinstance(value, (dict, list, tuple)) else str(value))
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 40
    for title, frame in tables.items():
        _table_sheet(workbook, title, frame)
    with atomic_path(path) as temporary:
        workbook.save(temporary)
