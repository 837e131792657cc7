"""What every command that writes files shares: the output folder and the manifest."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

from .. import __version__
from ..errors import UsageError

EXIT_SOLVED, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2


def default_out(run_path: Path, name: str) -> Path:
    """runs/out/<name>/ beside the run file (runs/ is where run files live)."""
    return Path(run_path).resolve().parent / "out" / name


def input_files(data) -> list[Path]:
    from ..inputs.reading import dataset_files

    return [Path(data.run.path).resolve()] + [p.resolve() for p in dataset_files(data.dataset.path)]


def check_out_folder(out: Path, data, output_files) -> None:
    """Refuse an output folder whose files would overwrite an input."""
    out = out.resolve()
    inputs = set(input_files(data))
    dataset = Path(data.dataset.path).resolve()
    if out == dataset or out in inputs or any(out / name in inputs for name in output_files):
        raise UsageError(f"{out}: the output folder would overwrite an input; choose another --out")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out must be a folder")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_hashes(data) -> tuple[dict[str, str], str]:
    """SHA-256 per input file, and one hash over all of them."""
    files = {str(path): _sha256(path) for path in input_files(data)}
    return files, hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()


def manifest(data, outcome, wall: dict) -> dict:
    import openpyxl
    import pandas
    import pyomo.version

    files, combined = data_hashes(data)
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
