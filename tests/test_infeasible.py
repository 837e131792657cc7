"""An infeasible run is diagnosed, never a bare "infeasible"."""

from __future__ import annotations

import json

import pytest

from cases import BASE_TABLES, make_data, route, write_dataset
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
    assert "INFEASIBLE" in printed and "li (2030, target 100 t" in printed
    assert "target: unmet 5.0 t = 5.0% of the target" in printed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    assert summary["diagnosis"]["minerals"]["li"]["unmet_t"] == pytest.approx(5)
    assert summary["minerals"]["li"]["shortfall_t"] == pytest.approx(5)


# --------------------------------------------------------------------------- every limit has a slack
# Each case below is infeasible for one limit only; the elastic re-solve must relax exactly that
# limit by the hand-computed amount (never "even the elastic model is infeasible"), and the outputs
# of the CLI must pass the independent check with the stated relaxations.

COMMITTED_AUS = {  # a signed stake: 80 t mined in AUS, refined at home, full take
    "projects": [dict(project="P", name="Signed", mine_country="AUS", refine_country="JPN", capex=0, life_years=10,
                      available_from=2030, committed="true")],
    "project_offtake": [dict(project="P", mineral="li", offtake_t=80, unit_cost=5, min_take=1.0)],
}


def relaxed(results) -> dict:
    return {(r["limit"], r["where"]): r["relaxed_t"] for d in results.diagnosis for r in d["relaxed"]}


def test_committed_offtake_above_the_cap_relaxes_the_cap_not_the_contract(tmp_path):
    """Committed full take of 80 t from AUS against a 65 % cap (65 t): the cap gives 15 t (15 %)."""
    data = make_data(tmp_path, {"supply": [route("li-CHL-CHL", 10, 100)], **COMMITTED_AUS}, {"country_cap": 0.65})
    results = tidy(data, solve(data))
    assert results.status == "infeasible"
    assert relaxed(results) == {("country cap", "AUS at the mine stage"): pytest.approx(15)}
    [row] = [r for d in results.diagnosis for r in d["relaxed"]]
    assert row["share_of_target"] == pytest.approx(0.15)
    assert row["bound_t"] == pytest.approx(65)


def test_any_stage_cap_conflict_share_and_take_or_pay_each_get_a_slack(tmp_path):
    """The committed 80 t mined in COD (conflict-affected): conflict limit 50 % (50 t) gives 30 t;
    any-stage cap 70 % (70 t) gives 10 t."""
    tables = {"supply": [route("li-CHL-CHL", 10, 100)],
              "projects": [dict(project="P", name="Signed", mine_country="COD", refine_country="JPN", capex=0,
                                life_years=10, available_from=2030, committed="true")],
              "project_offtake": COMMITTED_AUS["project_offtake"]}
    data = make_data(tmp_path, tables, {"conflict_max_share": 0.5, "any_stage_cap": 0.7})
    results = tidy(data, solve(data))
    assert relaxed(results) == {("conflict-affected share limit", ""): pytest.approx(30),
                                ("any-stage cap", "COD at any stage"): pytest.approx(10)}


def test_stock_floor_beyond_the_stock_move_limit_relaxes_the_floor(tmp_path):
    """Two planned years, a 73-day floor (20 t of 100 t) but at most 8 t of stock added a year from
    none: 2030 can hold 8 t (floor short by 12 t), 2031 16 t (short by 4 t)."""
    tables = {"supply": [route("li-CHL-CHL", 10, 200)],
              "minerals": [dict(BASE_TABLES["minerals"][0], max_stock_build_t=8)],
              "targets": [dict(mineral="li", year=2030, target_t=100), dict(mineral="li", year=2031, target_t=100)]}
    data = make_data(tmp_path, tables, {"stockpile_min_days": 73}, years=[2030, 2031])
    results = tidy(data, solve(data))
    rows = {(d["year"], r["limit"]): r["relaxed_t"] for d in results.diagnosis for r in d["relaxed"]}
    assert rows == {(2030, "stockpile floor (stockpile_min_days)"): pytest.approx(12),
                    (2031, "stockpile floor (stockpile_min_days)"): pytest.approx(4)}


def test_one_year_run_has_no_stock_move_limit(tmp_path):
    """The same floor in a one-year run is a steady state: 20 t of stock, feasible, cost 1000 + 20."""
    tables = {"supply": [route("li-CHL-CHL", 10, 200)],
              "minerals": [dict(BASE_TABLES["minerals"][0], max_stock_build_t=8)]}
    data = make_data(tmp_path, tables, {"stockpile_min_days": 73})
    results = tidy(data, solve(data))
    assert results.status == "optimal"
    assert results.objective == pytest.approx(1000 + 20 * 1.0)


def test_committed_take_or_pay_is_cut_when_that_relaxes_less(tmp_path):
    """80 t committed from COD against a 50 % conflict limit, a 65 % cap and a 70 % any-stage cap.  A
    take-or-pay tonne weighs 2 penalties, a policy tonne 1: above 70 t one tonne less take saves 3, so
    the take is cut to 70 t (10 t), leaving the conflict limit 20 t and the cap 5 t over (hand optimum;
    between 65 and 70 t the penalties tie and the cheaper offtake decides)."""
    tables = {"supply": [route("li-CHL-CHL", 10, 100)],
              "projects": [dict(project="P", name="Signed", mine_country="COD", refine_country="JPN", capex=0,
                                life_years=10, available_from=2030, committed="true")],
              "project_offtake": COMMITTED_AUS["project_offtake"]}
    data = make_data(tmp_path, tables, {"country_cap": 0.65, "conflict_max_share": 0.5, "any_stage_cap": 0.7})
    results = tidy(data, solve(data))
    assert relaxed(results) == {("take-or-pay floor of a committed stake", "committed stake P"): pytest.approx(10),
                                ("conflict-affected share limit", ""): pytest.approx(20),
                                ("country cap", "COD at the mine stage"): pytest.approx(5)}


def test_two_committed_stakes_above_their_caps_relax_both_caps(tmp_path):
    """Two committed stakes mined in AUS and CHN deliver 80 + 80 t with full take; the caps (65 %) give
    15 t each; no take-or-pay floor is cut because the caps, weighing less, absorb the excess."""
    tables = {"supply": [route("li-CHL-CHL", 10, 100)],
              "projects": COMMITTED_AUS["projects"] + [dict(project="Q", name="Signed too", mine_country="CHN",
                                                             refine_country="JPN", capex=0, life_years=10,
                                                             available_from=2030, committed="true")],
              "project_offtake": COMMITTED_AUS["project_offtake"] + [dict(project="Q", mineral="li", offtake_t=80,
                                                                          unit_cost=5, min_take=1.0)]}
    data = make_data(tmp_path, tables, {"country_cap": 0.65})
    results = tidy(data, solve(data))
    assert relaxed(results) == {("country cap", "AUS at the mine stage"): pytest.approx(15),
                                ("country cap", "CHN at the mine stage"): pytest.approx(15)}


def test_cli_writes_the_relaxations_and_verify_accepts_only_what_is_stated(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": [route("li-CHL-CHL", 10, 100)], **COMMITTED_AUS})
    run = tmp_path / "signed.toml"
    run.write_text('name = "signed"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 0.65\nstockpile_days = 0\n')
    out = tmp_path / "out"
    assert main(["solve", str(run), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "country cap (AUS at the mine stage): relaxed by 15.0 t = 15.0% of the target" in printed
    summary = json.loads((out / "summary.json").read_text())
    [row] = summary["diagnosis"]["relaxed"]
    assert (row["limit"], row["mineral"], row["relaxed_t"]) == ("country cap", "li", pytest.approx(15))
    from openpyxl import load_workbook

    sheet = load_workbook(out / "results.xlsx", read_only=True)["Relaxed limits"]
    assert any("country cap" in [str(c) for c in r] for r in sheet.iter_rows(values_only=True))

    from critmin.inputs.data import load
    from critmin.results.verify import verify_files

    data = load(run)
    assert verify_files(data, out).passed
    # A stated relaxation smaller than the flows is caught.
    summary["diagnosis"]["relaxed"][0]["relaxed_t"] = 5.0
    (out / "summary.json").write_text(json.dumps(summary))
    report = verify_files(data, out)
    assert not report.passed and not report.families["country_cap"].passed


@pytest.mark.parametrize("setting, limit", [
    ("country_cap = 0.25", "country cap"),
    ("country_cap = 0.1", "country cap"),
])
def test_default_data_tight_caps_end_with_named_relaxations(tmp_path, setting, limit, capsys):
    """Base run with a 25 % or 10 % cap: committed Philippine HPAL ore exceeds the nickel mine cap, so the
    cap itself is relaxed (never "even the elastic model is infeasible")."""
    from pathlib import Path

    base = Path(__file__).resolve().parents[1] / "runs" / "base-2030.toml"
    text = base.read_text().replace("country_cap = 0.65", setting)
    text = text.replace('data = "../data/japan-2030"', f'data = "{base.parent.parent / "data" / "japan-2030"}"')
    run = tmp_path / "tight.toml"
    run.write_text(text)
    assert main(["solve", str(run), "--out", str(tmp_path / "out")]) == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    limits = {(r["mineral"], r["limit"], r["where"]) for r in summary["diagnosis"]["relaxed"]}
    assert ("nickel", limit, "PHL at the mine stage") in limits


def test_pathway_diagnosis_keeps_every_year(tmp_path, capsys):
    """A 73-day floor with 8 t of stock growth a year is short in 2030 and 2031: summary.json keeps both
    years in diagnosis.by_year (diagnosis.minerals holds the latest)."""
    tables = {"supply": [route("li-CHL-CHL", 10, 200)],
              "minerals": [dict(BASE_TABLES["minerals"][0], max_stock_build_t=8)],
              "targets": [dict(mineral="li", year=2030, target_t=100), dict(mineral="li", year=2031, target_t=100)]}
    write_dataset(tmp_path / "data", {**BASE_TABLES, **tables})
    run = tmp_path / "floor.toml"
    run.write_text('name = "floor"\ndata = "data"\nyears = [2030, 2031]\n[policy]\ncountry_cap = 1\n'
                   'stockpile_days = 0\nstockpile_min_days = 73\n')
    assert main(["solve", str(run), "--out", str(tmp_path / "out")]) == 1
    diagnosis = json.loads((tmp_path / "out" / "summary.json").read_text())["diagnosis"]
    assert sorted(diagnosis["by_year"]) == ["2030", "2031"]
    assert diagnosis["minerals"]["li"]["year"] == 2031
    assert [r["relaxed_t"] for r in diagnosis["relaxed"]] == [pytest.approx(12), pytest.approx(4)]


def test_a_floor_no_flow_can_meet_is_diagnosed_not_raised(tmp_path):
    """Every route is mined in China (no ally): a 10 % ally floor at the mine stage has no variable left in
    the strict model (its slack is fixed at 0), a row that can never hold.  The strict solve reports
    infeasible and the elastic one relaxes that floor by 10 t (10 % of 100 t) at no other change."""
    data = make_data(tmp_path, {"supply": [route("li-CHN-CHN", 10, 200)]}, {"ally_min_share": {"mine": 0.1}})
    outcome = solve(data)
    assert outcome.strict.status == "infeasible"
    results = tidy(data, outcome)
    assert results.status == "infeasible"
    assert outcome.elastic.values["ally_gap"]["mine", "li", 2030] == pytest.approx(10)
    assert outcome.elastic.values["buy"]["li-CHN-CHN", 2030] == pytest.approx(100)
