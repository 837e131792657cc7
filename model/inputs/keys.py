"""Run-file keys, declared once.

The top-level keys are ``RUN_KEYS``; each section's keys are the fields of
its dataclass (``Policy``, ``SolverOptions``, ``SweepOptions``,
``DemandOptions``) with kind, meaning and limit as field metadata
(``option``).  The key tables (``POLICY_KEYS`` ...), the run-file reader
(``runfile.py``), the ``--set`` grammar (``settings.py``) and the README's
key table (``key_table``: ``python -m critmin.inputs.keys``) are read off
them.  ``_parse_value`` reads a value of a kind, within the magnitudes the
solver resolves (``schema.limit``).
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from .schema import DAYS, MONEY, SHARE, Limit

STAGES = ("mine", "refine")
MAX_COUNT = 1024  # threads or worker processes: more than any machine this runs on
STOCKPILE_MODES = ("rule", "stochastic")
RISK_MEASURES = ("expected", "cvar")
MAX_SAMPLES = 1_000_000  # sampled joint scenarios (policy.scenario_samples)
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Key:
    """One run-file key as the key tables list it; for the sections it is derived from a dataclass field."""

    # "text", "year", "fraction", "number", "count", "stages", "fractions", "ally", "address", "mode",
    # "targets", "years", "ids", "settings"
    kind: str
    default: object
    meaning: str
    limit: Limit | None = None  # the magnitudes the solver resolves (schema.limit), for numbers
    fixed: str | None = None  # why `critmin sweep` cannot vary it (None: it can)


def option(default=MISSING, *, kind: str, meaning: str, limit: Limit | None = None, factory=None,
           fixed: str | None = None):
    """A section key: a dataclass field with its default, and as metadata how a run file gives it."""
    metadata = {"kind": kind, "meaning": meaning, "limit": limit, "fixed": fixed}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def keys_of(options: type) -> dict[str, Key]:
    """A section's key table (name -> Key, in field order), read off its dataclass."""
    return {f.name: Key(f.metadata["kind"], f.default_factory() if f.default is MISSING else f.default,
                        f.metadata["meaning"], f.metadata["limit"], f.metadata["fixed"])
            for f in fields(options)}


RUN_KEYS = {
    "name": Key("text", None, "run name; outputs go to runs/out/<name>/"),
    "data": Key("text", None, "dataset: a folder of CSV files or an .xlsx, relative to the run file"),
    "year": Key("year", None, "the planned year (or give years)"),
    "years": Key("years", None, "consecutive planned years, e.g. [2026, 2027, 2028]: a pathway planned at once"),
    "description": Key("text", "", "free text"),
    "targets": Key("targets", "table", '"table": requirements from the targets table; "derived": computed from '
                                       "demand_drivers, chemistry_mix, battery_chemistries and magnet_content"),
    "set": Key("settings", (), "settings and data overrides applied after the sections, one value each as --set "
                               'takes them, e.g. ["data.supply[mine_country=RUS].max_t=0", "policy.country_cap=0.5"]; '
                               "put it above the first [section]"),
}


@dataclass(frozen=True)
class Policy:
    """The ``[policy]`` section."""

    country_cap: float = option(0.65, kind="fraction", limit=SHARE, meaning="largest share of a mineral's "
                                "requirement from one foreign country, per stage")
    cap_stages: tuple[str, ...] = option(STAGES, kind="stages", meaning="stages the country cap applies to")
    stockpile_days: float = option(60.0, kind="number", limit=DAYS,
                                   meaning="days of the largest single-country exposure the stock must cover")
    stockpile_min_days: float = option(0.0, kind="number", limit=DAYS,
                                       meaning="floor on stock in days of the requirement (a mineral's "
                                       "minerals.stockpile_min_days replaces it)")
    investment_budget: float | None = option(None, kind="number", limit=MONEY, meaning="cap on equity and plant "
                                             "capex chosen (currency); omit for none")
    discount_rate: float = option(0.08, kind="fraction", limit=SHARE, meaning="rate for annualizing capex")
    conflict_max_share: float = option(1.0, kind="fraction", limit=SHARE, meaning="largest share of the "
                                       "requirement mined in conflict-affected countries")
    ally_min_share: dict = option(kind="ally", limit=SHARE, factory=lambda: {"mine": 0.0, "refine": 0.0},
                                  meaning="least share mined / refined at home or in allies")
    min_recycling_share: dict = option(kind="fractions", limit=SHARE, factory=dict,
                                       meaning="least share of the requirement from recycling, per mineral")
    country_cap_by_mineral: dict = option(kind="fractions", limit=SHARE, factory=dict,
                                          meaning="country cap overriding country_cap for some minerals")
    stockpile_mode: str = option("rule", kind="mode", meaning='"rule": stock = stockpile_days of the largest '
                                 'exposure; "stochastic": stock and portfolio hedge the disruption scenarios')
    any_stage_cap: float | None = option(None, kind="fraction", limit=SHARE, meaning="largest share of a mineral's "
                                         "requirement mined or refined in one foreign country (each flow counted "
                                         "once); omit for none")
    force_projects: tuple[str, ...] = option((), kind="ids", meaning="projects or recycling plants (ids) the "
                                             "portfolio must include")
    exclude_projects: tuple[str, ...] = option((), kind="ids", meaning="projects or recycling plants (ids) the "
                                               "portfolio must leave out")
    # Risk measures (docs/model.md §12)
    risk_measure: str = option("expected", kind="risk", meaning='with stockpile_mode = "stochastic": "expected" '
                               "minimizes the expected extra cost of the disruption events, each alone; \"cvar\" "
                               "minimizes first-stage cost + (1 - risk_weight) E[R] + risk_weight CVaR_alpha[R] over "
                               "joint scenarios (years in which any set of the events happens)")
    cvar_alpha: float = option(0.95, kind="level", meaning="CVaR confidence level alpha: CVaR averages the worst "
                               "1 - alpha of the probability mass of a year's extra cost")
    risk_weight: float = option(0.5, kind="fraction", meaning='weight w of CVaR against the expectation with '
                                'risk_measure = "cvar" (0: expected cost of the joint scenarios, 1: CVaR alone)')
    scenario_samples: int = option(1000, kind="samples", meaning="years drawn when there are more than 12 "
                                   "disruption events (otherwise every set of events is enumerated)")
    scenario_seed: int = option(0, kind="seed", meaning="seed of the sampled years (the same seed, the same sample)")
    n_minus_1: bool = option(False, kind="flag", meaning="N-1 security: the stock and spare route capacity cover "
                             "the loss of any one foreign country at both stages for stockpile_days (90 when 0), "
                             "as stress --n-1 evaluates it")
    n_minus_1_unmet_share: float = option(0.0, kind="fraction", limit=SHARE, meaning="with n_minus_1: the tonnes "
                                          "an N-1 loss may leave unmet, as a share of the requirement over the "
                                          "event")

    def cap(self, mineral: str) -> float:
        return self.country_cap_by_mineral.get(mineral, self.country_cap)


@dataclass(frozen=True)
class SolverOptions:
    """The ``[solver]`` section."""

    time_limit: float = option(60.0, kind="number", meaning="seconds")
    mip_rel_gap: float = option(1e-4, kind="fraction", meaning="relative optimality gap at which the MIP stops")
    threads: int = option(1, kind="count", meaning="HiGHS threads",
                          fixed="solver.threads cannot be swept: each point runs on one thread")


@dataclass(frozen=True)
class SweepOptions:
    """The ``[sweep]`` section: where ``critmin sweep`` runs its points."""

    scheduler: str | None = option(None, kind="address", meaning="Dask scheduler (tcp://HOST:PORT) that runs "
                                   "`critmin sweep`; omit for local processes")
    workers: int | None = option(None, kind="count", meaning="local worker processes for `critmin sweep` "
                                 "(default: one per core)")


@dataclass(frozen=True)
class DemandOptions:
    """The ``[demand]`` section: changes to the derived requirements (``targets = "derived"``)."""

    chemistry_share: dict = option(kind="fractions", factory=dict, meaning='with targets = "derived": override '
                                   "chemistry shares, e.g. { LFP = 0.4 }; the other chemistries scale to fill the rest")


# The sections, each declared once by its dataclass; the key tables are read off the fields.
SECTION_OPTIONS = {"policy": Policy, "solver": SolverOptions, "sweep": SweepOptions, "demand": DemandOptions}
SECTIONS = {section: keys_of(options) for section, options in SECTION_OPTIONS.items()}
POLICY_KEYS, SOLVER_KEYS, SWEEP_KEYS, DEMAND_KEYS = (SECTIONS[s] for s in ("policy", "solver", "sweep", "demand"))


def coerce(options: type, key: str, value):
    """A parsed value as the section's field holds it: a list given for a tuple-valued key becomes a tuple."""
    default = next(f.default for f in fields(options) if f.name == key)
    return tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value


def section_options(section: str, values: dict):
    """The section's dataclass from parsed values (keys left out take their defaults)."""
    options = SECTION_OPTIONS[section]
    return options(**{key: coerce(options, key, value) for key, value in values.items()})


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
    sweep: SweepOptions = field(default_factory=SweepOptions)
    demand: DemandOptions = field(default_factory=DemandOptions)
    # the settings and data overrides applied, in order: the run file's `set`, then --set (settings.Override);
    # data overrides apply to the dataset in data.prepare
    overrides: tuple = ()

    @property
    def year(self) -> int:
        return self.years[-1]


def _unknown(key: str, keys: dict) -> str:
    import difflib

    guess = difflib.get_close_matches(key, list(keys), n=1)
    return "unknown key" + (f"; did you mean '{guess[0]}'?" if guess else f"; expected one of {', '.join(keys)}")


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
    if kind == "settings":
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        return (tuple(value), None) if ok else (None, 'must be a list of settings as --set takes them, e.g. '
                                                      '["data.supply[mine_country=RUS].max_t=0"]')
    if kind == "ids":
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        return (tuple(sorted(set(value))), None) if ok else (None, 'must be a list of ids, e.g. ["caremag"]')
    if kind == "targets":
        return (value, None) if value in ("table", "derived") else (None, 'must be "table" or "derived"')
    if kind == "mode":
        return (value, None) if value in STOCKPILE_MODES else (None, 'must be "rule" or "stochastic"')
    if kind == "risk":
        return (value, None) if value in RISK_MEASURES else (None, 'must be "expected" or "cvar"')
    if kind == "flag":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "level":
        ok = _is_number(value) and 0 <= value < 1
        return (float(value), None) if ok else (None, "must be a number in [0, 1) (0.95: the worst 5 %)")
    if kind == "samples":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SAMPLES
        return (value, None) if ok else (None, f"must be a whole number from 1 to {MAX_SAMPLES:,}")
    if kind == "seed":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED
        return (value, None) if ok else (None, "must be a whole number >= 0")
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


# --- The README's key table, read off the declarations ----------------------------------------------------------

KIND_TEXT = {
    "text": "text", "year": "a year", "years": "consecutive years, e.g. [2026, 2027, 2028]",
    "fraction": "number in [0, 1]", "number": "number >= 0", "count": f"whole number, 1 to {MAX_COUNT}",
    "stages": 'list drawn from ["mine", "refine"]', "fractions": "table of shares, e.g. { lithium = 0.05 }",
    "ally": "{ mine = share, refine = share }", "mode": '"rule" or "stochastic"', "targets": '"table" or "derived"',
    "ids": 'list of ids, e.g. ["caremag"]', "address": "tcp://HOST:PORT",
    "settings": "list of --set strings", "risk": '"expected" or "cvar"', "flag": "true or false",
    "level": "number in [0, 1)", "samples": f"whole number, 1 to {MAX_SAMPLES:,}", "seed": "whole number >= 0",
}


def _shown(value) -> str:
    """A default as a run file would write it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_shown(v)}" for k, v in value.items()) + " }" if value else "{}"
    return str(value)


def key_table() -> str:
    """Every run-file key as a Markdown table: the README's "Run-file keys" (``python -m critmin.inputs.runfile``)."""
    rows = ["| key | value | default | meaning |", "|---|---|---|---|"]
    required = {"name": "required", "data": "required", "year": "year or years", "years": "year or years"}
    keys = [(key, spec, required.get(key, _shown(spec.default))) for key, spec in RUN_KEYS.items()]
    keys += [(f"{section}.{key}", spec, _shown(spec.default))
             for section, declared in SECTIONS.items() for key, spec in declared.items()]
    for key, spec, default in keys:
        value = KIND_TEXT[spec.kind]
        if spec.limit is not None:
            value += f"; 0 or {spec.limit.low:g} to {spec.limit.high:g}" + (f" {spec.limit.unit}" if spec.limit.unit
                                                                             else "")
        plain = default in required.values() or default == "none"
        cells = [f"`{key}`", value, default if plain else f"`{default}`", spec.meaning]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(key_table())
