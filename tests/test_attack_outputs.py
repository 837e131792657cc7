"""Attacks on the outputs: no mixed output set, never a traceback, nothing written on a refusal.

Generated and listed cases, each asserting the exit code, a one-line
message naming the file or setting, no traceback, and that nothing was
written (a refusal, a full disk, Ctrl-C: the folder is byte for byte and
inode for inode as it was) or nothing mixed (a kill: the folder holds one
complete set whose manifest hashes match, the previous one or the new one).

Classes (``COUNTS``; the last test prints tried / handled per class):

- ``bad --out``: a file in the way, a path under a file or a broken link, a
  read-only folder, NUL, too-long names and paths, /proc, /dev/null, an
  output name that is a folder; for every writing command, refused before
  any solve (``solve`` is patched to fail the test if called);
- ``sweep range``: ``0:1:1e-320`` and other ranges whose count overflows or
  runs to millions of points, and grids past the limit;
- ``full disk``: every write under the output folder fails with ENOSPC once a
  byte budget is spent (``FULL_DISK``: ``io.open``/``open`` patched, in this
  process or in a subprocess through a ``sitecustomize``);
- ``ctrl-c``: KeyboardInterrupt at each phase of each command, a Ctrl-C the
  solver swallows, a real SIGINT during the write phase and during a commit;
- ``kill``: a forked ``sweep``/``stress``/``solve``/``demand``/``template``
  SIGKILLed at random moments of its write phase (``CRITMIN_TEST_PAUSE_WRITES``
  widens it); two sweeps into one folder; a committer that dies after each
  of its steps (the next run finishes the commit);
- ``workers``: a sweep's worker processes die with their parent (SIGKILL,
  Ctrl-C) and the parent-pid watchdog stops a worker without prctl.

The forked cases never solve in the child (HiGHS's thread pool does not
survive a fork): sweeps reuse saved points, ``stress --portfolio`` reads a
solved folder, ``solve`` is ``write_checked`` on a portfolio solved here.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cases import BASE, BASE_TABLES, ROOT, route, write_dataset
from critmin import interrupts
from critmin.cli import main
from critmin.writers import staging
from critmin.writers.staging import PAUSE_VARIABLE, STAGING_PREFIX, reading

pytestmark = pytest.mark.slow  # kills, Ctrl-C and full disks in real processes

DERIVED = ROOT / "runs" / "derived-2030.toml"
COMMANDS = ("solve", "stress", "sweep", "demand", "template")
SETS = {"A": "policy.country_cap=0.65,1.0", "B": "policy.country_cap=0.7,0.9"}
# Per command: the files of its set, its manifest (the set's last file), the file named in "a folder in the way".
SETS_OF = {
    "solve": (("results.xlsx", "summary.json", "flows.csv", "manifest.json"), "manifest.json", "summary.json"),
    "stress": (("results.xlsx", "summary.json", "flows.csv", "stress.csv", "manifest.json"), "manifest.json",
               "stress.csv"),
    "sweep": (("sweep.xlsx", "sweep.csv", "sweep.png", "sweep-manifest.json"), "sweep-manifest.json", "sweep.csv"),
    "demand": (("demand.csv", "demand_targets.csv", "demand-manifest.json"), "demand-manifest.json", "demand.csv"),
    "template": (("t.xlsx",), "t.xlsx", "t.xlsx"),
}
COUNTS: dict[str, list[int]] = {}
KILL_STATES: dict[str, int] = {}  # what the kills left: the previous set or the new one (both complete)


@pytest.fixture
def record():
    """``case = record(class)``; ``case["ok"] = True`` once every assertion of the case held."""
    cases = []

    def start(name: str) -> dict:
        case = {"class": name, "ok": False}
        cases.append(case)
        return case

    yield start
    for case in cases:
        entry = COUNTS.setdefault(case["class"], [0, 0])
        entry[0] += 1
        entry[1] += bool(case["ok"])


# --------------------------------------------------------------------------- a world: tiny data, earlier sets

TINY = {"supply": [route("li-AUS-CHN", 10, 80), route("li-CHL-JPN", 12, 100), route("li-CHN-CHN", 9, 60)]}


def _run_file(folder: Path, stem: str, cap: float) -> Path:
    """A run named "tiny" (both runs: ``stress --portfolio`` checks the name) with its country cap."""
    path = folder / f"{stem}.toml"
    path.write_text(f'name = "tiny"\ndata = "data"\nyear = 2030\n\n[policy]\ncountry_cap = {cap}\n'
                    "stockpile_days = 30\n\n[solver]\nmip_rel_gap = 0.0\ntime_limit = 30\nthreads = 1\n")
    return path


def arguments(world: dict, command: str, out: Path, new: bool = True) -> list[str]:
    """The command line of ``command`` writing into ``out`` (``new``: the run that replaces the previous set;
    another run file than the previous set's, so solve and stress need --force to replace it)."""
    run = world["wide"] if new else world["tiny"]
    if command == "solve":
        return ["solve", str(run), "--out", str(out), "--quiet", "--force"]
    if command == "stress":
        return ["stress", str(run), "--n-1", "--out", str(out), "--force"]
    if command == "sweep":
        return ["sweep", str(world["tiny"]), "--set", SETS["B" if new else "A"], "--workers", "1", "--quiet",
                "--out", str(out)]
    if command == "demand":
        return ["demand", str(DERIVED), "--out", str(out)]
    return ["template", str(out / "t.xlsx"), "--from", str(world["folder"] / "data")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    write_dataset(folder / "data", {**BASE_TABLES, **TINY})
    world = {"folder": folder, "tiny": _run_file(folder, "tiny", 0.65), "wide": _run_file(folder, "wide", 1.0)}
    previous = {}
    for command in COMMANDS:
        out = folder / f"previous-{command}"
        assert main(arguments(world, command, out, new=False)) == 0
        previous[command] = out
    # the points of the new sweep, saved beside the previous set: the new sweep only writes
    scratch = folder / "scratch-sweep"
    assert main(arguments(world, "sweep", scratch)) == 0
    for point in (scratch / "sweep-points").iterdir():
        shutil.copy2(point, previous["sweep"] / "sweep-points" / point.name)
    # the new solve, done here once: forked children write it without solving (HiGHS does not fork)
    from critmin.commands.common import manifest
    from critmin.inputs.data import load
    from critmin.optimization.solve import solve
    from critmin.results.tables import tidy

    data = load(world["wide"])
    outcome = solve(data)
    world["solved"] = (data, tidy(data, outcome), manifest(data, outcome, {}))
    assert main(["solve", str(world["wide"]), "--out", str(folder / "portfolio"), "--quiet"]) == 0
    world["previous"] = previous
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (forked children find it imported)
    return world


def fill(world: dict, command: str, out: Path) -> Path:
    """``out`` holds the command's previous complete set and a user's own file."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(world["previous"][command], out, symlinks=True)
    (out / "notes.txt").write_text("a user's own file")
    return out


def snapshot(root: Path) -> dict:
    """Every path under ``root``: folders by type, files by size, mtime and inode (a replaced file has a new one)."""
    state = {}
    for folder, names, files in os.walk(root):
        for name in names:
            state[str((Path(folder) / name).relative_to(root))] = (os.lstat(Path(folder) / name).st_mode,)
        for name in files:
            path = Path(folder) / name
            status = os.lstat(path)
            state[str(path.relative_to(root))] = (status.st_mode, status.st_size, status.st_mtime_ns, status.st_ino)
    return state


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def complete_set(out: Path, command: str) -> str:
    """Wait for any commit, then: the folder holds one complete set whose manifest hashes match; its manifest."""
    names, manifest, _ = SETS_OF[command]
    with reading(out):
        present = [n for n in names if (out / n).exists()]
        assert manifest in present, f"no {manifest}: {sorted(p.name for p in out.iterdir())}"
        assert set(present) == set(names), present
        if command == "template":
            return hashlib.sha256((out / manifest).read_bytes()).hexdigest()
        document = json.loads((out / manifest).read_text())
        assert set(document["outputs"]) == set(names) - {manifest}
        for name, digest in document["outputs"].items():
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, f"{name}: not from this set"
        strays = [p.name for p in out.iterdir() if not p.name.startswith(".")
                  and p.name not in set(names) | {"notes.txt", "sweep-points"}]
        assert not strays, strays
        return (out / manifest).read_text()


# --------------------------------------------------------------------------- bad --out, refused before any solve

def _read_only(folder: Path, stack: contextlib.ExitStack) -> Path:
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        stack.callback(folder.chmod, 0o755)
        return folder
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("root without chattr: no read-only folder to try")
    stack.callback(subprocess.run, ["chattr", "-i", str(folder)], capture_output=True)
    return folder


def _bad_out(kind: str, command: str, tmp: Path, stack) -> tuple[Path, str]:
    """An --out (for template: the folder of OUT.xlsx) of this kind, and a text the message must hold."""
    taken = tmp / "taken"
    if kind in ("file", "under-file", "deep-under-file"):
        taken.write_text("keep me")
        return {"file": taken, "under-file": taken / "sub", "deep-under-file": taken / "a" / "b"}[kind], f"{taken}:"
    if kind in ("broken-link", "under-broken-link"):
        (tmp / "link").symlink_to(tmp / "missing")
        return (tmp / "link" if kind == "broken-link" else tmp / "link" / "sub"), f"{tmp / 'link'}:"
    if kind == "read-only-parent":
        return _read_only(tmp / "ro", stack) / "out", f"{tmp / 'ro'}: cannot write here"
    if kind == "read-only":
        return _read_only(tmp / "ro", stack), f"{tmp / 'ro'}: cannot write here"
    if kind == "nul":
        return tmp / "a\x00b", "NUL"
    if kind == "long-name":
        return tmp / ("x" * 300), "too long"
    if kind == "long-path":
        return tmp.joinpath(*["d" * 200] * 25), "too long"
    if kind == "proc":
        return Path("/proc/critmin-out"), "/proc"
    if kind == "dev-null":
        return Path("/dev/null/critmin-out"), "/dev/null"
    if kind == "output-is-folder":
        out = tmp / "out"
        (out / SETS_OF[command][2]).mkdir(parents=True)
        return out, f"{out / SETS_OF[command][2]}: is a folder"
    if kind == "points-folder-is-a-file":
        out = tmp / "out"
        out.mkdir()
        (out / "sweep-points").write_text("not a folder")
        return out, f"{out / 'sweep-points'}: is a file"
    if kind == "points-folder-read-only":
        out = tmp / "out"
        out.mkdir()
        return out, f"{_read_only(out / 'sweep-points', stack)}: cannot write here"
    raise AssertionError(kind)


BAD_OUT_KINDS = ["file", "under-file", "deep-under-file", "broken-link", "under-broken-link", "read-only-parent",
                 "read-only", "nul", "long-name", "long-path", "proc", "dev-null", "output-is-folder"]
BAD_OUT_CASES = [(command, kind) for command in COMMANDS for kind in BAD_OUT_KINDS] + [
    ("sweep", "points-folder-is-a-file"), ("sweep", "points-folder-read-only")]


@pytest.mark.parametrize("command, kind", BAD_OUT_CASES, ids=[f"{c}-{k}" for c, k in BAD_OUT_CASES])
def test_bad_out_is_refused_before_any_work(world, tmp_path, capsys, monkeypatch, record, command, kind):
    case = record("bad --out")
    if kind in ("proc", "dev-null") and not sys.platform.startswith("linux"):
        pytest.skip("Linux paths")

    def no_solve(*args, **kwargs):
        raise AssertionError("solved before the output folder was checked")

    monkeypatch.setattr("critmin.optimization.solve.solve", no_solve)
    with contextlib.ExitStack() as stack:
        out, named = _bad_out(kind, command, tmp_path, stack)
        before = snapshot(tmp_path)
        code = main(arguments(world, command, out))
        line = one_line(capsys.readouterr().err)
        assert code == 2, line
        assert line.startswith("error: ") and named in line, line
        assert snapshot(tmp_path) == before  # nothing written, not even a folder
        assert not os.path.lexists("/proc/critmin-out")
    case["ok"] = True


# --------------------------------------------------------------------------- sweep ranges that are absurd

ABSURD_RANGES = [
    ("policy.country_cap=0:1:1e-320", "policy.country_cap"),
    ("policy.country_cap=0:1:5e-324", "policy.country_cap"),
    ("policy.country_cap=1:0:-1e-320", "policy.country_cap"),
    ("policy.country_cap=0:1e308:1e-300", "policy.country_cap"),
    ("policy.stockpile_days=-1e308:1e308:1", "policy.stockpile_days"),
    ("policy.stockpile_days=0:1e300:1", "policy.stockpile_days"),
    ("policy.country_cap=0:1:1e-9", "policy.country_cap"),
    ("policy.country_cap=0:1:1e-6", "policy.country_cap"),
    ("policy.country_cap=0:1:0.00001", "policy.country_cap"),
    ("policy.country_cap=0:1:0.0001", "policy.country_cap"),
    ("policy.stockpile_days=0:1e7:1", "policy.stockpile_days"),
    ("policy.country_cap=0:1:0", "policy.country_cap"),
    ("policy.country_cap=0:1:nan", "policy.country_cap"),
    ("policy.country_cap=0:inf:1", "policy.country_cap"),
    ("policy.country_cap=0:1:", "policy.country_cap"),
    ("policy.country_cap_by_mineral.li=0:1:1e-310", "policy.country_cap_by_mineral.li"),
]
ABSURD_GRIDS = [
    (["policy.country_cap=0:1:0.01", "policy.stockpile_days=0:100:1"], "grid"),
    (["policy.country_cap=0:1:0.001", "policy.stockpile_days=0:90:0.01"], "points"),
]


@pytest.mark.parametrize("setting, key", ABSURD_RANGES, ids=[s for s, _ in ABSURD_RANGES])
def test_an_absurd_sweep_range_is_a_located_usage_error(world, tmp_path, capsys, record, setting, key):
    case = record("sweep range")
    clock = time.perf_counter()
    code = main(["sweep", str(world["tiny"]), "--set", setting, "--workers", "1", "--out", str(tmp_path / "out")])
    line = one_line(capsys.readouterr().err)
    assert code == 2, line
    assert line.startswith(f"error: --set:-:{key}: "), line
    assert time.perf_counter() - clock < 5  # refused, not enumerated
    assert not (tmp_path / "out").exists()
    case["ok"] = True


@pytest.mark.parametrize("settings, named", ABSURD_GRIDS, ids=["grid-10k", "grid-millions"])
def test_a_grid_with_too_many_points_is_a_usage_error(world, tmp_path, capsys, record, settings, named):
    case = record("sweep range")
    command = ["sweep", str(world["tiny"]), "--workers", "1", "--out", str(tmp_path / "out")]
    for setting in settings:
        command += ["--set", setting]
    code = main(command)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert all(line.startswith("error: --set:") for line in err.splitlines() if line.strip()), err
    assert named in err
    assert not (tmp_path / "out").exists()
    case["ok"] = True


# --------------------------------------------------------------------------- a full disk

FULL_DISK = r'''
import builtins, errno, io, os


def install(root, budget):
    """Writes to files under ``root`` fail with ENOSPC once ``budget`` bytes are spent; returns an undo."""
    root = os.path.realpath(root) + os.sep
    left = [int(budget)]
    real_open = io.open

    class Full:
        def __init__(self, handle):
            self._handle = handle

        def write(self, data):
            if len(data) > left[0]:
                left[0] = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            left[0] -= len(data)
            return self._handle.write(data)

        def writelines(self, lines):
            for line in lines:
                self.write(line)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._handle.close()
            return False

        def __iter__(self):
            return iter(self._handle)

        def __getattr__(self, name):
            return getattr(self._handle, name)

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if isinstance(file, int) or not any(flag in mode for flag in "wax+"):
            return handle
        path = os.path.realpath(os.fsdecode(os.fspath(file)))
        return Full(handle) if path.startswith(root) else handle

    io.open = builtins.open = fake_open

    def undo():
        io.open = builtins.open = real_open

    return undo


if os.environ.get("CRITMIN_TEST_FULL_DISK_ROOT"):
    install(os.environ["CRITMIN_TEST_FULL_DISK_ROOT"], int(os.environ.get("CRITMIN_TEST_FULL_DISK_BYTES", "0")))
'''


def _full_disk():
    namespace: dict = {}
    exec(compile(FULL_DISK.replace('if os.environ.get("CRITMIN', 'if False and ("CRITMIN'), "fulldisk", "exec"),
         namespace)
    return namespace["install"]


FRACTIONS = (0.0, 0.001, 0.1, 0.35, 0.7, 0.95)
FULL_DISK_CASES = [(command, fraction) for command in COMMANDS for fraction in FRACTIONS]


def _set_bytes(world, command: str) -> int:
    names = SETS_OF[command][0]
    return sum((world["previous"][command] / name).stat().st_size for name in names)


def _assert_unchanged(out: Path, before: dict) -> None:
    assert snapshot(out) == before  # the previous set, byte for byte, inode for inode
    assert litter(out) == []  # no staging folder, no temporary file, no probe


@pytest.mark.parametrize("command, fraction", FULL_DISK_CASES, ids=[f"{c}-{f:g}" for c, f in FULL_DISK_CASES])
def test_a_full_disk_is_one_located_line_and_the_previous_set_stands(world, tmp_path, capsys, record, command,
                                                                     fraction):
    case = record("full disk")
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    undo = _full_disk()(out, int(fraction * _set_bytes(world, command)))
    try:
        code = main(arguments(world, command, out))
    finally:
        undo()
    line = one_line(capsys.readouterr().err)
    assert code == 2, line
    assert line.startswith(f"error: {out}") and "No space left on device" in line, line
    _assert_unchanged(out, before)
    case["ok"] = True


@pytest.mark.parametrize("budget", [0, 300])
def test_a_full_disk_while_saving_sweep_points(world, tmp_path, capsys, record, budget):
    case = record("full disk")
    out = fill(world, "sweep", tmp_path / "out")
    before = snapshot(out)
    undo = _full_disk()(out, budget)
    try:
        code = main(arguments(world, "sweep", out) + ["--fresh"])
    finally:
        undo()
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "sweep-points" in line and "No space left on device" in line, line
    assert "cannot save a solved point" in line
    _assert_unchanged(out, before)
    assert litter(out / "sweep-points") == []
    case["ok"] = True


@pytest.mark.parametrize("command", ["solve", "sweep", "demand"])
def test_a_full_disk_when_the_staging_folder_is_made(world, tmp_path, capsys, monkeypatch, record, command):
    case = record("full disk")
    import tempfile

    real = tempfile.mkdtemp

    def full(*args, prefix=None, **kwargs):
        if prefix and prefix.startswith(STAGING_PREFIX):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(kwargs.get("dir", ""), prefix + "x"))
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", full)
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    code = main(arguments(world, command, out))
    line = one_line(capsys.readouterr().err)
    assert code == 2 and line.startswith(f"error: {out}: cannot write (No space left on device)"), line
    _assert_unchanged(out, before)
    case["ok"] = True


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FULL_DISK)
    return site


@pytest.mark.parametrize("command", ["solve", "sweep", "template"])
def test_a_full_disk_in_a_real_process(world, tmp_path, record, command):
    case = record("full disk")
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    env = {**os.environ, "PYTHONPATH": str(_site(tmp_path)), "CRITMIN_TEST_FULL_DISK_ROOT": str(out),
           "CRITMIN_TEST_FULL_DISK_BYTES": str(_set_bytes(world, command) // 3)}
    env.pop(PAUSE_VARIABLE, None)
    done = subprocess.run([sys.executable, "-m", "critmin", *arguments(world, command, out)], env=env,
                          capture_output=True, text=True, timeout=120)
    line = one_line(done.stderr)
    assert done.returncode == 2, done.stderr
    assert str(out) in line and "No space left on device" in line, line
    _assert_unchanged(out, before)
    case["ok"] = True


# --------------------------------------------------------------------------- Ctrl-C

def _raise_interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _swallowed_then(original):
    """What highspy does with a Ctrl-C: count it (the CLI's handler) and return a result anyway."""
    def solve(*args, **kwargs):
        result = original(*args, **kwargs)
        interrupts._count += 1
        return result
    return solve


def _swallowed_without_solution(*args, **kwargs):
    from critmin.optimization.solve import NoSolutionError

    interrupts._count += 1
    raise NoSolutionError("the solver stopped without a solution (error)")


INTERRUPT_POINTS = {
    "solve": {"load": "critmin.inputs.data.load", "solve": "critmin.optimization.solve.solve",
              "tables": "critmin.results.tables.tidy", "write": "critmin.writers.outputs.write_outputs",
              "verify": "critmin.results.verify.verify_files", "plan": "critmin.writers.staging._write_plan",
              "swallowed": "swallowed", "swallowed-no-solution": "swallowed-no-solution"},
    "stress": {"scenarios": "critmin.inputs.disruptions.n_minus_1", "evaluate": "critmin.results.stress.evaluate",
               "write": "critmin.writers.outputs.write_outputs", "plan": "critmin.writers.staging._write_plan",
               "swallowed": "swallowed"},
    "sweep": {"point": "critmin.commands.sweep.solve_point", "table": "critmin.results.sweep.sweep_table",
              "write": "critmin.writers.sweep.write_sweep_tables", "plan": "critmin.writers.staging._write_plan"},
    "demand": {"derive": "critmin.inputs.demand.derive", "write": "critmin.writers.files.write_csv",
               "plan": "critmin.writers.staging._write_plan"},
    "template": {"dataset": "critmin.inputs.validate.load_dataset", "write": "critmin.writers.template.write_template",
                 "plan": "critmin.writers.staging._write_plan"},
}
INTERRUPT_CASES = [(command, phase) for command, phases in INTERRUPT_POINTS.items() for phase in phases]


@pytest.mark.parametrize("command, phase", INTERRUPT_CASES, ids=[f"{c}-{p}" for c, p in INTERRUPT_CASES])
def test_ctrl_c_exits_130_in_one_line_and_writes_nothing(world, tmp_path, capsys, monkeypatch, record, command,
                                                         phase):
    case = record("ctrl-c")
    target = INTERRUPT_POINTS[command][phase]
    if target == "swallowed":
        import critmin.optimization.solve as solver

        monkeypatch.setattr(solver, "solve", _swallowed_then(solver.solve))
    elif target == "swallowed-no-solution":
        monkeypatch.setattr("critmin.optimization.solve.solve", _swallowed_without_solution)
    else:
        monkeypatch.setattr(target, _raise_interrupt)
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    extra = ["--fresh"] if phase == "point" else []
    code = main(arguments(world, command, out) + extra)
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert code == 130, line
    assert line.startswith("interrupted (Ctrl-C)"), line
    assert "Traceback" not in captured.out
    _assert_unchanged(out, before)
    case["ok"] = True


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_a_ctrl_c_a_library_turned_into_its_own_error_is_still_an_interrupt(world, tmp_path, capsys, monkeypatch,
                                                                          record, command):
    """openpyxl's descriptors catch the KeyboardInterrupt of a Ctrl-C that lands inside them and raise a
    TypeError instead (seen once in a real SIGINT during a sweep's write): exit 130, one line, nothing
    written."""
    case = record("ctrl-c")

    def converted(*args, **kwargs):
        interrupts._count += 1  # the CLI's handler counted the SIGINT ...
        raise TypeError("expected <class 'openpyxl.styles.colors.RgbColor'>")  # ... the library re-raised

    monkeypatch.setattr("critmin.writers.outputs.write_outputs" if command == "solve"
                        else "critmin.writers.sweep.write_sweep_tables", converted)
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    code = main(arguments(world, command, out))
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert code == 130 and line.startswith("interrupted (Ctrl-C)"), line
    assert "Traceback" not in captured.out + captured.err
    _assert_unchanged(out, before)
    case["ok"] = True


def test_ctrl_c_during_a_commit_finishes_it_then_exits_130(world, tmp_path, capsys, monkeypatch, record):
    """A real SIGINT while the set is moved in: the commit completes (signals are held), then one line."""
    case = record("ctrl-c")
    original = staging._apply_detached

    def interrupted_commit(stage, out, plan):
        os.kill(os.getpid(), signal.SIGINT)
        return original(stage, out, plan)

    monkeypatch.setattr(staging, "_apply_detached", interrupted_commit)
    out = fill(world, "sweep", tmp_path / "out")
    code = main(arguments(world, "sweep", out))
    line = one_line(capsys.readouterr().err)
    assert code == 130 and "holds them, complete" in line, line
    document = json.loads(complete_set(out, "sweep"))
    assert document["settings"]["policy.country_cap"] == [0.7, 0.9]  # the new set, whole
    assert litter(out) == []
    case["ok"] = True


def _wait_for_stage(out: Path, process_alive, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(out.glob(STAGING_PREFIX + "*")) and process_alive():
        assert time.monotonic() < deadline, "the write phase never began"
        time.sleep(0.002)


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_a_real_sigint_during_the_write_phase(world, tmp_path, record, command):
    case = record("ctrl-c")
    out = fill(world, command, tmp_path / "out")
    before = snapshot(out)
    env = {**os.environ, PAUSE_VARIABLE: "0.5"}
    process = subprocess.Popen([sys.executable, "-m", "critmin", *arguments(world, command, out)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_stage(out, lambda: process.poll() is None)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    line = one_line(stderr)
    assert process.returncode == 130, stderr
    assert line.startswith("interrupted (Ctrl-C)") and "Traceback" not in stdout
    _assert_unchanged(out, before)
    case["ok"] = True


# --------------------------------------------------------------------------- kills during the write phase

def _fork(work, env: dict | None = None) -> int:
    """Run ``work()`` in a forked child (quiet; its exit code is what it returns)."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            os.environ.update(env or {})
            code = work()
        except BaseException:  # noqa: BLE001
            code = 98
        finally:
            os._exit(code if isinstance(code, int) else 97)
    return pid


def _writer(world: dict, command: str, out: Path):
    if command == "solve":
        def work():
            from critmin.commands.common import write_checked

            data, results, document = world["solved"]
            return 0 if write_checked(out, data, results, json.loads(json.dumps(document))).passed else 3
        return work
    if command == "stress":
        return lambda: main(["stress", str(world["wide"]), "--n-1", "--portfolio", str(world["folder"] / "portfolio"),
                             "--out", str(out), "--force"])
    return lambda: main(arguments(world, command, out))


KILLS = {"sweep": 5, "stress": 3, "solve": 2, "demand": 2, "template": 2}
KILL_CASES = [(command, seed) for command, count in KILLS.items() for seed in range(count)]


@pytest.mark.parametrize("command, seed", KILL_CASES, ids=[f"{c}-{s}" for c, s in KILL_CASES])
def test_a_kill_in_the_write_phase_leaves_one_complete_set(world, tmp_path, record, command, seed):
    case = record("kill")
    rng = random.Random(f"{command}-{seed}")
    out = fill(world, command, tmp_path / "out")
    previous = complete_set(out, command)
    pause = 0.03
    pid = _fork(_writer(world, command, out), {PAUSE_VARIABLE: str(pause)})
    _wait_for_stage(out, lambda: os.waitpid(pid, os.WNOHANG) == (0, 0))
    time.sleep(rng.uniform(0, 0.25 + 3 * pause))  # writing the files, the pauses, the plan, the commit
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    now = complete_set(out, command)  # whole, and its hashes match: the previous set or the new one
    state = f"{command} {'previous' if now == previous else 'new'}"
    KILL_STATES[state] = KILL_STATES.get(state, 0) + 1
    assert (out / "notes.txt").read_text() == "a user's own file"
    # the next run into the folder completes and clears what the killed one left
    pid = _fork(_writer(world, command, out))
    assert os.waitpid(pid, 0)[1] == 0
    assert complete_set(out, command) != previous or command in ("demand", "template")
    assert litter(out) == []
    case["ok"] = True


@pytest.mark.parametrize("command", COMMANDS)
def test_a_kill_while_the_set_is_moved_in_lands_the_whole_new_set(world, tmp_path, record, command):
    """Killed once the commit has begun (the old manifest is gone): the committer, in its own session,
    finishes; the folder holds the new set, whole."""
    case = record("kill")
    out = fill(world, command, tmp_path / "out")
    previous = complete_set(out, command)
    manifest = out / SETS_OF[command][1]
    pid = _fork(_writer(world, command, out), {staging.COMMIT_PAUSE_VARIABLE: "0.05"})
    deadline = time.monotonic() + 60
    while manifest.exists() and os.waitpid(pid, os.WNOHANG) == (0, 0):  # the commit's first step
        assert time.monotonic() < deadline
        time.sleep(0.001)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    now = complete_set(out, command)  # waits for the committer
    assert now != previous or command in ("demand", "template")
    assert litter(out) == []  # the committer removed its staging folder
    KILL_STATES[f"{command} new (in the commit)"] = KILL_STATES.get(f"{command} new (in the commit)", 0) + 1
    case["ok"] = True


@pytest.mark.parametrize("command", ["sweep", "solve"])
def test_a_kill_once_the_set_is_decided_is_finished_by_the_next_run(world, tmp_path, record, command):
    """Killed between the plan and the committer: the folder keeps the previous set, whole; the next run
    into it first lands the decided set, whole."""
    case = record("kill")
    out = fill(world, command, tmp_path / "out")
    previous = complete_set(out, command)
    pid = _fork(_writer(world, command, out), {PAUSE_VARIABLE: "0.3"})
    deadline = time.monotonic() + 60
    while not list(out.glob(f"{STAGING_PREFIX}*/{staging.PLAN}")):
        assert os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert complete_set(out, command) == previous
    staging.remove_stale_staging(out)  # what the next run into the folder does first
    assert complete_set(out, command) != previous
    assert litter(out) == []
    case["ok"] = True


@pytest.mark.parametrize("seed", range(3))
def test_two_sweeps_into_one_folder_leave_one_sweep(world, tmp_path, record, seed):
    case = record("kill")
    out = fill(world, "sweep", tmp_path / "out")
    first = _fork(lambda: main(arguments(world, "sweep", out, new=False)), {PAUSE_VARIABLE: "0.02"})
    time.sleep(random.Random(seed).uniform(0, 0.1))
    second = _fork(lambda: main(arguments(world, "sweep", out, new=True)), {PAUSE_VARIABLE: "0.02"})
    assert os.waitpid(first, 0)[1] == 0 and os.waitpid(second, 0)[1] == 0  # the second waits, then commits
    document = json.loads(complete_set(out, "sweep"))
    import csv

    with open(out / "sweep.csv", newline="") as handle:
        caps = [float(row["policy.country_cap"]) for row in csv.DictReader(handle)]
    assert caps == document["settings"]["policy.country_cap"] and caps in ([0.65, 1.0], [0.7, 0.9])
    assert litter(out) == []
    case["ok"] = True


def _commit_steps(stage: Path, out: Path, plan: dict, steps: int) -> None:
    """``staging._apply`` that dies after ``steps`` file-system changes (a committer killed half way)."""
    class Died(Exception):
        pass

    real = {"unlink": os.unlink, "replace": os.replace}
    count = [0]

    def counted(name):
        def step(*args, **kwargs):
            if count[0] >= steps:
                raise Died
            count[0] += 1
            return real[name](*args, **kwargs)
        return step

    os.unlink, os.replace = counted("unlink"), counted("replace")
    try:
        staging._apply(stage, out, plan)
    except Died:
        pass
    finally:
        os.unlink, os.replace = real["unlink"], real["replace"]


def _write_set(folder: Path, files: dict[str, str], manifest: str) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)
    hashes = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}
    (folder / manifest).write_text(json.dumps({"outputs": hashes}))


@pytest.mark.parametrize("steps", range(12))
def test_a_committer_killed_after_each_step_is_finished_by_the_next_run(tmp_path, record, steps):
    case = record("kill")
    out = tmp_path / "out"
    out.mkdir()
    old = {"a.csv": "old a", "b.csv": "old b", "c.csv": "old c only"}
    new = {"a.csv": "new a", "b.csv": "new b", "d.csv": "new d only"}
    _write_set(out, old, "m.json")
    (out / "notes.txt").write_text("mine")
    stage = out / f"{STAGING_PREFIX}999999999-test"
    stage.mkdir()
    _write_set(stage, new, "m.json")
    plan = {"manifest": "m.json", "new": sorted([*new, "m.json"]), "replaces": sorted({*old, *new, "m.json"})}
    staging._write_plan(stage, plan)
    _commit_steps(stage, out, plan, steps)
    # killed here: old and new never side by side; a manifest present means its set is whole
    contents = {name: (out / name).read_text() for name in ("a.csv", "b.csv", "c.csv", "d.csv")
                if (out / name).exists()}
    kinds = {"old" if text.startswith("old") else "new" for text in contents.values()}
    assert len(kinds) <= 1, contents
    if (out / "m.json").exists():
        recorded = json.loads((out / "m.json").read_text())["outputs"]
        assert {n: hashlib.sha256(t.encode()).hexdigest() for n, t in contents.items()} == recorded
    staging.remove_stale_staging(out)  # what the next run into the folder does first, under the lock
    assert {p.name for p in out.iterdir()} == {"a.csv", "b.csv", "d.csv", "m.json", "notes.txt"}
    assert {name: (out / name).read_text() for name in new} == new
    assert json.loads((out / "m.json").read_text())["outputs"] == {
        n: hashlib.sha256(t.encode()).hexdigest() for n, t in new.items()}
    case["ok"] = True


# --------------------------------------------------------------------------- sweep workers die with the sweep

def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_sweep_workers_die_with_the_sweep(tmp_path, record, how):
    case = record("workers")
    process = subprocess.Popen([sys.executable, "-m", "critmin", "sweep", str(BASE), "--set",
                                "policy.country_cap=1.0:0.5:0.05", "--workers", "2", "--fresh", "--quiet", "--out",
                                str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.02)
    workers = _children(process.pid)
    process.send_signal(getattr(signal, how))
    _, stderr = process.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [w for w in workers if _alive(w)], "workers outlived the sweep"
    if how == "SIGINT":
        line = one_line(stderr)
        assert process.returncode == 130 and line.startswith("interrupted (Ctrl-C)") and "points are saved" in line
        assert not (tmp_path / "out" / "sweep.csv").exists()
    case["ok"] = True


def test_the_parent_watchdog_stops_a_worker_without_prctl(record, monkeypatch):
    """Where PR_SET_PDEATHSIG is not there, a worker exits within a watch period of its parent's death."""
    case = record("workers")
    from critmin.workers import die_with_parent

    reader, writer = os.pipe()
    middle = os.fork()
    if middle == 0:  # the sweep's stand-in: starts a worker, then dies
        try:
            parent = os.getpid()
            worker = os.fork()
            if worker == 0:
                try:
                    sys.platform = "not-linux"  # no prctl: the watchdog alone
                    die_with_parent(parent)
                    time.sleep(30)
                finally:
                    os._exit(0)
            os.write(writer, str(worker).encode())
        finally:
            os._exit(0)
    os.close(writer)
    os.waitpid(middle, 0)
    worker = int(os.read(reader, 32).decode())
    os.close(reader)
    deadline = time.monotonic() + 3
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(worker), "the worker outlived its parent"
    case["ok"] = True


# --------------------------------------------------------------------------- the counts

def test_zz_attack_counts(capsys):
    """Prints tried / handled per class (run the whole file for the full counts)."""
    with capsys.disabled():
        print("\nattack suite, outputs class: tried / handled")
        for name, (tried, handled) in sorted(COUNTS.items()):
            print(f"  {name:<12} {tried:>4} / {handled:<4}")
        tried, handled = sum(c[0] for c in COUNTS.values()), sum(c[1] for c in COUNTS.values())
        print(f"  {'total':<12} {tried:>4} / {handled:<4}")
        print("  sets the kills left (all complete, hashes matching):",
              ", ".join(f"{state} {count}" for state, count in sorted(KILL_STATES.items())) or "-")
    if tried >= 80:
        assert handled == tried
