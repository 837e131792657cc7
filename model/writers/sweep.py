"""Sweep outputs: sweep.xlsx (a row per point and a native line chart), sweep.csv and sweep.png.

Reads the sweep table only (results.sweep); never touches Pyomo.  Every file
is written to a temporary file and renamed into place.  Strings from inputs
(countries, project ids, statuses) are forced to text cells.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .files import atomic_path, write_csv

SWEEP_FILES = ("sweep.xlsx", "sweep.csv", "sweep.png", "sweep-manifest.json")
MAX_SERIES = 12  # lines in the chart and the plot; more combinations are listed, not drawn
COLORS = ["1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22", "17BECF",
          "393B79", "637939"]


def frontier(table: pd.DataFrame, keys: list[str]) -> tuple[list, list[str], dict[str, list]]:
    """Cost against the first swept setting: x values (sorted when numeric), and one series of costs
    per combination of the other settings (None where a point has no solution)."""
    first, others = keys[0], keys[1:]
    xs = list(dict.fromkeys(table[first]))
    if all(isinstance(x, (int, float)) for x in xs):
        xs = sorted(xs)
    series: dict[str, list] = {}
    groups = table.groupby(others, sort=False, dropna=False) if others else [((), table)]
    for label, group in groups:
        label = label if isinstance(label, tuple) else (label,)
        name = ", ".join(f"{k.split('.')[-1]} = {_label(v)}" for k, v in zip(others, label)) or "annual cost"
        by_x = dict(zip(group[first], group["annual_cost"]))
        series[name] = [None if by_x.get(x) is None or by_x.get(x) != by_x.get(x) else float(by_x[x]) for x in xs]
    return xs, list(series), series


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _put(sheet, row: int, column: int, value, number_format: str | None = None) -> None:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        value = None
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text from inputs is never a formula or an error code
    elif number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format


def _format_of(column: str) -> str | None:
    if column.endswith("_share") or column == "mip_gap":
        return "0.0%" if column != "mip_gap" else "0.00E+00"
    if column == "annual_cost" or column.startswith("cost_"):
        return "#,##0"
    if column.endswith("_t") or column.endswith("_days"):
        return "#,##0"
    if column == "seconds":
        return "0.000"
    return None


def write_sweep_xlsx(path: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sweep"
    formats = [_format_of(str(c)) for c in table.columns]
    for j, name in enumerate(table.columns, start=1):
        _put(sheet, 1, j, str(name))
    for i, row in enumerate(table.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            _put(sheet, i, j, value, formats[j - 1])
    sheet.freeze_panes = sheet.cell(row=2, column=len(keys) + 1)
    for j, name in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(40, max(10, len(str(name)) + 2))
    if len(table):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table) + 1}"

    # The chart reads a small pivot: x in column A, one column of cost (millions) per series.
    xs, names, series = frontier(table, keys)
    chart_sheet = workbook.create_sheet("Frontier")
    _put(chart_sheet, 1, 1, keys[0])
    drawn = names[:MAX_SERIES]
    for j, name in enumerate(drawn, start=2):
        _put(chart_sheet, 1, j, name if len(names) > 1 else "annual cost, millions")
    for i, x in enumerate(xs, start=2):
        _put(chart_sheet, i, 1, x if isinstance(x, (int, float)) else str(x))
        for j, name in enumerate(drawn, start=2):
            cost = series[name][i - 2]
            _put(chart_sheet, i, j, None if cost is None else cost / 1e6, "#,##0.0")
    chart_sheet.column_dimensions["A"].width = max(14, len(keys[0]) + 2)
    for j, name in enumerate(drawn, start=2):
        chart_sheet.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(name) + 2))
    if len(names) > MAX_SERIES:
        _put(chart_sheet, len(xs) + 3, 1, f"{len(names) - MAX_SERIES} more combinations are in the Sweep sheet")
    _add_line_chart(chart_sheet, title, keys[0], "annual cost (millions)", len(drawn), len(xs))
    _targets_sheet(workbook, table, keys)
    with atomic_path(path) as temporary:
        workbook.save(temporary)


def _add_line_chart(sheet, title: str, x_title: str, y_title: str, series: int, points: int) -> None:
    """A native line chart of the pivot at the top of ``sheet`` (x in column A, one column per series
    with its name in row 1), placed below it; explicit colours, since charts carry no cached style."""
    from openpyxl.chart import LineChart, Reference

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
    for k, line in enumerate(chart.series):
        color = COLORS[k % len(COLORS)]
        line.graphicalProperties.line.solidFill = color
        line.graphicalProperties.line.width = 22000
        line.marker.symbol = "circle"
        line.marker.graphicalProperties.solidFill = color
        line.marker.graphicalProperties.line.solidFill = color
        line.smooth = False
    sheet.add_chart(chart, f"A{points + 5}")  # below the data: one printed page


def _targets_sheet(workbook, table: pd.DataFrame, keys: list[str]) -> None:
    """When the requirements move with the first setting (a demand sweep), chart each mineral's
    target against it, in thousand tonnes."""
    columns = [c for c in table.columns if str(c).endswith("_target_t")]
    if not columns or len(table) < 2 or all(table[c].nunique(dropna=True) <= 1 for c in columns):
        return
    first = keys[0]
    by_x = table.drop_duplicates(first)
    xs = list(by_x[first])
    if all(isinstance(x, (int, float)) for x in xs):
        by_x = by_x.sort_values(first)
        xs = list(by_x[first])
    sheet = workbook.create_sheet("Targets")
    _put(sheet, 1, 1, first)
    for j, column in enumerate(columns, start=2):
        _put(sheet, 1, j, str(column)[: -len("_target_t")])
    for i in range(2, len(xs) + 2):
        _put(sheet, i, 1, xs[i - 2] if isinstance(xs[i - 2], (int, float)) else str(xs[i - 2]))
        for j, column in enumerate(columns, start=2):
            value = by_x.iloc[i - 2][column]
            _put(sheet, i, j, None if value is None or value != value else float(value) / 1e3, "#,##0.0")
    sheet.column_dimensions["A"].width = max(14, len(first) + 2)
    _add_line_chart(sheet, "Requirement per mineral", first, "target (thousand t a year)", len(columns), len(xs))


def write_sweep_png(path: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe on servers and in workers
    import matplotlib.pyplot as plt

    xs, names, series = frontier(table, keys)
    numeric = all(isinstance(x, (int, float)) for x in xs)
    positions = xs if numeric else list(range(len(xs)))
    costs = [c for name in names for c in series[name] if c is not None]
    scale, unit = (1e9, "bn") if costs and max(abs(c) for c in costs) >= 1e9 else (1e6, "m")
    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=120)
    for k, name in enumerate(names[:MAX_SERIES]):
        ys = [None if c is None else c / scale for c in series[name]]
        axes.plot(positions, [float("nan") if y is None else y for y in ys], marker="o",
                  color=f"#{COLORS[k % len(COLORS)]}", label=name)
    missing = [p for p, *column in zip(positions, *(series[n] for n in names[:MAX_SERIES])) if all(c is None for c in column)]
    if missing:
        top = max(costs) / scale if costs else 1.0
        axes.scatter(missing, [top] * len(missing), marker="x", color="#D62728", zorder=3,
                     label="no feasible portfolio")
    if not numeric:
        axes.set_xticks(positions, [str(x) for x in xs], rotation=20)
    axes.set_xlabel(keys[0])
    axes.set_ylabel(f"annual cost ({unit})")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if len(names) > 1 or missing:
        axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def write_sweep_tables(folder: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    """sweep.xlsx, sweep.csv and sweep.png (the caller writes sweep-manifest.json last)."""
    folder = Path(folder)
    write_sweep_xlsx(folder / "sweep.xlsx", table, keys, title)
    write_csv(folder / "sweep.csv", table)
    write_sweep_png(folder / "sweep.png", table, keys, title)
