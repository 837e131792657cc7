"""Explain an infeasible run from its elastic solution.

The elastic re-solve gives every limit that can make the strict model
infeasible a penalised slack (``optimization.build.RELAXABLE``).  Per
mineral and year with any slack in use: each limit relaxed and by how much
(tonnes, and share of the year's requirement), and which limits sit at their
bounds in the elastic optimum, i.e. what stops more supply: the country
caps, route maxima, project entitlements, projects not yet on stream,
recycling feedstock and plant capacity, the investment budget and the policy
limits.
"""

from __future__ import annotations

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.runfile import STAGES
from ..optimization.types import RELAXABLE, Solution
from .portfolio import built_in, start_year

# Tonnes within this fraction of a bound count as at the bound.
AT_BOUND = 1e-6


def _at(value: float, bound: float) -> bool:
    return bound > 0 and value >= bound * (1 - AT_BOUND) - 1e-9


def diagnose(data: ModelData, solution: Solution, flows: pd.DataFrame, shares: pd.DataFrame) -> list[dict]:
    values = solution.values
    report = []
    budget_used = (sum(data.projects[p].capex * v for (p, _), v in values["stake_start"].items())
                   + sum(data.plants[k].capex * v for (k, _), v in values["plant_start"].items()))
    budget = data.policy.investment_budget
    budget_binds = budget is not None and any(
        start_year(data, values, "stake_start", name) is None and budget_used + p.capex > budget * (1 + AT_BOUND)
        for name, p in data.projects.items() if data.project_available(name, max(data.years)) and not p.committed)
    relaxed = relaxations(data, values)
    for t in data.years:
        for m in data.minerals:
            unmet = values["shortfall"].get((m, t), 0.0)
            recycling_gap = values["recycling_gap"].get((m, t), 0.0)
            ally_gaps = {g: values["ally_gap"].get((g, m, t), 0.0) for g in STAGES}
            mine = [r for r in relaxed if r["mineral"] == m and r["year"] == t]
            if not mine:
                continue
            report.append(dict(year=t, mineral=m, target_t=data.target[m, t], unmet_t=unmet,
                               recycling_floor_unmet_t=recycling_gap,
                               ally_floor_unmet_t={g: v for g, v in ally_gaps.items() if v > 0},
                               relaxed=[{k: v for k, v in r.items() if k not in ("mineral", "year")} for r in mine],
                               available_t=_available(data, m, t),
                               binding=_binding_limits(data, values, shares, m, t, budget_binds, budget_used)))
    return report


def relaxations(data: ModelData, values: dict) -> list[dict]:
    """Every elastic slack in use: the limit, where it sits, and by how much it was relaxed
    (``relaxed_t``; ``share_of_target``: that over the year's requirement)."""
    rows = []
    for name, (limit, position, _) in RELAXABLE.items():
        for key, tonnes in sorted((values.get(name) or {}).items()):
            m, t = key[position], key[-1]
            target = data.target[m, t]
            if tonnes <= AT_BOUND * max(1.0, target):
                continue
            rows.append(dict(year=t, mineral=m, limit=limit, where=_where(data, name, key), relaxed_t=tonnes,
                             share_of_target=tonnes / target if target > 0 else None,
                             bound_t=_bound(data, name, key)))
    return rows


def _where(data: ModelData, name: str, key: tuple) -> str:
    """Which row of the limit, in words."""
    if name == "cap_gap":
        _, stage, country, _ = key
        return f"{country} at the {stage} stage"
    if name == "any_stage_gap":
        return f"{key[1]} at any stage"
    if name == "ally_gap":
        return f"{key[0]} stage"
    if name == "take_or_pay_gap":
        return f"committed stake {key[0]}"
    return ""


def _bound(data: ModelData, name: str, key: tuple) -> float | None:
    """The limit's level in tonnes at the row (before relaxing), where it is a level."""
    policy = data.policy
    m, t = (key[1], key[-1]) if name in ("ally_gap", "take_or_pay_gap") else (key[0], key[-1])
    target = data.target[m, t]
    if name == "shortfall":
        return target
    if name == "cap_gap":
        return policy.cap(m) * target
    if name == "any_stage_gap":
        return policy.any_stage_cap * target
    if name == "conflict_gap":
        return policy.conflict_max_share * target
    if name == "ally_gap":
        return policy.ally_min_share.get(key[0], 0.0) * target
    if name == "recycling_gap":
        return policy.min_recycling_share.get(m, 0.0) * target
    if name == "take_or_pay_gap":
        offtake = data.offtakes[key[0], key[1]]
        return offtake.min_take * offtake.offtake_t
    if name == "stock_floor_gap":
        return data.floor_days(m) / 365.0 * target
    if name == "stock_move_gap":
        return data.minerals[m].max_stock_build_t
    return None


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
    full = [p for p, mm in data.offtakes_of(m)
            if _at(values["offtake"].get((p, mm, t), 0.0), data.offtakes[p, mm].offtake_t)]
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
        stream = data.recycling[m].stream
        capacity = sum(k.capacity_t for name, k in data.plants.items()
                       if k.stream == stream and built_in(data, values, "plant_start", name, t))
        if capacity > 0 and _at(sum(values["feed"].get((mm, t), 0.0) for mm in data.stream_minerals[stream]), capacity):
            limits.append(f"recycling plant capacity of the {stream} stream full ({capacity:,.0f} t)")
    if budget_binds:
        limits.append(f"investment budget: {budget_used:,.0f} of {data.policy.investment_budget:,.0f} used; "
                      "no further project fits")
    if data.policy.conflict_max_share < 1:
        # the same flows define_policy_limits caps: routes and offtakes mined in a conflict-affected country
        conflict = sum(data.share_in(o, data.conflict) * values["buy"].get((o, t), 0.0) for o in data.routes_of(m))
        conflict += sum(data.share_in((p, mm), data.conflict) * values["offtake"].get((p, mm, t), 0.0)
                        for p, mm in data.offtakes_of(m))
        if _at(conflict, data.policy.conflict_max_share * data.target[m, t]):
            limits.append(f"conflict-affected share at its limit ({data.policy.conflict_max_share:.0%})")
    if not limits:
        limits.append("no single limit at its bound: the shortfall is cheaper than any remaining supply "
                      "(check shortfall_penalty)")
    return limits
