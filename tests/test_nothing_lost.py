"""Nothing lost: a ``critmin solve`` killed (SIGKILL) at any moment leaves a consistent out folder.

A folder holds the previous run's complete set (manifest.json present, every
output's SHA-256 as the manifest records, summary.json and flows.csv from
that run), or, only when killed inside the commit's few renames, files of one
run without a manifest (which ``critmin verify`` calls incomplete) -- never a
truncated file, never old and new files mixed.  ``CRITMIN_TEST_PAUSE_WRITES``
(``writers.staging``) pauses between the commit's steps so that random kill
times land in every step; a second series kills at random times with no pause.
Two runs into different folders at once, and into the same folder, do not
interfere.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cases import BASE, ROOT
from critmin.results.verify import verify_folder
from critmin.writers.staging import PAUSE_VARIABLE, STAGING_PREFIX

pytestmark = pytest.mark.slow  # runs killed at random times in real processes

OUTPUTS = ("results.xlsx", "summary.json", "flows.csv", "manifest.json")
STATES: dict[str, int] = {}  # which states the kills left, for the record


def _run_file(folder: Path, name: str, cap: float) -> Path:
    text = BASE.read_text().replace('"../data/japan-2030"', json.dumps(str(ROOT / "data" / "japan-2030")))
    text = text.replace("country_cap = 0.65", f"country_cap = {cap}")
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def _start(run: Path, out: Path, pause: float | None = None) -> subprocess.Popen:
    env = {**os.environ}
    env.pop(PAUSE_VARIABLE, None)
    if pause:
        env[PAUSE_VARIABLE] = str(pause)
    # --force: these runs replace another run's outputs on purpose (that is what is under test)
    return subprocess.Popen([sys.executable, "-m", "critmin", "solve", str(run), "--out", str(out), "--quiet",
                             "--force", "--no-forced-in"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with different results, each solved once into a reference folder."""
    folder = tmp_path_factory.mktemp("runs")
    old, new = _run_file(folder, "old", 0.65), _run_file(folder, "new", 0.7)
    for run in (old, new):
        process = _start(run, folder / f"ref-{run.stem}")
        assert process.wait(timeout=120) == 0, process.stderr.read()
    references = {stem: {name: (folder / f"ref-{stem}" / name).read_bytes() for name in ("summary.json", "flows.csv")}
                  for stem in ("old", "new")}
    assert references["old"]["summary.json"] != references["new"]["summary.json"]
    return {"folder": folder, "old": old, "new": new, "references": references}


def _which(name: str, content: bytes, references) -> str:
    matches = [run for run, files in references.items() if files[name] == content]
    assert matches, f"{name} matches neither run"
    return matches[0]


def _state(out: Path, references) -> str:
    """Classify the folder; fail on any inconsistency."""
    present = [name for name in OUTPUTS if (out / name).exists()]
    strays = [p.name for p in out.iterdir() if p.is_file() and p.name not in OUTPUTS + ("notes.txt",)]
    assert not strays, f"stray files in the out folder: {strays}"
    runs = set()
    for name in ("summary.json", "flows.csv"):
        if name in present:
            content = (out / name).read_bytes()
            if name == "summary.json":
                json.loads(content)  # whole
            else:
                list(csv.reader(content.decode().splitlines()))
            runs.add(_which(name, content, references))
    if "results.xlsx" in present:
        with zipfile.ZipFile(out / "results.xlsx") as book:  # a whole zip, not a truncated one
            assert book.testzip() is None
    assert len(runs) <= 1, f"old and new files mixed: {present}"
    if "manifest.json" in present:
        manifest = json.loads((out / "manifest.json").read_text())
        for name, digest in manifest["outputs"].items():
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, f"{name} not from this manifest"
        assert set(present) == set(OUTPUTS), present
        _, report = verify_folder(out)
        assert report.passed
        return f"complete {runs.pop()}"
    return f"partial {runs.pop()}" if runs else ("none" if not present else "partial (workbook only)")


def _fill_with_old(out: Path, runs) -> None:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(runs["folder"] / "ref-old", out)
    (out / "notes.txt").write_text("a user's own file")  # must survive every run


def _kill_series(runs, tmp_path, count: int, pause: float | None, seed: int) -> None:
    rng = random.Random(seed)
    out = tmp_path / "out"
    for _ in range(count):
        _fill_with_old(out, runs)
        process = _start(runs["new"], out, pause)
        if pause:  # wait for the write phase: the staging folder appears
            deadline = time.monotonic() + 60
            while not any(out.glob(STAGING_PREFIX + "*")) and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 16 * pause))  # writing the workbook, the staging pause, ten commit steps
        else:
            time.sleep(rng.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert (out / "notes.txt").read_text() == "a user's own file"
        state = _state(out, runs["references"])
        STATES[state] = STATES.get(state, 0) + 1
    # The next run completes and clears the killed runs' staging folders.
    process = _start(runs["new"], out)
    assert process.wait(timeout=120) == 0, process.stderr.read()
    assert _state(out, runs["references"]) == "complete new"
    assert not list(out.glob(STAGING_PREFIX + "*"))
    assert (out / "notes.txt").exists()


def test_killed_during_the_write_phase_leaves_a_consistent_folder(runs, tmp_path):
    _kill_series(runs, tmp_path, count=8, pause=0.1, seed=7)
    print("states after kills:", STATES)


def test_killed_at_random_times_leaves_a_consistent_folder(runs, tmp_path):
    _kill_series(runs, tmp_path, count=3, pause=None, seed=11)
    print("states after kills:", STATES)


def test_two_runs_into_different_folders_do_not_interfere(runs, tmp_path):
    first, second = _start(runs["old"], tmp_path / "a"), _start(runs["new"], tmp_path / "b")
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    assert _state(tmp_path / "a", runs["references"]) == "complete old"
    assert _state(tmp_path / "b", runs["references"]) == "complete new"


def test_two_runs_into_the_same_folder_leave_one_complete_set(runs, tmp_path):
    out = tmp_path / "same"
    first, second = _start(runs["old"], out, 0.05), _start(runs["new"], out, 0.05)
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    assert _state(out, runs["references"]).startswith("complete")
    assert not list(out.glob(STAGING_PREFIX + "*"))
