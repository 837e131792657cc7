"""Atomic file writing and the json / csv writers.

Every output is written to a temporary file in its destination folder and
renamed over the final name, so a reader (or a crash) never sees half a
file.  Text from inputs that a spreadsheet would run as a formula is
neutralised in CSV (OWASP CSV injection, CWE-1236).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path next to ``path``; on success rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not error.filename:  # a failed write(): name the file it was for
            error.filename = str(path)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def write_json(path: Path, document: dict) -> None:
    write_text(path, json.dumps(_jsonable(document), indent=2, ensure_ascii=False) + "\n")


def safe_text(value):
    """Text a spreadsheet would evaluate gets a leading quote; numbers pass unchanged.

    Text that already starts with a quote gets one more, so that a reader
    recovers every value exactly by removing one leading quote whenever
    there is one (``results.verify._unquote``): ``=x`` is written ``'=x``,
    ``'=x`` is written ``''=x``, ``'x`` is written ``''x``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES + ("'",)):
        return "'" + value
    return value


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_text(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_csv_cell(v) for v in row])
    write_text(path, buffer.getvalue())


def _csv_cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if not value.is_integer():
            return repr(round(value, 9))
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    if value is None:
        return ""
    return safe_text(str(value))
