"""results.xlsx for analysts: a Summary first, charts, then one formatted sheet per table.

``write_results_xlsx(path, summary_rows, tables, charts=..., inputs=...)``
renders whatever it is given (``render`` draws; this module says what):

- ``summary_rows``: the Summary sheet, top to bottom (``render.summary_sheet``);
- ``tables``: sheet title -> DataFrame.  Every DataFrame becomes a sheet with
  a note row, a named Excel table (its own filter buttons), frozen header,
  widths and print setup, so a new table ("Marginal values", "Stress", ...)
  needs no change here.  Number formats and header comments come from the
  columns' declarations (``results.columns``: the sheet's table, else the
  column declared under that name in every table).  Tables with ``share`` and
  ``cap`` columns highlight the shares at their cap; ``chosen``/``built`` rows
  are shaded; positive ``shortfall_t``/``unmet_t`` are red.
- ``charts``: ``Chart`` specs (``charts``) drawn as native Excel charts on a
  Charts sheet (second), their data on a "Chart data" sheet.
- ``inputs``: input table name -> DataFrame, echoed as "Input <name>" sheets
  at the end, formatted by the input schema's kinds.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..inputs import schema
from ..inputs.currency import Currency
from ..results import columns as declared
from . import style
from .render import Block, Chart, Highlight, Sheet, write_workbook

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
    "Risk": "Stochastic mode: every joint disruption scenario's extra cost for the chosen portfolio, costliest "
            "first; tail_share marks the worst 1 - cvar_alpha of the probability, whose mean is the CVaR.",
    "Diagnosis": "Infeasible run: per mineral, what cannot be met and which limits bind.",
    "Chart data": "The numbers behind the charts (shares of the annual requirement).",
}




def highlights(names: list[str]) -> tuple[Highlight, ...]:
    """What a table's rows highlight: shares at their cap (or binding rows), chosen stakes and built
    plants, unmet tonnes."""
    rules = []
    if "share" in names and "cap" in names:
        rules.append(Highlight("at_cap", ("share", "cap")))
    elif "binding" in names:
        rules.append(Highlight("flag", ("binding",), fill="binding"))
    rules += [Highlight("flag", (flag,)) for flag in ("chosen", "built") if flag in names]
    rules += [Highlight("positive", (short,)) for short in ("shortfall_t", "unmet_t", "unmet t") if short in names]
    return tuple(rules)


def column_declarations(names, table: declared.Table | None, currency: Currency) -> dict[str, declared.Column]:
    """The declaration of each named column: from its table, else by name across every table; units
    in the dataset's currency ("currency per t" -> "USD per t")."""
    found = {}
    for name in names:
        column = table.column(str(name)) if table is not None else None
        column = column or declared.lookup(str(name))
        if column is not None:
            found[str(name)] = replace(column, unit=currency.unit(column.unit))
    return found


def write_results_xlsx(path: Path, summary_rows: list, tables: dict, charts: list[Chart] = (),
                       inputs: dict[str, pd.DataFrame] | None = None, currency: Currency = Currency()) -> None:
    """Write results.xlsx atomically; see the module docstring for the arguments (``currency``: the
    dataset's, named in the header comments' units)."""
    sheets = []
    for title, frame in tables.items():
        if frame is None:
            continue
        note = SHEET_NOTES.get(title) or getattr(frame, "attrs", {}).get("description")
        names = [str(c) for c in frame.columns] + [str(n) for n in frame.index.names if n is not None]
        sheets.append(Sheet(title, frame, note, column_declarations(names, declared.for_sheet(title), currency),
                            highlights(names)))
    tail = []
    for name, frame in (inputs or {}).items():
        if frame is None or not len(frame):
            continue
        table = schema.TABLES_BY_NAME.get(name)
        columns = ({c.name: replace(declared.from_input(c), unit=currency.unit(c.unit)) for c in table.all_columns}
                   if table is not None else {})
        tail.append(Sheet(f"Input {name}"[:31], frame, f"Input table '{name}' as read and validated (defaults "
                          "filled in).", columns, highlights([str(c) for c in frame.columns]), style.TAB_INPUT))
    summary = [_declare_block(item, currency) if isinstance(item, Block) else item for item in summary_rows]
    write_workbook(path, summary, sheets, charts, SHEET_NOTES["Charts"], SHEET_NOTES["Chart data"], tail,
                   highlights=highlights)


def _declare_block(block: Block, currency: Currency) -> Block:
    if block.columns:
        return block
    table = declared.TABLES_BY_NAME.get(block.table) if block.table else None
    return Block(block.title, block.frame, block.table, column_declarations(block.frame.columns, table, currency))
