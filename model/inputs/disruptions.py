"""Disruption scenarios and the constants DESIGN.md derives from them.

For a scenario ``s`` and a flow ``e`` of mineral ``m`` (a market route ``o``
or an offtake ``(p, m)``), a row hits ``e`` when its mineral is ``m`` or
``*`` and its stage country is one of ``e``'s countries at that stage (a mine
blend splits a flow over several mine countries, ``ModelData.stage_shares``).
In planned year ``t``, only the flows that exist then count (a route in its
year window, an offtake once its project is available).  Then

- ``a[e,s]`` = max over the rows hitting ``e`` of
  share of ``e`` in the hit country * loss_share * duration_days/365:
  the share of a year's flow lost (0 when no row hits);
- ``D[m,s,t]`` = the longest duration_days of the rows hitting any flow of
  ``m`` that exists in ``t``;
- ``rho[m,s,t]`` = the largest unit cost in ``t`` among the flows of ``m``
  that exist in ``t`` and that ``s`` hits (``a[e,s] > 0``): every tonne that
  covers a loss costs at least this much, so a disruption never makes a
  portfolio cheaper (DESIGN.md).  A constant: what is bought does not move it.

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
    countries = sorted({c for e in _all_flows(data) for g in STAGES for c in data.stage_shares(e, g)} - {data.home})
    return [Scenario(f"n-1 {c}", 0.0, tuple(Hit("*", g, c, 1.0, days) for g in STAGES)) for c in countries]


def _all_flows(data: ModelData, year: int | None = None) -> list:
    """Every route and offtake; with ``year``, only those that exist in that year."""
    flows = [e for m in sorted(data.minerals) for e in data.flows_of(m)]
    return flows if year is None else [e for e in flows if data.flow_exists(e, year)]


def _row_fraction(data: ModelData, flow, hit: Hit) -> float | None:
    """Share of a year's ``flow`` that row ``hit`` takes (None when the row does not hit the flow):
    the flow's share in the hit country at the row's stage * loss_share * duration/365."""
    if hit.mineral not in (data.mineral_of(flow), "*"):
        return None
    share = data.stage_shares(flow, hit.stage).get(hit.country, 0.0)
    if share <= 0:
        return None
    return share * hit.loss_share * hit.duration_days / 365.0


def loss_fractions(data: ModelData, scenario: Scenario, year: int | None = None) -> dict:
    """a[e,s] for every flow e that the scenario hits (flows not listed lose nothing); with ``year``,
    only flows that exist in that year are listed (a does not depend on the year)."""
    fractions = {}
    for flow in _all_flows(data, year):
        for hit in scenario.hits:
            fraction = _row_fraction(data, flow, hit)
            if fraction is not None:
                fractions[flow] = max(fractions.get(flow, 0.0), fraction)
    return fractions


def durations(data: ModelData, scenario: Scenario, year: int) -> dict[str, float]:
    """D[m,s] in ``year``: the longest event among the rows that hit any flow of m existing in that year."""
    longest: dict[str, float] = {}
    for flow in _all_flows(data, year):
        mineral = data.mineral_of(flow)
        for hit in scenario.hits:
            if _row_fraction(data, flow, hit) is not None:
                longest[mineral] = max(longest.get(mineral, 0.0), hit.duration_days)
    return longest


def cover_price_floor(data: ModelData, scenario: Scenario, year: int) -> dict[str, float]:
    """rho[m,s] in ``year``: the largest unit cost (at that year's price) among the flows of m that
    exist in that year and that the scenario hits (a[e,s] > 0); minerals with no such flow are absent."""
    floors: dict[str, float] = {}
    for flow, fraction in loss_fractions(data, scenario, year).items():
        if fraction > 0:
            mineral = data.mineral_of(flow)
            floors[mineral] = max(floors.get(mineral, 0.0), data.flow_unit_cost(flow, year))
    return floors
