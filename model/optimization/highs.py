"""Run HiGHS on a built model through Pyomo's highspy interface; the result as plain data.

No LP files are written.  ``solve_model`` returns a ``types.Solution``
(status, objective, bound, achieved gap, variable values as dictionaries)
so that nothing after the optimizer touches Pyomo.  HiGHS calls a MIP
"optimal" once it is within ``mip_rel_gap``, so the achieved gap is always
computed from the incumbent and the bound and recorded.

``solve.py`` (the strict, elastic, marginal and forced-in solves of a run),
``marginal.py`` and ``forced.py`` all run HiGHS through this module, so none
of them imports another's orchestration (no import cycle).
"""

from __future__ import annotations

import time

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from ..inputs.data import ModelData
from .types import NoSolutionError, Solution

# Values below this are solver noise, reported as zero (tonnes or currency).
ZERO = 1e-7

_threads_in_use: int | None = None


def _highs():
    from pyomo.contrib.solver.solvers.highs import Highs

    return Highs()


def _set_threads(threads: int) -> None:
    """HiGHS fixes its global thread pool at the first solve in a process."""
    global _threads_in_use
    if _threads_in_use is not None and _threads_in_use != threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _threads_in_use = threads


def solver_options(data: ModelData) -> dict:
    options = data.run.solver
    return {"time_limit": options.time_limit, "rel_gap": options.mip_rel_gap, "threads": options.threads}


def solve_model(model: pyo.ConcreteModel, options: dict) -> Solution:
    """Solve a built model; raise ``NoSolutionError`` when there is nothing to report."""
    _set_threads(options["threads"])
    solver = _highs()
    start = time.perf_counter()
    results = solver.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False, **options)
    seconds = time.perf_counter() - start
    condition = results.termination_condition
    has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if condition in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        return Solution("infeasible", None, None, None, termination=condition.name, solve_seconds=seconds)
    if not has_solution:
        if condition == TerminationCondition.maxTimeLimit:
            raise NoSolutionError(f"no feasible portfolio found within the time limit of {options['time_limit']:g} s; "
                                  "raise solver.time_limit")
        raise NoSolutionError(f"the solver stopped without a solution ({condition.name})")
    results.solution_loader.load_vars()
    objective = results.incumbent_objective
    bound = results.objective_bound
    status = "optimal" if condition == TerminationCondition.convergenceCriteriaSatisfied else "time_limit"
    return Solution(status, objective, bound, achieved_gap(objective, bound),
                    values={**variable_values(model), **expression_values(model)},
                    termination=condition.name, solve_seconds=seconds)


def achieved_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap |incumbent - bound| / |incumbent|, as HiGHS defines it."""
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-12:
        return 0.0 if abs(bound) < 1e-12 else float("inf")
    return max(0.0, abs(objective - bound) / abs(objective))


def variable_values(model: pyo.ConcreteModel) -> dict[str, dict]:
    values = {}
    for variable in model.component_objects(pyo.Var, active=True):
        entries = {}
        for index, var in variable.items():
            value = var.value if var.value is not None else 0.0
            if var.is_binary():
                value = float(round(value))
            elif abs(value) < ZERO:
                value = 0.0
            entries[index] = value
        values[variable.local_name] = entries
    return values


def expression_values(model: pyo.ConcreteModel) -> dict[str, dict]:
    """Named expressions (cost by lever, recourse cost per scenario) at the solution."""
    return {expression.local_name: {index: pyo.value(e) for index, e in expression.items()}
            for expression in model.component_objects(pyo.Expression, active=True)}


def model_size(model: pyo.ConcreteModel) -> dict:
    variables = list(model.component_data_objects(pyo.Var, active=True))
    return {
        "variables": len(variables),
        "binaries": sum(1 for v in variables if v.is_binary()),
        "constraints": sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True)),
    }
