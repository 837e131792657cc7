"""critmin compare: how runs differ (long-form compare.csv, compare.xlsx), read through the one output reader.

Two hand cases on one mineral (100 t): caps at 100 % buy all 100 t from CHN at 10 (1000); a 60 % cap
buys 60 t from CHN and 40 t from CHL at 14 (600 + 560 = 1160).  The delta is 160.
"""

from __future__ import annotations

import csv
import json

import pytest

from cases import BASE_TABLES, route, write_dataset
from critmin.cli import main


@pytest.fixture
def two_runs(tmp_path):
    write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": [route("li-CHN-CHN", 10, 100),
                                                                 route("li-CHL-CHL", 14, 100)]})
    folders = []
    for name, cap in (("open", 1.0), ("capped", 0.6)):
        run = tmp_path / f"{name}.toml"
        run.write_text(f'name = "{name}"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = {cap}\n'
                       'stockpile_days = 0\n[solver]\nmip_rel_gap = 0\n')
        assert main(["solve", str(run), "--out", str(tmp_path / name), "--quiet", "--no-forced-in"]) == 0
        folders.append(tmp_path / name)
    return tmp_path, folders


def rows(path):
    with open(path, newline="") as handle:
        return {(r["section"], r["item"]): r for r in csv.DictReader(handle)}


def test_compare_long_form_by_hand(two_runs, capsys):
    tmp_path, folders = two_runs
    assert main(["compare", *map(str, folders), "--out", str(tmp_path / "cmp")]) == 0
    table = rows(tmp_path / "cmp" / "compare.csv")
    objective = table["summary", "objective"]
    assert float(objective["open"]) == pytest.approx(1000) and float(objective["capped"]) == pytest.approx(1160)
    assert float(objective["delta"]) == pytest.approx(160)
    assert float(table["flows_by_country", "li refine CHN"]["delta"]) == pytest.approx(-40)
    assert float(table["flows_by_country", "li mine CHL"]["capped"]) == pytest.approx(40)
    assert float(table["flows_by_country", "li mine CHL"]["open"]) == 0
    assert table["largest_share", "li mine country"]["capped"] == "CHN"
    assert float(table["largest_share", "li mine share"]["capped"]) == pytest.approx(0.6)
    assert float(table["cost_by_lever", "market"]["delta"]) == pytest.approx(160)
    assert list(table["summary", "objective"]) == ["section", "item", "open", "capped", "delta"]
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "cmp" / "compare.xlsx")
    assert book.sheetnames[0] == "Summary" and "Cost by lever" in book.sheetnames
    assert book["Charts"]._charts  # a chart per charted section
    manifest = json.loads((tmp_path / "cmp" / "compare-manifest.json").read_text())
    assert set(manifest["runs"]) == {"open", "capped"}
    assert "objective" in capsys.readouterr().out


def test_compare_refuses_one_folder_and_a_tampered_one(two_runs, capsys):
    tmp_path, folders = two_runs
    assert main(["compare", str(folders[0])]) == 2
    flows = folders[1] / "flows.csv"
    flows.write_text(flows.read_text().replace("40", "41"))
    assert main(["compare", *map(str, folders), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "flows.csv" in err and "Traceback" not in err
    assert not (tmp_path / "cmp" / "compare.csv").exists()


def test_same_run_names_get_their_folder(two_runs, capsys):
    tmp_path, folders = two_runs
    assert main(["compare", str(folders[0]), str(folders[0]), "--out", str(tmp_path / "cmp")]) == 0
    header = next(csv.reader(open(tmp_path / "cmp" / "compare.csv")))
    assert header[2] != header[3] and header[2].startswith("open")
