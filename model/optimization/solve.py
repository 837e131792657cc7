"""Solve a run: the strict model, and when it is infeasible the elastic one that diagnoses it.

HiGHS runs in memory (``highs.py``); the outcome is plain data
(``types.Outcome``: status, objective, bound, achieved gap, variable values
as dictionaries) so that nothing after this module touches Pyomo.  HiGHS
calls a MIP "optimal" once it is within ``mip_rel_gap``, so the achieved gap
is always computed from the incumbent and the bound and recorded.
"""

from __future__ import annotations

import time

from ..inputs.data import ModelData
from .build import build_model
from .forced import forced_in_costs

# re-exported: callers import the runner and the plain types from here
from .highs import ZERO, _highs, achieved_gap, model_size, solve_model, solve_model_kept, solver_options  # noqa: F401
from .marginal import marginal_values
from .types import NoSolutionError, Outcome, Solution  # noqa: F401


def solve(data: ModelData, marginal: bool = False, forced_in: bool = False) -> Outcome:
    """Solve the strict model; when infeasible, re-solve elastic for the diagnosis.

    ``marginal``: when the strict model solves, also price its limits (optimization.marginal).
    ``forced_in``: when it solves, also the cost of forcing in each project or plant left out
    (optimization.forced).
    """
    options = solver_options(data)
    start = time.perf_counter()
    model = build_model(data)
    build_seconds = time.perf_counter() - start
    strict, solver = solve_model_kept(model, options)
    strict.build_seconds, strict.size = build_seconds, model_size(model)
    prices = None
    if marginal and strict.status != "infeasible":
        prices = marginal_values(model, data, options, strict.objective, solver)
    elastic = None
    if strict.status == "infeasible":
        start = time.perf_counter()
        model = build_model(data, elastic=True)
        build_seconds = time.perf_counter() - start
        elastic = solve_model(model, options)
        elastic.build_seconds, elastic.size = build_seconds, model_size(model)
        if elastic.status == "infeasible":
            raise NoSolutionError("even the elastic model is infeasible; please report this with the inputs")
    solver = _highs()
    version = ".".join(str(part) for part in solver.version())
    forced = None
    # Only against a proven optimum: a time-limited incumbent's objective is no baseline for a difference
    # (and each forced re-solve could run to the time limit again).
    if forced_in and strict.status == "optimal":
        chosen = {p for (p, _), v in strict.values.get("stake_start", {}).items() if v > 0.5}
        built = {k for (k, _), v in strict.values.get("plant_start", {}).items() if v > 0.5}
        binaries = {name: strict.values[name] for name in ("stake_start", "plant_start", "use")
                    if name in strict.values}
        forced = forced_in_costs(data, strict.objective, chosen, built, binaries=binaries)
    return Outcome(strict, elastic, "highs", version, {**options, "mip_rel_gap": options["rel_gap"]},
                   marginal=prices, forced=forced)
