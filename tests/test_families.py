"""Hand-solved cases, at least one per constraint family of docs/model.md.

Each case states its hand solution in the docstring.  ``test_removing_a_family_breaks_its_case``
switches each family off in turn and checks that its case then gives another
objective, so every family is shown to matter to a test.
"""

from __future__ import annotations

import pytest

from cases import route, solve_case, tonnes
from critmin.optimization import build

PROJECT = dict(project="P", name="Stake P", mine_country="AUS", refine_country="JPN", capex=100, life_years=10,
               available_from=2025)


def case_target(tmp_path):
    """Only route CHN-CHN at 10/t: buy exactly the target, 100 t -> 1000."""
    return solve_case(tmp_path, {"supply": [route("li-CHN-CHN", 10, 200)]}), 1000.0


def test_target(tmp_path):
    results, expected = case_target(tmp_path)
    assert results.status == "optimal"
    assert results.objective == pytest.approx(expected)
    assert tonnes(results, "li-CHN-CHN") == pytest.approx(100)


TINY_ROUTES = [route("li-CHN-CHN", 10, 100), route("li-AUS-CHN", 12, 100), route("li-AUS-JPN", 15, 100),
               route("li-CHL-CHL", 14, 30)]


def case_country_cap(tmp_path):
    """Cap 0.65 at both stages: CHN-CHN 65 (CHN refine full, so AUS-CHN is out),
    CHL-CHL 30 at 14, AUS-JPN 5 at 15: 650 + 420 + 75 = 1145."""
    return solve_case(tmp_path, {"supply": TINY_ROUTES}, {"country_cap": 0.65}), 1145.0


def test_country_cap_both_stages(tmp_path):
    results, expected = case_country_cap(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert [tonnes(results, o) for o in ("li-CHN-CHN", "li-AUS-CHN", "li-CHL-CHL", "li-AUS-JPN")] == \
        pytest.approx([65, 0, 30, 5])
    refine = results.shares[(results.shares["stage"] == "refine") & (results.shares["country"] == "CHN")]
    assert bool(refine["binding"].iloc[0])


def test_country_cap_mine_stage_only(tmp_path):
    """cap_stages = [mine]: CHN mine <= 65, so AUS-CHN at 12 fills 35: 650 + 420 = 1070."""
    results = solve_case(tmp_path, {"supply": TINY_ROUTES}, {"country_cap": 0.65, "cap_stages": ["mine"]})
    assert results.objective == pytest.approx(1070)
    assert tonnes(results, "li-AUS-CHN") == pytest.approx(35)


def test_country_cap_by_mineral_overrides(tmp_path):
    """country_cap_by_mineral li = 1.0 lifts the 0.65 cap: all CHN-CHN, 1000."""
    results = solve_case(tmp_path, {"supply": TINY_ROUTES},
                         {"country_cap": 0.65, "country_cap_by_mineral": {"li": 1.0}})
    assert results.objective == pytest.approx(1000)


def case_route_max(tmp_path):
    """CHN-CHN 10/t up to 60 t, AUS-JPN 15/t: 600 + 40 * 15 = 1200."""
    return solve_case(tmp_path, {"supply": [route("li-CHN-CHN", 10, 60), route("li-AUS-JPN", 15, 200)]}), 1200.0


def test_route_max(tmp_path):
    results, expected = case_route_max(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert tonnes(results, "li-AUS-JPN") == pytest.approx(40)


def case_route_min_and_fixed(tmp_path):
    """CHN-CHN 10/t up to 80; AUS-JPN 12/t but at least 50 t if used; CHL-CHL 14/t with fixed cost 100.
    AUS at its minimum: 50*12 + 50*10 = 1100; CHL instead: 80*10 + 20*14 + 100 = 1180. So 1100."""
    supply = [route("li-CHN-CHN", 10, 80), route("li-AUS-JPN", 12, 100, min_t=50),
              route("li-CHL-CHL", 14, 100, fixed_cost=100)]
    return solve_case(tmp_path, {"supply": supply}), 1100.0


def test_route_minimum_and_fixed_cost(tmp_path):
    results, expected = case_route_min_and_fixed(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert tonnes(results, "li-AUS-JPN") == pytest.approx(50)
    assert tonnes(results, "li-CHL-CHL") == 0


def case_equity(tmp_path):
    """Stake P: capex 100 over 10 years at 0 % (10 a year), 50 t at 5/t.
    With it 250 + 10 + 50 * 10 = 760; without it 1000. Take the stake, all 50 t."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "projects": [PROJECT],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0)]}
    return solve_case(tmp_path, tables), 760.0


def test_equity_stake(tmp_path):
    results, expected = case_equity(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert results.chosen_projects == ["P"]
    assert tonnes(results, "P") == pytest.approx(50)


def test_equity_take_or_pay(tmp_path):
    """Target 30; P must take at least 0.8 * 50 = 40 t: 40 * 5 + 10 = 210 < 300 (market). Surplus 10 t.
    No caps: even a 100 % cap counts the surplus against the target and would forbid the 40 t."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "projects": [PROJECT],
              "targets": [dict(mineral="li", year=2030, target_t=30)],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0.8)]}
    results = solve_case(tmp_path, tables, {"cap_stages": []})
    assert results.objective == pytest.approx(210)
    assert tonnes(results, "P") == pytest.approx(40)


def test_equity_not_available_before_start_year(tmp_path):
    """P only from 2031: cannot be chosen in 2030, so 1000."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "projects": [{**PROJECT, "available_from": 2031}],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0)]}
    results = solve_case(tmp_path, tables)
    assert results.objective == pytest.approx(1000)
    assert results.chosen_projects == []


RECYCLING = [dict(mineral="li", feedstock_t=40, recovery_rate=0.5, unit_cost=2)]


def case_recycling(tmp_path):
    """Feedstock 40 t at 50 % recovery: 20 t recycled for 40 * 2 = 80, plant 50/10 + 5 = 10 a year.
    80 * 10 + 80 + 10 = 890 < 1000."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "recycling": RECYCLING,
              "recycling_plants": [dict(plant="K", capacity_t=100, capex=50, life_years=10, fixed_cost=5)]}
    return solve_case(tmp_path, tables), 890.0


def test_recycling(tmp_path):
    results, expected = case_recycling(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert results.built_plants == ["K"]
    assert results.minerals["recycled_t"].iloc[0] == pytest.approx(20)


def test_recycling_plant_capacity_limits_feed(tmp_path):
    """Plant capacity 30 t of feed: 15 t recycled. 85 * 10 + 30 * 2 + 10 = 920."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "recycling": RECYCLING,
              "recycling_plants": [dict(plant="K", capacity_t=30, capex=50, life_years=10, fixed_cost=5)]}
    results = solve_case(tmp_path, tables)
    assert results.objective == pytest.approx(920)


def test_minimum_recycling_share(tmp_path):
    """A plant at 200 a year does not pay (1000 without). A 10 % floor forces the plant; once built,
    all 20 t recyclable are worth taking: 80 * 10 + 40 * 2 + 200 = 1080."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)], "recycling": RECYCLING,
              "recycling_plants": [dict(plant="K", capacity_t=100, capex=2000, life_years=10, fixed_cost=0)]}
    assert solve_case(tmp_path / "free", tables).objective == pytest.approx(1000)
    results = solve_case(tmp_path / "floor", tables, {"min_recycling_share": {"li": 0.1}})
    assert results.objective == pytest.approx(1080)
    assert results.minerals["recycled_t"].iloc[0] == pytest.approx(20)


def case_stockpile(tmp_path):
    """73 days (a fifth of a year) of the largest exposure, 100 t via AUS-CHN: stock 20 t at 1/t-yr.
    1000 + 20 = 1020."""
    return solve_case(tmp_path, {"supply": [route("li-AUS-CHN", 10, 200)]}, {"stockpile_days": 73}), 1020.0


def test_stockpile_rule(tmp_path):
    results, expected = case_stockpile(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert results.minerals["stockpile_t"].iloc[0] == pytest.approx(20)
    assert results.minerals["stock_days"].iloc[0] == pytest.approx(73)


def test_stockpile_covers_the_largest_exposure_at_either_stage(tmp_path):
    """AUS-CHN 60 t and CHL-CHN 40 t: mine exposures 60 and 40, refine CHN 100. The refine stage
    sets the stock, 20 t, even when only the mine stage is capped."""
    supply = [route("li-AUS-CHN", 10, 60), route("li-CHL-CHN", 10, 60)]
    results = solve_case(tmp_path, {"supply": supply}, {"stockpile_days": 73, "cap_stages": ["mine"]})
    assert results.minerals["stockpile_t"].iloc[0] == pytest.approx(20)


def test_stockpile_floor_in_days_of_target(tmp_path):
    """stockpile_min_days 36.5 with no exposure rule: stock 10 t, 1000 + 10."""
    results = solve_case(tmp_path, {"supply": [route("li-CHN-CHN", 10, 200)]}, {"stockpile_min_days": 36.5})
    assert results.objective == pytest.approx(1010)


def case_budget(tmp_path):
    """Two stakes of capex 100 each (10 a year), 50 t at 5 and at 6. Both: 250 + 300 + 20 = 570.
    Budget 150 allows one: the cheaper P, 250 + 10 + 500 = 760."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200)],
              "projects": [PROJECT, {**PROJECT, "project": "Q", "name": "Stake Q"}],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost=5, min_take=0),
                                  dict(project="Q", mineral="li", offtake_t=50, unit_cost=6, min_take=0)]}
    return solve_case(tmp_path, tables, {"investment_budget": 150}), 760.0


def test_budget(tmp_path):
    results, expected = case_budget(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert results.chosen_projects == ["P"]


def case_policy_conflict(tmp_path):
    """COD-mined ore at 8/t limited to 30 % of the target; AUS-JPN 12/t: 240 + 840 = 1080."""
    supply = [route("li-COD-CHN", 8, 200), route("li-AUS-JPN", 12, 200)]
    return solve_case(tmp_path, {"supply": supply}, {"conflict_max_share": 0.3}), 1080.0


def test_policy_conflict_share(tmp_path):
    results, expected = case_policy_conflict(tmp_path)
    assert results.objective == pytest.approx(expected)
    assert tonnes(results, "li-COD-CHN") == pytest.approx(30)


def test_policy_ally_refine_share(tmp_path):
    """Half must be refined at home or in allies: AUS-JPN 50 at 12, CHN-CHN 50 at 10: 1100."""
    supply = [route("li-CHN-CHN", 10, 200), route("li-AUS-JPN", 12, 200)]
    results = solve_case(tmp_path, {"supply": supply}, {"ally_min_share": {"refine": 0.5}})
    assert results.objective == pytest.approx(1100)


def test_policy_ally_mine_share_counts_recycling_as_home(tmp_path):
    """40 % mined at home or in allies. Recycling (home) gives 20 t for 80 + 10; AUS-CHN at 11 the other 20 t;
    CHN-CHN 60 at 10: 600 + 220 + 90 = 910."""
    tables = {"supply": [route("li-CHN-CHN", 10, 200), route("li-AUS-CHN", 11, 200)], "recycling": RECYCLING,
              "recycling_plants": [dict(plant="K", capacity_t=100, capex=50, life_years=10, fixed_cost=5)]}
    results = solve_case(tmp_path, tables, {"ally_min_share": {"mine": 0.4}})
    assert results.objective == pytest.approx(910)
    assert tonnes(results, "li-AUS-CHN") == pytest.approx(20)


FAMILY_CASES = {
    "define_target": case_target,
    "define_country_cap": case_country_cap,
    "define_route_bounds": case_route_max,
    "define_equity": case_equity,
    "define_recycling": case_recycling,
    "define_stockpile": case_stockpile,
    "define_budget": case_budget,
    "define_policy_limits": case_policy_conflict,
}


@pytest.mark.parametrize("family", sorted(FAMILY_CASES))
def test_removing_a_family_breaks_its_case(family, tmp_path, monkeypatch):
    """With the family's constraints gone, its hand case no longer has its hand optimum."""
    results, expected = FAMILY_CASES[family](tmp_path / "with")
    assert results.objective == pytest.approx(expected)
    monkeypatch.setattr(build, family, lambda model, data: None)
    results, _ = FAMILY_CASES[family](tmp_path / "without")
    assert results.objective != pytest.approx(expected)


def test_flow_costs_add_up_to_the_objective(tmp_path):
    """Flows carry their share of capex annuities; with the stock carrying cost they sum to the objective."""
    results, expected = case_budget(tmp_path)
    assert results.flows["cost"].sum() + results.cost_by_lever["stockpile"] == pytest.approx(expected)
    assert sum(results.cost_by_lever.values()) == pytest.approx(results.objective)
