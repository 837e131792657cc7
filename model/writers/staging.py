"""Write a command's output files as one set: staged, checked, then swapped in.

Every file of a run is first written (each atomically, ``files.atomic_path``)
into a hidden staging folder inside ``--out``: ``.critmin-staging-<pid>-*``.
Nothing in ``--out`` itself changes while the slow part runs (the workbook,
the independent check).  The commit then, under an exclusive lock on the
folder (so two runs into the same folder cannot interleave):

1. removes the previous ``manifest.json`` -- from here the old set no longer
   claims to be complete;
2. removes the previous run's other output files (only the names this
   command writes, never a user's other files);
3. renames the new files in, ``manifest.json`` last.

So at every instant the folder holds either a complete set that carries its
``manifest.json`` (which records the SHA-256 of every other output: a reader
can prove the set is whole and from one run), or no manifest and files of at
most one run.  A file is never truncated and old and new files are never
mixed.  A run killed during the commit (a few renames, microseconds) leaves
files of one run without a manifest; ``critmin verify`` calls that folder
incomplete.  A killed run's staging folder is removed by the next run into
the same folder once its process is gone.

``CRITMIN_TEST_PAUSE_WRITES`` (seconds) pauses after staging and between the
commit's steps; the kill tests use it to hit every step.  Leave it unset.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

STAGING_PREFIX = ".critmin-staging-"
MANIFEST = "manifest.json"
PAUSE_VARIABLE = "CRITMIN_TEST_PAUSE_WRITES"


def _pause() -> None:
    seconds = os.environ.get(PAUSE_VARIABLE)
    if seconds:
        time.sleep(float(seconds))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_staging(out: Path) -> None:
    """Remove staging folders left by runs that were killed (their process is gone)."""
    for folder in Path(out).glob(STAGING_PREFIX + "*"):
        pid_text = folder.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on ``folder`` (flock on the directory itself; no lock file is left)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the commit is still ordered
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def staged_files(stage: Path) -> list[str]:
    """The finished files in a staging folder (temporary files start with '.')."""
    return sorted(p.name for p in Path(stage).iterdir() if p.is_file() and not p.name.startswith("."))


def commit(stage: Path, out: Path, replaces) -> None:
    """Swap the staged files into ``out``; ``replaces``: every output name this command may write."""
    new = staged_files(stage)
    if MANIFEST not in new:
        raise AssertionError("a staged output set must carry manifest.json")
    with _locked(out):
        _pause()
        old = [name for name in [MANIFEST] + sorted(set(replaces) | set(new) - {MANIFEST}) if (out / name).exists()]
        for name in old:  # manifest first: the old set stops claiming to be complete
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out / name)
            _pause()
        _fsync_folder(out)
        for name in [n for n in new if n != MANIFEST] + [MANIFEST]:  # manifest last: the new set is complete
            os.replace(stage / name, out / name)
            _pause()
        _fsync_folder(out)


@contextlib.contextmanager
def staged_outputs(out: Path, replaces):
    """Yield a staging folder inside ``out``; on success commit its files into ``out``.

    On an exception nothing in ``out`` changes and the staging folder is removed.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))
    try:
        yield stage
        _pause()
        commit(stage, out, replaces)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
