"""Command line: ``critmin <command> ...``; each command lives in ``critmin.commands``.

Exit codes (DESIGN.md): 0 solved, 1 infeasible (diagnosis printed and
written), 2 bad input or usage (one line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import demand, solve, stress, sweep, template, validate, verify
from .commands.common import EXIT_BAD_INPUT
from .errors import InputError, UsageError

COMMANDS = {module.__name__.rsplit(".", 1)[-1]: module for module in (solve, stress, validate, template, sweep, demand, verify)}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="critmin",
                     description="Cheapest critical-mineral procurement portfolio under supply-security limits.")
    parser.add_argument("--version", action="version", version=f"critmin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = _parser().parse_args(argv)
        return COMMANDS[arguments.command].run(arguments)
    except InputError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def run() -> None:
    sys.exit(main())
