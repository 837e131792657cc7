"""results.xlsx for analysts: a Summary first, charts, then one formatted sheet per table.

``write_results_xlsx(path, summary_rows, tables, charts=..., inputs=...)``
renders whatever it is given:

- ``summary_rows``: the Summary sheet, top to bottom.  Items are
  ``(label, value)``, ``(label, value, kind)`` or ``(label, value, kind, note)``
  (kind: money, share, gap, tonnes, seconds, text; a numeric note is shown as
  a percent), ``Section(title)`` for a heading, and ``Block(title, frame)``
  for a small table.
- ``tables``: sheet title -> DataFrame.  Every DataFrame becomes a sheet with
  a note row, a named Excel table (its own filter buttons), number formats
  chosen from the column names, frozen header, widths and print setup, so a
  new table ("Marginal values", "Stress", ...) needs no change here.  Tables
  with ``share`` and ``cap`` columns highlight the shares at their cap;
  ``chosen``/``built`` rows are shaded; positive ``shortfall_t``/``unmet_t``
  are red.
- ``charts``: ``Chart`` specs drawn as native Excel charts on a Charts sheet
  (second), their data on a "Chart data" sheet.
- ``inputs``: input table name -> DataFrame, echoed as "Input <name>" sheets
  at the end.

Strings are always written as text cells: openpyxl would otherwise store
"=HYPERLINK(...)" from an input as a formula and "#N/A" as an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..inputs import schema
from .files import atomic_path

# --------------------------------------------------------------------------- formats and styles

MONEY, MONEY_SMALL, TONNES, PERCENT, GAP, DAYS, INTEGER, SECONDS = (
    "#,##0", "#,##0.00", "#,##0", "0.0%", "0.0000%", "#,##0.0", "0", "0.00")
BINDING_TOLERANCE = 1e-6  # as results.tables: a share within this of its cap is at the cap

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
NOTE_FONT = Font(italic=True, color="595959")
TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
SECTION_FONT = Font(bold=True, size=12, color="1F4E78")
SECTION_BORDER = Border(bottom=Side(style="medium", color="1F4E78"))
AT_CAP_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")
AT_CAP_FONT = Font(bold=True, color="9C0006")
CHOSEN_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")
SHORT_FONT = Font(bold=True, color="C00000")

# Distinct colours for chart series, in order; the rest of the world is grey.
PALETTE = ("1F77B4", "D62728", "2CA02C", "FF7F0E", "9467BD", "8C564B", "E377C2", "17BECF", "BCBD22", "393B79",
           "AD494A", "6B6ECF", "8CA252", "E7BA52")
OTHER_COLOUR = "A6A6A6"
LINE_COLOUR = "C00000"

RATE_COLUMNS = {column.name for table in schema.TABLES for column in table.columns if column.kind == schema.RATE}
MONEY_WORDS = ("cost", "capex", "price", "budget", "penalty", "annuity", "objective", "saving", "value")

# What each known sheet holds (shown in its first row and in the Summary's contents).
SHEET_NOTES = {
    "Charts": "Supply by country per mineral at each stage, and the largest foreign share against the cap.",
    "Supply": "Supply by mineral and lever: tonnes from market routes, equity offtake and recycling against "
              "the annual requirement; stock and the largest foreign share per stage.",
    "Country dependence": "Share of each mineral's annual requirement mined or refined in each foreign country, "
                          "against the cap. Rows at their cap (binding) are highlighted.",
    "Equity projects": "Every equity project: chosen or not, capex, annualized capex, offtake taken of the "
                       "entitlement and its cost.",
    "Stockpile": "Stock per mineral: level, days of the annual requirement and of the largest single-country "
                 "flow it covers, build-up against the stock already held, carrying cost.",
    "Recycling": "Domestic recycling per mineral: feed, recovery, recycled tonnes and share of the target.",
    "Recycling plants": "Recycling plants: built or not, capacity and annual cost.",
    "Costs": "Annual cost by lever and component (the sum is the objective).",
    "Flows": "Every non-zero flow with its full annual cost (the same rows as flows.csv).",
    "Marginal values": "What one more unit of each limit is worth (LP re-solve with the integer choices fixed).",
    "Stress": "Disruption scenarios against the chosen portfolio: lost tonnes, stock drawn, emergency buys, "
              "unmet tonnes and extra cost.",
    "Diagnosis": "Infeasible run: per mineral, what cannot be met and which limits bind.",
    "Chart data": "The numbers behind the charts (shares of the annual requirement).",
}


@dataclass(frozen=True)
class Section:
    """A heading on the Summary sheet."""

    title: str


@dataclass(frozen=True)
class Block:
    """A small table on the Summary sheet."""

    title: str
    frame: pd.DataFrame


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


def put(sheet, row: int, column: int, value):
    """Write one cell; text stays text (never a formula or an error code)."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    if value is pd.NA or value is pd.NaT:
        value = None
    if isinstance(value, (dict, list, tuple, set)):
        value = _describe(value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _describe(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_describe(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_describe(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def column_format(name: str, values) -> str | None:
    """Number format for a result column, from its name (tonnes, money, shares, days, years)."""
    n = str(name).lower()
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
               and math.isfinite(v)]
    if not numbers:
        return None
    if n in ("year", "available_from", "start_year", "life_years") or n.endswith("_year"):
        return INTEGER
    if "gap" in n:
        return GAP
    if n in RATE_COLUMNS or "share" in n or n in ("cap", "probability") or n.endswith("_rate"):
        return PERCENT
    if "days" in n:
        return DAYS
    if n == "tonnes" or n.endswith("_t") or n.endswith("_tonnes") or "_t_" in n:
        return TONNES
    if any(word in n for word in MONEY_WORDS):
        return MONEY if max(abs(v) for v in numbers) >= 1000 else MONEY_SMALL
    if "seconds" in n:
        return SECONDS
    if all(float(v).is_integer() for v in numbers):
        return "#,##0"
    return "#,##0.###"


def _shown(value, number_format: str | None) -> str:
    """Roughly how a value displays, for column widths."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "FALSE"
    if isinstance(value, (int, float)):
        if number_format in (PERCENT, GAP):
            return f"{value:.4%}" if number_format == GAP else f"{value:.1%}"
        return f"{value:,.2f}" if number_format in (MONEY_SMALL, DAYS) else f"{value:,.0f}"
    return str(value)


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
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


def _print_setup(sheet, landscape: bool = True, one_page: bool = False) -> None:
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1 if one_page else 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


# --------------------------------------------------------------------------- table sheets


def table_sheet(book, title: str, frame: pd.DataFrame, note: str | None, taken: set[str]):
    """One DataFrame as a formatted sheet: note row, a named table from row 2, formats, filters, widths."""
    sheet = book.create_sheet(title[:31])
    frame = _clean(frame)
    columns = list(frame.columns)
    put(sheet, 1, 1, note or title)
    sheet.cell(1, 1).font = NOTE_FONT
    for j, name in enumerate(columns, start=1):
        cell = put(sheet, 2, j, name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    records = list(frame.itertuples(index=False, name=None))
    for i, record in enumerate(records, start=3):
        for j, value in enumerate(record, start=1):
            put(sheet, i, j, value)
    formats = {}
    for j, name in enumerate(columns, start=1):
        values = [record[j - 1] for record in records]
        number_format = column_format(name, values)
        formats[name] = number_format
        letter = get_column_letter(j)
        if number_format:
            for i in range(3, 3 + len(records)):
                sheet.cell(i, j).number_format = number_format
        shown = [_shown(v, number_format) for v in values[:500]]
        sheet.column_dimensions[letter].width = min(50, max(9, len(name) + 3, *(len(s) + 2 for s in shown)))
    last = get_column_letter(max(len(columns), 1))
    if records and columns:
        table = Table(displayName=_table_name(title, taken), ref=f"A2:{last}{2 + len(records)}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        sheet.add_table(table)  # the table carries the filter buttons; no sheet autofilter on top
        _highlights(sheet, columns, len(records))
    elif columns:
        put(sheet, 3, 1, "(no rows)")
        sheet.cell(3, 1).font = NOTE_FONT
    sheet.freeze_panes = "A3"
    sheet.row_dimensions[2].height = 30
    sheet.print_title_rows = "2:2"
    _print_setup(sheet, landscape=len(columns) > 6)
    return sheet


def _highlights(sheet, columns: list[str], n: int) -> None:
    last = get_column_letter(len(columns))
    rows = f"A3:{last}{2 + n}"

    def letter(name):
        return get_column_letter(columns.index(name) + 1)

    if "share" in columns and "cap" in columns:
        s, c = letter("share"), letter("cap")
        at_cap = f"AND(ISNUMBER(${c}3),${s}3>=${c}3-{BINDING_TOLERANCE})"
        sheet.conditional_formatting.add(rows, FormulaRule(formula=[at_cap], fill=AT_CAP_FILL, font=AT_CAP_FONT))
    elif "binding" in columns:
        b = letter("binding")
        sheet.conditional_formatting.add(rows, FormulaRule(formula=[f"${b}3=TRUE()"], fill=AT_CAP_FILL))
    for flag in ("chosen", "built"):
        if flag in columns:
            b = letter(flag)
            sheet.conditional_formatting.add(rows, FormulaRule(formula=[f"${b}3=TRUE()"], fill=CHOSEN_FILL))
    for short in ("shortfall_t", "unmet_t"):
        if short in columns:
            s = letter(short)
            sheet.conditional_formatting.add(f"{s}3:{s}{2 + n}",
                                             FormulaRule(formula=[f"${s}3>0.5"], font=SHORT_FONT))


# --------------------------------------------------------------------------- the Summary sheet


def _summary_sheet(sheet, items, contents: list[tuple[str, str]]) -> None:
    sheet.title = "Summary"
    row = 1
    for item in items:
        if isinstance(item, Section):
            row += 1 if row > 1 else 0
            cell = put(sheet, row, 1, item.title)
            cell.font = TITLE_FONT if row == 1 else SECTION_FONT
            for j in range(1, 4):
                sheet.cell(row, j).border = SECTION_BORDER
            row += 1
        elif isinstance(item, Block):
            row = _block(sheet, row + 1, item) + 1
        else:
            label, value, kind, note = (tuple(item) + (None, None))[:4]
            put(sheet, row, 1, label)
            cell = put(sheet, row, 2, value)
            number_format = _kind_format(kind, value, label)
            if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.number_format = number_format
            cell.alignment = Alignment(horizontal="right" if isinstance(value, (int, float)) else "left")
            if note is not None:
                note_cell = put(sheet, row, 3, note)
                if isinstance(note, (int, float)):
                    note_cell.number_format = PERCENT
                    note_cell.alignment = Alignment(horizontal="left")
                note_cell.font = NOTE_FONT
            row += 1
    if contents:
        row += 1
        cell = put(sheet, row, 1, "Sheets in this workbook")
        cell.font = SECTION_FONT
        for j in range(1, 4):
            sheet.cell(row, j).border = SECTION_BORDER
        row += 1
        for title, note in contents:
            cell = put(sheet, row, 1, title)
            cell.hyperlink = f"#{quote_sheetname(title)}!A1"
            cell.font = Font(color="0563C1", underline="single")
            put(sheet, row, 2, note).font = NOTE_FONT
            row += 1
    widths = {"A": 36, "B": 22, "C": 16}
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = max(width, sheet.column_dimensions[letter].width or 0)
    _print_setup(sheet, landscape=False)
    sheet.sheet_properties.tabColor = "1F4E78"


def _kind_format(kind, value, label) -> str | None:
    if kind == "money":
        return MONEY
    if kind in ("share", "percent"):
        return PERCENT
    if kind == "gap":
        return GAP
    if kind == "tonnes":
        return TONNES
    if kind == "seconds":
        return SECONDS
    if kind == "text":
        return None
    return column_format(str(label), [value])


def _block(sheet, row: int, block: Block) -> int:
    cell = put(sheet, row, 1, block.title)
    cell.font = SECTION_FONT
    frame = _clean(block.frame)
    for j in range(1, max(3, len(frame.columns)) + 1):
        sheet.cell(row, j).border = SECTION_BORDER
    row += 1
    for j, name in enumerate(frame.columns, start=1):
        cell = put(sheet, row, j, name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    sheet.row_dimensions[row].height = 30
    records = list(frame.itertuples(index=False, name=None))
    for j, name in enumerate(frame.columns, start=1):
        number_format = column_format(name, [r[j - 1] for r in records])
        for i, record in enumerate(records, start=row + 1):
            cell = put(sheet, i, j, record[j - 1])
            if number_format:
                cell.number_format = number_format
        letter = get_column_letter(j)
        widest = max([len(name) // 2 + 2] + [len(_shown(r[j - 1], number_format)) + 2 for r in records])
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0, min(40, widest), 11)
    _highlights_block(sheet, frame, row, len(records))
    return row + len(records)


def _highlights_block(sheet, frame, header_row: int, n: int) -> None:
    columns = list(frame.columns)
    for short in ("shortfall_t", "unmet_t", "unmet t"):
        if short in columns and n:
            s = get_column_letter(columns.index(short) + 1)
            sheet.conditional_formatting.add(f"{s}{header_row + 1}:{s}{header_row + n}",
                                             FormulaRule(formula=[f"${s}{header_row + 1}>0.5"], font=SHORT_FONT))


# --------------------------------------------------------------------------- charts


def _chart_data(sheet, row: int, chart: Chart) -> tuple[int, int, int]:
    """Write a chart's data at ``row`` (title, header, rows); return (header row, last row, next free row)."""
    put(sheet, row, 1, chart.title).font = SECTION_FONT
    frame = _clean(chart.data)
    header = row + 1
    for j, name in enumerate(frame.columns, start=1):
        cell = put(sheet, header, j, name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    records = list(frame.itertuples(index=False, name=None))
    for i, record in enumerate(records, start=header + 1):
        for j, value in enumerate(record, start=1):
            cell = put(sheet, i, j, value)
            if j > 1 and chart.percent:
                cell.number_format = PERCENT
    return header, header + len(records), header + len(records) + 2


def _native_chart(chart: Chart, data_sheet, header: int, last: int):
    frame = _clean(chart.data)
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
    bars.y_axis.majorGridlines = bars.y_axis.majorGridlines  # keep the default gridlines
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
    colours = iter(PALETTE)
    for series, name in zip(bars.series, [c for c in frame.columns[1:] if c not in chart.lines]):
        colour = chart.colours.get(name) or next(colours, OTHER_COLOUR)
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
        for series in line.series:
            series.graphicalProperties.line.solidFill = LINE_COLOUR
            series.graphicalProperties.line.width = 28575  # 2.25 pt
            series.graphicalProperties.line.dashStyle = "dash"
            series.marker.symbol = "none"
            series.smooth = False
        bars += line
    return bars


# --------------------------------------------------------------------------- the workbook


def write_results_xlsx(path: Path, summary_rows: list, tables: dict, charts: list[Chart] = (),
                       inputs: dict[str, pd.DataFrame] | None = None) -> None:
    """Write results.xlsx atomically; see the module docstring for the arguments."""
    book = openpyxl.Workbook()
    summary = book.active
    taken: set[str] = set()
    contents: list[tuple[str, str]] = []
    if charts:
        chart_sheet = book.create_sheet("Charts")
        contents.append(("Charts", SHEET_NOTES["Charts"]))
    for title, frame in tables.items():
        if frame is None:
            continue
        note = SHEET_NOTES.get(title) or getattr(frame, "attrs", {}).get("description")
        table_sheet(book, title, frame, note, taken)
        contents.append((title[:31], note or ""))
    if charts:
        data_sheet = book.create_sheet("Chart data")
        put(data_sheet, 1, 1, SHEET_NOTES["Chart data"]).font = NOTE_FONT
        contents.append(("Chart data", SHEET_NOTES["Chart data"]))
        put(chart_sheet, 1, 1, "Charts").font = TITLE_FONT
        put(chart_sheet, 2, 1, SHEET_NOTES["Charts"]).font = NOTE_FONT
        row, anchor = 3, 4
        for chart in charts:
            header, last, row = _chart_data(data_sheet, row, chart)
            if last > header:
                chart_sheet.add_chart(_native_chart(chart, data_sheet, header, last), f"A{anchor}")
                anchor += 23
        data_sheet.column_dimensions["A"].width = 14
        _print_setup(data_sheet)
        _print_setup(chart_sheet, landscape=False, one_page=True)
    for name, frame in (inputs or {}).items():
        if frame is None or not len(frame):
            continue
        title = f"Input {name}"[:31]
        note = f"Input table '{name}' as read and validated (defaults filled in)."
        table_sheet(book, title, frame, note, taken).sheet_properties.tabColor = "A6A6A6"
        contents.append((title, note))
    _summary_sheet(summary, summary_rows, contents)
    with atomic_path(path) as temporary:
        book.save(temporary)


# --------------------------------------------------------------------------- the charts of a solve

TOP_COUNTRIES = 13  # countries named in the stacked charts; the rest is "other"


def analyst_charts(minerals: pd.DataFrame, flows: pd.DataFrame, caps: dict[str, float | None],
                   year: int) -> list[Chart]:
    """Supply by country stacked per mineral (mine and refine stage) and the largest foreign share vs the cap.

    Shares are of the annual requirement, as the cap is.  ``caps`` maps
    mineral -> its country cap (None: no cap).
    """
    minerals = minerals[minerals["year"] == year]
    flows = flows[flows["year"] == year]
    targets = dict(zip(minerals["mineral"], minerals["target_t"]))
    order = list(minerals["mineral"])
    by_stage = {}
    for stage in ("mine", "refine"):
        grouped = flows.groupby(["mineral", f"{stage}_country"])["tonnes"].sum()
        by_stage[stage] = {(m, c): t / targets[m] for (m, c), t in grouped.items() if targets.get(m)}
    weight: dict[str, float] = {}
    for shares in by_stage.values():
        for (_, c), share in shares.items():
            weight[c] = weight.get(c, 0.0) + share
    ranked = sorted(weight, key=lambda c: (-weight[c], c))
    top = ranked[:TOP_COUNTRIES] if len(ranked) > TOP_COUNTRIES + 1 else ranked
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(top)}
    colours["other"] = OTHER_COLOUR
    charts = []
    for stage, word in (("mine", "mining"), ("refine", "refining")):
        rows = []
        for m in order:
            row = {"mineral": m, **{c: by_stage[stage].get((m, c), 0.0) for c in top}}
            if len(top) < len(ranked):
                row["other"] = sum(s for (mm, c), s in by_stage[stage].items() if mm == m and c not in top)
            rows.append(row)
        charts.append(Chart(f"Supply by {word} country ({year}), share of the annual requirement",
                            pd.DataFrame(rows), y_title="share of requirement", stacked=True, colours=colours))
    known = [caps.get(m) for m in order if caps.get(m) is not None]
    cap_name = f"cap ({known[0]:.0%})" if known and len(set(known)) == 1 else "cap"
    rows = [{"mineral": m,
             "largest foreign share, mine": float(r["largest_mine_share"]),
             "largest foreign share, refine": float(r["largest_refine_share"]),
             cap_name: caps.get(m)} for m, r in zip(order, minerals.to_dict("records"))]
    charts.append(Chart(f"Largest single foreign country per mineral and stage ({year}) against the cap",
                        pd.DataFrame(rows), y_title="share of requirement", lines=(cap_name,) if known else (),
                        colours={"largest foreign share, mine": "8C564B", "largest foreign share, refine": "1F77B4"},
                        labels=True))
    return charts


def pathway_charts(minerals: pd.DataFrame, costs: pd.DataFrame) -> list[Chart]:
    """A pathway's year-by-year charts: annual cost by lever (currency), then per mineral the
    supply by lever (tonnes of that mineral's unit; units differ, so one chart each)."""
    levers = ["market", "equity", "recycling", "stockpile", "recourse"]
    by_year = costs.pivot_table(index="year", columns="lever", values="cost", aggfunc="sum").reset_index()
    shown = [lever for lever in levers if lever in by_year and float(by_year[lever].abs().sum()) > 0]
    colours = {"market": "1F77B4", "equity": "FF7F0E", "recycling": "2CA02C", "stockpile": "9467BD",
               "recourse": "D62728"}
    frame = by_year[["year"] + shown].assign(year=by_year["year"].astype(str))
    charts = [Chart("Annual cost by lever per year (undiscounted)", frame, y_title="currency per year", x_title="year",
                    stacked=True, percent=False, colours=colours)]
    supply_colours = {"market_t": colours["market"], "equity_t": colours["equity"],
                      "recycled_t": colours["recycling"]}
    for mineral, rows in minerals.groupby("mineral", sort=True):
        unit = str(rows["unit"].iloc[0])
        frame = rows[["year", "market_t", "equity_t", "recycled_t"]].assign(year=rows["year"].astype(str))
        frame = frame.reset_index(drop=True)
        charts.append(Chart(f"{mineral}: supply by lever per year ({unit})", frame, y_title=unit, x_title="year",
                            stacked=True, percent=False, colours=supply_colours))
    return charts
