"""critmin sensitivity: a hand case whose tornado and flips are worked out below, usage errors, outputs.

The hand case (cases.py: one mineral li, target 100 t in 2030, price 10;
here a 60 % country cap, no stock, discount rate 0):

    route li-CHN-CHN  9/t  max 100    (capped at 60 t: 60 % of the target, mine and refine)
    route li-AUS-AUS 12/t  max  10
    route li-CHL-CHL 14/t  max  50
    stake P (mined AUS, refined JPN = home): capex 1600 over 10 years = 160 a year, 30 t at 8/t

Base: CHN 60 t (540) + P 30 t (160 + 240 = 400) + AUS 10 t (120) = 1060.  Without P the 30 t would
come from Chile at 420, so P is taken (400 < 420).  Both CHN caps bind; CHN is the largest country
at both stages (60 % against AUS 40 % mined, 10 % refined).

- prices:li (every unit cost and the reference price) -20 %: P costs 160 + 0.8 * 240 = 352 against
  Chile's 0.8 * 420 = 336, so P is left out: 0.8 * (540 + 120 + 420) = 864, delta -196 (a flip);
  +20 %: P 448 < Chile 504, kept: 1.2 * (540 + 240 + 120) + 160 = 1240, delta +180.
- capex:P -20 %: 128 a year, delta -32; +20 %: 192 + 240 = 432 > 420, so P is left out:
  540 + 120 + 420 = 1080, delta +20 (a flip).
- target:li -20 % (80 t, cap 48 t): CHN 48 (432) + P 30 (400) + AUS 2 (24) = 856 (without P:
  120 + 22 * 14 = 428 > 424), delta -204; +20 % (120 t, cap 72 t): CHN 72 (648) + P (400) + AUS 10 (120)
  + CHL 8 (112) = 1280, delta +220.
- volumes:AUS -20 % (8 t): 2 t more from Chile, delta +2 * (14 - 12) = +4; +20 %: nothing better
  (12 t of AUS and 28 t of P cost 1068), delta 0.  volumes:CHL and volumes:CHN: 0 (Chile unused; China
  capped below its 80 t).

Tornado (largest |delta| first, ties by name): target:li 220, prices:li 196, capex:P 32, volumes:AUS 4,
volumes:CHL 0, volumes:CHN 0.  Flips: P left out at prices:li -20 % and at capex:P +20 %, nothing else.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cases import BASE_TABLES, route, write_dataset
from critmin.cli import main

TABLES = {
    "supply": [route("li-CHN-CHN", 9, 100), route("li-AUS-AUS", 12, 10), route("li-CHL-CHL", 14, 50)],
    "projects": [dict(project="P", name="Stake P", mine_country="AUS", refine_country="JPN", capex=1600,
                      life_years=10, available_from=2025)],
    "project_offtake": [dict(project="P", mineral="li", offtake_t=30, unit_cost=8, min_take=0)],
}
ORDER = ["target:li", "prices:li", "capex:P", "volumes:AUS", "volumes:CHL", "volumes:CHN"]
DELTAS = {("target:li", -20): -204, ("target:li", 20): 220, ("prices:li", -20): -196, ("prices:li", 20): 180,
          ("capex:P", -20): -32, ("capex:P", 20): 20, ("volumes:AUS", -20): 4, ("volumes:AUS", 20): 0,
          ("volumes:CHL", -20): 0, ("volumes:CHL", 20): 0, ("volumes:CHN", -20): 0, ("volumes:CHN", 20): 0}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_case(folder: Path) -> Path:
    write_dataset(folder / "data", {**BASE_TABLES, **TABLES})
    run = folder / "case.toml"
    run.write_text('name = "case"\ndata = "data"\nyear = 2030\n\n[policy]\ncountry_cap = 0.6\nstockpile_days = 0\n'
                   "discount_rate = 0.0\n\n[solver]\nmip_rel_gap = 0.0\n")
    return run


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sensitivity")
    run = write_case(folder)
    out = folder / "out"
    assert main(["sensitivity", str(run), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    return run, out


def test_the_hand_case_tornado_and_flips(case):
    _, out = case
    rows = read_csv(out / "sensitivity.csv")
    base = rows[0]
    assert base["group"] == "base" and float(base["objective"]) == pytest.approx(1060)
    points = {(r["group"], round(float(r["change"]))): r for r in rows[1:]}
    assert set(points) == set(DELTAS)
    for key, delta in DELTAS.items():
        assert float(points[key]["delta"]) == pytest.approx(delta, abs=1e-6), key
        assert points[key]["status"] == "optimal"
    flipped = {key: r["stakes"] for key, r in points.items() if int(r["flips"])}
    assert flipped == {("prices:li", -20): "P out", ("capex:P", 20): "P out"}
    assert all(r["largest_country"] == "" and r["binding_caps"] == "" for r in rows)
    import openpyxl

    workbook = openpyxl.load_workbook(out / "sensitivity.xlsx")
    tornado = workbook["Tornado"]
    assert [tornado.cell(i, 1).value for i in range(2, 8)] == ORDER
    assert [c.value for c in tornado[1]][:3] == ["group", "-20 %", "+20 %"]
    assert tornado.cell(2, 3).value == pytest.approx(220 / 1e6)  # millions
    flips = workbook["Flips"]
    assert [[c.value for c in row] for row in flips.iter_rows(min_row=2)] == [
        ["prices:li", -20, "stake", "P", "chosen", "left out"], ["capex:P", 20, "stake", "P", "chosen", "left out"]]


def test_a_point_is_an_ordinary_run(case, tmp_path):
    """The overrides column repeats a point with critmin solve (and its independent check)."""
    run, out = case
    row = next(r for r in read_csv(out / "sensitivity.csv") if r["group"] == "capex:P" and float(r["change"]) > 0)
    assert row["overrides"] == "data.projects[project=P].capex=*1.2"
    assert main(["solve", str(run), "--out", str(tmp_path / "solve"), "--quiet", "--no-forced-in",
                 "--set", row["overrides"]]) == 0
    summary = json.loads((tmp_path / "solve" / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(float(row["objective"])) == pytest.approx(1080)


def test_outputs_and_resume(case, capsys):
    run, out = case
    import openpyxl

    chart = openpyxl.load_workbook(out / "sensitivity.xlsx")["Tornado"]._charts
    assert len(chart) == 1 and chart[0].tagname == "barChart" and chart[0].type == "bar"
    colours = [str(getattr(fill, "val", fill)) for fill in (s.graphicalProperties.solidFill.srgbClr
                                                             for s in chart[0].series)]
    assert colours == ["1F4E79", "C55A11"]  # explicit: cut blue, rise orange
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "sensitivity-manifest.json").read_text())
    assert manifest["points"] == 13 and manifest["changes_percent"] == [20.0]
    assert manifest["groups"]["volumes:AUS"] == ["data.supply[option=li-AUS-AUS].max_t"]
    assert set(manifest["outputs"]) == {"sensitivity.xlsx", "sensitivity.csv", "sensitivity.png"}
    assert len(list((out / "sensitivity-points").glob("*.json"))) == 13
    # the same command again: every point is read back, the table printed
    assert main(["sensitivity", str(run), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "13 points (0 solved now, 13 reused)" in printed
    lines = printed.splitlines()
    assert lines[3].split()[:3] == ["target:li", "-204", "+220"]


def test_several_changes_and_one_kind(case, tmp_path):
    run, _ = case
    out = tmp_path / "out"
    assert main(["sensitivity", str(run), "--out", str(out), "--workers", "1", "--quiet", "--group", "capex",
                 "--change", "10", "--change", "20"]) == 0
    rows = read_csv(out / "sensitivity.csv")
    assert [(r["group"], float(r["change"])) for r in rows] == [
        ("base", 0), ("capex:P", -10), ("capex:P", 10), ("capex:P", -20), ("capex:P", 20)]
    assert [float(r["delta"]) for r in rows[1:]] == pytest.approx([-16, 16, -32, 20])  # +20 %: P left out


@pytest.mark.parametrize("extra, message", [
    (["--group", "pricez"], "error: --group:-:-: unknown kind of group; did you mean 'prices'? (pricez)"),
    (["--group", "volumes:XYZ"], "error: --group:-:-: no such group in this dataset; the volumes groups: AUS, "
                                 "CHL, CHN (volumes:XYZ)"),
    (["--group", "volumes:CHM"], "error: --group:-:-: no such group in this dataset; did you mean 'volumes:CHN'? "
                                 "(volumes:CHM)"),
    (["--change", "150"], "error: --change:-:-: must be a percentage above 0 and at most 100 (150)"),
    (["--change", "0"], "error: --change:-:-: must be a percentage above 0 and at most 100 (0)"),
])
def test_a_bad_group_or_change_is_located(case, tmp_path, capsys, extra, message):
    run, _ = case
    out = tmp_path / "out"
    assert main(["sensitivity", str(run), "--out", str(out)] + extra) == 2
    error = capsys.readouterr().err
    assert error.strip() == message, error
    assert not out.exists()
