"""Turn raw text tables into one validated ``Dataset``, or report every problem.

The checks follow the schema manifest: presence of tables and columns, the
kind of every cell (ids, quantities, rates, years, booleans), unique keys and
references, then the few rules that span rows (one home country, min_t <=
max_t).  All problems are collected and raised together.

Hostile or damaged input is refused where it is: a control character in any
cell, ids that differ only in case (``CHN`` and ``chn`` would be two
countries), and numbers the solver cannot resolve (``schema.limit``: each
kind's range, and the span of the tonnages; README "Input limits").
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError, Problem
from . import currency, schema
from .reading import RawTable, Unreadable, read_dataset
from .schema import BOOL, BOOL_TEXT, ID, QUANTITY, RATE, TEXT, YEAR, Table


@dataclass(frozen=True)
class Dataset:
    """Validated input tables, one DataFrame each, in input order.

    ``rows[table]`` gives the file line or Excel row of each DataFrame row, so
    later checks can point a user at the cell.  ``where[table]`` is the file
    or sheet name used in messages.
    """

    path: Path
    tables: dict[str, pd.DataFrame]
    rows: dict[str, list[int]]
    where: dict[str, str]
    overrides: tuple = ()  # the data overrides applied to the tables as read (settings.Override, in order)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def home(self) -> str:
        countries = self.tables["countries"]
        return str(countries.loc[countries["home"], "country"].iloc[0])


def load_dataset(path: Path) -> Dataset:
    """Read and validate the dataset at ``path``; raise ``InputError`` listing all problems."""
    raw = read_dataset(Path(path))
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    rows: dict[str, list[int]] = {}
    where: dict[str, str] = {}
    is_folder = Path(path).is_dir()
    unreadable: set[str] = set()  # required but missing, or a header too wrong to read rows
    for table in schema.TABLES:
        label = f"{table.name}.csv" if is_folder else table.name
        if table.name not in raw:
            if table.required:
                problems.append(Problem(label, None, None,
                                        "required table is missing"
                                        + (" (no such file)" if is_folder else " (no such sheet)")))
                unreadable.add(table.name)
            tables[table.name] = _empty_frame(table)
            rows[table.name] = []
            where[table.name] = label
            continue
        frame, row_numbers, table_problems = _typed_table(table, raw[table.name])
        tables[table.name], rows[table.name], where[table.name] = frame, row_numbers, raw[table.name].where
        problems += list(raw[table.name].problems) + table_problems
        if raw[table.name].rows and not row_numbers:  # header problems: no row was read
            unreadable.add(table.name)
    # Keys, references and cross-row rules are checked even when some cells
    # are bad (those cells are NA and skipped), so that every problem is
    # reported at once; tables that could not be read are left out.
    dataset = Dataset(Path(path), tables, rows, where)
    bad_cells = {(p.where, p.row, p.column) for p in problems if p.row is not None and p.column is not None}
    later = table_rules(dataset, unreadable)
    # A bad cell is missing to the later checks; one that reads a missing cell as
    # blank would report it twice, so a cell already reported is not reported again.
    problems += [p for p in later if (p.where, p.row, p.column) not in bad_cells]
    if problems:
        raise InputError(problems)
    return Dataset(Path(path), tables, rows, where)


def table_rules(dataset: Dataset, unreadable: set[str] = frozenset()) -> list[Problem]:
    """The checks that span cells, rows and tables: unique keys and references, the cross-row rules (one
    home, min_t <= max_t, ...) and the tonnage span.  Also run on a dataset that overrides changed."""
    return _check_keys_and_references(dataset, unreadable) + _check_rules(dataset, unreadable) + _check_spans(dataset)


def _empty_frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame({column.name: pd.Series(dtype=_dtype(column.kind)) for column in table.all_columns})


def _dtype(kind: str) -> str:
    return {QUANTITY: "float64", RATE: "float64", YEAR: "int64", BOOL: "bool"}.get(kind, "object")


def _typed_table(table: Table, raw: RawTable) -> tuple[pd.DataFrame, list[int], list[Problem]]:
    problems: list[Problem] = []
    known = {column.name for column in table.all_columns}
    seen: set[str] = set()
    for name in raw.header:
        if name in seen:
            problems.append(Problem(raw.where, raw.header_row, name, "column appears twice"))
        seen.add(name)
        if name not in known:
            guess = difflib.get_close_matches(name, sorted(known), n=1)
            expected = ", ".join(c.name for c in table.columns)
            hint = f"; did you mean '{guess[0]}'?" if guess else f"; expected {expected}"
            problems.append(Problem(raw.where, raw.header_row, name or "(blank header)", "unknown column" + hint))
    for column in table.columns:
        if column.required and column.name not in raw.header:
            problems.append(Problem(raw.where, raw.header_row, column.name, "required column is missing"))
    if problems:
        return _empty_frame(table), [], problems

    values: dict[str, list] = {column.name: [] for column in table.all_columns}
    row_numbers = []
    for row_number, cells in raw.rows:
        if "\0extra" in cells:
            problems.append(Problem(raw.where, row_number, None, "more cells than header columns", cells["\0extra"]))
        for column in table.all_columns:
            value, problem = _parse_cell(column, cells.get(column.name, ""))
            if problem:
                shown = cells.get(column.name, "")
                problems.append(Problem(raw.where, row_number, column.name, problem, shown if shown != "" else None))
            values[column.name].append(value)
        row_numbers.append(row_number)
    frame = pd.DataFrame(values) if row_numbers else _empty_frame(table)
    return frame, row_numbers, problems


def _parse_cell(column: schema.Column, text: str) -> tuple[object, str | None]:
    """Return (value, None) or (None, what is wrong)."""
    if isinstance(text, Unreadable):  # reported where it was read
        return None, None
    character = _control_character(text, column.kind)
    if character is not None:
        return None, (f"contains the control character {character!r} (U+{ord(character):04X}); "
                      "retype the cell without it")
    if text == "":
        if column.required and column.kind != TEXT:
            return None, "is empty"
        return column.default, None
    if column.choices and text not in column.choices:
        return None, f"must be one of {', '.join(column.choices)}"
    if column.kind in (ID, TEXT):
        return text, None
    if column.kind == BOOL:
        value = BOOL_TEXT.get(text.lower())
        return (value, None) if value is not None else (None, "must be true/false, yes/no or 1/0")
    if column.kind == YEAR:
        try:
            number = float(text)
        except ValueError:
            return None, "must be a year"
        if not number.is_integer() or not 1900 <= number <= 2200:
            return None, "must be a year"
        return int(number), None
    try:
        number = float(text.replace("_", ""))
    except ValueError:
        return None, "must be a number"
    if math.isnan(number):
        return None, "must be a number, not NaN"
    if math.isinf(number):
        return None, "must be finite"
    if number < 0:
        return None, "must not be negative"
    if column.kind == RATE and number > 1:
        return None, "must lie in [0, 1]"
    limit = schema.limit(column.kind, column.unit)
    if limit is not None and not limit.allows(number):
        return None, limit.refusal()
    return number, None


# Never in any cell: C0 controls but tab, line feed and carriage return; DEL
# and C1 controls (which include a terminal's CSI); bidirectional overrides
# and isolates, which make text display in another order than it is.  An id
# also refuses tab and line breaks and every invisible format character
# (zero-width space, BOM): two ids that look the same must be the same.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control_character(text: str, kind: str) -> str | None:
    """The first character of ``text`` a cell of this kind must not hold, or None."""
    if text.isprintable():
        return None
    for character in text:
        category = unicodedata.category(character)
        if character in _BIDI or category in ("Cs", "Zl", "Zp"):
            return character
        if category == "Cc" and (kind == ID or character not in "\t\n\r"):
            return character
        if kind == ID and category == "Cf":
            return character
    return None


def _check_keys_and_references(dataset: Dataset, unreadable: set[str] = frozenset()) -> list[Problem]:
    problems = []
    keys: dict[str, set] = {}
    for table in schema.TABLES:
        frame = dataset[table.name]
        seen: dict[tuple, int] = {}
        for i, key in enumerate(frame[list(table.key)].itertuples(index=False, name=None)):
            row = dataset.rows[table.name][i]
            if any(pd.isna(k) for k in key):  # a bad cell, already reported
                continue
            if key in seen:
                problems.append(Problem(dataset.where[table.name], row, table.key[-1],
                                        f"duplicate {'/'.join(table.key)} (first on row {seen[key]})",
                                        "/".join(str(k) for k in key)))
            else:
                seen[key] = row
        if len(table.key) == 1:
            keys[table.name] = {k[0] for k in seen}
        problems += _case_twins(dataset, table)
    for table in schema.TABLES:
        frame = dataset[table.name]
        for column in table.columns:
            if not column.references or column.references in unreadable:
                continue
            allowed = keys[column.references]
            noun = schema.TABLES_BY_NAME[column.references].key[0]
            for i, value in enumerate(frame[column.name]):
                if pd.isna(value):  # a bad cell, already reported
                    continue
                if value not in allowed and value != column.wildcard:
                    twin = [k for k in sorted(allowed) if _folded(k) == _folded(value)]
                    guess = twin or difflib.get_close_matches(str(value), sorted(allowed), n=1)
                    hint = f"; did you mean '{guess[0]}'?" if guess else ""
                    hint += " (ids are case-sensitive)" if twin else ""
                    problems.append(Problem(dataset.where[table.name], dataset.rows[table.name][i], column.name,
                                            f"unknown {noun}" + hint, value))
    return problems


def _folded(value) -> str:
    """An id as compared for twins: case and Unicode width and form ignored (CHN, chn, ＣＨＮ)."""
    return unicodedata.normalize("NFKC", str(value)).casefold()


def _case_twins(dataset: Dataset, table: Table) -> list[Problem]:
    """Ids that differ only in case (or Unicode form) in a column that names things, not refers to them.

    ``CHN`` and ``chn`` would be two countries, each under the cap: refuse
    the later spelling, at the first row it appears.
    """
    problems = []
    frame = dataset[table.name]
    for column in table.columns:
        if column.kind != ID or column.references or column.choices:
            continue
        first: dict[str, tuple[str, int]] = {}
        reported: set[str] = set()
        for i, value in enumerate(frame[column.name]):
            if pd.isna(value) or value == column.wildcard:
                continue
            row = dataset.rows[table.name][i]
            spelling, first_row = first.setdefault(_folded(value), (value, row))
            if spelling != value and value not in reported:
                reported.add(value)
                problems.append(Problem(dataset.where[table.name], row, column.name,
                                        f"the same id as '{spelling}' on row {first_row} but for case; "
                                        "spell an id one way everywhere", value))
    return problems


def _check_spans(dataset: Dataset) -> list[Problem]:
    """Numbers of one kind whose largest exceeds the smallest non-zero one by more than the kind's span.

    The solver resolves the small ones only relative to the large ones it is
    solved with; the cell reported is the one farther from the others (in
    orders of magnitude from their median), and the message names the other end.
    """
    problems = []
    spans = {}
    for table in schema.TABLES:
        for column in table.columns:
            limit = schema.limit(column.kind, column.unit)
            if limit is None or limit.span is None:
                continue
            for i, value in enumerate(dataset[table.name][column.name]):
                if not pd.isna(value) and value > 0:
                    spans.setdefault(limit, []).append((float(value), table.name, dataset.rows[table.name][i],
                                                        column.name))
    for limit, cells in spans.items():
        low, high = min(cells), max(cells)
        if high[0] <= limit.span * low[0]:
            continue
        logs = sorted(math.log10(cell[0]) for cell in cells)
        middle = logs[len(logs) // 2]
        odd, other = (high, low) if math.log10(high[0]) - middle > middle - math.log10(low[0]) else (low, high)
        relation = (f"{high[0] / low[0]:.1e} times the smallest non-zero" if odd is high
                    else f"1/{high[0] / low[0]:.1e} of the largest")
        problems.append(Problem(
            dataset.where[odd[1]], odd[2], odd[3],
            f"this {limit.what} is {relation} ({other[0]:g} at {dataset.where[other[1]]}:{other[2]}:{other[3]}); "
            f"{limit.what}s may span a factor of at most {limit.span:g} for the solver to resolve both "
            "(README: Input limits)", f"{odd[0]:g}"))
    return problems


def _check_rules(dataset: Dataset, unreadable: set[str] = frozenset()) -> list[Problem]:
    problems = []
    countries = dataset["countries"]
    homes = [i for i, home in enumerate(countries["home"]) if not pd.isna(home) and bool(home)]
    where = dataset.where["countries"]
    home_unknown = "countries" in unreadable or any(pd.isna(home) for home in countries["home"])
    if not homes and not home_unknown:
        problems.append(Problem(where, None, "home", "no country is marked home (exactly one must be)"))
    for i in homes[1:]:
        problems.append(Problem(where, dataset.rows["countries"][i], "home",
                                f"a second home country (first on row {dataset.rows['countries'][homes[0]]})",
                                countries["country"].iloc[i]))
    supply = dataset["supply"]
    for i, (low, high) in enumerate(zip(supply["min_t"], supply["max_t"])):
        if pd.isna(low) or pd.isna(high):  # a bad cell, already reported
            continue
        if low > high:
            problems.append(Problem(dataset.where["supply"], dataset.rows["supply"][i], "min_t",
                                    f"min_t is larger than max_t ({high:g})", f"{low:g}"))
    problems += _check_disruptions(dataset)
    problems += _check_realism(dataset)
    problems += currency.check(dataset.tables, dataset.rows, dataset.where)
    for name in ("projects", "recycling_plants"):
        for i, life in enumerate(dataset[name]["life_years"]):
            if pd.isna(life):  # a bad cell, already reported
                continue
            if life < 1:
                problems.append(Problem(dataset.where[name], dataset.rows[name][i], "life_years",
                                        "must be at least 1 year", f"{life:g}"))
    return problems


def _check_disruptions(dataset: Dataset) -> list[Problem]:
    """An event lasts at most a year (flows are annual), a scenario has one probability, a price shock
    raises prices (price_factor >= 1: a disruption never makes a portfolio cheaper), and only a mine-stage
    row can be limited to exported ore (scope)."""
    problems = []
    table = dataset["disruptions"]
    where = dataset.where["disruptions"]
    first: dict[str, tuple[float, int]] = {}
    factors = table["price_factor"] if "price_factor" in table else [None] * len(table)
    scopes = list(table["scope"]) if "scope" in table else ["all"] * len(table)
    stages = list(table["stage"])
    for i, (scenario, days, probability, factor) in enumerate(zip(table["scenario"], table["duration_days"],
                                                                   table["probability"], factors)):
        row = dataset.rows["disruptions"][i]
        if scopes[i] == "exported" and stages[i] != "mine":
            problems.append(Problem(where, row, "scope", "exported applies at stage mine only (ore leaving the "
                                    "country it is mined in); use all at stage refine", "exported"))
        if not pd.isna(days) and not 0 < days <= 365:
            problems.append(Problem(where, row, "duration_days", "must be more than 0 and at most 365 days",
                                    f"{days:g}"))
        if factor is not None and not pd.isna(factor) and factor < 1:
            problems.append(Problem(where, row, "price_factor", "must be at least 1 (a price shock raises prices; "
                                    "blank for none)", f"{factor:g}"))
        if pd.isna(probability):
            continue
        if scenario in first and first[scenario][0] != probability:
            problems.append(Problem(where, row, "probability",
                                    f"differs from the scenario's probability {first[scenario][0]:g} "
                                    f"on row {first[scenario][1]}", f"{probability:g}"))
        first.setdefault(scenario, (probability, row))
    return problems


def _check_realism(dataset: Dataset) -> list[Problem]:
    """Price basis (exactly one of unit_cost and price_factor) and mine blends (docs/model.md "Mine blends").

    A blend's shares lie in (0, 1] and sum to 1; a source listed in mine_mix
    has mine_country * in its own table, and every * source is listed.
    """
    problems = []
    for name in ("supply", "project_offtake"):
        table, where = dataset[name], dataset.where[name]
        for i, (cost, factor) in enumerate(zip(table["unit_cost"], table["price_factor"])):
            given = (not pd.isna(cost), not pd.isna(factor))
            if given == (True, True):
                problems.append(Problem(where, dataset.rows[name][i], "price_factor",
                                        "give unit_cost or price_factor, not both", f"{factor:g}"))
            elif given == (False, False):
                problems.append(Problem(where, dataset.rows[name][i], "unit_cost",
                                        "is empty; give unit_cost or price_factor"))
    mix, where = dataset["mine_mix"], dataset.where["mine_mix"]
    owners = {"market": ("supply", "option"), "equity": ("projects", "project")}
    own_country = {kind: dict(zip(dataset[table][key], dataset[table]["mine_country"]))
                   for kind, (table, key) in owners.items()}
    first_row: dict[tuple, int] = {}
    total: dict[tuple, float] = {}
    for i, (kind, source, share) in enumerate(zip(mix["source_type"], mix["source_id"], mix["share"])):
        row = dataset.rows["mine_mix"][i]
        if pd.isna(kind) or pd.isna(source):  # a bad cell, already reported
            continue
        table, key = owners[kind]
        if source not in own_country[kind]:
            problems.append(Problem(where, row, "source_id", f"unknown {key} in {table}", source))
            continue
        if own_country[kind][source] != "*":
            problems.append(Problem(where, row, "source_id",
                                    f"a blend's {key} must have mine_country * in {table} "
                                    f"(it has {own_country[kind][source]})", source))
        if not pd.isna(share):
            if share <= 0:
                problems.append(Problem(where, row, "share", "must be more than 0", f"{share:g}"))
            total[kind, source] = total.get((kind, source), 0.0) + share
        first_row.setdefault((kind, source), row)
    for (kind, source), share in sorted(total.items()):
        if abs(share - 1.0) > 1e-6:
            problems.append(Problem(where, first_row[kind, source], "share",
                                    f"the shares of {kind} {source} sum to {share:.6g}, not 1", f"{share:g}"))
    for kind, (table, key) in owners.items():
        for i, (source, country) in enumerate(zip(dataset[table][key], dataset[table]["mine_country"])):
            if country == "*" and (kind, source) not in first_row:
                problems.append(Problem(dataset.where[table], dataset.rows[table][i], "mine_country",
                                        f"* (a blend) needs rows in mine_mix with source_type {kind}", source))
    return problems
