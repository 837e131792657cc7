"""``critmin solve RUN.toml [--out DIR]``: solve and write results.xlsx, summary.json, flows.csv, manifest.json."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .common import (
    EXIT_INFEASIBLE,
    EXIT_SOLVED,
    MANIFEST,
    add_force_argument,
    add_set_argument,
    check_failed,
    check_out_folder,
    default_out,
    manifest,
    write_checked,
)


def add_parser(commands) -> None:
    parser = commands.add_parser("solve", help="solve a run file and write its outputs")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    parser.add_argument("--out", type=Path, help="output folder (default runs/out/<name>/ beside the run file)")
    parser.add_argument("--quiet", action="store_true", help="print only the status line")
    parser.add_argument("--no-forced-in", dest="forced_in", action="store_false",
                        help="skip the forced-in costs (one re-solve per project or plant left out)")
    decomposition = parser.add_argument_group(
        "scenario decomposition (stochastic mode; the mpi extra: pip install 'critmin[mpi]')",
        "Under mpiexec -n N (N = 1 or even) the stochastic mode runs as progressive hedging on the N ranks "
        "(optimization.decompose); only rank 0 writes.")
    decomposition.add_argument("--decompose", action="store_true",
                               help="decompose even without mpiexec (one process: progressive hedging alone)")
    decomposition.add_argument("--bundles", type=int, metavar="N",
                               help="scenario bundles, the subproblems (default: 2 per hub rank)")
    decomposition.add_argument("--ph-gap", type=float, default=1e-3, metavar="GAP",
                               help="relative gap asked between the portfolio's cost and the lower bound "
                                    "(default 1e-3)")
    decomposition.add_argument("--ph-iterations", type=int, default=50, metavar="N",
                               help="progressive hedging iterations at most (default 50; it also stops once the "
                                    "integer decisions agree and the lower bound has settled)")
    add_set_argument(parser)
    add_force_argument(parser)


def run(arguments) -> int:
    from .. import interrupts
    from ..inputs.data import load
    from ..optimization.decompose import launched_ranks
    from ..optimization.solve import NoSolutionError, solve
    from ..results.optimality import run_warnings
    from ..results.tables import tidy
    from ..writers.outputs import OUTPUT_FILES
    from ..writers.terminal import format_summary

    clock = time.perf_counter()
    data = load(arguments.run, settings=arguments.settings)
    out = arguments.out or default_out(arguments.run, data.run.name)
    check_out_folder(out, data, OUTPUT_FILES, manifest=MANIFEST, force=arguments.force)
    wall = {"load": time.perf_counter() - clock}
    try:
        if getattr(arguments, "decompose", False) or launched_ranks() > 1:
            outcome = _decomposed(data, arguments)
            if outcome is None:  # not rank 0: rank 0 reports and writes
                return EXIT_SOLVED
            wall["decomposition"] = outcome.decomposition["ph_seconds"]
            if outcome.decomposition["lower_bound"] is None:
                print("warning: the decomposition found no lower bound (a Lagrangian subproblem was unbounded): "
                      "this portfolio's distance to the optimum is unknown; solve the extensive form", file=sys.stderr)
        else:
            outcome = solve(data, marginal=True, forced_in=arguments.forced_in)
    except NoSolutionError as error:
        interrupts.check()  # stopped by Ctrl-C, not by the model
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INFEASIBLE
    interrupts.check()
    wall["build"] = outcome.strict.build_seconds + (outcome.elastic.build_seconds if outcome.elastic else 0.0)
    wall["solve"] = outcome.strict.solve_seconds + (outcome.elastic.solve_seconds if outcome.elastic else 0.0)
    if outcome.marginal:
        wall["marginal"] = outcome.marginal["seconds"]
        if outcome.marginal["error"]:
            print(f"warning: no marginal values: {outcome.marginal['error']}", file=sys.stderr)
    if outcome.forced:
        wall["forced_in"] = outcome.forced["seconds"]
    clock = time.perf_counter()
    results = tidy(data, outcome)
    wall["results"] = time.perf_counter() - clock
    report = write_checked(out, data, results, manifest(data, outcome, wall))
    print(format_summary(results) if not arguments.quiet else f"{data.run.name}: {results.status}")
    if arguments.quiet:  # the summary carries the gap warning; the status line alone does not
        for warning in run_warnings(results):
            print(f"warning: {warning}", file=sys.stderr)
    if results.status == "time_limit":
        print(f"warning: stopped at the time limit of {data.run.solver.time_limit:g} s with the best portfolio "
              f"found so far (achieved gap {results.mip_gap:.2%})", file=sys.stderr)
    print(f"\noutputs: {out}")
    if not report.passed:
        return check_failed(report, out)
    return EXIT_INFEASIBLE if results.status == "infeasible" else EXIT_SOLVED


def _decomposed(data, arguments):
    """The stochastic mode by progressive hedging (optimization.decompose): the Outcome on rank 0, None on
    the other ranks, whose output is silenced so that every message is printed once."""
    import os

    from ..errors import UsageError
    from ..optimization.decompose import DecompositionError, launched_rank, solve_decomposed

    if launched_rank() != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")  # for the life of the process
    bundles = arguments.bundles
    if arguments.ph_gap <= 0 or arguments.ph_iterations < 1 or (bundles is not None and bundles < 1):
        raise UsageError("--ph-gap must be above 0, --ph-iterations and --bundles at least 1")
    try:
        return solve_decomposed(data, bundle_count=arguments.bundles, iterations=arguments.ph_iterations,
                                gap=arguments.ph_gap, progress=None if arguments.quiet else sys.stderr)
    except DecompositionError as error:
        raise UsageError(str(error)) from None
