"""Hostile and damaged input (issue 12, input side): refused where it is, never a traceback.

Every case corrupts the tiny fixture (tests/fixtures/tiny, as in
test_validation.py) in one of the ways an outside attack found, runs
``critmin solve`` in-process and asserts: exit 2, a message line naming the
file or sheet, the row and the column, no traceback, no raw control
character on the terminal, and nothing written anywhere (not ``--out``, not
the default ``runs/out/<name>/``, not beside the run file).

Classes (the ``CLASS`` marks below; ``pytest -k``):
- magnitudes: numbers the solver cannot resolve (README "Input limits");
- case: ids that differ only in case or Unicode form;
- control: control characters and escape sequences in any text;
- workbook: damaged workbook internals (cut XML, bad number cells, bad references, formulas);
- at_once: run-file and data problems reported together;
- quote: CSV quotes reported where they open;
- name: run names that would write outside runs/out/;
- roundtrip: ids that look like formulas survive flows.csv exactly (these solve: exit 0).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest

from critmin.cli import main
from test_validation import (
    BASE_RUN,
    add_projects,
    read_table,
    reported,
    run_text,
    set_cell,
    table_path,
    workbook,
    write_table,
)

pytestmark = pytest.mark.slow  # hundreds of hostile inputs, each validated through the CLI

# --------------------------------------------------------------------------- helpers

PLANTS = [["plant", "capacity_t", "capex", "life_years", "fixed_cost"], ["plant-a", "100", "1000", "15", "10"]]
DISRUPTIONS = [["scenario", "mineral", "stage", "country", "loss_share", "duration_days", "probability"],
               ["china-ban", "li", "refine", "CHN", "0.5", "90", "0.1"]]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _unprintable(text: str) -> list[str]:
    """Characters a terminal could act on (line feeds between messages excepted)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


def refused(capsys, tmp_path: Path, run: Path, where: str, row, column: str, *words: str, argv=("solve",)):
    """Run the CLI on bad input; assert exit 2, the located line, no traceback, nothing written."""
    before = _files(tmp_path)
    out = tmp_path / "attack-out"
    extra = ["--out", str(out)] if argv[0] in ("solve", "sweep") else []
    code = main([*argv[:1], str(run), *extra, *argv[1:]])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert code == 2, f"exit {code}\nstdout:\n{captured.out}\nstderr:\n{captured.err}"
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), captured.err
    assert not _unprintable(captured.err + captured.out), repr(captured.err)
    line = reported(lines, where, row, column, *words)
    assert not out.exists(), "an output folder was written"
    assert _files(tmp_path) == before, "files were written"
    return lines, line


def passes_then_solves(capsys, run: Path, out: Path) -> None:
    code = main(["solve", str(run), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err


def set_run(run: Path, old: str, new: str) -> None:
    assert old in BASE_RUN, old
    run_text(run, BASE_RUN.replace(old, new))


def with_tables(run: Path) -> None:
    """Projects, offtake, recycling, plants and a disruption beside the tiny dataset's tables."""
    add_projects(run)
    write_table(run, "recycling_plants", PLANTS)
    write_table(run, "disruptions", DISRUPTIONS)


# =========================================================================== magnitudes
# Limits (model/inputs/schema.py LIMITS): tonnes 0 or 0.01..1e10 and spanning at most 1e8;
# currency per t 0 or 0.01..1e12; currency 0 or 0.01..1e15; days 0 or 0.01..3650;
# shares 0 or 1e-6..1; years up to 1000; multiples 1e-6..1e6.

CELL_MAGNITUDES = [
    # (table, line, column, value)
    ("targets", 2, "target_t", "1e-6"),
    ("targets", 2, "target_t", "1e-7"),
    ("targets", 2, "target_t", "0.005"),
    ("targets", 2, "target_t", "2e10"),
    ("targets", 2, "target_t", "1e15"),
    ("targets", 2, "target_t", "1e308"),
    ("supply", 3, "max_t", "1e-8"),
    ("supply", 3, "max_t", "1e15"),
    ("supply", 3, "max_t", "1e20"),
    ("supply", 3, "max_t", "1e308"),
    ("supply", 4, "min_t", "1e-6"),
    ("minerals", 2, "existing_stock_t", "1e-5"),
    ("minerals", 2, "existing_stock_t", "1e12"),
    ("minerals", 2, "max_stock_build_t", "1e30"),
    ("project_offtake", 2, "offtake_t", "1e-4"),
    ("project_offtake", 2, "offtake_t", "1e11"),
    ("recycling", 2, "feedstock_t", "1e-9"),
    ("recycling", 2, "feedstock_t", "1e14"),
    ("recycling_plants", 2, "capacity_t", "1e16"),
    ("supply", 2, "unit_cost", "1e-9"),
    ("supply", 2, "unit_cost", "1e-3"),
    ("supply", 2, "unit_cost", "1e13"),
    ("supply", 2, "unit_cost", "1e20"),
    ("supply", 2, "unit_cost", "1e300"),
    ("minerals", 2, "reference_price", "1e-5"),
    ("minerals", 2, "reference_price", "1e20"),
    ("minerals", 2, "shortfall_penalty", "1e15"),
    ("project_offtake", 2, "unit_cost", "1e25"),
    ("recycling", 2, "unit_cost", "1e-8"),
    ("projects", 2, "capex", "1e16"),
    ("projects", 2, "capex", "1e-5"),
    ("supply", 2, "fixed_cost", "1e20"),
    ("supply", 2, "fixed_cost", "0.001"),
    ("recycling_plants", 2, "capex", "1e18"),
    ("recycling_plants", 2, "fixed_cost", "1e16"),
    ("projects", 2, "life_years", "1e6"),
    ("minerals", 2, "holding_cost_rate", "1e-9"),
    ("recycling", 2, "recovery_rate", "1e-7"),
    ("project_offtake", 2, "min_take", "1e-12"),
    ("disruptions", 2, "loss_share", "1e-8"),
    ("disruptions", 2, "probability", "1e-10"),
    ("minerals", 2, "surge_price_factor", "1e9"),
    ("minerals", 2, "surge_price_factor", "1e-8"),
]


@pytest.mark.parametrize("table, line, column, value", CELL_MAGNITUDES,
                         ids=[f"{t}.{c}={v}" for t, _, c, v in CELL_MAGNITUDES])
def test_magnitudes_cell_out_of_range(tmp_path, tiny_run, capsys, table, line, column, value):
    run = tiny_run
    with_tables(run)
    set_cell(run, table, line, column, value)
    lines, _ = refused(capsys, tmp_path, run, f"{table}.csv", line, column, "must be 0 or from",
                       "README: Input limits", f"({value})")
    assert len(lines) == 1, "\n".join(lines)


SPANS = [
    # (edits, the cell reported, its value)
    ([("targets", 2, "target_t", "0.01"), ("supply", 2, "max_t", "1e7")], ("supply", 2, "max_t"), "1e+07"),
    ([("supply", 4, "min_t", "0.5"), ("supply", 3, "max_t", "1e9")], ("supply", 3, "max_t"), "1e+09"),
    ([("minerals", 2, "existing_stock_t", "0.02"), ("targets", 2, "target_t", "5e6")], ("targets", 2, "target_t"),
     "5e+06"),
    ([("supply", 2, "max_t", "9e9")] + [("supply", n, "max_t", "50") for n in (3, 4, 5)], ("supply", 2, "max_t"),
     "9e+09"),
]


@pytest.mark.parametrize("edits, cell, shown", SPANS, ids=[f"span-{i}" for i in range(len(SPANS))])
def test_magnitudes_tonnage_span(tmp_path, tiny_run, capsys, edits, cell, shown):
    run = tiny_run
    for table, line, column, value in edits:
        set_cell(run, table, line, column, value)
    refused(capsys, tmp_path, run, f"{cell[0]}.csv", cell[1], cell[2], "may span a factor of at most 1e+08",
            f"({shown})")


@pytest.mark.parametrize("scale", [1e-8, 1e-5, 1e11, 1e14])
def test_magnitudes_every_tonnage_scaled(tmp_path, tiny_run, capsys, scale):
    run = tiny_run
    for table, column in (("targets", "target_t"), ("supply", "max_t")):
        rows = read_table(run, table)
        index = rows[0].index(column)
        write_table(run, table, [rows[0]] + [row[:index] + [repr(float(row[index]) * scale)] + row[index + 1:]
                                             for row in rows[1:]])
    refused(capsys, tmp_path, run, "targets.csv", 2, "target_t", "must be 0 or from 0.01 to 1e+10 t")


RUN_MAGNITUDES = [
    ("stockpile_days = 0", "stockpile_days = 1e308", 7, "policy.stockpile_days", "3650 days"),
    ("stockpile_days = 0", "stockpile_days = 1e5", 7, "policy.stockpile_days", "3650 days"),
    ("stockpile_days = 0", "stockpile_days = 3651", 7, "policy.stockpile_days", "3650 days"),
    ("stockpile_days = 0", "stockpile_days = 0.001", 7, "policy.stockpile_days", "from 0.01"),
    ("stockpile_days = 0", "stockpile_min_days = 1e308", 7, "policy.stockpile_min_days", "3650 days"),
    ("stockpile_days = 0", "investment_budget = 1e20", 7, "policy.investment_budget", "1e+15 currency"),
    ("stockpile_days = 0", "investment_budget = 1e-9", 7, "policy.investment_budget", "from 0.01"),
    ("country_cap = 0.65", "country_cap = 1e-9", 6, "policy.country_cap", "from 1e-06 to 1"),
    ("stockpile_days = 0", "min_recycling_share = { li = 1e-9 }", 7, "policy.min_recycling_share", "from 1e-06"),
    ("stockpile_days = 0", "ally_min_share = { mine = 1e-12 }", 7, "policy.ally_min_share", "from 1e-06"),
    ("stockpile_days = 0", "discount_rate = 1e-300", 7, "policy.discount_rate", "from 1e-06"),
    ("threads = 1", "threads = 99999999999999999999", 10, "solver.threads", "at most 1024"),
]


@pytest.mark.parametrize("old, new, line, column, words", RUN_MAGNITUDES, ids=[r[1] for r in RUN_MAGNITUDES])
def test_magnitudes_run_file(tmp_path, tiny_run, capsys, old, new, line, column, words):
    run = tiny_run
    set_run(run, old, new)
    refused(capsys, tmp_path, run, "tiny.toml", line, column, words)


@pytest.mark.parametrize("setting", ["policy.stockpile_days=1e308", "policy.stockpile_days=0:1e308:1e300",
                                     "policy.country_cap=0:1:1e-320", "policy.country_cap_by_mineral.li=1e-9",
                                     "policy.investment_budget=1e30"])
def test_magnitudes_sweep_setting(tmp_path, tiny_run, capsys, setting):
    run = tiny_run
    key = setting.partition("=")[0]
    refused(capsys, tmp_path, run, "--set", "-", key, argv=("sweep", "--set", setting))


def test_magnitudes_workbook_cell(tmp_path, capsys):
    run, _ = workbook(tmp_path, lambda book: book["targets"].__setitem__("C2", 1e-6))
    refused(capsys, tmp_path, run, "targets", 2, "target_t", "must be 0 or from 0.01", "(1e-06)")


def test_magnitudes_limits_leave_the_default_data_alone(capsys):
    """The shipped dataset and every run file keep inside the limits (they are far from the edges)."""
    root = Path(__file__).resolve().parents[1]
    for run in sorted((root / "runs").glob("*.toml")):
        assert main(["validate", str(run)]) == 0, capsys.readouterr().err
    capsys.readouterr()


# =========================================================================== case


def _twin(run: Path, table: str, rows: list[list[str]]) -> None:
    existing = read_table(run, table) if table_path(run, table).exists() else []
    write_table(run, table, existing + rows if existing else rows)


CASE_TWINS = [
    # (table, row cells appended (header order), reported column, spelling, first spelling)
    ("countries", ["chn", "china", "false", "false", "false"], "country", "chn", "CHN"),
    ("countries", ["Chn", "China", "false", "false", "false"], "country", "Chn", "CHN"),
    ("countries", ["ＣＨＮ", "China", "false", "false", "false"], "country", "ＣＨＮ", "CHN"),
    ("countries", ["na", "Namibia", "false", "false", "false"], "country", "na", "NA"),
    ("countries", ["aus", "Australia", "false", "true", "false"], "country", "aus", "AUS"),
    ("minerals", ["LI", "t LCE", "10", "0.1", "1000", "0"], "mineral", "LI", "li"),
    ("minerals", ["Li", "t LCE", "10", "0.1", "1000", "0"], "mineral", "Li", "li"),
    ("supply", ["LI-CHN-CHN", "li", "CHN", "CHN", "10", "100"], "option", "LI-CHN-CHN", "li-CHN-CHN"),
    ("supply", ["li-chn-chn", "li", "CHN", "CHN", "10", "100"], "option", "li-chn-chn", "li-CHN-CHN"),
    ("supply", ["li-aus-jpn", "li", "AUS", "JPN", "10", "100"], "option", "li-aus-jpn", "li-AUS-JPN"),
]


@pytest.mark.parametrize("table, cells, column, spelling, first", CASE_TWINS,
                         ids=[f"{t}-{s}" for t, _, _, s, _ in CASE_TWINS])
def test_case_twin_ids(tmp_path, tiny_run, capsys, table, cells, column, spelling, first):
    run = tiny_run
    line = len(read_table(run, table)) + 1
    _twin(run, table, [cells])
    refused(capsys, tmp_path, run, f"{table}.csv", line, column, "the same id as", f"'{first}'",
            f"({spelling})")


CASE_TABLES = [
    # (table, rows incl. header, reported line, column, spelling)
    ("projects", [["project", "name", "mine_country", "refine_country", "capex", "life_years", "available_from"],
                  ["lynas", "Lynas", "AUS", "AUS", "1000", "20", "2025"],
                  ["LYNAS", "Lynas again", "AUS", "AUS", "900", "20", "2025"]], 3, "project", "LYNAS"),
    ("recycling_plants", [PLANTS[0], PLANTS[1], ["Plant-A", "50", "500", "15", "5"]], 3, "plant", "Plant-A"),
    ("disruptions", [DISRUPTIONS[0], DISRUPTIONS[1], ["China-Ban", "li", "mine", "CHN", "0.5", "90", "0.1"]],
     3, "scenario", "China-Ban"),
    ("recycling_plants", [PLANTS[0] + ["stream"], PLANTS[1] + ["battery"], ["plant-b", "50", "500", "15", "5",
                                                                            "Battery"]], 3, "stream", "Battery"),
    ("battery_chemistries", [["chemistry", "mineral", "per_kwh", "unit"], ["NMC811", "li", "0.1", "kg Li"],
                             ["nmc811", "li", "0.1", "kg Li"]], 3, "chemistry", "nmc811"),
    ("unit_conversions", [["from_basis", "to_basis", "factor"], ["Li", "LCE", "5.323"], ["LI", "LCE", "5.323"]],
     3, "from_basis", "LI"),
]


@pytest.mark.parametrize("table, rows, line, column, spelling", CASE_TABLES,
                         ids=[c[0] + "-" + c[4] for c in CASE_TABLES])
def test_case_twin_ids_in_optional_tables(tmp_path, tiny_run, capsys, table, rows, line, column, spelling):
    run = tiny_run
    if table == "projects":
        write_table(run, "project_offtake",
                    [["project", "mineral", "offtake_t", "unit_cost"], ["lynas", "li", "20", "11"]])
    write_table(run, table, rows)
    refused(capsys, tmp_path, run, f"{table}.csv", line, column, "the same id as", f"({spelling})")


def test_case_twin_in_a_workbook(tmp_path, capsys):
    run, _ = workbook(tmp_path, lambda book: book["countries"].append(["chn", "china", False, False, False]))
    refused(capsys, tmp_path, run, "countries", 7, "country", "the same id as 'CHN'", "(chn)")


def test_case_reference_hint(tmp_path, tiny_run, capsys):
    run = tiny_run
    set_cell(run, "supply", 2, "mine_country", "chn")
    refused(capsys, tmp_path, run, "supply.csv", 2, "mine_country", "unknown country", "did you mean 'CHN'",
            "case-sensitive")


# =========================================================================== control

CONTROLS = {
    "VT": "\x0b", "SOH": "\x01", "NUL": "\x00", "FF": "\x0c", "BS": "\x08", "DEL": "\x7f", "ESC-colour": "\x1b[31m",
    "ESC-title": "\x1b]0;owned\x07", "CSI-C1": "\x9b2J", "NEL": "\x85", "RLO": "\u202e", "LS": "\u2028",
}
CONTROL_CELLS = [("countries", 3, "name"), ("countries", 4, "country"), ("supply", 3, "option"),
                 ("minerals", 2, "unit"), ("supply", 2, "max_t")]


@pytest.mark.parametrize("cell", CONTROL_CELLS, ids=[f"{t}.{c}" for t, _, c in CONTROL_CELLS])
@pytest.mark.parametrize("name", list(CONTROLS))
def test_control_character_in_a_cell(tmp_path, tiny_run, capsys, name, cell):
    table, line, column = cell
    run = tiny_run
    rows = read_table(run, table)
    value = rows[line - 1][rows[0].index(column)]
    set_cell(run, table, line, column, value[:2] + CONTROLS[name] + value[2:])
    _, found = refused(capsys, tmp_path, run, f"{table}.csv", line, column, "control character")
    assert repr(CONTROLS[name][0])[1:-1] in found  # shown escaped


@pytest.mark.parametrize("name", ["VT", "NUL", "ESC-colour", "RLO"])
def test_control_character_at_the_end_of_an_id_is_not_trimmed_away(tmp_path, tiny_run, capsys, name):
    run = tiny_run
    set_cell(run, "countries", 4, "country", "CHN" + CONTROLS[name])
    refused(capsys, tmp_path, run, "countries.csv", 4, "country", "control character")


@pytest.mark.parametrize("text", ["CH\tN", "CH\nN", "\u200bCHN", "CHN\ufeff"], ids=["tab", "newline", "zwsp", "bom"])
def test_invisible_or_line_breaking_character_inside_an_id(tmp_path, tiny_run, capsys, text):
    run = tiny_run
    set_cell(run, "countries", 4, "country", text)
    refused(capsys, tmp_path, run, "countries.csv", 4, "country", "control character")


def test_free_text_keeps_tabs_and_line_breaks(tiny_run, capsys):
    run = tiny_run
    set_cell(run, "countries", 3, "name", "Austra\tlia\nline two")
    assert main(["validate", str(run)]) == 0, capsys.readouterr().err
    capsys.readouterr()


@pytest.mark.parametrize("name", ["ESC-colour", "CSI-C1", "RLO"])
def test_control_character_in_a_header(tmp_path, tiny_run, capsys, name):
    run = tiny_run
    rows = read_table(run, "supply")
    rows[0].append("notes" + CONTROLS[name])
    write_table(run, "supply", [rows[0]] + [row + [""] for row in rows[1:]])
    refused(capsys, tmp_path, run, "supply.csv", 1, "notes" + repr(CONTROLS[name])[1:-1].replace("\\\\", "\\"),
            "unknown column")


@pytest.mark.parametrize("name", ["DEL", "CSI-C1", "NEL", "RLO", "LS"])
def test_control_character_in_a_workbook_cell(tmp_path, capsys, name):
    run, _ = workbook(tmp_path, lambda book: book["countries"].__setitem__("B3", "Aus" + CONTROLS[name]))
    refused(capsys, tmp_path, run, "countries", 3, "name", "control character")


@pytest.mark.parametrize("key, value", [("description", "\\u001b[31mred"), ("description", "\\u0000"),
                                        ("data", "ti\\u0000ny"), ("name", "ti\\u001bny")])
def test_control_character_in_the_run_file(tmp_path, tiny_run, capsys, key, value):
    run = tiny_run
    text = BASE_RUN.replace('year = 2030\n', f'year = 2030\n{key} = "{value}"\n') if key == "description" else \
        BASE_RUN.replace(f'{key} = "tiny"', f'{key} = "{value}"')
    run_text(run, text)
    line = {"description": 4, "data": 2, "name": 1}[key]
    refused(capsys, tmp_path, run, "tiny.toml", line, key, "control character")


# =========================================================================== workbook internals


def _sheet_part(book_path: Path, title: str) -> str:
    import openpyxl

    names = openpyxl.load_workbook(book_path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{names.index(title) + 1}.xml"


def _rewrite(book_path: Path, part: str, change) -> None:
    """Replace one part of the workbook's zip with ``change(text)``."""
    with zipfile.ZipFile(book_path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[part] = change(members[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(book_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _cell_xml(text: str, reference: str) -> str:
    match = re.search(rf'<c r="{reference}"[^>]*?(/>|>.*?</c>)', text)
    assert match, reference
    return match.group(0)


def _replace_cell(reference: str, new: str):
    return lambda text: text.replace(_cell_xml(text, reference), new)


NUMBER_CELLS = ["NaN", "nan", "INF", "-INF", "Infinity", "abc", "1.2.3", "0x10", "1,5"]


@pytest.mark.parametrize("value", NUMBER_CELLS)
def test_workbook_number_cell_that_is_not_a_number(tmp_path, capsys, value):
    run, book = workbook(tmp_path)
    _rewrite(book, _sheet_part(book, "supply"), _replace_cell("F3", f'<c r="F3" t="n"><v>{value}</v></c>'))
    refused(capsys, tmp_path, run, "supply", 3, "max_t", "number cell that does not hold a number", f"({value})")


BAD_REFERENCES = ["A0", "1F", "ZZZZ3", "F99999999", "XFE3", "F7", "", "F-3", "F3.0"]


@pytest.mark.parametrize("reference", BAD_REFERENCES, ids=[r or "empty" for r in BAD_REFERENCES])
def test_workbook_bad_cell_reference(tmp_path, capsys, reference):
    """Located at the cell's place in its row (the sixth cell of row 3: max_t)."""
    run, book = workbook(tmp_path)
    _rewrite(book, _sheet_part(book, "supply"), _replace_cell("F3", f'<c r="{reference}" t="n"><v>100</v></c>'))
    refused(capsys, tmp_path, run, "supply", 3, "max_t", "bad cell reference")


@pytest.mark.parametrize("change, row, column, words", [
    (lambda t: t.replace('<row r="4"', '<row r="abc"'), 4, "-", "bad row number"),
    (lambda t: t.replace('<row r="4"', '<row r="0"'), 4, "-", "bad row number"),
    (lambda t: t.replace('<row r="4"', '<row r="2"').replace('r="A4"', 'r="A2"').replace('r="B4"', 'r="B2"')
     .replace('r="C4"', 'r="C2"').replace('r="D4"', 'r="D2"').replace('r="E4"', 'r="E2"')
     .replace('r="F4"', 'r="F2"'), 2, "-", "out of order"),
    (_replace_cell("B3", '<c r="B3" t="s"><v>9999</v></c>'), 3, "mineral", "shared string does not exist"),
    (_replace_cell("B3", '<c r="B3" t="b"><v>yes</v></c>'), 3, "mineral", "true/false cell"),
    (_replace_cell("B3", '<c r="B3" t="d"><v>not a date</v></c>'), 3, "mineral", "date cell"),
    (_replace_cell("C3", '<c r="C3" t="inlineStr"><is><t>AU&#11;S</t></is></c>'), 3, "mine_country", "XML"),
    (_replace_cell("C3", '<c r="C3" t="inlineStr"><is><t>AU&#1;S</t></is></c>'), 3, "mine_country", "XML"),
], ids=["row-abc", "row-0", "row-repeated", "shared-string", "bool", "date", "xml-VT", "xml-SOH"])
def test_workbook_damaged_row_or_cell(tmp_path, capsys, change, row, column, words):
    run, book = workbook(tmp_path)
    _rewrite(book, _sheet_part(book, "supply"), change)
    refused(capsys, tmp_path, run, "supply", row, column, words)


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.7, 0.9])
def test_workbook_sheet_xml_cut_off(tmp_path, capsys, cut):
    """A truncated sheet: located at the cell being read where the XML stops."""
    run, book = workbook(tmp_path)
    part = _sheet_part(book, "supply")
    holder = {}

    def truncate(text):
        start, end = text.index("<sheetData>"), text.index("</sheetData>")
        position = start + int((end - start) * cut)
        holder["row"] = int(re.findall(r'<row r="(\d+)"', text[:position])[-1])
        holder["cell"] = re.findall(r'<c r="([A-Z]+)(\d+)"', text[:position])[-1]
        return text[:position]

    _rewrite(book, part, truncate)
    header = read_table(run, "supply")[0]
    column = header["ABCDEF".index(holder["cell"][0])] if int(holder["cell"][1]) == holder["row"] else "-"
    refused(capsys, tmp_path, run, "supply", holder["row"], column, "breaks off")


def test_workbook_formula_does_not_hide_other_problems(tmp_path, capsys):
    def edit(book):
        book["supply"]["F3"] = "=50*2"
        book["supply"]["F4"] = -5
        book["countries"].append(["chn", "china", False, False, False])

    run, _ = workbook(tmp_path, edit)
    lines, _ = refused(capsys, tmp_path, run, "supply", 3, "max_t", "formula", "(=50*2)")
    reported(lines, "supply", 4, "max_t", "must not be negative")
    reported(lines, "countries", 7, "country", "the same id as 'CHN'")
    assert len(lines) == 3, "\n".join(lines)


def test_workbook_damage_does_not_hide_other_problems(tmp_path, capsys):
    run, book = workbook(tmp_path, lambda b: b["targets"].__setitem__("C2", -1))
    _rewrite(book, _sheet_part(book, "supply"), _replace_cell("F3", '<c r="F3" t="n"><v>NaN</v></c>'))
    lines, _ = refused(capsys, tmp_path, run, "supply", 3, "max_t", "does not hold a number")
    reported(lines, "targets", 2, "target_t", "must not be negative")


def test_workbook_formula_in_two_sheets(tmp_path, capsys):
    def edit(book):
        book["supply"]["E2"] = "=1+1"
        book["minerals"]["C2"] = "=SUM(A1:A2)"

    run, _ = workbook(tmp_path, edit)
    lines, _ = refused(capsys, tmp_path, run, "supply", 2, "unit_cost", "formula")
    reported(lines, "minerals", 2, "reference_price", "formula")


# =========================================================================== at_once

AT_ONCE = [
    # (run-file change, data change, run-file location, data location)
    (("threads = 1", "threads = 1.5"), ("supply", 3, "max_t", "-5"),
     (10, "solver.threads"), ("supply.csv", 3, "max_t")),
    (("year = 2030\n", "year = 2030\ncolour = 1\n"), ("targets", 2, "target_t", "lots"),
     (4, "colour"), ("targets.csv", 2, "target_t")),
    (('name = "tiny"', 'name = ".."'), ("countries", 4, "country", "aus"),
     (1, "name"), ("countries.csv", 4, "country")),
    (("stockpile_days = 0", "stockpile_days = 1e308"), ("targets", 2, "target_t", "1e-6"),
     (7, "policy.stockpile_days"), ("targets.csv", 2, "target_t")),
    (("country_cap = 0.65", 'country_cap = "high"'), ("supply", 2, "mine_country", "XXX"),
     (6, "policy.country_cap"), ("supply.csv", 2, "mine_country")),
    (("year = 2030\n", ""), ("minerals", 2, "holding_cost_rate", "2"),
     ("-", "year"), ("minerals.csv", 2, "holding_cost_rate")),
    (("country_cap = 0.65", "country_capp = 0.5"), ("countries", 3, "name", "Aus\x1b[2J"),
     (6, "policy.country_capp"), ("countries.csv", 3, "name")),
]


@pytest.mark.parametrize("run_change, data_change, run_at, data_at", AT_ONCE,
                         ids=[f"at-once-{i}" for i in range(len(AT_ONCE))])
def test_run_file_and_data_problems_together(tmp_path, tiny_run, capsys, run_change, data_change, run_at, data_at):
    run = tiny_run
    set_run(run, *run_change)
    set_cell(run, *data_change)
    lines, _ = refused(capsys, tmp_path, run, "tiny.toml", run_at[0], run_at[1])
    reported(lines, *data_at)


def test_run_file_problem_with_a_workbook_problem(tmp_path, capsys):
    run, _ = workbook(tmp_path, lambda book: book["supply"].__setitem__("F3", "=1"))
    run_text(run, BASE_RUN.replace('data = "tiny"', 'data = "tiny.xlsx"').replace("threads = 1", "threads = 0"))
    lines, _ = refused(capsys, tmp_path, run, "tiny.toml", 10, "solver.threads")
    reported(lines, "supply", 3, "max_t", "formula")


# =========================================================================== quote

QUOTES = [
    # (table, line, column whose cell opens the quote)
    ("supply", 3, "refine_country"),
    ("supply", 2, "option"),
    ("supply", 5, "max_t"),
    ("countries", 4, "name"),
    ("minerals", 2, "unit"),
    ("targets", 2, "target_t"),
]


@pytest.mark.parametrize("table, line, column", QUOTES, ids=[f"{t}-{n}-{c}" for t, n, c in QUOTES])
def test_unclosed_quote_reported_where_it_opens(tmp_path, tiny_run, capsys, table, line, column):
    run = tiny_run
    rows = read_table(run, table)
    index = rows[0].index(column)
    text = "".join(",".join(row) + "\n" for row in rows[:line - 1])
    bad = rows[line - 1]
    text += ",".join(bad[:index] + ['"' + bad[index]] + bad[index + 1:]) + "\n"
    text += "".join(",".join(row) + "\n" for row in rows[line:])
    table_path(run, table).write_text(text, encoding="utf-8")
    refused(capsys, tmp_path, run, f"{table}.csv", line, column, "never closed")


def test_unclosed_quote_after_a_multi_line_cell(tmp_path, tiny_run, capsys):
    """A legitimately quoted cell over two lines, then a quote left open two rows later."""
    run = tiny_run
    text = ('option,mineral,mine_country,refine_country,unit_cost,max_t,notes\n'
            'li-CHN-CHN,li,CHN,CHN,10,100,"two\nlines"\n'
            'li-AUS-CHN,li,AUS,CHN,-12,100,\n'
            'li-AUS-JPN,li,AUS,JPN,15,100,"never closed\n'
            'li-CHL-CHL,li,CHL,CHL,14,30,\n')
    table_path(run, "supply").write_text(text, encoding="utf-8")
    lines, _ = refused(capsys, tmp_path, run, "supply.csv", 5, "notes", "never closed")
    reported(lines, "supply.csv", 4, "unit_cost", "must not be negative")  # a row is numbered where it starts


@pytest.mark.parametrize("cell, line, column", [('"CHN"x', 2, "mine_country"), ('"10" ', 2, "unit_cost"),
                                                ('"li""x"y', 3, "mineral")])
def test_text_after_a_closing_quote(tmp_path, tiny_run, capsys, cell, line, column):
    run = tiny_run
    rows = read_table(run, "supply")
    rows[line - 1][rows[0].index(column)] = "@@"
    text = "".join(",".join(row) + "\n" for row in rows).replace("@@", cell)
    table_path(run, "supply").write_text(text, encoding="utf-8")
    refused(capsys, tmp_path, run, "supply.csv", line, column, "after the closing quote")


def test_quote_problem_does_not_hide_the_other_rows(tmp_path, tiny_run, capsys):
    run = tiny_run
    text = ('option,mineral,mine_country,refine_country,unit_cost,max_t\n'
            'li-CHN-CHN,li,"CHN"x,CHN,10,100\n'
            'li-AUS-CHN,li,AUS,CHN,12,-1\n')
    table_path(run, "supply").write_text(text, encoding="utf-8")
    lines, _ = refused(capsys, tmp_path, run, "supply.csv", 2, "mine_country", "after the closing quote")
    reported(lines, "supply.csv", 3, "max_t", "must not be negative")


# =========================================================================== name

NAMES = ["..", ".", "...", ".hidden", "a/b", "a\\\\b", "/etc", "../out", "CON", "nul.txt", "lpt1", "", " x",
         "a" * 101, "-rf"]


@pytest.mark.parametrize("name", NAMES, ids=[repr(n)[1:-1][:20] or "empty" for n in NAMES])
def test_run_name_that_is_not_one_folder_in_runs_out(tmp_path, tiny_run, capsys, name):
    run = tiny_run
    set_run(run, 'name = "tiny"', f'name = "{name}"')
    refused(capsys, tmp_path, run, "tiny.toml", 1, "name", argv=("solve",))
    before = _files(tmp_path)  # the default output folder as well: nothing beside or above runs/out/
    code = main(["solve", str(run)])
    capsys.readouterr()
    assert code == 2 and _files(tmp_path) == before


# =========================================================================== roundtrip

FORMULA_IDS = ["'=x", "=1+1", "+cmd", "-dash", "@at", "'plain", "''two", "'", "'-'"]


@pytest.mark.parametrize("option", FORMULA_IDS)
def test_formula_like_id_round_trips_through_flows_csv(tmp_path, tiny_run, capsys, option):
    run = tiny_run
    set_cell(run, "supply", 2, "option", option)  # the cheapest route: it carries flow
    out = tmp_path / "out-ok"
    passes_then_solves(capsys, run, out)
    with open(out / "flows.csv", newline="", encoding="utf-8") as handle:
        written = [row["source_id"] for row in csv.DictReader(handle)]
    quoted = "'" + option
    assert quoted in written, written  # quoted: a spreadsheet shows it as text (OWASP)
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in written)
    assert main(["verify", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
