"""Disruptions: the stress evaluator, the stochastic model and the any-stage cap.

The hand case: target 100 t, CHN-CHN at 10/t (up to 100 t) and AUS-JPN at
15/t (up to 30 t).  The cheapest portfolio buys 100 t from CHN.  Scenario
"cut": CHN refining loses all flows for 146 days (0.4 of a year), so
a = 0.4, L = 40 t, D = 146 days; AUS-JPN has 30 * 0.4 = 12 t of spare
capacity over the event at 3 x 15 = 45/t; the stock is drawn at the
reference price 10/t; unmet tonnes cost 1000/t; the 40 t not delivered
save 0.4 * 10 * 100 = 400.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from cases import make_data, route, solve_case
from critmin.cli import main
from critmin.inputs.data import load, prepare
from critmin.inputs.disruptions import Hit, Scenario, n_minus_1, scenarios_from_data
from critmin.optimization import build
from critmin.optimization.solve import solve
from critmin.results.stress import evaluate, portfolio_flows
from critmin.results.tables import tidy
from test_default_data import BASE

SUPPLY = [route("li-CHN-CHN", 10, 100), route("li-AUS-JPN", 15, 30)]


def cut(probability: float) -> list[dict]:
    return [dict(scenario="cut", mineral="li", stage="refine", country="CHN", loss_share=1.0, duration_days=146,
                 probability=probability)]


def stress_of(results, data, scenarios):
    year = max(data.years)
    stock = dict(zip(results.minerals["mineral"], results.minerals["stockpile_t"]))
    flows = {o: 0.0 for o in data.routes}
    for row in results.flows.itertuples():
        key = (row.source_id, row.mineral) if row.source_type == "equity" else row.source_id
        flows[key] = row.tonnes
    return evaluate(data, flows, stock, scenarios, year)


def test_stress_by_hand(tmp_path):
    """Rule stock 73 days of 100 t = 20 t. L = 40: 20 t drawn (200), 12 t emergency (540), 8 t unmet (8000);
    R = 200 + 540 + 8000 - 400 = 8340; cover = 20 / (40 / 146) = 73 days."""
    data = make_data(tmp_path, {"supply": SUPPLY, "disruptions": cut(0.1)}, {"stockpile_days": 73})
    results = tidy(data, solve(data))
    [row] = stress_of(results, data, scenarios_from_data(data)).to_dict("records")
    assert (row["lost_t"], row["stock_drawn_t"], row["emergency_t"], row["unmet_t"]) == pytest.approx((40, 20, 12, 8))
    assert row["extra_cost"] == pytest.approx(8340)
    assert row["cover_days"] == pytest.approx(73)


def test_stochastic_by_hand(tmp_path):
    """p = 0.02: each tonne of stock costs 1 a year. The first 28 t displace unmet tonnes (worth 0.02 * 990),
    the next 12 displace emergency buys (worth 0.02 * 35 = 0.7 < 1): stock 28.
    R = 280 + 540 - 400 = 420; objective 1000 + 28 + 0.02 * 420 = 1036.4."""
    results = solve_case(tmp_path, {"supply": SUPPLY, "disruptions": cut(0.02)}, {"stockpile_mode": "stochastic"})
    assert results.minerals["stockpile_t"].iloc[0] == pytest.approx(28)
    assert results.objective == pytest.approx(1036.4)
    assert results.cost_by_lever["recourse"] == pytest.approx(8.4)


def test_raising_a_probability_never_lowers_the_stock(tmp_path):
    stocks = []
    for i, probability in enumerate([0.0, 0.0005, 0.02, 0.05, 0.3, 1.0]):
        results = solve_case(tmp_path / str(i), {"supply": SUPPLY, "disruptions": cut(probability)},
                             {"stockpile_mode": "stochastic"})
        stocks.append(results.minerals["stockpile_t"].iloc[0])
    assert stocks[:4] == pytest.approx([0, 0, 28, 40])
    assert all(later >= earlier - 1e-6 for earlier, later in zip(stocks, stocks[1:]))


def test_removing_recourse_breaks_the_stochastic_case(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "define_recourse", lambda model, data: setattr(model, "scenario_probability", {}))
    results = solve_case(tmp_path, {"supply": SUPPLY, "disruptions": cut(0.02)}, {"stockpile_mode": "stochastic"})
    assert results.objective != pytest.approx(1036.4)


@pytest.fixture(scope="module")
def default_data():
    return load(BASE)


def with_run(data, policy=None, solver=None, disruptions=None):
    run = data.run
    if policy:
        run = dataclasses.replace(run, policy=dataclasses.replace(run.policy, **policy))
    if solver:
        run = dataclasses.replace(run, solver=dataclasses.replace(run.solver, **solver))
    dataset = data.dataset
    if disruptions is not None:
        dataset = dataclasses.replace(dataset, tables={**dataset.tables, "disruptions": disruptions})
    return prepare(dataset, run)


def test_default_dataset_ships_grounded_scenarios(default_data):
    scenarios = scenarios_from_data(default_data)
    assert len(scenarios) >= 6
    sources = default_data.dataset["disruptions"]["source"]
    assert all(("S3" in text) or ("assumption" in text) for text in sources)


def test_zero_probabilities_reduce_to_the_rule_with_no_stock(default_data):
    table = default_data.dataset["disruptions"].assign(probability=0.0)
    exact = {"mip_rel_gap": 0.0}
    stochastic = tidy(default_data, solve(with_run(default_data, {"stockpile_mode": "stochastic"}, exact, table)))
    rule = tidy(default_data, solve(with_run(default_data, {"stockpile_days": 0.0}, exact)))
    assert stochastic.objective == pytest.approx(rule.objective, rel=1e-9)
    assert (stochastic.minerals["stockpile_t"] == 0).all()


def test_evaluator_agrees_with_the_stochastic_second_stage(default_data):
    data = with_run(default_data, {"stockpile_mode": "stochastic"})
    outcome = solve(data)
    assert outcome.status == "optimal" and outcome.strict.mip_gap <= 1e-3
    year = max(data.years)
    values = outcome.solution.values
    stock = {m: values["stock"][m, year] for m in data.minerals}
    scenarios = scenarios_from_data(data)
    stress = evaluate(data, portfolio_flows(data, values, year), stock, scenarios, year)
    by_scenario = stress.groupby("scenario")["extra_cost"].sum()
    for scenario in scenarios:
        assert by_scenario[scenario.name] == pytest.approx(values["recourse_cost"][scenario.name, year],
                                                           rel=1e-6, abs=1e-3)


def test_n_minus_1_scenarios(default_data):
    scenarios = n_minus_1(default_data)
    countries = {s.name.split()[-1] for s in scenarios}
    assert "CHN" in countries and "JPN" not in countries
    assert all(s.probability == 0 and s.hits[0].duration_days == 60 for s in scenarios)
    assert scenarios[0].hits == (Hit("*", "mine", scenarios[0].name.split()[-1], 1.0, 60.0),
                                 Hit("*", "refine", scenarios[0].name.split()[-1], 1.0, 60.0))


def test_stress_command_writes_sheet_csv_and_table(tmp_path, capsys):
    out = tmp_path / "stress"
    assert main(["stress", str(BASE), "--n-1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "disruption stress test" in printed and "n-1 CHN" in printed
    stress = pd.read_csv(out / "stress.csv", keep_default_na=False, na_values=[""])
    assert {"drc-cobalt-suspension", "n-1 CHN"} <= set(stress["scenario"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stress"]["expected_unmet_t"] >= 0
    import openpyxl

    assert "Stress" in openpyxl.load_workbook(out / "results.xlsx", read_only=True).sheetnames
    # the same portfolio read back from the solve outputs gives the same stress table
    again = tmp_path / "again"
    assert main(["stress", str(BASE), "--n-1", "--portfolio", str(out), "--out", str(again)]) == 0
    assert pd.read_csv(again / "stress.csv", keep_default_na=False, na_values=[""]).equals(stress)


def test_stress_without_scenarios_is_a_usage_error(tmp_path, capsys):
    data_dir = tmp_path / "case"
    make_data(data_dir, {"supply": SUPPLY})
    run = tmp_path / "run.toml"
    run.write_text(f'name = "x"\ndata = "{data_dir / "data"}"\nyear = 2030\n')
    assert main(["stress", str(run), "--out", str(tmp_path / "out")]) == 2
    assert "no disruption scenarios" in capsys.readouterr().err


def test_any_stage_cap(tmp_path):
    """AUS-CHN at 10 touches AUS and CHN; CHN-CHN at 11; CHL-JPN at 13. Any-stage cap 0.5: AUS-CHN 50,
    then CHN is full at any stage, CHL-JPN 50: 500 + 650 = 1150 (1000 without the cap)."""
    supply = [route("li-AUS-CHN", 10, 100), route("li-CHN-CHN", 11, 100), route("li-CHL-JPN", 13, 100)]
    results = solve_case(tmp_path, {"supply": supply}, {"any_stage_cap": 0.5})
    assert results.objective == pytest.approx(1150)
    any_stage = results.shares[results.shares["stage"] == "any"].set_index("country")["share"]
    assert any_stage["CHN"] == pytest.approx(0.5) and any_stage["AUS"] == pytest.approx(0.5)
