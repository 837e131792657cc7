"""Benchmark (not a test): time each phase of a solve, and HiGHS alone on the same model.

    python benchmarks/bench.py [--repeat 3]

For the default data (runs/base-2030.toml) and a generated instance about
ten times larger (70 minerals), prints the seconds spent in load, build,
solve, tidy and write, then exports the built model as MPS and times HiGHS
alone reading and solving it with the same options.  The last column is
end-to-end time over HiGHS-alone time: the price of the Pyomo layer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def phases(run_path: Path, out: Path) -> dict:
    from critmin.commands.common import manifest
    from critmin.inputs.data import load
    from critmin.optimization.build import build_model
    from critmin.optimization.solve import Outcome, model_size, solve_model, solver_options
    from critmin.results.tables import tidy
    from critmin.writers.outputs import write_outputs

    times = {}
    data, times["load"] = _timed(load, run_path)
    model, times["build"] = _timed(build_model, data)
    options = solver_options(data)
    solution, times["solve"] = _timed(solve_model, model, options)
    solution.size = model_size(model)
    outcome = Outcome(solution, None, "highs", "", options)
    results, times["tidy"] = _timed(tidy, data, outcome)
    _, times["write"] = _timed(write_outputs, out, results, manifest(data, outcome, dict(times)))
    times["end_to_end"] = sum(times.values())
    mps = out / "model.mps"
    model.write(str(mps), io_options={"symbolic_solver_labels": False})
    times["highs_alone"] = highs_alone(mps, options)
    times["objective"] = solution.objective
    times["size"] = solution.size
    return times


def highs_alone(mps: Path, options: dict) -> float:
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", options["threads"])
    highs.setOptionValue("mip_rel_gap", options["rel_gap"])
    highs.setOptionValue("time_limit", options["time_limit"])
    start = time.perf_counter()
    highs.readModel(str(mps))
    highs.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per instance; the median is printed")
    parser.add_argument("--minerals", type=int, default=70, help="minerals in the generated instance")
    arguments = parser.parse_args()

    from critmin import synthetic

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        generated = synthetic.write(scratch / "generated" / "data", synthetic.generate(minerals=arguments.minerals))
        run = scratch / "generated" / "run.toml"
        run.write_text(f'name = "generated"\ndata = "{generated}"\nyear = 2030\n'
                       "[policy]\ninvestment_budget = 5e10\n[solver]\ntime_limit = 600\n")
        instances = {"default (base-2030)": ROOT / "runs" / "base-2030.toml",
                     f"generated ({arguments.minerals} minerals)": run}
        columns = ["load", "build", "solve", "tidy", "write", "end_to_end", "highs_alone"]
        print(f"{'instance':<28}{'vars':>7}{'bins':>6}{'rows':>7}" + "".join(f"{c:>12}" for c in columns)
              + f"{'e2e/HiGHS':>11}")
        for label, path in instances.items():
            runs = [phases(path, scratch / f"out-{i}") for i in range(arguments.repeat)]
            median = {c: statistics.median(r[c] for r in runs) for c in columns}
            size = runs[0]["size"]
            print(f"{label:<28}{size['variables']:>7}{size['binaries']:>6}{size['constraints']:>7}"
                  + "".join(f"{median[c]:>12.3f}" for c in columns)
                  + f"{median['end_to_end'] / median['highs_alone']:>11.1f}")
        print("seconds, median of", arguments.repeat, "runs; highs_alone = read MPS + solve with the same options")


if __name__ == "__main__":
    main()
