"""Forced-in costs: what it would cost to take each project or plant the optimum leaves out.

For every project or recycling plant that the solved portfolio does not
choose (and that is neither committed nor excluded, and can start in a
planned year), the run is solved again with it forced in
(``policy.force_projects``); its forced-in cost is the increase of the
objective, in the objective's own terms (annual cost; a pathway's discounted
total).  Where forcing it in leaves no feasible portfolio the cost is
``None`` with a reason.  Only a proven optimum is a baseline (``optimization.solve``
skips this step after a time-limited stop).

Both solves stop within ``solver.mip_rel_gap`` of their optimum, so a
forced-in cost is exact to within that gap times the objective (a proven
1e-6 run: a few thousand on a cost of billions); ``tolerance`` states it.
The re-solves are independent and run in parallel worker processes (one
HiGHS thread each) when there are several.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from ..inputs.data import ModelData


def candidates(data: ModelData, chosen_projects: set[str], built_plants: set[str]) -> list[tuple[str, str]]:
    """(kind, id) of every project and plant that could be forced in but was not chosen, sorted."""
    policy = data.policy
    excluded = set(getattr(policy, "exclude_projects", ()))
    forced = set(getattr(policy, "force_projects", ()))
    out = []
    for p, project in sorted(data.projects.items()):
        if not (project.committed or p in chosen_projects or p in excluded or p in forced):
            out.append(("project", p))
    for k, plant in sorted(data.plants.items()):
        if not (plant.committed or k in built_plants or k in excluded or k in forced):
            out.append(("plant", k))
    return out


def forced_in_costs(data: ModelData, objective: float, chosen_projects: set[str], built_plants: set[str],
                    workers: int | None = None, binaries: dict | None = None) -> dict:
    """{"rows": [{kind, id, forced_in_cost, forced_objective, start_year, reason}], "seconds", "tolerance"}.

    ``binaries`` ({variable name: {index: value}}, the solved portfolio's yes/no choices) warm-starts
    each re-solve: the same choices with the forced one added in its first possible year, a partial
    solution HiGHS completes and, when it is feasible, searches from."""
    start = time.perf_counter()
    todo = candidates(data, chosen_projects, built_plants)
    from ..executors import Executor, run_tasks

    results: dict[tuple[str, str], tuple] = {}
    run_tasks(_forced_solve, data, [(item, (item, binaries)) for item in todo],
              Executor(None, workers or (os.cpu_count() or 1)), results.__setitem__)
    rows = []
    for kind, name in todo:
        forced_objective, start_year, reason = results[kind, name]
        rows.append(dict(kind=kind, id=name, forced_in_cost=None if forced_objective is None
                         else forced_objective - objective, forced_objective=forced_objective,
                         start_year=start_year, reason=reason))
    gap = data.run.solver.mip_rel_gap
    return {"rows": rows, "seconds": time.perf_counter() - start, "tolerance": 2 * gap * abs(objective)}


def _forced_solve(data: ModelData, task: tuple) -> tuple[float | None, int | None, str | None]:
    from .build import build_model
    from .highs import NoSolutionError, solve_model, solver_options

    (kind, name), binaries = task
    available = data.projects[name].available_from if kind == "project" else data.plant_from(name)
    if available > data.years[-1]:
        return None, None, f"not available before {available}, after the last planned year {data.years[-1]}"
    policy = replace(data.policy, force_projects=tuple(sorted(set(getattr(data.policy, "force_projects", ()))
                                                                | {name})))
    forced = replace(data, run=replace(data.run, policy=policy))
    options = {**solver_options(data), "threads": 1}
    start = None
    if binaries:
        variable = "stake_start" if kind == "project" else "plant_start"
        first = max(data.years[0], available)
        start = {key: dict(values) for key, values in binaries.items()}
        start.setdefault(variable, {})[name, first] = 1.0
    try:
        solution = solve_model(build_model(forced), options, start)
    except NoSolutionError as error:
        return None, None, f"no portfolio found with it forced in: {error}"
    if solution.status == "infeasible":
        capex = data.projects[name].capex if kind == "project" else data.plants[name].capex
        budget = data.policy.investment_budget
        why = (f"its capex ({capex:,.0f}) exceeds the investment budget ({budget:,.0f})"
               if budget is not None and capex > budget else "no feasible portfolio includes it (caps, budget or "
               "take-or-pay floors)")
        return None, None, f"infeasible when forced in: {why}"
    variable = "stake_start" if kind == "project" else "plant_start"
    starts = [key[1] for key, value in solution.values.get(variable, {}).items() if key[0] == name and value > 0.5]
    return solution.objective, (min(starts) if starts else None), None
