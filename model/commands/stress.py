"""``critmin stress RUN.toml [--n-1] [--worst K] [--portfolio DIR] [--out DIR]``: what each disruption does
to a portfolio.

The portfolio is solved from the run file, or read from a folder a
``critmin solve`` wrote (``--portfolio``).  Every scenario of the dataset's
``disruptions`` table (and with ``--n-1`` one per foreign country) is
evaluated on it; the solve outputs are written with a Stress sheet, plus
``stress.csv``.  ``--worst K`` searches every set of K foreign countries for
the costliest simultaneous loss and the one leaving most tonnes unmet
(results.worst), in the last planned year, and adds both to the Stress sheet.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import UsageError
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
    parser = commands.add_parser("stress", help="evaluate disruption scenarios on a portfolio")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    parser.add_argument("--out", type=Path,
                        help="output folder (default runs/out/<name>/stress/ beside the run file)")
    parser.add_argument("--n-1", dest="n_minus_1", action="store_true",
                        help="add one scenario per foreign country: lost at both stages for the stockpile horizon")
    parser.add_argument("--worst", type=int, metavar="K",
                        help="search every set of K foreign countries for the costliest simultaneous loss (each as "
                             "in --n-1) and the one that leaves most tonnes unmet")
    parser.add_argument("--portfolio", type=Path,
                        help="a folder written by 'critmin solve' for this run: stress that portfolio, do not re-solve")
    add_set_argument(parser)
    add_force_argument(parser)


def run(arguments) -> int:
    import pandas as pd  # here, not at the top: critmin --help must not wait for pandas

    from .. import interrupts
    from ..inputs.currency import declared
    from ..inputs.data import load
    from ..inputs.disruptions import foreign_countries, n_minus_1, scenarios_from_data
    from ..optimization.solve import NoSolutionError, Outcome, solve
    from ..results.recorded import read_marginal
    from ..results.stress import drop_idle, evaluate, portfolio_flows
    from ..results.tables import tidy
    from ..results.worst import set_scenario, worst_sets
    from ..writers.outputs import OUTPUT_FILES
    from ..writers.terminal import format_stress, format_summary

    clock = time.perf_counter()
    data = load(arguments.run, settings=arguments.settings)
    security = n_minus_1(data) if arguments.n_minus_1 else []
    scenarios = scenarios_from_data(data) + security
    countries = foreign_countries(data)
    if arguments.worst is not None and not 1 <= arguments.worst <= len(countries):
        raise UsageError(f"--worst {arguments.worst}: K must be from 1 to {len(countries)}, the foreign countries "
                         "on a route or project")
    if not scenarios and arguments.worst is None:
        raise UsageError(f"{data.dataset.where['disruptions']}: no disruption scenarios; add the table or use --n-1 "
                         "or --worst K")
    out = arguments.out or default_out(arguments.run, data.run.name, "stress")  # beside the solve's, not over them
    check_out_folder(out, data, OUTPUT_FILES + ("stress.csv",), manifest=MANIFEST, force=arguments.force)
    wall = {"load": time.perf_counter() - clock}
    if arguments.portfolio:
        from ..writers.staging import reading

        with reading(arguments.portfolio):  # not while another run replaces that set
            outcome = Outcome(read_portfolio(data, arguments.portfolio), None, "highs", "", {},
                              marginal=read_marginal(arguments.portfolio))  # the solve's, kept in the outputs
    else:
        try:
            outcome = solve(data)
        except NoSolutionError as error:
            interrupts.check()  # stopped by Ctrl-C, not by the model
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INFEASIBLE
        interrupts.check()
        wall["solve"] = outcome.strict.solve_seconds
    results = tidy(data, outcome)
    if results.status == "infeasible":
        print(format_summary(results))
        print("error: the run is infeasible; there is no portfolio to stress", file=sys.stderr)
        return EXIT_INFEASIBLE
    values = outcome.solution.values
    clock = time.perf_counter()
    # A scenario can strike in any planned year: evaluate it against each year's portfolio.
    results.stress = pd.concat([evaluate(data, portfolio_flows(data, values, year),
                                         {m: values["stock"].get((m, year), 0.0) for m in data.minerals},
                                         scenarios, year) for year in data.years], ignore_index=True)
    results.stress = drop_idle(results.stress, {s.name for s in security})  # N-1 rows where nothing happens
    wall["stress"] = time.perf_counter() - clock
    if arguments.worst is not None:
        clock, year = time.perf_counter(), max(data.years)
        flows = portfolio_flows(data, values, year)
        stock = {m: values["stock"].get((m, year), 0.0) for m in data.minerals}
        results.worst = worst_sets(data, flows, stock, year, arguments.worst)
        found = list(dict.fromkeys(tuple(entry["countries"]) for key in ("costliest", "most_unmet")
                                   for entry in results.worst[key][:1]))
        named = [set_scenario(data, countries) for countries in found]
        rows = drop_idle(evaluate(data, flows, stock, named, year), {s.name for s in named})
        results.stress = pd.concat([results.stress, rows], ignore_index=True)
        wall["worst"] = time.perf_counter() - clock
    report = write_checked(out, data, results, manifest(data, outcome, wall))
    print(format_summary(results))
    print()
    print(format_stress(results.stress))
    if results.worst is not None:
        print()
        print(format_worst(results.worst, declared(results.inputs).code))
    print(f"\noutputs: {out}")
    return EXIT_SOLVED if report.passed else check_failed(report, out)


def read_portfolio(data, folder: Path):
    """The first-stage values of an earlier solve's output folder (results.portfolio: the one reader of
    outputs, every problem located)."""
    from ..results.portfolio import read_output

    return read_output(data, folder).solution(data)


def format_worst(worst: dict, currency: str) -> str:
    """The worst sets found by ``--worst K``, for the terminal."""
    k = worst["k"]
    lines = [f"worst {k}-country loss in {worst['year']} ({worst['method']}; {worst['seconds']:.1f} s):"]
    for entry in worst["costliest"]:
        lines.append(f"  costliest  {' + '.join(entry['countries']):<20} extra cost {currency} "
                     f"{entry['extra_cost']:>16,.0f}   unmet {entry['unmet_t']:>12,.0f} t")
    if not worst["most_unmet"]:
        lines.append(f"  no set of {k} leaves any tonnes unmet")
    for entry in worst["most_unmet"]:
        lines.append(f"  most unmet {' + '.join(entry['countries']):<20} unmet {entry['unmet_t']:>12,.0f} t"
                     f"   extra cost {currency} {entry['extra_cost']:>16,.0f}")
    return "\n".join(lines)
