"""Benchmark (not a test): the stochastic mode's extensive form against scenario decomposition as scenarios grow.

    python benchmarks/bench_mpi.py [--counts 100 200 500 1000 2000 5000] [--ranks 2] [--minerals 3]
                                   [--iterations 50]

For each count N, generates a dataset (model/synthetic.py; 3 minerals, 12 countries, 6 routes and 2 projects
a mineral, 2 plants by default: the size tests/test_decompose.py uses) with N generated disruption events
(``risk_measure = "expected"``: N recourse scenarios), then runs, each as its own process as a user would:

- ``critmin solve RUN --no-forced-in --quiet``: critmin's extensive form (EF), one process;
- ``mpiexec -n R critmin solve RUN --no-forced-in --quiet``: progressive hedging over 2 bundles per hub rank
  (optimization.decompose), then the portfolio polished by the EF with its integer decisions fixed.

Prints per N: wall seconds of the whole process (load, build, solve, marginal values, outputs), of which
the solve (EF: HiGHS on the MIP; decomposition: PH until it stops, and the polish LP), the largest resident
memory of any one process (a rank, for the decomposition), the EF's objective, the decomposition's, its
lower bound and the gap it states, and whether the EF's objective lies within it.  Needs the mpi extra.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
# Runs a command and prints the largest resident set (kB) of any process it waited for, itself included.
PEAK = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def generated(folder: Path, scenarios: int, minerals: int) -> Path:
    from critmin import synthetic
    from critmin.inputs.data import load

    data = synthetic.write(folder / "data", synthetic.generate(minerals=minerals, countries=12, routes_per_mineral=6,
                                                               projects_per_mineral=2, plants=2))
    run = folder / "run.toml"
    run.write_text('name = "generated"\ndata = "data"\nyear = 2030\n[policy]\ninvestment_budget = 5e10\n'
                   'stockpile_mode = "stochastic"\n[solver]\ntime_limit = 3600\nmip_rel_gap = 1e-6\n')
    synthetic.generate_disruptions(load(run), scenarios).to_csv(data / "disruptions.csv", index=False)
    return run


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one process (tree)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--minerals", type=int, default=3)
    parser.add_argument("--gap", type=float, default=1e-3, help="--ph-gap")
    parser.add_argument("--iterations", type=int, default=50,
                        help="--ph-iterations (fewer: the cost of an iteration at counts where 50 take hours)")
    arguments = parser.parse_args()

    columns = (f"{'scenarios':>9}{'EF s':>8}{'solve':>7}{'MB':>6}  {'PH s':>7}{'PH':>7}{'polish':>7}{'MB/rank':>8}"
               f"{'iters':>6}  {'EF objective':>15}{'PH objective':>15}{'lower bound':>15}{'gap':>9}  EF within")
    print(f"{arguments.ranks} ranks for the decomposition; seconds are whole processes (wall), solve/PH/polish "
          "their solver phases")
    print(columns)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for count in arguments.counts:
            folder = Path(scratch) / str(count)
            run = generated(folder, count, arguments.minerals)
            ef_seconds, ef_mb = timed([str(BIN / "critmin"), "solve", str(run), "--out", str(folder / "ef"),
                                       "--no-forced-in", "--quiet"])
            ph_seconds, ph_mb = timed([str(BIN / "mpiexec"), "-n", str(arguments.ranks), str(BIN / "critmin"),
                                       "solve", str(run), "--out", str(folder / "ph"), "--no-forced-in", "--quiet",
                                       "--ph-gap", str(arguments.gap),
                                       "--ph-iterations", str(arguments.iterations)])
            ef = json.loads((folder / "ef" / "summary.json").read_text())
            ef_wall = json.loads((folder / "ef" / "manifest.json").read_text())["wall_seconds"]
            ph = json.loads((folder / "ph" / "summary.json").read_text())
            found = ph["decomposition"]
            within = found["lower_bound"] <= ef["objective"] * (1 + 1e-9) <= ph["objective"] * (1 + 2e-9)
            print(f"{count:>9}{ef_seconds:>8.1f}{ef_wall['solve']:>7.1f}{ef_mb:>6.0f}  {ph_seconds:>7.1f}"
                  f"{found['ph_seconds']:>7.1f}{found['polish_seconds']:>7.1f}{ph_mb:>8.0f}{found['iterations']:>6}  "
                  f"{ef['objective']:>15,.0f}{ph['objective']:>15,.0f}{found['lower_bound']:>15,.0f}"
                  f"{found['gap']:>9.1e}  {'yes' if within else 'NO'}  "
                  f"({found['ph_seconds'] / max(found['iterations'], 1):.1f} s an iteration)", flush=True)
            rows.append((count, ef_seconds, ph_seconds))
    if len(rows) >= 2:
        (n0, e0, p0), (n1, e1, p1) = rows[0], rows[-1]
        print(f"from {n0} to {n1} scenarios (x{n1 / n0:.1f}): extensive form x{e1 / e0:.1f}, "
              f"decomposition x{p1 / p0:.1f} (whole processes)")


if __name__ == "__main__":
    main()
