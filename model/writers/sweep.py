"""Sweep outputs: sweep.xlsx (a row per point and a native line chart), sweep.csv and sweep.png.

A stochastic-mode sweep (the table has ``risk_*`` columns, results.sweep) also draws the risk frontier:
expected cost (first stage + expected recourse) against CVaR, one point per sweep point, in a "Risk
frontier" sheet with a native scatter chart and as a second panel of sweep.png.  Swept over
``policy.risk_weight`` it is the efficient frontier of docs/model.md §12.

Reads the sweep table only (results.sweep); never touches Pyomo.  Every file
is written to a temporary file and renamed into place.  Strings from inputs
(countries, project ids, statuses) are forced to text cells.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..results import columns as declared
from . import style
from .charts import frontier, targets
from .files import atomic_path, write_csv
from .render import line_chart, put

SWEEP_FILES = ("sweep.xlsx", "sweep.csv", "sweep.png", "sweep-manifest.json")
MAX_SERIES = 12  # lines in the chart and the plot; more combinations are listed, not drawn


def write_sweep_xlsx(path: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sweep"
    formats = []
    for name in table.columns:  # each column's format from its declaration (results.columns.SWEEP)
        column = declared.sweep_column(str(name), keys)
        formats.append(style.number_format(column.kind if column else None, list(table[name])))
    for j, name in enumerate(table.columns, start=1):
        put(sheet, 1, j, str(name))
    for i, row in enumerate(table.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            put(sheet, i, j, value, formats[j - 1])
    sheet.freeze_panes = sheet.cell(row=2, column=len(keys) + 1)
    for j, name in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(40, max(10, len(str(name)) + 2))
    if len(table):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table) + 1}"

    # The chart reads a small pivot: x in column A, one column of cost (millions) per series.
    xs, names, series = frontier(table, keys)
    chart_sheet = workbook.create_sheet("Frontier")
    put(chart_sheet, 1, 1, keys[0])
    drawn = names[:MAX_SERIES]
    for j, name in enumerate(drawn, start=2):
        put(chart_sheet, 1, j, name if len(names) > 1 else "annual cost, millions")
    for i, x in enumerate(xs, start=2):
        put(chart_sheet, i, 1, x if isinstance(x, (int, float)) else str(x))
        for j, name in enumerate(drawn, start=2):
            cost = series[name][i - 2]
            put(chart_sheet, i, j, None if cost is None else cost / 1e6, style.SCALED)
    chart_sheet.column_dimensions["A"].width = max(14, len(keys[0]) + 2)
    for j, name in enumerate(drawn, start=2):
        chart_sheet.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(name) + 2))
    if len(names) > MAX_SERIES:
        put(chart_sheet, len(xs) + 3, 1, f"{len(names) - MAX_SERIES} more combinations are in the Sweep sheet")
    line_chart(chart_sheet, title, keys[0], "annual cost (millions)", len(drawn), len(xs))
    _targets_sheet(workbook, table, keys)
    _risk_sheet(workbook, table, keys)
    with atomic_path(path) as temporary:
        workbook.save(temporary)


def risk_frontier(table: pd.DataFrame, keys: list[str]) -> list[tuple]:
    """The points with risk figures, as (label, CVaR, expected cost, VaR), in the order of the first setting
    (sorted when numeric); empty when the sweep has no risk columns (rule mode)."""
    if "risk_cvar" not in table.columns:
        return []
    rows = table[table["risk_cvar"].notna()]
    varying = [k for k in keys if rows[k].nunique() > 1] or keys[:1]  # a setting all points share says nothing
    labels = [", ".join(f"{k.rpartition('.')[2]} = {row[k]:g}" if isinstance(row[k], float)
                        else f"{k.rpartition('.')[2]} = {row[k]}" for k in varying) for _, row in rows.iterrows()]
    points = list(zip(labels, rows["risk_cvar"], rows["risk_expected_cost"], rows["risk_var"], rows[keys[0]]))
    if all(isinstance(p[4], (int, float)) for p in points):
        points.sort(key=lambda p: p[4])
    return [p[:4] for p in points]


def _risk_sheet(workbook, table: pd.DataFrame, keys: list[str]) -> None:
    """Expected cost against CVaR (millions), one row per point, and a native scatter chart of it."""
    from openpyxl.chart import Reference, ScatterChart, Series

    points = risk_frontier(table, keys)
    if not points:
        return
    sheet = workbook.create_sheet("Risk frontier")
    for j, name in enumerate(("point", "CVaR, millions", "expected cost, millions", "VaR, millions"), start=1):
        put(sheet, 1, j, name)
    for i, (label, cvar, expected, var) in enumerate(points, start=2):
        put(sheet, i, 1, label)
        for j, value in enumerate((cvar, expected, var), start=2):
            put(sheet, i, j, float(value) / 1e6, style.SCALED)
    sheet.column_dimensions["A"].width = max(14, min(40, max(len(p[0]) for p in points) + 2))
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 16
    chart = ScatterChart()
    chart.title = "Risk frontier: expected cost against CVaR"
    chart.style = 13
    chart.x_axis.title = "CVaR of the year's extra cost (millions)"
    chart.y_axis.title = "expected annual cost (millions)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = 9, 18
    series = Series(Reference(sheet, min_col=3, min_row=2, max_row=1 + len(points)),
                    Reference(sheet, min_col=2, min_row=2, max_row=1 + len(points)), title="sweep points")
    colour = style.SERIES[0]
    series.marker.symbol = "circle"
    series.marker.graphicalProperties.solidFill = colour
    series.marker.graphicalProperties.line.solidFill = colour
    series.graphicalProperties.line.solidFill = colour
    chart.series.append(series)
    sheet.add_chart(chart, "F2")


def _targets_sheet(workbook, table: pd.DataFrame, keys: list[str]) -> None:
    """When the requirements move with the first setting (a demand sweep), chart each mineral's
    target against it, in thousand tonnes."""
    found = targets(table, keys)
    if found is None:
        return
    xs, series = found
    first = keys[0]
    sheet = workbook.create_sheet("Targets")
    put(sheet, 1, 1, first)
    for j, mineral in enumerate(series, start=2):
        put(sheet, 1, j, mineral)
    for i, x in enumerate(xs, start=2):
        put(sheet, i, 1, x if isinstance(x, (int, float)) else str(x))
        for j, values in enumerate(series.values(), start=2):
            put(sheet, i, j, None if values[i - 2] is None else values[i - 2] / 1e3, style.SCALED)
    sheet.column_dimensions["A"].width = max(14, len(first) + 2)
    line_chart(sheet, "Requirement per mineral", first, "target (thousand t a year)", len(series), len(xs))


def write_sweep_png(path: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe on servers and in workers
    import matplotlib.pyplot as plt

    xs, names, series = frontier(table, keys)
    numeric = all(isinstance(x, (int, float)) for x in xs)
    positions = xs if numeric else list(range(len(xs)))
    costs = [c for name in names for c in series[name] if c is not None]
    scale, unit = (1e9, "bn") if costs and max(abs(c) for c in costs) >= 1e9 else (1e6, "m")
    points = risk_frontier(table, keys)
    if points:
        figure, (axes, risk_axes) = plt.subplots(1, 2, figsize=(13, 4.8), dpi=120)
        _plot_risk(risk_axes, points)
    else:
        figure, axes = plt.subplots(figsize=(8, 4.8), dpi=120)
    for k, name in enumerate(names[:MAX_SERIES]):
        ys = [None if c is None else c / scale for c in series[name]]
        axes.plot(positions, [float("nan") if y is None else y for y in ys], marker="o",
                  color=f"#{style.SERIES[k % len(style.SERIES)]}", label=name)
    missing = [p for p, *column in zip(positions, *(series[n] for n in names[:MAX_SERIES]))
               if all(c is None for c in column)]
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


def _plot_risk(axes, points: list[tuple]) -> None:
    """The risk frontier: expected cost against CVaR (millions), each point labelled with its settings (points
    that coincide share one label)."""
    cvar = [p[1] / 1e6 for p in points]
    expected = [p[2] / 1e6 for p in points]
    axes.plot(cvar, expected, marker="o", color=f"#{style.SERIES[0]}")
    near_x = 0.02 * ((max(cvar) - min(cvar)) or 1.0)  # points closer than this on the plot share a label
    near_y = 0.02 * ((max(expected) - min(expected)) or 1.0)
    groups: list[tuple[float, float, list[str]]] = []
    for (label, *_), x, y in zip(points, cvar, expected):
        group = next((g for g in groups if abs(g[0] - x) <= near_x and abs(g[1] - y) <= near_y), None)
        if group is None:
            groups.append((x, y, [label]))
        else:
            group[2].append(label)
    for x, y, names in groups:
        axes.annotate("; ".join(names), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.set_xlabel("CVaR of the year's extra cost (m)")
    axes.set_ylabel("expected annual cost (m)")
    axes.ticklabel_format(axis="y", useOffset=False, style="plain")
    axes.set_title("Risk frontier")
    axes.grid(True, alpha=0.3)


def write_sweep_tables(folder: Path, table: pd.DataFrame, keys: list[str], title: str) -> None:
    """sweep.xlsx, sweep.csv and sweep.png (the caller writes sweep-manifest.json last)."""
    folder = Path(folder)
    write_sweep_xlsx(folder / "sweep.xlsx", table, keys, title)
    write_csv(folder / "sweep.csv", table)
    write_sweep_png(folder / "sweep.png", table, keys, title)
