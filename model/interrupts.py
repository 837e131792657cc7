"""Ctrl-C, remembered: the solver would swallow it, so critmin keeps its own record.

highspy catches the ``KeyboardInterrupt`` of a Ctrl-C during a solve,
cancels the solve, prints a line of its own and returns: Pyomo then reports
"the solver stopped" (or an incumbent, as if a time limit had passed).  The
handler the command line installs (``watching``) counts every SIGINT; during
a HiGHS solve it cancels the solve itself (no line printed) instead of
raising, elsewhere it raises ``KeyboardInterrupt`` as Python does.  A command
calls ``check()`` after a solve and before writing, so that nothing an
interrupted solve produced is reported or written.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_count = 0


def _running_highs(frame):
    """The highspy ``Highs`` whose solve the main thread is waiting for, if it is."""
    while frame is not None:
        if frame.f_code.co_name == "joinSolve" and "highspy" in frame.f_code.co_filename:
            return frame.f_locals.get("self")
        frame = frame.f_back
    return None


def _handler(signum, frame) -> None:
    global _count
    _count += 1
    highs = _running_highs(frame)
    if highs is not None:
        try:
            highs.cancelSolve()  # the solve returns at once; check() raises afterwards
            return
        except Exception:  # noqa: BLE001 - fall back to what Python does
            pass
    raise KeyboardInterrupt


@contextlib.contextmanager
def watching():
    """Count Ctrl-C for the duration (main thread only; elsewhere Python's own handling stays)."""
    global _count
    _count = 0
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def requested() -> bool:
    """Whether Ctrl-C was pressed since ``watching`` began."""
    return _count > 0


def check() -> None:
    """Raise ``KeyboardInterrupt`` when Ctrl-C was pressed (and perhaps swallowed by the solver)."""
    if _count:
        raise KeyboardInterrupt
