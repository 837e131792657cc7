"""``critmin template OUT.xlsx [--from DATASET]``: write the input workbook an analyst edits.

The workbook holds every input table of DATASET (default: the embedded
Japan-2030 data), validated first, so the template always solves as it is.
It is staged beside OUT.xlsx and committed under the folder's lock
(``writers.staging``): a kill or a second template run never leaves half a
workbook; a folder that cannot be written is refused before any work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import UsageError
from .common import EXIT_SOLVED

DEFAULT_DATASET = "japan-2030"


def embedded_dataset() -> Path:
    """The default dataset: data/japan-2030 of the source tree, or as installed under <prefix>/share/critmin."""
    candidates = [Path(__file__).resolve().parents[2] / "data" / DEFAULT_DATASET,
                  Path(sys.prefix) / "share" / "critmin" / "data" / DEFAULT_DATASET]
    for candidate in candidates:
        if (candidate / "minerals.csv").is_file():
            return candidate
    raise UsageError("the embedded dataset is not installed here; give one with --from DATASET")


def add_parser(commands) -> None:
    parser = commands.add_parser("template", help="write an input workbook (.xlsx) to edit and solve")
    parser.add_argument("out", type=Path, help="workbook to write (.xlsx)")
    parser.add_argument("--from", dest="source", type=Path,
                        help="dataset to fill it from: a folder of CSV files or an .xlsx (default: the embedded "
                             "Japan-2030 data)")


def run(arguments) -> int:
    from ..inputs.validate import load_dataset
    from ..writers.staging import NAME_MAX, check_writable, staged_outputs
    from ..writers.template import write_template

    out: Path = arguments.out
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"{out}: the template must be an .xlsx file")
    if "\x00" in str(out):
        raise UsageError(f"{str(out)!r}: a path cannot contain a NUL character")
    if len(os.fsencode(out.name)) > NAME_MAX - 40:
        raise UsageError(f"{out.name[:40]}...: the file name is too long ({len(os.fsencode(out.name))} bytes; "
                         f"at most {NAME_MAX - 40})")
    check_writable(out.parent, what="the template's folder")  # before any work: refused, nothing written
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; give a file name ending in .xlsx")
    source = arguments.source or embedded_dataset()
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise UsageError(f"{out}: would overwrite the dataset it is made from; choose another name")
    dataset = load_dataset(source)
    label = f"the embedded {DEFAULT_DATASET} dataset" if arguments.source is None else str(source)
    with staged_outputs(out.parent, (out.name,), manifest=out.name) as stage:  # the workbook is the whole set
        write_template(stage / out.name, dataset, label)
    counts = ", ".join(f"{name} {len(frame)}" for name, frame in dataset.tables.items())
    print(f"wrote {out} from {label} (rows: {counts})")
    print(f"next: set data = \"{out.name}\" in a run file and run critmin solve RUN.toml (see its README sheet)")
    return EXIT_SOLVED
