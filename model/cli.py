"""Command line: ``critmin validate RUN.toml`` and ``critmin solve RUN.toml [--out DIR]``.

Exit codes (DESIGN.md): 0 solved, 1 infeasible (diagnosis printed and
written), 2 bad input or usage (one line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import time
from pathlib import Path

from . import __version__
from .errors import InputError, UsageError

EXIT_SOLVED, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="critmin", description="Cheapest critical-mineral procurement portfolio under supply-security limits.")
    parser.add_argument("--version", action="version", version=f"critmin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    solve = commands.add_parser("solve", help="solve a run file and write its outputs")
    solve.add_argument("run", type=Path, help="run file (TOML)")
    solve.add_argument("--out", type=Path, help="output folder (default runs/out/<name>/ next to the run file's folder)")
    solve.add_argument("--quiet", action="store_true", help="print only the status line")
    validate = commands.add_parser("validate", help="check a run file and its dataset without solving")
    validate.add_argument("run", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = _parser().parse_args(argv)
        if arguments.command == "validate":
            return _validate(arguments)
        return _solve(arguments)
    except InputError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _validate(arguments) -> int:
    from .inputs.data import load

    data = load(arguments.run)
    print(f"{arguments.run}: valid ({len(data.minerals)} minerals, {len(data.routes)} routes, "
          f"{len(data.projects)} projects, {len(data.plants)} recycling plants, year {data.run.year})")
    return EXIT_SOLVED


def default_out(run_path: Path, name: str) -> Path:
    """runs/out/<name>/ beside the run file (runs/ is where run files live)."""
    return Path(run_path).resolve().parent / "out" / name


def input_files(data) -> list[Path]:
    from .inputs.reading import dataset_files

    return [Path(data.run.path).resolve()] + [p.resolve() for p in dataset_files(data.dataset.path)]


def check_out_folder(out: Path, data) -> None:
    """Refuse an output folder whose files would overwrite an input."""
    from .writers.outputs import OUTPUT_FILES

    out = out.resolve()
    inputs = set(input_files(data))
    dataset = Path(data.dataset.path).resolve()
    if out == dataset or out in inputs or any(out / name in inputs for name in OUTPUT_FILES):
        raise UsageError(f"{out}: the output folder would overwrite an input; choose another --out")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out must be a folder")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(data, outcome, wall: dict) -> dict:
    import highspy  # noqa: F401  (version below)
    import openpyxl
    import pandas
    import pyomo.version

    files = {str(path): _sha256(path) for path in input_files(data)}
    combined = hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()
    policy = {key: (list(value) if isinstance(value, tuple) else value)
              for key, value in data.policy.__dict__.items()}
    return {
        "run_file": str(Path(data.run.path).resolve()),
        "run_name": data.run.name,
        "dataset": str(Path(data.dataset.path).resolve()),
        "input_sha256": files,
        "data_hash": combined,
        "policy": policy,
        "solver": {"name": outcome.solver_name, "version": outcome.solver_version, "options": outcome.options,
                   "termination": outcome.strict.termination,
                   "elastic_termination": outcome.elastic.termination if outcome.elastic else None},
        "model_size": outcome.strict.size,
        "versions": {"critmin": __version__, "python": platform.python_version(), "pyomo": pyomo.version.version,
                     "pandas": pandas.__version__, "openpyxl": openpyxl.__version__},
        "wall_seconds": wall,
    }


def _solve(arguments) -> int:
    from .inputs.data import load
    from .optimization.solve import NoSolutionError, solve
    from .results.tables import tidy
    from .writers.outputs import write_outputs
    from .writers.terminal import format_summary

    clock = time.perf_counter()
    data = load(arguments.run)
    out = arguments.out or default_out(arguments.run, data.run.name)
    check_out_folder(out, data)
    wall = {"load": time.perf_counter() - clock}
    try:
        outcome = solve(data)
    except NoSolutionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INFEASIBLE
    wall["build"] = outcome.strict.build_seconds + (outcome.elastic.build_seconds if outcome.elastic else 0.0)
    wall["solve"] = outcome.strict.solve_seconds + (outcome.elastic.solve_seconds if outcome.elastic else 0.0)
    clock = time.perf_counter()
    results = tidy(data, outcome)
    wall["results"] = time.perf_counter() - clock
    write_outputs(out, results, manifest(data, outcome, wall))
    print(format_summary(results) if not arguments.quiet else f"{data.run.name}: {results.status}")
    if results.status == "time_limit":
        print(f"warning: stopped at the time limit of {data.run.solver.time_limit:g} s with the best portfolio "
              f"found so far (achieved gap {results.mip_gap:.2%})", file=sys.stderr)
    print(f"\noutputs: {out}")
    return EXIT_INFEASIBLE if results.status == "infeasible" else EXIT_SOLVED


def run() -> None:
    sys.exit(main())
