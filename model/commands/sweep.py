"""``critmin sweep RUN.toml --set policy.country_cap=1.0:0.4:0.05 [--set ...]``: solve a grid of settings.

The cartesian product of the ``--set`` values is solved point by point, each
point an independent solve on one thread, on local processes (``--workers
N``, default one per core) or a Dask cluster (``--scheduler tcp://HOST:PORT``
or ``[sweep] scheduler``): ``critmin.executors``.  Each finished point is
saved at once in ``sweep-points/`` (``commands.points``, ``writers.points``),
so an interrupted or extended sweep solves only the points it has not seen.

This module reads and checks the arguments (every value and every data
combination against the dataset, before anything is solved or written), then
solves the grid and writes the set.  Outputs in ``--out`` (default
runs/out/<name>/sweep/): sweep.xlsx, sweep.csv, sweep.png and sweep-manifest.json
(the SHA-256 of the other three), staged and committed as one set under the
folder's lock (``writers.staging``): a kill or a second sweep into the folder
never leaves files of two sweeps.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

from .common import (
    EXIT_INTERRUPTED,  # noqa: F401  (a sweep interrupted by Ctrl-C exits with it)
    EXIT_SOLVED,
    add_force_argument,
    check_out_folder,
    default_out,
    manifest_head,
)
from .points import PointGrid, add_grid_arguments, solve_point

POINTS_FOLDER = PointGrid.folder_name("sweep")
SWEEP_MANIFEST = "sweep-manifest.json"  # the last file of a sweep's output set (writers.staging)


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "sweep", help="solve the cartesian product of settings; write sweep.xlsx, sweep.csv and a frontier plot",
        description="Each --set is SECTION.KEY=VALUES with VALUES a range START:STOP:STEP (both ends included), "
                    "a comma list (0,30,60,90) or TOML values; e.g. --set policy.country_cap=1.0:0.4:0.05. "
                    "Per-mineral entries: --set policy.country_cap_by_mineral.dytb=0.5:1:0.1. Data overrides: "
                    "--set 'data.supply[mine_country=RUS].max_t=0,1000', factor ranges "
                    "--set 'data.targets[mineral=lithium].target_t=*0.8:1.2:0.1'.")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="SECTION.KEY=VALUES",
                        required=True, help="a setting to sweep (repeat for a grid)")
    parser.add_argument("--out", type=Path,
                        help="output folder (default runs/out/<name>/sweep/ beside the run file)")
    add_grid_arguments(parser)
    add_force_argument(parser)


def grid(settings) -> list[dict]:
    """The cartesian product of the settings' values, the first setting varying slowest."""
    keys = [s.key for s in settings]
    return [dict(zip(keys, values)) for values in itertools.product(*(s.values for s in settings))]


def _check_settings(settings, data) -> None:
    """Mineral ids named in per-mineral settings must exist (before anything is solved or written)."""
    from ..errors import InputError, Problem
    from ..inputs.runfile import POLICY_KEYS

    problems = []
    for setting in settings:
        parts = setting.key.split(".")
        if parts[0] == "demand" and data.run.targets != "derived":
            problems.append(Problem("--set", None, setting.key,
                                    'demand.* settings need targets = "derived" in the run file'))
            continue
        if parts[0] != "policy" or POLICY_KEYS[parts[1]].kind != "fractions":
            continue
        named = {parts[2]} if len(parts) == 3 else {m for value in setting.values for m in value}
        for mineral in sorted(named - set(data.minerals)):
            problems.append(Problem("--set", None, setting.key, "unknown mineral", mineral))
    if problems:
        raise InputError(problems)


def _check_data_settings(settings, data) -> None:
    """Every combination of the data overrides' values applies to the dataset (rows match, products keep
    inside the limits, the cross-table rules hold) before anything is solved or written."""
    from ..inputs.overrides import overridden
    from ..inputs.runfile import check_run_against_data
    from ..inputs.settings import with_settings

    for combination in grid(settings):
        run = with_settings(data.run, combination)
        check_run_against_data(run, overridden(data.dataset, run))


def parse_grid(texts: list[str]):
    """The ``--set`` arguments as Settings: each readable, none given twice or also entry by entry, and
    their product no larger than ``MAX_POINTS``; every problem at once, located at ``--set``."""
    from ..errors import InputError, Problem
    from ..inputs.settings import MAX_POINTS, parse_setting, split_setting

    problems, settings = [], []
    for text in texts:
        try:
            settings.append(parse_setting(text))
        except InputError as error:
            problems += error.problems
        except (OverflowError, ValueError, MemoryError) as error:  # values no check above foresaw
            dotted, _, spec = split_setting(text)
            problems.append(Problem("--set", None, dotted or None, f"cannot read these values ({error})", spec))
    keys = [s.key for s in settings]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(Problem("--set", None, key, "set more than once"))
    for setting in settings:
        clash = [k for k in keys if k != setting.key and k.startswith(setting.key + ".")]
        if clash:
            problems.append(Problem("--set", None, setting.key, f"also set entry by entry ({clash[0]})"))
    if problems:
        raise InputError(problems)
    size = 1
    for setting in settings:
        size *= len(setting.values)
    if size > MAX_POINTS:
        raise InputError([Problem("--set", None, None, f"the grid has {size:,} points; at most {MAX_POINTS:,}")])
    return settings


def run(arguments) -> int:
    from dataclasses import replace

    from .. import __version__
    from ..executors import executor
    from ..inputs.data import load
    from ..inputs.overrides import is_data_key
    from ..inputs.runfile import check_run_against_data
    from ..inputs.settings import with_settings
    from ..results.sweep import SOLVED, sweep_table
    from ..writers.staging import write_set
    from ..writers.sweep import SWEEP_FILES, write_sweep_tables
    from ..writers.terminal import format_sweep

    started = time.perf_counter()
    settings = parse_grid(arguments.settings)
    data = load(arguments.run)
    _check_settings(settings, data)
    # One thread per point: points run side by side, and HiGHS fixes its thread pool per process.
    data = replace(data, run=replace(data.run, solver=replace(data.run.solver, threads=1)))
    points = grid(settings)
    _check_data_settings([s for s in settings if is_data_key(s.key)], data)
    for point in points:
        check_run_against_data(with_settings(data.run, {k: v for k, v in point.items() if not is_data_key(k)}),
                               data.dataset)
    out = arguments.out or default_out(arguments.run, data.run.name, "sweep")  # beside the solve's, not over them
    check_out_folder(out, data, SWEEP_FILES, folders=(POINTS_FOLDER,), manifest=SWEEP_MANIFEST, force=arguments.force)
    where = executor(arguments.scheduler, arguments.workers, data.run.sweep)
    load_seconds = time.perf_counter() - started

    points_grid = PointGrid(data, out, "sweep")
    records = points_grid.solve(solve_point, points, where, fresh=arguments.fresh, quiet=arguments.quiet)
    keys = [s.key for s in settings]
    with points_grid.writing():
        table = sweep_table(records, keys)
        seconds = [r["seconds"] for r in records if not r.get("reused")]
        solved = points_grid.solved
        manifest = {
            **manifest_head(data),
            "settings": {s.key: list(s.values) for s in settings},
            "overrides": [o.text for o in data.run.overrides],  # the run file's set, applied to every point
            "points": len(records),
            "solved_now": solved,
            "reused": len(records) - solved,
            "executor": points_grid.executor,
            "statuses": {status: int(count) for status, count in table["status"].value_counts().items()},
            "mean_seconds_per_point": sum(seconds) / len(seconds) if seconds else None,
            "wall_seconds": {"load": load_seconds, "points": points_grid.seconds,
                             "total": time.perf_counter() - started},
            "versions": {"critmin": __version__, "python": sys.version.split()[0]},
        }
        title = f"{data.run.name}: annual cost against {keys[0]}"
        write_set(out, SWEEP_FILES, SWEEP_MANIFEST, manifest,
                  lambda stage: write_sweep_tables(stage, table, keys, title))
        if not arguments.quiet:
            print(format_sweep(table, keys))
    unsolved = int((~table["status"].isin(SOLVED)).sum())
    print(f"\n{len(records)} points ({solved} solved now, {len(records) - solved} reused) in "
          f"{manifest['wall_seconds']['total']:.1f} s on {points_grid.executor}"
          + (f"; {unsolved} without a feasible portfolio" if unsolved else ""))
    print(f"outputs: {out}")
    return EXIT_SOLVED
