"""Run HiGHS on a built model; the result as plain data.

The model goes to HiGHS as one sparse matrix (``translate``: Pyomo's
standard-form compiler, then ``highspy`` directly), so the instance HiGHS
solves is exactly the one ``benchmarks/`` export, and it is kept (``Engine``)
for the marginal values' LP and budget step.  No LP files are written.  ``solve_model`` returns a ``types.Solution``
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
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.common.numeric_types import nonpyomo_leaf_types
from pyomo.core.expr.visitor import ExpressionValueVisitor

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


def solve_model(model: pyo.ConcreteModel, options: dict, start: dict | None = None) -> Solution:
    """Solve a built model; raise ``NoSolutionError`` when there is nothing to report.  ``start``:
    {variable name: {index: value}}, a partial first incumbent (``solve_model_kept``)."""
    return solve_model_kept(model, options, start)[0]


@dataclass
class Engine:
    """A model handed to HiGHS: the ``highspy.Highs`` instance and which Pyomo variable and constraint
    each column and row is.  Kept after a solve so the marginal values re-solve in the same instance."""

    highs: object
    columns: list  # VarData of column j
    column_of: dict  # id(VarData) -> j
    row_of: dict  # ConstraintData -> i (every row of build.py is one-sided or an equality: one row each)


def translate(model: pyo.ConcreteModel) -> Engine:
    """The model as one sparse matrix (Pyomo's standard-form compiler, rows as stated: =, <= or >=),
    passed to a new HiGHS instance in one call.

    Pyomo's persistent HiGHS interface builds the instance row by row from a per-row expression walk:
    on the 200-scenario generated case that took twice as long as this compiler.  Fixed variables are
    constants here, as they were there; a constraint with no variable left is checked and dropped by the
    compiler (its price is 0).
    """
    import highspy
    import numpy as np

    repn = _standard_form_compiler().write(model, mixed_form=True, set_sense=None)
    columns = list(repn.columns)
    infinity = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(columns), len(repn.rows)
    cost = repn.c.toarray()[0] if repn.c.shape[0] else np.zeros(len(columns))
    lp.col_cost_ = np.asarray(cost, dtype=np.double)
    lp.offset_ = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
    lp.col_lower_ = np.array([-infinity if v.lb is None else v.lb for v in columns], dtype=np.double)
    lp.col_upper_ = np.array([infinity if v.ub is None else v.ub for v in columns], dtype=np.double)
    rhs = np.asarray(repn.rhs, dtype=np.double)
    sense = np.array([row[1] for row in repn.rows], dtype=np.int8)  # 0: =, 1: <=, -1: >=
    lp.row_lower_ = np.where(sense == 1, -infinity, rhs)
    lp.row_upper_ = np.where(sense == -1, infinity, rhs)
    matrix = repn.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.double)
    integer = [v.is_integer() for v in columns]
    if any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                           for flag in integer]
    from pyomo.common.tee import capture_output

    with capture_output(capture_fd=True):  # a new instance prints HiGHS's banner on the terminal itself
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return Engine(highs, columns, {id(v): j for j, v in enumerate(columns)},
                  {row[0]: i for i, row in enumerate(repn.rows)})


def _standard_form_compiler():
    """Pyomo's standard-form compiler with its array hooks (documented as settable) set to numpy and
    scipy.sparse here, and scipy.sparse imported without Pyomo's scipy finalizer.

    Pyomo registers a hook that runs its finalizer on the first import of scipy anywhere, and the compiler
    left to itself resolves Pyomo's deferred ``scipy``: either way scipy.stats, scipy.integrate and
    scipy.spatial are imported too, 1.1 s of a 5.8 s one-year run, none of it used.  If Pyomo's internals
    differ from what is expected here, scipy is simply imported the slow way.
    """
    import numpy as np
    from pyomo.common import dependencies
    from pyomo.repn.plugins import standard_form

    callbacks = getattr(getattr(dependencies, "DeferredImportCallbackFinder", None), "_callbacks", None)
    held = callbacks.pop("scipy", None) if isinstance(callbacks, dict) else None
    try:
        import scipy.sparse
    finally:
        if held is not None:
            callbacks["scipy"] = held
    compiler = standard_form._LinearStandardFormCompiler_impl
    if compiler._to_vector is None:
        compiler._to_vector = np.fromiter
        compiler._csc_matrix = scipy.sparse.csc_array
        compiler._csr_matrix = scipy.sparse.csr_array
    return standard_form.LinearStandardFormCompiler()


def _run(engine: Engine, options: dict) -> None:
    highs = engine.highs
    _set_threads(options["threads"])
    highs.setOptionValue("threads", options["threads"])
    highs.setOptionValue("time_limit", float(options["time_limit"]))
    highs.setOptionValue("mip_rel_gap", float(options["rel_gap"]))
    highs.HandleKeyboardInterrupt = True  # Ctrl-C stops HiGHS, and interrupts.check() exits 130
    highs.run()


def _set_start(model: pyo.ConcreteModel, engine: Engine, start: dict) -> None:
    import numpy as np

    columns, values = [], []
    for name, entries in start.items():
        variable = model.component(name)
        for index, value in entries.items():
            if variable is not None and index in variable and id(variable[index]) in engine.column_of:
                columns.append(engine.column_of[id(variable[index])])
                values.append(float(value))
    if columns:
        engine.highs.setSolution(len(columns), np.array(columns, dtype=np.int32), np.array(values))


def _load(engine: Engine) -> None:
    """Every column's value into its Pyomo variable (the results read the model)."""
    values = engine.highs.getSolution().col_value
    for var, value in zip(engine.columns, values):
        var.set_value(value, skip_validation=True)


# HiGHS model status -> the termination name the manifest records (Pyomo's, as before: verify reads it).
def _termination(status) -> str:
    import highspy

    names = {highspy.HighsModelStatus.kOptimal: "convergenceCriteriaSatisfied",
             highspy.HighsModelStatus.kInfeasible: "provenInfeasible",
             highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasibleOrUnbounded",
             highspy.HighsModelStatus.kUnbounded: "unbounded",
             highspy.HighsModelStatus.kTimeLimit: "maxTimeLimit",
             highspy.HighsModelStatus.kIterationLimit: "iterationLimit",
             highspy.HighsModelStatus.kInterrupt: "interrupted",
             highspy.HighsModelStatus.kObjectiveBound: "objectiveLimit"}
    return names.get(status, "unknown")


def solve_model_kept(model: pyo.ConcreteModel, options: dict, start: dict | None = None) -> tuple[Solution, Engine]:
    """``solve_model``, and the ``Engine`` that holds the solved HiGHS instance: the marginal values
    re-solve the fixed-integer LP in it (``fixed_integer_lp``) instead of translating the model again.

    ``start`` ({variable name: {index: value}}, e.g. the binaries of a solved neighbour) is handed to
    HiGHS as a partial solution: it completes the rest by an LP and, when that is feasible, starts the
    search with it as incumbent; an infeasible start is ignored."""
    from pyomo.common.errors import InfeasibleConstraintException

    clock = time.perf_counter()
    try:
        engine = translate(model)
    except InfeasibleConstraintException:  # a row with no variable left that cannot hold: the elastic model's job
        return Solution("infeasible", None, None, None, termination="provenInfeasible",
                        solve_seconds=time.perf_counter() - clock), None
    if start:
        _set_start(model, engine, start)
    _run(engine, options)
    seconds = time.perf_counter() - clock
    highs = engine.highs
    condition = _termination(highs.getModelStatus())
    info = highs.getInfo()
    if condition in ("provenInfeasible", "infeasibleOrUnbounded"):
        return Solution("infeasible", None, None, None, termination=condition, solve_seconds=seconds), engine
    if info.primal_solution_status != 2:  # 2: feasible
        if condition == "maxTimeLimit":
            raise NoSolutionError(f"no feasible portfolio found within the time limit of {options['time_limit']:g} s; "
                                  "raise solver.time_limit")
        raise NoSolutionError(f"the solver stopped without a solution ({condition})")
    _load(engine)
    objective = info.objective_function_value
    if info.mip_node_count == -1:  # an LP: the bound is the objective once optimal
        bound = objective if condition == "convergenceCriteriaSatisfied" else None
    else:
        bound = info.mip_dual_bound
    status = "optimal" if condition == "convergenceCriteriaSatisfied" else "time_limit"
    return Solution(status, objective, bound, achieved_gap(objective, bound),
                    values={**variable_values(model), **expression_values(model)},
                    termination=condition, solve_seconds=seconds), engine


def fixed_integer_lp(model: pyo.ConcreteModel, engine: Engine, options: dict):
    """Re-solve, in the HiGHS instance of ``engine`` after a MIP solve, the LP left when every integer
    column is fixed at its rounded value and made continuous; return (row duals by Pyomo constraint,
    objective), or None when the LP did not solve to optimality.

    The columns change in place (``changeColsBounds``, ``changeColsIntegrality``): nothing is translated
    again.  The Pyomo variables are fixed likewise and take the LP's values, so the model reads as the
    LP that was priced.
    """
    import highspy
    import numpy as np

    highs = engine.highs
    fixed, at = [], []
    for var in model.component_data_objects(pyo.Var):
        if var.is_integer():  # those already fixed too: a fixed binary still makes HiGHS solve a MIP
            value = round(var.value) if var.value is not None else 0
            var.domain = pyo.Reals
            var.fix(value)
            if id(var) in engine.column_of:
                fixed.append(engine.column_of[id(var)])
                at.append(float(value))
    if fixed:
        index = np.array(fixed, dtype=np.int32)
        highs.changeColsBounds(len(index), index, np.array(at), np.array(at))
        highs.changeColsIntegrality(len(index), index,
                                    np.array([highspy.HighsVarType.kContinuous] * len(index)))
    _run(engine, options)
    solution = highs.getSolution()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal or not solution.dual_valid:
        return None
    _load(engine)
    duals = solution.row_dual
    return {con: duals[row] for con, row in engine.row_of.items()}, highs.getInfo().objective_function_value


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
    """Named expressions (cost by lever, recourse cost per scenario) at the solution.

    Each is walked once: one that names another (a lever's cost names the risk cost, which names every
    scenario's recourse, which names the mineral cases) reads the other's value from a cache.  Walked
    afresh each time, the cases were evaluated once per naming scenario and again per enclosing sum: 2.3 s
    of a profiled 200-scenario run.
    """
    visitor = _NamedValues()
    return {expression.local_name: {index: visitor.dfs_postorder_stack(e) for index, e in expression.items()}
            for expression in model.component_objects(pyo.Expression, active=True)}


class _NamedValues(ExpressionValueVisitor):
    """Pyomo's value walk with every named expression's value kept after its first walk."""

    def __init__(self):
        self.known = {}

    def visit(self, node, values):
        result = node._apply_operation(values)
        if node.is_named_expression_type():
            self.known[id(node)] = result
        return result

    def visiting_potential_leaf(self, node):
        if node.__class__ in nonpyomo_leaf_types:
            return True, node
        if node.is_expression_type():
            if node.is_named_expression_type() and id(node) in self.known:
                return True, self.known[id(node)]
            return False, None
        return True, pyo.value(node)


def model_size(model: pyo.ConcreteModel) -> dict:
    variables = list(model.component_data_objects(pyo.Var, active=True))
    return {
        "variables": len(variables),
        "binaries": sum(1 for v in variables if v.is_binary()),
        "constraints": sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True)),
    }
