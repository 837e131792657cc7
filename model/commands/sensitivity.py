"""``critmin sensitivity RUN.toml [--change 20 ...] [--group KIND[:ITEM] ...]``: which inputs the answer hinges on.

One input group at a time (each mineral's prices, each country's volumes,
each project's capex, each mineral's target: ``inputs.sensitivity``) moves by
-X % and +X % (``--change``, default 20, repeatable), as data overrides, so
every point is an ordinary run: the ``overrides`` column of sensitivity.csv
gives the ``--set`` strings that repeat it with ``critmin solve``.  The points
run in parallel like a sweep's (``critmin.executors``: local processes or a
Dask scheduler) and are saved as they arrive (``sensitivity-points/``), so an
interrupted sensitivity solves only the rest when run again.

Outputs in ``--out`` (default runs/out/<name>/sensitivity/), staged and
committed as one set (``writers.staging``): sensitivity.xlsx (a tornado chart
of the objective, the points, the decisions that flip), sensitivity.csv,
sensitivity.png (the tornado) and sensitivity-manifest.json (last).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .common import EXIT_INFEASIBLE, EXIT_SOLVED, add_force_argument, check_out_folder, default_out, manifest_head
from .points import PointGrid, add_grid_arguments, solve_point_in_detail

MANIFEST = "sensitivity-manifest.json"  # the last file of the set (writers.staging)


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "sensitivity", help="move one input group at a time by -X %% and +X %%; a tornado of the objective and the "
                            "decisions that flip",
        description="Groups: prices:<mineral> (every supply and offtake unit_cost of the mineral and its "
                    "reference_price), volumes:<country> (max_t of every route mined or refined there), "
                    "capex:<project>, target:<mineral>. Each point is the run with data overrides "
                    "(--set 'data.TABLE[...].COLUMN=*FACTOR'), solved like any run.")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    parser.add_argument("--change", type=float, action="append", metavar="PERCENT",
                        help="move each group by -PERCENT and +PERCENT (default 20; repeat for several)")
    parser.add_argument("--group", action="append", default=[], metavar="KIND[:ITEM]",
                        help="prices, volumes, capex or target, or one group such as prices:lithium "
                             "(repeatable; default every group)")
    parser.add_argument("--top", type=int, default=10, help="groups in the terminal table (default 10)")
    parser.add_argument("--out", type=Path,
                        help="output folder (default runs/out/<name>/sensitivity/ beside the run file)")
    add_grid_arguments(parser)
    add_force_argument(parser)


def run(arguments) -> int:
    from dataclasses import replace

    from .. import __version__
    from ..errors import UsageError
    from ..executors import executor
    from ..inputs.currency import declared
    from ..inputs.data import load
    from ..inputs.sensitivity import changes as read_changes
    from ..inputs.sensitivity import factors, input_groups, select
    from ..results.sensitivity import BASE, Point, flip_table, sensitivity_table, solved, tornado
    from ..writers.sensitivity import SENSITIVITY_FILES, write_sensitivity_tables
    from ..writers.staging import write_set
    from ..writers.terminal import format_tornado

    started = time.perf_counter()
    if arguments.top < 1:
        raise UsageError(f"--top must be a whole number >= 1 ({arguments.top})")
    changes = read_changes(arguments.change)
    data = load(arguments.run)
    groups = select(input_groups(data.dataset, data.run), arguments.group)
    # One thread per point: points run side by side, and HiGHS fixes its thread pool per process.
    data = replace(data, run=replace(data.run, solver=replace(data.run.solver, threads=1)))
    out = arguments.out or default_out(arguments.run, data.run.name, "sensitivity")  # beside the solve's
    check_out_folder(out, data, SENSITIVITY_FILES, folders=(PointGrid.folder_name("sensitivity"),), manifest=MANIFEST,
                     force=arguments.force)
    where = executor(arguments.scheduler, arguments.workers, data.run.sweep)
    specs = [(BASE, "", "", 0.0, 1.0, (), {})]
    for group in groups:
        for change in changes:
            for factor, signed in zip(factors(change), (-change, change)):
                specs.append((group.name, group.kind, group.item, signed, factor, tuple(group.set_texts(factor)),
                              group.settings(factor)))
    load_seconds = time.perf_counter() - started

    grid = PointGrid(data, out, "sensitivity")
    records = grid.solve(solve_point_in_detail, [spec[-1] for spec in specs], where, fresh=arguments.fresh,
                         quiet=arguments.quiet)
    base = records[0]
    if not solved(base):
        print(f"error: the base run has no solution ({base['status']}): there is nothing to compare the changes "
              f"with; see critmin solve {arguments.run}", file=sys.stderr)
        return EXIT_INFEASIBLE
    pathway = len(data.years) > 1
    what = "discounted total cost" if pathway else "annual cost"
    currency = declared(data.dataset.tables).code
    with grid.writing():
        points = [Point(*spec[:-1], record) for spec, record in zip(specs, records)]
        table = sensitivity_table(points)
        flips = flip_table(points)
        bars = tornado(table, changes)
        statuses = {status: int(count) for status, count in table["status"].value_counts().items()}
        seconds = [r["seconds"] for r in records if not r.get("reused")]
        manifest = {
            **manifest_head(data),
            "overrides": [o.text for o in data.run.overrides],  # the run file's set, applied to every point
            "objective": what,
            "base_objective": base["objective"],
            "changes_percent": changes,
            "groups": {group.name: list(group.keys) for group in groups},
            "points": len(records),
            "solved_now": grid.solved,
            "reused": len(records) - grid.solved,
            "executor": grid.executor,
            "statuses": statuses,
            "top": [{"group": row["group"], "swing": row["swing"]} for row in bars.head(3).to_dict("records")],
            "mean_seconds_per_point": sum(seconds) / len(seconds) if seconds else None,
            "wall_seconds": {"load": load_seconds, "points": grid.seconds, "total": time.perf_counter() - started},
            "versions": {"critmin": __version__, "python": sys.version.split()[0]},
        }
        title = (f"{data.run.name}: change of the {what} ({currency}) when one input group moves "
                 + ", ".join(f"±{c:g} %" for c in changes))
        write_set(out, SENSITIVITY_FILES, MANIFEST, manifest,
                  lambda stage: write_sensitivity_tables(stage, table, flips, bars, changes, title))
        if not arguments.quiet:
            print(format_tornado(bars, changes, base["objective"], currency, arguments.top))
    unsolved = len(table) - int(table["objective"].notna().sum())
    print(f"\n{len(groups)} groups, {len(records)} points ({grid.solved} solved now, {len(records) - grid.solved} "
          f"reused) in {manifest['wall_seconds']['total']:.1f} s on {grid.executor}"
          + (f"; {unsolved} without a solution (see the status column)" if unsolved else ""))
    print(f"outputs: {out}")
    return EXIT_SOLVED
