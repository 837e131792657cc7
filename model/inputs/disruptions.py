"""Disruption scenarios and the constants DESIGN.md derives from them.

For a scenario ``s`` and a flow ``e`` of mineral ``m`` (a market route ``o``
or an offtake ``(p, m)``), a row hits ``e`` when its mineral is ``m`` or
``*`` and its stage country is ``e``'s country at that stage.  Then

- ``a[e,s]`` = max over the rows hitting ``e`` of loss_share * duration_days/365:
  the share of a year's flow lost (0 when no row hits);
- ``D[m,s]`` = the longest duration_days of the rows hitting any flow of ``m``.

Plain data only: the stochastic model and the stress evaluator both read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import ModelData
from .runfile import STAGES

# With no stockpile rule, an N-1 event lasts this long (DESIGN.md).
N_MINUS_1_DEFAULT_DAYS = 90.0


@dataclass(frozen=True)
class Hit:
    mineral: str  # an id or "*"
    stage: str
    country: str
    loss_share: float
    duration_days: float


@dataclass(frozen=True)
class Scenario:
    name: str
    probability: float
    hits: tuple[Hit, ...]


def scenarios_from_data(data: ModelData) -> list[Scenario]:
    """The dataset's ``disruptions`` table, one Scenario per id, sorted."""
    table = data.dataset["disruptions"]
    grouped: dict[str, list[dict]] = {}
    for row in table.to_dict("records"):
        grouped.setdefault(row["scenario"], []).append(row)
    return [Scenario(name, float(rows[0]["probability"]),
                     tuple(Hit(r["mineral"], r["stage"], r["country"], float(r["loss_share"]),
                               float(r["duration_days"])) for r in rows))
            for name, rows in sorted(grouped.items())]


def n_minus_1(data: ModelData) -> list[Scenario]:
    """One scenario per foreign country: all its flows lost at both stages for the stockpile horizon."""
    days = data.policy.stockpile_days or N_MINUS_1_DEFAULT_DAYS
    countries = sorted({data.stage_country(e, g) for e in list(data.routes) + list(data.offtakes) for g in STAGES}
                       - {data.home})
    return [Scenario(f"n-1 {c}", 0.0, tuple(Hit("*", g, c, 1.0, days) for g in STAGES)) for c in countries]


def _mineral_of(data: ModelData, flow) -> str:
    return flow[1] if isinstance(flow, tuple) else data.routes[flow].mineral


def loss_fractions(data: ModelData, scenario: Scenario) -> dict:
    """a[e,s] for every flow e that the scenario hits (flows not listed lose nothing)."""
    fractions = {}
    for flow in list(data.routes) + list(data.offtakes):
        mineral = _mineral_of(data, flow)
        for hit in scenario.hits:
            if hit.mineral in (mineral, "*") and data.stage_country(flow, hit.stage) == hit.country:
                fraction = hit.loss_share * hit.duration_days / 365.0
                fractions[flow] = max(fractions.get(flow, 0.0), fraction)
    return fractions


def durations(data: ModelData, scenario: Scenario) -> dict[str, float]:
    """D[m,s]: the longest event among the rows that hit any flow of m."""
    longest: dict[str, float] = {}
    for flow in list(data.routes) + list(data.offtakes):
        mineral = _mineral_of(data, flow)
        for hit in scenario.hits:
            if hit.mineral in (mineral, "*") and data.stage_country(flow, hit.stage) == hit.country:
                longest[mineral] = max(longest.get(mineral, 0.0), hit.duration_days)
    return longest
