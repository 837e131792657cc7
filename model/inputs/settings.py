"""``--set SECTION.KEY=VALUES``: the grammar of one setting, and a run with settings applied.

A setting names a declared key (``policy.country_cap``), or one entry of a
per-mineral or per-stage table (``policy.country_cap_by_mineral.dytb``,
``policy.ally_min_share.refine``).  VALUES is ``start:stop:step`` (both ends
included when the step lands on them), a comma list ``0,30,60,90`` or TOML
values (``["mine"],["mine","refine"]``).  Every value goes through the same
``_parse_value`` as the run file, with the kind and limit its dataclass field
declares (``runfile.SECTION_OPTIONS``); a problem is reported against
``--set``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace

from ..errors import InputError, Problem
from .runfile import SECTION_OPTIONS, SECTIONS, Run, _parse_value, _unknown, coerce

# What `critmin sweep` may vary: every policy, solver and demand key but those a field marks fixed
# (solver.threads: one thread per point, HiGHS fixes its thread pool per process).
SETTABLE = {section: {key: spec for key, spec in SECTIONS[section].items() if spec.fixed is None}
            for section in ("policy", "demand", "solver")}
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
        fail(dotted, _unknown(parts[0], SETTABLE) if parts[0] not in SECTIONS
             else f"the [{parts[0]}] section cannot be swept; sweep policy.*, solver.* or demand.* keys")
    if parts[1] not in keys or len(parts) > 3:
        declared = SECTIONS[parts[0]].get(parts[1])
        if declared is not None and declared.fixed:
            fail(dotted, declared.fixed)
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
    changes: dict[str, dict] = {section: {} for section in SETTABLE}
    for dotted, value in settings.items():
        section, key, *entry = dotted.split(".")
        if entry:
            base = changes[section].get(key, getattr(getattr(run, section), key))
            value = {**base, entry[0]: value}
        changes[section][key] = coerce(SECTION_OPTIONS[section], key, value)
    return replace(run, **{section: replace(getattr(run, section), **changed)
                           for section, changed in changes.items() if changed})
