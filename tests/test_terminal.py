"""The terminal shows critmin's lines only: HiGHS's banner and log never reach it."""

from __future__ import annotations

import subprocess
import sys


def test_a_quiet_solve_prints_the_status_line_and_the_folder_only(tiny_run, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "critmin", "solve", str(tiny_run), "--quiet", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{done.stdout.split(':')[0]}: optimal", "", f"outputs: {out}"]
    assert "HiGHS" not in done.stdout + done.stderr
