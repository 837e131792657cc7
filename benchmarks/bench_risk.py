"""Benchmark (not a test): the CVaR model's size and time as the sampled joint scenarios grow.

    python benchmarks/bench_risk.py [--samples 100 1000 5000] [--events 20] [--minerals 70] [--gap 1e-4]

Two instances, each with risk_measure = "cvar" (cvar_alpha 0.95, risk_weight
0.5) in stochastic mode:

- the default stochastic run (runs/stochastic-2030.toml), whose ten events
  would be enumerated exactly (1,024 joint scenarios, shown first); here they
  are sampled instead (``scenarios.EXACT_MAX_EVENTS`` set to 0), N years each;
- a generated instance (model/synthetic.py, 70 minerals, ``--events``
  generated disruption events), sampled N years each.

Prints per N the joint scenarios left after merging identical years, the
mineral cases (the second-stage blocks the scenarios share, see
optimization.build.define_recourse), the model size, build and solve
seconds, the achieved gap, the objective and the evaluated CVaR, then the
growth of the solve time against N.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(data, label: str) -> dict:
    from critmin.optimization.build import build_model
    from critmin.optimization.solve import model_size, solve_model, solver_options
    from critmin.results.risk import risk_figures
    from critmin.results.stress import portfolio_flows

    start = time.perf_counter()
    model = build_model(data)
    build = time.perf_counter() - start
    solution = solve_model(model, solver_options(data))
    size = model_size(model)
    year = max(data.years)
    values = solution.values
    first = sum(v for (lever, t), v in values["cost"].items() if t == year and lever != "recourse")
    start = time.perf_counter()
    figures = risk_figures(data, portfolio_flows(data, values, year),
                           {m: values["stock"].get((m, year), 0.0) for m in data.minerals}, year, first,
                           model.scenario_distribution)
    evaluate = time.perf_counter() - start
    row = dict(label=label, joint=len(model.S), cases=len(model.MKT), variables=size["variables"],
               binaries=size["binaries"], rows=size["constraints"], build=build, solve=solution.solve_seconds,
               gap=solution.mip_gap, status=solution.status, objective=solution.objective, cvar=figures["cvar"],
               expected=figures["expected_recourse"], evaluate=evaluate)
    print(f"{label:<26}{row['joint']:>7}{row['cases']:>7}{row['variables']:>8}{row['binaries']:>6}{row['rows']:>8}"
          f"{build:>8.2f}{row['solve']:>8.2f}{row['evaluate']:>8.2f}{(row['gap'] or 0):>10.1e}"
          f"{row['objective'] / 1e9:>11.4f}{row['cvar'] / 1e6:>10.2f}{row['status']:>10}", flush=True)
    return row


def growth(rows: list[dict]) -> str:
    (a, b) = rows[0], rows[-1]
    n0, n1 = a["draws"], b["draws"]
    return (f"  growth {n0:,} -> {n1:,} draws (x{n1 / n0:.0f}): joint scenarios x{b['joint'] / a['joint']:.1f}, "
            f"variables x{b['variables'] / a['variables']:.1f}, build x{b['build'] / a['build']:.1f}, "
            f"solve x{b['solve'] / a['solve']:.1f} (exponent in draws "
            f"{math.log(b['solve'] / a['solve']) / math.log(n1 / n0):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--events", type=int, default=20, help="generated disruption events (large instance)")
    parser.add_argument("--minerals", type=int, default=70, help="minerals of the generated instance")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=600)
    arguments = parser.parse_args()

    from critmin import synthetic
    from critmin.inputs import scenarios
    from critmin.inputs.data import load, prepare

    header = (f"{'case':<26}{'joint':>7}{'cases':>7}{'vars':>8}{'bins':>6}{'rows':>8}{'build s':>8}{'solve s':>8}"
              f"{'eval s':>8}{'gap':>10}{'obj bn':>11}{'CVaR m':>10}{'status':>10}")

    def cvar_run(run, samples=None):
        policy = dataclasses.replace(run.policy, stockpile_mode="stochastic", risk_measure="cvar",
                                     scenario_samples=samples or run.policy.scenario_samples)
        solver = dataclasses.replace(run.solver, mip_rel_gap=arguments.gap, time_limit=arguments.time_limit)
        return dataclasses.replace(run, policy=policy, solver=solver)

    base = load(ROOT / "runs" / "stochastic-2030.toml")
    print("default stochastic run, CVaR (alpha 0.95, w 0.5), gap", arguments.gap)
    print(header)
    measure(prepare(base.dataset, cvar_run(base.run)), "exact (every set)")
    rows = []
    saved = scenarios.EXACT_MAX_EVENTS
    scenarios.EXACT_MAX_EVENTS = 0  # sample even ten events
    try:
        for n in arguments.samples:
            rows.append(dict(measure(prepare(base.dataset, cvar_run(base.run, n)), f"sampled {n:,}"), draws=n))
    finally:
        scenarios.EXACT_MAX_EVENTS = saved
    print(growth(rows))

    with tempfile.TemporaryDirectory() as scratch:
        folder = synthetic.write(Path(scratch) / "data", synthetic.generate(minerals=arguments.minerals))
        path = Path(scratch) / "run.toml"
        path.write_text(f'name = "generated"\ndata = "{folder}"\nyear = 2030\n'
                        '[policy]\ninvestment_budget = 5e10\nstockpile_mode = "stochastic"\n')
        generated = load(path)
        tables = {**generated.dataset.tables,
                  "disruptions": synthetic.generate_disruptions(generated, arguments.events)}
        dataset = dataclasses.replace(generated.dataset, tables=tables)
        print(f"\ngenerated instance: {arguments.minerals} minerals, {arguments.events} events (sampled), CVaR, gap "
              f"{arguments.gap}")
        print(header)
        rows = []
        for n in arguments.samples:
            rows.append(dict(measure(prepare(dataset, cvar_run(generated.run, n)), f"sampled {n:,}"), draws=n))
        print(growth(rows))


if __name__ == "__main__":
    main()
