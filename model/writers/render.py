"""The generic workbook renderer: cells, table sheets, a Summary sheet, native charts.

Nothing here knows critmin's tables.  A caller hands over:

- ``Sheet``s: a DataFrame with a note, the declarations of its columns
  (``results.columns.Column``: kind -> number format, meaning and unit ->
  header comment) and its highlights; each becomes a sheet with a note row,
  a named Excel table from row 2 (its own filter buttons), frozen header,
  widths and print setup;
- Summary items, top to bottom: ``(label, value)``, ``(label, value, kind)``
  or ``(label, value, kind, note)`` (kind: a column kind, or ``percent``; a
  numeric note is shown as a percent), ``Section(title)`` for a heading and
  ``Block(title, frame)`` for a small table;
- ``Chart``s: native bar charts (lines drawn over them, e.g. a cap), their
  data on a data sheet; ``line_chart`` draws a pivot already on a sheet.

Strings are always written as text cells: openpyxl would otherwise store
"=HYPERLINK(...)" from an input as a formula and "#N/A" as an error.
Workbooks are saved to a temporary file and renamed into place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import StrData, StrVal
from openpyxl.chart.label import DataLabelList
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..results.columns import Column
from . import style
from .files import atomic_path

BINDING_TOLERANCE = 1e-6  # as results.tables: a share within this of its cap is at the cap


# --------------------------------------------------------------------------- what a caller hands over


@dataclass(frozen=True)
class Section:
    """A heading on the Summary sheet."""

    title: str


@dataclass(frozen=True)
class Block:
    """A small table on the Summary sheet; ``table`` names the declared table its columns come from."""

    title: str
    frame: pd.DataFrame
    table: str | None = None
    columns: Mapping[str, Column] = field(default_factory=dict)


@dataclass(frozen=True)
class Highlight:
    """Conditional formatting of a table's rows.

    ``at_cap``: rows whose ``columns[0]`` (a share) is at ``columns[1]`` (its cap), red;
    ``flag``: rows where ``columns[0]`` is TRUE, in ``fill`` (red "binding" or green "chosen");
    ``positive``: cells of ``columns[0]`` above 0.5, in red bold.
    """

    how: str
    columns: tuple[str, ...]
    fill: str = "chosen"


@dataclass
class Sheet:
    """A DataFrame as a formatted table sheet."""

    title: str
    frame: pd.DataFrame
    note: str | None = None
    columns: Mapping[str, Column] = field(default_factory=dict)  # name -> declaration (missing: undeclared)
    highlights: tuple[Highlight, ...] = ()
    tab_colour: str | None = None


@dataclass
class Chart:
    """A native bar chart: ``data``'s first column is the categories, every other column a series.

    Columns named in ``lines`` are drawn as lines over the bars (a cap).
    """

    title: str
    data: pd.DataFrame
    y_title: str
    x_title: str = ""
    stacked: bool = False
    percent: bool = True
    lines: tuple[str, ...] = ()
    colours: dict[str, str] = field(default_factory=dict)
    labels: bool = False


# --------------------------------------------------------------------------- cells


def put(sheet, row: int, column: int, value, number_format: str | None = None):
    """Write one cell; text stays text (never a formula or an error code); a number takes ``number_format``."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    if value is pd.NA or value is pd.NaT:
        value = None
    if isinstance(value, (dict, list, tuple, set)):
        value = describe(value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format
    return cell


def describe(value) -> str:
    """A list or mapping as one line of text."""
    if isinstance(value, dict):
        return ", ".join(f"{k} = {describe(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(describe(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def header_comment(column: Column) -> Comment:
    """A header's comment: what the column holds and its unit."""
    lines = [f"{column.name}: {column.meaning}"]
    if column.unit:
        lines.append(f"unit: {column.unit}")
    comment = Comment("\n".join(lines), "critmin")
    comment.width, comment.height = 300, 110
    return comment


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with a plain index and unique text column names."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    frame = frame.copy()
    names, seen = [], {}
    for name in frame.columns:
        text = str(name) if not isinstance(name, tuple) else " ".join(str(n) for n in name if str(n))
        seen[text] = seen.get(text, 0) + 1
        names.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    frame.columns = names
    return frame


def _table_name(title: str, taken: set[str]) -> str:
    base = "t_" + (re.sub(r"[^A-Za-z0-9_]", "_", title).strip("_") or "table")
    name, i = base, 2
    while name.lower() in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name.lower())
    return name


def print_setup(sheet, landscape: bool = True, one_page: bool = False) -> None:
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1 if one_page else 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def header_cell(sheet, row: int, column: int, name: str, wrap: bool = True):
    cell = put(sheet, row, column, name)
    cell.font, cell.fill = style.HEADER_FONT, style.HEADER_FILL  # explicit: LibreOffice ignores table styles
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def section_heading(sheet, row: int, title: str, width: int = 3, font=None):
    cell = put(sheet, row, 1, title)
    cell.font = font or style.SECTION_FONT
    for j in range(1, width + 1):
        sheet.cell(row, j).border = style.SECTION_BORDER
    return cell


# --------------------------------------------------------------------------- table sheets


def table_sheet(book, spec: Sheet, taken: set[str]):
    """One DataFrame as a formatted sheet: note row, a named table from row 2, formats, comments, widths."""
    sheet = book.create_sheet(spec.title[:31])
    frame = clean(spec.frame)
    names = list(frame.columns)
    put(sheet, 1, 1, spec.note or spec.title).font = style.NOTE_FONT
    for j, name in enumerate(names, start=1):
        cell = header_cell(sheet, 2, j, name)
        if name in spec.columns:
            cell.comment = header_comment(spec.columns[name])
    records = list(frame.itertuples(index=False, name=None))
    for i, record in enumerate(records, start=3):
        for j, value in enumerate(record, start=1):
            put(sheet, i, j, value)
    for j, name in enumerate(names, start=1):
        values = [record[j - 1] for record in records]
        column = spec.columns.get(name)
        number_format = style.number_format(column.kind if column else None, values)
        if number_format:
            for i in range(3, 3 + len(records)):
                sheet.cell(i, j).number_format = number_format
        shown = [style.shown(v, number_format) for v in values[:500]]
        sheet.column_dimensions[get_column_letter(j)].width = min(50, max(9, len(name) + 3,
                                                                          *(len(s) + 2 for s in shown)))
    last = get_column_letter(max(len(names), 1))
    if records and names:
        table = Table(displayName=_table_name(spec.title, taken), ref=f"A2:{last}{2 + len(records)}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        sheet.add_table(table)  # the table carries the filter buttons; no sheet autofilter on top
        highlight(sheet, names, spec.highlights, 3, len(records))
    elif names:
        put(sheet, 3, 1, "(no rows)").font = style.NOTE_FONT
    sheet.freeze_panes = "A3"
    sheet.row_dimensions[2].height = 30
    sheet.print_title_rows = "2:2"
    print_setup(sheet, landscape=len(names) > 6)
    if spec.tab_colour:
        sheet.sheet_properties.tabColor = spec.tab_colour
    return sheet


def highlight(sheet, names: list[str], highlights, first: int, n: int) -> None:
    """Conditional formats on rows ``first`` .. ``first + n - 1`` (see ``Highlight``)."""
    if not n:
        return
    rows = f"A{first}:{get_column_letter(len(names))}{first + n - 1}"

    def letter(name):
        return get_column_letter(names.index(name) + 1)

    for rule in highlights:
        if any(name not in names for name in rule.columns):
            continue
        if rule.how == "at_cap":
            s, c = letter(rule.columns[0]), letter(rule.columns[1])
            at_cap = f"AND(ISNUMBER(${c}{first}),${s}{first}>=${c}{first}-{BINDING_TOLERANCE})"
            sheet.conditional_formatting.add(rows, FormulaRule(formula=[at_cap], fill=style.AT_CAP_FILL,
                                                               font=style.AT_CAP_FONT))
        elif rule.how == "flag":
            fill = style.AT_CAP_FILL if rule.fill == "binding" else style.CHOSEN_FILL
            b = letter(rule.columns[0])
            sheet.conditional_formatting.add(rows, FormulaRule(formula=[f"${b}{first}=TRUE()"], fill=fill))
        elif rule.how == "positive":
            s = letter(rule.columns[0])
            sheet.conditional_formatting.add(f"{s}{first}:{s}{first + n - 1}",
                                             FormulaRule(formula=[f"${s}{first}>0.5"], font=style.SHORT_FONT))


# --------------------------------------------------------------------------- the Summary sheet


def summary_sheet(sheet, items, contents: list[tuple[str, str]], highlights=lambda names: ()) -> None:
    """The Summary sheet: items, sections and blocks top to bottom, then a linked list of the sheets."""
    sheet.title = "Summary"
    row = 1
    for item in items:
        if isinstance(item, Section):
            row += 1 if row > 1 else 0
            section_heading(sheet, row, item.title, font=style.TITLE_FONT if row == 1 else style.SECTION_FONT)
            row += 1
        elif isinstance(item, Block):
            row = _block(sheet, row + 1, item, highlights) + 1
        else:
            label, value, kind, note = (tuple(item) + (None, None))[:4]
            put(sheet, row, 1, label)
            cell = put(sheet, row, 2, value, style.item_format(kind, value))
            cell.alignment = Alignment(horizontal="right" if isinstance(value, (int, float)) else "left")
            if note is not None:
                note_cell = put(sheet, row, 3, note, style.PERCENT)
                if isinstance(note, (int, float)):
                    note_cell.alignment = Alignment(horizontal="left")
                note_cell.font = style.NOTE_FONT
            row += 1
    if contents:
        row += 1
        section_heading(sheet, row, "Sheets in this workbook")
        row += 1
        for title, note in contents:
            cell = put(sheet, row, 1, title)
            cell.hyperlink = f"#{quote_sheetname(title)}!A1"
            cell.font = style.LINK_FONT
            put(sheet, row, 2, note).font = style.NOTE_FONT
            row += 1
    for letter, width in {"A": 36, "B": 22, "C": 16}.items():
        sheet.column_dimensions[letter].width = max(width, sheet.column_dimensions[letter].width or 0)
    print_setup(sheet, landscape=False)
    sheet.sheet_properties.tabColor = style.TAB_SUMMARY



def _block(sheet, row: int, block: Block, highlights) -> int:
    frame = clean(block.frame)
    section_heading(sheet, row, block.title, width=max(3, len(frame.columns)))
    row += 1
    for j, name in enumerate(frame.columns, start=1):
        cell = header_cell(sheet, row, j, name, wrap=False)
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
        if name in block.columns:
            cell.comment = header_comment(block.columns[name])
    sheet.row_dimensions[row].height = 30
    records = list(frame.itertuples(index=False, name=None))
    for j, name in enumerate(frame.columns, start=1):
        column = block.columns.get(name)
        number_format = style.number_format(column.kind if column else None, [r[j - 1] for r in records])
        for i, record in enumerate(records, start=row + 1):
            cell = put(sheet, i, j, record[j - 1])
            if number_format:
                cell.number_format = number_format
        letter = get_column_letter(j)
        widest = max([len(name) // 2 + 2] + [len(style.shown(r[j - 1], number_format)) + 2 for r in records])
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0, min(40, widest), 11)
    highlight(sheet, list(frame.columns), highlights(list(frame.columns)), row + 1, len(records))
    return row + len(records)


# --------------------------------------------------------------------------- charts


def chart_data(sheet, row: int, chart: Chart) -> tuple[int, int, int]:
    """Write a chart's data at ``row`` (title, header, rows); return (header row, last row, next free row)."""
    put(sheet, row, 1, chart.title).font = style.SECTION_FONT
    frame = clean(chart.data)
    header = row + 1
    for j, name in enumerate(frame.columns, start=1):
        header_cell(sheet, header, j, name, wrap=False)
    records = list(frame.itertuples(index=False, name=None))
    for i, record in enumerate(records, start=header + 1):
        for j, value in enumerate(record, start=1):
            put(sheet, i, j, value, style.PERCENT if j > 1 and chart.percent else None)
    return header, header + len(records), header + len(records) + 2


def bar_chart(chart: Chart, data_sheet, header: int, last: int):
    """A native bar chart of data written by ``chart_data`` (explicit colours: charts carry no cached style)."""
    frame = clean(chart.data)
    bars = BarChart()
    bars.type = "col"
    bars.grouping = "stacked" if chart.stacked else "clustered"
    if chart.stacked:
        bars.overlap = 100
    bars.gapWidth = 60
    bars.title = chart.title
    bars.y_axis.title = chart.y_title
    bars.x_axis.title = chart.x_title or None
    bars.y_axis.number_format = "0%" if chart.percent else "#,##0"
    bars.y_axis.scaling.min = 0
    if chart.percent and chart.stacked:
        totals = frame.iloc[:, 1:].sum(axis=1, numeric_only=True)
        if len(totals) and float(totals.max()) <= 1 + 1e-9:
            bars.y_axis.scaling.max = 1.0
    # openpyxl 3.1 marks axes as deleted unless told otherwise: Excel then hides their labels.
    bars.x_axis.delete = False
    bars.y_axis.delete = False
    bars.legend.position = "r"
    bars.width, bars.height = 24, 11
    categories = Reference(data_sheet, min_col=1, min_row=header + 1, max_row=last)
    for j, name in enumerate(frame.columns[1:], start=2):
        if name in chart.lines:
            continue
        bars.add_data(Reference(data_sheet, min_col=j, min_row=header, max_row=last), titles_from_data=True)
    bars.set_categories(categories)
    cache_titles(bars, [c for c in frame.columns[1:] if c not in chart.lines])
    colours = iter(style.SERIES)
    for series, name in zip(bars.series, [c for c in frame.columns[1:] if c not in chart.lines]):
        colour = chart.colours.get(name) or next(colours, style.OTHER_COLOUR)
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    if chart.labels:
        bars.dataLabels = DataLabelList()
        bars.dataLabels.showVal = True
        bars.dataLabels.showSerName = False
        bars.dataLabels.showCatName = False
        bars.dataLabels.showLegendKey = False
        bars.dataLabels.numFmt = "0%" if chart.percent else "#,##0"
        bars.dataLabels.position = "outEnd"
    if chart.lines:
        line = LineChart()
        for j, name in enumerate(frame.columns[1:], start=2):
            if name in chart.lines:
                line.add_data(Reference(data_sheet, min_col=j, min_row=header, max_row=last), titles_from_data=True)
        line.set_categories(categories)
        cache_titles(line, [c for c in frame.columns[1:] if c in chart.lines])
        for series in line.series:
            series.graphicalProperties.line.solidFill = style.LINE_COLOUR
            series.graphicalProperties.line.width = 28575  # 2.25 pt
            series.graphicalProperties.line.dashStyle = "dash"
            series.marker.symbol = "none"
            series.smooth = False
        bars += line
    return bars


def cache_titles(chart, names) -> None:
    """Store each series' name with its cell reference: a client that draws from the cached values
    (previews, converters, Excel before recalculating) shows the legend's labels, not "Series1"."""
    for series, name in zip(chart.series, names):
        if series.tx is not None and series.tx.strRef is not None:
            series.tx.strRef.strCache = StrData(ptCount=1, pt=[StrVal(idx=0, v=str(name))])


def line_chart(sheet, title: str, x_title: str, y_title: str, series: int, points: int,
               colours=style.SERIES, anchor: str | None = None) -> None:
    """A native line chart of the pivot at the top of ``sheet`` (x in column A, one column per series
    with its name in row 1), placed below it (one printed page); explicit colours."""
    chart = LineChart()
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.y_axis.number_format = "#,##0"
    chart.height, chart.width = 9, 18
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.add_data(Reference(sheet, min_col=2, max_col=1 + series, min_row=1, max_row=1 + points),
                   titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=1 + points))
    cache_titles(chart, [sheet.cell(1, j).value for j in range(2, 2 + series)])
    for k, line in enumerate(chart.series):
        colour = colours[k % len(colours)]
        line.graphicalProperties.line.solidFill = colour
        line.graphicalProperties.line.width = 22000
        line.marker.symbol = "circle"
        line.marker.graphicalProperties.solidFill = colour
        line.marker.graphicalProperties.line.solidFill = colour
        line.smooth = False
    sheet.add_chart(chart, anchor or f"A{points + 5}")


# --------------------------------------------------------------------------- a workbook


def write_workbook(path: Path, summary: list, sheets: list[Sheet], charts: list[Chart] = (),
                   charts_note: str = "", chart_data_note: str = "", tail: list[Sheet] = (),
                   highlights=lambda names: ()) -> None:
    """Summary, then Charts (when there are charts), the sheets, Chart data, and the ``tail`` sheets
    (e.g. the inputs echoed); written atomically.  ``highlights(names)`` gives a Summary block's."""
    book = openpyxl.Workbook()
    first = book.active
    taken: set[str] = set()
    contents: list[tuple[str, str]] = []
    if charts:
        chart_sheet = book.create_sheet("Charts")
        contents.append(("Charts", charts_note))
    for spec in sheets:
        table_sheet(book, spec, taken)
        contents.append((spec.title[:31], spec.note or ""))
    if charts:
        data_sheet = book.create_sheet("Chart data")
        put(data_sheet, 1, 1, chart_data_note).font = style.NOTE_FONT
        contents.append(("Chart data", chart_data_note))
        put(chart_sheet, 1, 1, "Charts").font = style.TITLE_FONT
        put(chart_sheet, 2, 1, charts_note).font = style.NOTE_FONT
        row, anchor = 3, 4
        for chart in charts:
            header, last, row = chart_data(data_sheet, row, chart)
            if last > header:
                chart_sheet.add_chart(bar_chart(chart, data_sheet, header, last), f"A{anchor}")
                anchor += 23
        data_sheet.column_dimensions["A"].width = 14
        print_setup(data_sheet)
        print_setup(chart_sheet, landscape=False, one_page=True)
    for spec in tail:
        table_sheet(book, spec, taken)
        contents.append((spec.title[:31], spec.note or ""))
    summary_sheet(first, summary, contents, highlights)
    with atomic_path(path) as temporary:
        book.save(temporary)
