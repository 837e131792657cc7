"""Data overrides: ``data.TABLE[COLUMN=VALUE,...].COLUMN=VALUE`` changes a column on the matching rows.

A data scenario without a copied workbook ("what if Russia is out?"):

- ``data.supply[mine_country=RUS].max_t=0`` sets ``max_t`` on every row of
  ``supply`` whose ``mine_country`` is RUS; several conditions must all hold
  (``data.targets[mineral=lithium,year=2030].target_t=...``); with no filter
  (``data.supply.max_t=...``) every row is set;
- ``=*FACTOR`` multiplies (``data.targets[mineral=lithium].target_t=*1.2``);
  a blank cell stays blank.  Factors apply to numbers (quantities and rates).

Every value, filter value and product is read by the loader's own cell
parser (``validate._parse_cell``): the column's kind, its range and the
magnitudes the solver resolves (``schema.limit``).  The overrides apply to
the validated tables in order; then the checks that span rows and tables
(``validate.table_rules``: keys, references, min_t <= max_t, blends, spans)
run again, so an override cannot leave an invalid dataset.  A problem is
located at the override: the ``--set`` string or the run file's line.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, replace

import pandas as pd

from ..errors import InputError, Problem
from .schema import QUANTITY, RATE, TABLES_BY_NAME, YEAR, Column, Table
from .validate import Dataset, _parse_cell, table_rules

FORMAT = "data.TABLE[COLUMN=VALUE,...].COLUMN=VALUE"
NUMBERS = (QUANTITY, RATE)  # the kinds a factor multiplies
_KEY = re.compile(r"data\.([^.\[\]=]*)(?:\[([^\[\]]*)\])?\.([^.\[\]=]*)")


def is_data_key(dotted: str) -> bool:
    return dotted == "data" or dotted.startswith(("data.", "data["))


@dataclass(frozen=True)
class DataKey:
    table: str
    filters: tuple[tuple[str, object], ...]  # (column, value as the loader reads it): every one must hold
    column: str
    shown: str = ""  # the filter as written, for messages: "mine_country=RUS"


def parse_key(dotted: str, fail) -> DataKey:
    """``data.supply[mine_country=RUS].max_t`` -> DataKey; ``fail(column, message, value)`` raises."""
    match = _KEY.fullmatch(dotted)
    if not match:
        fail(dotted, f"expected {FORMAT}, e.g. data.supply[mine_country=RUS].max_t=0")
    name, condition_text, column_name = match.groups()
    table = TABLES_BY_NAME.get(name)
    if table is None:
        fail(dotted, _unknown("table", name, list(TABLES_BY_NAME)))
    column = _column(table, column_name, dotted, fail)
    filters, shown = [], []
    if condition_text is not None:
        if not condition_text.strip():
            fail(dotted, "the filter is empty: give [COLUMN=VALUE,...] or leave out the brackets")
        for condition in condition_text.split(","):
            name, equals, text = (part.strip() for part in condition.partition("="))
            if not equals or not name:
                fail(dotted, "a filter is [COLUMN=VALUE,...]", condition.strip())
            value, wrong = _parse_cell(_column(table, name, dotted, fail), text)
            if wrong:
                fail(dotted, f"filter {name}: {wrong}", text)
            filters.append((name, value))
            shown.append(f"{name}={text}")
    return DataKey(table.name, tuple(filters), column.name, ",".join(shown))


def _column(table: Table, name: str, dotted: str, fail) -> Column:
    try:
        return table.column(name)
    except KeyError:
        fail(dotted, _unknown(f"column of {table.name}", name, [c.name for c in table.all_columns]))


def _unknown(what: str, name: str, known: list[str]) -> str:
    guess = difflib.get_close_matches(name, known, n=1)
    return f"unknown {what}" + (f"; did you mean '{guess[0]}'?" if guess else f"; expected one of {', '.join(known)}")


def parse_values(spec: str, dotted: str, fail, many: bool, numbers_of) -> list:
    """The values of one data override: each read as the loader reads a cell of the column, or a factor
    ``*F`` (kept as the text ``"*F"``) for a number column.  ``many`` (``critmin sweep``): a comma list or a
    range ``START:STOP:STEP``, of values or of factors (``*0.8:1.2:0.1``); ``numbers_of`` expands a range."""
    key = parse_key(dotted, fail)
    column = TABLES_BY_NAME[key.table].column(key.column)
    numeric = column.kind in NUMBERS
    factors = numeric and spec.startswith("*")
    body = spec[1:].strip() if factors else spec
    if (numeric or column.kind == YEAR) and ":" in body:
        if not many:
            fail(dotted, "takes one value here; ranges are for critmin sweep", spec)
        return _unique([_factor(n, dotted, fail) if factors else _cell(column, _number(n), dotted, fail)
                        for n in numbers_of(body, fail, dotted)])
    items = [item.strip() for item in spec.split(",")] if many and column.kind != "text" else [spec]
    if not many and (numeric or column.kind == YEAR) and "," in spec:
        fail(dotted, "takes one value here; lists of values are for critmin sweep", spec)
    values = []
    for item in items:
        if item.startswith("*") and numeric:
            try:
                number = float(item[1:])
            except ValueError:
                fail(dotted, "a factor is *NUMBER, e.g. *1.2", item)
            values.append(_factor(number, dotted, fail))
        elif item.startswith("*") and _is_number(item[1:]):
            fail(dotted, f"a factor multiplies numbers; {key.table}.{key.column} is a column of kind {column.kind}",
                 item)
        else:
            values.append(_cell(column, item, dotted, fail))
    return _unique(values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _factor(number: float, dotted: str, fail) -> str:
    if not math.isfinite(number) or number < 0:
        fail(dotted, "a factor must be a finite number >= 0", f"*{number:g}")
    return f"*{_number(number)}"


def _cell(column: Column, text: str, dotted: str, fail):
    value, wrong = _parse_cell(column, text)
    if wrong:
        fail(dotted, wrong, text)
    return value


def _number(value: float) -> str:
    return f"{value:.15g}"


def _unique(values: list) -> list:
    unique = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def value_text(value) -> str:
    """A data value as an override writes it (a factor stays ``*F``; a blank is empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def is_factor(value, column: Column) -> bool:
    return column.kind in NUMBERS and isinstance(value, str) and value.startswith("*")


# --- Applying them --------------------------------------------------------------------------------------------

def overridden(dataset: Dataset, run) -> Dataset:
    """``dataset`` with the run's data overrides applied (those it does not carry yet)."""
    wanted = tuple(o for o in run.overrides if is_data_key(o.key))
    done = dataset.overrides
    if wanted[:len(done)] != done:
        raise ValueError("the dataset carries data overrides the run does not: prepare it from the dataset as read")
    return apply(dataset, wanted[len(done):])


def apply(dataset: Dataset, overrides) -> Dataset:
    """Apply data overrides (settings.Override) in order; every problem located at its override."""
    overrides = [o for o in overrides if is_data_key(o.key)]
    if not overrides:
        return dataset
    tables = dict(dataset.tables)
    copied: set[str] = set()
    problems: list[Problem] = []
    touched: list[tuple[object, str, set[int]]] = []  # (override, where, rows it changed)
    for override in overrides:
        def fail(column, message, value=None, override=override):
            raise InputError([Problem(override.where, override.line, column, message, value)])

        key = parse_key(override.key, fail)
        column = TABLES_BY_NAME[key.table].column(key.column)
        frame = tables[key.table]
        mask = _matching(frame, key.filters)
        if not mask.any():
            problems.append(Problem(override.where, override.line, override.key, _no_match(dataset, key)))
            continue
        if key.table not in copied:
            frame = tables[key.table] = frame.copy()
            copied.add(key.table)
        where, rows = dataset.where[key.table], dataset.rows[key.table]
        positions = [i for i, hit in enumerate(mask) if hit]
        if is_factor(override.value, column):
            factor = float(override.value[1:])
            products = {}
            for i in positions:
                cell = frame[column.name].iloc[i]
                if cell is None or pd.isna(cell):
                    continue  # a blank stays blank
                product = float(cell) * factor
                _, wrong = _parse_cell(column, repr(product))  # the loader's range and magnitude checks
                if wrong:
                    problems.append(Problem(override.where, override.line, override.key,
                                            f"makes {where}:{rows[i]}:{column.name} {product:g}: {wrong}",
                                            override.value))
                    break
                products[frame.index[i]] = product
            for index, product in products.items():
                frame.at[index, column.name] = product
        else:
            if override.value is None and frame[column.name].dtype.kind in "iu":  # a blank year: NaN
                frame[column.name] = frame[column.name].astype("float64")
            elif isinstance(override.value, str) and frame[column.name].dtype.kind != "O":
                frame[column.name] = frame[column.name].astype(object)
            frame.loc[mask.to_numpy(), column.name] = override.value
        touched.append((override, where, {rows[i] for i in positions}))
    if problems:
        raise InputError(problems)
    result = replace(dataset, tables=tables, overrides=dataset.overrides + tuple(overrides))
    later = table_rules(result)
    if later:
        raise InputError([_blamed(problem, touched) for problem in later])
    return result


def _matching(frame: pd.DataFrame, filters) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for name, value in filters:
        cells = frame[name]
        mask &= cells.isna() if value is None else cells.map(lambda cell, value=value: _same(cell, value))
    return mask


def _same(cell, value) -> bool:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return False
    return bool(cell == value) and isinstance(cell, str) == isinstance(value, str)


def _no_match(dataset: Dataset, key: DataKey) -> str:
    where, frame = dataset.where[key.table], dataset[key.table]
    if frame.empty:
        return f"matches no row: {where} has no rows"
    hints = []
    for name, value in key.filters:
        if not _matching(frame, ((name, value),)).any():
            present = sorted({str(v) for v in frame[name] if v is not None and not pd.isna(v)})
            guess = difflib.get_close_matches(str(value), present, n=1)
            hints.append(f"no row has {name} = {value_text(value) or 'blank'}"
                         + (f"; did you mean '{guess[0]}'?" if guess else ""))
    return f"matches no row of {where} ([{key.shown}])" + (": " + "; ".join(hints) if hints else
                                                           ": no row meets every condition together")


def _blamed(problem: Problem, touched) -> Problem:
    """A problem of the overridden dataset, located at the override that made it: the last that changed its
    row, else the last that changed its table, else the last one."""
    at_row = [o for o, where, rows in touched if where == problem.where and problem.row in rows]
    in_table = [o for o, where, _ in touched if where == problem.where]
    culprit = (at_row or in_table or [o for o, _, _ in touched])[-1]
    cell = ":".join([problem.where, "-" if problem.row is None else str(problem.row), problem.column or "-"])
    return Problem(culprit.where, culprit.line, culprit.key, f"leaves {cell} invalid: {problem.message}",
                   problem.value)
