"""What every command that writes files shares: the output folder and the manifest."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

from .. import __version__
from ..errors import UsageError
from ..writers.staging import MANIFEST  # noqa: F401  (solve's and stress's manifest, which names the run)

EXIT_SOLVED, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_CHECK_FAILED = 3  # solved, but the independent check (critmin verify) failed
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


def default_out(run_path: Path, name: str, command: str | None = None) -> Path:
    """runs/out/<name>/ beside the run file (runs/ is where run files live).  A command that studies a run
    rather than solving it (stress, sweep, sensitivity) writes into its own subfolder, runs/out/<name>/<command>/,
    so that it never replaces the solve's outputs."""
    folder = Path(run_path).resolve().parent / "out" / name
    return folder / command if command else folder


def input_files(data) -> list[Path]:
    from ..inputs.reading import dataset_files

    return [Path(data.run.path).resolve()] + [p.resolve() for p in dataset_files(data.dataset.path)]


def add_force_argument(parser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="write into --out even when it holds another run's outputs (they are replaced)")


def check_out_folder(out: Path, data, output_files, folders=(), manifest: str | None = None,
                     force: bool = False) -> None:
    """Refuse, before any work, an output folder that cannot be written or whose files would overwrite an input;
    and, unless ``force``, one that holds another run's outputs: its ``manifest`` (the set's manifest file)
    names a different run file or run name.  Runs do not overwrite each other by accident."""
    from ..writers.staging import check_writable

    check_writable(out, files=output_files, folders=folders)
    out = out.resolve()
    inputs = set(input_files(data))
    dataset = Path(data.dataset.path).resolve()
    if out == dataset or out in inputs or any(out / name in inputs for name in output_files):
        raise UsageError(f"{out}: the output folder would overwrite an input; choose another --out")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out must be a folder")
    other = _other_run(out / manifest, data) if manifest and not force else None
    if other:
        raise UsageError(f"{out}: holds the outputs of another run ({other}); choose another --out, or add --force "
                         "to replace them")


def _other_run(path: Path, data) -> str | None:
    """The run whose outputs ``path`` (a manifest) records, when it is not this one: "run 'x' of FILE"."""
    import json

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no manifest, or none critmin can read: nothing says another run wrote here
    if not isinstance(document, dict) or not {"run_file", "run_name"} <= set(document):
        return None
    here = (str(Path(data.run.path).resolve()), data.run.name)
    there = (str(document["run_file"]), str(document["run_name"]))
    return None if there == here else f"run '{there[1]}' of {there[0]}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_hashes(data) -> tuple[dict[str, str], str]:
    """SHA-256 per input file, and one hash over all of them."""
    files = {str(path): _sha256(path) for path in input_files(data)}
    return files, hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()


def manifest_head(data) -> dict:
    """What every manifest begins with: the run (file and name), the dataset, and the SHA-256 of every input
    file with one hash over all of them."""
    files, combined = data_hashes(data)
    return {
        "run_file": str(Path(data.run.path).resolve()),
        "run_name": data.run.name,
        "dataset": str(Path(data.dataset.path).resolve()),
        "input_sha256": files,
        "data_hash": combined,
    }


def manifest(data, outcome, wall: dict) -> dict:
    import openpyxl
    import pandas
    import pyomo.version

    policy = {key: (list(value) if isinstance(value, tuple) else value)
              for key, value in data.policy.__dict__.items()}
    return {
        **manifest_head(data),
        "policy": policy,
        **overrides_record(data.run),
        "solver": {"name": outcome.solver_name, "version": outcome.solver_version, "options": outcome.options,
                   "termination": outcome.strict.termination,
                   "elastic_termination": outcome.elastic.termination if outcome.elastic else None},
        "model_size": outcome.strict.size,
        "versions": {"critmin": __version__, "python": platform.python_version(), "pyomo": pyomo.version.version,
                     "pandas": pandas.__version__, "openpyxl": openpyxl.__version__},
        "wall_seconds": wall,
    }


def add_set_argument(parser) -> None:
    """--set KEY=VALUE (repeatable) for the commands that solve or check one run: applied after the run file."""
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting or data override, applied after the run file's (repeatable): "
                             "policy.country_cap=0.5, data.supply[mine_country=RUS].max_t=0, "
                             "data.targets[mineral=lithium].target_t=*1.2")


def overrides_record(run) -> dict:
    """manifest.json's record of the settings and data overrides applied: ``overrides``, every ``set`` and
    ``--set`` string in the order applied; ``settings``, the policy and demand values --set gave (dotted key ->
    value), which ``critmin verify`` applies to the run file as it does a sweep point's."""
    from ..inputs.overrides import is_data_key

    given = {o.key: list(o.value) if isinstance(o.value, tuple) else o.value for o in run.overrides
             if o.where == "--set" and not is_data_key(o.key) and o.key.split(".")[0] in ("policy", "demand")}
    return {"overrides": [o.text for o in run.overrides], **({"settings": given} if given else {})}


# A set that fails the independent check is kept here, inside ``--out``, never in place of the verified one.
FAILED_FOLDER = "failed-check"
FAILED_NOTE = "CHECK-FAILED.txt"


class _KeptApart(Exception):
    """The staged set failed its check and went to FAILED_FOLDER: do not commit it into ``out``."""


def write_checked(out: Path, data, results, document: dict, replaces=None):
    """Write the outputs as one set, checked before it replaces the previous one.

    The files are staged in a hidden folder inside ``out``; ``results.verify``
    checks the staged outputs (no solver) and its report lands in manifest.json
    with the SHA-256 of every other output; then the set is swapped in
    (``writers.staging``).  A set that fails the check never replaces what
    ``out`` holds: it is committed into ``out/failed-check/`` instead, with
    CHECK-FAILED.txt saying why.  Returns the report.
    """
    import shutil
    import time

    from ..results.verify import sha256, verify_files
    from ..writers.files import write_json, write_text
    from ..writers.outputs import OUTPUT_FILES, write_outputs
    from ..writers.staging import staged_files, staged_outputs

    wall = document.setdefault("wall_seconds", {})
    names = tuple(replaces or OUTPUT_FILES) + ("stress.csv",)
    try:
        with staged_outputs(out, names) as stage:
            clock = time.perf_counter()
            write_outputs(stage, results, document)
            wall["write"] = time.perf_counter() - clock
            clock = time.perf_counter()
            report = verify_files(data, stage)
            wall["verify"] = time.perf_counter() - clock
            document["verify"] = report.as_dict()
            document["outputs"] = {name: sha256(stage / name) for name in staged_files(stage) if name != MANIFEST}
            write_json(stage / MANIFEST, document)
            if not report.passed:
                with staged_outputs(Path(out) / FAILED_FOLDER, names + (FAILED_NOTE,)) as apart:
                    for name in staged_files(stage):
                        shutil.copy2(stage / name, apart / name)
                    write_text(apart / FAILED_NOTE, "These outputs failed critmin's independent check and were kept "
                                                     "apart from the verified ones in the folder above:\n"
                                                     + "\n".join(report.failures()) + "\n")
                raise _KeptApart
    except _KeptApart:
        pass
    return report


def check_failed(report, out: Path, kept_apart: bool = True) -> int:
    """Print why the independent check failed; the exit code for it.  ``kept_apart``: the failed set was
    written to ``out/failed-check/`` (solve, stress), not over the outputs ``out`` held."""
    import sys

    where = (f"kept apart in {Path(out) / FAILED_FOLDER}; {out} still holds the previous outputs, if any"
             if kept_apart else f"critmin verify {out}")
    print(f"error: the solution failed its independent check ({where}); do not use these outputs:",
          file=sys.stderr)
    for line in report.failures():
        print(f"error:   {line}", file=sys.stderr)
    return EXIT_CHECK_FAILED
