"""Sensitivity outputs: sensitivity.xlsx (a native tornado chart, the points, the flips), sensitivity.csv
and sensitivity.png (the tornado).

Reads the sensitivity tables only (results.sensitivity); never touches Pyomo.
A bar is the change of the objective when one input group moves by -c % or
+c %: blues for the cuts, oranges for the rises, darker for larger changes,
drawn behind the smaller ones.  The chart shows the ``top`` groups with the
largest swing; the Tornado sheet lists every group.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..results import columns as declared
from ..results.sensitivity import delta_column
from . import style
from .files import atomic_path, write_csv
from .render import cache_titles, put

SENSITIVITY_FILES = ("sensitivity.xlsx", "sensitivity.csv", "sensitivity.png", "sensitivity-manifest.json")
TOP = 15  # groups in the chart and the plot
# darkest first: the largest change gets the first colour (drawn behind the others)
CUT_COLOURS = ("1F4E79", "2E75B6", "9DC3E6", "DEEBF7")
RISE_COLOURS = ("C55A11", "ED7D31", "F4B183", "FBE5D6")


def colour(change: float, changes: list[float]) -> str:
    """The explicit colour of the bars of a signed change (the same in the workbook and the plot)."""
    rank = sorted(changes, reverse=True).index(abs(change))
    palette = CUT_COLOURS if change < 0 else RISE_COLOURS
    return palette[min(rank, len(palette) - 1)]


def series_of(changes: list[float]) -> list[float]:
    """The signed changes in drawing order: the largest first (behind), cut then rise."""
    return [signed for change in sorted(changes, reverse=True) for signed in (-change, change)]


def _table_sheet(sheet, frame: pd.DataFrame) -> None:
    from openpyxl.utils import get_column_letter

    formats = []
    for name in frame.columns:
        column = declared.sensitivity_column(str(name))
        formats.append(style.number_format(column.kind if column else None, list(frame[name])))
    for j, name in enumerate(frame.columns, start=1):
        put(sheet, 1, j, str(name))
        sheet.cell(1, j).font = style.BOLD_FONT
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            put(sheet, i, j, value, formats[j - 1])
    for j, name in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(48, max(10, len(str(name)) + 2))
    sheet.freeze_panes = "B2"
    if len(frame):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def write_sensitivity_xlsx(path: Path, table: pd.DataFrame, flips: pd.DataFrame, tornado: pd.DataFrame,
                           changes: list[float], title: str, top: int = TOP) -> None:
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tornado"
    signed = series_of(changes)
    # The chart's pivot: group, then the delta in millions at each signed change.
    put(sheet, 1, 1, "group")
    for j, change in enumerate(signed, start=2):
        put(sheet, 1, j, f"{change:+g} %")
    put(sheet, 1, len(signed) + 2, "swing, millions")
    put(sheet, 1, len(signed) + 3, "flips")
    for i, row in enumerate(tornado.to_dict("records"), start=2):
        put(sheet, i, 1, row["group"])
        for j, change in enumerate(signed, start=2):
            value = row[delta_column(change)]
            put(sheet, i, j, None if value is None else value / 1e6, style.SCALED)
        put(sheet, i, len(signed) + 2, None if row["swing"] is None else row["swing"] / 1e6, style.SCALED)
        put(sheet, i, len(signed) + 3, row["flips"])
    for j in range(1, len(signed) + 4):
        sheet.cell(1, j).font = style.BOLD_FONT
    sheet.column_dimensions["A"].width = max([18] + [len(str(g)) + 2 for g in tornado["group"]]) if len(tornado) else 18
    shown = min(top, len(tornado))
    if shown:
        chart = BarChart()
        chart.type = "bar"  # horizontal bars
        chart.grouping = "clustered"
        chart.overlap = 100  # every change of a group in one slot, the larger behind the smaller
        chart.gapWidth = 40
        chart.title = title
        chart.x_axis.title = None
        chart.y_axis.title = "change of the objective (millions)"
        chart.y_axis.number_format = "#,##0"
        chart.x_axis.scaling.orientation = "maxMin"  # the largest swing on top
        chart.y_axis.crosses = "max"  # the value axis at the bottom again
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.x_axis.tickLblPos = "low"  # group names at the left edge, clear of the bars
        chart.legend.position = "b"
        chart.width, chart.height = 24, max(8, 1.0 + 0.75 * shown)
        chart.add_data(Reference(sheet, min_col=2, max_col=1 + len(signed), min_row=1, max_row=1 + shown),
                       titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=1 + shown))
        cache_titles(chart, [f"{change:+g} %" for change in signed])
        for series, change in zip(chart.series, signed):
            series.graphicalProperties.solidFill = colour(change, changes)
            series.graphicalProperties.line.solidFill = colour(change, changes)
        sheet.add_chart(chart, f"{get_column_letter(len(signed) + 5)}2")
        if len(tornado) > shown:
            put(sheet, len(tornado) + 3, 1, f"the chart shows the {shown} largest swings of {len(tornado)} groups")
    _table_sheet(workbook.create_sheet("Sensitivity"), table)
    _table_sheet(workbook.create_sheet("Flips"), flips)
    with atomic_path(path) as temporary:
        workbook.save(temporary)


def write_sensitivity_png(path: Path, tornado: pd.DataFrame, changes: list[float], title: str,
                          top: int = TOP) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe on servers and in workers
    import matplotlib.pyplot as plt

    rows = tornado.head(top).to_dict("records")
    known = [abs(r[delta_column(c)]) for r in rows for c in series_of(changes) if r[delta_column(c)] is not None]
    scale, unit = (1e9, "bn") if known and max(known) >= 1e9 else (1e6, "m")
    figure, axes = plt.subplots(figsize=(9, max(3.0, 0.9 + 0.38 * len(rows))), dpi=120)
    positions = list(range(len(rows)))
    for change in series_of(changes):
        values = [r[delta_column(change)] for r in rows]
        axes.barh(positions, [0.0 if v is None else v / scale for v in values], height=0.7,
                  color=f"#{colour(change, changes)}", label=f"{change:+g} %")
    axes.axvline(0.0, color="#404040", linewidth=0.8)
    axes.set_yticks(positions, [r["group"] for r in rows])
    axes.invert_yaxis()  # the largest swing on top
    axes.set_xlabel(f"change of the objective ({unit})")
    axes.set_title(title, fontsize=10)
    axes.grid(True, axis="x", alpha=0.3)
    if rows:
        axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def write_sensitivity_tables(folder: Path, table: pd.DataFrame, flips: pd.DataFrame, tornado: pd.DataFrame,
                             changes: list[float], title: str) -> None:
    """sensitivity.xlsx, sensitivity.csv and sensitivity.png (the caller writes the manifest last)."""
    folder = Path(folder)
    write_sensitivity_xlsx(folder / "sensitivity.xlsx", table, flips, tornado, changes, title)
    write_csv(folder / "sensitivity.csv", table)
    write_sensitivity_png(folder / "sensitivity.png", tornado, changes, title)
