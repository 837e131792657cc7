"""``critmin verify OUTDIR``: check a solved portfolio independently of the solver.

Re-reads the run's inputs (named in OUTDIR/manifest.json, with the settings
a sweep point recorded) and the run's flows.csv, summary.json and
results.xlsx, checks every constraint family of docs/model.md and every figure
an analyst reads, and recomputes the objective (``critmin.results.verify``;
no Pyomo, no solver).  Exit 0 when every check is within tolerance, 3 when
one is not (a failed independent check, as in ``solve``), 2 when a file is
missing or malformed or the manifest does not match its inputs.
"""

from __future__ import annotations

from pathlib import Path

from .common import EXIT_SOLVED, check_failed


def add_parser(commands) -> None:
    parser = commands.add_parser("verify", help="check a solved portfolio against every constraint, without a solver")
    parser.add_argument("out", type=Path, help="a folder written by 'critmin solve'")


def run(arguments) -> int:
    from ..results.verify import format_report, verify_folder
    from ..writers.staging import reading

    with reading(arguments.out):  # a set being replaced is read once the new one is in
        _, report = verify_folder(arguments.out)
    print(format_report(report, arguments.out))
    return EXIT_SOLVED if report.passed else check_failed(report, arguments.out, kept_apart=False)
