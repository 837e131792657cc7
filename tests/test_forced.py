"""Forced-in costs and the force/exclude choices: "why was X not chosen, and what would it cost to take it?"

Hand case: 100 t of li; CHL route at 10 (100 t).  Stake A (capex 100, 10 years at 0 %: annuity 10) gives
50 t at 5; stake B (capex 200: annuity 20) 50 t at 6; C (capex 300) 50 t at 1; budget 250, so at most
one of A and B, and never C.  Optimum: A, 10 + 250 + 500 = 760.  B forced in (A no longer fits):
20 + 300 + 500 = 820, so B's forced-in cost is 60.  C cannot be forced in (its capex exceeds the budget).
"""

from __future__ import annotations

import json

import pytest

from cases import BASE_TABLES, make_data, route, write_dataset
from critmin.cli import main
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

STAKES = {
    "supply": [route("li-CHL-CHL", 10, 100)],
    "projects": [dict(project=p, name=f"Stake {p}", mine_country="AUS", refine_country="JPN", capex=capex,
                      life_years=10, available_from=2030) for p, capex in (("A", 100), ("B", 200), ("C", 300))],
    "project_offtake": [dict(project=p, mineral="li", offtake_t=50, unit_cost=cost, min_take=0)
                        for p, cost in (("A", 5), ("B", 6), ("C", 1))],
}
POLICY = {"investment_budget": 250}


def solved(tmp_path, policy=None, forced_in=True):
    data = make_data(tmp_path, STAKES, {**POLICY, **(policy or {})})
    return tidy(data, solve(data, forced_in=forced_in))


def test_forced_in_cost_by_hand(tmp_path):
    results = solved(tmp_path)
    assert results.objective == pytest.approx(760) and results.chosen_projects == ["A"]
    forced = results.forced_in.set_index("id")
    assert forced.loc["B", "forced_in_cost"] == pytest.approx(60)
    cost = forced.loc["C", "forced_in_cost"]
    assert cost is None or cost != cost  # None or NaN
    assert "exceeds the investment budget" in forced.loc["C", "reason"]
    assert list(results.forced_in["id"]) == ["B", "C"]  # cheapest first, the infeasible last


def test_forced_in_cost_equals_a_forced_solve(tmp_path):
    base = solved(tmp_path / "base")
    forced = solved(tmp_path / "forced", {"force_projects": ["B"]}, forced_in=False)
    assert forced.chosen_projects == ["B"]
    assert forced.objective - base.objective == pytest.approx(
        float(base.forced_in.set_index("id").loc["B", "forced_in_cost"]))


def test_excluding_the_chosen_stake(tmp_path):
    results = solved(tmp_path, {"exclude_projects": ["A"]})
    assert results.chosen_projects == ["B"] and results.objective == pytest.approx(820)
    assert "A" not in set(results.forced_in["id"])  # excluded: not offered


def test_forcing_a_take_or_pay_stake_above_the_cap_is_diagnosed(tmp_path):
    """B forced in with full take of 50 t against a 40 % cap (40 t) on AUS: the elastic re-solve relaxes
    the AUS mine cap by 10 t (never a bare infeasible); CHL also stops at 40 t, so 10 t stay unmet."""
    tables = {**STAKES, "project_offtake": [dict(row, min_take=1.0) for row in STAKES["project_offtake"]]}
    data = make_data(tmp_path, tables, {**POLICY, "force_projects": ["B"], "country_cap": 0.4})
    results = tidy(data, solve(data))
    assert results.status == "infeasible"
    relaxed = {(r["limit"], r["where"]): r["relaxed_t"] for d in results.diagnosis for r in d["relaxed"]}
    assert relaxed == {("country cap", "AUS at the mine stage"): pytest.approx(10), ("target", ""): pytest.approx(10)}


def test_default_base_run_cheapest_forced_in_costs_equal_forced_solves():
    """The three cheapest forced-in costs the closing note quotes, each against its own forced solve."""
    from cases import BASE
    from critmin.inputs.data import load
    from test_default_data import with_policy

    data = load(BASE)
    base = tidy(data, solve(data, forced_in=True))
    priced = base.forced_in[base.forced_in["forced_in_cost"].notna()].head(3)
    assert list(priced["id"]) == ["hyuga-matte", "mmc-lib", "hyp-e25-louisiana"]
    tolerance = 2 * data.run.solver.mip_rel_gap * base.objective
    for row in priced.itertuples():
        forced = tidy(data, solve(with_policy(data, force_projects=(row.id,))))
        assert forced.objective - base.objective == pytest.approx(row.forced_in_cost, abs=tolerance + 1.0)
    notes = dict(zip(base.forced_in["id"], base.forced_in["reason"]))
    assert "2031" in notes["ardea-kalgoorlie"] and "2035" in notes["hyp-minamitorishima"]


def test_cli_writes_forced_in_costs(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, **STAKES})
    run = tmp_path / "stakes.toml"
    run.write_text('name = "stakes"\ndata = "data"\nyear = 2030\n[policy]\ninvestment_budget = 250\n'
                   'stockpile_days = 0\ndiscount_rate = 0\n[solver]\nmip_rel_gap = 0\n')
    assert main(["solve", str(run), "--out", str(tmp_path / "out")]) == 0
    assert "forced-in cost (a year), cheapest left out: B +60" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["forced_in_cost"] == {"B": pytest.approx(60), "C": None}
    assert "budget" in summary["forced_in_notes"]["C"]
    from openpyxl import load_workbook

    assert "Forced-in costs" in load_workbook(tmp_path / "out" / "results.xlsx", read_only=True).sheetnames


@pytest.mark.parametrize("policy, words", [
    ('force_projects = ["nope"]', "not a project or recycling plant"),
    ('exclude_projects = ["X"]', "is committed"),
    ('force_projects = ["L"]', "available only from 2040"),
    ('force_projects = "A"', "must be a list of ids"),
    ('investment_budget = 250\nforce_projects = ["B", "C"]', "exceeds policy.investment_budget"),
])
def test_bad_choices_are_located(tmp_path, capsys, policy, words):
    tables = {**STAKES,
              "projects": STAKES["projects"] + [
                  dict(project="X", name="Signed", mine_country="AUS", refine_country="JPN", capex=0, life_years=10,
                       available_from=2030, committed="true"),
                  dict(project="L", name="Late", mine_country="AUS", refine_country="JPN", capex=0, life_years=10,
                       available_from=2040)]}
    write_dataset(tmp_path / "data", {**BASE_TABLES, **tables})
    run = tmp_path / "bad.toml"
    run.write_text(f'name = "bad"\ndata = "data"\nyear = 2030\n[policy]\n{policy}\n')
    assert main(["validate", str(run)]) == 2
    err = capsys.readouterr().err
    line = 6 if policy.startswith("investment_budget") else 5
    assert f"bad.toml:{line}:policy." in err and words in err and "Traceback" not in err
