"""Benchmark (not a test): the stochastic model's build and solve time as scenarios grow.

    python benchmarks/bench_stochastic.py [--counts 10 50 200] [--gap 1e-3]

On the default data (runs/stochastic-2030.toml), replaces the disruptions
table with N generated scenarios and prints the model size, build and solve
seconds, the achieved gap, and the growth of solve time against N.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--gap", type=float, default=1e-3)
    arguments = parser.parse_args()

    from critmin.inputs.data import load, prepare
    from critmin.optimization.build import build_model
    from critmin.optimization.solve import model_size, solve_model, solver_options
    from critmin.synthetic import generate_disruptions

    base = load(ROOT / "runs" / "stochastic-2030.toml")
    run = dataclasses.replace(base.run, solver=dataclasses.replace(base.run.solver, mip_rel_gap=arguments.gap,
                                                                   time_limit=600))
    rows = []
    print(f"{'scenarios':>9}{'vars':>8}{'bins':>6}{'rows':>8}{'build s':>10}{'solve s':>10}{'gap':>10}{'status':>10}")
    for count in [len(base.dataset['disruptions']['scenario'].unique())] + arguments.counts:
        if rows:
            disruptions = generate_disruptions(base, count)
        else:
            disruptions = base.dataset["disruptions"]
        dataset = dataclasses.replace(base.dataset, tables={**base.dataset.tables, "disruptions": disruptions})
        data = prepare(dataset, run)
        start = time.perf_counter()
        model = build_model(data)
        build = time.perf_counter() - start
        solution = solve_model(model, solver_options(data))
        size = model_size(model)
        label = f"{count}" + (" (default)" if not rows else "")
        print(f"{label:>9}{size['variables']:>8}{size['binaries']:>6}{size['constraints']:>8}{build:>10.2f}"
              f"{solution.solve_seconds:>10.2f}{solution.mip_gap:>10.1e}{solution.status:>10}")
        rows.append((count, build, solution.solve_seconds))
    generated = rows[1:]
    if len(generated) >= 2:
        (n0, b0, s0), (n1, b1, s1) = generated[0], generated[-1]
        print(f"growth from {n0} to {n1} scenarios: build x{b1 / b0:.1f}, solve x{s1 / s0:.1f} "
              f"(scenarios x{n1 / n0:.0f}; solve exponent {math.log(s1 / s0) / math.log(n1 / n0):.2f})")


if __name__ == "__main__":
    main()
