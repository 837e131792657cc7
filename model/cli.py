"""Command line: ``critmin <command> ...``; each command lives in ``critmin.commands``.

Exit codes (docs/model.md): 0 solved, 1 infeasible (diagnosis printed and
written), 2 bad input or usage (one line per problem, no traceback), 130
interrupted (Ctrl-C: one line; the outputs already in the folder are as they
were, ``writers.staging``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys

from . import __version__, interrupts
from .commands.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from .errors import InputError, UsageError


def _commands() -> dict:
    """The command modules, imported once Ctrl-C is handled (pandas alone takes a third of a second)."""
    from .commands import compare, demand, sensitivity, solve, stress, sweep, template, validate, verify

    return {module.__name__.rsplit(".", 1)[-1]: module
            for module in (solve, stress, validate, template, sweep, sensitivity, demand, verify, compare)}


def __getattr__(name: str):
    if name == "COMMANDS":
        return _commands()
    raise AttributeError(name)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="critmin",
                     description="Cheapest critical-mineral procurement portfolio under supply-security limits.")
    parser.add_argument("--version", action="version", version=f"critmin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in _commands().values():
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable
    try:
        with interrupts.watching():
            code = _main(argv)
            if interrupts.requested() and code != EXIT_INTERRUPTED:  # a Ctrl-C the solver swallowed
                code = interrupted()
    finally:
        gc.collect()  # the destructors of a failed write run now, under the quiet hook
        sys.unraisablehook = previous_hook
    return code


def _quiet_unraisable(unraisable) -> None:
    """A failed write (a full disk) is reported once, in one line; the destructor of the half-written file
    (openpyxl's ZipFile closes itself, and fails again) must not add a traceback."""
    if isinstance(unraisable.exc_value, (OSError, ValueError)):
        return
    sys.__unraisablehook__(unraisable)


def _main(argv: list[str] | None) -> int:
    try:
        arguments = _parser().parse_args(argv)
        return _commands()[arguments.command].run(arguments)
    except InputError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as error:
        return interrupted(error)
    except OSError as error:  # a file system failure no command foresaw: still one located line
        if interrupts.requested():
            return interrupted()
        where = error.filename if error.filename is not None else "critmin"
        print(f"error: {where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        # A library that catches everything (openpyxl's descriptors, say) turns the KeyboardInterrupt of a
        # Ctrl-C into an error of its own: after a Ctrl-C, that is still an interrupt.
        if interrupts.requested():
            return interrupted()
        raise


def interrupted(error: BaseException | None = None) -> int:
    """Ctrl-C: one line, exit 130."""
    message = str(error) if error is not None and str(error) else \
        "interrupted (Ctrl-C): nothing was written; the outputs already there are as they were"
    with contextlib.suppress(OSError, ValueError):
        print(f"\n{message}" if sys.stderr.isatty() else message, file=sys.stderr)
    return EXIT_INTERRUPTED


def run() -> None:
    sys.unraisablehook = _quiet_unraisable  # also for what is collected at exit
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers (a second Ctrl-C while reporting the first)
        code = interrupted()
    sys.exit(code)
