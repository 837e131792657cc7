"""Data overrides: ``--set 'data.TABLE[COLUMN=VALUE,...].COLUMN=VALUE'`` (and ``=*FACTOR``), a run file's
``set = [...]`` and sweeps over them.

Hand case: one mineral li, target 100 t, every limit open (cap 1, no stock rule, no discounting), three routes:

    li-CHN-CHN  10 per t  up to 1,000 t
    li-CHN-AUS  11 per t  up to 1,000 t   (mined in China, refined in Australia)
    li-AUS-AUS  12 per t  up to 1,000 t

The optimum buys the 100 t on the cheapest route open to it, so:
    as read:                                        100 x 10 = 1,000
    supply[mine_country=CHN].max_t=0 (two routes):  100 x 12 = 1,200
    supply[mine_country=CHN,refine_country=CHN]
          .unit_cost=20 (one route):                100 x 11 = 1,100
    targets[mineral=li].target_t=*1.5:              150 x 10 = 1,500
    supply[option=li-CHN-CHN].max_t=50:      50 x 10 + 50 x 11 = 1,050
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cases import BASE, BASE_TABLES, ROOT, route, write_dataset
from critmin.cli import main
from critmin.errors import InputError

pytestmark = pytest.mark.slow  # over 10 s: data overrides solved on the default data

ROUTES = [route("li-CHN-CHN", 10, 1000), route("li-CHN-AUS", 11, 1000), route("li-AUS-AUS", 12, 1000)]
RUN = """name = "case"
data = "data"
year = 2030
{set}
[policy]
country_cap = 1.0
stockpile_days = 0
discount_rate = 0.0

[solver]
mip_rel_gap = 0.0
"""


def case(folder: Path, set_lines: str = "") -> Path:
    write_dataset(folder / "data", {**BASE_TABLES, "supply": ROUTES})
    run = folder / "case.toml"
    run.write_text(RUN.format(set=set_lines), encoding="utf-8")
    return run


def solved(run: Path, out: Path, *settings: str, command: str = "solve") -> dict:
    arguments = [command, str(run), "--out", str(out), "--quiet"]
    for setting in settings:
        arguments += ["--set", setting]
    assert main(arguments) == 0
    return json.loads((out / "summary.json").read_text())


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# --------------------------------------------------------------------------- hand cases


def test_a_route_zeroed_changes_the_optimum(tmp_path):
    run = case(tmp_path)
    assert solved(run, tmp_path / "base")["objective"] == pytest.approx(1000)
    summary = solved(run, tmp_path / "no-china", "data.supply[mine_country=CHN].max_t=0")
    assert summary["objective"] == pytest.approx(1200)
    flows = pd.read_csv(tmp_path / "no-china" / "flows.csv")
    assert flows["source_id"].tolist() == ["li-AUS-AUS"]
    assert manifest(tmp_path / "no-china")["overrides"] == ["data.supply[mine_country=CHN].max_t=0"]
    assert manifest(tmp_path / "no-china")["verify"]["passed"]
    assert manifest(tmp_path / "base")["overrides"] == []


def test_a_factor_on_a_target(tmp_path):
    run = case(tmp_path)
    summary = solved(run, tmp_path / "out", "data.targets[mineral=li].target_t=*1.5")
    assert summary["objective"] == pytest.approx(1500)
    assert summary["minerals"]["li"]["target_t"] == pytest.approx(150)


def test_a_filter_with_two_conditions_sets_only_the_rows_meeting_both(tmp_path):
    run = case(tmp_path)
    both = solved(run, tmp_path / "both", "data.supply[mine_country=CHN,refine_country=CHN].unit_cost=20")
    assert both["objective"] == pytest.approx(1100)  # li-CHN-AUS is untouched, now the cheapest
    one = solved(run, tmp_path / "one", "data.supply[mine_country=CHN].unit_cost=20")
    assert one["objective"] == pytest.approx(1200)  # both Chinese-mined routes at 20: Australia at 12


def test_no_filter_sets_every_row_and_overrides_apply_in_order(tmp_path):
    run = case(tmp_path)
    # every route at 50, then the Australian one at 30: 100 x 30
    summary = solved(run, tmp_path / "out", "data.supply.unit_cost=50", "data.supply[option=li-AUS-AUS].unit_cost=30")
    assert summary["objective"] == pytest.approx(3000)


def test_policy_settings_and_data_overrides_together(tmp_path):
    """--set takes policy keys too: a 60 % cap on China (mine and refine stage) with the target up by half."""
    run = case(tmp_path)
    summary = solved(run, tmp_path / "out", "policy.country_cap=0.6", "data.targets[mineral=li].target_t=*1.5")
    # 150 t; China may supply 0.6 x 150 = 90 t at the mine stage: 90 x 10, then 60 t from Australia at 12
    assert summary["objective"] == pytest.approx(90 * 10 + 60 * 12)
    record = manifest(tmp_path / "out")
    assert record["overrides"] == ["policy.country_cap=0.6", "data.targets[mineral=li].target_t=*1.5"]
    assert record["settings"] == {"policy.country_cap": 0.6} and record["policy"]["country_cap"] == 0.6


def test_stress_and_validate_take_set(tmp_path, capsys):
    run = case(tmp_path)
    assert main(["validate", str(run), "--set", "data.supply[mine_country=CHN].max_t=0"]) == 0
    assert main(["stress", str(run), "--n-1", "--out", str(tmp_path / "stress"),
                 "--set", "data.supply[mine_country=CHN].max_t=0"]) == 0
    assert json.loads((tmp_path / "stress" / "summary.json").read_text())["objective"] == pytest.approx(1200)
    assert manifest(tmp_path / "stress")["overrides"] == ["data.supply[mine_country=CHN].max_t=0"]
    capsys.readouterr()


# --------------------------------------------------------------------------- the run file's set


def test_run_file_set_is_a_scenario(tmp_path):
    run = case(tmp_path, 'set = ["data.supply[mine_country=CHN].max_t=0",\n       "policy.discount_rate=0.05"]\n')
    summary = solved(run, tmp_path / "out")
    assert summary["objective"] == pytest.approx(1200)
    record = manifest(tmp_path / "out")
    assert record["overrides"] == ["data.supply[mine_country=CHN].max_t=0", "policy.discount_rate=0.05"]
    assert record["policy"]["discount_rate"] == 0.05 and "settings" not in record
    # --set applies after the run file's set: China's routes open again at a price
    again = solved(run, tmp_path / "again", "data.supply[option=li-CHN-CHN].max_t=1000")
    assert again["objective"] == pytest.approx(1000)
    # critmin verify re-reads the run file, set included
    assert main(["verify", str(tmp_path / "out")]) == 0


def test_run_file_set_problems_are_located_at_their_line(tmp_path, capsys):
    run = case(tmp_path, 'set = [\n  "data.supply[mine_country=CHN].max_t=0",\n'
                         '  "data.supply[mine_country=XYZ].max_t=0",\n  "data.suply.max_t=0",\n]\n')
    assert main(["validate", str(run)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: case.toml:7:data.suply.max_t: unknown table; did you mean 'supply'?"]
    run = case(tmp_path, 'set = [\n  "data.supply[mine_country=CHN].max_t=0",\n'
                         '  "data.supply[mine_country=XYZ].max_t=0",\n]\n')
    assert main(["validate", str(run)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: case.toml:6:data.supply[mine_country=XYZ].max_t: matches no row of supply.csv")
    run = case(tmp_path, 'set = "data.supply.max_t=0"\n')
    assert main(["validate", str(run)]) == 2
    assert "case.toml:4:set: must be a list of settings as --set takes them" in capsys.readouterr().err


# --------------------------------------------------------------------------- located errors


ERRORS = [
    # (--set, what the one error line says after "error: --set:-:")
    ("data.suply.max_t=0", "data.suply.max_t: unknown table; did you mean 'supply'?"),
    ("data.supply.max_tt=0", "data.supply.max_tt: unknown column of supply; did you mean 'max_t'?"),
    ("data.supply[mine_contry=CHN].max_t=0",
     "data.supply[mine_contry=CHN].max_t: unknown column of supply; did you mean 'mine_country'?"),
    ("data.supply[mine_country=CHN.max_t=0", "data.supply[mine_country=CHN.max_t: expected data.TABLE[COLUMN=VALUE"),
    ("data.supply[].max_t=0", "data.supply[].max_t: the filter is empty"),
    ("data.supply[mine_country=XYZ].max_t=0",
     "data.supply[mine_country=XYZ].max_t: matches no row of supply.csv ([mine_country=XYZ]): no row has "
     "mine_country = XYZ"),
    ("data.supply[mine_country=CHN,refine_country=CHL].max_t=0",
     "data.supply[mine_country=CHN,refine_country=CHL].max_t: matches no row of supply.csv "
     "([mine_country=CHN,refine_country=CHL]): no row has refine_country = CHL"),
    ("data.supply[option=li-CHN-CHN].max_t=lots", "data.supply[option=li-CHN-CHN].max_t: must be a number (lots)"),
    ("data.supply[option=li-CHN-CHN].max_t=-5", "data.supply[option=li-CHN-CHN].max_t: must not be negative (-5)"),
    ("data.supply[option=li-CHN-CHN].max_t=1e12",
     "data.supply[option=li-CHN-CHN].max_t: must be 0 or from 0.01 to 1e+10 t"),
    ("data.targets[year=20x0].target_t=5", "data.targets[year=20x0].target_t: filter year: must be a year (20x0)"),
    ("data.countries[country=CHN].ally=maybe",
     "data.countries[country=CHN].ally: must be true/false, yes/no or 1/0 (maybe)"),
    ("data.targets.target_t=*1e9", "data.targets.target_t: makes targets.csv:2:target_t 1e+11: must be 0 or from "
                                   "0.01 to 1e+10 t"),
    ("data.targets.target_t=*x", "data.targets.target_t: a factor is *NUMBER, e.g. *1.2 (*x)"),
    ("data.targets.target_t=*-1", "data.targets.target_t: a factor must be a finite number >= 0 (*-1)"),
    ("data.supply.mine_country=*2", "data.supply.mine_country: a factor multiplies numbers; supply.mine_country is "
                                    "a column of kind id (*2)"),
    ("data.targets.target_t=50:150:50", "data.targets.target_t: takes one value here; ranges are for critmin sweep"),
    ("data.supply[option=li-CHN-CHN].min_t=2000",
     "data.supply[option=li-CHN-CHN].min_t: leaves supply.csv:2:min_t invalid: min_t is larger than max_t (1000)"),
    ("data.supply[option=li-CHN-CHN].mine_country=XYZ",
     "data.supply[option=li-CHN-CHN].mine_country: leaves supply.csv:2:mine_country invalid: unknown country (XYZ)"),
    ("data.countries[country=CHN].home=true",
     "data.countries[country=CHN].home: leaves countries.csv:5:home invalid: a second home country (first on row 2)"),
]


@pytest.mark.parametrize("setting, words", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_located_at_the_set_string(tmp_path, capsys, setting, words):
    run = case(tmp_path)
    out = tmp_path / "out"
    assert main(["solve", str(run), "--set", setting, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --set:-:" + words), lines
    assert not out.exists() or not any(out.iterdir())


def test_every_parse_problem_is_reported_at_once(tmp_path, capsys):
    run = case(tmp_path)
    assert main(["validate", str(run), "--set", "data.suply.max_t=0", "--set", "policy.contry_cap=0.5",
                 "--set", "policy.country_cap=0.5:0.7:0.1", "--set", "policy.country_cap=0.5"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 2)[2] for line in lines] == [
        "unknown table; did you mean 'supply'?", "unknown key; did you mean 'country_cap'?",
        "takes one value here; ranges and lists are for critmin sweep (0.5:0.7:0.1)"]


def test_policy_problems_of_a_set_are_located_at_it(tmp_path, capsys):
    run = case(tmp_path)
    assert main(["validate", str(run), "--set", "policy.country_cap_by_mineral.unobtainium=0.5",
                 "--set", 'policy.force_projects=["nowhere"]', "--set", "solver.threads=2"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --set:-:policy.country_cap_by_mineral.unobtainium: unknown mineral (unobtainium)",
        "error: --set:-:policy.force_projects: not a project or recycling plant of the dataset (nowhere)"]


# --------------------------------------------------------------------------- the grammar


def test_setting_grammar():
    from critmin.inputs.settings import parse_setting, split_setting

    assert split_setting("data.supply[mine_country=RUS].max_t=0") == ("data.supply[mine_country=RUS].max_t", "=", "0")
    assert parse_setting("data.targets[mineral=lithium].target_t=*0.8:1.2:0.1").values == (
        "*0.8", "*0.9", "*1", "*1.1", "*1.2")
    assert parse_setting("data.supply[mine_country=RUS].max_t=0,1000").values == (0.0, 1000.0)
    assert parse_setting("data.supply[option=x].refine_country=CHN,AUS").values == ("CHN", "AUS")
    assert parse_setting("data.supply[option=x].year_from=2028:2030:1").values == (2028, 2029, 2030)
    assert parse_setting("data.countries[country=CHN].ally=yes", sweep=False).values == (True,)
    assert parse_setting("data.supply[option=x].notes=a, b", sweep=False).values == ("a, b",)
    assert parse_setting("solver.threads=2", sweep=False).values == (2,)
    with pytest.raises(InputError, match="cannot be swept"):
        parse_setting("solver.threads=2")


# --------------------------------------------------------------------------- sweeps


def test_sweep_over_a_factor_range(tmp_path, capsys):
    run = case(tmp_path)
    key = "data.targets[mineral=li].target_t"
    assert main(["sweep", str(run), "--set", f"{key}=*0.5:1.5:0.5", "--out", str(tmp_path / "out"), "--workers", "1",
                 "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert table[key].tolist() == ["*0.5", "*1", "*1.5"]
    assert table["annual_cost"].tolist() == pytest.approx([500, 1000, 1500])
    assert table["li_target_t"].tolist() == pytest.approx([50, 100, 150])
    sweep_manifest = json.loads((tmp_path / "out" / "sweep-manifest.json").read_text())
    assert sweep_manifest["settings"] == {key: ["*0.5", "*1", "*1.5"]}
    capsys.readouterr()


def test_sweep_over_values_with_a_run_file_set(tmp_path, capsys):
    """The run file's set applies to every point; the sweep's data values on top of it."""
    run = case(tmp_path, 'set = ["data.supply[option=li-AUS-AUS].max_t=0"]\n')
    key = "data.supply[option=li-CHN-CHN].max_t"
    assert main(["sweep", str(run), "--set", f"{key}=0,50,100", "--set", "policy.country_cap=1.0",
                 "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert table[key].tolist() == [0, 50, 100]
    assert table["annual_cost"].tolist() == pytest.approx([1100, 1050, 1000])
    sweep_manifest = json.loads((tmp_path / "out" / "sweep-manifest.json").read_text())
    assert sweep_manifest["overrides"] == ["data.supply[option=li-AUS-AUS].max_t=0"]
    capsys.readouterr()


@pytest.mark.parametrize("key, values, words", [
    ("data.supply[mine_country=XYZ].max_t", "0,10", "matches no row of supply.csv"),
    ("data.targets.target_t", "*1:1e9:1e8", "makes targets.csv:2:target_t 1e+10"),
    ("data.targets.target_t", "*0:1:1e-320", "the range has endless values"),
    ("data.supply[option=li-CHN-CHN].min_t", "0,2000", "leaves supply.csv:2:min_t invalid"),
])
def test_sweep_data_problems_are_located_before_solving(tmp_path, capsys, key, values, words):
    run = case(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(run), "--set", f"{key}={values}", "--out", str(out), "--workers", "1", "--quiet"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --set:-:{key}: ") and words in lines[0], lines
    assert not out.exists() or not any(out.iterdir())


# --------------------------------------------------------------------------- the default data


def _copy_edited(tmp_path: Path, edit) -> Path:
    """runs/base-2030.toml on a copy of its dataset whose CSV files ``edit`` changed: the independent check."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "japan-2030", data)
    edit(data)
    run = tmp_path / "base-2030.toml"
    run.write_text(BASE.read_text(encoding="utf-8").replace('data = "../data/japan-2030"', 'data = "data"'),
                   encoding="utf-8")
    return run


def _edit_rows(path: Path, change) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    for row in rows:
        change(row)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _no_russia(data: Path) -> None:
    def change(row):
        if "RUS" in (row["mine_country"], row["refine_country"]):
            row["max_t"] = "0"
    _edit_rows(data / "supply.csv", change)


def _more_lithium(data: Path) -> None:
    def change(row):
        if row["mineral"] == "lithium":
            row["target_t"] = repr(float(row["target_t"]) * 1.2)
    _edit_rows(data / "targets.csv", change)


NO_RUSSIA = ("data.supply[mine_country=RUS].max_t=0", "data.supply[refine_country=RUS].max_t=0")
MORE_LITHIUM = ("data.targets[mineral=lithium].target_t=*1.2",)


def test_default_data_no_russia_and_more_lithium(tmp_path):
    """The figures the README quotes, each checked against a solve of an edited copy of the data."""
    base = solved(BASE, tmp_path / "base")["objective"]
    figures = {}
    for name, settings, edit in (("no-russia", NO_RUSSIA, _no_russia), ("lithium+20", MORE_LITHIUM, _more_lithium)):
        overridden = solved(BASE, tmp_path / name, *settings)["objective"]
        assert manifest(tmp_path / name)["overrides"] == list(settings)
        assert manifest(tmp_path / name)["verify"]["passed"]
        edited = solved(_copy_edited(tmp_path / f"{name}-copy", edit), tmp_path / f"{name}-edited")["objective"]
        assert overridden == pytest.approx(edited, rel=1e-9)
        figures[name] = overridden - base
    assert base == pytest.approx(5.963048e9, rel=1e-6)
    assert figures["no-russia"] == pytest.approx(1.139e6, rel=1e-3)  # README: +USD 1.14 m a year
    assert figures["lithium+20"] == pytest.approx(260.34e6, rel=1e-3)  # README: +USD 260.3 m a year
