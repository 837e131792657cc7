"""Run files: which dataset, which year, which policy and solver settings.

The keys are declared once, in ``keys.py`` (the sections' keys as the
fields of their dataclasses); this module reads a run file by them.
Unknown keys and values of the wrong type are reported as
``file:line:key: what is wrong (value)``.  Numbers keep to the magnitudes the
solver resolves (``schema.limit``: days, money, shares; README "Input
limits"), text holds no control characters, and ``name`` names one folder
inside ``runs/out/``.  A top-level ``set = [...]`` applies settings and data
overrides after the sections, as ``--set`` does (``settings.py``), each
problem located at its line.  A run file with problems does not hide the
dataset's: ``load_run`` reads the dataset too when ``data`` names it, and
reports both.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path

from ..errors import UNPRINTABLE_CATEGORIES, InputError, Problem, UsageError

# The declarations, importable from here too (``runfile.STAGES``, ``runfile.Policy`` ...).
from .keys import (  # noqa: F401
    DEMAND_KEYS,
    MAX_COUNT,
    POLICY_KEYS,
    RUN_KEYS,
    SECTION_OPTIONS,
    SECTIONS,
    SOLVER_KEYS,
    STAGES,
    STOCKPILE_MODES,
    SWEEP_KEYS,
    DemandOptions,
    Key,
    Policy,
    Run,
    SolverOptions,
    SweepOptions,
    _parse_value,
    _unknown,
    coerce,
    key_table,
    keys_of,
    option,
    section_options,
)

# The --set grammar, importable from here too.
from .settings import (  # noqa: F401
    MAX_POINTS,
    SETTABLE,
    Setting,
    _setting_values,
    parse_overrides,
    parse_setting,
    with_overrides,
    with_settings,
)


def load_run(path: Path) -> Run:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: run file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is not an error
    except UnicodeDecodeError as error:
        raise InputError([Problem(path.name, raw[:error.start].count(b"\n") + 1, None,
                                  "not UTF-8 text", repr(raw[error.start:error.end]))]) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise InputError([Problem(path.name, int(match.group(1)) if match else None, None,
                                  "not valid TOML", str(error))]) from None
    try:
        return parse_run(document, path, text)
    except InputError as error:  # report the dataset's problems with the run file's, when it can be read
        raise InputError(error.problems + _dataset_problems(document, path)) from None


def _dataset_problems(document: dict, path: Path) -> list[Problem]:
    """The problems of the dataset a (faulty) run file names; none when ``data`` names nothing usable."""
    from .validate import load_dataset

    data, wrong = _parse_value("text", document.get("data"))
    if wrong or _control_character(data):
        return []
    try:
        load_dataset((path.parent / data).resolve())
    except InputError as error:
        return error.problems
    except (OSError, ValueError):  # a path the system refuses: the run file's problem says enough
        return []
    return []


def parse_run(document: dict, path: Path, text: str = "") -> Run:
    problems: list[Problem] = []

    def problem(section: str | None, key: str | None, message: str, value=None):
        dotted = f"{section}.{key}" if section and key else (key or section)
        problems.append(Problem(path.name, _line_of(text, section, key), dotted, message, value))

    values: dict[str, object] = {}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                problem(None, key, "must be a table", value)
            continue
        if key not in RUN_KEYS:
            problem(None, key, _unknown(key, RUN_KEYS))
            continue
        parsed, wrong = _parse_value(RUN_KEYS[key].kind, value)
        if not wrong and isinstance(parsed, str):
            wrong = _text_problem(key, parsed)
        if wrong:
            problem(None, key, wrong, value)
        values[key] = parsed
    for key in ("name", "data"):
        if key not in document:
            problem(None, key, "required key is missing")
    if ("year" in document) == ("years" in document):
        problem(None, "years" if "years" in document else "year",
                "give either year = 2030 or years = [2026, ..., 2035], not both" if "year" in document
                else "required key is missing (year, or years for a pathway)")

    sections: dict[str, dict] = {}
    for section, keys in SECTIONS.items():
        sections[section] = {}
        table = document.get(section, {})
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if key not in keys:
                problem(section, key, _unknown(key, keys))
                continue
            parsed, wrong = _parse_value(keys[key].kind, value, keys[key].limit)
            if wrong:
                problem(section, key, wrong, value)
            sections[section][key] = parsed
    overrides = []
    if values.get("set"):
        lines = _lines_of_entries(text, values["set"])
        try:
            overrides = parse_overrides(values["set"], path.name, lines)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(problems)
    name = str(values["name"])
    run = Run(
        path=path,
        name=name,
        data=(path.parent / str(values["data"])).resolve(),
        years=tuple(values["years"]) if "years" in values else (int(values["year"]),),
        policy=section_options("policy", sections["policy"]),
        solver=section_options("solver", sections["solver"]),
        description=str(values.get("description", "")),
        targets=str(values.get("targets", "table")),
        sweep=section_options("sweep", sections["sweep"]),
        demand=section_options("demand", sections["demand"]),
    )
    if overrides:
        run = with_overrides(run, overrides)
    return run


def _lines_of_entries(text: str, entries) -> list[int | None]:
    """The line of each entry of the top-level ``set`` array: the first line from ``set =`` on that holds it."""
    first = _line_of(text, None, "set")
    lines = text.splitlines()
    found = []
    for entry in entries:
        at = first
        if first is not None:
            at = next((n for n in range(first, len(lines) + 1) if entry in lines[n - 1]), first)
        found.append(at)
    return found


# Device names Windows reserves in every folder: a run named so could not write its outputs there.
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)}


def _text_problem(key: str, text: str) -> str | None:
    """What is wrong with a text value (``name`` is a folder name), or None."""
    character = _control_character(text, "\t\n\r" if key == "description" else "")
    if character is not None:
        return f"contains the control character {character!r} (U+{ord(character):04X})"
    if key == "name" and (not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", text)
                          or text.split(".")[0].lower() in _RESERVED_NAMES):
        return ("use letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 100 "
                "characters and no device name such as CON or NUL (it names the output folder runs/out/<name>/)")
    return None


def _control_character(text: str, allowed: str = "") -> str | None:
    if text.isprintable():
        return None
    return next((c for c in text if c not in allowed and unicodedata.category(c) in UNPRINTABLE_CATEGORIES), None)


def _line_of(text: str, section: str | None, key: str | None) -> int | None:
    """The line where ``key`` is set in ``[section]`` (or at top level)."""
    if not text or not key:
        return None
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([A-Za-z0-9_.-]+)\s*\]", stripped)
        if header:
            current = header.group(1)
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def check_run_against_data(run: Run, dataset) -> None:
    """Cross-checks that need both the run and the data: years and mineral keys."""
    problems = []
    minerals = set(dataset["minerals"]["mineral"])
    targets = dataset["targets"]
    text = run.path.read_text(encoding="utf-8-sig", errors="replace") if run.path.is_file() else ""
    for year in run.years if run.targets == "table" else ():
        have = set(targets.loc[targets["year"] == year, "mineral"])
        if not have:
            problems.append(Problem(dataset.where["targets"], None, "year",
                                    f"no targets for the run's year {year}", "years present: "
                                    + ", ".join(str(y) for y in sorted(set(targets["year"])))))
            continue
        for mineral in sorted(minerals - have):
            problems.append(Problem(dataset.where["targets"], None, "year",
                                    f"mineral {mineral} has no target for {year}"))
    for key in ("min_recycling_share", "country_cap_by_mineral"):
        for mineral in getattr(run.policy, key):
            if mineral not in minerals:
                problems.append(Problem(*_origin(run, text, "policy", key, mineral), "unknown mineral", mineral))
    problems += _check_choices(run, dataset, text)
    if run.policy.risk_measure == "cvar" and run.policy.stockpile_mode != "stochastic":
        problems.append(Problem(*_origin(run, text, "policy", "risk_measure"), 'needs stockpile_mode = '
                                '"stochastic" (the rule mode has no second stage to measure)', "cvar"))
    if problems:
        raise InputError(problems)


def _origin(run: Run, text: str, section: str, key: str, entry=None) -> tuple[str, int | None, str]:
    """Where a setting (or one ``entry`` of it) was given: the last override that sets it, else the run file's
    line: (where, line, dotted key) for a Problem."""
    for override in reversed(run.overrides):
        whole = override.key == f"{section}.{key}" and (
            entry is None or not isinstance(override.value, (dict, list, tuple)) or entry in override.value)
        if whole or (entry is not None and override.key == f"{section}.{key}.{entry}"):
            return override.where, override.line, override.key
    return run.path.name, _line_of(text, section, key), f"{section}.{key}"


def _check_choices(run: Run, dataset, text: str) -> list[Problem]:
    """force_projects / exclude_projects name projects or plants of the dataset, not both lists at once;
    a committed one cannot be excluded, and a forced one must be available by the last planned year."""
    problems = []
    projects, plants = dataset["projects"], dataset["recycling_plants"]
    committed = {**dict(zip(projects["project"], projects["committed"])),
                 **dict(zip(plants["plant"], plants["committed"]))}
    available = {**dict(zip(projects["project"], projects["available_from"])),
                 **{k: (a if a == a and a is not None else min(run.years))
                    for k, a in zip(plants["plant"], plants["available_from"])}}
    both = set(run.policy.force_projects) & set(run.policy.exclude_projects)
    for key in ("force_projects", "exclude_projects"):
        for name in getattr(run.policy, key):
            where = _origin(run, text, "policy", key, name)
            if name not in committed:
                problems.append(Problem(*where, "not a project or recycling plant of the dataset", name))
            elif key == "exclude_projects" and committed[name]:
                problems.append(Problem(*where, "is committed (signed) and cannot be excluded; set committed = "
                                        "false in the data to test that", name))
            elif key == "force_projects" and int(available[name]) > max(run.years):
                problems.append(Problem(*where, f"is available only from {int(available[name])}, after the last "
                                        f"planned year {max(run.years)}", name))
            elif name in both and key == "exclude_projects":
                problems.append(Problem(*where, "is also in force_projects", name))
    budget = run.policy.investment_budget
    capex = {**dict(zip(projects["project"], projects["capex"])), **dict(zip(plants["plant"], plants["capex"]))}
    forced = [n for n in run.policy.force_projects if n in committed and not committed[n]]
    if budget is not None and sum(capex[n] for n in forced) > budget:
        # the budget has no elastic slack: refuse here rather than end without a diagnosis
        problems.append(Problem(*_origin(run, text, "policy", "force_projects"),
                                f"the forced capex ({sum(capex[n] for n in forced):,.0f}) exceeds "
                                f"policy.investment_budget ({budget:,.0f})", ", ".join(forced)))
    return problems
