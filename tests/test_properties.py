"""Property-based tests (hypothesis) over small generated datasets (``critmin.synthetic``).

- every solved portfolio (infeasible ones included: their elastic portfolio
  against the hard limits) passes the independent check, read back from the
  written flows.csv and summary.json;
- scaling every cost (and the budget) by a constant scales the objective and
  keeps the flows;
- relabelling the countries, or reordering the rows of every table, changes
  nothing in the result;
- adding a market route never raises the cost;
- a corrupted input (a cell emptied, a number made negative or text, an id
  duplicated, a reference misspelled), as CSV or as a workbook, always gives
  exit 2 with a line that locates it, never a traceback, and writes nothing.

Solves use ``mip_rel_gap = 0`` so that "the" optimum is compared.  The cost
scale factors are powers of two: the scaled model is then the same model in
floating point (HiGHS scales by powers of two too), so even ties are broken
the same way.  ``FIGURES`` counts the cases run and the largest verify
violation; ``conftest.py`` prints them at the end of the session.
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from critmin import synthetic
from critmin.cli import main
from critmin.inputs import schema
from critmin.inputs.data import prepare
from critmin.inputs.runfile import parse_run
from critmin.inputs.validate import load_dataset
from critmin.optimization.solve import solve
from critmin.results.tables import tidy
from critmin.results.verify import verify_files
from critmin.writers.files import write_csv, write_json
from critmin.writers.outputs import summary_document

pytestmark = pytest.mark.slow  # Hypothesis property tests over generated datasets

FIGURES = {"cases": {}, "largest_violation": 0.0, "largest_relative": 0.0, "where": "", "families": {}}
SETTINGS = dict(deadline=None, derandomize=False, suppress_health_check=[HealthCheck.too_slow])
LOCATED = re.compile(r"^error: (?P<where>[^:]+):(?P<row>\d+|-):(?P<column>[^:]+): .+")


def _count(name: str) -> None:
    FIGURES["cases"][name] = FIGURES["cases"].get(name, 0) + 1


# --------------------------------------------------------------------------- generated cases

shapes = st.fixed_dictionaries({
    "minerals": st.integers(1, 3),
    "countries": st.integers(4, 8),
    "routes_per_mineral": st.integers(3, 6),
    "projects_per_mineral": st.integers(0, 2),
    "plants": st.integers(0, 2),
    "seed": st.integers(0, 10**6),
})
policies = st.fixed_dictionaries({
    "country_cap": st.sampled_from([0.5, 0.65, 0.8, 1.0]),
    "stockpile_days": st.sampled_from([0, 30, 60]),
    "stockpile_min_days": st.sampled_from([0, 10]),
    "discount_rate": st.sampled_from([0.0, 0.08]),
    "conflict_max_share": st.sampled_from([1.0, 0.5]),
    "ally_min_share": st.sampled_from([{"mine": 0.0, "refine": 0.0}, {"mine": 0.0, "refine": 0.2},
                                       {"mine": 0.1, "refine": 0.0}]),
}, optional={
    "investment_budget": st.sampled_from([0.0, 1e6, 1e8, 1e10]),
    "any_stage_cap": st.sampled_from([0.7, 0.9]),
    "cap_stages": st.sampled_from([["mine"], ["refine"]]),
})


def _write(folder: Path, tables: dict) -> Path:
    return synthetic.write(folder, {name: rows for name, rows in tables.items() if rows})


def _data(folder: Path, tables: dict, policy: dict):
    _write(folder / "data", tables)
    run = parse_run({"name": "case", "data": "data", "year": 2030, "policy": policy,
                     "solver": {"mip_rel_gap": 0.0, "time_limit": 30}}, folder / "case.toml")
    return prepare(load_dataset(folder / "data"), run)


def _solve(folder: Path, tables: dict, policy: dict):
    data = _data(folder, tables, policy)
    return data, tidy(data, solve(data))


def _flows(results, rename=lambda c: c) -> dict:
    return {(row["source_type"], row["source_id"], row["mineral"], rename(row["mine_country"]),
             rename(row["refine_country"])): row["tonnes"] for row in results.flows.to_dict("records")}


def _same_flows(a: dict, b: dict) -> bool:
    keys = {k for k, v in a.items() if v > 1e-6} | {k for k, v in b.items() if v > 1e-6}
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) <= 1e-6 + 1e-7 * abs(a.get(k, 0.0)) for k in keys)


def _objective(results) -> float:
    return results.objective if results.objective is not None else results.elastic_objective


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, **SETTINGS)
@given(shape=shapes, policy=policies)
def test_every_solved_portfolio_passes_verify(shape, policy):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data, results = _solve(folder, synthetic.generate(**shape), policy)
        write_csv(folder / "flows.csv", results.flows)
        write_json(folder / "summary.json", summary_document(results))
        report = verify_files(data, folder)
    _count(f"verify ({results.status})")
    for name, family in report.families.items():
        FIGURES["families"][name] = max(FIGURES["families"].get(name, 0.0), family.violation)
        if family.violation > FIGURES["largest_violation"]:
            FIGURES["largest_violation"] = family.violation
        if family.relative > FIGURES["largest_relative"]:
            FIGURES.update(largest_relative=family.relative, where=f"{name}: {family.where}")
    assert report.passed, report.failures()


COST_COLUMNS = {"minerals": ("reference_price", "shortfall_penalty"), "supply": ("unit_cost", "fixed_cost"),
                "projects": ("capex",), "project_offtake": ("unit_cost",), "recycling": ("unit_cost",),
                "recycling_plants": ("capex", "fixed_cost")}


@settings(max_examples=25, **SETTINGS)
@given(shape=shapes, policy=policies, factor=st.sampled_from([0.25, 0.5, 2.0, 8.0, 1024.0]))
def test_scaling_every_cost_scales_the_objective_and_keeps_the_flows(shape, policy, factor):
    tables = synthetic.generate(**shape)
    scaled = copy.deepcopy(tables)
    for name, columns in COST_COLUMNS.items():
        for row in scaled[name]:
            for column in columns:
                row[column] = row[column] * factor
    scaled_policy = dict(policy)
    if "investment_budget" in policy:
        scaled_policy["investment_budget"] = policy["investment_budget"] * factor
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        _, base = _solve(Path(a), tables, policy)
        _, other = _solve(Path(b), scaled, scaled_policy)
    _count("scale costs")
    assert other.status == base.status
    assert _objective(other) == pytest.approx(factor * _objective(base), rel=1e-9, abs=1e-6)
    assert _same_flows(_flows(base), _flows(other))


@settings(max_examples=25, **SETTINGS)
@given(shape=shapes, policy=policies, seed=st.integers(0, 10**6))
def test_relabelling_countries_changes_nothing(shape, policy, seed):
    tables = synthetic.generate(**shape)
    codes = [row["country"] for row in tables["countries"]]
    shuffled = codes[:]
    random.Random(seed).shuffle(shuffled)
    new = {old: f"Q{label}" for old, label in zip(codes, shuffled)}  # a permutation: the sort order changes
    back = {v: k for k, v in new.items()}
    relabelled = copy.deepcopy(tables)
    for name, columns in (("countries", ("country",)), ("supply", ("mine_country", "refine_country")),
                          ("projects", ("mine_country", "refine_country"))):
        for row in relabelled[name]:
            for column in columns:
                row[column] = new[row[column]]
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        _, base = _solve(Path(a), tables, policy)
        _, other = _solve(Path(b), relabelled, policy)
    _count("relabel countries")
    assert other.status == base.status
    assert _objective(other) == pytest.approx(_objective(base), rel=1e-9, abs=1e-6)
    assert _same_flows(_flows(base), _flows(other, rename=lambda c: back.get(c, c)))


@settings(max_examples=20, **SETTINGS)
@given(shape=shapes, policy=policies, seed=st.integers(0, 10**6))
def test_reordering_input_rows_changes_nothing(shape, policy, seed):
    tables = synthetic.generate(**shape)
    rng = random.Random(seed)
    reordered = {}
    for name, rows in tables.items():
        rows = [dict(reversed(list(row.items()))) for row in rows]  # the columns too
        rng.shuffle(rows)
        reordered[name] = rows
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        _, base = _solve(Path(a), tables, policy)
        _, other = _solve(Path(b), reordered, policy)
    _count("reorder rows")
    assert other.status == base.status
    assert _objective(other) == _objective(base)  # the same model: bit-identical
    assert _flows(other) == _flows(base)


@settings(max_examples=25, **SETTINGS)
@given(shape=shapes, policy=policies, route=st.fixed_dictionaries({
    "mineral": st.integers(0, 2), "mine": st.integers(0, 7), "refine": st.integers(0, 7),
    "cost": st.floats(0.3, 2.0), "max": st.floats(0.01, 1.0), "min": st.sampled_from([0.0, 0.0, 0.05]),
    "fixed": st.sampled_from([0.0, 0.0, 0.001])}))
def test_adding_a_route_never_raises_the_cost(shape, policy, route):
    tables = synthetic.generate(**shape)
    minerals = tables["minerals"]
    mineral = minerals[route["mineral"] % len(minerals)]
    target = next(r["target_t"] for r in tables["targets"] if r["mineral"] == mineral["mineral"])
    codes = [row["country"] for row in tables["countries"]]
    more = copy.deepcopy(tables)
    more["supply"].append(dict(
        option="added-route", mineral=mineral["mineral"], mine_country=codes[route["mine"] % len(codes)],
        refine_country=codes[route["refine"] % len(codes)],
        unit_cost=round(mineral["reference_price"] * route["cost"], 2),
        max_t=round(target * route["max"], 0), min_t=round(target * min(route["min"], route["max"]) / 2, 0),
        fixed_cost=round(mineral["reference_price"] * target * route["fixed"], 0)))
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        _, base = _solve(Path(a), tables, policy)
        _, other = _solve(Path(b), more, policy)
    _count("add a route")
    assume(base.status != "infeasible")  # infeasible: no cost to compare (the elastic cost is a penalty)
    assert other.status != "infeasible"
    # HiGHS proves optimality only up to its feasibility and integrality tolerances (1e-7 on
    # rows, 1e-6 on integers), so "never higher" holds to a relative 1e-7, not to rounding.
    assert other.objective <= base.objective * (1 + 1e-7) + 1e-6


# --------------------------------------------------------------------------- corrupted inputs

NUMERIC = (schema.QUANTITY, schema.RATE, schema.YEAR)


def _corruptions(tables: dict) -> list[tuple]:
    """(kind, table, row index, column) for every corruption that must be an error."""
    options = []
    keys = {t.name: {row[t.key[0]] for row in tables.get(t.name, [])} for t in schema.TABLES if len(t.key) == 1}
    for table in schema.TABLES:
        rows = tables.get(table.name) or []
        for i, row in enumerate(rows):
            for column in table.columns:
                if column.name not in row:
                    continue
                if column.required and column.kind != schema.TEXT:
                    options.append(("empty", table.name, i, column.name))
                if column.kind in NUMERIC:
                    options.append(("negative", table.name, i, column.name))
                if column.kind in NUMERIC + (schema.BOOL,):
                    options.append(("text", table.name, i, column.name))
                if column.references and column.references in keys:
                    options.append(("misspelled", table.name, i, column.name))
            if len(table.key) == 1 and i > 0:
                options.append(("duplicate", table.name, i, table.key[0]))
    return options


def _corrupt(tables: dict, kind: str, table: str, i: int, column: str) -> str:
    """Apply a corruption in place; return the message the error should carry."""
    row = tables[table][i]
    value = row[column]
    if kind == "empty":
        row[column] = ""
        return "is empty"
    if kind == "negative":
        row[column] = -(abs(float(value)) + 1)
        return "must be a year" if schema.TABLES_BY_NAME[table].column(column).kind == schema.YEAR \
            else "must not be negative"
    if kind == "text":
        row[column] = "lots"
        return "must be"
    if kind == "misspelled":
        row[column] = f"{value}x" if len(str(value)) < 2 else f"{str(value)[1]}{str(value)[0]}{str(value)[2:]}zz"
        return "unknown"
    if kind == "duplicate":
        row[column] = tables[table][i - 1][column]
        return "duplicate"
    raise AssertionError(kind)


def _write_workbook(path: Path, tables: dict) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in tables.items():
        if not rows:
            continue
        sheet = book.create_sheet(name)
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append([row.get(c) for c in rows[0]])
    book.save(path)


@settings(max_examples=120, **SETTINGS)
@given(shape=shapes, choice=st.integers(0, 10**9), workbook=st.booleans())
def test_corrupted_inputs_are_exit_2_located_and_write_nothing(shape, choice, workbook):
    tables = synthetic.generate(**shape)
    tables = {name: rows for name, rows in tables.items() if rows}
    options = _corruptions(tables)
    kinds = sorted({option[0] for option in options})
    kind = kinds[choice % len(kinds)]  # each kind equally often, then any cell of that kind
    of_kind = [option for option in options if option[0] == kind]
    kind, table, i, column = of_kind[(choice // len(kinds)) % len(of_kind)]
    message = _corrupt(tables, kind, table, i, column)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if workbook:
            _write_workbook(folder / "data.xlsx", tables)
            data, where, line = "data.xlsx", table, i + 2  # header on Excel row 1
        else:
            _write(folder / "data", tables)
            data, where, line = "data", f"{table}.csv", i + 2  # header on line 1
        (folder / "run.toml").write_text(f'name = "case"\ndata = "{data}"\nyear = 2030\n')
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["solve", str(folder / "run.toml"), "--out", str(folder / "out")])
        wrote = (folder / "out").exists()
    _count(f"corrupt ({kind})")
    lines = err.getvalue().splitlines()
    assert code == 2, (kind, table, column, lines)
    assert "Traceback" not in err.getvalue()
    assert lines and all(LOCATED.match(line) for line in lines), lines
    located = [m for m in map(LOCATED.match, lines)
               if m["where"] == where and m["row"] == str(line) and m["column"] == column]
    assert any(message in m.group(0) for m in located), (kind, where, line, column, lines)
    assert not wrote


@pytest.mark.parametrize("table,column", [("projects", "life_years"), ("recycling_plants", "life_years"),
                                          ("supply", "max_t"), ("supply", "min_t")])
def test_emptied_cells_that_cross_row_rules_read_are_located_not_a_traceback(tmp_path, table, column, capsys):
    """Found by the corruption property: the cross-row rules compared an empty (None) cell."""
    tables = {name: rows for name, rows in synthetic.generate(minerals=1, seed=3).items() if rows}
    tables[table][0][column] = "lots"  # a bad cell, as an empty one
    _write(tmp_path / "data", tables)
    (tmp_path / "run.toml").write_text('name = "case"\ndata = "data"\nyear = 2030\n')
    assert main(["validate", str(tmp_path / "run.toml")]) == 2
    tables[table][0][column] = ""
    _write(tmp_path / "data", tables)
    code = main(["validate", str(tmp_path / "run.toml")])
    err = capsys.readouterr().err
    assert code == (0 if column == "min_t" else 2)  # min_t is optional (default 0)
    assert "Traceback" not in err
