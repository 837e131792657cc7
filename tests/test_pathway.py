"""Pathway runs: several planned years at once (docs/model.md, "Pathway").

Hand cases on one mineral li (see cases.py): CHN-CHN at 10/t unless a
price_index says otherwise; stake P delivers 50 t at 5/t for capex 100 over
10 years.  At a discount rate of 10 % its annuity is
A = 100 * 0.1 * 1.1^10 / (1.1^10 - 1) = 16.2745 a year, and year 2031 weighs 1/1.1.
"""

from __future__ import annotations

import dataclasses

import pytest

from cases import BASE, route, solve_case
from critmin.cli import main
from critmin.inputs.data import load, prepare
from critmin.optimization.build import capital_recovery_factor
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

pytestmark = pytest.mark.slow  # the default ten-year pathway solved, stressed and swept

YEARS = [2030, 2031]
ANNUITY = 100 * capital_recovery_factor(0.1, 10)
PROJECT = dict(project="P", name="Stake P", mine_country="AUS", refine_country="JPN", capex=100, life_years=10,
               available_from=2025)
OFFTAKE = [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0)]
TWO_TARGETS = [dict(mineral="li", year=2030, target_t=100), dict(mineral="li", year=2031, target_t=100)]


def test_discounting_by_hand(tmp_path):
    """100 t at 10/t in both years: 1000 + 1000 / 1.1 = 1909.09."""
    results = solve_case(tmp_path, {"supply": [route("li-CHN-CHN", 10, 200)], "targets": TWO_TARGETS},
                         {"discount_rate": 0.1}, years=YEARS)
    assert results.objective == pytest.approx(1000 + 1000 / 1.1)
    assert results.cost_by_year() == {2030: pytest.approx({"market": 1000.0, "equity": 0.0, "recycling": 0.0,
                                                           "stockpile": 0.0, "recourse": 0.0, "shortfall": 0.0}),
                                      2031: pytest.approx({"market": 1000.0, "equity": 0.0, "recycling": 0.0,
                                                           "stockpile": 0.0, "recourse": 0.0, "shortfall": 0.0})}


def test_the_start_year_decides_the_optimum(tmp_path):
    """Market li costs 5/t in 2030 (price index 0.5) and 10/t in 2031. P's offtake at 5/t saves nothing in
    2030 and 250 in 2031, so P starts in 2031: 500 + (250 + A + 500) / 1.1 = 1196.61.
    Starting in 2030 would cost 516.27 + 766.27 / 1.1 = 1212.89; no stake 500 + 1000 / 1.1 = 1409.09."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "targets": TWO_TARGETS, "projects": [PROJECT],
              "project_offtake": OFFTAKE,
              "price_index": [dict(mineral="li", year=2030, factor=0.5), dict(mineral="li", year=2031, factor=1.0)]}
    results = solve_case(tmp_path, tables, {"discount_rate": 0.1}, years=YEARS)
    assert results.objective == pytest.approx(500 + (250 + ANNUITY + 500) / 1.1)
    [row] = results.projects.to_dict("records")
    assert row["chosen"] and row["start_year"] == 2031
    offtake = results.flows[results.flows["source_id"] == "P"]
    assert list(offtake["year"]) == [2031] and list(offtake["tonnes"]) == [50]


def test_a_project_cannot_start_before_it_is_available(tmp_path):
    """The same case with market li at 10/t in both years would start P in 2030 (saving 250 - A each year);
    available_from 2031 delays it: 1000 + (250 + A + 500) / 1.1."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "targets": TWO_TARGETS,
              "projects": [{**PROJECT, "available_from": 2031}], "project_offtake": OFFTAKE}
    results = solve_case(tmp_path, tables, {"discount_rate": 0.1}, years=YEARS)
    assert results.objective == pytest.approx(1000 + (250 + ANNUITY + 500) / 1.1)
    assert results.projects["start_year"].iloc[0] == 2031


def test_a_committed_project_is_used_and_charged_no_capex(tmp_path):
    """Committed P (signed; available since 2025) delivers in both years with no capex and no budget:
    (250 + 500) + (250 + 500) / 1.1 = 1431.82, even with a zero budget."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "targets": TWO_TARGETS,
              "projects": [{**PROJECT, "committed": "true"}], "project_offtake": OFFTAKE}
    results = solve_case(tmp_path, tables, {"discount_rate": 0.1, "investment_budget": 0}, years=YEARS)
    assert results.objective == pytest.approx(750 + 750 / 1.1)
    [row] = results.projects.to_dict("records")
    assert row["chosen"] and row["committed"] and row["start_year"] == 2030
    assert row["capex_charged"] == 0 and row["annualized_capex"] == 0
    assert results.cost_by_lever["equity"] == pytest.approx(250 + 250 / 1.1)


def test_the_stock_build_limit_binds(tmp_path):
    """73 days of cover: 5 t of stock for 25 t in 2030, 20 t for 100 t in 2031. The stock may grow by
    at most 12 t a year, so 2030 already holds 8 t: 250 + 8 + 1000 + 20 = 1278 (1275 without the limit)."""
    targets = [dict(mineral="li", year=2030, target_t=25), dict(mineral="li", year=2031, target_t=100)]
    minerals = [dict(mineral="li", unit="t LCE", reference_price=10, holding_cost_rate=0.1, shortfall_penalty=1000,
                     existing_stock_t=0, max_stock_build_t=12)]
    results = solve_case(tmp_path / "limited", {"supply": [route("li-CHN-CHN", 10, 200)], "targets": targets,
                                                "minerals": minerals}, {"stockpile_days": 73}, years=YEARS)
    assert results.objective == pytest.approx(1278)
    assert list(results.minerals["stockpile_t"]) == pytest.approx([8, 20])
    free = solve_case(tmp_path / "free", {"supply": [route("li-CHN-CHN", 10, 200)], "targets": targets},
                      {"stockpile_days": 73}, years=YEARS)
    assert free.objective == pytest.approx(1275)


def test_route_year_window(tmp_path):
    """A cheap route open from 2031 only: 2030 buys at 12, 2031 at 10: 1200 + 1000 = 2200."""
    supply = [route("li-AUS-JPN", 12, 200), {**route("li-CHL-CHL", 10, 200), "year_from": 2031}]
    results = solve_case(tmp_path, {"supply": supply, "targets": TWO_TARGETS}, years=YEARS)
    assert results.objective == pytest.approx(2200)
    flows = results.flows.set_index(["year", "source_id"])["tonnes"]
    assert flows[2030, "li-AUS-JPN"] == 100 and flows[2031, "li-CHL-CHL"] == 100


def test_years_2030_equals_year_2030_on_the_default_data():
    base = load(BASE)
    one = tidy(base, solve(base))
    run = dataclasses.replace(base.run, years=(2030,))
    listed = tidy(base, solve(prepare(base.dataset, run)))
    assert listed.objective == one.objective
    assert listed.flows.equals(one.flows)


def test_years_must_be_consecutive(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(f'name = "x"\ndata = "{BASE.parent.parent / "data" / "japan-2030"}"\nyears = [2030, 2032]\n')
    assert main(["validate", str(run)]) == 2
    assert "run.toml:3:years: must be a list of consecutive years" in capsys.readouterr().err


def test_default_pathway_end_to_end(tmp_path):
    import json

    import openpyxl
    import pandas as pd

    from cases import ROOT

    out = tmp_path / "pathway"
    assert main(["solve", str(ROOT / "runs" / "pathway-2026-2035.toml"), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["mip_gap"] <= 1e-3
    assert summary["years"] == list(range(2026, 2036))
    for year, minerals in summary["by_year"].items():
        for mineral, entry in minerals.items():
            for stage in ("mine", "refine"):
                assert entry["largest_share"][stage]["share"] <= 0.65 + 1e-9, (year, mineral, stage)
    # committed contracts run from the first year; nothing starts before it is available
    assert summary["project_start_years"]["lynas-hre"] == 2026
    projects = pd.read_csv(ROOT / "data" / "japan-2030" / "projects.csv").set_index("project")
    for project, start in summary["project_start_years"].items():
        assert start >= min(projects.loc[project, "available_from"], 2026) or projects.loc[project, "committed"]
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False, na_values=[""])
    assert sorted(set(flows["year"])) == list(range(2026, 2036))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["verify"]["passed"] is True
    sheets = openpyxl.load_workbook(out / "results.xlsx", read_only=True).sheetnames
    assert {"Investment timeline", "Stock trajectory", "Shares by year"} <= set(sheets)


def test_scenarios_strike_in_every_planned_year(tmp_path):
    """The disruption hand case of test_disruptions over two years (target 100 t in both): the stochastic
    second stage holds per year, and the stress evaluator agrees with it year by year."""
    from cases import make_data
    from critmin.inputs.disruptions import scenarios_from_data
    from critmin.results.stress import evaluate, portfolio_flows
    from test_disruptions import SUPPLY, cut

    data = make_data(tmp_path, {"supply": SUPPLY, "disruptions": cut(0.02), "targets": TWO_TARGETS},
                     {"stockpile_mode": "stochastic"}, years=YEARS)
    outcome = solve(data)
    values = outcome.solution.values
    for year in YEARS:
        assert values["stock"]["li", year] == pytest.approx(28)  # as in the one-year hand case
        stress = evaluate(data, portfolio_flows(data, values, year), {"li": values["stock"]["li", year]},
                          scenarios_from_data(data), year)
        assert stress["extra_cost"].sum() == pytest.approx(values["recourse_cost"]["cut", year])
    # with a zero discount rate the two years cost the same: 2 x 1036.4
    assert outcome.solution.objective == pytest.approx(2 * 1036.4)


def test_stress_and_sweep_run_on_the_default_pathway(tmp_path, capsys):
    import pandas as pd

    from cases import ROOT

    run = ROOT / "runs" / "pathway-2026-2035.toml"
    assert main(["stress", str(run), "--out", str(tmp_path / "stress")]) == 0
    stress = pd.read_csv(tmp_path / "stress" / "stress.csv", keep_default_na=False, na_values=[""])
    assert sorted(set(stress["year"])) == list(range(2026, 2036))
    assert main(["sweep", str(run), "--set", "policy.country_cap=1.0,0.65", "--workers", "1",
                 "--out", str(tmp_path / "sweep")]) == 0
    sweep = pd.read_csv(tmp_path / "sweep" / "sweep.csv", keep_default_na=False, na_values=[""])
    assert sweep["annual_cost"].iloc[0] <= sweep["annual_cost"].iloc[1]
