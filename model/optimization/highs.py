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
    return solve_model_kept(model, options)[0]


def solve_model_kept(model: pyo.ConcreteModel, options: dict):
    """``solve_model``, and the Pyomo HiGHS interface that holds the solved HiGHS instance: the marginal
    values re-solve the fixed-integer LP in it (``fixed_integer_lp``) instead of translating the model
    again."""
    _set_threads(options["threads"])
    solver = _highs()
    start = time.perf_counter()
    results = solver.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False, **options)
    seconds = time.perf_counter() - start
    condition = results.termination_condition
    has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if condition in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        return Solution("infeasible", None, None, None, termination=condition.name, solve_seconds=seconds), solver
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
                    termination=condition.name, solve_seconds=seconds), solver


def fixed_integer_lp(model: pyo.ConcreteModel, solver, options: dict):
    """Re-solve, in the HiGHS instance ``solver`` holds after a MIP solve, the LP left when every integer
    column is fixed at its rounded value and made continuous; return (row duals by Pyomo constraint,
    objective), or None when the LP did not solve to optimality.

    The columns change in place (``changeColsBounds``, ``changeColsIntegrality``): nothing is translated
    again.  Pyomo's own update path would re-add every row that holds a fixed variable (fixed variables are
    parameters to it), which costs more than the solve.  The Pyomo variables are fixed likewise and take
    the LP's values, so the model reads as the LP that was priced.  Reads the interface's column and row
    maps (Pyomo pins the minor version: pyproject.toml).
    """
    import highspy
    import numpy as np

    highs = solver._solver_model
    columns = solver._pyomo_var_to_solver_var_map  # id(var) -> column
    fixed, at = [], []
    for var in model.component_data_objects(pyo.Var):
        if var.is_integer():  # those already fixed too: a fixed binary still makes HiGHS solve a MIP
            value = round(var.value) if var.value is not None else 0
            var.domain = pyo.Reals
            var.fix(value)
            if id(var) in columns:
                fixed.append(columns[id(var)])
                at.append(float(value))
    if fixed:
        index = np.array(fixed, dtype=np.int32)
        highs.changeColsBounds(len(index), index, np.array(at), np.array(at))
        highs.changeColsIntegrality(len(index), index,
                                    np.array([highspy.HighsVarType.kContinuous] * len(index)))
    highs.setOptionValue("log_to_console", False)
    highs.setOptionValue("output_flag", False)
    _set_threads(options["threads"])
    highs.setOptionValue("threads", options["threads"])
    highs.setOptionValue("time_limit", float(options["time_limit"]))
    highs.run()
    solution = highs.getSolution()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal or not solution.dual_valid:
        return None
    values, duals = solution.col_value, solution.row_dual
    for var_id, column in columns.items():
        solver._vars[var_id][0].set_value(values[column], skip_validation=True)
    return ({con: duals[row] for con, row in solver._pyomo_con_to_solver_con_map.items()},
            highs.getInfo().objective_function_value)


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
