"""Worker processes for parallel re-solves (``executors``: sweep and sensitivity points, forced-in costs)
never outlive their parent.

Linux: the kernel sends the worker SIGKILL when the process that forked it
dies (prctl PR_SET_PDEATHSIG).  Everywhere, and as a fallback: a daemon
thread that exits the worker once its parent pid changes.  A worker ignores
Ctrl-C: the parent handles it and shuts the pool down.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 0.5


def die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="critmin-parent-watch", daemon=True).start()
