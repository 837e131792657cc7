"""Benchmark (not a test): what a sweep point costs, and what a second worker buys.

    python benchmarks/sweep_bench.py [--repeat 5]

Prints, as medians over ``--repeat`` runs, each a fresh process:
- the wall time of one cold ``critmin solve runs/base-2030.toml`` (imports, load, solve, marginal values,
  all four outputs);
- the 13-point cap sweep (policy.country_cap=1.0:0.4:0.05, ``--fresh`` so nothing is reused) with 1
  and with 2 local workers: the wall time of the process, the time spent on the points, and per point;
- the speedup of 2 workers over 1, on the points and end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "runs" / "base-2030.toml"
CAP_SWEEP = "policy.country_cap=1.0:0.4:0.05"


def _critmin(*arguments: str) -> float:
    """Wall seconds of one ``critmin`` process (python -m critmin, the same code as the script)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "critmin", *arguments], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        _critmin("solve", str(RUN), "--out", str(out / "warm"), "--quiet")  # file cache warm, as for a user
        cold = statistics.median(_critmin("solve", str(RUN), "--out", str(out / "solve"), "--quiet")
                                 for _ in range(repeat))
        print(f"cold `critmin solve runs/base-2030.toml` (process wall, median of {repeat}): {cold:.3f} s")
        sweeps = {}
        for workers in (1, 2):
            walls, points = [], []
            for _ in range(repeat):
                target = out / f"sweep-{workers}"
                walls.append(_critmin("sweep", str(RUN), "--set", CAP_SWEEP, "--out", str(target), "--quiet",
                                      "--fresh", "--workers", str(workers)))
                manifest = json.loads((target / "sweep-manifest.json").read_text())
                points.append(manifest["wall_seconds"]["points"])
                count = manifest["points"]
            sweeps[workers] = (statistics.median(walls), statistics.median(points))
            wall, on_points = sweeps[workers]
            print(f"13-point cap sweep, {workers} worker(s): process {wall:.3f} s, points {on_points:.3f} s, "
                  f"{on_points / count * 1000:.0f} ms a point ({wall / count * 1000:.0f} ms a point end to end)")
        (wall1, points1), (wall2, points2) = sweeps[1], sweeps[2]
        print(f"per point vs a cold solve: {points1 / count * 1000:.0f} ms vs {cold * 1000:.0f} ms "
              f"({cold / (points1 / count):.1f}x less)")
        print(f"2 workers vs 1: points {points1 / points2:.2f}x faster, end to end {wall1 / wall2:.2f}x "
              f"(machine with {os.cpu_count()} cores; load average before/after "
              f"{load[0]:.2f}/{os.getloadavg()[0]:.2f}: other work on the machine skews every figure)")


if __name__ == "__main__":
    main()
