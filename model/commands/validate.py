"""``critmin validate RUN.toml``: check a run file and its dataset without solving."""

from __future__ import annotations

from pathlib import Path

from .common import EXIT_SOLVED, add_set_argument


def add_parser(commands) -> None:
    parser = commands.add_parser("validate", help="check a run file and its dataset without solving")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    add_set_argument(parser)


def run(arguments) -> int:
    from ..inputs.data import load

    data = load(arguments.run, settings=arguments.settings)
    print(f"{arguments.run}: valid ({len(data.minerals)} minerals, {len(data.routes)} routes, "
          f"{len(data.projects)} projects, {len(data.plants)} recycling plants, "
          + (f"years {data.years[0]}-{data.years[-1]})" if len(data.years) > 1 else f"year {data.run.year})"))
    return EXIT_SOLVED
