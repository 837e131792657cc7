"""compare.xlsx and compare.csv: the long table of ``results.compare``, a sheet per section with charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..results.compare import SECTIONS
from .files import write_csv
from .render import Block, Chart, Section, Sheet, write_workbook

TITLES = {"summary": "Summary figures", "cost_by_lever": "Cost by lever", "supply": "Supply by lever",
          "largest_share": "Largest shares", "stock": "Stock", "stakes": "Stakes chosen",
          "flows_by_country": "Flows by country"}
# Sections whose numbers share a unit, so one bar chart per section reads well (shares are fractions).
CHARTED = {"cost_by_lever": False, "supply": False, "largest_share": True, "stock": False,
           "flows_by_country": False}
MOST_BARS = 24  # a chart shows the items with the largest |delta|, at most this many


def write_compare(folder: Path, table: pd.DataFrame, names: list[str], folders: list[str]) -> None:
    write_csv(Path(folder) / "compare.csv", table)
    summary: list = [Section("Runs compared")]
    summary += [(f"run {i}", f"{name}: {where}") for i, (name, where) in enumerate(zip(names, folders), start=1)]
    summary.append(("delta", "last run minus first, for numbers"))
    summary.append(Block("Headline", table[table["section"] == "summary"].drop(columns="section")))
    sheets, charts = [], []
    for section in SECTIONS:
        part = table[table["section"] == section].drop(columns="section").reset_index(drop=True)
        if part.empty:
            continue
        sheets.append(Sheet(TITLES[section], part, note=f"{TITLES[section]}: one column per run; delta = last - first"))
        if section in CHARTED:
            numeric = part[pd.to_numeric(part[names[-1]], errors="coerce").notna()
                           & pd.to_numeric(part[names[0]], errors="coerce").notna()]
            if numeric.empty:
                continue
            chosen = numeric.reindex(numeric["delta"].abs().sort_values(ascending=False).index).head(MOST_BARS)
            data = chosen[["item"]].assign(**{name: pd.to_numeric(chosen[name], errors="coerce") for name in names})
            charts.append(Chart(TITLES[section] + " (largest differences)", data.reset_index(drop=True),
                                y_title="share of the requirement" if CHARTED[section] else "value",
                                percent=CHARTED[section]))
    write_workbook(Path(folder) / "compare.xlsx", summary, sheets, charts=charts,
                   charts_note="Each chart: the items that differ most between the runs.",
                   chart_data_note="The data behind the charts.")
