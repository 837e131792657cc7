"""Explain an infeasible run from its elastic solution.

Per mineral with unmet tonnes (or an unmet recycling or ally floor): how
much is missing and which limits sit at their bounds in the elastic
optimum, i.e. what stops more supply: the country caps, route maxima,
project entitlements, projects not yet on stream, recycling feedstock and
plant capacity, the investment budget and the policy limits.
"""

from __future__ import annotations

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.runfile import STAGES
from ..optimization.solve import Solution
from .tables import built_in, start_year

# Tonnes within this fraction of a bound count as at the bound.
AT_BOUND = 1e-6


def _at(value: float, bound: float) -> bool:
    return bound > 0 and value >= bound * (1 - AT_BOUND) - 1e-9


def diagnose(data: ModelData, solution: Solution, flows: pd.DataFrame, shares: pd.DataFrame) -> list[dict]:
    values = solution.values
    report = []
    budget_used = (sum(data.projects[p].capex * v for (p, _), v in values["stake"].items())
                   + sum(data.plants[k].capex * v for (k, _), v in values["build"].items()))
    budget = data.policy.investment_budget
    budget_binds = budget is not None and any(
        start_year(data, values, "stake", name) is None and budget_used + p.capex > budget * (1 + AT_BOUND)
        for name, p in data.projects.items() if data.project_available(name, max(data.years)) and not p.committed)
    for t in data.years:
        for m in data.minerals:
            unmet = values["shortfall"].get((m, t), 0.0)
            recycling_gap = values["recycling_gap"].get((m, t), 0.0)
            ally_gaps = {g: values["ally_gap"].get((g, m, t), 0.0) for g in STAGES}
            if unmet <= 0 and recycling_gap <= 0 and not any(v > 0 for v in ally_gaps.values()):
                continue
            report.append(dict(year=t, mineral=m, target_t=data.target[m, t], unmet_t=unmet,
                               recycling_floor_unmet_t=recycling_gap,
                               ally_floor_unmet_t={g: v for g, v in ally_gaps.items() if v > 0},
                               available_t=_available(data, m, t),
                               binding=_binding_limits(data, values, shares, m, t, budget_binds, budget_used)))
    return report


def _available(data: ModelData, m: str, year: int) -> float:
    """Most tonnes any portfolio could bring in ``year``, ignoring caps and budget."""
    routes = sum(data.routes[o].max_t for o in data.routes_in(m, year))
    equity = sum(data.offtakes[pm].offtake_t for pm in data.offtakes_of(m) if data.project_available(pm[0], year))
    recycling = data.feedstock_t(m, year) * data.recycling[m].recovery_rate if m in data.recycling else 0.0
    return routes + equity + recycling


def _binding_limits(data, values, shares, m, t, budget_binds, budget_used) -> list[str]:
    limits = []
    capped = shares[(shares["year"] == t) & (shares["mineral"] == m) & shares["binding"]]
    for row in capped.itertuples():
        limits.append(f"country cap {row.country} at the {row.stage} stage: {row.tonnes:,.0f} t = "
                      f"{row.cap:.0%} of the target")
    at_max = [o for o in data.routes_in(m, t) if _at(values["buy"].get((o, t), 0.0), data.routes[o].max_t)]
    if at_max:
        limits.append("route maximum reached on " + ", ".join(
            f"{o} ({data.routes[o].max_t:,.0f} t)" for o in at_max))
    full = [p for p, mm in data.offtakes_of(m) if _at(values["offtake"].get((p, mm, t), 0.0), data.offtakes[p, mm].offtake_t)]
    if full:
        limits.append("full project entitlement taken from " + ", ".join(full))
    late = [p for p, _ in data.offtakes_of(m) if not data.project_available(p, t)]
    if late:
        limits.append("not on stream by " + str(t) + ": " + ", ".join(
            f"{p} (from {data.projects[p].available_from})" for p in late))
    if m in data.recycling:
        feed = values["feed"].get((m, t), 0.0)
        if _at(feed, data.feedstock_t(m, t)):
            limits.append(f"recycling feedstock exhausted ({data.feedstock_t(m, t):,.0f} t)")
        capacity = sum(k.capacity_t for name, k in data.plants.items() if built_in(data, values, "build", name, t))
        if capacity > 0 and _at(sum(values["feed"].get((mm, t), 0.0) for mm in data.recycling), capacity):
            limits.append(f"recycling plant capacity full ({capacity:,.0f} t)")
    if budget_binds:
        limits.append(f"investment budget: {budget_used:,.0f} of {data.policy.investment_budget:,.0f} used; "
                      "no further project fits")
    if data.policy.conflict_max_share < 1:
        # the same flows define_policy_limits caps: routes and offtakes mined in a conflict-affected country
        conflict = sum(values["buy"].get((o, t), 0.0) for o in data.routes_of(m)
                       if data.routes[o].mine_country in data.conflict)
        conflict += sum(values["offtake"].get((p, mm, t), 0.0) for p, mm in data.offtakes_of(m)
                        if data.projects[p].mine_country in data.conflict)
        if _at(conflict, data.policy.conflict_max_share * data.target[m, t]):
            limits.append(f"conflict-affected share at its limit ({data.policy.conflict_max_share:.0%})")
    if not limits:
        limits.append("no single limit at its bound: the shortfall is cheaper than any remaining supply "
                      "(check shortfall_penalty)")
    return limits
