"""Run files: which dataset, which year, which policy and solver settings.

The keys are declared once in ``RUN_KEYS``, ``POLICY_KEYS`` and
``SOLVER_KEYS``; unknown keys and values of the wrong type are reported as
``file:line:key: what is wrong (value)``.  Numbers keep to the magnitudes the
solver resolves (``schema.limit``: days, money, shares; README "Input
limits"), text holds no control characters, and ``name`` names one folder
inside ``runs/out/``.  A run file with problems does not hide the dataset's:
``load_run`` reads the dataset too when ``data`` names it, and reports both.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UNPRINTABLE_CATEGORIES, InputError, Problem, UsageError
from .schema import DAYS, MONEY, SHARE, Limit

STAGES = ("mine", "refine")
MAX_COUNT = 1024  # threads or worker processes: more than any machine this runs on
STOCKPILE_MODES = ("rule", "stochastic")


@dataclass(frozen=True)
class Key:
    kind: str  # "text", "year", "fraction", "number", "count", "stages", "fractions", "ally", "address", "mode", "targets", "years"
    default: object
    meaning: str
    limit: Limit | None = None  # the magnitudes the solver resolves (schema.limit), for numbers


RUN_KEYS = {
    "name": Key("text", None, "run name; outputs go to runs/out/<name>/"),
    "data": Key("text", None, "dataset: a folder of CSV files or an .xlsx, relative to the run file"),
    "year": Key("year", None, "the planned year (or give years)"),
    "years": Key("years", None, "consecutive planned years, e.g. [2026, 2027, 2028]: a pathway planned at once"),
    "description": Key("text", "", "free text"),
    "targets": Key("targets", "table", '"table": requirements from the targets table; "derived": computed from '
                                       "demand_drivers, chemistry_mix, battery_chemistries and magnet_content"),
}
POLICY_KEYS = {
    "country_cap": Key("fraction", 0.65, "largest share of a mineral's requirement from one foreign country, per stage",
                       SHARE),
    "cap_stages": Key("stages", list(STAGES), "stages the country cap applies to"),
    "stockpile_days": Key("number", 60.0, "days of the largest single-country exposure the stock must cover",
                          DAYS),
    "stockpile_min_days": Key("number", 0.0, "floor on stock in days of the requirement", DAYS),
    "investment_budget": Key("number", None, "cap on equity and plant capex chosen (currency); omit for none", MONEY),
    "discount_rate": Key("fraction", 0.08, "rate for annualizing capex", SHARE),
    "conflict_max_share": Key("fraction", 1.0, "largest share of the requirement mined in conflict-affected countries",
                              SHARE),
    "ally_min_share": Key("ally", {"mine": 0.0, "refine": 0.0}, "least share mined / refined at home or in allies",
                          SHARE),
    "min_recycling_share": Key("fractions", {}, "least share of the requirement from recycling, per mineral", SHARE),
    "country_cap_by_mineral": Key("fractions", {}, "country cap overriding country_cap for some minerals", SHARE),
    "stockpile_mode": Key("mode", "rule", '"rule": stock = stockpile_days of the largest exposure; "stochastic": '
                                          "stock and portfolio hedge the disruption scenarios"),
    "force_projects": Key("ids", [], "projects or recycling plants (ids) the portfolio must include"),
    "exclude_projects": Key("ids", [], "projects or recycling plants (ids) the portfolio must leave out"),
    "any_stage_cap": Key("fraction", None, "largest share of a mineral's requirement mined or refined in one "
                                           "foreign country (each flow counted once); omit for none", SHARE),
}
SOLVER_KEYS = {
    "time_limit": Key("number", 60.0, "seconds"),
    "mip_rel_gap": Key("fraction", 1e-4, "relative optimality gap at which the MIP stops"),
    "threads": Key("count", 1, "HiGHS threads"),
}
SWEEP_KEYS = {
    "scheduler": Key("address", None, "Dask scheduler (tcp://HOST:PORT) that runs `critmin sweep`; omit for local processes"),
    "workers": Key("count", None, "local worker processes for `critmin sweep` (default: one per core)"),
}
DEMAND_KEYS = {
    "chemistry_share": Key("fractions", {}, 'with targets = "derived": override chemistry shares, e.g. '
                                            "{ LFP = 0.4 }; the other chemistries scale to fill the rest"),
}
SECTIONS = {"policy": POLICY_KEYS, "solver": SOLVER_KEYS, "sweep": SWEEP_KEYS, "demand": DEMAND_KEYS}


@dataclass(frozen=True)
class Policy:
    country_cap: float = 0.65
    cap_stages: tuple[str, ...] = STAGES
    stockpile_days: float = 60.0
    stockpile_min_days: float = 0.0
    investment_budget: float | None = None
    discount_rate: float = 0.08
    conflict_max_share: float = 1.0
    ally_min_share: dict = field(default_factory=lambda: {"mine": 0.0, "refine": 0.0})
    min_recycling_share: dict = field(default_factory=dict)
    country_cap_by_mineral: dict = field(default_factory=dict)
    stockpile_mode: str = "rule"
    any_stage_cap: float | None = None
    force_projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()

    def cap(self, mineral: str) -> float:
        return self.country_cap_by_mineral.get(mineral, self.country_cap)


@dataclass(frozen=True)
class SolverOptions:
    time_limit: float = 60.0
    mip_rel_gap: float = 1e-4
    threads: int = 1


@dataclass(frozen=True)
class Run:
    path: Path
    name: str
    data: Path
    years: tuple[int, ...]
    policy: Policy
    solver: SolverOptions
    description: str = ""
    targets: str = "table"  # or "derived"
    sweep: dict = field(default_factory=dict)  # the [sweep] section: scheduler, workers
    demand: dict = field(default_factory=dict)  # the [demand] section: chemistry_share

    @property
    def year(self) -> int:
        return self.years[-1]


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
    if problems:
        raise InputError(problems)
    name = str(values["name"])
    policy = Policy(**{k: tuple(v) if k == "cap_stages" else v for k, v in sections["policy"].items()})
    return Run(
        path=path,
        name=name,
        data=(path.parent / str(values["data"])).resolve(),
        years=tuple(values["years"]) if "years" in values else (int(values["year"]),),
        policy=policy,
        solver=SolverOptions(**sections["solver"]),
        description=str(values.get("description", "")),
        targets=str(values.get("targets", "table")),
        sweep=dict(sections["sweep"]),
        demand=dict(sections["demand"]),
    )


def _unknown(key: str, keys: dict) -> str:
    import difflib

    guess = difflib.get_close_matches(key, list(keys), n=1)
    return "unknown key" + (f"; did you mean '{guess[0]}'?" if guess else f"; expected one of {', '.join(keys)}")


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


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_value(kind: str, value, limit: Limit | None = None) -> tuple[object, str | None]:
    parsed, wrong = _parse_kind(kind, value)
    if wrong or limit is None:
        return parsed, wrong
    numbers = parsed.values() if isinstance(parsed, dict) else [parsed] if _is_number(parsed) else []
    if not all(limit.allows(number) for number in numbers):
        return None, ("every value " if isinstance(parsed, dict) else "") + limit.refusal()
    return parsed, None


def _parse_kind(kind: str, value) -> tuple[object, str | None]:
    if kind == "ids":
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        return (tuple(sorted(set(value))), None) if ok else (None, 'must be a list of ids, e.g. ["caremag"]')
    if kind == "targets":
        return (value, None) if value in ("table", "derived") else (None, 'must be "table" or "derived"')
    if kind == "mode":
        return (value, None) if value in STOCKPILE_MODES else (None, 'must be "rule" or "stochastic"')
    if kind == "text":
        return (value, None) if isinstance(value, str) and value.strip() else (None, "must be a non-empty string")
    if kind == "year":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 2200
        return (value, None) if ok else (None, "must be a year (an integer)")
    if kind == "years":
        ok = (isinstance(value, list) and value
              and all(isinstance(v, int) and not isinstance(v, bool) and 1900 <= v <= 2200 for v in value)
              and all(b == a + 1 for a, b in zip(value, value[1:])))
        return (list(value), None) if ok else (None, "must be a list of consecutive years, e.g. [2026, 2027, 2028]")
    if kind == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_COUNT
        return (value, None) if ok else (None, f"must be a whole number >= 1 (at most {MAX_COUNT})")
    if kind == "number":
        return (float(value), None) if _is_number(value) and value >= 0 else (None, "must be a number >= 0")
    if kind == "fraction":
        ok = _is_number(value) and 0 <= value <= 1
        return (float(value), None) if ok else (None, "must be a number in [0, 1]")
    if kind == "stages":
        ok = isinstance(value, list) and all(v in STAGES for v in value) and len(set(value)) == len(value)
        return (sorted(value, key=STAGES.index), None) if ok else (None, 'must be a list drawn from ["mine", "refine"]')
    if kind in ("fractions", "ally"):
        if not isinstance(value, dict):
            return None, "must be a table such as { lithium = 0.05 }"
        if kind == "ally" and set(value) - set(STAGES):
            return None, "keys must be mine and/or refine"
        if not all(_is_number(v) and 0 <= v <= 1 for v in value.values()):
            return None, "every value must be a number in [0, 1]"
        parsed = {str(k): float(v) for k, v in value.items()}
        if kind == "ally":
            parsed = {"mine": 0.0, "refine": 0.0} | parsed
        return parsed, None
    if kind == "address":
        ok = isinstance(value, str) and re.fullmatch(r"(tcp|tls|ucx|ws|wss|inproc)://[^\s/]+", value.strip())
        return (value.strip(), None) if ok else (None, "must be a scheduler address such as tcp://HOST:8786")
    raise AssertionError(kind)


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
                                    f"no targets for the run's year {year}", f"years present: "
                                    + ", ".join(str(y) for y in sorted(set(targets["year"])))))
            continue
        for mineral in sorted(minerals - have):
            problems.append(Problem(dataset.where["targets"], None, "year",
                                    f"mineral {mineral} has no target for {year}"))
    for key in ("min_recycling_share", "country_cap_by_mineral"):
        for mineral in getattr(run.policy, key):
            if mineral not in minerals:
                problems.append(Problem(run.path.name, _line_of(text, "policy", key), f"policy.{key}",
                                        "unknown mineral", mineral))
    problems += _check_choices(run, dataset, text)
    if problems:
        raise InputError(problems)


# --- Overrides: ``--set section.key=VALUES`` (critmin sweep) ---------------------------
#
# A setting names a declared key (``policy.country_cap``), or one entry of a
# per-mineral or per-stage table (``policy.country_cap_by_mineral.dytb``,
# ``policy.ally_min_share.refine``).  VALUES is ``start:stop:step`` (both ends
# included when the step lands on them), a comma list ``0,30,60,90`` or TOML
# values (``["mine"],["mine","refine"]``).  Every value goes through the same
# ``_parse_value`` as the run file; a problem is reported against ``--set``.

SETTABLE = {"policy": POLICY_KEYS, "demand": DEMAND_KEYS,
            # one thread per point: HiGHS fixes its thread pool per process
            "solver": {key: spec for key, spec in SOLVER_KEYS.items() if key != "threads"}}
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "policy.country_cap" or "policy.country_cap_by_mineral.dytb"
    values: tuple


def parse_setting(text: str, where: str = "--set") -> Setting:
    """``policy.country_cap=1.0:0.4:0.05`` -> Setting("policy.country_cap", (1.0, 0.95, ..., 0.4))."""
    def fail(column, message, value=None):
        raise InputError([Problem(where, None, column, message, value)])

    dotted, equals, spec = text.partition("=")
    dotted, spec = dotted.strip(), spec.strip()
    if not equals or not dotted or not spec:
        fail(None, "expected SECTION.KEY=VALUES, e.g. policy.country_cap=1.0:0.4:0.05", text)
    parts = dotted.split(".")
    keys = SETTABLE.get(parts[0])
    if len(parts) == 1:
        owners = [s for s, declared in SETTABLE.items() if parts[0] in declared]
        fail(dotted, "name the section" + (f"; did you mean '{owners[0]}.{parts[0]}'?" if owners
                                           else f"; expected one of {', '.join(SETTABLE)}"))
    if keys is None:
        why = ("solver.threads cannot be swept: each point runs on one thread" if dotted == "solver.threads"
               else _unknown(parts[0], SETTABLE) if parts[0] not in SECTIONS
               else f"the [{parts[0]}] section cannot be swept; sweep policy.*, solver.* or demand.* keys")
        fail(dotted, why)
    if parts[1] not in keys or len(parts) > 3:
        if dotted == "solver.threads":
            fail(dotted, "solver.threads cannot be swept: each point runs on one thread")
        fail(dotted, _unknown(parts[1], keys) if parts[1] not in keys else "too many parts in the key")
    kind = keys[parts[1]].kind
    if len(parts) == 3 and kind not in ("fractions", "ally"):
        fail(dotted, f"{parts[0]}.{parts[1]} is not a table; only per-mineral or per-stage tables take a third part")
    values = _setting_values(spec, fail, dotted)
    parsed = []
    for value in values:
        candidate = {parts[2]: value} if len(parts) == 3 else value
        result, wrong = _parse_value(kind, candidate, keys[parts[1]].limit)
        if wrong:
            fail(dotted, wrong, value if not isinstance(value, dict) else candidate)
        parsed.append(result[parts[2]] if len(parts) == 3 else result)
    unique = []
    for value in parsed:
        if value not in unique:
            unique.append(value)
    return Setting(dotted, tuple(unique))


def _setting_values(spec: str, fail, dotted: str) -> list:
    pieces = spec.split(":")
    if len(pieces) == 3:
        try:
            start, stop, step = (float(p) for p in pieces)
        except ValueError:
            fail(dotted, "a range is START:STOP:STEP with three numbers", spec)
        if not all(math.isfinite(v) for v in (start, stop, step)) or step == 0:
            fail(dotted, "a range needs finite numbers and a non-zero step", spec)
        steps = abs(stop - start) / abs(step)  # a step like 1e-320 makes this inf
        count = math.floor(steps + 1e-9) + 1 if steps < MAX_POINTS else math.inf
        if count > MAX_POINTS:
            many = f"{steps + 1:,.0f}" if math.isfinite(steps) else "endless"
            fail(dotted, f"the range has {many} values; at most {MAX_POINTS:,}", spec)
        direction = 1.0 if stop >= start else -1.0
        return [round(start + direction * i * abs(step), 12) for i in range(count)]
    if len(pieces) != 1:
        fail(dotted, "a range is START:STOP:STEP", spec)
    try:
        values = tomllib.loads(f"v = [{spec}]")["v"]
    except tomllib.TOMLDecodeError:
        fail(dotted, "values must be START:STOP:STEP, a comma list such as 0,30,60 or TOML values", spec)
    if not values:
        fail(dotted, "no values given", spec)
    return values


def with_settings(run: Run, settings: dict) -> Run:
    """The run with validated ``settings`` (dotted key -> value) applied."""
    from dataclasses import replace

    changes: dict[str, dict] = {"policy": {}, "solver": {}, "demand": {}}
    for dotted, value in settings.items():
        section, key, *entry = dotted.split(".")
        if entry:
            current = run.demand.get(key, {}) if section == "demand" else getattr(getattr(run, section), key)
            base = changes[section].get(key, current)
            value = {**base, entry[0]: value}
        changes[section][key] = tuple(value) if key == "cap_stages" else value
    return replace(run, policy=replace(run.policy, **changes["policy"]),
                   solver=replace(run.solver, **changes["solver"]), demand={**run.demand, **changes["demand"]})


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
        line = _line_of(text, "policy", key)
        for name in getattr(run.policy, key):
            if name not in committed:
                problems.append(Problem(run.path.name, line, f"policy.{key}", "not a project or recycling plant "
                                        "of the dataset", name))
            elif key == "exclude_projects" and committed[name]:
                problems.append(Problem(run.path.name, line, f"policy.{key}", "is committed (signed) and cannot "
                                        "be excluded; set committed = false in the data to test that", name))
            elif key == "force_projects" and int(available[name]) > max(run.years):
                problems.append(Problem(run.path.name, line, f"policy.{key}",
                                        f"is available only from {int(available[name])}, after the last planned "
                                        f"year {max(run.years)}", name))
            elif name in both and key == "exclude_projects":
                problems.append(Problem(run.path.name, line, f"policy.{key}", "is also in force_projects", name))
    budget = run.policy.investment_budget
    capex = {**dict(zip(projects["project"], projects["capex"])), **dict(zip(plants["plant"], plants["capex"]))}
    forced = [n for n in run.policy.force_projects if n in committed and not committed[n]]
    if budget is not None and sum(capex[n] for n in forced) > budget:
        # the budget has no elastic slack: refuse here rather than end without a diagnosis
        problems.append(Problem(run.path.name, _line_of(text, "policy", "force_projects"), "policy.force_projects",
                                f"the forced capex ({sum(capex[n] for n in forced):,.0f}) exceeds "
                                f"policy.investment_budget ({budget:,.0f})", ", ".join(forced)))
    return problems
