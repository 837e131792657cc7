"""Requirements derived from demand drivers, and declared units.

Hand case, 2030: 10 GWh of cells, 25 % chemistry A (0.1 kg Li and 0.8 kg Ni
per kWh), 75 % chemistry B (0.6 kg LCE per kWh); Li converts to LCE at 5.323;
other uses: 500 t Ni and 2,000 kg LCE.

    lithium: 2.5e6 kWh * 0.1 kg * 5.323 / 1000 + 7.5e6 * 0.6 / 1000 + 2 = 1330.75 + 4500 + 2 = 5832.75 t LCE
    nickel:  2.5e6 kWh * 0.8 kg / 1000 + 500 = 2500 t Ni
    magnets: 100 t at 0.3 t NdPr oxide each = 30 t
"""

from __future__ import annotations

import pytest

from cases import BASE_TABLES, make_data, route, write_dataset
from critmin.cli import main
from critmin.errors import InputError
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

MINERALS = BASE_TABLES["minerals"] + [
    dict(mineral="ni", unit="t Ni", reference_price=15, holding_cost_rate=0.1, shortfall_penalty=1000,
         existing_stock_t=0),
    dict(mineral="ndpr", unit="t NdPr oxide", reference_price=70, holding_cost_rate=0.1, shortfall_penalty=1000,
         existing_stock_t=0)]
DRIVERS = {
    "minerals": MINERALS,
    "targets": [dict(mineral=m, year=2030, target_t=1) for m in ("li", "ni", "ndpr")],
    "supply": [route("li-CHN-CHN", 10, 1e6),
               dict(option="ni-AUS-JPN", mineral="ni", mine_country="AUS", refine_country="JPN", unit_cost=15,
                    max_t=1e6, min_t=0, fixed_cost=0),
               dict(option="nd-AUS-JPN", mineral="ndpr", mine_country="AUS", refine_country="JPN", unit_cost=70,
                    max_t=1e6, min_t=0, fixed_cost=0)],
    "battery_chemistries": [dict(chemistry="A", mineral="li", per_kwh=0.1, unit="kg Li"),
                            dict(chemistry="A", mineral="ni", per_kwh=0.8, unit="kg Ni"),
                            dict(chemistry="B", mineral="li", per_kwh=0.6, unit="kg LCE")],
    "unit_conversions": [dict(from_basis="Li", to_basis="LCE", factor=5.323)],
    "demand_drivers": [dict(year=2030, battery_gwh=10, magnet_t=100)],
    "chemistry_mix": [dict(year=2030, chemistry="A", share=0.25), dict(year=2030, chemistry="B", share=0.75)],
    "magnet_content": [dict(mineral="ndpr", per_t_magnet=0.3, unit="t NdPr oxide")],
    "other_demand": [dict(year=2030, mineral="ni", other_t=500, unit="t Ni"),
                     dict(year=2030, mineral="li", other_t=2000, unit="kg LCE")],
}


def test_derivation_by_hand(tmp_path):
    data = make_data(tmp_path, DRIVERS, {"stockpile_days": 0})
    assert data.target["li", 2030] == 1  # targets = "table" (the default) reads the targets table
    derived = make_derived(tmp_path / "derived", DRIVERS)
    assert derived.target["li", 2030] == pytest.approx(5832.75)
    assert derived.target["ni", 2030] == pytest.approx(2500)
    assert derived.target["ndpr", 2030] == pytest.approx(30)
    results = tidy(derived, solve(derived))
    assert results.objective == pytest.approx(5832.75 * 10 + 2500 * 15 + 30 * 70)


def make_derived(folder, tables):
    from critmin.inputs.data import prepare
    from critmin.inputs.runfile import parse_run
    from critmin.inputs.validate import load_dataset

    write_dataset(folder / "data", {**BASE_TABLES, **tables})
    run = parse_run({"name": "derived", "data": "data", "year": 2030, "targets": "derived",
                     "policy": {"country_cap": 1.0, "stockpile_days": 0}}, folder / "case.toml")
    return prepare(load_dataset(folder / "data"), run)


def test_lithium_as_li_content_without_a_conversion_is_an_error(tmp_path):
    tables = {**DRIVERS, "unit_conversions": [dict(from_basis="Ni", to_basis="Co", factor=1)]}
    with pytest.raises(InputError) as error:
        make_derived(tmp_path, tables)
    [problem] = error.value.problems
    assert (problem.where, problem.row, problem.column) == ("battery_chemistries.csv", 2, "unit")
    assert "cannot convert kg Li to t LCE" in problem.message


def test_malformed_unit_and_bad_mix_are_located(tmp_path):
    tables = {**DRIVERS,
              "magnet_content": [dict(mineral="ndpr", per_t_magnet=0.3, unit="tonnes")],
              "chemistry_mix": [dict(year=2030, chemistry="A", share=0.25), dict(year=2030, chemistry="B", share=0.5)]}
    with pytest.raises(InputError) as error:
        make_derived(tmp_path, tables)
    messages = [str(p) for p in error.value.problems]
    assert any(m.startswith("magnet_content.csv:2:unit: not a unit") for m in messages)
    assert any(m.startswith("chemistry_mix.csv:2:share: the shares of 2030 add up to 0.75") for m in messages)


def test_demand_command_prints_and_writes_the_derivation(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, **DRIVERS})
    run = tmp_path / "run.toml"
    run.write_text('name = "d"\ndata = "data"\nyear = 2030\ntargets = "derived"\n')
    assert main(["demand", str(run), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "5,833" in printed and "2,500" in printed
    assert (tmp_path / "out" / "demand.csv").read_text().count("\n") == 1 + 6  # A li, A ni, B li, magnets, 2 other


def test_unknown_targets_mode_is_a_located_error(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, **DRIVERS})
    run = tmp_path / "run.toml"
    run.write_text('name = "d"\ndata = "data"\nyear = 2030\ntargets = "guessed"\n')
    assert main(["validate", str(run)]) == 2
    assert "run.toml:4:targets: must be" in capsys.readouterr().err


def test_default_drivers_match_the_published_targets_within_15_percent():
    """Every mineral within 15 % of METI's 2030 targets but cobalt, within 16 %: the 2030-vintage NCA
    (Ni 0.90, Co 0.07) carries less than half the cobalt of the NCA of METI's 2022 view (-15.6 %)."""
    from cases import ROOT
    from critmin.inputs.demand import comparison, derive
    from critmin.inputs.validate import load_dataset

    dataset = load_dataset(ROOT / "data" / "japan-2030")
    compared = comparison(dataset, derive(dataset, (2030,)))
    assert len(compared) == 7
    limit = compared["mineral"].map({"cobalt": 0.16}).fillna(0.15)
    assert (compared["difference"].abs() <= limit).all(), compared
    chemistries = set(dataset["battery_chemistries"]["chemistry"])
    assert {"NMC811", "NMC622", "NCA", "LFP", "LMFP"} <= chemistries
    units = set(dataset["battery_chemistries"].query("mineral == 'lithium'")["unit"])
    assert units == {"kg Li"}  # so the Li -> LCE conversion is exercised on the default data


def test_chemistry_share_override_rescales_the_rest(tmp_path):
    """[demand] chemistry_share B = 1: A's share goes to 0. lithium 10e6 kWh * 0.6 kg / 1000 + 2 = 6002;
    nickel only its other use, 500."""
    from critmin.inputs.data import prepare
    from critmin.inputs.runfile import parse_run
    from critmin.inputs.validate import load_dataset

    write_dataset(tmp_path / "data", {**BASE_TABLES, **DRIVERS})
    run = parse_run({"name": "x", "data": "data", "year": 2030, "targets": "derived",
                     "demand": {"chemistry_share": {"B": 1.0}}}, tmp_path / "x.toml")
    data = prepare(load_dataset(tmp_path / "data"), run)
    assert data.target["li", 2030] == pytest.approx(6002)
    assert data.target["ni", 2030] == pytest.approx(500)


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_lfp_share_sweep_moves_targets_portfolio_and_cost(tmp_path, capsys):
    import openpyxl
    import pandas as pd

    from cases import ROOT

    out = tmp_path / "lfp"
    assert main(["sweep", str(ROOT / "runs" / "derived-2030.toml"), "--set", "demand.chemistry_share.LFP=0,0.25,0.5",
                 "--workers", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    # (at 60 % LFP the committed full-take HPAL offtake alone is above 65 % of the nickel need: infeasible)
    assert list(table["demand.chemistry_share.LFP"]) == [0, 0.25, 0.5]
    assert table["nickel_target_t"].is_monotonic_decreasing and table["cobalt_target_t"].is_monotonic_decreasing
    assert table["annual_cost"].is_monotonic_decreasing
    assert (table["status"] == "optimal").all()
    assert "Targets" in openpyxl.load_workbook(out / "sweep.xlsx").sheetnames


def test_demand_setting_without_derived_targets_is_a_usage_error(tmp_path, capsys):
    from cases import BASE

    assert main(["sweep", str(BASE), "--set", "demand.chemistry_share.LFP=0,0.3", "--out", str(tmp_path / "o")]) == 2
    assert 'need targets = "derived"' in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
