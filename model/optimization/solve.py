"""Solve the model in memory with HiGHS through Pyomo's highspy interface.

No LP files are written.  The outcome is plain data (status, objective,
bound, achieved gap, variable values as dictionaries) so that nothing after
this module touches Pyomo.  HiGHS calls a MIP "optimal" once it is within
``mip_rel_gap``, so the achieved gap is always computed from the incumbent
and the bound and recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from ..inputs.data import ModelData
from .build import build_model

# Values below this are solver noise, reported as zero (tonnes or currency).
ZERO = 1e-7

_threads_in_use: int | None = None


class NoSolutionError(Exception):
    """The solver stopped without any solution (e.g. time limit with no incumbent)."""


@dataclass
class Solution:
    status: str  # "optimal", "time_limit" or "infeasible"
    objective: float | None
    bound: float | None
    mip_gap: float | None
    values: dict[str, dict] = field(default_factory=dict)
    termination: str = ""
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    size: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """The strict solve and, when it was infeasible, the elastic one used to diagnose it."""

    strict: Solution
    elastic: Solution | None
    solver_name: str
    solver_version: str
    options: dict
    marginal: dict | None = None  # optimization.marginal.marginal_values, when asked for and solved
    forced: dict | None = None  # optimization.forced.forced_in_costs, when asked for and solved

    @property
    def solution(self) -> Solution:
        """The solution to report: the strict one, or the elastic one when strict is infeasible."""
        return self.elastic if self.elastic is not None else self.strict

    @property
    def status(self) -> str:
        return self.strict.status


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
    return Solution(status, objective, bound, achieved_gap(objective, bound), values={**variable_values(model), **expression_values(model)},
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
    strict = solve_model(model, options)
    strict.build_seconds, strict.size = build_seconds, model_size(model)
    prices = None
    if marginal and strict.status != "infeasible":
        from .marginal import marginal_values

        prices = marginal_values(model, data, options, strict.objective)
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
    if forced_in and strict.status != "infeasible":
        from .forced import forced_in_costs

        chosen = {p for (p, _), v in strict.values.get("stake", {}).items() if v > 0.5}
        built = {k for (k, _), v in strict.values.get("build", {}).items() if v > 0.5}
        forced = forced_in_costs(data, strict.objective, chosen, built)
    return Outcome(strict, elastic, "highs", version, {**options, "mip_rel_gap": options["rel_gap"]},
                   marginal=prices, forced=forced)
