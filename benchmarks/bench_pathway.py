"""Benchmark (not a test): the 2026-2035 pathway's size and time, alone and in stochastic mode.

    python benchmarks/bench_pathway.py [--counts 10 50] [--gap 1e-3]

Solves runs/pathway-2026-2035.toml as it is (rule mode), then in stochastic
mode with N generated disruption scenarios (each applies in every planned
year), printing variables, binaries, rows, build and solve seconds and the
achieved gap.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--time-limit", type=float, default=600)
    arguments = parser.parse_args()

    from critmin.inputs.data import load, prepare
    from critmin.optimization.build import build_model
    from critmin.optimization.solve import model_size, solve_model, solver_options
    from critmin.synthetic import generate_disruptions

    base = load(ROOT / "runs" / "pathway-2026-2035.toml")
    solver = dataclasses.replace(base.run.solver, mip_rel_gap=arguments.gap, time_limit=arguments.time_limit)
    cases = [("pathway, rule mode", base.run.policy, base.dataset)]
    for count in arguments.counts:
        policy = dataclasses.replace(base.run.policy, stockpile_mode="stochastic")
        tables = {**base.dataset.tables, "disruptions": generate_disruptions(base, count)}
        cases.append((f"stochastic, {count} scenarios", policy, dataclasses.replace(base.dataset, tables=tables)))
    print(f"{'case':<28}{'years':>6}{'vars':>8}{'bins':>6}{'rows':>8}{'build s':>9}{'solve s':>9}{'gap':>10}"
          f"{'status':>12}")
    for label, policy, dataset in cases:
        data = prepare(dataset, dataclasses.replace(base.run, policy=policy, solver=solver))
        start = time.perf_counter()
        model = build_model(data)
        build = time.perf_counter() - start
        solution = solve_model(model, solver_options(data))
        size = model_size(model)
        gap = f"{solution.mip_gap:.1e}" if solution.mip_gap is not None else "-"
        print(f"{label:<28}{len(data.years):>6}{size['variables']:>8}{size['binaries']:>6}{size['constraints']:>8}"
              f"{build:>9.2f}{solution.solve_seconds:>9.2f}{gap:>10}{solution.status:>12}")


if __name__ == "__main__":
    main()
