"""Where independent solves run: this process, local worker processes, or a Dask cluster.

A command that solves many independent points (``critmin sweep``,
``critmin sensitivity``) hands them here as ``(key, payload)`` pairs with a
task, ``task(data, payload) -> result``, a module-level function (it is sent
to the workers by reference).  ``run_tasks`` solves every payload and calls
``keep(key, result)`` in this process as each result arrives, in the order
they finish: one drain loop, whichever executor runs them.

- one worker, or one point: the points run in this process, one by one;
- local processes (``--workers N``, default one per core): a process pool
  whose initializer keeps the data once per worker, not once per point; on
  Linux the workers are forked after ``warm()`` imported and warmed the
  solver stack here, so no worker pays for it; they die with the parent
  (``workers.die_with_parent``) and ignore Ctrl-C, which the parent handles;
- Dask (``--scheduler tcp://HOST:PORT`` or ``[sweep] scheduler``): the data
  is scattered once (broadcast to every worker), the points go through the
  cluster's ``concurrent.futures`` executor, one at a time per worker process
  (Pyomo is not thread-safe and HiGHS pins its pool).

When a point fails or Ctrl-C arrives, the points still running are stopped
(local workers killed, Dask futures cancelled) and the error goes on up.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from .errors import UsageError
from .workers import die_with_parent

MAX_WORKERS = 256
CONNECT_TIMEOUT = "10s"  # to reach a Dask scheduler


@dataclass(frozen=True)
class Executor:
    """Where the points run: a Dask scheduler's address, else ``workers`` local processes."""

    scheduler: str | None
    workers: int

    def processes(self, points: int) -> int:
        """The local processes ``points`` points would use (1: this process)."""
        return max(1, min(self.workers, points))

    def describe(self, points: int) -> str:
        """Where ``points`` points run, as the manifests and the closing line say it."""
        if not points:
            return "none (every point saved)"
        if self.scheduler:
            return f"dask {self.scheduler}"
        processes = self.processes(points)
        return f"{processes} local process(es)" if processes > 1 else "this process"


def executor(scheduler: str | None, workers: int | None, options) -> Executor:
    """The executor the command line (``--scheduler``, ``--workers``) or else the run file's ``[sweep]``
    section (``options``: keys.SweepOptions) asks for; a bad value is a UsageError."""
    from .inputs.keys import _parse_value

    address = scheduler if scheduler is not None else options.scheduler
    if address is None or address == "local":
        address = None
    else:
        parsed, wrong = _parse_value("address", address)
        if wrong:
            raise UsageError(f"--scheduler: {wrong} ({address})")
        address = parsed
    count = workers if workers is not None else options.workers
    if count is None:
        count = max(1, os.cpu_count() or 1)
    elif count < 1:
        raise UsageError(f"--workers must be a whole number >= 1 ({count})")
    elif count > MAX_WORKERS:
        raise UsageError(f"--workers: at most {MAX_WORKERS} local processes ({count}); for more, use a Dask "
                         "cluster (--scheduler)")
    return Executor(address, count)


def run_tasks(task, data, todo: list[tuple[str, object]], where: Executor, keep, *, warm=None,
              meanwhile=None) -> None:
    """``keep(key, task(data, payload))`` for every ``(key, payload)`` of ``todo``, as each finishes.

    ``warm(data)``, before local workers are forked: import and warm what every task needs, once.
    ``meanwhile()``, once the points are submitted, when this process has a core to spare: work of the
    parent's own (importing the writers)."""
    if not todo:
        return
    if where.scheduler:
        _run_dask(task, data, todo, where.scheduler, keep, meanwhile)
    elif where.processes(len(todo)) == 1:
        for key, payload in todo:
            keep(key, task(data, payload))
    else:
        _run_local(task, data, todo, where.processes(len(todo)), keep, warm, meanwhile)


def _drain(pending: dict, keep) -> None:
    """The one drain loop: ``keep`` each finished future's result, in the order they finish."""
    from concurrent.futures import FIRST_COMPLETED, wait

    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            keep(pending.pop(future), future.result())


# --- Local processes --------------------------------------------------------------------------------------------

_worker_task = None
_worker_data = None


def _init_worker(task, data, parent: int | None = None) -> None:
    """Process-pool initializer: keep the task and the data; leave Ctrl-C to the parent; die with it."""
    import signal

    global _worker_task, _worker_data
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        die_with_parent(parent)
    _worker_task, _worker_data = task, data


def _local_task(payload):
    return _worker_task(_worker_data, payload)


def _run_local(task, data, todo, workers: int, keep, warm, meanwhile) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork shares the parent's imports with the workers (Linux); elsewhere fork is unsafe: spawn.
    fork = sys.platform.startswith("linux")
    if fork and warm is not None:
        warm(data)
    context = multiprocessing.get_context("fork" if fork else "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                               initargs=(task, data, os.getpid()))
    try:
        pending = {pool.submit(_local_task, payload): key for key, payload in todo}
        if meanwhile is not None and workers < (os.cpu_count() or 1):  # a core to spare
            meanwhile()
        _drain(pending, keep)
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()  # a point can take minutes: do not wait for the ones running
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# --- Dask -----------------------------------------------------------------------------------------------------

_dask_lock = None


def _dask_task(task, data, payload):
    """On a Dask worker: one point at a time per process (Pyomo is not thread-safe; HiGHS pins its pool)."""
    import threading

    global _dask_lock
    if _dask_lock is None:
        _dask_lock = threading.Lock()
    with _dask_lock:
        return task(data, payload)


def _run_dask(task, data, todo, address: str, keep, meanwhile) -> None:
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
        pool = client.get_executor(pure=False)
        pending = {pool.submit(_dask_task, task, shared, payload): key for key, payload in todo}
        if meanwhile is not None:
            meanwhile()
        try:
            _drain(pending, keep)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    finally:
        client.close()
