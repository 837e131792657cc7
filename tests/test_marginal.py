"""Marginal values (DESIGN.md "Marginal values") against finite differences on small hand cases.

Each case changes one limit by a small step, re-solves the MIP and compares
the cost difference with the reported price.  The hand solutions are in the
docstrings.
"""

from __future__ import annotations

import json

import pytest

from cases import make_data, route
from critmin.cli import main
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

ROUTES = [route("li-CHN-CHN", 10, 100), route("li-AUS-CHN", 12, 100), route("li-AUS-JPN", 15, 100),
          route("li-CHL-CHL", 14, 30)]
PROJECT = dict(project="P", name="Stake P", mine_country="AUS", refine_country="JPN", capex=100, life_years=10,
               available_from=2025)


def priced(tmp_path, tables, policy=None):
    data = make_data(tmp_path, tables, policy)
    outcome = solve(data, marginal=True)
    return tidy(data, outcome)


def cost(tmp_path, tables, policy=None) -> float:
    data = make_data(tmp_path, tables, policy)
    return solve(data).strict.objective


def value(results, kind, **where) -> float:
    frame = results.marginal_values
    rows = frame[frame["kind"] == kind]
    for column, wanted in where.items():
        rows = rows[rows[column] == wanted]
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


def test_target_price_is_the_next_tonne(tmp_path):
    """CHN-CHN (10/t) holds 60 t, AUS-JPN (15/t) the rest: one more tonne costs 15."""
    tables = {"supply": [route("li-CHN-CHN", 10, 60), route("li-AUS-JPN", 15, 100)]}
    results = priced(tmp_path / "a", tables)
    assert value(results, "target", mineral="li") == pytest.approx(15)
    more = {**tables, "targets": [dict(mineral="li", year=2030, target_t=101)]}
    assert cost(tmp_path / "b", more) - results.objective == pytest.approx(15)


def test_binding_country_cap_saves_per_point(tmp_path):
    """Refine cap 0.65 only: CHN refine 65 t (CHN-CHN), CHL-CHL 30 t, AUS-JPN 5 t = 1145.  One point
    more cap moves a tonne from AUS-JPN (15) to CHN-CHN (10) and adds 60/365 t of stock at 1 a year
    (CHN's refine exposure grows): saved 5 - 60/365."""
    policy = {"country_cap": 0.65, "cap_stages": ["refine"], "stockpile_days": 60}
    results = priced(tmp_path / "a", {"supply": ROUTES}, policy)
    price = value(results, "country_cap", mineral="li", stage="refine", country="CHN")
    assert price == pytest.approx(5 - 60 / 365)
    looser = cost(tmp_path / "b", {"supply": ROUTES}, {**policy, "country_cap": 0.66})
    assert results.objective - looser == pytest.approx(price)
    # Only the binding cap is priced.
    assert set(results.marginal_values.loc[results.marginal_values["kind"] == "country_cap", "country"]) == {"CHN"}


def test_caps_binding_at_both_stages_add_up_to_the_policy_step(tmp_path):
    """CHN is at the cap at both stages (degenerate): the two rows' prices together are the
    saving of loosening country_cap itself, 5 per point."""
    results = priced(tmp_path / "a", {"supply": ROUTES}, {"country_cap": 0.65})
    caps = results.marginal_values[results.marginal_values["kind"] == "country_cap"]
    looser = cost(tmp_path / "b", {"supply": ROUTES}, {"country_cap": 0.66})
    assert caps["value"].sum() == pytest.approx(results.objective - looser)
    assert results.objective - looser == pytest.approx(5)


def test_budget_price_is_the_step_to_the_unbudgeted_portfolio(tmp_path):
    """Market 20/t only; stake P (capex 100, 10 years at 0 %: 10 a year) gives 50 t at 5/t.
    Budget 50: no stake, 2000.  Budget 100: P, 50*5 + 50*20 + 10 = 1260.  Saved 740 for 50 more
    budget: 14.8 a year per unit."""
    tables = {"supply": [route("li-CHN-CHN", 20, 200)], "projects": [PROJECT],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0)]}
    results = priced(tmp_path / "a", tables, {"investment_budget": 50})
    assert results.objective == pytest.approx(2000)
    enough = cost(tmp_path / "b", tables, {"investment_budget": 100})
    assert enough == pytest.approx(1260)
    row = results.marginal_values[results.marginal_values["kind"] == "budget"].iloc[0]
    assert row["step_cost_saved"] == pytest.approx(2000 - enough)
    assert row["step_extra_budget"] == pytest.approx(100 - 50)
    assert row["value"] == pytest.approx((2000 - enough) / 50)
    # With enough budget, the budget does not bind: price 0.
    roomy = priced(tmp_path / "c", tables, {"investment_budget": 150})
    assert value(roomy, "budget") == 0.0


def test_stockpile_day_price(tmp_path):
    """Two routes, cap 0.65 at both stages, 60 days: stock covers the largest exposure (CHN, 65 t),
    one more day costs 65/365 a year of carrying (1 per t)."""
    policy = {"country_cap": 0.65, "stockpile_days": 60}
    results = priced(tmp_path / "a", {"supply": ROUTES}, policy)
    price = value(results, "stockpile_days", mineral="li")
    assert price == pytest.approx(65 / 365)
    more = cost(tmp_path / "b", {"supply": ROUTES}, {**policy, "stockpile_days": 61})
    assert more - results.objective == pytest.approx(price)


def test_stockpile_day_price_when_days_move_the_flows(tmp_path):
    """Expensive stock (price 1000, rate 0.1: 100 a year per t) makes diversifying pay: the day price
    still matches the finite difference of the MIP."""
    tables = {"supply": ROUTES,
              "minerals": [dict(mineral="li", unit="t", reference_price=1000, holding_cost_rate=0.1,
                                shortfall_penalty=100000, existing_stock_t=0)]}
    policy = {"country_cap": 0.65, "stockpile_days": 30}
    results = priced(tmp_path / "a", tables, policy)
    price = value(results, "stockpile_days", mineral="li")
    step = 0.01
    more = cost(tmp_path / "b", tables, {**policy, "stockpile_days": 30 + step})
    assert (more - results.objective) / step == pytest.approx(price, rel=1e-6)


def test_default_data_prices_are_written(tmp_path):
    """The base run: summary.json, the sheet and the terminal line carry the marginal values."""
    from pathlib import Path

    import openpyxl

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    assert main(["solve", str(root / "runs" / "base-2030.toml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    prices = summary["marginal_values"]
    assert set(prices["target"]) == set(summary["minerals"])
    assert all(v > 0 for v in prices["target"].values())
    assert prices["country_cap"]["lithium"]["refine"]["CHN"] > 0
    # The committed stakes are sunk, so the default budget no longer binds (the hand cases test a binding one).
    assert prices["budget"]["binding"] is (prices["budget"]["value"] > 0)
    assert prices["budget"]["used"] <= prices["budget"]["limit"]
    # At a binding rule the day price is the carrying cost of one day of the largest exposure.
    stock = {m: v["stockpile_t"] for m, v in summary["minerals"].items()}
    assert prices["stockpile_days"]["lithium"] > 0
    workbook = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert "Marginal values" in workbook.sheetnames
    assert stock["lithium"] > 0
