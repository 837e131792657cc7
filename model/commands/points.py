"""What the commands that solve a grid of points share (``critmin sweep``, ``critmin sensitivity``).

A point is the run with some settings applied (policy, solver or demand
keys, data overrides): an ordinary solve, on one thread.  ``PointGrid``
solves the points not saved yet on an executor (``critmin.executors``:
this process, local processes or Dask) and saves each record the moment it
arrives (``writers.points``), so Ctrl-C (exit 130) or a kill loses only the
points running, and the same command again solves only the rest.

What is not redone: the run file and the dataset are read and validated once,
in the command; each worker receives the validated data once; workers are
long-lived, so imports are paid once per worker (on Linux the parent imports
and warms the solver stack before it forks them).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def add_grid_arguments(parser) -> None:
    """Where the points run, and whether saved points are reused: the options every grid command takes."""
    parser.add_argument("--workers", type=int,
                        help="local worker processes (default [sweep] workers, else one per core)")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (default [sweep] scheduler); "
                                            "'local' forces local processes")
    parser.add_argument("--fresh", action="store_true", help="solve every point again, ignoring saved points")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")


# --- Worker side: the same functions run in this process, in a local process or on a Dask worker -------------

def solve_point(data, settings: dict) -> dict:
    """Solve one point: the run with ``settings`` applied; a JSON-ready record (results.sweep)."""
    return _solve(data, settings, detail=False)


def solve_point_in_detail(data, settings: dict) -> dict:
    """``solve_point``, the record also holding every foreign share and the caps at their bound."""
    return _solve(data, settings, detail=True)


def _solve(data, settings: dict, detail: bool) -> dict:
    """A point whose data overrides leave the dataset invalid (a cut below a contract minimum) is a record
    with status ``invalid`` and the problems, not an error: the grid goes on."""
    from dataclasses import replace

    from ..errors import InputError
    from ..inputs.data import prepare
    from ..inputs.overrides import is_data_key
    from ..inputs.settings import with_settings
    from ..optimization.solve import NoSolutionError, solve
    from ..results.sweep import INVALID, NO_SOLUTION, failed_record, point_record

    start = time.perf_counter()
    run = with_settings(data.run, settings)
    if any(key.startswith("demand.") or is_data_key(key) for key in settings):
        try:
            point = prepare(data.dataset, run)  # the requirements or the data move: apply and derive them again
        except InputError as error:
            return failed_record(settings, INVALID, "; ".join(str(p) for p in error.problems),
                                 time.perf_counter() - start)
    else:
        point = replace(data, run=run)
    try:
        outcome = solve(point)
    except NoSolutionError as error:
        return failed_record(settings, NO_SOLUTION, str(error), time.perf_counter() - start)
    record = point_record(point, outcome, settings, 0.0, detail=detail)
    record["seconds"] = time.perf_counter() - start
    record["worker"] = f"{os.uname().nodename}:{os.getpid()}" if hasattr(os, "uname") else str(os.getpid())
    return record


def warm(data) -> None:
    """Before local workers are forked: import and warm the solver stack once, here, so no worker pays."""
    import pyomo.contrib.solver.solvers.highs  # noqa: F401

    from ..optimization.build import build_model
    from ..results import sweep  # noqa: F401

    build_model(data)  # Pyomo's first build sets up caches; no HiGHS solve here (its threads would not fork)


def preload_writers() -> None:
    """Import matplotlib and openpyxl on a thread while the workers solve (about 0.3 s saved at the end)."""
    import threading

    def load():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import openpyxl.chart  # noqa: F401

    threading.Thread(target=load, name="critmin-preload", daemon=True).start()


# --- Parent side ----------------------------------------------------------------------------------------------

class PointGrid:
    """The points of one command into one output folder: keyed, resumed, solved, saved.

    ``what`` names the command's outputs in messages ("sweep"); the records are saved in
    ``<out>/<what>-points/``."""

    def __init__(self, data, out: Path, what: str):
        from ..writers.points import SavedPoints
        from .common import data_hashes

        self.data, self.out, self.what = data, Path(out), what
        self.files, self.inputs_hash = data_hashes(data)
        self.saved = SavedPoints(self.out / self.folder_name(what), what)
        self.solved = 0  # points solved by this run (the others were saved before)
        self.executor = ""  # where they ran, as the manifest says it
        self.seconds = 0.0

    @staticmethod
    def folder_name(what: str) -> str:
        return f"{what}-points"

    def solve(self, task, points: list[dict], where, *, fresh: bool = False, quiet: bool = False) -> list[dict]:
        """The record of every point, in the order of ``points``: saved ones reused (unless ``fresh``), the
        others solved by ``task`` on the executor ``where``.  Ctrl-C: a one-line KeyboardInterrupt saying
        how many points are saved."""
        from ..executors import run_tasks
        from ..inputs.settings import with_settings
        from ..writers.points import point_key
        from ..writers.terminal import progress

        keyed = [(point_key(self.inputs_hash, p, with_settings(self.data.run, p).solver), p) for p in points]
        records: dict[str, dict] = {}
        if not fresh:
            for key, point in keyed:
                saved = self.saved.load(key, point)
                if saved is not None:
                    records[key] = {**saved, "reused": True}
        todo = list({key: point for key, point in keyed if key not in records}.items())
        self.solved, self.executor = len(todo), where.describe(len(todo))
        bar = progress(len(todo), quiet, self.what)

        def keep(key: str, record: dict) -> None:
            from .. import interrupts

            interrupts.check()  # a point whose solve Ctrl-C cut short is not saved
            records[key] = self.saved.save(key, record, len(records))
            bar.update(1)

        clock = time.perf_counter()
        try:
            run_tasks(task, self.data, todo, where, keep, warm=warm, meanwhile=preload_writers)
        except KeyboardInterrupt:
            done = sum(1 for key, _ in keyed if key in records)
            raise KeyboardInterrupt(
                f"interrupted (Ctrl-C): {done} of {len(keyed)} points are saved in {self.saved.folder}; the "
                f"{self.what} outputs in {self.out} are as they were; run the same command again to solve the "
                "rest") from None
        finally:
            bar.close()
            self.seconds = time.perf_counter() - clock
        return [records[key] for key, _ in keyed]

    @contextlib.contextmanager
    def writing(self):
        """Around the write phase: Ctrl-C before the commit is decided leaves the outputs as they were."""
        from ..writers.staging import Interrupted

        try:
            yield
        except KeyboardInterrupt as error:
            if isinstance(error, Interrupted):
                raise
            raise KeyboardInterrupt(
                f"interrupted (Ctrl-C) while writing: every point is saved in {self.saved.folder}; the "
                f"{self.what} outputs in {self.out} are as they were; run the same command again to write "
                "them") from None
