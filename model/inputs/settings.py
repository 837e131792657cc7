"""``--set SECTION.KEY=VALUES``: the grammar of one setting, and a run with settings applied.

A setting names a declared key (``policy.country_cap``), or one entry of a
per-mineral or per-stage table (``policy.country_cap_by_mineral.dytb``,
``policy.ally_min_share.refine``), or a data override
(``data.supply[mine_country=RUS].max_t``, see ``overrides.py``).  For
``critmin sweep`` VALUES is ``start:stop:step`` (both ends included when the
step lands on them), a comma list ``0,30,60,90`` or TOML values
(``["mine"],["mine","refine"]``); a data override's values are cells as the
loader reads them, or factors (``*1.2``, ``*0.8:1.2:0.1``).  ``solve``,
``stress``, ``validate`` and a run file's ``set = [...]`` take one value per
setting (``parse_overrides``).  Every value goes through the same
``_parse_value`` as the run file, with the kind and limit its dataclass field
declares (``keys.SECTION_OPTIONS``), or through the loader's cell parser;
a problem is reported against ``--set`` or the run file's line.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace

from ..errors import InputError, Problem
from . import overrides as data_overrides
from .keys import SECTION_OPTIONS, SECTIONS, Run, _parse_value, _unknown, coerce

# What `critmin sweep` may vary: every policy, solver and demand key but those a field marks fixed
# (solver.threads: one thread per point, HiGHS fixes its thread pool per process), and data overrides.
SETTABLE = {section: {key: spec for key, spec in SECTIONS[section].items() if spec.fixed is None}
            for section in ("policy", "demand", "solver")}
# What one run's --set (or a run file's set) may give: every policy, demand and solver key.
SETTABLE_ONCE = {section: SECTIONS[section] for section in SETTABLE}
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "policy.country_cap", "policy.country_cap_by_mineral.dytb" or "data.supply[...].max_t"
    values: tuple


@dataclass(frozen=True)
class Override:
    """One setting as a run applies it: a --set string (``where`` "--set") or an entry of a run file's
    ``set`` (``where`` the run file, ``line`` its line); ``value`` parsed (a data factor is ``"*F"``)."""

    text: str
    key: str
    value: object
    where: str = "--set"
    line: int | None = None


def split_setting(text: str) -> tuple[str, str, str]:
    """``KEY=VALUES`` at the first ``=`` outside a data filter's brackets: (key, "=" or "", values)."""
    depth = 0
    for i, character in enumerate(text):
        depth += {"[": 1, "]": -1}.get(character, 0)
        if character == "=" and depth <= 0:
            return text[:i].strip(), "=", text[i + 1:].strip()
    if "=" in text:  # a bracket left open: the key is what comes before the last "=", and says so when read
        key, _, values = text.rpartition("=")
        return key.strip(), "=", values.strip()
    return text.strip(), "", ""


def parse_setting(text: str, where: str = "--set", *, sweep: bool = True, line: int | None = None) -> Setting:
    """``policy.country_cap=1.0:0.4:0.05`` -> Setting("policy.country_cap", (1.0, 0.95, ..., 0.4)).

    ``sweep``: the values ``critmin sweep`` may vary (ranges and lists; not solver.threads); otherwise
    exactly one value, for any policy, solver or demand key or a data override."""
    def fail(column, message, value=None):
        raise InputError([Problem(where, line, column, message, value)])

    dotted, equals, spec = split_setting(text)
    if not equals or not dotted or not spec:
        fail(None, "expected SECTION.KEY=VALUES, e.g. policy.country_cap=1.0:0.4:0.05 or "
                   "data.supply[mine_country=RUS].max_t=0", text)
    if data_overrides.is_data_key(dotted):
        values = data_overrides.parse_values(spec, dotted, fail, sweep, _setting_values)
        if not sweep and len(values) != 1:
            fail(dotted, "takes one value here; lists of values are for critmin sweep", spec)
        return Setting(dotted, tuple(values))
    settable = SETTABLE if sweep else SETTABLE_ONCE
    parts = dotted.split(".")
    keys = settable.get(parts[0])
    if len(parts) == 1:
        owners = [s for s, declared in settable.items() if parts[0] in declared]
        fail(dotted, "name the section" + (f"; did you mean '{owners[0]}.{parts[0]}'?" if owners
                                           else f"; expected one of {', '.join(settable)}, data"))
    if keys is None:
        fail(dotted, _unknown(parts[0], {**settable, "data": None}) if parts[0] not in SECTIONS
             else f"the [{parts[0]}] section cannot be swept; sweep policy.*, solver.* or demand.* keys" if sweep
             else f"the [{parts[0]}] section is set in the run file, not with --set")
    if parts[1] not in keys or len(parts) > 3:
        declared = SECTIONS[parts[0]].get(parts[1])
        if declared is not None and declared.fixed:
            fail(dotted, declared.fixed)
        fail(dotted, _unknown(parts[1], keys) if parts[1] not in keys else "too many parts in the key")
    kind = keys[parts[1]].kind
    if len(parts) == 3 and kind not in ("fractions", "ally"):
        fail(dotted, f"{parts[0]}.{parts[1]} is not a table; only per-mineral or per-stage tables take a third part")
    values = _setting_values(spec, fail, dotted)
    if not sweep and len(values) != 1:
        fail(dotted, "takes one value here; ranges and lists are for critmin sweep", spec)
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


def parse_overrides(texts, where: str = "--set", lines=None) -> list[Override]:
    """One run's settings (``--set`` strings, or a run file's ``set`` entries with their ``lines``): one value
    each, none set twice; every problem reported at once, located at its string or line."""
    problems, overrides = [], []
    for i, text in enumerate(texts):
        line = lines[i] if lines else None
        try:
            setting = parse_setting(text, where, sweep=False, line=line)
        except InputError as error:
            problems += error.problems
            continue
        except (OverflowError, ValueError, MemoryError) as error:  # values no check foresaw
            dotted, _, spec = split_setting(text)
            problems.append(Problem(where, line, dotted or None, f"cannot read this value ({error})", spec))
            continue
        overrides.append(Override(text.strip(), setting.key, setting.values[0], where, line))
    keys = [o.key for o in overrides]
    for i, override in enumerate(overrides):
        if override.key in keys[:i]:
            problems.append(Problem(where, override.line, override.key, "set more than once"))
        clash = [k for k in keys if k.startswith(override.key + ".") and not data_overrides.is_data_key(k)]
        if clash:
            problems.append(Problem(where, override.line, override.key, f"also set entry by entry ({clash[0]})"))
    if problems:
        raise InputError(problems)
    return overrides


def with_overrides(run: Run, overrides) -> Run:
    """The run with ``overrides`` applied in order: policy, solver and demand settings change its sections;
    every override is recorded in ``run.overrides`` (data overrides apply to the dataset in ``prepare``)."""
    changes: dict[str, dict] = {section: {} for section in SETTABLE}
    problems = []
    for override in overrides:
        if data_overrides.is_data_key(override.key):
            continue
        section, key, *entry = override.key.split(".")
        if section == "demand" and run.targets != "derived":
            problems.append(Problem(override.where, override.line, override.key,
                                    'demand.* settings need targets = "derived" in the run file'))
            continue
        value = override.value
        if entry:
            base = changes[section].get(key, getattr(getattr(run, section), key))
            value = {**base, entry[0]: value}
        changes[section][key] = coerce(SECTION_OPTIONS[section], key, value)
    if problems:
        raise InputError(problems)
    return replace(run, overrides=run.overrides + tuple(overrides),
                   **{section: replace(getattr(run, section), **changed) for section, changed in changes.items()
                      if changed})


def with_settings(run: Run, settings: dict) -> Run:
    """The run with validated ``settings`` (dotted key -> value, e.g. a sweep point) applied."""
    return with_overrides(run, [Override(f"{key}={_text(value)}", key, value) for key, value in settings.items()])


def _text(value) -> str:
    """A setting's value as --set would give it (a data value as a cell; anything else as TOML)."""
    if isinstance(value, (str, float, bool)) or value is None:
        return data_overrides.value_text(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_text(v)}' for k, v in value.items()) + " }"
    return str(value)
