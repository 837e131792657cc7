"""Risk measures (docs/model.md §12): joint scenarios, CVaR, N-1 security, the worst K countries, price shocks.

The hand cases use the one-mineral data of ``cases.py`` (li, target 100 t, a
tonne of stock costs 1 a year, an unmet tonne 1000) with CHN-CHN at 10/t (up
to 100 t) and AUS-JPN at 15/t (up to 30 t); surge factor 3, so an emergency
tonne from AUS-JPN costs 45.
"""

from __future__ import annotations

import itertools
import json
import math

import pandas as pd
import pytest

from cases import BASE_TABLES, make_data, route, solve_case, write_dataset
from critmin.cli import main
from critmin.inputs import scenarios as joint
from critmin.inputs.data import load
from critmin.inputs.disruptions import (
    Hit,
    Scenario,
    combine,
    constants,
    country_loss,
    foreign_countries,
    n_minus_1,
    scenarios_from_data,
)
from critmin.optimization.solve import solve
from critmin.results.risk import risk_figures, scenario_outcomes, tail, tail_table
from critmin.results.stress import evaluate, portfolio_flows
from critmin.results.tables import tidy
from critmin.results.worst import worst_sets
from test_default_data import ROOT

pytestmark = pytest.mark.slow  # joint scenarios and CVaR solved on the default data

SUPPLY = [route("li-CHN-CHN", 10, 100), route("li-AUS-JPN", 15, 30)]
STOCHASTIC = "runs/stochastic-2030.toml"


def event(name: str, probability: float, *rows) -> list[dict]:
    """Disruption rows of one event: (stage, country, loss_share, duration_days[, price_factor])."""
    out = []
    for stage, country, loss, days, *factor in rows:
        row = dict(scenario=name, mineral="li", stage=stage, country=country, loss_share=loss, duration_days=days,
                   probability=probability)
        if factor:
            row["price_factor"] = factor[0]
        out.append(row)
    return out


# Two events: A cuts China's refining for 146 days (a = 0.4); B halves it for a year (a = 0.5) and cuts
# Australia's mines for 73 days.
TWO_EVENTS = (event("A", 0.1, ("refine", "CHN", 1.0, 146))
              + event("B", 0.04, ("refine", "CHN", 0.5, 365), ("mine", "AUS", 1.0, 73)))


# --------------------------------------------------------------------------- joint scenarios


def test_two_events_make_four_joint_scenarios_by_hand(tmp_path):
    """quiet 0.9 * 0.96 = 0.864, A alone 0.1 * 0.96 = 0.096, B alone 0.9 * 0.04 = 0.036, both 0.004 (sum 1).
    Together, the losses on CHN-CHN combine as the larger, a = max(0.4, 0.5) = 0.5, not 0.9; D = 365."""
    data = make_data(tmp_path, {"supply": SUPPLY, "disruptions": TWO_EVENTS}, {"stockpile_mode": "stochastic"})
    distribution = joint.joint_scenarios(data)
    assert distribution.method == "exact"
    probabilities = {s.name: s.probability for s in distribution.scenarios}
    assert probabilities == pytest.approx({"quiet year": 0.864, "A": 0.096, "B": 0.036, "A + B": 0.004})
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-15)
    both = next(s for s in distribution.scenarios if s.name == "A + B")
    found = constants(data, both, 2030)
    assert found.lost == pytest.approx({"li-CHN-CHN": 0.5, "li-AUS-JPN": 0.2})
    assert found.duration == {"li": 365.0}
    assert found.floor == {"li": 15.0}  # AUS-JPN is hit too: the dearest lost unit cost
    # The parts' constants combined are the union's, row by row.
    assert combine([constants(data, part, 2030) for part in both.parts]) == found
    assert constants(data, both, 2030, {}) == found


def test_enumeration_up_to_twelve_events_then_sampling(tmp_path):
    events = [Scenario(f"e{i:02d}", 0.1 + 0.05 * i, (Hit("li", "refine", "CHN", 0.5, 30),)) for i in range(13)]
    data = make_data(tmp_path, {"supply": SUPPLY}, {"scenario_samples": 2000, "scenario_seed": 7})
    exact = joint.joint_scenarios(data, events[:12])
    assert exact.method == "exact" and len(exact.scenarios) == 2 ** 12
    assert sum(s.probability for s in exact.scenarios) == pytest.approx(1.0, abs=1e-12)
    sampled = joint.joint_scenarios(data, events)
    assert sampled.method == "sampled" and sampled.draws == 2000 and sampled.seed == 7
    # Identical years merged: every weight is a count of draws, the weights sum to 1, the names are unique.
    counts = [s.probability * 2000 for s in sampled.scenarios]
    assert counts == pytest.approx([round(c) for c in counts]) and sum(counts) == pytest.approx(2000)
    assert len({s.name for s in sampled.scenarios}) == len(sampled.scenarios) < 2000
    # Seeded: the same seed draws the same years, another seed others.
    assert [(s.name, s.probability) for s in joint.joint_scenarios(data, events).scenarios] == \
        [(s.name, s.probability) for s in sampled.scenarios]
    other = make_data(tmp_path / "other", {"supply": SUPPLY}, {"scenario_samples": 2000, "scenario_seed": 8})
    assert [s.name for s in joint.joint_scenarios(other, events).scenarios] != [s.name for s in sampled.scenarios]
    # Each event happens in about its share of the years.
    for e in (events[0], events[12]):
        share = sum(s.probability for s in sampled.scenarios if e in s.parts)
        assert share == pytest.approx(e.probability, abs=0.04)


def test_sampling_the_default_events_keeps_the_quiet_year():
    data = load(ROOT / STOCHASTIC)
    exact = joint.joint_scenarios(data)
    assert exact.method == "exact" and len(exact.scenarios) == 2 ** 10
    quiet = math.prod(1 - e.probability for e in exact.events)
    assert {s.name: s.probability for s in exact.scenarios}["quiet year"] == pytest.approx(quiet)
    sampled = joint.joint_scenarios(data, sample=True)
    weights = {s.name: s.probability for s in sampled.scenarios}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["quiet year"] == pytest.approx(quiet, abs=0.05)


# --------------------------------------------------------------------------- VaR and CVaR


def test_var_and_cvar_of_a_fixed_portfolio_by_hand(tmp_path):
    """100 t from CHN-CHN, nothing from AUS-JPN, no stock.  A: L = 40 t, 12 t from AUS-JPN's spare (146 days)
    at 45, 28 t unmet, saving 400: R = 540 + 28,000 - 400 = 28,140.  B (and A + B: a = max(0.4, 0.5) = 0.5,
    D = 365) also hits AUS-JPN (mined in AUS), so nothing covers: L = 50 t unmet, saving 500:
    R = 50,000 - 500 = 49,500.  E = 0.096 * 28,140 + 0.04 * 49,500 = 4,681.44.  The worst 5 % is B and A + B
    (0.04 at 49,500) and 0.01 of A's 0.096: VaR_0.95 = 28,140, CVaR_0.95 = (1,980 + 281.4) / 0.05 = 45,228;
    the worst 10 %: (1,980 + 0.06 * 28,140) / 0.1 = 36,684; at alpha 0.97 VaR = CVaR = 49,500."""
    data = make_data(tmp_path, {"supply": SUPPLY, "disruptions": TWO_EVENTS}, {"stockpile_mode": "stochastic"})
    flows, stock = {"li-CHN-CHN": 100.0, "li-AUS-JPN": 0.0}, {"li": 0.0}
    outcomes = scenario_outcomes(data, flows, stock, list(joint.joint_scenarios(data).scenarios), 2030)
    assert dict(zip(outcomes["scenario"], outcomes["extra_cost"])) == pytest.approx(
        {"quiet year": 0.0, "A": 28140.0, "B": 49500.0, "A + B": 49500.0})
    cost, probability = outcomes["extra_cost"], outcomes["probability"]
    assert tail(cost, probability, 0.90) == pytest.approx((28140.0, 36684.0))
    assert tail(cost, probability, 0.95) == pytest.approx((28140.0, 45228.0))
    assert tail(cost, probability, 0.97) == pytest.approx((49500.0, 49500.0))
    assert tail(cost, probability, 0.0) == pytest.approx((0.0, 4681.44))  # alpha 0: CVaR is the mean
    figures = risk_figures(data, flows, stock, 2030, first_stage_cost=1000.0)
    assert (figures["expected_recourse"], figures["var"], figures["cvar"]) == pytest.approx((4681.44, 28140, 45228))
    assert figures["scenarios"] == 4 and figures["expected_cost"] == pytest.approx(5681.44)


def test_the_risk_sheet_by_hand(tmp_path):
    """The Risk sheet of the case above at alpha 0.95: costliest first (A + B and B tie at 49,500: by name),
    each row's chance of a year at least as costly, and its share inside the worst 5 %: A + B and B whole
    (0.04 together), 0.01 of A's 0.096, none of the quiet year; CVaR = sum share p R / 0.05 = 45,228."""
    data = make_data(tmp_path, {"supply": SUPPLY, "disruptions": TWO_EVENTS}, {"stockpile_mode": "stochastic"})
    flows, stock = {"li-CHN-CHN": 100.0, "li-AUS-JPN": 0.0}, {"li": 0.0}
    outcomes = scenario_outcomes(data, flows, stock, list(joint.joint_scenarios(data).scenarios), 2030)
    table = tail_table(outcomes, 0.95)
    assert list(table["scenario"]) == ["A + B", "B", "A", "quiet year"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert list(table["extra_cost"]) == pytest.approx([49500.0, 49500.0, 28140.0, 0.0])
    p = dict(zip(table["scenario"], table["probability"]))
    assert p["A + B"] + p["B"] == pytest.approx(0.04) and p["A"] == pytest.approx(0.096)
    assert list(table["worse_or_equal_probability"]) == pytest.approx([p["A + B"], 0.04, 0.136, 1.0])
    assert list(table["tail_share"]) == pytest.approx([1.0, 1.0, 0.01 / 0.096, 0.0])
    cvar = (table["tail_share"] * table["probability"] * table["extra_cost"]).sum() / 0.05
    assert cvar == pytest.approx(45228.0)


# One event, p = 0.0005: China's refining lost for 146 days; no other route, so a tonne not in stock is unmet.
RARE = {"supply": [route("li-CHN-CHN", 10, 100)], "disruptions": event("cut", 0.0005, ("refine", "CHN", 1.0, 146))}


def test_cvar_hedges_where_the_expectation_does_not_by_hand(tmp_path):
    """L = 40 t.  With stock S <= 40, R = 10 S + 1000 (40 - S) - 400 = 39,600 - 990 S; a tonne of stock costs 1.
    Expected cost: 1 - 0.0005 * 990 > 0, so S = 0 (objective 1000 + 0.0005 * 39,600 = 1019.8).
    CVaR_0.95 at w = 1: the worst 5 % holds the cut (0.0005) and 0.0495 of quiet years, so
    CVaR = 0.0005 R / 0.05 = 0.01 R and S + 0.01 (39,600 - 990 S) falls in S: S = 40, objective 1040."""
    expected = solve_case(tmp_path / "e", RARE, {"stockpile_mode": "stochastic"})
    assert expected.minerals["stockpile_t"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert expected.objective == pytest.approx(1019.8)
    hedged = solve_case(tmp_path / "c", RARE, {"stockpile_mode": "stochastic", "risk_measure": "cvar",
                                                "risk_weight": 1.0, "cvar_alpha": 0.95})
    assert hedged.minerals["stockpile_t"].iloc[0] == pytest.approx(40)
    assert hedged.objective == pytest.approx(1040)
    # Reported figures, evaluated afresh: the hedged portfolio has no tail left; the expected one a tail of 396.
    assert (hedged.risk["first_stage_cost"], hedged.risk["expected_recourse"], hedged.risk["var"],
            hedged.risk["cvar"]) == pytest.approx((1040, 0, 0, 0), abs=1e-6)
    assert (expected.risk["first_stage_cost"], expected.risk["expected_recourse"], expected.risk["var"],
            expected.risk["cvar"]) == pytest.approx((1000, 19.8, 0, 396))
    assert hedged.risk["risk_cost"] == pytest.approx(hedged.objective)


def test_risk_weight_zero_is_the_joint_expectation(tmp_path):
    """w = 0: first stage + E over the joint scenarios, the objective's recourse as the evaluator gives it."""
    results = solve_case(tmp_path, {"supply": SUPPLY, "disruptions": TWO_EVENTS},
                         {"stockpile_mode": "stochastic", "risk_measure": "cvar", "risk_weight": 0.0})
    assert results.objective == pytest.approx(results.risk["first_stage_cost"] + results.risk["expected_recourse"])
    assert results.cost_by_lever["recourse"] == pytest.approx(results.risk["expected_recourse"])


def test_reported_risk_equals_the_evaluator_on_the_default_data(tmp_path, capsys):
    """critmin solve with CVaR on the default stochastic run: summary.json ``risk`` is what the exact
    evaluator gives for each of the 1,024 joint scenarios, and the independent check passes."""
    out = tmp_path / "out"
    code = main(["solve", str(ROOT / STOCHASTIC), "--out", str(out), "--no-forced-in", "--quiet",
                 "--set", 'policy.risk_measure="cvar"'])
    assert code == 0, capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    risk = summary["risk"]
    data = load(ROOT / STOCHASTIC, settings=['policy.risk_measure="cvar"'])
    flows = {o: 0.0 for o in data.routes}
    for row in pd.read_csv(out / "flows.csv").itertuples():
        key = (row.source_id, row.mineral) if row.source_type == "equity" else row.source_id
        if row.source_type != "recycling":
            flows[key] = flows.get(key, 0.0) + row.tonnes
    stock = {m: entry["stockpile_t"] for m, entry in summary["minerals"].items()}
    scenarios = list(joint.joint_scenarios(data).scenarios)
    rows = evaluate(data, flows, stock, scenarios, 2030)  # no cache: each joint scenario from its own rows
    costs = rows.groupby("scenario")["extra_cost"].sum().reindex([s.name for s in scenarios], fill_value=0.0)
    probability = pd.Series({s.name: s.probability for s in scenarios})
    expected = float((costs * probability).sum())
    ordered = sorted(zip(costs, probability))
    cumulative = 0.0
    for cost, p in ordered:
        cumulative += p
        if cumulative >= 0.95 - 1e-12:
            var = cost
            break
    cvar = var + sum(p * max(c - var, 0.0) for c, p in ordered) / 0.05
    assert risk["scenarios"] == 1024 and risk["method"] == "exact"
    assert risk["expected_recourse"] == pytest.approx(expected, rel=1e-7)
    assert risk["var"] == pytest.approx(var, rel=1e-7)
    assert risk["cvar"] == pytest.approx(cvar, rel=1e-7)
    assert risk["first_stage_cost"] + 0.5 * expected + 0.5 * cvar == pytest.approx(summary["objective"], rel=1e-6)
    # The workbook shows the same distribution: the Summary's risk rows, and every joint scenario on the
    # Risk sheet, costliest first, from which E[R] and CVaR add up again.
    import openpyxl

    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    summary_rows = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary_rows["expected recourse E[R]"] == pytest.approx(expected, rel=1e-7)
    assert summary_rows["CVaR of the recourse"] == pytest.approx(cvar, rel=1e-7)
    assert summary_rows["VaR of the recourse"] == pytest.approx(var, rel=1e-7)
    rows = list(book["Risk"].iter_rows(values_only=True))
    header = list(rows[1])
    sheet = pd.DataFrame(rows[2:], columns=header)
    book.close()
    assert len(sheet) == 1024 and sheet["extra_cost"].is_monotonic_decreasing
    assert (sheet["probability"] * sheet["extra_cost"]).sum() == pytest.approx(expected, rel=1e-7)
    assert (sheet["tail_share"] * sheet["probability"] * sheet["extra_cost"]).sum() / 0.05 == pytest.approx(
        cvar, rel=1e-7)
    assert (sheet["tail_share"] * sheet["probability"]).sum() == pytest.approx(0.05, rel=1e-9)


def test_cvar_needs_the_stochastic_mode(tmp_path, capsys):
    code = main(["validate", str(ROOT / "runs" / "base-2030.toml"), "--set", 'policy.risk_measure="cvar"'])
    assert code == 2
    assert "policy.risk_measure" in capsys.readouterr().err


# --------------------------------------------------------------------------- N-1 security

N1_SUPPLY = SUPPLY + [route("li-CHL-CHL", 14, 30)]


def n1_unmet(data, results) -> pd.DataFrame:
    values = {"buy": {(o, 2030): t for o, t in zip(results.flows["source_id"], results.flows["tonnes"])},
              "offtake": {}}
    stock = dict(zip(results.minerals["mineral"], results.minerals["stockpile_t"]))
    return evaluate(data, portfolio_flows(data, values, 2030), stock, n_minus_1(data), 2030)


def test_n_minus_1_by_hand(tmp_path):
    """100 t from CHN; losing China for 90 days (stockpile_days 0) loses 100 * 90/365 t; AUS-JPN and CHL-CHL
    have 60 * 90/365 t of spare capacity over it, so the stock must hold 40 * 90/365 = 9.863 t (moving a
    tonne off China frees as little spare as it saves loss).  With a 5 % tolerance, 5 * 90/365 t less."""
    policy = {"n_minus_1": True}
    data = make_data(tmp_path / "a", {"supply": N1_SUPPLY}, policy)
    results = tidy(data, solve(data))
    assert results.minerals["stockpile_t"].iloc[0] == pytest.approx(40 * 90 / 365)
    assert results.objective == pytest.approx(1000 + 40 * 90 / 365)
    assert n1_unmet(data, results)["unmet_t"].max() == pytest.approx(0, abs=1e-6)
    # Without N-1 nothing is held, and China's loss leaves 40 * 90/365 t unmet.
    plain = make_data(tmp_path / "b", {"supply": N1_SUPPLY})
    bare = tidy(plain, solve(plain))
    assert n1_unmet(plain, bare)["unmet_t"].max() == pytest.approx(40 * 90 / 365)
    tolerant = make_data(tmp_path / "c", {"supply": N1_SUPPLY}, {**policy, "n_minus_1_unmet_share": 0.05})
    loose = tidy(tolerant, solve(tolerant))
    assert loose.minerals["stockpile_t"].iloc[0] == pytest.approx(35 * 90 / 365)
    assert n1_unmet(tolerant, loose)["unmet_t"].max() == pytest.approx(5 * 90 / 365)


def test_n_minus_1_on_the_default_stochastic_run(tmp_path, capsys):
    """Without the run's 60-day floor (which makes the default portfolios N-1 secure) the hedged portfolio leaves
    tonnes unmet when China is lost for 60 days; solved with N-1 it leaves none in critmin stress --n-1
    (and costs more)."""
    codes, unmet, objective = [], [], []
    no_floor = ["--set", "policy.stockpile_min_days=0"]
    for name, extra in (("plain", no_floor), ("secure", no_floor + ["--set", "policy.n_minus_1=true"])):
        out = tmp_path / name
        codes.append(main(["stress", str(ROOT / STOCHASTIC), "--n-1", "--out", str(out), *extra]))
        stress = pd.read_csv(out / "stress.csv")
        unmet.append(stress.loc[stress["scenario"].str.startswith("n-1"), "unmet_t"].max())
        objective.append(json.loads((out / "summary.json").read_text())["objective"])
    assert codes == [0, 0], capsys.readouterr()
    assert unmet[0] > 100
    assert unmet[1] <= 1e-6
    assert objective[1] > objective[0]


# --------------------------------------------------------------------------- the worst K countries

WORST_TABLES = {
    "supply": [route("li-CHN-CHN", 10, 60), route("li-AUS-CHN", 11, 40), route("li-AUS-JPN", 15, 30),
               route("li-CHL-CHL", 14, 30), route("li-COD-CHN", 9, 20), route("li-CHL-JPN", 16, 25)],
}


def test_worst_k_is_brute_force(tmp_path):
    """Every set of K countries evaluated from its own rows (no shared constants) gives the same maxima."""
    data = make_data(tmp_path, WORST_TABLES)  # no stock; each country lost for 90 days
    results = tidy(data, solve(data))
    values = {"buy": {(o, 2030): t for o, t in zip(results.flows["source_id"], results.flows["tonnes"])},
              "offtake": {}}
    flows = portfolio_flows(data, values, 2030)
    stock = dict(zip(results.minerals["mineral"], results.minerals["stockpile_t"]))
    countries = foreign_countries(data)
    assert countries == ["AUS", "CHL", "CHN", "COD"]
    for k in (1, 2, 3):
        found = worst_sets(data, flows, stock, 2030, k)
        brute = {}
        for combo in itertools.combinations(countries, k):
            rows = tuple(hit for c in combo for hit in country_loss(data, c).hits)
            table = evaluate(data, flows, stock, [Scenario("x", 0.0, rows)], 2030)
            brute[combo] = (table["extra_cost"].sum(), table["unmet_t"].sum())
        assert found["sets_evaluated"] == math.comb(4, k) == len(brute)
        costliest = max(brute.values(), key=lambda v: v[0])
        assert found["costliest"][0]["extra_cost"] == pytest.approx(costliest[0])
        assert brute[tuple(found["costliest"][0]["countries"])][0] == pytest.approx(costliest[0])
        most = max(v[1] for v in brute.values())
        if most > 1e-6:
            assert found["most_unmet"][0]["unmet_t"] == pytest.approx(most)
        else:
            assert found["most_unmet"] == []
    # By hand: the cheapest 100 t (COD-CHN 20, CHN-CHN 60, AUS-CHN 20) are all refined in China.  Losing China
    # and Congo loses 100 * 90/365 t; AUS-JPN, CHL-CHL and CHL-JPN have 85 * 90/365 t spare: 15 * 90/365 unmet.
    assert (flows["li-COD-CHN"], flows["li-CHN-CHN"], flows["li-AUS-CHN"]) == pytest.approx((20, 60, 20))
    both = evaluate(data, flows, stock, [Scenario("x", 0.0, country_loss(data, "CHN").hits
                                                  + country_loss(data, "COD").hits)], 2030)
    assert both["lost_t"].sum() == pytest.approx(100 * 90 / 365)
    assert both["unmet_t"].sum() == pytest.approx(15 * 90 / 365)
    # Losing China and Chile as well leaves the most unmet of any pair: only AUS-JPN's 30 t of spare remain.
    assert worst_sets(data, flows, stock, 2030, 2)["most_unmet"][0]["unmet_t"] == pytest.approx(70 * 90 / 365)


def test_stress_worst_writes_the_sets(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["stress", str(ROOT / "runs" / "base-2030.toml"), "--worst", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    worst = json.loads((out / "summary.json").read_text())["stress"]["worst"]
    assert worst["k"] == 2 and worst["sets_evaluated"] == math.comb(worst["countries_considered"], 2)
    assert "exhaustive" in worst["method"] and worst["costliest"][0]["countries"][0] in printed
    stress = pd.read_csv(out / "stress.csv")
    assert ("lose " + " + ".join(worst["costliest"][0]["countries"])) in set(stress["scenario"])
    assert main(["stress", str(ROOT / "runs" / "base-2030.toml"), "--worst", "99", "--out", str(out)]) == 2


# --------------------------------------------------------------------------- price shocks

# China's refiners cut a quarter of the flow for 73 days (0.2 of a year) and treble the price of the rest.
SHOCK = event("squeeze", 0.1, ("refine", "CHN", 0.25, 73, 3.0))


def test_price_shock_by_hand(tmp_path):
    """a = 0.25 * 0.2 = 0.05: L = 5 t, saving 0.05 * 10 * 100 = 50.  P = (1 - 0.25) * (3 - 1) * 0.2 = 0.3:
    the tonnes that arrive cost 0.3 * 10 * 100 = 300 more.  With no stock the 5 t come from AUS-JPN's spare
    (30 * 0.2 = 6 t) at 45: R = 225 - 50 + 300 = 475.  Hedged (p = 0.1): 5 t of stock (1 a year each) replace
    45/t by 10/t (0.1 * 35 = 3.5 a tonne saved): R = 50 - 50 + 300 = 300, objective 1000 + 5 + 30 = 1035."""
    data = make_data(tmp_path / "a", {"supply": SUPPLY, "disruptions": SHOCK})
    [row] = evaluate(data, {"li-CHN-CHN": 100.0, "li-AUS-JPN": 0.0}, {"li": 0.0}, scenarios_from_data(data),
                     2030).to_dict("records")
    assert (row["lost_t"], row["emergency_t"], row["price_shock_cost"]) == pytest.approx((5, 5, 300))
    assert row["extra_cost"] == pytest.approx(475)
    hedged = solve_case(tmp_path / "b", {"supply": SUPPLY, "disruptions": SHOCK}, {"stockpile_mode": "stochastic"})
    assert hedged.minerals["stockpile_t"].iloc[0] == pytest.approx(5)
    assert hedged.objective == pytest.approx(1035)
    assert hedged.cost_by_lever["recourse"] == pytest.approx(30)
    # A price shock alone (nothing lost) still costs: P = 2 * 0.2 = 0.4 of the year's purchase, 400.
    alone = event("price-only", 0.1, ("refine", "CHN", 0.0, 73, 3.0))
    only = solve_case(tmp_path / "c", {"supply": SUPPLY, "disruptions": alone}, {"stockpile_mode": "stochastic"})
    assert only.objective == pytest.approx(1000 + 0.1 * 400)


def test_price_factor_below_one_is_refused(tmp_path, capsys):
    from critmin.errors import InputError

    with pytest.raises(InputError) as error:
        make_data(tmp_path, {"supply": SUPPLY, "disruptions": event("x", 0.1, ("refine", "CHN", 0.5, 30, 0.5))})
    assert any(p.column == "price_factor" and "at least 1" in p.message for p in error.value.problems)


# --------------------------------------------------------------------------- the risk frontier


def test_sweep_draws_the_risk_frontier_by_hand(tmp_path, capsys):
    """The RARE case swept over risk_weight: w = 0 holds no stock (expected cost 1000 + 19.8, CVaR 396), w = 0.5
    and 1 hold 40 t (expected cost 1040, CVaR 0).  sweep.csv carries the figures, sweep.xlsx a Risk frontier."""
    import openpyxl

    write_dataset(tmp_path / "data", {**BASE_TABLES, **RARE})
    run = tmp_path / "rare.toml"
    run.write_text('name = "rare"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 1.0\nstockpile_days = 0\n'
                   'discount_rate = 0.0\nstockpile_mode = "stochastic"\nrisk_measure = "cvar"\n'
                   "[solver]\nmip_rel_gap = 0.0\n")
    out = tmp_path / "out"
    assert main(["sweep", str(run), "--set", "policy.risk_weight=0,0.5,1", "--out", str(out), "--workers", "1",
                 "--quiet"]) == 0, capsys.readouterr()
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["risk_expected_cost"]) == pytest.approx([1019.8, 1040, 1040])
    assert list(table["risk_cvar"]) == pytest.approx([396, 0, 0], abs=1e-6)
    sheet = openpyxl.load_workbook(out / "sweep.xlsx")["Risk frontier"]
    assert [sheet.cell(1, j).value for j in range(1, 5)] == ["point", "CVaR, millions", "expected cost, millions",
                                                              "VaR, millions"]
    assert sheet.cell(2, 2).value == pytest.approx(396 / 1e6) and len(sheet._charts) == 1


def test_the_default_frontier_is_monotone():
    """As risk_weight grows the expected cost never falls and the CVaR never rises (within the solver's gap)."""
    import dataclasses

    base = load(ROOT / STOCHASTIC)
    points = []
    for weight in (0.0, 0.5, 1.0):
        policy = dataclasses.replace(base.run.policy, risk_measure="cvar", risk_weight=weight)
        data = dataclasses.replace(base, run=dataclasses.replace(base.run, policy=policy))
        risk = tidy(data, solve(data)).risk
        points.append((risk["expected_cost"], risk["cvar"]))
    tolerance = 1e-6 * points[0][0]
    for (cost, cvar), (later_cost, later_cvar) in zip(points, points[1:]):
        assert later_cost >= cost - tolerance and later_cvar <= cvar + tolerance
    assert points[-1][1] < points[0][1] - 1e6  # the hedge buys down the tail by millions


# --------------------------------------------------------------------------- verify checks N-1 and the risk block


def test_verify_recomputes_the_risk_block_and_the_n_minus_1_rows(tmp_path, capsys):
    """A CVaR run with N-1 passes the independent check; a stated CVaR off by 1 %, or a stock cut below what
    N-1 needs, fails it (verify evaluates every joint scenario and every N-1 loss again)."""
    from critmin.results.verify import verify_files

    out = tmp_path / "out"
    settings = ['policy.risk_measure="cvar"', "policy.n_minus_1=true"]
    code = main(["solve", str(ROOT / STOCHASTIC), "--out", str(out), "--no-forced-in", "--quiet",
                 *[part for s in settings for part in ("--set", s)]])
    assert code == 0, capsys.readouterr()
    data = load(ROOT / STOCHASTIC, settings=settings)
    assert verify_files(data, out).passed
    path = out / "summary.json"
    summary = json.loads(path.read_text())
    original = json.dumps(summary)
    summary["risk"]["cvar"] *= 1.01
    path.write_text(json.dumps(summary))
    report = verify_files(data, out)
    assert not report.passed and not report.families["reported"].passed
    path.write_text(original)
    assert verify_files(data, out).passed
    import openpyxl

    from critmin.results.portfolio import sha256

    workbook = out / "results.xlsx"
    kept = workbook.read_bytes()
    for title, label in (("Risk", None), ("Summary", "CVaR of the recourse"), ("Risk", "delete")):
        book = openpyxl.load_workbook(workbook)
        if label == "delete":
            del book["Risk"]
        elif label is None:
            book["Risk"]["E3"].value *= 0.98  # the costliest scenario's extra_cost
        else:
            sheet = book["Summary"]
            row = next(i for i, r in enumerate(sheet.iter_rows(max_col=1, values_only=True), start=1) if r[0] == label)
            sheet.cell(row, 2).value *= 1.01
        book.save(workbook)
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["outputs"]["results.xlsx"] = sha256(workbook)
        (out / "manifest.json").write_text(json.dumps(manifest))
        report = verify_files(data, out)
        assert not report.families["workbook"].passed, (title, label)
        assert any("Risk" in line if title == "Risk" else "Summary" in line for line in report.failures())
        workbook.write_bytes(kept)
    summary = json.loads(original)
    for entries in [summary["minerals"], *summary["by_year"].values()]:
        entries["graphite"]["stockpile_t"] = 0.0
    path.write_text(json.dumps(summary))
    report = verify_files(data, out)
    assert not report.families["stockpile"].passed
    assert any("N-1" in line for line in report.failures())
