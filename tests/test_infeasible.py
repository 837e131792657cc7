"""An infeasible run is diagnosed, never a bare "infeasible"."""

from __future__ import annotations

import json

import pytest

from cases import make_data, route, write_dataset, BASE_TABLES
from critmin.cli import main
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

# CHN capped at 65 t (both stages), CHL-CHL at most 30 t: 95 of 100 t can be met.
SHORT_SUPPLY = [route("li-CHN-CHN", 10, 100), route("li-CHL-CHL", 14, 30)]


def test_elastic_diagnosis_names_mineral_amount_and_binding_limits(tmp_path):
    data = make_data(tmp_path, {"supply": SHORT_SUPPLY}, {"country_cap": 0.65})
    results = tidy(data, solve(data))
    assert results.status == "infeasible"
    assert results.objective is None
    [diagnosis] = results.diagnosis
    assert diagnosis["mineral"] == "li"
    assert diagnosis["unmet_t"] == pytest.approx(5)
    binding = " | ".join(diagnosis["binding"])
    assert "country cap CHN at the mine stage" in binding
    assert "country cap CHN at the refine stage" in binding
    assert "li-CHL-CHL" in binding


def test_two_minerals_only_the_short_one_is_diagnosed(tmp_path):
    tables = {
        "minerals": BASE_TABLES["minerals"] + [dict(mineral="co", unit="t Co", reference_price=20,
                                                     holding_cost_rate=0.1, shortfall_penalty=2000,
                                                     existing_stock_t=0)],
        "targets": BASE_TABLES["targets"] + [dict(mineral="co", year=2030, target_t=10)],
        "supply": SHORT_SUPPLY + [dict(option="co-AUS-JPN", mineral="co", mine_country="AUS", refine_country="JPN",
                                       unit_cost=20, max_t=5, min_t=0, fixed_cost=0),
                                  dict(option="co-CHL-JPN", mineral="co", mine_country="CHL", refine_country="JPN",
                                       unit_cost=25, max_t=50, min_t=0, fixed_cost=0)],
    }
    data = make_data(tmp_path, tables, {"country_cap": 0.65})
    results = tidy(data, solve(data))
    assert [d["mineral"] for d in results.diagnosis] == ["li"]


def test_recycling_floor_that_cannot_be_met_is_diagnosed(tmp_path):
    """Only 20 t can be recycled; a 30 % floor (30 t) is 10 t short."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)],
              "recycling": [dict(mineral="li", feedstock_t=40, recovery_rate=0.5, unit_cost=2)],
              "recycling_plants": [dict(plant="K", capacity_t=100, capex=50, life_years=10, fixed_cost=5)]}
    data = make_data(tmp_path, tables, {"min_recycling_share": {"li": 0.3}})
    results = tidy(data, solve(data))
    [diagnosis] = results.diagnosis
    assert diagnosis["unmet_t"] == 0
    assert diagnosis["recycling_floor_unmet_t"] == pytest.approx(10)
    assert any("feedstock exhausted" in limit for limit in diagnosis["binding"])


def test_cli_exits_1_and_writes_the_diagnosis(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": SHORT_SUPPLY})
    run = tmp_path / "short.toml"
    run.write_text('name = "short"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 0.65\nstockpile_days = 0\n')
    assert main(["solve", str(run), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "INFEASIBLE" in printed and "li (2030): 5 t of 100 t unmet" in printed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    assert summary["diagnosis"]["minerals"]["li"]["unmet_t"] == pytest.approx(5)
    assert summary["minerals"]["li"]["shortfall_t"] == pytest.approx(5)
