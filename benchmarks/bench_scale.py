"""Benchmark (not a test): whole `critmin solve` processes on generated instances, phase by phase,
against HiGHS alone on the same model, with peak memory.

    python benchmarks/bench_scale.py [--cases one-year s200 y5s50 s1000] [--keep DIR]

The instances (``model/synthetic.py``): 7 minerals, 40 countries, 86 routes a
mineral (602 routes), 9 projects a mineral (63), 8 recycling plants, seed 1;
the stochastic cases add N generated disruption scenarios
(``generate_disruptions``, seed 1) and ``stockpile_mode = "stochastic"``; the
five-year case plans 2030-2034 at once with targets growing 3 % a year.

For each case it runs ``critmin solve RUN --quiet --no-forced-in`` as its own
process (the analyst's command: load, validate, build, solve, marginal values,
result tables, writers, the independent check) and reads the phases from the
run's manifest.json; then it exports the instance critmin hands HiGHS (same
rows, columns and order) as MPS and runs HiGHS alone on it in a fresh Python
process (import highspy, read, solve: the stand-in for a direct sparse-matrix
formulation handed to the same HiGHS, which solves the same instance).
Peak memory is each child's maximum resident set (os.wait4).  It prints
seconds per phase, the ratios marginal/solve and critmin/HiGHS-alone, and
with ``--forced-in`` the forced-in costs' time, measured in a second run
(one MIP re-solve per project or plant left out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {  # name: (scenarios, years)
    "one-year": (0, 1),
    "s200": (200, 1),
    "y5s50": (50, 5),
    "s1000": (1000, 1),
    "s2000": (2000, 1),
}
FIRST_YEAR = 2030


def make_case(folder: Path, scenarios: int, years: int, gap: float) -> Path:
    """Write the generated dataset and its run file into ``folder``; return the run file."""
    import dataclasses

    import pandas as pd

    from critmin.inputs.data import prepare
    from critmin.inputs.runfile import parse_run
    from critmin.inputs.validate import load_dataset
    from critmin.synthetic import generate, generate_disruptions, write

    tables = generate(minerals=7, countries=40, routes_per_mineral=86, projects_per_mineral=9, plants=8,
                      year=FIRST_YEAR, seed=1)
    tables["targets"] = [dict(row, year=FIRST_YEAR + k, target_t=round(row["target_t"] * 1.03 ** k, 0))
                         for row in tables["targets"] for k in range(years)]
    data_folder = write(folder / "data", tables)
    # A budget of half the capex of every project and plant: the budget's marginal value is a step
    # (a MIP re-solve without it) whenever the budget could bind.
    budget = 0.5 * sum(row["capex"] for row in tables["projects"] + tables["recycling_plants"])
    run = {"name": folder.name, "data": "data",
           "policy": {"country_cap": 0.65, "stockpile_days": 60, "investment_budget": budget},
           "solver": {"mip_rel_gap": gap, "time_limit": 3600, "threads": 1}}
    run.update({"years": list(range(FIRST_YEAR, FIRST_YEAR + years))} if years > 1 else {"year": FIRST_YEAR})
    if scenarios:
        run["policy"]["stockpile_mode"] = "stochastic"
        data = prepare(load_dataset(data_folder), parse_run(run, folder / "run.toml"))
        frame = generate_disruptions(data, scenarios)
        frame.to_csv(data_folder / "disruptions.csv", index=False)
        assert isinstance(frame, pd.DataFrame) and dataclasses.is_dataclass(data)
    path = folder / "run.toml"
    path.write_text(_toml(run))
    return path


def _toml(document: dict) -> str:
    lines, sections = [], []
    for key, value in document.items():
        if isinstance(value, dict):
            sections.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for name, section in sections:
        lines.append(f"\n[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in section.items()]
    return "\n".join(lines) + "\n"


def run_child(command: list[str]) -> tuple[float, float, int]:
    """(seconds, peak resident MB, exit code) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.stderr.write(child.stderr.read().decode())
    child.stderr.close()
    return seconds, usage.ru_maxrss / 1024, child.returncode


HIGHS_ALONE = """
import sys, time, highspy
h = highspy.Highs(); h.setOptionValue("output_flag", False); h.setOptionValue("threads", 1)
h.setOptionValue("mip_rel_gap", float(sys.argv[2])); h.readModel(sys.argv[1]); h.run()
print(h.getInfo().objective_function_value)
"""


def export_mps(run: Path, mps: Path) -> None:
    """The very instance critmin hands HiGHS (optimization/highs.py translate), as MPS."""
    from critmin.inputs.data import load
    from critmin.optimization.build import build_model
    from critmin.optimization.highs import translate

    translate(build_model(load(run))).highs.writeModel(str(mps))


def measure(name: str, folder: Path, gap: float, forced_in: bool) -> dict:
    scenarios, years = CASES[name]
    run = make_case(folder, scenarios, years, gap)
    critmin = [sys.executable, "-m", "critmin", "solve", str(run), "--quiet", "--force", "--out", str(folder / "out")]
    seconds, memory, code = run_child(critmin + ["--no-forced-in"])
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    summary = json.loads((folder / "out" / "summary.json").read_text())
    wall = manifest["wall_seconds"]
    mps = folder / "model.mps"
    export_mps(run, mps)
    alone, alone_memory, _ = run_child([sys.executable, "-c", HIGHS_ALONE, str(mps), str(gap)])
    forced_wall, forced_seconds = {}, None
    if forced_in:
        forced_seconds, _, _ = run_child(critmin)
        forced_wall = json.loads((folder / "out" / "manifest.json").read_text()).get("wall_seconds", {})
    return dict(case=name, scenarios=scenarios, years=years, exit=code, seconds=seconds, memory=memory,
                objective=summary.get("objective"), wall=wall, alone=alone, alone_memory=alone_memory,
                forced_in=forced_wall.get("forced_in"), forced_total=forced_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["one-year", "s200", "y5s50", "s1000"], choices=list(CASES))
    parser.add_argument("--gap", type=float, default=1e-4, help="mip_rel_gap of every solve (default 1e-4)")
    parser.add_argument("--keep", type=Path, help="keep the generated cases here")
    parser.add_argument("--forced-in", action="store_true",
                        help="also run with the forced-in costs (one MIP re-solve per project or plant left out)")
    arguments = parser.parse_args()
    base = arguments.keep or Path(tempfile.mkdtemp(prefix="critmin-scale-"))
    columns = [("case", 9), ("critmin s", 10), ("load", 6), ("build", 6), ("solve", 7), ("marginal", 9),
               ("results", 8), ("write", 6), ("verify", 7), ("other", 6), ("MB", 6), ("HiGHS s", 8), ("MB", 6),
               ("marg/solve", 11), ("x HiGHS", 8), ("forced-in s", 12)]
    print("".join(f"{name:>{width}}" for name, width in columns))
    phases = ("load", "build", "solve", "marginal", "results", "write", "verify")
    for name in arguments.cases:
        row = measure(name, base / name, arguments.gap, arguments.forced_in)
        wall = {phase: row["wall"].get(phase, 0.0) for phase in phases}
        other = max(0.0, row["seconds"] - sum(wall.values()))
        cells = [name, f"{row['seconds']:.2f}", *(f"{wall[phase]:.2f}" for phase in phases), f"{other:.2f}",
                 f"{row['memory']:.0f}", f"{row['alone']:.2f}", f"{row['alone_memory']:.0f}",
                 f"{wall['marginal'] / max(wall['solve'], 1e-9):.2f}", f"{row['seconds'] / row['alone']:.2f}",
                 f"{row['forced_in']:.1f}" if row["forced_in"] is not None else "-"]
        print("".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells, columns)), flush=True)
    print("other = whole process minus the recorded phases: interpreter start, imports, the output-folder "
          "checks and commit.")
    if not arguments.keep:
        print(f"(cases in {base})")


if __name__ == "__main__":
    main()
