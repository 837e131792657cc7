"""Write a command's output files as one set: staged, locked, then committed whole.

Every file of an invocation is first written (each atomically,
``files.atomic_path``) into a hidden staging folder inside the output folder:
``.critmin-staging-<pid>-*``.  Nothing in the output folder changes while the
slow part runs (the workbook, the independent check).  The commit then runs
under an exclusive lock on the folder (``flock`` on the folder itself; no
lock file is left), so a second invocation into the same folder waits the
few milliseconds a commit takes and the sets land one after the other:

1. a commit a killed run left half done is finished first (see below);
2. the plan (``.commit.json``: the set's files, its manifest, the names it
   replaces) is written into the staging folder: from here the new set is
   decided;
3. the previous set's manifest is removed (the old set stops claiming to be
   complete), then its other files (only names the command writes, never a
   user's other files);
4. the new files are renamed in, the manifest (``manifest.json``,
   ``sweep-manifest.json``, ...) last, and the staging folder is removed.

Steps 3-4 run in a child process in its own session, which a SIGKILL or a
Ctrl-C of the command does not reach: once the plan is written the new set
lands whole, a few milliseconds later.  Should the child die too (a power
cut), the plan lets the next run into the folder (step 1) finish the commit.
So the folder holds the previous complete set, then (for milliseconds, never
mixed) files of one set without its manifest, then the new complete set.  A
manifest records the SHA-256 of every other file of its set, so a reader can
prove the set is whole and from one run; ``reading`` takes the lock shared to
read a set that is not being replaced.  Staging folders of runs killed before
their commit are removed by the next run into the folder.

``check_writable`` refuses an output folder that cannot be created or written
before any work is done; a write that fails later (a full disk) is one
``UsageError`` naming the file, with the previous outputs unchanged and the
staging folder removed.

``CRITMIN_TEST_PAUSE_WRITES`` (seconds) pauses after staging, in the lock and
before the committer starts, ``CRITMIN_TEST_PAUSE_COMMIT`` between the
committer's steps; the kill tests use them to hit every phase.  Leave them
unset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

from .. import interrupts
from ..errors import UsageError

STAGING_PREFIX = ".critmin-staging-"
MANIFEST = "manifest.json"
PLAN = ".commit.json"  # in a staging folder: its commit is decided (hidden: never staged as an output)
PAUSE_VARIABLE = "CRITMIN_TEST_PAUSE_WRITES"
COMMIT_PAUSE_VARIABLE = "CRITMIN_TEST_PAUSE_COMMIT"  # between the committer's steps (kill tests only)
NAME_MAX = 255  # bytes in one file or folder name (Linux, macOS)
PATH_MAX = 4096 - 160  # bytes in a path, less room for the staging and temporary names written below it


class Interrupted(KeyboardInterrupt):
    """Ctrl-C arrived while a decided commit ran: it was finished first; the message says so."""


@contextlib.contextmanager
def _holding_ctrl_c():
    """Hold Ctrl-C for the duration: a handler that only records it (Python runs handlers in the main
    thread, whichever thread the signal reached).  Yields the list of signals held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


def _pause(variable: str = PAUSE_VARIABLE) -> None:
    seconds = os.environ.get(variable)
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


# --------------------------------------------------------------------------- checks before any work

def check_writable(out, files=(), folders=(), what: str = "--out") -> None:
    """Refuse (``UsageError``, one line) an output folder that cannot be created or written.

    Run before any work: a file or a dangling link in the way, a path under a
    file, a read-only or missing permission, a NUL character, a name or path
    too long, and an output name (``files``) that is a folder or a working
    folder (``folders``) that is a file.  Probes by creating and removing an
    empty hidden folder: nothing is left.
    """
    text = os.fspath(out)
    if "\x00" in text:
        raise UsageError(f"{what} {text!r}: a path cannot contain a NUL character")
    path = Path(os.path.abspath(text))
    if len(os.fsencode(str(path))) > PATH_MAX:
        raise UsageError(f"{what} {text[:60]}...: the path is too long ({len(os.fsencode(str(path))):,} bytes; "
                         f"at most {PATH_MAX:,})")
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX - 40:
            raise UsageError(f"{what} {part[:40]}...: a folder name is too long ({len(os.fsencode(part))} bytes; "
                             f"at most {NAME_MAX - 40})")
    existing = path
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing != path and not existing.is_dir():
        kind = "a file" if existing.is_file() else "a broken link" if existing.is_symlink() else "not a folder"
        raise UsageError(f"{existing}: is {kind}, so {what} {path} cannot be created under it")
    if existing == path and not path.is_dir():
        kind = "a file" if path.is_file() else "a broken link" if path.is_symlink() else "not a folder"
        raise UsageError(f"{path}: is {kind}, not a folder; {what} must be a folder")
    if existing == path:
        for name in files:
            if (path / name).is_dir():
                raise UsageError(f"{path / name}: is a folder; critmin writes a file of that name; move it or "
                                 f"choose another {what}")
        for name in folders:
            if os.path.lexists(path / name) and not (path / name).is_dir():
                raise UsageError(f"{path / name}: is a file; critmin keeps a folder of that name here; move it or "
                                 f"choose another {what}")
    probes = [existing] + [path / name for name in folders if existing == path and (path / name).is_dir()]
    for folder in probes:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".critmin-probe-", dir=folder))
        except OSError as error:
            raise UsageError(f"{folder}: cannot write here ({error.strerror or error}); choose another {what}") \
                from None


# --------------------------------------------------------------------------- the lock

@contextlib.contextmanager
def locked(folder: Path, shared: bool = False):
    """An exclusive (or shared) lock on ``folder``: flock on the folder itself, so no lock file is left."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the commit is still ordered
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def reading(folder: Path):
    """Read ``folder``'s output set while no commit replaces it (a shared lock; none when it cannot be taken)."""
    try:
        lock = locked(Path(folder), shared=True)
        lock.__enter__()
    except OSError:  # missing, or not a folder: the reader reports that itself
        yield
        return
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --------------------------------------------------------------------------- staged files and their hashes

def staged_files(stage: Path) -> list[str]:
    """The finished files in a staging folder (temporary files and the plan start with '.')."""
    return sorted(p.name for p in Path(stage).iterdir() if p.is_file() and not p.name.startswith("."))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_hashes(stage: Path, manifest: str) -> dict[str, str]:
    """SHA-256 of every staged file but the manifest: what a manifest records."""
    return {name: sha256(Path(stage) / name) for name in staged_files(stage) if name != manifest}


# --------------------------------------------------------------------------- the commit

def _apply(stage: Path, out: Path, plan: dict) -> None:
    """Carry out a decided commit from wherever it stopped (idempotent); then remove the staging folder.

    While the new manifest is still staged every file of ``out`` with a name of
    the set is the previous set's, except those already renamed in: the old
    manifest goes first, then the old files, so old and new never sit side by
    side; then the new files, the manifest last.
    """
    manifest, new = plan["manifest"], plan["new"]
    present = set(staged_files(stage))
    if manifest in present:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / manifest)
        _pause(COMMIT_PAUSE_VARIABLE)
        for name in plan["replaces"]:
            if name != manifest and (name not in new or name in present):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(out / name)
                _pause(COMMIT_PAUSE_VARIABLE)
        _fsync_folder(out)
    for name in [n for n in new if n != manifest and n in present] + ([manifest] if manifest in present else []):
        os.replace(stage / name, out / name)
        _pause(COMMIT_PAUSE_VARIABLE)
    _fsync_folder(out)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(stage / PLAN)
    shutil.rmtree(stage, ignore_errors=True)


def _plan_of(stage: Path) -> dict | None:
    try:
        plan = json.loads((stage / PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(plan, dict) and isinstance(plan.get("manifest"), str) and isinstance(plan.get("new"), list) \
            and isinstance(plan.get("replaces"), list):
        return plan
    return None


def _recover(out: Path) -> None:
    """Under the lock: finish the commits killed runs left half done; remove their unfinished staging."""
    for folder in sorted(Path(out).glob(STAGING_PREFIX + "*")):
        if not folder.is_dir() or folder.is_symlink():
            continue
        plan = _plan_of(folder)
        if plan is not None:
            _apply(folder, Path(out), plan)
            continue
        pid_text = folder.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)


def remove_stale_staging(out: Path) -> None:
    """Finish half-done commits and remove staging folders of runs that were killed (their process is gone)."""
    with locked(Path(out)):
        _recover(Path(out))


def _write_plan(stage: Path, plan: dict) -> None:
    temporary = stage / (PLAN + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(plan, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, stage / PLAN)
    _fsync_folder(stage)


def _apply_detached(stage: Path, out: Path, plan: dict) -> None:
    """``_apply`` in a child process in its own session, so that a kill of this process cannot stop it
    half way; this process waits for it.  Where there is no fork, or the child failed, it runs here."""
    if hasattr(os, "fork"):
        child = os.fork()
        if child == 0:  # the committer: touch nothing but the files; never return into the command
            code = 1
            try:
                os.setsid()
                for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(number, signal.SIG_IGN)
                _apply(stage, out, plan)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent redoes the commit and reports
                pass
            finally:
                os._exit(code)
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except ChildProcessError:
                status = 1
                break
            except InterruptedError:
                continue
        if status == 0:
            return
    _apply(stage, out, plan)


def commit(stage: Path, out: Path, replaces, manifest: str = MANIFEST) -> None:
    """Swap the staged files into ``out`` as one set; ``replaces``: every output name this command may write.

    Ctrl-C once the plan is written is held until the set is in, then raised as ``Interrupted``.
    """
    stage, out = Path(stage), Path(out)
    new = staged_files(stage)
    if manifest not in new:
        raise AssertionError(f"a staged output set must carry {manifest}")
    plan = {"manifest": manifest, "new": new, "replaces": sorted(set(replaces) | set(new))}
    with locked(out):
        _recover(out)  # a killed run's decided set lands first, so this one is not overwritten by it later
        for name in plan["replaces"]:
            if (out / name).is_dir() and not (out / name).is_symlink():
                raise UsageError(f"{out / name}: is a folder; critmin writes a file of that name; move it")
        _pause()
        with _holding_ctrl_c() as held:
            _write_plan(stage, plan)
            _pause()
            try:
                _apply_detached(stage, out, plan)
            except OSError as error:
                raise UsageError(f"{error.filename or out}: cannot move the new outputs in "
                                 f"({error.strerror or error}); "
                                 f"{out} holds part of them without a manifest; the next critmin run into it "
                                 "finishes the move") from None
    if held:
        raise Interrupted(f"interrupted (Ctrl-C) while the new outputs were being moved in: {out} holds them, "
                          "complete")


def _located(out: Path, stage: Path | None, error: OSError) -> str:
    """One line for a failed write: the output file it was for, and that the previous outputs stand."""
    where = Path(error.filename) if error.filename else out
    if stage is not None and Path(stage) in where.parents:
        name = where.relative_to(stage).parts[0]
        if name.startswith(PLAN):
            name = ""  # the commit's plan: the folder itself
        elif name.startswith(".") and name.endswith(".tmp"):  # files.atomic_path's temporary: .NAME.xxxx.tmp
            name = name[1:].rsplit(".", 2)[0]
        where = out / name if name else out
    elif where.name.startswith(STAGING_PREFIX):  # the staging folder could not be made
        where = out
    return (f"{where}: cannot write ({error.strerror or error}); nothing was changed in {out}: "
            "the previous outputs are as they were")


def _make_folder(out: Path) -> list[Path]:
    """mkdir -p ``out``; the folders it created, outermost first."""
    created = []
    for folder in reversed([out, *out.parents]):
        if not os.path.lexists(folder):
            created.append(folder)
    out.mkdir(parents=True, exist_ok=True)
    return created


def _remove_created(created: list[Path]) -> None:
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when still empty


@contextlib.contextmanager
def staged_outputs(out: Path, replaces, manifest: str = MANIFEST):
    """Yield a staging folder inside ``out``; on success commit its files into ``out`` as one set.

    ``manifest`` is the set's last file.  On an exception nothing in ``out``
    changes, the staging folder is removed and folders made for it are removed
    again; a failed write (``OSError``: a full disk) becomes a ``UsageError``
    naming the file.
    """
    out = Path(out)
    created: list[Path] = []
    stage = None
    interrupts.check()  # Ctrl-C during the solve (which the solver swallows): write nothing
    try:
        created = _make_folder(out)
        remove_stale_staging(out)
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))
        yield stage
        _pause()
        interrupts.check()
        commit(stage, out, replaces, manifest)
        created = []
    except OSError as error:
        raise UsageError(_located(out, stage, error)) from None
    finally:
        if stage is not None and not (stage / PLAN).exists():  # a decided set stays for the next run to finish
            shutil.rmtree(stage, ignore_errors=True)
        _remove_created(created)


def write_set(out: Path, replaces, manifest: str, document: dict, write) -> None:
    """Write one command's set: ``write(stage)`` writes the files into the staging folder, then ``document``
    is written as ``manifest`` (the set's last file) with the SHA-256 of the others (``outputs``) and the
    time the writing took (``wall_seconds``: ``write``, added to ``total``); then the set is committed."""
    from .files import write_json

    wall = document.setdefault("wall_seconds", {})
    clock = time.perf_counter()
    with staged_outputs(out, replaces, manifest=manifest) as stage:
        write(stage)
        wall["write"] = time.perf_counter() - clock
        wall["total"] = wall.get("total", 0.0) + wall["write"]
        document["outputs"] = output_hashes(stage, manifest)
        write_json(stage / manifest, document)
