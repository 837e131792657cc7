"""The stochastic mode by scenario decomposition on MPI (mpi-sppy): progressive hedging with a Lagrangian bound.

For scenario sets too large for one extensive form, ``mpiexec -n N critmin solve RUN.toml`` splits the
recourse scenarios (``inputs.scenarios.recourse_scenarios``) into *bundles*, and mpi-sppy runs progressive
hedging (PH) over them on the MPI ranks.  A bundle ``b`` is critmin's own model restricted to its scenarios
(``build.build_model(scenarios=...)``: every first-stage family plus the bundle's recourse, with the same
mineral cases), so nothing of the model is written twice.  With pi_b = sum_{s in b} p_s / P (P = sum_s p_s)
and each scenario weighted p_s / pi_b inside its bundle,

    sum_b pi_b (first stage + sum_{s in b} (p_s / pi_b) R[s]) = first stage + sum_s p_s R[s],

the extensive form's objective (with CVaR, P = 1 and the VaR level eta[t] is first stage too).  The
first-stage variables (``FIRST_STAGE``) are non-anticipative, with one rho per variable, the same in every
bundle (``rho_setter``).  PH runs on half the ranks (the hub) and mpi-sppy's Lagrangian bounder on the other
half (a spoke); PH stops once the integer decisions agree and that bound settles (``_converger``; with one
rank, once they agree), or after the iterations allowed.  The hub's ranks then compute the Lagrangian bound
at PH's last weights W themselves (``_lagrangian_part``: sum_b pi_b min_x f_b(x) + W_b x, each bundle's
MIP bound): a certified lower bound on the extensive form's optimum.  With one rank PH runs alone and the
same bound is computed at its weights.

When PH stops, rank 0 fixes the integer first-stage decisions (routes switched on, stake and plant start
years) at PH's consensus and solves critmin's extensive form with them fixed (an LP): the portfolio then
flows through the normal result path (tables, summary.json, ``critmin verify``), and its objective is an
exact upper bound.  The reported gap is (upper - lower) / |upper|, so the extensive form's own optimum lies
within it.  Only rank 0 returns an ``Outcome``; the others return None.

mpi-sppy, mpi4py and an MPI library (the ``mpich`` wheel) are the optional extra ``critmin[mpi]``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

import pyomo.environ as pyo

from ..inputs.data import ModelData
from ..inputs.scenarios import recourse_scenarios
from .build import build_model
from .highs import _highs, achieved_gap, model_size, solve_model, solve_model_kept, solver_options
from .marginal import marginal_values
from .types import LEVERS, Outcome

# The first stage: every decision taken before a disruption is known (docs/model.md §8, §12).
FIRST_STAGE = ("buy", "use", "stake_start", "offtake", "stock", "plant_start", "feed", "recycled", "var_level")
INTEGER = ("use", "stake_start", "plant_start")
# Environment variables an MPI launcher sets in each process it starts (MPICH/Hydra, Open MPI).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK")


class DecompositionError(Exception):
    """The decomposition cannot run as configured (no extra installed, not a stochastic run, ranks)."""


def launched_ranks() -> int:
    """The number of processes ``mpiexec`` started (1 when not started by an MPI launcher)."""
    for name in _SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def launched_rank() -> int:
    """This process's rank among those ``mpiexec`` started (0 when not started by an MPI launcher)."""
    for name in _RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def check(data: ModelData) -> None:
    """Raise ``DecompositionError`` (one line) when this run cannot be decomposed here."""
    if data.policy.stockpile_mode != "stochastic":
        raise DecompositionError('scenario decomposition needs policy.stockpile_mode = "stochastic" '
                                 "(this run has no recourse scenarios)")
    if data.policy.risk_measure == "cvar" and data.policy.risk_weight >= 1.0:
        raise DecompositionError("scenario decomposition needs policy.risk_weight < 1 with CVaR")
    try:
        import mpi4py  # noqa: F401

        with contextlib.redirect_stdout(open(os.devnull, "w")):  # its import prints "Initializing mpi-sppy"
            import mpisppy  # noqa: F401
    except ImportError as error:
        raise DecompositionError(f"scenario decomposition needs the mpi extra ({error.name} is missing): "
                                 "pip install 'critmin[mpi]'") from None
    ranks = _world().Get_size()
    if ranks > 1 and ranks % 2:
        raise DecompositionError(f"mpiexec -n {ranks}: use 1 or an even number of ranks "
                                 "(half run progressive hedging, half the Lagrangian bound)")
    if not recourse_scenarios(data)[0]:
        raise DecompositionError("scenario decomposition needs at least one disruption scenario")


def _world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def bundles(data: ModelData, count: int) -> list[tuple[float, dict[str, float]]]:
    """The recourse scenarios dealt round-robin into ``count`` bundles (fewer when there are fewer scenarios):
    each as (pi_b, {scenario: weight p_s / pi_b}) with pi_b = sum_{s in b} p_s / sum_s p_s."""
    scenarios = sorted(recourse_scenarios(data)[0], key=lambda s: (-s.probability, s.name))
    count = max(1, min(count, len(scenarios)))
    total = sum(s.probability for s in scenarios)
    found = []
    for b in range(count):
        members = scenarios[b::count]
        pi = sum(s.probability for s in members) / total
        found.append((pi, {s.name: s.probability / pi for s in members}))
    return found


def first_stage_cost(model, data: ModelData):
    """Discounted cost of every lever but the recourse: what the bundle's root node costs."""
    return sum(data.discount(t) * model.cost[lever, t] for lever in LEVERS if lever != "recourse" for t in model.T)


def scenario_creator(name: str, data: ModelData = None, split=None):
    """mpi-sppy's scenario creator: bundle ``name`` ("bundle<i>") as critmin's model of its scenarios,
    its first stage non-anticipative, with its probability pi_b."""
    from mpisppy.utils import sputils

    probability, weights = split[int(name.removeprefix("bundle"))]
    model = build_model(data, scenarios=weights)
    first = [getattr(model, n) for n in FIRST_STAGE if len(getattr(model, n))]
    sputils.attach_root_node(model, first_stage_cost(model, data), first)
    model._mpisppy_probability = probability
    return model


def rho_setter(model, data: ModelData = None):
    """PH's penalty per first-stage variable (Watson and Woodruff's cost-proportional rule): its first-stage cost
    coefficient over its scale, the mineral's target for tonnes and 1 for a binary, times ``RHO_FACTOR``; so
    that a tonne and a start year move at the pace of what they cost."""
    from pyomo.repn import generate_standard_repn

    # The first-stage cost only: the recourse's coefficients differ between bundles, and a rho that differs
    # between bundles breaks sum_b pi_b W_b = 0, which the Lagrangian bound needs to be a bound.
    repn = generate_standard_repn(model._mpisppy_node_list[0].cost_expression, quadratic=False)
    cost = {id(v): abs(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}
    found = []
    for var in model._mpisppy_data.nonant_indices.values():
        name, index = var.parent_component().local_name, var.index()
        if var.is_binary() or name == "var_level":
            scale = 1.0
        else:
            mineral = data.mineral_of(index[0]) if name == "buy" else index[1] if name == "offtake" else index[0]
            scale = max(data.target[mineral, index[-1]], 1.0)
        found.append((id(var), RHO_FACTOR * max(cost.get(id(var), 0.0), 1.0) / scale))
    return found


RHO_FACTOR = 1.0
STALLED = 3  # PH stops once its lower bound has (about) not moved for this many iterations (``_converger``)


def _converger():
    """mpi-sppy's converger class (built when mpi-sppy is imported): PH stops once every integer first-stage
    decision agrees across the bundles (its average is 0 or 1) and the Lagrangian lower bound has gained less than
    a tenth of the gap asked over its last ``STALLED`` iterations: more iterations would not change the portfolio the
    polish solves and would barely raise the bound."""
    from mpisppy.convergers.converger import Converger

    class Settled(Converger):
        def __init__(self, opt):
            super().__init__(opt)
            self.opt, self.bounds = opt, []

        def is_converged(self) -> bool:
            opt = self.opt
            bound = getattr(getattr(opt, "spcomm", None), "BestOuterBound", None)
            self.bounds.append(bound)
            integral = all(abs(pyo.value(s._mpisppy_model.xbars[key]) - round(pyo.value(s._mpisppy_model.xbars[key])))
                           <= 1e-6 for s in opt.local_scenarios.values()
                           for key, var in s._mpisppy_data.nonant_indices.items() if var.is_integer())
            # Only the bounds since the Lagrangian bounder's first (the iteration-0 bound can stand for a while).
            lagrangian = [b for b in self.bounds if b is not None and abs(b) != float("inf") and b > self.bounds[0]]
            settled = (_world().Get_size() == 1 and len(self.bounds) > STALLED) or (len(lagrangian) > STALLED
                       and lagrangian[-1] - lagrangian[-1 - STALLED] <= opt.options["critmin_gap"] / 10 * abs(bound))
            return not opt.allreduce_or(not (integral and settled))  # every hub rank stops together

    return Settled


def _options(data: ModelData, iterations: int, gap: float, threshold: float) -> dict:
    solver = data.run.solver
    mip = {"mip_rel_gap": min(solver.mip_rel_gap, gap / 10), "threads": solver.threads,
           "time_limit": solver.time_limit}
    return {
        "solver_name": "appsi_highs", "defaultPHrho": 1.0, "convthresh": threshold, "PHIterLimit": iterations,
        "verbose": False, "display_progress": False, "display_convergence_detail": False, "display_timing": False,
        "iter0_solver_options": dict(mip), "iterk_solver_options": dict(mip), "tee-rank0-solves": False,
        "linearize_binary_proximal_terms": True, "linearize_proximal_terms": True,
        "proximal_linearization_tolerance": 1e-1, "smoothed": 0, "asynchronousPH": False,
        "time_limit": solver.time_limit, "critmin_gap": gap,
    }


def run_ph(data: ModelData, bundle_count: int, iterations: int, gap: float, threshold: float, progress) -> dict:
    """Progressive hedging over the bundles on every rank; on rank 0 returns the bounds and the consensus
    first stage ({name: {index: value}}), elsewhere an empty dict."""
    import mpisppy
    import mpisppy.log

    # mpi-sppy's hub module opens a "hub.log" in the working directory when it is imported (a logger kept at
    # CRITICAL, so it stays empty): send it nowhere rather than litter the analyst's folder.
    setup_logger = mpisppy.log.setup_logger
    mpisppy.log.setup_logger = lambda name, out, *rest, **options: setup_logger(
        name, os.devnull if out == "hub.log" else out, *rest, **options)
    from mpisppy.cylinders.hub import PHHub
    from mpisppy.cylinders.lagrangian_bounder import LagrangianOuterBound
    from mpisppy.opt.ph import PH
    from mpisppy.phbase import PHBase
    from mpisppy.spin_the_wheel import WheelSpinner

    # mpi-sppy's progress table (its timer's stream): stderr, or nowhere when quiet.  Not by swapping sys.stdout:
    # Pyomo's HiGHS interface captures the file descriptors while it solves and echoes to sys.stdout.
    mpisppy.tt_timer.ostream = progress
    world = _world()
    split = bundles(data, bundle_count)
    names = [f"bundle{i}" for i in range(len(split))]
    options = _options(data, iterations, gap, threshold)
    common = {"all_scenario_names": names, "scenario_creator": scenario_creator,
              "scenario_creator_kwargs": {"data": data, "split": split}, "scenario_denouement": None,
              "rho_setter": rho_setter}
    options["rho_setter_kwargs"] = {"data": data}
    stop = {"rel_gap": gap, "abs_gap": 0.0}
    hub = {"hub_class": PHHub, "hub_kwargs": {"options": stop},
           "opt_class": PH, "opt_kwargs": {"options": dict(options), "ph_converger": _converger(), **common}}
    spokes = []
    if world.Get_size() > 1:
        bounder = {**options, "linearize_proximal_terms": False, "linearize_binary_proximal_terms": False}
        spokes.append({"spoke_class": LagrangianOuterBound, "opt_class": PHBase,
                       "opt_kwargs": {"options": bounder, **common}})
    start = time.perf_counter()
    wheel = WheelSpinner(hub, spokes)
    try:
        wheel.spin()
    except Exception:  # one rank failing would leave the others waiting for it: end them all
        import sys
        import traceback

        traceback.print_exc(file=sys.__stderr__)
        world.Abort(1)
    found: dict = {}
    lower = None
    if wheel.strata_rank == 0:  # the hub's ranks: the Lagrangian bound at PH's last weights, by critmin itself
        lower = wheel.spcomm.opt.mpicomm.allreduce(_lagrangian_part(data, wheel.spcomm.opt, split))
    seconds = time.perf_counter() - start
    if wheel.global_rank == 0:
        opt = wheel.spcomm.opt
        scenario = next(iter(opt.local_scenarios.values()))
        consensus, own = {}, {}
        for key, var in scenario._mpisppy_data.nonant_indices.items():
            component, index = var.parent_component().local_name, var.index()
            consensus.setdefault(component, {})[index] = pyo.value(scenario._mpisppy_model.xbars[key])
            own.setdefault(component, {})[index] = var.value
        found = {"lower": lower, "mpi_sppy_bound": wheel.BestOuterBound, "consensus": consensus,
                 "own": own, "iterations": getattr(opt, "_PHIter", None), "seconds": seconds,
                 "bundles": len(split), "ranks": world.Get_size()}
    return found


def _lagrangian_part(data: ModelData, opt, split) -> float:
    """sum over this rank's bundles of pi_b min_x (f_b(x) + W_b x), with PH's last weights W (sum_b pi_b W_b = 0,
    PH keeps it so with one rho for every bundle): this rank's share of a Lagrangian lower bound on the extensive
    form.  Each on a fresh model of the bundle (no proximal term), the MIP's own bound (valid at any gap).

    critmin computes it rather than take the Lagrangian spoke's: on a two-scenario hand case mpi-sppy 0.14's
    spoke reported a bound above the extensive form's proven optimum (tests/test_decompose.py)."""
    options = solver_options(data)
    stock_ceiling = _stock_ceiling(data)
    total = 0.0
    for name, scenario in opt.local_scenarios.items():
        weights = {(var.parent_component().local_name, var.index()): pyo.value(scenario._mpisppy_model.W[key])
                   for key, var in scenario._mpisppy_data.nonant_indices.items()}
        probability, members = split[int(name.removeprefix("bundle"))]
        model = build_model(data, scenarios=members)
        for (m, _year), var in model.stock.items():  # else a weight below minus the holding cost makes it unbounded
            var.setub(stock_ceiling[m])
        model.objective.deactivate()
        model.lagrangian = pyo.Objective(expr=model.objective.expr + sum(
            w * getattr(model, component)[index] for (component, index), w in weights.items() if w != 0))
        solution = solve_model(model, options)
        bound = solution.bound if solution.bound is not None else solution.objective
        total += probability * (bound if bound is not None else -math.inf)  # unbounded: no bound
    return total


def _stock_ceiling(data: ModelData) -> dict[str, float]:
    """Per mineral, a stock no optimum of the extensive form exceeds: the floor, or every flow of the mineral at
    its most plus the existing stock (more than the largest loss cannot be drawn; stock costs to hold).  Holds
    the Lagrangian subproblems bounded without cutting off the optimum, so their bound stays a bound."""
    ceiling = {}
    for m in data.minerals:
        flows = (sum(r.max_t for o, r in data.routes.items() if data.mineral_of(o) == m)
                 + sum(o.offtake_t for (p, mm), o in data.offtakes.items() if mm == m))
        floor = max(data.policy.stockpile_min_days / 365.0 * data.target[m, t] for t in data.years)
        ceiling[m] = flows + floor + (data.minerals[m].existing_stock_t or 0.0)
    return ceiling


def _finite(value):
    return float(value) if value is not None and math.isfinite(value) else None


def _fix_integers(model, values: dict) -> None:
    for name in INTEGER:
        component = getattr(model, name)
        for index, var in component.items():
            if not var.fixed:
                var.fix(float(round(values.get(name, {}).get(index, 0.0))))


def solve_decomposed(data: ModelData, bundle_count: int | None = None, iterations: int = 50, gap: float = 1e-3,
                     threshold: float = 1e-4, marginal: bool = True, progress=None) -> Outcome | None:
    """PH on every rank; on rank 0 the polished portfolio as an ``Outcome`` (None on the other ranks).
    ``progress``: where mpi-sppy's progress table goes (a stream; None: nowhere)."""
    check(data)
    world = _world()
    hub_ranks = max(1, world.Get_size() // 2)
    found = run_ph(data, bundle_count or 2 * hub_ranks, iterations, gap, threshold,
                   progress if progress is not None else open(os.devnull, "w"))  # closed at exit
    if world.Get_rank() != 0:
        return None
    options = solver_options(data)
    build_seconds = 0.0
    for candidate in ("consensus", "own"):  # PH's average rounded; else a bundle's own (always feasible) choice
        start = time.perf_counter()
        model = build_model(data)
        build_seconds += time.perf_counter() - start
        _fix_integers(model, found[candidate])
        solution, engine = solve_model_kept(model, options)
        if solution.status != "infeasible":
            break
    solution.build_seconds, solution.size = build_seconds, model_size(model)
    lower = found["lower"]
    upper = solution.objective
    solution.bound = _finite(lower)
    solution.mip_gap = achieved_gap(upper, solution.bound)
    prices = marginal_values(model, data, options, solution.objective, engine) if marginal else None
    version = ".".join(str(part) for part in _highs().version())
    from importlib.metadata import version as installed

    decomposition = {
        "method": "progressive hedging (mpi-sppy); lower bound: Lagrangian at PH's last weights",
        "mpi_sppy": installed("mpi-sppy"), "ranks": found["ranks"], "bundles": found["bundles"],
        "scenarios": len(recourse_scenarios(data)[0]), "iterations": found["iterations"],
        "lower_bound": solution.bound, "upper_bound": upper, "gap": solution.mip_gap, "requested_gap": gap,
        "mpi_sppy_outer_bound": _finite(found["mpi_sppy_bound"]),
        "ph_seconds": found["seconds"], "polish_seconds": solution.solve_seconds,
    }
    return Outcome(solution, None, "highs", version, {**options, "mip_rel_gap": options["rel_gap"]},
                   marginal=prices, forced=None, decomposition=decomposition)
