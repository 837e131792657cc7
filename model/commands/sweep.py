"""``critmin sweep RUN.toml --set policy.country_cap=1.0:0.4:0.05 [--set ...]``: solve a grid of settings.

The cartesian product of the ``--set`` values is solved point by point, each
point an independent solve on one thread.  Points run on local processes
(``--workers N``, default one per core) or on a Dask distributed cluster
(``--scheduler tcp://HOST:PORT`` or ``[sweep] scheduler``) through its
concurrent.futures executor.

What is not redone:
- the run file and the dataset are read and validated once, here; each
  worker receives the validated data once (a process-pool initializer, or
  one Dask scatter broadcast to the workers), not once per point;
- workers are long-lived, so imports (Pyomo, pandas, HiGHS) are paid once
  per worker; with one worker the points run in this process;
- each finished point is written at once to ``sweep-points/<key>.json``,
  ``key`` a hash of the inputs' SHA-256 and the point's settings, so an
  interrupted or extended sweep solves only the points it has not seen.

Outputs in ``--out`` (default runs/out/<name>/): sweep.xlsx, sweep.csv,
sweep.png and sweep-manifest.json (the SHA-256 of the other three), staged
and committed as one set under the folder's lock (``writers.staging``): a
kill or a second sweep into the folder never leaves files of two sweeps.
Local workers die with the sweep, even when it is killed with SIGKILL.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import time
from pathlib import Path

from ..workers import die_with_parent as _die_with_parent  # a worker never outlives its sweep
from .common import EXIT_INTERRUPTED, EXIT_SOLVED, check_out_folder, data_hashes, default_out

POINTS_FOLDER = "sweep-points"
SWEEP_MANIFEST = "sweep-manifest.json"  # the last file of a sweep's output set (writers.staging)
MAX_WORKERS = 256
CONNECT_TIMEOUT = "10s"  # to reach a Dask scheduler


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
    parser.add_argument("--out", type=Path, help="output folder (default runs/out/<name>/ beside the run file)")
    parser.add_argument("--workers", type=int, help="local worker processes (default [sweep] workers, else one per core)")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (default [sweep] scheduler); "
                                            "'local' forces local processes")
    parser.add_argument("--fresh", action="store_true", help="solve every point again, ignoring saved points")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")


# --- Worker side: the same function runs in a local process, in this process or on a Dask worker ------------

_worker_data = None


def _init_worker(data, parent: int | None = None) -> None:
    """Process-pool initializer: keep the validated data; leave Ctrl-C to the parent; die with the parent."""
    import signal

    global _worker_data
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)
    _worker_data = data


def _local_task(settings: dict) -> dict:
    return solve_point(_worker_data, settings)


_dask_lock = None


def _dask_task(data, settings: dict) -> dict:
    """On a Dask worker: one point at a time per process (Pyomo is not thread-safe; HiGHS pins its pool)."""
    import threading

    global _dask_lock
    if _dask_lock is None:
        _dask_lock = threading.Lock()
    with _dask_lock:
        return solve_point(data, settings)


def solve_point(data, settings: dict) -> dict:
    """Solve one point: the run with ``settings`` applied; a JSON-ready record (results.sweep)."""
    from dataclasses import replace

    from ..inputs.overrides import is_data_key
    from ..inputs.settings import with_settings
    from ..optimization.solve import NoSolutionError, solve
    from ..results.sweep import NO_SOLUTION, failed_record, fast_point_record

    start = time.perf_counter()
    run = with_settings(data.run, settings)
    if any(key.startswith("demand.") or is_data_key(key) for key in settings):
        from ..inputs.data import prepare

        point = prepare(data.dataset, run)  # the requirements or the data move: apply and derive them again
    else:
        point = replace(data, run=run)
    try:
        outcome = solve(point)
    except NoSolutionError as error:
        return failed_record(settings, NO_SOLUTION, str(error), time.perf_counter() - start)
    record = fast_point_record(point, outcome, settings, 0.0)
    record["seconds"] = time.perf_counter() - start
    record["worker"] = f"{os.uname().nodename}:{os.getpid()}" if hasattr(os, "uname") else str(os.getpid())
    return record


# --- Parent side ----------------------------------------------------------------------------------------------

def grid(settings) -> list[dict]:
    """The cartesian product of the settings' values, the first setting varying slowest."""
    keys = [s.key for s in settings]
    return [dict(zip(keys, values)) for values in itertools.product(*(s.values for s in settings))]


def point_key(inputs_hash: str, settings: dict, solver) -> str:
    document = {"inputs": inputs_hash, "settings": settings,
                "solver": {"time_limit": solver.time_limit, "mip_rel_gap": solver.mip_rel_gap}}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _normal(settings: dict) -> dict:
    return json.loads(json.dumps(settings, sort_keys=True))


def load_saved(folder: Path, key: str, settings: dict) -> dict | None:
    """A point saved by an earlier (maybe interrupted) sweep, when it is for these settings."""
    path = folder / f"{key}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key or record.get("settings") != _normal(settings):
        return None
    return record


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


def _scheduler(arguments, run) -> str | None:
    from ..errors import UsageError
    from ..inputs.runfile import _parse_value

    address = arguments.scheduler if arguments.scheduler is not None else run.sweep.scheduler
    if address is None or address == "local":
        return None
    parsed, wrong = _parse_value("address", address)
    if wrong:
        raise UsageError(f"--scheduler: {wrong} ({address})")
    return parsed


def _workers(arguments, run) -> int:
    from ..errors import UsageError

    workers = arguments.workers if arguments.workers is not None else run.sweep.workers
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if workers < 1:
        raise UsageError(f"--workers must be a whole number >= 1 ({workers})")
    if workers > MAX_WORKERS:
        raise UsageError(f"--workers: at most {MAX_WORKERS} local processes ({workers}); for more, use a Dask "
                         "cluster (--scheduler)")
    return workers


def run(arguments) -> int:
    from dataclasses import replace

    from ..errors import InputError
    from ..inputs.data import load
    from ..errors import Problem
    from ..inputs.overrides import is_data_key
    from ..inputs.runfile import check_run_against_data
    from ..inputs.settings import MAX_POINTS, parse_setting, split_setting, with_settings
    from ..writers.sweep import SWEEP_FILES

    started = time.perf_counter()
    problems, settings = [], []
    for text in arguments.settings:
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

    data = load(arguments.run)
    _check_settings(settings, data)
    # One thread per point: points run side by side, and HiGHS fixes its thread pool per process.
    data = replace(data, run=replace(data.run, solver=replace(data.run.solver, threads=1)))
    points = grid(settings)
    _check_data_settings([s for s in settings if is_data_key(s.key)], data)
    for point in points:
        check_run_against_data(with_settings(data.run, {k: v for k, v in point.items() if not is_data_key(k)}),
                               data.dataset)
    out = arguments.out or default_out(arguments.run, data.run.name)
    check_out_folder(out, data, SWEEP_FILES, folders=(POINTS_FOLDER,))
    scheduler = _scheduler(arguments, data.run)
    workers = _workers(arguments, data.run)
    load_seconds = time.perf_counter() - started

    files, inputs_hash = data_hashes(data)
    folder = Path(out) / POINTS_FOLDER
    keyed = [(point_key(inputs_hash, p, with_settings(data.run, p).solver), p) for p in points]
    records: dict[str, dict] = {}
    if not arguments.fresh:
        for key, point in keyed:
            saved = load_saved(folder, key, point)
            if saved is not None:
                records[key] = {**saved, "reused": True}
    todo = list({key: point for key, point in keyed if key not in records}.items())

    clock = time.perf_counter()
    executor_name = "none (every point saved)" if not todo else (
        f"dask {scheduler}" if scheduler else f"{min(workers, len(todo))} local process(es)"
        if min(workers, len(todo)) > 1 else "this process")
    interrupted = False
    try:
        _run_points(todo, data, scheduler, workers, folder, records, quiet=arguments.quiet)
    except KeyboardInterrupt:
        interrupted = True
    solve_seconds = time.perf_counter() - clock
    if interrupted:
        done = sum(1 for key, _ in keyed if key in records)
        return _interrupted(f"interrupted (Ctrl-C): {done} of {len(keyed)} points are saved in {folder}; the sweep "
                            f"outputs in {out} are as they were; run the same command again to solve the rest")
    try:
        return _finish(arguments, data, settings, keyed, records, out, files, inputs_hash, executor_name,
                       {"load": load_seconds, "points": solve_seconds, "total": time.perf_counter() - started},
                       len(todo))
    except KeyboardInterrupt as error:
        from ..writers.staging import Interrupted

        if isinstance(error, Interrupted):
            raise
        return _interrupted(f"interrupted (Ctrl-C) while writing: every point is saved in {folder}; the sweep "
                            f"outputs in {out} are as they were; run the same command again to write them")


def _interrupted(message: str) -> int:
    from ..cli import interrupted

    return interrupted(KeyboardInterrupt(message))


def _run_points(todo, data, scheduler, workers, folder, records, quiet) -> None:
    """Solve the points in ``todo``, saving each record as soon as it arrives."""
    from ..writers.files import write_json

    if not todo:
        return
    progress = _progress(len(todo), quiet)

    def keep(key, record):
        from .. import interrupts
        from ..errors import UsageError

        interrupts.check()  # a point whose solve Ctrl-C cut short is not saved
        record = {"key": key, **record}
        try:
            write_json(folder / f"{key}.json", record)
        except OSError as error:
            raise UsageError(f"{error.filename or folder}: cannot save a solved point ({error.strerror or error}); "
                             f"{len(records)} points are saved; the sweep outputs are as they were") from None
        records[key] = json.loads(json.dumps(record, default=str))
        progress.update(1)

    try:
        if scheduler:
            _run_dask(todo, data, scheduler, keep)
        elif min(workers, len(todo)) == 1:
            for key, point in todo:
                keep(key, solve_point(data, point))
        else:
            _run_local(todo, data, min(workers, len(todo)), keep)
    finally:
        progress.close()


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked after this
    return tqdm(total=total, unit="point", desc="sweep", file=sys.stderr, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty())


def _preload_writers() -> None:
    """Import matplotlib and openpyxl on a thread while the workers solve (about 0.3 s saved at the end)."""
    import threading

    def load():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import openpyxl.chart  # noqa: F401

    threading.Thread(target=load, name="critmin-preload", daemon=True).start()


def _run_local(todo, data, workers: int, keep) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # fork shares the parent's imports with the workers (Linux); elsewhere fork is unsafe: spawn.
    fork = sys.platform.startswith("linux")
    if fork:  # import and warm the solver stack once, here, so that no worker pays for it
        import pyomo.contrib.solver.solvers.highs  # noqa: F401

        from ..optimization.build import build_model
        from ..results import sweep  # noqa: F401

        build_model(data)  # Pyomo's first build sets up caches; no HiGHS solve here (its threads would not fork)
    context = multiprocessing.get_context("fork" if fork else "spawn")
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                   initargs=(data, os.getpid()))
    try:
        pending = {executor.submit(_local_task, point): key for key, point in todo}
        if workers < (os.cpu_count() or 1):  # a core to spare: the parent imports the writers meanwhile
            _preload_writers()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                keep(pending.pop(future), future.result())
    except BaseException:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.kill()  # a point can take minutes: do not wait for the ones running
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _run_dask(todo, data, address: str, keep) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    from ..errors import UsageError

    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask distributed: pip install 'critmin[dask]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        shared = client.scatter(data, broadcast=True, hash=False)  # once per worker, not once per point
        executor = client.get_executor(pure=False)
        pending = {executor.submit(_dask_task, shared, point): key for key, point in todo}
        _preload_writers()
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    keep(pending.pop(future), future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    finally:
        client.close()


def _finish(arguments, data, settings, keyed, records, out, files, inputs_hash, executor_name, wall, solved) -> int:
    from .. import __version__
    from ..results.sweep import SOLVED, sweep_table
    from ..writers.files import write_json
    from ..writers.staging import output_hashes, staged_outputs
    from ..writers.sweep import SWEEP_FILES, write_sweep_tables

    keys = [s.key for s in settings]
    ordered = [records[key] for key, _ in keyed]
    table = sweep_table(ordered, keys)
    seconds = [r["seconds"] for r in ordered if not r.get("reused")]
    manifest = {
        "run_file": str(Path(data.run.path).resolve()),
        "run_name": data.run.name,
        "dataset": str(Path(data.dataset.path).resolve()),
        "input_sha256": files,
        "data_hash": inputs_hash,
        "settings": {s.key: list(s.values) for s in settings},
        "overrides": [o.text for o in data.run.overrides],  # the run file's set, applied to every point
        "points": len(keyed),
        "solved_now": solved,
        "reused": len(keyed) - solved,
        "executor": executor_name,
        "statuses": {status: int(count) for status, count in table["status"].value_counts().items()},
        "mean_seconds_per_point": sum(seconds) / len(seconds) if seconds else None,
        "wall_seconds": wall,
        "versions": {"critmin": __version__, "python": sys.version.split()[0]},
    }
    title = f"{data.run.name}: annual cost against {keys[0]}"
    clock = time.perf_counter()
    # One set: staged, then committed whole under the folder's lock, sweep-manifest.json (with the SHA-256
    # of the other files) last; a kill or a second sweep into the folder never leaves files of two sweeps.
    with staged_outputs(out, SWEEP_FILES, manifest=SWEEP_MANIFEST) as stage:
        write_sweep_tables(stage, table, keys, title)
        wall["write"] = time.perf_counter() - clock
        wall["total"] += wall["write"]
        manifest["outputs"] = output_hashes(stage, SWEEP_MANIFEST)
        write_json(stage / SWEEP_MANIFEST, manifest)
    if not arguments.quiet:
        print(format_sweep(table, keys))
    unsolved = int((~table["status"].isin(SOLVED)).sum())
    print(f"\n{len(keyed)} points ({solved} solved now, {len(keyed) - solved} reused) in {wall['total']:.1f} s "
          f"on {executor_name}" + (f"; {unsolved} without a feasible portfolio" if unsolved else ""))
    print(f"outputs: {out}")
    return EXIT_SOLVED


def format_sweep(table, keys) -> str:
    from ..writers.terminal import _money

    widths = [max(len(k), 10) for k in keys]
    header = "".join(f"{k:>{w + 2}}" for k, w in zip(keys, widths)) + f"{'status':>13}{'annual cost':>14}"
    lines = [header, "-" * len(header)]
    for row in table.to_dict("records"):
        cells = "".join(f"{str(row[k]):>{w + 2}}" for k, w in zip(keys, widths))
        cost = row["annual_cost"]
        lines.append(cells + f"{row['status']:>13}{_money(cost) if cost == cost and cost is not None else '-':>14}")
    return "\n".join(lines)
