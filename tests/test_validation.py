"""Bad input: one test per validation rule.

The contract (docs/model.md, "Input tables" and "Run files"): bad input never
gives a traceback; every problem is reported at once, one per line on stderr,
as ``error: file-or-sheet:row:column: what is wrong (the value)``; the exit
code is 2; nothing is written to the output folder.

Each test copies the tiny fixture (tests/fixtures/tiny/ with tiny.toml) into
``tmp_path``, corrupts one thing and checks the reported location.  Rows are
CSV line numbers (the header is line 1) or Excel row numbers; ``-`` where no
row applies.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest

from cases import tiny
from critmin.cli import main

# Optional tables the tiny fixture lacks, for rules that live in them.
PROJECTS = [
    ["project", "name", "mine_country", "refine_country", "capex", "life_years", "available_from"],
    ["lynas", "Lynas stake", "AUS", "AUS", "1000", "20", "2025"],
]
PROJECT_OFFTAKE = [
    ["project", "mineral", "offtake_t", "unit_cost", "min_take"],
    ["lynas", "li", "20", "11", "0.5"],
]
RECYCLING = [
    ["mineral", "feedstock_t", "recovery_rate", "unit_cost"],
    ["li", "10", "0.9", "5"],
]


# --------------------------------------------------------------------------- helpers


def table_path(run: Path, table: str) -> Path:
    return run.parent / "tiny" / f"{table}.csv"


def read_table(run: Path, table: str) -> list[list[str]]:
    with open(table_path(run, table), newline="", encoding="utf-8") as handle:
        return [row for row in csv.reader(handle) if row]


def write_table(run: Path, table: str, rows: list[list[str]]) -> None:
    with open(table_path(run, table), "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(run: Path, table: str, line: int, column: str, value: str) -> None:
    """Set the cell on CSV line ``line`` (header = 1) in ``column``, adding the column if absent."""
    rows = read_table(run, table)
    if column not in rows[0]:
        for row in rows:
            row.append(column if row is rows[0] else "")
    rows[line - 1][rows[0].index(column)] = value
    write_table(run, table, rows)


def add_row(run: Path, table: str, **cells: str) -> int:
    """Append a row (unnamed columns blank); return its CSV line number."""
    rows = read_table(run, table)
    rows.append([cells.pop(name, "") for name in rows[0]])
    assert not cells, f"no such columns in {table}: {list(cells)}"
    write_table(run, table, rows)
    return len(rows)


def rename_column(run: Path, table: str, old: str, new: str) -> None:
    rows = read_table(run, table)
    rows[0][rows[0].index(old)] = new
    write_table(run, table, rows)


def drop_column(run: Path, table: str, column: str) -> None:
    rows = read_table(run, table)
    index = rows[0].index(column)
    write_table(run, table, [row[:index] + row[index + 1:] for row in rows])


def add_projects(run: Path) -> None:
    """Give the tiny dataset one project with an offtake, and a recycling row."""
    write_table(run, "projects", PROJECTS)
    write_table(run, "project_offtake", PROJECT_OFFTAKE)
    write_table(run, "recycling", RECYCLING)


def run_text(run: Path, text: str) -> None:
    """Replace the run file (lines as written: line 1 is the first line of ``text``)."""
    run.write_text(text.lstrip("\n"), encoding="utf-8")


def bad(capsys, *argv) -> list[str]:
    """Run the CLI on bad input: exit 2, no traceback, every stderr line an error; return the lines."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert code == 2, f"exit {code}\nstdout:\n{captured.out}\nstderr:\n{captured.err}"
    lines = captured.err.splitlines()
    assert lines, "no error printed"
    assert all(line.startswith("error: ") for line in lines), captured.err
    return lines


def invalid(capsys, run: Path) -> list[str]:
    return bad(capsys, "validate", run)


def good(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 0, f"exit {code}\nstderr:\n{captured.err}"
    assert captured.err == ""
    return captured.out


def reported(lines: list[str], where: str, row: int | str, column: str, *words: str) -> str:
    """The line reporting ``where:row:column`` and containing every word; fail if none."""
    prefix = f"error: {where}:{row}:{column}: "
    found = [line for line in lines if line.startswith(prefix) and all(word in line for word in words)]
    assert found, f"expected {prefix}... {' '.join(words)}; got:\n" + "\n".join(lines)
    return found[0]


# --------------------------------------------------------------------------- the fixture is valid


def test_tiny_fixture_is_valid(tmp_path, capsys):
    run = tiny(tmp_path)
    assert "valid" in good(capsys, "validate", run)


# --------------------------------------------------------------------------- tables and columns


@pytest.mark.parametrize("table", ["minerals", "targets", "countries", "supply"])
def test_missing_required_table(tmp_path, capsys, table):
    run = tiny(tmp_path)
    table_path(run, table).unlink()
    lines = invalid(capsys, run)
    reported(lines, f"{table}.csv", "-", "-", "required table is missing")
    assert len(lines) == 1, "references into a missing table are not reported again"


def test_missing_optional_tables_are_fine(tmp_path, capsys):
    run = tiny(tmp_path)  # the fixture has no projects, offtake, recycling or plants
    good(capsys, "validate", run)


def test_missing_required_column(tmp_path, capsys):
    run = tiny(tmp_path)
    drop_column(run, "supply", "max_t")
    reported(invalid(capsys, run), "supply.csv", 1, "max_t", "required column is missing")


def test_missing_optional_column_takes_default(tmp_path, capsys):
    run = tiny(tmp_path)
    drop_column(run, "minerals", "existing_stock_t")
    good(capsys, "validate", run)


def test_unknown_column_suggests_the_right_name(tmp_path, capsys):
    run = tiny(tmp_path)
    rename_column(run, "supply", "max_t", "max_T")
    lines = invalid(capsys, run)
    reported(lines, "supply.csv", 1, "max_T", "unknown column", "did you mean 'max_t'")
    reported(lines, "supply.csv", 1, "max_t", "required column is missing")


def test_column_twice(tmp_path, capsys):
    run = tiny(tmp_path)
    rows = read_table(run, "supply")
    write_table(run, "supply", [row + [row[5]] for row in rows])  # max_t again
    reported(invalid(capsys, run), "supply.csv", 1, "max_t", "column appears twice")


def test_more_cells_than_header(tmp_path, capsys):
    run = tiny(tmp_path)
    rows = read_table(run, "supply")
    rows[2].append("oops")
    write_table(run, "supply", rows)
    reported(invalid(capsys, run), "supply.csv", 3, "-", "more cells than header", "(oops)")


def test_required_cell_empty(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "supply", 4, "unit_cost", "")
    reported(invalid(capsys, run), "supply.csv", 4, "unit_cost", "is empty")


def test_csv_not_utf8(tmp_path, capsys):
    run = tiny(tmp_path)
    table_path(run, "countries").write_bytes("country,name,home\nJPN,Japon\xe9,true\n".encode("latin-1"))
    reported(invalid(capsys, run), "countries.csv", "-", "-", "not UTF-8")


# --------------------------------------------------------------------------- references and keys


@pytest.mark.parametrize(
    "table, line, column, value, noun",
    [
        ("supply", 3, "mineral", "lithium", "unknown mineral"),
        ("targets", 2, "mineral", "Li", "unknown mineral"),
        ("supply", 2, "mine_country", "XXX", "unknown country"),
        ("supply", 5, "refine_country", "JAP", "unknown country"),
        ("projects", 2, "mine_country", "ZZZ", "unknown country"),
        ("project_offtake", 2, "project", "lynass", "unknown project"),
        ("project_offtake", 2, "mineral", "nickel", "unknown mineral"),
        ("recycling", 2, "mineral", "cobalt", "unknown mineral"),
    ],
)
def test_unknown_reference(tmp_path, capsys, table, line, column, value, noun):
    run = tiny(tmp_path)
    add_projects(run)
    set_cell(run, table, line, column, value)
    lines = invalid(capsys, run)
    reported(lines, f"{table}.csv", line, column, noun, f"({value})")
    assert len(lines) == 1


def test_unknown_reference_suggests_a_close_id(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "supply", 2, "mine_country", "CHM")
    reported(invalid(capsys, run), "supply.csv", 2, "mine_country", "did you mean 'CHN'")


@pytest.mark.parametrize(
    "table, line, column, value",
    [("supply", 3, "option", "li-CHN-CHN"), ("countries", 4, "country", "JPN"), ("minerals", None, "mineral", "li")],
)
def test_duplicate_id(tmp_path, capsys, table, line, column, value):
    run = tiny(tmp_path)
    if line is None:  # a second row with the same id
        line = add_row(run, table, **dict(zip(read_table(run, table)[0], read_table(run, table)[1])))
    else:
        set_cell(run, table, line, column, value)
    lines = invalid(capsys, run)
    reported(lines, f"{table}.csv", line, column, "duplicate", "first on row 2", f"({value})")


def test_duplicate_composite_key_in_targets(tmp_path, capsys):
    run = tiny(tmp_path)
    line = add_row(run, "targets", mineral="li", year="2030", target_t="50")
    reported(invalid(capsys, run), "targets.csv", line, "year", "duplicate mineral/year", "first on row 2", "(li/2030)")


def test_same_mineral_in_two_years_is_not_a_duplicate(tmp_path, capsys):
    run = tiny(tmp_path)
    add_row(run, "targets", mineral="li", year="2035", target_t="150")
    good(capsys, "validate", run)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "value, words",
    [
        ("lots", "must be a number"),
        ("12 t", "must be a number"),
        ("-5", "must not be negative"),
        ("-0.001", "must not be negative"),
        ("nan", "NaN"),
        ("NaN", "NaN"),
        ("inf", "must be finite"),
        ("-inf", "must be finite"),
        ("Infinity", "must be finite"),
        ("1e999", "must be finite"),
    ],
)
def test_bad_quantity(tmp_path, capsys, value, words):
    run = tiny(tmp_path)
    set_cell(run, "supply", 3, "max_t", value)
    lines = invalid(capsys, run)
    reported(lines, "supply.csv", 3, "max_t", words, f"({value})")
    assert len(lines) == 1


@pytest.mark.parametrize(
    "table, line, column, value",
    [
        ("minerals", 2, "holding_cost_rate", "1.5"),
        ("minerals", 2, "holding_cost_rate", "-0.1"),
        ("recycling", 2, "recovery_rate", "1.01"),
        ("recycling", 2, "recovery_rate", "90"),
        ("project_offtake", 2, "min_take", "2"),
    ],
)
def test_rate_outside_unit_interval(tmp_path, capsys, table, line, column, value):
    run = tiny(tmp_path)
    add_projects(run)
    set_cell(run, table, line, column, value)
    reported(invalid(capsys, run), f"{table}.csv", line, column, "must", f"({value})")


@pytest.mark.parametrize("value", ["0", "1", "0.0", "1.0"])
def test_rate_bounds_are_allowed(tmp_path, capsys, value):
    run = tiny(tmp_path)
    add_projects(run)
    set_cell(run, "recycling", 2, "recovery_rate", value)
    good(capsys, "validate", run)


@pytest.mark.parametrize("value", ["2030.5", "twenty", "30"])
def test_bad_year(tmp_path, capsys, value):
    run = tiny(tmp_path)
    set_cell(run, "targets", 2, "year", value)
    reported(invalid(capsys, run), "targets.csv", 2, "year", "must be a year", f"({value})")


def test_min_t_above_max_t(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "supply", 5, "min_t", "50")  # max_t is 30 on that line
    reported(invalid(capsys, run), "supply.csv", 5, "min_t", "larger than max_t", "(50)")


def test_life_years_below_one(tmp_path, capsys):
    run = tiny(tmp_path)
    add_projects(run)
    set_cell(run, "projects", 2, "life_years", "0")
    reported(invalid(capsys, run), "projects.csv", 2, "life_years", "at least 1 year")


# --------------------------------------------------------------------------- booleans and home


@pytest.mark.parametrize("value", ["maybe", "Y", "2", "t"])
def test_bad_boolean(tmp_path, capsys, value):
    run = tiny(tmp_path)
    set_cell(run, "countries", 4, "ally", value)
    reported(invalid(capsys, run), "countries.csv", 4, "ally", "true/false", f"({value})")


def test_booleans_in_any_case(tmp_path, capsys):
    run = tiny(tmp_path)
    for line, value in [(2, "TRUE"), (3, "No"), (4, "0"), (5, "FALSE"), (6, "no")]:
        set_cell(run, "countries", line, "home", value)
    for line, value in [(2, "Yes"), (3, "1"), (4, "False")]:
        set_cell(run, "countries", line, "ally", value)
    good(capsys, "validate", run)


def test_no_home_country(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "countries", 2, "home", "false")
    reported(invalid(capsys, run), "countries.csv", "-", "home", "no country is marked home")


def test_two_home_countries(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "countries", 3, "home", "true")
    reported(invalid(capsys, run), "countries.csv", 3, "home", "second home country", "first on row 2", "(AUS)")


def test_bad_home_cell_is_not_also_reported_as_no_home(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "countries", 2, "home", "ja")
    lines = invalid(capsys, run)
    reported(lines, "countries.csv", 2, "home", "true/false")
    assert len(lines) == 1


def test_na_is_namibia_not_missing(tmp_path, capsys):
    run = tiny(tmp_path)
    add_row(run, "supply", option="li-NA-JPN", mineral="li", mine_country="NA", refine_country="JPN",
            unit_cost="1", max_t="30")
    good(capsys, "validate", run)
    out = tmp_path / "out"
    good(capsys, "solve", run, "--out", out)
    with open(out / "flows.csv", newline="", encoding="utf-8") as handle:
        flows = list(csv.DictReader(handle))
    namibia = [flow for flow in flows if flow["source_id"] == "li-NA-JPN"]
    assert namibia and namibia[0]["mine_country"] == "NA"
    assert float(namibia[0]["tonnes"]) == pytest.approx(30)


# --------------------------------------------------------------------------- the run against the data


def test_run_year_absent_from_targets(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, 'name = "tiny"\ndata = "tiny"\nyear = 2031\n')
    reported(invalid(capsys, run), "targets.csv", "-", "year", "no targets for the run's year 2031", "2030")


def test_mineral_without_target_in_run_year(tmp_path, capsys):
    run = tiny(tmp_path)
    add_row(run, "minerals", mineral="ni", unit="t Ni", reference_price="20", holding_cost_rate="0.1")
    add_row(run, "targets", mineral="ni", year="2035", target_t="10")
    lines = invalid(capsys, run)
    reported(lines, "targets.csv", "-", "year", "mineral ni has no target for 2030")
    assert len(lines) == 1


def test_run_policy_names_unknown_mineral(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, 'name = "tiny"\ndata = "tiny"\nyear = 2030\n\n[policy]\nmin_recycling_share = { nickel = 0.1 }\n')
    reported(invalid(capsys, run), "tiny.toml", 6, "policy.min_recycling_share", "unknown mineral", "(nickel)")


# --------------------------------------------------------------------------- run files

BASE_RUN = """
name = "tiny"
data = "tiny"
year = 2030

[policy]
country_cap = 0.65
stockpile_days = 0

[solver]
threads = 1
"""


def test_unknown_top_level_key(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace('year = 2030\n', 'year = 2030\nyaer = 2030\n'))
    reported(invalid(capsys, run), "tiny.toml", 4, "yaer", "unknown key", "did you mean 'year'")


@pytest.mark.parametrize(
    "line_text, line, column, hint",
    [
        ("country_capp = 0.5", 8, "policy.country_capp", "did you mean 'country_cap'"),
        ("colour = 'red'", 8, "policy.colour", "expected one of"),
    ],
)
def test_unknown_policy_key(tmp_path, capsys, line_text, line, column, hint):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace("stockpile_days = 0\n", f"stockpile_days = 0\n{line_text}\n"))
    reported(invalid(capsys, run), "tiny.toml", line, column, "unknown key", hint)


def test_unknown_solver_key(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace("threads = 1\n", "threads = 1\ntime_limt = 5\n"))
    reported(invalid(capsys, run), "tiny.toml", 11, "solver.time_limt", "unknown key", "did you mean 'time_limit'")


@pytest.mark.parametrize(
    "old, new, line, column, words",
    [
        ("country_cap = 0.65", 'country_cap = "high"', 6, "policy.country_cap", "in [0, 1]"),
        ("country_cap = 0.65", "country_cap = 65", 6, "policy.country_cap", "in [0, 1]"),
        ("country_cap = 0.65", 'cap_stages = ["mid"]', 6, "policy.cap_stages", '"mine", "refine"'),
        ("country_cap = 0.65", 'cap_stages = "mine"', 6, "policy.cap_stages", '"mine", "refine"'),
        ("stockpile_days = 0", "stockpile_days = -5", 7, "policy.stockpile_days", ">= 0"),
        ("stockpile_days = 0", "stockpile_days = true", 7, "policy.stockpile_days", ">= 0"),
        ("stockpile_days = 0", "ally_min_share = { mine = 2 }", 7, "policy.ally_min_share", "in [0, 1]"),
        ("stockpile_days = 0", "ally_min_share = { midstream = 0.2 }", 7, "policy.ally_min_share",
         "mine and/or refine"),
        ("stockpile_days = 0", "min_recycling_share = 0.05", 7, "policy.min_recycling_share", "must be a table"),
        ("threads = 1", "threads = 1.5", 10, "solver.threads", "whole number"),
        ("threads = 1", "threads = 0", 10, "solver.threads", "whole number"),
        ("threads = 1", "time_limit = nan", 10, "solver.time_limit", ">= 0"),
        ("year = 2030", 'year = "2030"', 3, "year", "must be a year"),
        ("year = 2030", "year = 2030.0", 3, "year", "must be a year"),
        ('data = "tiny"', "data = 7", 2, "data", "non-empty string"),
    ],
)
def test_run_value_of_wrong_type(tmp_path, capsys, old, new, line, column, words):
    run = tiny(tmp_path)
    assert old in BASE_RUN
    run_text(run, BASE_RUN.replace(old, new))
    reported(invalid(capsys, run), "tiny.toml", line, column, words)


def test_run_missing_required_key(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace("year = 2030\n", ""))
    reported(invalid(capsys, run), "tiny.toml", "-", "year", "required key is missing")


def test_run_name_unusable_as_folder(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace('name = "tiny"', 'name = "../evil"'))
    reported(invalid(capsys, run), "tiny.toml", 1, "name", "letters, digits")


def test_policy_not_a_table(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, 'name = "tiny"\ndata = "tiny"\nyear = 2030\npolicy = 0.65\n')
    reported(invalid(capsys, run), "tiny.toml", 4, "policy", "must be a table")


def test_several_run_file_problems_reported_together(tmp_path, capsys):
    run = tiny(tmp_path)
    text = BASE_RUN.replace("country_cap = 0.65", 'country_cap = "high"').replace("threads = 1", "threads = 1.5")
    run_text(run, text.replace("year = 2030\n", "year = 2030\ncolour = 1\n"))
    lines = invalid(capsys, run)
    reported(lines, "tiny.toml", 4, "colour", "unknown key")
    reported(lines, "tiny.toml", 7, "policy.country_cap", "in [0, 1]")
    reported(lines, "tiny.toml", 11, "solver.threads", "whole number")
    assert len(lines) == 3


@pytest.mark.parametrize(
    "text, line",
    [
        ('name = "tiny"\ndata = \nyear = 2030\n', 2),
        ('name = "tiny"\ndata = "tiny"\nyear = 2030\n[policy\ncountry_cap = 0.5\n', 4),
        ('name = "tiny"\nname = "again"\ndata = "tiny"\nyear = 2030\n', 2),
    ],
)
def test_invalid_toml(tmp_path, capsys, text, line):
    run = tiny(tmp_path)
    run_text(run, text)
    reported(invalid(capsys, run), "tiny.toml", line, "-", "not valid TOML")


def test_run_file_not_utf8(tmp_path, capsys):
    run = tiny(tmp_path)
    run.write_bytes(b'name = "tiny"\ndata = "tiny"\ndescription = "caf\xe9"\nyear = 2030\n')
    reported(invalid(capsys, run), "tiny.toml", 3, "-", "not UTF-8")


def test_run_file_with_byte_order_mark_is_read(tmp_path, capsys):
    run = tiny(tmp_path)
    run.write_bytes(b"\xef\xbb\xbf" + BASE_RUN.lstrip().encode())
    good(capsys, "validate", run)


def test_run_file_not_found(tmp_path, capsys):
    lines = bad(capsys, "validate", tmp_path / "nope.toml")
    assert "run file not found" in lines[0]


def test_dataset_folder_not_found(tmp_path, capsys):
    run = tiny(tmp_path)
    run_text(run, BASE_RUN.replace('data = "tiny"', 'data = "tinny"'))
    assert "dataset not found" in invalid(capsys, run)[0]


# --------------------------------------------------------------------------- everything at once


def test_problems_in_different_files_reported_together(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "minerals", 2, "holding_cost_rate", "2")  # a rate over 1
    set_cell(run, "supply", 3, "mine_country", "XXX")  # a reference
    set_cell(run, "supply", 4, "max_t", "-1")  # a negative
    set_cell(run, "countries", 4, "ally", "maybe")  # a boolean
    set_cell(run, "targets", 2, "target_t", "inf")  # not finite
    add_row(run, "supply", option="li-CHN-CHN", mineral="li", mine_country="CHN", refine_country="CHN",
            unit_cost="1", max_t="1")  # a duplicate id
    lines = invalid(capsys, run)
    reported(lines, "minerals.csv", 2, "holding_cost_rate", "[0, 1]", "(2)")
    reported(lines, "supply.csv", 3, "mine_country", "unknown country", "(XXX)")
    reported(lines, "supply.csv", 4, "max_t", "must not be negative", "(-1)")
    reported(lines, "countries.csv", 4, "ally", "true/false", "(maybe)")
    reported(lines, "targets.csv", 2, "target_t", "must be finite", "(inf)")
    reported(lines, "supply.csv", 6, "option", "duplicate option", "first on row 2")
    assert len(lines) == 6, "\n".join(lines)


# --------------------------------------------------------------------------- the output folder


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda run: set_cell(run, "supply", 3, "max_t", "-5"),
        lambda run: table_path(run, "targets").unlink(),
        lambda run: run_text(run, BASE_RUN.replace("threads = 1", "threads = 1.5")),
        lambda run: run_text(run, BASE_RUN.replace("year = 2030", "year = 2031")),
    ],
    ids=["bad-cell", "missing-table", "bad-run-value", "year-without-targets"],
)
@pytest.mark.parametrize("exists", [False, True], ids=["out-absent", "out-empty"])
def test_solve_with_bad_input_writes_nothing(tmp_path, capsys, corrupt, exists):
    run = tiny(tmp_path)
    corrupt(run)
    out = tmp_path / "out"
    if exists:
        out.mkdir()
    bad(capsys, "solve", run, "--out", out)
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "out" / "tiny").exists()  # nor the default runs/out/<name>/


def test_out_equal_to_dataset_folder_refused(tmp_path, capsys):
    run = tiny(tmp_path)
    before = sorted(p.name for p in (tmp_path / "tiny").iterdir())
    lines = bad(capsys, "solve", run, "--out", tmp_path / "tiny")
    assert "overwrite an input" in lines[0]
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == before


def test_solve_with_bad_input_and_default_out_writes_nothing(tmp_path, capsys):
    run = tiny(tmp_path)
    set_cell(run, "supply", 3, "max_t", "-5")
    bad(capsys, "solve", run)
    assert not (tmp_path / "out").exists()  # runs/out/<name>/ beside the run file


def test_out_that_is_a_file_refused(tmp_path, capsys):
    run = tiny(tmp_path)
    (tmp_path / "out").write_text("keep me")
    lines = bad(capsys, "solve", run, "--out", tmp_path / "out")
    assert "must be a folder" in lines[0]
    assert (tmp_path / "out").read_text() == "keep me"


def test_out_equal_to_workbook_folder_with_clashing_name_refused(tmp_path, capsys):
    run, book = workbook(tmp_path, name="results.xlsx")
    lines = bad(capsys, "solve", run, "--out", tmp_path)
    assert "overwrite an input" in lines[0]


def test_usage_error_is_one_line(capsys):
    lines = bad(capsys, "solve")
    assert len(lines) == 1


# --------------------------------------------------------------------------- Excel workbooks


def workbook(tmp_path: Path, edit=None, name: str = "tiny.xlsx") -> tuple[Path, Path]:
    """The tiny dataset as one workbook (numbers as numbers), and a run file pointing at it.

    ``edit(book)`` may change the openpyxl workbook before it is saved.
    """
    import openpyxl

    run = tiny(tmp_path)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for file in sorted((tmp_path / "tiny").glob("*.csv")):
        sheet = book.create_sheet(file.stem)
        for row in read_table(run, file.stem):
            sheet.append([_number_or_text(cell) for cell in row])
    if edit:
        edit(book)
    path = tmp_path / name
    book.save(path)
    run_text(run, BASE_RUN.replace('data = "tiny"', f'data = "{name}"'))
    return run, path


def _number_or_text(cell: str):
    try:
        return float(cell) if cell.lower() not in ("nan", "inf", "-inf", "infinity") else cell
    except ValueError:
        return cell


def test_valid_workbook(tmp_path, capsys):
    run, _ = workbook(tmp_path)
    assert "valid" in good(capsys, "validate", run)


def test_workbook_with_leading_blank_rows_and_gaps(tmp_path, capsys):
    def edit(book):
        book["supply"].insert_rows(1, 2)  # header on Excel row 3
        book["supply"].insert_rows(5)  # a blank row between data rows
        book["supply"]["F7"] = -4  # li-AUS-JPN's max_t, now on Excel row 7

    run, _ = workbook(tmp_path, edit)
    lines = invalid(capsys, run)
    reported(lines, "supply", 7, "max_t", "must not be negative", "(-4)")
    assert len(lines) == 1


def test_workbook_formula_refused(tmp_path, capsys):
    def edit(book):
        book["supply"]["F3"] = "=50*2"  # max_t of li-AUS-CHN

    run, _ = workbook(tmp_path, edit)
    reported(invalid(capsys, run), "supply", 3, "max_t", "formula", "(=50*2)")


def test_workbook_error_names_sheet_and_excel_row(tmp_path, capsys):
    def edit(book):
        book["supply"]["D4"] = "XXX"  # refine_country of li-AUS-JPN
        book["minerals"]["D2"] = 1.5  # holding_cost_rate

    run, _ = workbook(tmp_path, edit)
    lines = invalid(capsys, run)
    reported(lines, "supply", 4, "refine_country", "unknown country", "(XXX)")
    reported(lines, "minerals", 2, "holding_cost_rate", "[0, 1]", "(1.5)")
    assert len(lines) == 2


def test_workbook_blank_first_cell(tmp_path, capsys):
    def edit(book):
        book["supply"]["A3"] = None  # option of li-AUS-CHN

    run, _ = workbook(tmp_path, edit)
    reported(invalid(capsys, run), "supply", 3, "option", "is empty")


def test_workbook_excel_error_value(tmp_path, capsys):
    def edit(book):
        book["supply"]["E2"] = "#DIV/0!"

    run, _ = workbook(tmp_path, edit)
    reported(invalid(capsys, run), "supply", 2, "unit_cost", "must be a number", "(#DIV/0!)")


def test_workbook_na_stays_namibia(tmp_path, capsys):
    def edit(book):
        book["supply"].append(["li-NA-JPN", "li", "NA", "JPN", 1, 30])

    run, _ = workbook(tmp_path, edit)
    good(capsys, "validate", run)


def test_workbook_missing_sheet(tmp_path, capsys):
    run, _ = workbook(tmp_path, lambda book: book.remove(book["targets"]))
    reported(invalid(capsys, run), "targets", "-", "-", "required table is missing", "no such sheet")


def test_not_a_zip_refused(tmp_path, capsys):
    run, path = workbook(tmp_path)
    path.write_text("mineral,unit\nli,t\n")
    reported(invalid(capsys, run), "tiny.xlsx", "-", "-", "not a zip archive")


def test_zip_that_is_not_a_workbook_refused(tmp_path, capsys):
    run, path = workbook(tmp_path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    reported(invalid(capsys, run), "tiny.xlsx", "-", "-", "cannot open workbook")


def test_workbook_over_size_limit_refused(tmp_path, capsys, monkeypatch):
    import critmin.inputs.reading as reading

    run, path = workbook(tmp_path)
    monkeypatch.setattr(reading, "MAX_WORKBOOK_BYTES", path.stat().st_size - 1)
    reported(invalid(capsys, run), "tiny.xlsx", "-", "-", "workbook larger than")


def test_zip_bomb_ratio_refused(tmp_path, capsys):
    run, path = workbook(tmp_path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(5 * 1024**2))  # 5 MiB of zeros: about 1000:1
    reported(invalid(capsys, run), "tiny.xlsx", "-", "-", "compression ratio", "zip bomb")


def test_zip_bomb_size_refused(tmp_path, capsys, monkeypatch):
    import critmin.inputs.reading as reading

    run, path = workbook(tmp_path)
    with zipfile.ZipFile(path) as archive:
        total = sum(member.file_size for member in archive.infolist())
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED_BYTES", total - 1)
    reported(invalid(capsys, run), "tiny.xlsx", "-", "-", "uncompressed size", "zip bomb")


@pytest.mark.parametrize("name", ["tiny.xls", "tiny.csv", "tiny.ods"])
def test_dataset_file_of_wrong_kind_refused(tmp_path, capsys, name):
    run = tiny(tmp_path)
    shutil.copy(table_path(run, "supply"), tmp_path / name)
    run_text(run, BASE_RUN.replace('data = "tiny"', f'data = "{name}"'))
    reported(invalid(capsys, run), name, "-", "-", "folder of CSV files or an .xlsx", f"({Path(name).suffix})")


def test_solve_with_bad_workbook_writes_nothing(tmp_path, capsys):
    run, _ = workbook(tmp_path, lambda book: book["supply"].__setitem__("F3", "=1"))
    out = tmp_path / "out"
    bad(capsys, "solve", run, "--out", out)
    assert not out.exists()
