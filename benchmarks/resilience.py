"""The value of resilience on the default data (prints the README table).

    python benchmarks/resilience.py

Three portfolios, each stressed against the dataset's disruption scenarios:
(a) the cheapest with no country cap and no stock, (b) the base run (65 %
cap, JOGMEC's stock floor), (c) the stochastic run (65 % cap, stock and portfolio
chosen against the scenarios).  Expected annual cost = the portfolio's
annual cost without recourse + the probability-weighted extra cost of the
scenarios; expected unmet = probability-weighted unmet tonnes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from critmin.inputs.data import load, prepare
    from critmin.inputs.disruptions import scenarios_from_data
    from critmin.optimization.solve import solve
    from critmin.results.stress import evaluate, expected, portfolio_flows
    from critmin.results.tables import tidy

    base = load(ROOT / "runs" / "base-2030.toml")
    cases = {
        "(a) cheapest: no cap, no stock": dict(country_cap=1.0, stockpile_days=0.0, stockpile_min_days=0.0),
        "(b) base: 65 % cap, JOGMEC floor": {},
        "(c) stochastic: 65 % cap, hedged": dict(stockpile_mode="stochastic"),
    }
    scenarios = scenarios_from_data(base)
    year = max(base.years)
    print(f"{'portfolio':<36}{'annual cost':>14}{'exp. extra':>12}{'exp. total':>14}{'exp. unmet t':>14}"
          f"{'stock t (all)':>15}")
    for label, policy in cases.items():
        run = dataclasses.replace(base.run, policy=dataclasses.replace(base.run.policy, **policy),
                                  solver=dataclasses.replace(base.run.solver, mip_rel_gap=1e-4))
        data = prepare(base.dataset, run)
        if policy.get("stockpile_min_days") == 0.0:  # no stock: the minerals' own floors go too
            data = dataclasses.replace(data, minerals={m: dataclasses.replace(v, stockpile_min_days=None)
                                                       for m, v in data.minerals.items()})
        outcome = solve(data)
        results = tidy(data, outcome)
        values = outcome.solution.values
        stock = {m: values["stock"][m, year] for m in data.minerals}
        stress = evaluate(data, portfolio_flows(data, values, year), stock, scenarios, year)
        risk = expected(stress)
        first_stage = results.objective - results.cost_by_lever.get("recourse", 0.0)
        print(f"{label:<36}{first_stage / 1e9:>12.3f}bn{risk['expected_extra_cost'] / 1e6:>10.1f}m"
              f"{(first_stage + risk['expected_extra_cost']) / 1e9:>12.3f}bn{risk['expected_unmet_t']:>14,.0f}"
              f"{sum(stock.values()):>15,.0f}")
    print("USD per year; expectations over", len(scenarios), "scenarios of data/japan-2030/disruptions.csv")


if __name__ == "__main__":
    main()
