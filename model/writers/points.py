"""Saved points: one JSON record per solved point, so that an interrupted or wider grid solves only the rest.

A command that solves a grid of points (``critmin sweep``, ``critmin
sensitivity``) saves each point's record (results.sweep) as soon as it
arrives, in ``<out>/<command>-points/<key>.json``.  The key is a hash of the
inputs' SHA-256, the point's settings and the solver options that change its
answer, so an edited run file or dataset changes every key; a record is
reused only when its key and settings are the ones asked for.  Each record is
written atomically (``files.write_json``): a kill leaves a point saved or
not, never half.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import UsageError
from .files import write_json


def point_key(inputs_hash: str, settings: dict, solver) -> str:
    document = {"inputs": inputs_hash, "settings": settings,
                "solver": {"time_limit": solver.time_limit, "mip_rel_gap": solver.mip_rel_gap}}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _normal(settings: dict) -> dict:
    return json.loads(json.dumps(settings, sort_keys=True))


class SavedPoints:
    """The saved-points folder of one output folder; ``what`` names the outputs in messages ("sweep")."""

    def __init__(self, folder: Path, what: str):
        self.folder = Path(folder)
        self.what = what

    def load(self, key: str, settings: dict) -> dict | None:
        """A point saved by an earlier (maybe interrupted) run, when it is for these settings."""
        try:
            record = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or record.get("settings") != _normal(settings):
            return None
        return record

    def save(self, key: str, record: dict, done: int) -> dict:
        """Save ``record`` under ``key`` (``done``: the points saved so far, for the message of a failed
        write); the record as read back from JSON."""
        record = {"key": key, **record}
        try:
            write_json(self.folder / f"{key}.json", record)
        except OSError as error:
            raise UsageError(f"{error.filename or self.folder}: cannot save a solved point "
                             f"({error.strerror or error}); {done} points are saved; the {self.what} outputs are "
                             "as they were") from None
        return json.loads(json.dumps(record, default=str))
