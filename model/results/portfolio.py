"""A solved portfolio read back from the folder a run wrote: the one reader of an output folder.

``critmin verify``, ``critmin stress --portfolio`` and every later command
that reads outputs go through here, so a damaged file is reported the same
way everywhere:

- ``read_manifest(folder)``: manifest.json, every key a reader relies on
  required and typed (``run_file``, ``dataset``, ``input_sha256``,
  ``outputs``, ``policy``, ...);
- ``check_outputs`` / ``check_inputs``: the files are those the run wrote
  and read (SHA-256 in the manifest);
- ``read_portfolio(data, folder)``: summary.json and flows.csv as a
  ``Portfolio``, every number typed; with ``workbook=True`` also the
  Summary, Supply and Flows sheets of results.xlsx (``Workbook``);
- ``read_output(data, folder)``: all three, for a command given a run;
- ``Portfolio.solution(data)``: the portfolio as the ``Solution`` the result
  tables take (``stress --portfolio`` re-evaluates it without re-solving).

Every problem is located (``file:row:field: what``) and all are raised
together as one ``InputError`` (exit 2).  Nothing here judges whether the
portfolio is feasible or its figures right: that is ``results.verify``.

Binaries are not written, so they are derived: a stake is taken when the
project is in ``projects_chosen`` (from its ``project_start_years`` year),
a plant is built when it is in ``plants_built``, a switched route is used
when it carries tonnes; feed is ``recycled / recovery_rate``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem, UsageError
from ..inputs.data import ModelData
from ..optimization.types import Solution
from .columns import LEVERS_SECTION, PATHWAY_LEVERS_SECTION

FLOW_COLUMNS = ("year", "mineral", "source_type", "source_id", "mine_country", "refine_country", "tonnes", "cost")
SOURCE_TYPES = ("market", "equity", "recycling")
STATUSES = ("optimal", "time_limit", "infeasible")
OUTPUTS_REQUIRED = ("results.xlsx", "summary.json", "flows.csv")  # docs/model.md "Outputs"; stress adds stress.csv
MANIFEST = "manifest.json"
# flows.csv keeps 9 decimals (writers.files): each number there is within half a unit of its 9th decimal.
ROUNDING = 5e-10
SHA256 = re.compile(r"[0-9a-f]{64}")
# results.xlsx: refuse an archive that would unpack to more than this (a zip bomb), before openpyxl opens it.
MAX_WORKBOOK_UNPACKED = 1024**3
MINERAL_FIELDS = ("target_t", "supplied_t", "market_t", "equity_t", "recycled_t", "shortfall_t", "stockpile_t",
                  "stock_days", "largest_mine_share", "largest_refine_share")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_number(value) -> bool:
    """A finite JSON or cell number (not a bool; an integer too large for a float is not finite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _as_float(value) -> float:
    return float(value) if is_number(value) else 0.0


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _unquote(text: str) -> str:
    """The value ``writers.files.safe_text`` wrote: it quotes formula-like text and text starting with a quote."""
    return text[1:] if text.startswith("'") else text


def _shown(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _line_of(text: str, key: str) -> int | None:
    """The line of the first ``"key":`` in a JSON text (a top-level key as our writer indents it)."""
    match = re.search(r'^\s*' + re.escape(json.dumps(key)) + r'\s*:', text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


# --------------------------------------------------------------------------- JSON documents


def read_json(path: Path, what: str) -> tuple[dict, str]:
    """A JSON object and its text; a missing file is a usage error, a damaged one a located problem."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: not found; {what}")
    try:
        text = path.read_bytes().decode("utf-8")
        document = json.loads(text)
    except UnicodeDecodeError:
        raise InputError([Problem(path.name, None, None, "not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        raise InputError([Problem(path.name, error.lineno, None, "not valid JSON", error.msg)]) from None
    except (RecursionError, ValueError) as error:  # nested too deeply, or a number Python refuses
        raise InputError([Problem(path.name, None, None, "not valid JSON", str(error) or type(error).__name__)]) \
            from None
    if not isinstance(document, dict):
        raise InputError([Problem(path.name, 1, None, "must be a JSON object")])
    return document, text


def read_summary(path: Path) -> dict:
    return read_json(path, "verify takes a folder written by 'critmin solve'")[0]


class _Typed:
    """Required and optional keys of one JSON object, each typed; every problem located."""

    KINDS = {
        "text": ("text", lambda v: isinstance(v, str)),
        "nonempty-text": ("non-empty text", lambda v: isinstance(v, str) and v.strip() != ""),
        "number": ("a finite number", is_number),
        "number-or-null": ("a finite number or null", lambda v: v is None or is_number(v)),
        "gap": ("a finite number >= 0, or null", lambda v: v is None or (is_number(v) and v >= 0)),
        "year": ("a year (an integer)", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        "years": ("a list of years", lambda v: isinstance(v, list)
                  and all(isinstance(y, int) and not isinstance(y, bool) for y in v)),
        "object": ("an object", lambda v: isinstance(v, dict)),
        "object-or-null": ("an object or null", lambda v: v is None or isinstance(v, dict)),
        "names": ("a list of text", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
        "texts": ("a list of text", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
        "numbers": ("an object of finite numbers", lambda v: isinstance(v, dict) and all(is_number(x)
                                                                                         for x in v.values())),
        "years-by-name": ("an object of years (integers)", lambda v: isinstance(v, dict) and all(
            isinstance(x, int) and not isinstance(x, bool) for x in v.values())),
        "digest": ("a SHA-256 digest (64 hexadecimal digits)", lambda v: isinstance(v, str)
                   and SHA256.fullmatch(v) is not None),
        "digests": ("an object of file -> SHA-256 digest (64 hexadecimal digits)", lambda v: isinstance(v, dict)
                    and v != {} and all(isinstance(x, str) and SHA256.fullmatch(x) for x in v.values())),
    }

    def __init__(self, where: str, document: dict, text: str = "", prefix: str = ""):
        self.where, self.document, self.text, self.prefix = where, document, text, prefix
        self.problems: list[Problem] = []

    def problem(self, key: str | None, message: str, value=None) -> None:
        line = _line_of(self.text, key.split(".")[0]) if self.text and key and not self.prefix else None
        column = f"{self.prefix}{key}" if key else (self.prefix.rstrip(".") or None)
        self.problems.append(Problem(self.where, line, column, message, None if value is None else _shown(value)))

    def need(self, key: str, kind: str, required: bool = True):
        """The value when present and of its kind; else None (and a problem when required or mistyped)."""
        if key not in self.document:
            if required:
                self.problem(key, "required key is missing")
            return None
        value = self.document[key]
        what, ok = self.KINDS[kind]
        if not ok(value):
            self.problem(key, f"must be {what}", "null" if value is None else value)
            return None
        return value


# --------------------------------------------------------------------------- manifest.json


def read_manifest(folder: Path) -> dict:
    """manifest.json of ``folder`` with every key a reader relies on present and typed.

    Required: ``run_file``, ``run_name``, ``dataset`` (text), ``input_sha256``
    and ``outputs`` (file -> SHA-256; ``outputs`` names at least results.xlsx,
    summary.json and flows.csv, plain file names in the folder), ``data_hash``,
    ``policy`` (an object), ``solver`` (an object with ``termination``).
    Optional but typed: ``overrides`` (every ``set`` and ``--set`` applied,
    in order), ``settings`` (the settings a sweep point or ``--set``
    overrode: dotted key -> value), ``verify``, ``wall_seconds``,
    ``versions``, ``model_size``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; verify takes a folder written by 'critmin solve'")
    if not (folder / MANIFEST).is_file():
        raise UsageError(f"{folder / MANIFEST}: not found; a complete run writes manifest.json last, so this folder "
                         "holds no complete outputs")
    document, text = read_json(folder / MANIFEST, "")
    typed = _Typed(MANIFEST, document, text)
    for key in ("run_file", "run_name", "dataset"):
        typed.need(key, "nonempty-text")
    typed.need("input_sha256", "digests")
    typed.need("data_hash", "digest")
    typed.need("policy", "object")
    outputs = typed.need("outputs", "digests")
    solver = typed.need("solver", "object")
    settings = typed.need("settings", "object", required=False)
    typed.need("overrides", "texts", required=False)
    verify = typed.need("verify", "object", required=False)
    typed.need("wall_seconds", "numbers", required=False)
    for key in ("versions", "model_size"):
        typed.need(key, "object", required=False)
    if outputs is not None:
        for name in outputs:
            if name != Path(name).name or name in ("", ".", "..", MANIFEST) or "\\" in name:
                typed.problem(f"outputs.{name}", "must name a file of this folder other than manifest.json")
        for name in OUTPUTS_REQUIRED:
            if name not in outputs:
                typed.problem("outputs", f"must list {name} with its SHA-256: every output set has it")
    if solver is not None and not isinstance(solver.get("termination"), str):
        typed.problem("solver", "must state the solver's termination (text) under termination",
                      solver.get("termination", "missing"))
    if settings is not None:
        for key in settings:
            if not re.fullmatch(r"[a-z_]+\.[a-z_][a-z0-9_]*(\.[^.]+)?", key):  # policy.n_minus_1 has a digit
                typed.problem(f"settings.{key}", "must be a dotted run-file key such as policy.country_cap")
    if verify is not None and not isinstance(verify.get("passed"), bool):
        typed.problem("verify", "must state passed (true or false)", verify.get("passed", "missing"))
    if typed.problems:
        raise InputError(typed.problems)
    return document


def check_outputs(folder: Path, manifest: dict) -> None:
    """The outputs are those this run wrote: each listed file is there with its SHA-256 (no mixed or edited set)."""
    problems = []
    for name, recorded in sorted(manifest["outputs"].items()):
        path = Path(folder) / name
        if not path.is_file():
            problems.append(Problem(name, None, None, "output listed in manifest.json is missing"))
        elif sha256(path) != recorded:
            problems.append(Problem(name, None, None,
                                    "differs from the file this run wrote (SHA-256 in manifest.json): "
                                    "edited, or written by another run"))
    if problems:
        raise InputError(problems)


def check_inputs(manifest: dict, inputs: list[Path] | None = None) -> None:
    """The inputs are those the run read.  Without ``inputs``: each hashed file is there, unchanged (before
    the run is loaded, so that a changed file is reported as changed).  With ``inputs`` (every file the run
    reads): each of them is hashed, nothing else is, and ``data_hash`` is the hash over them all."""
    problems = []
    recorded = manifest["input_sha256"]
    for name, digest in sorted(recorded.items()) if inputs is None else ():
        path = Path(name)
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "input of this run is missing"))
        elif sha256(path) != digest:
            problems.append(Problem(str(path), None, None,
                                    "changed since this run was solved (SHA-256 differs from manifest.json); "
                                    "solve again"))
    if inputs is not None:
        listed = {str(Path(name).resolve()) for name in recorded}
        needed = {str(Path(path).resolve()) for path in inputs}
        for path in sorted(needed - listed):
            problems.append(Problem(MANIFEST, None, "input_sha256",
                                    "does not list an input this run reads, so its changes would go unseen", path))
        for path in sorted(listed - needed):
            problems.append(Problem(MANIFEST, None, "input_sha256", "lists a file this run does not read", path))
        combined = hashlib.sha256("".join(sorted(recorded.values())).encode()).hexdigest()
        if manifest["data_hash"] != combined:
            problems.append(Problem(MANIFEST, None, "data_hash", "is not the hash of the input_sha256 digests",
                                    manifest["data_hash"]))
    if problems:
        raise InputError(problems)


# --------------------------------------------------------------------------- the portfolio


@dataclass
class FlowRow:
    """One row of flows.csv (``line`` as a user sees it)."""

    line: int
    year: int
    mineral: str
    source_type: str
    source_id: str
    mine_country: str
    refine_country: str
    tonnes: float
    cost: float


@dataclass
class Portfolio:
    """A solved portfolio as its output folder states it: first-stage decisions and reported figures.

    Flows are summed per source from flows.csv (a blend has one row per mine
    country); everything else is summary.json's, typed.  ``summary`` keeps
    the whole document for the checks of its headline fields.
    """

    status: str
    objective: float | None
    mip_gap: float | None
    bound: float | None = None
    run: str = ""
    buy: dict = field(default_factory=dict)  # (o, t) -> t
    offtake: dict = field(default_factory=dict)  # (p, m, t) -> t
    recycled: dict = field(default_factory=dict)  # (m, t) -> t
    row_cost: dict = field(default_factory=dict)  # (source_type, source_id, m, t) -> reported cost
    stock: dict = field(default_factory=dict)  # (m, t) -> t
    shortfall: dict = field(default_factory=dict)  # (m, t) -> t
    stakes: set = field(default_factory=set)  # projects_chosen (committed ones on stream included)
    plants: set = field(default_factory=set)  # plants_built
    cost_by_lever: dict = field(default_factory=dict)
    cost_by_year: dict = field(default_factory=dict)  # t -> {lever: undiscounted cost}
    minerals: dict = field(default_factory=dict)  # summary.json per-mineral entries, by (m, t)
    project_start: dict = field(default_factory=dict)  # p -> year it comes on stream (summary.json)
    plant_start: dict = field(default_factory=dict)  # k -> year
    split: dict = field(default_factory=dict)  # (kind, source, m, t) -> {mine country: tonnes} (blends)
    relaxed: dict = field(default_factory=dict)  # infeasible runs: (limit, m, t, where) -> relaxed tonnes stated
    rows: list = field(default_factory=list)  # every flows.csv row (FlowRow)
    rows_of: dict = field(default_factory=dict)  # (m, t) -> number of flows.csv rows
    warnings: list = field(default_factory=list)
    marginal: dict | None = None  # summary.json marginal_values
    summary: dict = field(default_factory=dict)
    workbook: Workbook | None = None
    folder: Path | None = None

    def start(self, data: ModelData, kind: str, name: str) -> int | None:
        """Year a project ("stake_start") or plant ("plant_start") is on stream from; committed ones from
        max(first year, available_from); chosen ones from their stated start year (else the first year)."""
        asset = data.projects[name] if kind == "stake_start" else data.plants[name]
        first, last = data.years[0], data.years[-1]
        if asset.committed:
            begin = max(first, asset.available_from if kind == "stake_start" else data.plant_from(name))
            return begin if begin <= last else None
        chosen, starts = (self.stakes, self.project_start) if kind == "stake_start" else (self.plants, self.plant_start)
        return int(starts.get(name, first)) if name in chosen else None

    def built(self, data: ModelData, kind: str, name: str, year: int) -> bool:
        begin = self.start(data, kind, name)
        return begin is not None and begin <= year

    def solution(self, data: ModelData) -> Solution:
        """The first-stage values the result tables take (``results.tables.tidy``), as a solve leaves them."""
        values: dict[str, dict] = {"buy": dict(self.buy), "offtake": dict(self.offtake),
                                   "recycled": dict(self.recycled), "stock": dict(self.stock),
                                   "shortfall": dict(self.shortfall)}
        values["feed"] = {(m, t): (r / data.recycling[m].recovery_rate if data.recycling[m].recovery_rate > 0 else 0.0)
                          for (m, t), r in self.recycled.items()}
        # A switched route is used when it carries tonnes: its fixed cost is then part of the portfolio.
        values["use"] = {(o, t): float(self.buy.get((o, t), 0.0) > 0)
                         for o, route in data.routes.items() if route.needs_switch for t in data.years}
        values["stake_start"] = {(p, self.start(data, "stake_start", p)): 1.0 for p in sorted(self.stakes)
                           if p in data.projects and not data.projects[p].committed}
        values["plant_start"] = {(k, self.start(data, "plant_start", k)): 1.0 for k in sorted(self.plants)
                           if k in data.plants and not data.plants[k].committed}
        # The levers no flow carries (the expected recourse of a stochastic run, an elastic penalty) as the
        # run stated them per year; verify compares the recourse with the exact evaluator's.
        values["cost"] = {(lever, t): cost for t, levers in self.cost_by_year.items()
                          for lever, cost in levers.items() if lever in ("recourse", "shortfall")}
        return Solution(self.status, self.objective, self.bound, self.mip_gap, values=values,
                        termination=f"read from {self.folder}")


def start_year(data: ModelData, values: dict, kind: str, name: str) -> int | None:
    """The year a project (kind "stake_start") or plant ("plant_start") of a solution comes on stream; None when never.

    A committed asset starts at max(first planned year, available_from).
    """
    asset = data.projects[name] if kind == "stake_start" else data.plants[name]
    if asset.committed:
        begin = max(data.years[0], asset.available_from if kind == "stake_start" else data.plant_from(name))
        return begin if begin <= data.years[-1] else None
    started = [t for (n, t), value in values.get(kind, {}).items() if n == name and value > 0.5]
    return min(started) if started else None


def built_in(data: ModelData, values: dict, kind: str, name: str, year: int) -> bool:
    begin = start_year(data, values, kind, name)
    return begin is not None and begin <= year


def read_output(data: ModelData, folder: Path, workbook: bool = False) -> Portfolio:
    """The portfolio of a complete output folder written for ``data``'s run: manifest.json read and typed,
    the outputs checked against its SHA-256, then summary.json and flows.csv (and results.xlsx)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    check_outputs(folder, manifest)
    return read_portfolio(data, folder, workbook=workbook)


def read_portfolio(data: ModelData, folder: Path, workbook: bool = False) -> Portfolio:
    """flows.csv and summary.json of ``folder`` (and with ``workbook`` results.xlsx), checked for shape;
    every problem is located, all raised together."""
    folder = Path(folder)
    summary, text = read_json(folder / "summary.json", "verify takes a folder written by 'critmin solve'")
    typed = _Typed("summary.json", summary, text)
    problems = typed.problems
    run = typed.need("run", "text")
    status = typed.need("status", "text")
    typed.need("year", "year")
    objective = typed.need("objective", "number-or-null")
    gap = typed.need("mip_gap", "gap")
    bound = typed.need("objective_bound", "number-or-null")
    levers = typed.need("cost_by_lever", "numbers") or {}
    minerals = typed.need("minerals", "object") or {}
    typed.need("years", "years")
    by_year = typed.need("by_year", "object") or {}
    cost_by_year = typed.need("cost_by_year", "object") or {}
    chosen = typed.need("projects_chosen", "names") or []
    built = typed.need("plants_built", "names") or []
    project_start = typed.need("project_start_years", "years-by-name") or {}
    plant_start = typed.need("plant_start_years", "years-by-name") or {}
    marginal = typed.need("marginal_values", "object-or-null")
    warnings = typed.need("warnings", "texts") or []
    if status is not None and status not in STATUSES:
        typed.problem("status", "must be optimal, time_limit or infeasible", status)
    if run is not None and run != data.run.name:
        typed.problem("run", f"written by run '{run}', not by '{data.run.name}' (the run checked against)", run)
    if status in ("optimal", "time_limit") and "objective" in summary and objective is None:
        typed.problem("objective", "a solved run must state its objective")
    portfolio = Portfolio(status or "", objective, gap, bound, run or "", folder=folder, summary=summary,
                          marginal=marginal, warnings=list(warnings))
    for key, names, assets in (("projects_chosen", chosen, data.projects), ("plants_built", built, data.plants)):
        for name in names:
            if name not in assets:
                typed.problem(key, f"not a {'project' if assets is data.projects else 'recycling plant'} of this "
                                   "dataset", name)
        if len(set(names)) != len(names):
            typed.problem(key, "names an asset twice", ", ".join(sorted({n for n in names if names.count(n) > 1})))
    portfolio.stakes, portfolio.plants = set(chosen) & set(data.projects), set(built) & set(data.plants)
    for key, starts, target, names in (("project_start_years", project_start, portfolio.project_start, chosen),
                                       ("plant_start_years", plant_start, portfolio.plant_start, built)):
        for name, year in starts.items():
            if name not in names:
                typed.problem(f"{key}.{name}", f"is not in {'projects_chosen' if 'project' in key else 'plants_built'}")
            elif year not in data.years:
                typed.problem(f"{key}.{name}", "not a planned year of this run", year)
            else:
                target[name] = year
        for name in names:
            if name not in starts:
                typed.problem(key, f"states no start year for {name}")
    portfolio.cost_by_lever = {lever: float(cost) for lever, cost in levers.items()}
    for year, costs in cost_by_year.items():
        if not (str(year).isdigit() and int(year) in data.years) or not isinstance(costs, dict) \
                or not all(is_number(v) for v in costs.values()):
            typed.problem(f"cost_by_year.{year}", "must be a planned year's object of finite numbers")
            continue
        portfolio.cost_by_year[int(year)] = {lever: float(v) for lever, v in costs.items()}

    # Per-mineral entries: every planned year in ``by_year``; ``minerals`` is the last planned year's.
    for year in data.years:
        entries = by_year.get(str(year))
        if not isinstance(entries, dict):
            typed.problem(f"by_year.{year}", "required entry is missing (every planned year has one)")
            continue
        problems += _mineral_entries(data, entries, f"by_year.{year}", year, portfolio)
    for year in by_year:
        if not (str(year).isdigit() and int(year) in data.years):
            typed.problem(f"by_year.{year}", "not a planned year of this run")
    problems += _mineral_entries(data, minerals, "minerals", None, None)

    if status == "infeasible":
        problems += _read_relaxed(summary, portfolio)
    problems += _read_flows(data, folder / "flows.csv", portfolio)
    problems += _check_splits(data, portfolio)
    if workbook:
        book, book_problems = read_workbook(folder / "results.xlsx")
        portfolio.workbook = book
        problems += book_problems
    if problems:
        raise InputError(problems)
    return portfolio


def _mineral_entries(data: ModelData, entries: dict, column: str, year: int | None,
                     portfolio: Portfolio | None) -> list[Problem]:
    """One year's per-mineral entries, typed; kept in ``portfolio`` (when given) by (m, year)."""
    problems = []
    for m in data.minerals:
        entry = entries.get(m)
        where = f"{column}.{m}"
        if not isinstance(entry, dict):
            problems.append(Problem("summary.json", None, where, "required entry is missing"))
            continue
        for key in MINERAL_FIELDS:
            value = entry.get(key)
            if key not in entry:
                problems.append(Problem("summary.json", None, f"{where}.{key}", "required key is missing"))
            elif not is_number(value):
                problems.append(Problem("summary.json", None, f"{where}.{key}", "must be a finite number",
                                        _shown(value)))
        for key in ("largest_mine_country", "largest_refine_country", "unit"):
            if key not in entry:
                problems.append(Problem("summary.json", None, f"{where}.{key}", "required key is missing"))
            elif not (entry[key] is None or isinstance(entry[key], str)):
                problems.append(Problem("summary.json", None, f"{where}.{key}", "must be text or null",
                                        _shown(entry[key])))
        largest = entry.get("largest_share")
        if not isinstance(largest, dict):
            problems.append(Problem("summary.json", None, f"{where}.largest_share",
                                    "required object is missing (mine and refine: country and share)"))
        else:
            for stage in ("mine", "refine"):
                part = largest.get(stage)
                if not (isinstance(part, dict) and is_number(part.get("share"))
                        and (part.get("country") is None or isinstance(part.get("country"), str))):
                    problems.append(Problem("summary.json", None, f"{where}.largest_share.{stage}",
                                            "must be an object with share (a number) and country (text or null)",
                                            _shown(part)))
        if portfolio is not None:
            portfolio.minerals[m, year] = entry
            portfolio.stock[m, year] = _as_float(entry.get("stockpile_t"))
            portfolio.shortfall[m, year] = _as_float(entry.get("shortfall_t"))
    for m in entries:
        if m not in data.minerals:
            problems.append(Problem("summary.json", None, f"{column}.{m}", "not a mineral of this dataset"))
    return problems


def _read_relaxed(summary: dict, portfolio: Portfolio) -> list[Problem]:
    """The limits an infeasible run's elastic re-solve states it relaxed (summary.json diagnosis.relaxed)."""
    rows = (summary.get("diagnosis") or {}).get("relaxed") if isinstance(summary.get("diagnosis"), dict) else None
    if not isinstance(rows, list):
        return [Problem("summary.json", None, "diagnosis.relaxed", "an infeasible run must list its relaxed limits")]
    problems = []
    for i, row in enumerate(rows):
        ok = (isinstance(row, dict) and isinstance(row.get("limit"), str) and isinstance(row.get("mineral"), str)
              and isinstance(row.get("year"), int) and isinstance(row.get("where", ""), str)
              and is_number(row.get("relaxed_t")))
        if not ok:
            problems.append(Problem("summary.json", None, f"diagnosis.relaxed[{i}]", "malformed entry"))
            continue
        key = (row["limit"], row["mineral"], row["year"], row.get("where", ""))
        portfolio.relaxed[key] = portfolio.relaxed.get(key, 0.0) + float(row["relaxed_t"])
    return problems


def _check_splits(data: ModelData, portfolio: Portfolio) -> list[Problem]:
    """A blend's rows split its tonnes by the blend's shares (docs/model.md "Mine blends"), to the precision of
    flows.csv (its 9 decimals) and 1e-6 of the source's tonnes."""
    problems = []
    for (kind, source, m, t), parts in sorted(portfolio.split.items()):
        if kind == "recycling":
            continue
        flow = source if kind == "market" else (source, m)
        total = sum(parts.values())
        for country, share in data.stage_shares(flow, "mine").items():
            stated = parts.get(country, 0.0)
            if abs(stated - share * total) > 1e-6 * total + ROUNDING * (len(parts) + 1):
                problems.append(Problem("flows.csv", None, "tonnes",
                                        f"{kind} {source} {m} {t}: {stated:.9g} t mined in {country}, but the blend "
                                        f"gives it {share:g} of {total:.9g} t"))
    return problems


def _read_flows(data: ModelData, path: Path, portfolio: Portfolio) -> list[Problem]:
    if not path.is_file():
        raise UsageError(f"{path}: not found; verify takes a folder written by 'critmin solve'")
    problems: list[Problem] = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in FLOW_COLUMNS if c not in header]
            if missing:
                return [Problem(path.name, 1, c, "required column is missing") for c in missing]
            for row in reader:
                line = reader.line_num
                if None in row:
                    problems.append(Problem(path.name, line, None, "more cells than header columns"))
                    continue
                cells = {k: _unquote((v or "").strip()) for k, v in row.items()}
                problems += _flow_row(data, path.name, line, cells, portfolio)
    except UnicodeDecodeError:
        return [Problem(path.name, None, None, "not UTF-8 text")]
    except csv.Error as error:
        return [Problem(path.name, None, None, "not a readable CSV file", str(error))]
    return problems


def _flow_row(data: ModelData, name: str, line: int, cells: dict, portfolio: Portfolio) -> list[Problem]:
    problems = []
    numbers = {}
    for column in ("year", "tonnes", "cost"):
        value = _number(cells[column])
        if value is None or (column == "tonnes" and value < 0) or (column == "year" and not value.is_integer()):
            problems.append(Problem(name, line, column, "must be a finite number" + (", not negative"
                                                                                    if column == "tonnes" else "")
                                    + (", a whole year" if column == "year" else ""), cells[column] or None))
        numbers[column] = value
    if problems:
        return problems
    year, tonnes, cost = int(numbers["year"]), numbers["tonnes"], numbers["cost"]
    if year not in data.years:
        return [Problem(name, line, "year", "not a planned year of this run", cells["year"])]
    kind, source, m = cells["source_type"], cells["source_id"], cells["mineral"]
    if m not in data.minerals:
        return [Problem(name, line, "mineral", "not a mineral of this dataset", m)]
    if kind == "market":
        route = data.routes.get(source)
        if route is None or route.mineral != m:
            return [Problem(name, line, "source_id", f"not a {m} route of this dataset", source)]
        key, store, flow = (source, year), portfolio.buy, source
        mines, refine = data.stage_shares(source, "mine"), route.refine_country
    elif kind == "equity":
        if (source, m) not in data.offtakes:
            return [Problem(name, line, "source_id", f"not a project with {m} offtake in this dataset", source)]
        key, store, flow = (source, m, year), portfolio.offtake, (source, m)
        mines, refine = data.stage_shares(flow, "mine"), data.projects[source].refine_country
    elif kind == "recycling":
        if m not in data.recycling:
            return [Problem(name, line, "mineral", "has no recycling feedstock in this dataset", m)]
        if source != f"recycling-{m}":
            return [Problem(name, line, "source_id", f"must be recycling-{m}", source)]
        key, store, flow = (m, year), portfolio.recycled, None
        mines, refine = {data.home: 1.0}, data.home
    else:
        return [Problem(name, line, "source_type", "must be market, equity or recycling", kind)]
    if cells["mine_country"] not in mines:
        problems.append(Problem(name, line, "mine_country", f"does not match the dataset ({', '.join(mines)})",
                                cells["mine_country"]))
    if cells["refine_country"] != refine:
        problems.append(Problem(name, line, "refine_country", f"does not match the dataset ({refine})",
                                cells["refine_country"]))
    parts = portfolio.split.setdefault((kind, source, m, year), {})
    if cells["mine_country"] in parts:
        problems.append(Problem(name, line, "source_id", "the same flow appears twice", source))
    parts[cells["mine_country"]] = tonnes
    store[key] = store.get(key, 0.0) + tonnes
    portfolio.row_cost[kind, source, m, year] = portfolio.row_cost.get((kind, source, m, year), 0.0) + cost
    portfolio.rows_of[m, year] = portfolio.rows_of.get((m, year), 0) + 1
    portfolio.rows.append(FlowRow(line, year, m, kind, source, cells["mine_country"], cells["refine_country"],
                                  tonnes, cost))
    return problems


# --------------------------------------------------------------------------- results.xlsx


@dataclass(frozen=True)
class Cell:
    """A value of results.xlsx and where it sits (``Sheet!B5``)."""

    ref: str
    value: object


@dataclass
class Workbook:
    """What an analyst reads in results.xlsx: the Summary sheet's items, and the Supply and Flows tables (and
    in stochastic mode the Risk table)."""

    items: dict = field(default_factory=dict)  # Summary label -> Cell (value column), first section
    warnings: list = field(default_factory=list)  # Summary WARNING rows (Cells)
    levers: dict = field(default_factory=dict)  # "Annual cost by lever": lever -> Cell ("total" too)
    policy: dict = field(default_factory=dict)  # "Policy settings": key -> Cell
    glance: list = field(default_factory=list)  # "Minerals at a glance" rows: column -> Cell
    glance_year: int | None = None
    supply: list = field(default_factory=list)  # Supply rows: column -> Cell
    flows: list = field(default_factory=list)  # Flows rows: column -> Cell
    risk: list | None = None  # Risk rows (stochastic mode): column -> Cell; None when there is no Risk sheet


SUPPLY_COLUMNS = ("year", "mineral", "target_t", "market_t", "equity_t", "recycled_t", "supplied_t", "shortfall_t",
                  "stockpile_t", "stock_days", "largest_mine_share", "largest_mine_country", "largest_refine_share",
                  "largest_refine_country")
RISK_COLUMNS = ("rank", "scenario", "probability", "extra_cost", "unmet_t", "tail_share")
SECTIONS = {LEVERS_SECTION: "levers", PATHWAY_LEVERS_SECTION: "levers", "Policy settings": "policy",
            "Sheets in this workbook": "contents"}


def read_workbook(path: Path) -> tuple[Workbook | None, list[Problem]]:
    """The Summary, Supply and Flows sheets of results.xlsx, and Risk when there is one (read-only, cached
    values); problems located."""
    name = Path(path).name
    if not Path(path).is_file():
        return None, [Problem(name, None, None, "not found: every output set has results.xlsx")]
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_WORKBOOK_UNPACKED:
                return None, [Problem(name, None, None, "unpacks to more than 1 GiB: not a workbook critmin wrote")]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return None, [Problem(name, None, None, "not a readable workbook", str(error) or type(error).__name__)]
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = Workbook()
    problems: list[Problem] = []
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = {}
            for title in ("Summary", "Supply", "Flows"):
                if title not in workbook.sheetnames:
                    problems.append(Problem(name, None, None, f"required sheet {title} is missing"))
                    continue
                sheets[title] = [tuple(row) for row in workbook[title].iter_rows(values_only=True)]
            if "Risk" in workbook.sheetnames:  # stochastic mode only
                sheets["Risk"] = [tuple(row) for row in workbook["Risk"].iter_rows(values_only=True)]
                book.risk = []
        finally:
            workbook.close()
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file: report it, located
        return None, [Problem(name, None, None, "not a readable workbook",
                              f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)]

    def ref(sheet: str, row: int, column: int) -> str:
        return f"{sheet}!{get_column_letter(column)}{row}"

    if "Summary" in sheets:
        _summary_sheet(sheets["Summary"], book, ref)
    tables = [("Supply", SUPPLY_COLUMNS, book.supply), ("Flows", FLOW_COLUMNS, book.flows)]
    if book.risk is not None:
        tables.append(("Risk", RISK_COLUMNS, book.risk))
    for title, columns, target in tables:
        if title not in sheets:
            continue
        rows = sheets[title]
        header = [str(c) if c is not None else "" for c in (rows[1] if len(rows) > 1 else ())]
        missing = [c for c in columns if c not in header]
        if missing:
            problems += [Problem(name, 2, f"{title}!{c}", "required column is missing") for c in missing]
            continue
        for i, row in enumerate(rows[2:], start=3):
            if all(v is None for v in row) or (row and row[0] == "(no rows)"):
                continue
            target.append({c: Cell(ref(title, i, j + 1), row[j] if j < len(row) else None)
                           for j, c in enumerate(header) if c})
    return book, problems


def _summary_sheet(rows: list[tuple], book: Workbook, ref) -> None:
    """The Summary sheet's sections (writers.outputs.summary_rows): items, levers, policy, the glance block."""
    section, header = "items", None
    for i, row in enumerate(rows, start=1):
        label = row[0] if row else None
        value = Cell(ref("Summary", i, 2), row[1] if len(row) > 1 else None)
        if label is None or label == "":
            if section == "glance":
                section = "after"  # the glance block ends at the first blank row
            continue
        if i == 1 and isinstance(label, str) and label.startswith("critmin results"):
            continue
        if label in SECTIONS:
            section = SECTIONS[label]
            continue
        if isinstance(label, str) and label.startswith("Minerals at a glance"):
            section, header = "glance-header", None
            match = re.search(r"\((\d{4})", label)
            book.glance_year = int(match.group(1)) if match else None
            continue
        if section == "items":
            if label == "WARNING":
                book.warnings.append(value)
            else:
                book.items.setdefault(str(label), value)
        elif section == "levers":
            book.levers.setdefault(str(label), value)
        elif section == "policy":
            book.policy.setdefault(str(label), value)
        elif section == "glance-header":
            header, section = [str(c) if c is not None else "" for c in row], "glance"
        elif section == "glance":
            book.glance.append({c: Cell(ref("Summary", i, j + 1), row[j] if j < len(row) else None)
                                for j, c in enumerate(header) if c})
