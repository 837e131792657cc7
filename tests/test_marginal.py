"""Marginal values (docs/model.md "Marginal values") against finite differences on small hand cases.

Each case changes one limit by a small step, re-solves the MIP and compares
the cost difference with the reported price.  The target price is a total
derivative (every cap, floor and share of the requirement moves with it), so
it is compared with central differences of re-solves with the integers fixed
(``target_difference``).  The hand solutions are in the docstrings.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

from cases import ROOT, make_data, route
from critmin.cli import main
from critmin.inputs.data import load
from critmin.optimization.build import build_model
from critmin.optimization.marginal import TARGET_SCALED, target_slopes
from critmin.optimization.solve import solve, solve_model, solver_options
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


def with_target(data, mineral: str, year: int, step: float):
    """``data`` with target[mineral, year] moved by ``step`` tonnes (nothing else changed)."""
    target = dict(data.target)
    target[mineral, year] += step
    return replace(data, target=target)


def fixed_integer_cost(data, values: dict) -> float:
    """Objective of the LP of ``data`` with every integer variable fixed at ``values`` (a MIP solution's)."""
    model = build_model(data)
    for var in model.component_data_objects(pyo.Var):
        if var.is_integer():
            var.domain = pyo.Reals
            var.fix(round(values[var.parent_component().local_name][var.index()]))
    solution = solve_model(model, solver_options(data))
    assert solution.status == "optimal"
    return solution.objective


def target_difference(data, outcome, mineral: str, year: int, step: float) -> float:
    """Central difference of the fixed-integer cost in target[mineral, year], with the year's discount
    factor undone (an annual cost of that year, as the marginal values are)."""
    up = fixed_integer_cost(with_target(data, mineral, year, step), outcome.strict.values)
    down = fixed_integer_cost(with_target(data, mineral, year, -step), outcome.strict.values)
    return (up - down) / (2 * step) / data.discount(year)


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
    # No limit that scales with the requirement binds: the total derivative is the row's dual.
    assert value(results, "target_row_dual", mineral="li") == pytest.approx(15)


# Hand cases where a limit that is a share of the requirement binds, so one more tonne of target
# also moves that limit: (tables, policy, total derivative, the target row's dual alone).
# Routes: CHN-CHN 10/t, AUS-JPN 15/t (ally mine, home refine), AUS-CHN 12/t, COD-CHN 8/t (conflict).
CHEAP_AND_DEAR = [route("li-CHN-CHN", 10, 200), route("li-AUS-JPN", 15, 200)]
RECYCLING_FLOOR = {
    "supply": CHEAP_AND_DEAR,
    "recycling": [dict(mineral="li", feedstock_t=40, recovery_rate=0.5, unit_cost=20)],
    "recycling_plants": [dict(plant="K", capacity_t=100, capex=50, life_years=10, fixed_cost=5)],
}
SHARE_CASES = {
    # CHN refine <= 65: 65 t at 10, 35 t at 15.  Next tonne: 0.65 at 10 + 0.35 at 15; cap held: 15.
    "country cap": ({"supply": CHEAP_AND_DEAR}, {"country_cap": 0.65, "cap_stages": ["refine"]}, 11.75, 15),
    # CHN at either stage <= 60: 0.6 * 10 + 0.4 * 15; cap held: 15.
    "any-stage cap": ({"supply": CHEAP_AND_DEAR}, {"any_stage_cap": 0.6, "cap_stages": []}, 12.0, 15),
    # COD-mined <= 40: 0.4 * 8 + 0.6 * 15; share held: 15.
    "conflict share": ({"supply": [route("li-COD-CHN", 8, 200), route("li-AUS-JPN", 15, 200)]},
                       {"conflict_max_share": 0.4, "cap_stages": []}, 12.2, 15),
    # r >= 15 t at 20/0.5 = 40 per t recycled (plant K built), 85 t at 10: 0.15 * 40 + 0.85 * 10; floor held: 10.
    "recycling floor": (RECYCLING_FLOOR, {"min_recycling_share": {"li": 0.15}, "cap_stages": []}, 14.5, 10),
    # s >= 73/365 * 100 = 20 t at 1 a year: 10 + 0.2 * 1; floor held: 10.
    "stockpile floor": ({"supply": CHEAP_AND_DEAR}, {"stockpile_min_days": 73, "cap_stages": []}, 10.2, 10),
    # refined at home or in an ally >= 30 t: 0.7 * 10 + 0.3 * 15; floor held: 10.
    "ally refine floor": ({"supply": CHEAP_AND_DEAR}, {"ally_min_share": {"mine": 0.0, "refine": 0.3},
                                                       "cap_stages": []}, 11.5, 10),
    # mined at home or in an ally >= 40 t: AUS-CHN 12/t, so 0.6 * 10 + 0.4 * 12; floor held: 10.
    "ally mine floor": ({"supply": [route("li-CHN-CHN", 10, 200), route("li-AUS-CHN", 12, 200)]},
                        {"ally_min_share": {"mine": 0.4, "refine": 0.0}, "cap_stages": []}, 10.8, 10),
}


@pytest.mark.parametrize("case", sorted(SHARE_CASES))
def test_target_price_moves_every_limit_that_is_a_share_of_the_requirement(tmp_path, case):
    """One more tonne of requirement also moves the binding cap, floor or share (docs/model.md: the total
    derivative).  It equals the hand value and central differences of re-solves with the integers
    fixed, and differs from the target row's dual alone (the old, partial value)."""
    tables, policy, total, row_dual = SHARE_CASES[case]
    data = make_data(tmp_path, tables, policy)
    outcome = solve(data, marginal=True)
    results = tidy(data, outcome)
    price = value(results, "target", mineral="li")
    assert price == pytest.approx(total)
    assert value(results, "target_row_dual", mineral="li") == pytest.approx(row_dual)
    assert abs(price - row_dual) > 0.1
    assert target_difference(data, outcome, "li", 2030, 1.0) == pytest.approx(price, rel=1e-7)


def test_target_price_on_a_pathway_undoes_each_year_s_discount(tmp_path):
    """2030-2032 at 10 % discount, targets 100, 100, 210; CHN refine <= 65 %; stock floor 73 days
    (0.2 t per t of target) at 1 a year, the stock growing at most 10 t a year from 20 t.

    The 2032 floor (42 t) forces 32 t in 2031 and 22 t in 2030 (each floor there is 20 t, slack).
    Per year, a tonne costs 0.65 * 10 + 0.35 * 15 = 11.75.  In 2032 it also lifts the stock by 0.2 t in
    every year: 0.2 * (1 + 1/1.1 + 1/1.21) discounted, i.e. 0.2 * (1.21 + 1.1 + 1) = 0.662 in 2032's
    money: 12.412.  Every value is an annual cost of its own year (not discounted)."""
    tables = {"supply": CHEAP_AND_DEAR,
              "minerals": [dict(mineral="li", unit="t LCE", reference_price=10, holding_cost_rate=0.1,
                                shortfall_penalty=1000, existing_stock_t=20, max_stock_build_t=10)],
              "targets": [dict(mineral="li", year=2030, target_t=100), dict(mineral="li", year=2031, target_t=100),
                          dict(mineral="li", year=2032, target_t=210)]}
    policy = {"country_cap": 0.65, "cap_stages": ["refine"], "stockpile_min_days": 73, "discount_rate": 0.1}
    data = make_data(tmp_path, tables, policy, years=[2030, 2031, 2032])
    outcome = solve(data, marginal=True)
    results = tidy(data, outcome)
    expected = {2030: 11.75, 2031: 11.75, 2032: 11.75 + 0.2 * (1.21 + 1.1 + 1)}
    for year, total in expected.items():
        price = value(results, "target", mineral="li", year=year)
        assert price == pytest.approx(total)
        assert value(results, "target_row_dual", mineral="li", year=year) == pytest.approx(15)
        assert target_difference(data, outcome, "li", year, 1.0) == pytest.approx(price, rel=1e-7)


def test_base_run_target_prices_are_total_derivatives():
    """The default base run: every mineral's target price equals the central difference (+-10 t) of
    the fixed-integer re-solve.  Graphite measured 3,780.99 a tonne (the target row alone: 4,620):
    one more tonne also lifts the 65 % caps by 0.65 t, and the binding Chinese refining cap saves."""
    data = load(ROOT / "runs" / "base-2030.toml")
    outcome = solve(data, marginal=True)
    results = tidy(data, outcome)
    for mineral in sorted(data.minerals):
        price = value(results, "target", mineral=mineral)
        assert target_difference(data, outcome, mineral, 2030, 10.0) == pytest.approx(price, rel=1e-6), mineral
    assert value(results, "target", mineral="graphite") == pytest.approx(3780.99, abs=0.01)
    assert value(results, "target_row_dual", mineral="graphite") == pytest.approx(4620)


def _rows(model) -> dict:
    """Every active row as (coefficients by variable name, lower, upper), the body's constant moved
    into the bounds; fixed variables (the strict model's slacks) count as constants."""
    rows = {}
    for con in model.component_data_objects(pyo.Constraint, active=True):
        repn = generate_standard_repn(con.body, compute_values=True)
        assert not repn.nonlinear_vars and not repn.quadratic_vars, con.name
        constant = pyo.value(repn.constant)
        coefficients = {v.name: float(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}
        lower = None if con.lb is None else con.lb - constant
        upper = None if con.ub is None else con.ub - constant
        rows[con.parent_component().local_name, con.index()] = (coefficients, lower, upper)
    return rows


def _moved_by_target(data, mineral: str, year: int, step: float = 0.37) -> dict:
    """Rows whose bound moves when target[mineral, year] moves by ``step``: key -> d bound / d target.
    Fails when a row appears or goes, or the target reaches a coefficient."""
    before, after = _rows(build_model(data)), _rows(build_model(with_target(data, mineral, year, step)))
    assert before.keys() == after.keys()
    moved = {}
    for key, (coefficients, lower, upper) in before.items():
        coefficients_after, lower_after, upper_after = after[key]
        assert coefficients_after == pytest.approx(coefficients), f"{key}: the target reaches a coefficient"
        slopes = [(b - a) / step for a, b in ((lower, lower_after), (upper, upper_after)) if a is not None]
        assert (lower is None) == (lower_after is None) and (upper is None) == (upper_after is None), key
        if any(abs(slope) > 1e-9 for slope in slopes):
            assert len(slopes) == 1, f"{key}: a two-sided row moves with the target"
            moved[key] = slopes[0]
    return moved


def _declared(data, mineral: str, year: int) -> dict:
    slopes = target_slopes(build_model(data), data).get((mineral, year), [])
    return {(con.parent_component().local_name, con.index()): slope for con, slope in slopes if slope != 0}


# A small two-mineral pathway with every limit that can scale with the requirement switched on, and
# the rows that do not (stock cover, stock moves, take-or-pay, plant capacity, budget) as well.
GUARD_TABLES = {
    "minerals": [dict(mineral="li", unit="t LCE", reference_price=10, holding_cost_rate=0.1, shortfall_penalty=1000,
                      existing_stock_t=0, max_stock_build_t=50),
                 dict(mineral="co", unit="t Co", reference_price=30, holding_cost_rate=0.1, shortfall_penalty=3000,
                      existing_stock_t=5, max_stock_build_t=None)],
    "targets": [dict(mineral=m, year=t, target_t=target) for m, targets in (("li", (100, 120)), ("co", (40, 50)))
                for t, target in zip((2030, 2031), targets)],
    "supply": ROUTES + [route("li-COD-CHN", 8, 100)]
              + [dict(option="co-COD-CHN", mineral="co", mine_country="COD", refine_country="CHN", unit_cost=30,
                      max_t=100, min_t=5, fixed_cost=1),
                 dict(option="co-AUS-JPN", mineral="co", mine_country="AUS", refine_country="JPN", unit_cost=40,
                      max_t=100, min_t=0, fixed_cost=0)],
    "projects": [PROJECT],
    "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0.5)],
    "recycling": [dict(mineral="li", feedstock_t=40, recovery_rate=0.5, unit_cost=2)],
    "recycling_plants": [dict(plant="K", capacity_t=100, capex=50, life_years=10, fixed_cost=5)],
}
GUARD_POLICY = {"country_cap": 0.65, "cap_stages": ["mine", "refine"], "country_cap_by_mineral": {"co": 0.8},
                "any_stage_cap": 0.9, "stockpile_days": 60, "stockpile_min_days": 10,
                "min_recycling_share": {"li": 0.05}, "conflict_max_share": 0.5,
                "ally_min_share": {"mine": 0.1, "refine": 0.2}, "investment_budget": 1000, "discount_rate": 0.05,
                "n_minus_1": True, "n_minus_1_unmet_share": 0.1}


def test_target_scaled_rows_are_exactly_the_declared_ones(tmp_path):
    """Guard for ``TARGET_SCALED``: nudge one target, rebuild, and the rows whose bounds move are
    exactly the declared rows of that mineral and year, by the declared coefficient (oriented as
    Pyomo holds the row).  A new constraint family whose bound is a share of the requirement fails
    here until it is declared, and so would a target pushed into a coefficient; rows that do not
    involve the target (new families, elastic slacks fixed at zero) pass untouched."""
    data = make_data(tmp_path / "pathway", GUARD_TABLES, GUARD_POLICY, years=[2030, 2031])
    families = set()
    for mineral, year in [("li", 2031), ("co", 2030)]:
        moved = _moved_by_target(data, mineral, year)
        declared = _declared(data, mineral, year)
        assert moved.keys() == declared.keys(), (sorted(set(moved) - set(declared)), sorted(set(declared) - set(moved)))
        for key, slope in declared.items():
            assert moved[key] == pytest.approx(slope, rel=1e-9), key
        families |= {name for name, _ in moved}
    # The case exercises every declared family, so none of them goes unchecked.
    assert families == set(TARGET_SCALED)


@pytest.mark.parametrize("run", ["base-2030.toml", "stochastic-2030.toml"])
def test_target_scaled_rows_on_the_default_data(run):
    """The same guard on the default data (stochastic: with the recourse rows), every optional share
    limit switched on."""
    data = load(ROOT / "runs" / run)
    policy = replace(data.policy, any_stage_cap=0.9, stockpile_min_days=10, min_recycling_share={"lithium": 0.02},
                     conflict_max_share=0.5, ally_min_share={"mine": 0.1, "refine": 0.1})
    data = replace(data, run=replace(data.run, policy=policy))
    for mineral in ("graphite", "lithium"):
        moved = _moved_by_target(data, mineral, 2030, step=3.0)
        declared = _declared(data, mineral, 2030)
        assert moved.keys() == declared.keys(), (sorted(set(moved) - set(declared)), sorted(set(declared) - set(moved)))
        for key, slope in declared.items():
            assert moved[key] == pytest.approx(slope, rel=1e-9), key


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


def test_default_data_prices_are_written(tmp_path, capsys):
    """The base run: summary.json, the sheet and the terminal line carry the marginal values."""
    import openpyxl

    out = tmp_path / "out"
    assert main(["solve", str(ROOT / "runs" / "base-2030.toml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    prices = summary["marginal_values"]
    assert set(prices["target"]) == set(summary["minerals"])
    assert all(v > 0 for v in prices["target"].values())
    # "target" is the total derivative; the row's dual alone is kept apart, under its own name.
    assert prices["target"]["graphite"] == pytest.approx(3780.99, abs=0.01)
    assert prices["target_row_dual"]["graphite"] == pytest.approx(4620)
    assert "total derivative" in prices["units"]["target"]
    assert "not the cost of more requirement" in prices["units"]["target_row_dual"]
    assert "+1 t of requirement (caps and floors scaling with it): dytb" in capsys.readouterr().out
    assert prices["country_cap"]["lithium"]["refine"]["CHN"] > 0
    # The committed stakes are sunk, so the default budget no longer binds (the hand cases test a binding one).
    assert prices["budget"]["binding"] is (prices["budget"]["value"] > 0)
    assert prices["budget"]["used"] <= prices["budget"]["limit"]
    # JOGMEC's floor (60 days of the requirement; DyTb 180) sizes every stock, so no day of the exposure rule
    # (60 days of the largest single country, at most 65 % of the requirement) is worth anything.
    stock = {m: v["stockpile_t"] for m, v in summary["minerals"].items()}
    assert prices["stockpile_days"] == {m: 0.0 for m in summary["minerals"]}
    assert stock["dytb"] == pytest.approx(180 / 365 * summary["minerals"]["dytb"]["target_t"])
    workbook = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert "Marginal values" in workbook.sheetnames
    sheet = list(workbook["Marginal values"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(sheet) if row[0] == "kind")  # below the sheet's note
    kind, mineral, value = (sheet[header].index(column) for column in ("kind", "mineral", "value"))
    graphite = {row[kind]: row[value] for row in sheet[header + 1:] if row[mineral] == "graphite"}
    assert graphite["target"] == pytest.approx(3780.99, abs=0.01)
    assert graphite["target_row_dual"] == pytest.approx(4620)
    assert stock["lithium"] > 0


def test_stockpile_day_price_counts_a_blend_by_its_share(tmp_path):
    """The only route is a blend mined 60 % in AUS, 40 % in CHN, refined at home; 100 t.  The stock covers
    the largest exposure, AUS's 60 t (not the whole 100 t flow): one more day costs 60/365 a year of
    carrying (1 per t)."""
    tables = {"supply": [dict(option="li-mix-JPN", mineral="li", mine_country="*", refine_country="JPN",
                              unit_cost=5, max_t=200)],
              "mine_mix": [dict(source_type="market", source_id="li-mix-JPN", mine_country="AUS", share=0.6),
                           dict(source_type="market", source_id="li-mix-JPN", mine_country="CHN", share=0.4)]}
    policy = {"stockpile_days": 60}
    results = priced(tmp_path / "a", tables, policy)
    price = value(results, "stockpile_days", mineral="li")
    assert price == pytest.approx(60 / 365)
    more = cost(tmp_path / "b", tables, {**policy, "stockpile_days": 61})
    assert more - results.objective == pytest.approx(price)


def test_budget_that_could_bind_but_does_not_is_priced_zero_and_one_that_binds_by_a_pair(tmp_path):
    """Stake P (capex 100: 10 a year, 50 t at 5/t instead of 20) pays; stake Q (capex 100, 50 t at 19.9/t)
    saves 5 a year for 10 a year of capital, so it never pays.  Budget 150: the two together (200) do not
    fit, yet the budget does not bind (P alone is optimal, 1260): price 0, found by the cutoff search.
    Budget 50: P does not fit; the cheapest portfolio beyond the budget is P alone (1260 against 2000),
    so the step is 740 for 50 more budget."""
    second = dict(PROJECT, project="Q", name="Stake Q")
    tables = {"supply": [route("li-CHN-CHN", 20, 200)], "projects": [PROJECT, second],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0),
                                  dict(project="Q", mineral="li", offtake_t=50, unit_cost=19.9, min_take=0)]}
    loose = priced(tmp_path / "a", tables, {"investment_budget": 150})
    assert loose.objective == pytest.approx(1260)
    assert value(loose, "budget") == 0.0
    tight = priced(tmp_path / "b", tables, {"investment_budget": 50})
    assert tight.objective == pytest.approx(2000)
    row = tight.marginal_values[tight.marginal_values["kind"] == "budget"].iloc[0]
    assert row["step_cost_saved"] == pytest.approx(740)
    assert row["step_extra_budget"] == pytest.approx(50)
    assert cost(tmp_path / "c", tables, {"investment_budget": 100}) == pytest.approx(1260)
