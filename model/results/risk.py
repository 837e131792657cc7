"""Risk figures of a fixed portfolio: expected recourse, VaR and CVaR over the joint scenarios.

docs/model.md §12.  With the first stage fixed, each joint scenario ``s``
(probability ``pi_s``, ``inputs.scenarios``) has the extra cost ``R_s``
that the exact evaluator (``results.stress.evaluate``) gives when it
minimises the scenario's recourse on its own, summed over the minerals.
Then, for the confidence level ``alpha``:

    E[R]            = sum_s pi_s R_s
    VaR_alpha[R]    = min { z : sum_{s: R_s <= z} pi_s >= alpha }        (the alpha-quantile)
    CVaR_alpha[R]   = VaR + 1/(1 - alpha) sum_s pi_s max(R_s - VaR, 0)   (Rockafellar-Uryasev at eta = VaR)

CVaR is the mean of the worst ``1 - alpha`` of the probability mass (a
scenario straddling the boundary counts with the part of its mass inside).
These are never read off the model's recourse variables: with
``risk_weight = 1`` the model leaves the recourse of scenarios below VaR
free, so they need not be each scenario's least cost.

``recourse_lever`` is the objective's recourse term recomputed this way, as
``critmin verify`` checks it.  No Pyomo: plain data in, plain data out.
"""

from __future__ import annotations

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.disruptions import Scenario
from ..inputs.scenarios import Distribution, joint_scenarios, recourse_scenarios
from ..optimization.types import Solution
from .stress import evaluate, portfolio_flows

# Probabilities are summed in floating point: a cumulative mass within this of alpha has reached it.
MASS_TOLERANCE = 1e-12
WORST_LISTED = 5
# The results.xlsx Summary's "Disruption risk" rows (writers.outputs): label -> summary.json ``risk`` key;
# critmin verify reads them back by these labels.
SUMMARY_ROWS = {"expected recourse E[R]": "expected_recourse", "VaR of the recourse": "var",
                "CVaR of the recourse": "cvar", "expected cost (first stage + E[R])": "expected_cost",
                "probability of a loss": "probability_of_loss", "expected unmet (t)": "expected_unmet_t"}


def scenario_outcomes(data: ModelData, flows: dict, stock: dict[str, float], scenarios: list[Scenario],
                      year: int, cache: dict | None = None) -> pd.DataFrame:
    """One row per scenario (in the order given): ``scenario``, ``probability``, ``extra_cost`` R_s and
    ``unmet_t`` (summed over its minerals; 0 for a scenario that touches nothing, such as the quiet year)."""
    table = evaluate(data, flows, stock, scenarios, year, {} if cache is None else cache)
    summed = table.groupby("scenario", sort=False)[["extra_cost", "unmet_t"]].sum()
    names = [s.name for s in scenarios]
    return pd.DataFrame({"scenario": names, "probability": [s.probability for s in scenarios],
                         "extra_cost": [float(summed["extra_cost"].get(n, 0.0)) for n in names],
                         "unmet_t": [float(summed["unmet_t"].get(n, 0.0)) for n in names]})


def tail(costs, probabilities, alpha: float) -> tuple[float, float]:
    """(VaR_alpha, CVaR_alpha) of a discrete distribution (costs with probabilities summing to 1)."""
    pairs = sorted(zip(costs, probabilities))
    if not pairs:
        return 0.0, 0.0
    cumulative, var = 0.0, pairs[-1][0]
    for cost, probability in pairs:
        cumulative += probability
        if cumulative >= alpha - MASS_TOLERANCE:
            var = cost
            break
    excess = sum(p * max(c - var, 0.0) for c, p in pairs)
    return var, var + excess / (1.0 - alpha)


def recourse_lever(data: ModelData, flows: dict, stock: dict[str, float], year: int) -> float:
    """The objective's recourse term in ``year`` for a fixed first stage, each scenario's recourse minimised
    on its own: sum_e p_e R_e over the events alone (risk_measure "expected"), or (1 - w) E[R] + w CVaR_alpha[R]
    over the joint scenarios ("cvar"); 0 in rule mode."""
    scenarios, distribution = recourse_scenarios(data)
    if not scenarios:
        return 0.0
    outcomes = scenario_outcomes(data, flows, stock, scenarios, year)
    expected = float((outcomes["probability"] * outcomes["extra_cost"]).sum())
    weight = data.policy.risk_weight if distribution is not None else 0.0
    if weight <= 0:
        return expected
    _, cvar = tail(outcomes["extra_cost"], outcomes["probability"], data.policy.cvar_alpha)
    return (1.0 - weight) * expected + weight * cvar


def tail_table(outcomes: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The results.xlsx Risk sheet: every joint scenario, costliest first (ties by name), with
    ``worse_or_equal_probability`` (the probability of a cost at least this one's: its own and every row
    above) and ``tail_share``, the share of its probability inside the worst 1 - alpha of the mass, so that

        CVaR_alpha = sum_s tail_share_s pi_s R_s / (1 - alpha)

    (a scenario straddling the boundary counts in part, as in ``tail``)."""
    table = outcomes.sort_values(["extra_cost", "scenario"], ascending=[False, True], kind="stable")
    left, shares = 1.0 - alpha, []
    for probability in table["probability"]:
        inside = min(probability, max(left, 0.0)) if left > MASS_TOLERANCE else 0.0
        shares.append(inside / probability if probability > 0 else 0.0)
        left -= probability
    return pd.DataFrame({"rank": range(1, len(table) + 1), "scenario": table["scenario"].to_numpy(),
                         "probability": table["probability"].to_numpy(),
                         "worse_or_equal_probability": table["probability"].cumsum().clip(upper=1.0).to_numpy(),
                         "extra_cost": table["extra_cost"].to_numpy(), "unmet_t": table["unmet_t"].to_numpy(),
                         "tail_share": shares})


def risk_figures(data: ModelData, flows: dict, stock: dict[str, float], year: int, first_stage_cost: float,
                 distribution: Distribution | None = None, outcomes: pd.DataFrame | None = None) -> dict:
    """summary.json ``risk`` for a fixed portfolio in ``year``: the joint scenarios' expected recourse, VaR
    and CVaR at cvar_alpha (the exact evaluator on each, unless their ``scenario_outcomes`` are given), the
    first-stage cost, and the costliest scenarios."""
    policy = data.policy
    distribution = distribution or joint_scenarios(data)
    if outcomes is None:
        outcomes = scenario_outcomes(data, flows, stock, list(distribution.scenarios), year)
    probability, cost = outcomes["probability"], outcomes["extra_cost"]
    expected = float((probability * cost).sum())
    var, cvar = tail(cost, probability, policy.cvar_alpha)
    weight = policy.risk_weight if policy.risk_measure == "cvar" else 0.0
    worst = outcomes.sort_values(["extra_cost", "scenario"], ascending=[False, True]).head(WORST_LISTED)
    return {
        "measure": policy.risk_measure,
        "alpha": policy.cvar_alpha,
        "risk_weight": policy.risk_weight,
        "year": year,
        "first_stage_cost": first_stage_cost,
        "expected_recourse": expected,
        "var": var,
        "cvar": cvar,
        "expected_cost": first_stage_cost + expected,
        "risk_cost": first_stage_cost + (1.0 - weight) * expected + weight * cvar,
        "expected_unmet_t": float((probability * outcomes["unmet_t"]).sum()),
        "probability_of_loss": float(probability[cost > 0].sum()),
        "scenarios": len(outcomes),
        "method": distribution.method,
        "events": len(distribution.events),
        "samples": distribution.draws,
        "seed": distribution.seed,
        "distribution": distribution.describe(),
        "worst": [{"scenario": r["scenario"], "probability": r["probability"], "extra_cost": r["extra_cost"],
                   "unmet_t": r["unmet_t"]} for r in worst.to_dict("records")],
    }


def risk_report(data: ModelData, solution: Solution, costs: pd.DataFrame) -> dict | None:
    """``risk_figures`` for a solved stochastic-mode portfolio in its last planned year (None in rule mode,
    without disruptions or without a strict solution); the first-stage cost is the year's undiscounted cost
    of every lever but the recourse, from the ``costs`` table (results.tables.cost_table)."""
    found = portfolio_risk(data, solution, costs)
    return found[0] if found else None


def portfolio_risk(data: ModelData, solution: Solution, costs: pd.DataFrame) -> tuple[dict, pd.DataFrame] | None:
    """``risk_report`` and its ``tail_table``, from one evaluation of the joint scenarios."""
    if data.policy.stockpile_mode != "stochastic" or not len(data.dataset["disruptions"]) or not solution.values:
        return None
    year = max(data.years)
    flows = portfolio_flows(data, solution.values, year)
    stock = {m: solution.values.get("stock", {}).get((m, year), 0.0) for m in data.minerals}
    in_year = costs[(costs["year"] == year) & (costs["lever"] != "recourse")]
    distribution = joint_scenarios(data)
    outcomes = scenario_outcomes(data, flows, stock, list(distribution.scenarios), year)
    figures = risk_figures(data, flows, stock, year, float(in_year["cost"].sum()), distribution, outcomes)
    return figures, tail_table(outcomes, data.policy.cvar_alpha)
