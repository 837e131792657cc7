"""``critmin compare DIR DIR [DIR ...] [--out DIR]``: how runs differ, side by side.

Each folder is one a ``critmin solve`` (or ``stress``) wrote; each is read
through the one output reader (its manifest, hashes and inputs checked as
``verify`` checks them).  Prints the headline rows and writes, as one staged
set, ``compare.csv`` (long form: section, item, one column per run, delta =
last minus first; the total cost is the row with item ``objective``),
``compare.xlsx`` (a Summary, then a sheet per section with a delta column and
charts) and ``compare-manifest.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UsageError
from .common import EXIT_SOLVED

OUTPUTS = ("compare.csv", "compare.xlsx")
MANIFEST = "compare-manifest.json"


def add_parser(commands) -> None:
    parser = commands.add_parser("compare", help="compare the outputs of two or more runs")
    parser.add_argument("folders", type=Path, nargs="+", help="output folders written by 'critmin solve'")
    parser.add_argument("--out", type=Path, help="output folder (default runs/out/compare/)")


def run(arguments) -> int:
    from .. import __version__
    from ..results.compare import compare_table, figures, run_names
    from ..results.portfolio import read_manifest, read_output
    from ..results.verify import load_recorded
    from ..writers.compare import write_compare
    from ..writers.staging import check_writable, write_set

    clock = time.perf_counter()
    folders = [Path(f) for f in arguments.folders]
    if len(folders) < 2:
        raise UsageError("compare takes at least two output folders")
    out = arguments.out or Path("runs") / "out" / "compare"
    check_writable(out, files=OUTPUTS + (MANIFEST,))  # before reading: a bad --out fails first
    names, runs = [], []
    for folder in folders:
        manifest = read_manifest(folder)
        data, _ = load_recorded(manifest)
        portfolio = read_output(data, folder)
        names.append(portfolio.run or portfolio.summary.get("run", folder.name))
        runs.append(figures(portfolio, data.home))
    labels = run_names(names, [f.name or str(f) for f in folders])
    table = compare_table(labels, runs)
    document = {"command": "compare", "critmin": __version__, "runs": dict(zip(labels, map(str, folders))),
                "wall_seconds": {"read": time.perf_counter() - clock}}
    write_set(out, OUTPUTS, MANIFEST, document, lambda stage: write_compare(stage, table, labels,
                                                                               [str(f) for f in folders]))
    print(format_compare(table, labels))
    print(f"\noutputs: {out}")
    return EXIT_SOLVED


def format_compare(table, labels: list[str]) -> str:
    """The summary and cost rows, then the five largest |delta| of every other section."""
    width = max(12, *(len(label) for label in labels))
    lines = [f"{'section':<18}{'item':<30}" + "".join(f"{label:>{width + 2}}" for label in labels)
             + f"{'delta':>{width + 2}}"]

    def shown(value):
        if value is None or value != value:
            return "-"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.0f}"
        return str(value)

    for section, part in table.groupby("section", sort=False):
        rows = part if section in ("summary", "cost_by_lever") else part.reindex(
            part["delta"].abs().sort_values(ascending=False).index).head(5)
        for row in rows.itertuples(index=False):
            values = list(row)[2:]
            lines.append(f"{section:<18}{str(row.item)[:29]:<30}"
                         + "".join(f"{shown(v):>{width + 2}}" for v in values))
    return "\n".join(lines)
