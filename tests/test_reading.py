"""Reading the results (issue 13, item 5): what an analyst reads in results.xlsx, summary.json and the terminal.

Costs carry the dataset's currency (and a report currency at a stated
rate); the Summary separates new stakes from committed ones and lists what
binds; a pathway's total is a present value; each country keeps its colour;
chart labels survive; ``stress --portfolio`` keeps the marginal values; ties
at equal cost are reported.  Each test reads the cells, labels and colours
written, on small hand-made datasets.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from shutil import which as shutil_which

import openpyxl
import pytest

from cases import BASE_TABLES, route, tiny, write_dataset
from critmin.cli import main


def run_file(folder: Path, data: Path, policy: str = "country_cap = 1.0\nstockpile_days = 0", name: str = "case",
             years: str = "year = 2030") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndata = "{data}"\n{years}\n[policy]\n{policy}\n')
    return path


def solve_to(folder: Path, run: Path, capsys, code: int = 0) -> Path:
    out = folder / f"out-{run.stem}"
    assert main(["solve", str(run), "--out", str(out)]) == code, capsys.readouterr().err
    return out


def summary_items(book) -> dict:
    """Summary label -> (value, note), first occurrence."""
    items = {}
    for row in book["Summary"].iter_rows(max_col=3, values_only=True):
        if row[0] is not None:
            items.setdefault(row[0], (row[1], row[2]))
    return items


def header_comment(sheet, name: str) -> str:
    header = [c.value for c in sheet[2]]
    return sheet.cell(2, header.index(name) + 1).comment.text


SUPPLY = [route("li-AUS-CHN", 12, 80), route("li-CHN-CHN", 10, 60)]


# --------------------------------------------------------------------------- currency


def test_costs_carry_the_dataset_currency_and_a_report_currency_at_its_rate(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": SUPPLY, "currency": [
        dict(currency="EUR", report_currency="JPY", fx_rate=160)]})
    out = solve_to(tmp_path, run_file(tmp_path, data), capsys)
    printed = capsys.readouterr().out
    document = json.loads((out / "summary.json").read_text())
    assert document["currency"] == "EUR"
    report = document["report_currency"]
    assert report["currency"] == "JPY" and report["fx_rate"] == 160
    assert report["objective"] == pytest.approx(160 * document["objective"], rel=1e-12)
    assert report["cost_by_lever"]["market"] == pytest.approx(160 * document["cost_by_lever"]["market"])
    book = openpyxl.load_workbook(out / "results.xlsx")
    items = summary_items(book)
    assert items["currency"][0] == "EUR"
    assert items["total annual cost"][1] == "EUR per year"
    assert items["total annual cost in JPY"] == (pytest.approx(160 * document["objective"]), "at 160 JPY per EUR")
    assert "unit: EUR per year" in header_comment(book["Flows"], "cost")
    assert "unit: EUR per t" in header_comment(book["Input supply"], "unit_cost")
    assert "investment_budget" not in items or "EUR" in str(items["investment_budget"][1])
    assert "total annual cost: EUR 1.08 k; JPY 172.80 k at 160 JPY per EUR" in printed


def test_without_a_currency_table_money_is_usd(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": SUPPLY})
    out = solve_to(tmp_path, run_file(tmp_path, data), capsys)
    assert json.loads((out / "summary.json").read_text())["currency"] == "USD"
    assert "report_currency" not in json.loads((out / "summary.json").read_text())
    book = openpyxl.load_workbook(out / "results.xlsx")
    assert summary_items(book)["currency"][0] == "USD"
    assert "unit: USD per year" in header_comment(book["Costs"], "cost")


@pytest.mark.parametrize("rows, message", [
    ([dict(currency="EUR"), dict(currency="USD")], "currency.csv:3:currency: a second currency"),
    ([dict(currency="EUR", report_currency="JPY")], "currency.csv:2:fx_rate: is empty"),
    ([dict(currency="EUR", fx_rate=2)], "currency.csv:2:report_currency: is empty"),
    ([dict(currency="euro")], "currency.csv:2:currency: must be a three-letter ISO 4217 code"),
    ([dict(currency="EUR", report_currency="JPY", fx_rate=0)], "currency.csv:2:fx_rate: must be more than 0"),
])
def test_a_currency_declaration_is_checked(tmp_path, capsys, rows, message):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": SUPPLY, "currency": rows})
    assert main(["validate", str(run_file(tmp_path, data))]) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- a pathway's total


def test_a_pathway_summary_states_its_total_as_a_present_value(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": SUPPLY,
                                             "targets": [dict(mineral="li", year=y, target_t=100)
                                                         for y in (2030, 2031)],
                                             "currency": [dict(currency="EUR", report_currency="JPY", fx_rate=160)]})
    out = solve_to(tmp_path, run_file(tmp_path, data, "country_cap = 1.0\nstockpile_days = 0\ndiscount_rate = 0.1",
                                      years="years = [2030, 2031]"), capsys)  # exit 0: verify reads the labels too
    document = json.loads((out / "summary.json").read_text())
    book = openpyxl.load_workbook(out / "results.xlsx")
    items = summary_items(book)
    value, note = items["total cost, present value"]
    assert value == pytest.approx(document["objective"]) == pytest.approx(1080 + 1080 / 1.1)
    assert note == "EUR, 2030-2031 discounted to 2030"
    assert items["total cost in JPY, present value"][0] == pytest.approx(160 * document["objective"])
    assert "Cost by lever, present value" in items and "Annual cost by lever" not in items
    labels = [str(label) for label in items] + [str(note) for _, note in items.values()]
    assert not [text for text in labels if "per year" in text and ("total" in text or "EUR" in text)]
    assert "total annual cost" not in items


# --------------------------------------------------------------------------- new and committed, what binds

# A committed stake "old" (take-or-pay on all of its offtake, dearer than the market), a new stake "new1"
# the budget pays for and "new2" it does not: China is at the 60 % cap at both stages.
ASSETS = {
    "supply": [route("li-CHN-CHN", 10, 100), route("li-AUS-CHN", 12, 100), route("li-AUS-JPN", 15, 100)],
    "projects": [dict(project=p, name=p.upper(), mine_country="AUS", refine_country="JPN", capex=capex,
                      life_years=10, available_from=2020, committed=committed)
                 for p, capex, committed in (("old", 50, "true"), ("new1", 100, "false"), ("new2", 100, "false"))],
    "project_offtake": [dict(project="old", mineral="li", offtake_t=10, unit_cost=20, min_take=1.0),
                        dict(project="new1", mineral="li", offtake_t=30, unit_cost=5, min_take=0),
                        dict(project="new2", mineral="li", offtake_t=20, unit_cost=5, min_take=0)],
}
ASSET_POLICY = "country_cap = 0.6\nstockpile_days = 30\ninvestment_budget = 100\ndiscount_rate = 0.0"


def summary_block(sheet, title_start: str) -> list[dict]:
    """The rows of the Summary block whose title starts with ``title_start``."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if isinstance(row[0], str) and row[0].startswith(title_start))
    header = [c for c in rows[start + 1] if c is not None]
    block = []
    for row in rows[start + 2:]:
        if row[0] is None:
            break
        block.append(dict(zip(header, row)))
    return block


def test_the_summary_separates_new_stakes_from_committed_ones_and_lists_what_binds(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, **ASSETS})
    out = solve_to(tmp_path, run_file(tmp_path, data, ASSET_POLICY), capsys)
    book = openpyxl.load_workbook(out / "results.xlsx")
    items = summary_items(book)
    assert items["equity stakes taken"][0] == "new1, old"  # every stake held, as summary.json lists them
    assert items["new equity stakes"] == ("new1", "capex charged: USD 100")
    assert items["committed equity stakes"] == ("old", "already held: capex sunk")
    assert items["new recycling plants"][0] == items["committed recycling plants"][0] == "none"
    binds = {(r["limit"], r["where"]): r for r in summary_block(book["Summary"], "What binds (2030")}
    assert set(binds) == {("country cap", "mine CHN"), ("country cap", "refine CHN"),
                          ("investment budget", "capex of new stakes and plants"), ("take-or-pay floor", "old"),
                          ("stockpile rule", "30 days of the largest exposure")}
    assert binds["country cap", "mine CHN"]["level"] == pytest.approx(0.6)
    assert binds["country cap", "mine CHN"]["unit"] == "share of requirement"
    budget = binds["investment budget", "capex of new stakes and plants"]
    assert (budget["level"], budget["bound"], budget["unit"]) == (100, 100, "USD")
    assert binds["take-or-pay floor", "old"]["level"] == pytest.approx(10)
    assert binds["stockpile rule", "30 days of the largest exposure"]["bound"] == pytest.approx(60 * 30 / 365)
    sheet = book["What binds"]
    assert [c.value for c in sheet[2]] == ["year", "limit", "mineral", "where", "level", "bound", "unit"]
    assert sheet.max_row - 2 == len(binds)


def test_without_a_binding_limit_the_summary_says_so(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": [route("li-CHN-CHN", 10, 60),
                                                                        route("li-AUS-AUS", 12, 80)]})
    out = solve_to(tmp_path, run_file(tmp_path, data, "country_cap = 0.9\nstockpile_days = 0"), capsys)
    items = summary_items(openpyxl.load_workbook(out / "results.xlsx"))
    assert items["nothing"][0] == "no policy limit is at its bound"


# --------------------------------------------------------------------------- a country's colour


def series_colours(book, chart_index: int) -> dict[str, str]:
    """Series name -> fill of one chart on the Charts sheet (names read from the cells the series refer to)."""
    chart = book["Charts"]._charts[chart_index]
    found = {}
    for series in chart.series:
        sheet, cell = series.tx.strRef.f.replace("$", "").rsplit("!", 1)
        fill = series.graphicalProperties.solidFill
        found[book[sheet.strip("'")][cell].value] = fill if isinstance(fill, str) else str(fill.srgbClr)
    return found


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_each_country_keeps_one_colour_across_charts_and_runs(tmp_path, capsys):
    from critmin.writers.style import OTHER_COLOUR, country_colour

    # China the largest supplier in one run, Australia in the other: the colours must not follow the rank
    cheap_china = write_dataset(tmp_path / "a", {**BASE_TABLES, "supply": [
        route("li-CHN-CHN", 10, 60), route("li-AUS-AUS", 12, 30), route("li-CHL-CHL", 13, 100)]})
    cheap_australia = write_dataset(tmp_path / "b", {**BASE_TABLES, "supply": [
        route("li-AUS-AUS", 10, 60), route("li-CHL-CHL", 12, 30), route("li-CHN-CHN", 13, 100)]})
    colours = []
    for name, data in (("a", cheap_china), ("b", cheap_australia)):
        out = solve_to(tmp_path, run_file(tmp_path, data, name=name), capsys)
        book = openpyxl.load_workbook(out / "results.xlsx")
        mine, refine = series_colours(book, 0), series_colours(book, 1)
        assert mine == refine  # the same country, the same colour in both stacks
        colours.append(mine)
    first, second = colours
    assert set(first) == set(second) == {"CHN", "AUS", "CHL"}
    assert first == second == {c: country_colour(c) for c in ("CHN", "AUS", "CHL")}
    assert len(set(first.values())) == 3 and OTHER_COLOUR not in first.values()
    assert country_colour("CHN") == "D62728" and country_colour("XKX") == country_colour("xkx")  # any code


# --------------------------------------------------------------------------- the sweep's labels

SWEEP_KEYS = ("data.targets[mineral=li].target_t=*0.8,*1.2", "data.supply[option=li-CHN-CHN].max_t=50,100",
              "data.supply[option=li-AUS-CHN].max_t=80,100")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A sweep of data overrides on the tiny fixture: the requirement (first, the x axis) and two routes'
    maxima (the legend: both name the column max_t)."""
    folder = tmp_path_factory.mktemp("sweep")
    argv = ["sweep", str(tiny(folder)), "--out", str(folder / "out"), "--quiet", "--workers", "1"]
    for key in SWEEP_KEYS:
        argv += ["--set", key]
    assert main(argv) == 0
    return folder / "out"


def chart_labels(chart) -> list[tuple[str, str]]:
    """Each series' (cell reference, cached name)."""
    return [(s.tx.strRef.f, s.tx.strRef.strCache.pt[0].v) for s in chart.series]


def test_the_sweep_legend_and_the_targets_chart_keep_their_labels(swept):
    book = openpyxl.load_workbook(swept / "sweep.xlsx")
    frontier = book["Frontier"]
    names = [c.value for c in frontier[1]][1:]
    # each legend entry names both routes' settings: never two entries called "max_t = 50, max_t = 80"
    assert names == [f"supply[option=li-CHN-CHN].max_t = {a}, supply[option=li-AUS-CHN].max_t = {b}"
                     for a in (50, 100) for b in (80, 100)]
    (chart,) = frontier._charts
    labels = chart_labels(chart)
    assert [name for _, name in labels] == names  # cached with the chart: shown even before a recalculation
    assert [ref for ref, _ in labels] == [f"'Frontier'!{col}1" for col in "BCDE"]
    assert chart.legend is not None and chart.x_axis.title is not None and chart.y_axis.title is not None
    targets = book["Targets"]
    assert [c.value for c in targets[1]] == ["data.targets[mineral=li].target_t", "li"]
    assert [targets.cell(r, 1).value for r in (2, 3)] == ["*0.8", "*1.2"]
    assert [targets.cell(r, 2).value for r in (2, 3)] == [pytest.approx(0.08), pytest.approx(0.12)]  # kt
    (chart,) = targets._charts
    assert chart_labels(chart) == [("'Targets'!B1", "li")]
    assert chart.legend is not None


@pytest.mark.slow  # LibreOffice renders the workbook in a real process
@pytest.mark.skipif(not (shutil_which("soffice") or shutil_which("libreoffice")) or not shutil_which("pdftotext"),
                    reason="LibreOffice (soffice) and pdftotext not installed: the render check needs them")
def test_libreoffice_draws_the_sweep_legend_and_the_targets_chart_labels(swept, tmp_path):
    import subprocess

    from test_libreoffice import convert

    pdf = convert(tmp_path, "pdf", swept / "sweep.xlsx")
    text = subprocess.run(["pdftotext", "-layout", str(pdf / "sweep.pdf"), "-"], capture_output=True, text=True,
                          timeout=60).stdout
    for words in ("li-CHN-CHN", "li-AUS-CHN", "Requirement per mineral", "target (thousand t a year)"):
        assert words in text, words


# --------------------------------------------------------------------------- stress --portfolio


TWO_MINERALS = {
    "minerals": BASE_TABLES["minerals"] + [dict(mineral="co", unit="t Co", reference_price=20, holding_cost_rate=0.1,
                                                shortfall_penalty=2000, existing_stock_t=0)],
    "targets": BASE_TABLES["targets"] + [dict(mineral="co", year=2030, target_t=50)],
    "supply": [route("li-CHN-CHN", 10, 60), route("li-AUS-CHN", 12, 100), route("li-AUS-JPN", 15, 100),
               dict(option="co-COD-COD", mineral="co", mine_country="COD", refine_country="COD", unit_cost=20,
                    max_t=100)],
}


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_stress_portfolio_keeps_the_marginal_values_and_drops_idle_n_minus_1_rows(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", {**BASE_TABLES, **TWO_MINERALS})
    run = run_file(tmp_path, data, "country_cap = 0.7\ncountry_cap_by_mineral = { co = 1.0 }\nstockpile_days = 30")
    solved = solve_to(tmp_path, run, capsys)
    again = tmp_path / "stressed"
    assert main(["stress", str(run), "--n-1", "--portfolio", str(solved), "--out", str(again)]) == 0
    capsys.readouterr()
    before = json.loads((solved / "summary.json").read_text())["marginal_values"]
    after = json.loads((again / "summary.json").read_text())["marginal_values"]
    price = before["country_cap"]["li"]["refine"]["CHN"]  # the cap binds: a point more of it saves
    assert after == before and price > 0
    assert json.loads((again / "manifest.json").read_text())["verify"]["passed"]
    book = openpyxl.load_workbook(again / "results.xlsx")
    sheet = book["Marginal values"]
    header = [c.value for c in sheet[2]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=3)]
    cap = next(r for r in rows if r["kind"] == "country_cap")
    assert (cap["mineral"], cap["stage"], cap["country"], cap["value"]) == ("li", "refine", "CHN",
                                                                            pytest.approx(price, rel=1e-12))
    assert {r["kind"] for r in rows} >= {"target", "target_row_dual", "country_cap", "stockpile_days"}
    stress = book["Stress"]
    header = [c.value for c in stress[2]]
    hit = {(row[header.index("scenario")].value, row[header.index("mineral")].value)
           for row in stress.iter_rows(min_row=3)}
    # China and Australia supply no cobalt, the Congo no lithium: those N-1 rows said nothing and are gone
    assert hit == {("n-1 AUS", "li"), ("n-1 CHN", "li"), ("n-1 COD", "co")}
    with open(again / "stress.csv", newline="") as handle:
        assert {(r["scenario"], r["mineral"]) for r in csv.DictReader(handle)} == hit


# --------------------------------------------------------------------------- ties at equal cost


def test_a_tie_at_equal_cost_is_reported_once_not_chosen_silently(tmp_path, capsys):
    """Australia and Chile both sell at 12 with room left: which carries the 40 t China cannot is the
    solver's pick.  The route with a fixed cost at 12 is not alike (its tonnes cost more), and the
    cheapest route, full, ties with nothing."""
    tables = {**BASE_TABLES, "targets": [dict(mineral="li", year=y, target_t=100) for y in (2030, 2031)],
              "supply": [route("li-CHN-CHN", 10, 60), route("li-AUS-CHN", 12, 80), route("li-CHL-CHN", 12, 80),
                         route("li-CHL-CHL", 12, 80, fixed_cost=5)]}
    data = write_dataset(tmp_path / "data", tables)
    out = solve_to(tmp_path, run_file(tmp_path, data, years="years = [2030, 2031]"), capsys)
    printed = capsys.readouterr().out
    with open(out / "flows.csv", newline="") as handle:
        flows = list(csv.DictReader(handle))
    marks = {(int(r["year"]), r["source_id"]): r["tied_with"] for r in flows}
    assert marks[2030, "li-CHN-CHN"] == marks[2031, "li-CHN-CHN"] == ""
    taken = [r for r in flows if r["source_id"] in ("li-AUS-CHN", "li-CHL-CHN")]
    assert taken and all(r["tied_with"] == ({"li-AUS-CHN", "li-CHL-CHN"} - {r["source_id"]}).pop() for r in taken)
    assert sum(float(r["tonnes"]) for r in taken) == pytest.approx(80)  # 40 t a year, split as the solver likes
    document = json.loads((out / "summary.json").read_text())
    assert document["ties"] == [{"mineral": "li", "routes": ["li-AUS-CHN", "li-CHL-CHN"], "unit_cost": 12.0,
                                 "years": "2030-2031"}]  # once, for both years
    book = openpyxl.load_workbook(out / "results.xlsx")
    (tie,) = summary_block(book["Summary"], "Tied at equal cost")
    assert tie == {"mineral": "li", "routes": "li-AUS-CHN, li-CHL-CHN", "unit_cost": 12, "years": "2030-2031"}
    flows_sheet = book["Flows"]
    header = [c.value for c in flows_sheet[2]]
    assert "tied_with" in header and "solver's pick" in header_comment(flows_sheet, "tied_with")
    assert "tied at equal cost (the solver took one): li li-AUS-CHN = li-CHL-CHN (12/t, 2030-2031)" in printed
