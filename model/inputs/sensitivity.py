"""The input groups of ``critmin sensitivity``, each a set of data overrides that scales it by one factor.

One group moves at a time, by ±X % (a factor ``1 ± X/100``), and every move
is written as data overrides (``overrides.py``: ``data.TABLE[...].COLUMN=*F``),
so every point of a sensitivity is an ordinary run that ``critmin solve
RUN.toml --set ...`` repeats and ``critmin verify`` checks.  The groups, read
off the dataset:

- ``prices:<mineral>``: the mineral's ``unit_cost`` on every ``supply`` and
  ``project_offtake`` row that gives one, and its ``minerals.reference_price``.
  A market-linked row (``price_factor``) costs its factor times the reference
  price, so it moves with the reference price; its factor is left as it is
  (scaling both would move it twice).  ``price_floor`` is a contract term and
  stays; the reference price also values the stock (holding cost) and the
  default shortfall penalty, which move with it;
- ``volumes:<country>``: ``max_t`` of every ``supply`` route mined or refined in
  the country (a blend when ``mine_mix`` names the country), one override per
  route (``data.supply[option=...]``), so a route mined and refined there moves
  once.  A cut below a route's ``min_t`` leaves the point invalid (reported,
  not solved);
- ``capex:<project>``: ``projects.capex`` of every project that can be chosen
  (not committed, not excluded, available by the last planned year);
- ``target:<mineral>``: ``targets.target_t`` (every year); with ``targets =
  "derived"`` the mineral's content per kWh, per tonne of magnet and its other
  demand (``battery_chemistries``, ``magnet_content``, ``other_demand``), which
  the derived requirement is linear in.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError, Problem
from .settings import parse_setting

KINDS = ("prices", "volumes", "capex", "target")
DEFAULT_CHANGE = 20.0  # percent


@dataclass(frozen=True)
class Group:
    kind: str  # one of KINDS
    item: str  # the mineral, country or project
    keys: tuple[str, ...]  # the data overrides' keys, each multiplied by the group's factor

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.item}"

    def settings(self, factor: float) -> dict:
        """The point's settings (dotted key -> value as ``--set`` reads it) for ``factor``."""
        return {key: parse_setting(f"{key}=*{factor:.15g}", sweep=False).values[0] for key in self.keys}

    def set_texts(self, factor: float) -> list[str]:
        """The ``--set`` strings that make this point a plain run."""
        return [f"{key}=*{factor:.15g}" for key in self.keys]


def _has(frame: pd.DataFrame, column: str, mask) -> bool:
    return column in frame and bool(frame.loc[mask, column].notna().any())


def input_groups(dataset, run) -> list[Group]:
    """Every group of the dataset and run, in the order prices, volumes, capex, target (items sorted)."""
    supply, offtake, minerals = dataset["supply"], dataset["project_offtake"], dataset["minerals"]
    groups = []
    for m in sorted(minerals["mineral"]):
        keys = [f"data.{table}[mineral={m}].unit_cost" for table, frame in (("supply", supply),
                                                                           ("project_offtake", offtake))
                if _has(frame, "unit_cost", frame["mineral"] == m)]
        groups.append(Group("prices", m, tuple(keys) + (f"data.minerals[mineral={m}].reference_price",)))
    blends: dict[str, set[str]] = {}
    mix = dataset["mine_mix"]
    for kind, source, country in zip(mix["source_type"], mix["source_id"], mix["mine_country"]):
        if kind == "market":
            blends.setdefault(source, set()).add(country)
    routes: dict[str, list[str]] = {}
    for option, mine, refine, most in zip(supply["option"], supply["mine_country"], supply["refine_country"],
                                          supply["max_t"]):
        if not most or most != most:
            continue  # nothing to scale
        for country in ({mine, refine} | blends.get(option, set())) - {"*"}:
            routes.setdefault(country, []).append(option)
    for country in sorted(routes):
        groups.append(Group("volumes", country,
                            tuple(f"data.supply[option={o}].max_t" for o in sorted(routes[country]))))
    excluded = set(run.policy.exclude_projects)
    projects = dataset["projects"]
    for p, capex, committed, start in sorted(zip(projects["project"], projects["capex"], projects["committed"],
                                                 projects["available_from"])):
        if not committed and p not in excluded and capex and start <= max(run.years):
            groups.append(Group("capex", p, (f"data.projects[project={p}].capex",)))
    for m in sorted(minerals["mineral"]):
        if run.targets != "derived":
            keys = [f"data.targets[mineral={m}].target_t"] if (dataset["targets"]["mineral"] == m).any() else []
        else:
            keys = [f"data.{table}[mineral={m}].{column}"
                    for table, column in (("battery_chemistries", "per_kwh"), ("magnet_content", "per_t_magnet"),
                                          ("other_demand", "other_t"))
                    if (dataset[table]["mineral"] == m).any()]
        if keys:
            groups.append(Group("target", m, tuple(keys)))
    return groups


def select(groups: list[Group], wanted: list[str]) -> list[Group]:
    """The groups ``--group`` names (a kind, ``prices``, or one group, ``prices:lithium``); all when none.
    An unknown kind or group is a located error."""
    if not wanted:
        return groups
    names = [g.name for g in groups]
    problems, chosen = [], set()
    for text in wanted:
        kind, _, item = text.strip().partition(":")
        if kind not in KINDS:
            guess = difflib.get_close_matches(kind, KINDS, n=1)
            problems.append(Problem("--group", None, None, "unknown kind of group" + (
                f"; did you mean '{guess[0]}'?" if guess else f"; expected one of {', '.join(KINDS)}"), text))
            continue
        hits = [n for n in names if n.startswith(kind + ":") and (not item or n == f"{kind}:{item}")]
        if not hits:
            items = [n.partition(":")[2] for n in names if n.startswith(kind + ":")]
            guess = difflib.get_close_matches(item, items, n=1)
            listed = ", ".join(items) if len(items) <= 12 else f"{len(items)} of them, e.g. {', '.join(items[:3])}"
            problems.append(Problem("--group", None, None, "no such group in this dataset" + (
                f"; did you mean '{kind}:{guess[0]}'?" if guess else f"; the {kind} groups: {listed or 'none'}"),
                text))
        chosen.update(hits)
    if problems:
        raise InputError(problems)
    return [g for g in groups if g.name in chosen]


def changes(values: list[float] | None) -> list[float]:
    """The ``--change`` percentages, each in (0, 100], sorted and without repeats (default 20)."""
    if not values:
        return [DEFAULT_CHANGE]
    problems = [Problem("--change", None, None, "must be a percentage above 0 and at most 100", f"{v:g}")
                for v in values if not (math.isfinite(v) and 0 < v <= 100)]
    if problems:
        raise InputError(problems)
    return sorted(set(values))


def factors(change: float) -> tuple[float, float]:
    """The factors of ``-change`` and ``+change`` percent."""
    return round(1 - change / 100, 12), round(1 + change / 100, 12)
