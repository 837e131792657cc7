"""Disruption scenarios and the constants docs/model.md §8 derives from them.

For a scenario ``s`` and a flow ``e`` of mineral ``m`` (a market route ``o``
or an offtake ``(p, m)``), a row hits ``e`` when its mineral is ``m`` or
``*`` and its stage country is one of ``e``'s countries at that stage (a mine
blend splits a flow over several mine countries, ``ModelData.stage_shares``).
In planned year ``t``, only the flows that exist then count (a route in its
year window, an offtake once its project is available).  Then

A row with ``scope = exported`` (stage mine only) hits the part of ``e``
mined in its country only when ``e`` is refined in another country: an
ore-export ban, which spares ore refined where it is mined.

- ``a[e,s]`` = max over the rows hitting ``e`` of
  share of ``e`` in the hit country * loss_share * duration_days/365:
  the share of a year's flow lost (0 when no row hits);
- ``D[m,s,t]`` = the longest duration_days of the rows hitting any flow of
  ``m`` that exists in ``t``;
- ``rho[m,s,t]`` = the largest unit cost in ``t`` among the flows of ``m``
  that exist in ``t`` and that ``s`` hits (``a[e,s] > 0``): every tonne that
  covers a loss costs at least this much, so a disruption never makes a
  portfolio cheaper (docs/model.md §8).  A constant: what is bought does not move it;
- ``P[e,s]`` = max over the rows hitting ``e`` with a ``price_factor`` f > 1 of
  share of ``e`` in the hit country * (1 - loss_share) * (f - 1) * duration_days/365:
  the share of a year's purchase cost of ``e`` paid extra because the tonnes
  the row leaves delivered cost f times as much for its duration (a price
  shock, docs/model.md §12).

``constants`` gives all four at once (``Constants``).  A scenario that
combines others (a joint scenario: several events in one year, or the loss
of several countries at once; ``Scenario.parts``) has the union of their
rows, so its constants are the elementwise max of theirs (``combine``):
the same numbers as from its rows, computed once per part.

Plain data only: the stochastic model and the stress evaluator both read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import ModelData
from .runfile import STAGES

# With no stockpile rule, an N-1 event lasts this long (docs/model.md §8).
N_MINUS_1_DEFAULT_DAYS = 90.0


@dataclass(frozen=True)
class Hit:
    mineral: str  # an id or "*"
    stage: str
    country: str
    loss_share: float
    duration_days: float
    price_factor: float = 1.0  # the delivered tonnes of the flows hit cost this multiple for the duration
    scope: str = "all"  # "exported": at the mine stage, only ore refined outside the mine country


@dataclass(frozen=True)
class Scenario:
    name: str
    probability: float
    hits: tuple[Hit, ...]
    # The scenarios this one combines (a joint scenario, a set of countries lost), whose rows ``hits`` are;
    # empty for an event of the table or one N-1 country.
    parts: tuple[Scenario, ...] = field(default=(), compare=False, repr=False)


def combined(name: str, probability: float, parts) -> Scenario:
    """The scenario in which every one of ``parts`` happens: the union of their rows."""
    parts = tuple(parts)
    return Scenario(name, probability, tuple(hit for part in parts for hit in part.hits), parts)


def scenarios_from_data(data: ModelData) -> list[Scenario]:
    """The dataset's ``disruptions`` table, one Scenario per id, sorted."""
    table = data.dataset["disruptions"]
    grouped: dict[str, list[dict]] = {}
    for row in table.to_dict("records"):
        grouped.setdefault(row["scenario"], []).append(row)
    return [Scenario(name, float(rows[0]["probability"]),
                     tuple(Hit(r["mineral"], r["stage"], r["country"], float(r["loss_share"]),
                               float(r["duration_days"]), _factor(r.get("price_factor")), _scope(r.get("scope")))
                           for r in rows))
            for name, rows in sorted(grouped.items())]


def _factor(value) -> float:
    """A price_factor cell: blank (or an older table without the column) is 1, no price change."""
    return 1.0 if value is None or value != value else float(value)


def _scope(value) -> str:
    """A scope cell: blank (or an older table without the column) is "all"."""
    return "all" if value is None or value != value or value == "" else str(value)


def n_minus_1_days(data: ModelData) -> float:
    """How long an N-1 country loss lasts: stockpile_days, or 90 days when that is 0."""
    return data.policy.stockpile_days or N_MINUS_1_DEFAULT_DAYS


def foreign_countries(data: ModelData) -> list[str]:
    """Every foreign country at either stage of any route or project (bought or not, blend countries
    included), sorted: the countries N-1 and ``stress --worst`` can lose."""
    return sorted({c for e in _all_flows(data) for g in STAGES for c in data.stage_shares(e, g)} - {data.home})


def country_loss(data: ModelData, country: str) -> Scenario:
    """The N-1 scenario of one foreign country: every mineral, both stages, loss 1, for n_minus_1_days."""
    days = n_minus_1_days(data)
    return Scenario(f"n-1 {country}", 0.0, tuple(Hit("*", g, country, 1.0, days) for g in STAGES))


def n_minus_1(data: ModelData) -> list[Scenario]:
    """One scenario per foreign country: all its flows lost at both stages for the stockpile horizon."""
    return [country_loss(data, c) for c in foreign_countries(data)]


def _all_flows(data: ModelData, year: int | None = None) -> list:
    """Every route and offtake; with ``year``, only those that exist in that year."""
    flows = [e for m in sorted(data.minerals) for e in data.flows_of(m)]
    return flows if year is None else [e for e in flows if data.flow_exists(e, year)]


def _row_fraction(data: ModelData, flow, hit: Hit) -> float | None:
    """Share of a year's ``flow`` that row ``hit`` takes (None when the row does not hit the flow):
    the flow's share in the hit country at the row's stage * loss_share * duration/365."""
    if hit.mineral not in (data.mineral_of(flow), "*"):
        return None
    # An exported-only row (stage mine) spares ore refined where it is mined (in-country HPAL, say).
    if hit.scope == "exported" and data.stage_country(flow, "refine") == hit.country:
        return None
    share = data.stage_shares(flow, hit.stage).get(hit.country, 0.0)
    if share <= 0:
        return None
    return share * hit.loss_share * hit.duration_days / 365.0


def _hit_by(data: ModelData, hits, year: int | None):
    """(flow, row) for every row of ``hits`` and every flow (existing in ``year``) with a share in the
    row's country at the row's stage: the only pairs ``_row_fraction`` can find a loss in."""
    for hit in hits:
        for flow in data.flows_touching.get((hit.stage, hit.country), ()):
            if year is None or data.flow_exists(flow, year):
                yield flow, hit


def loss_fractions(data: ModelData, scenario: Scenario, year: int | None = None) -> dict:
    """a[e,s] for every flow e that the scenario hits (flows not listed lose nothing); with ``year``,
    only flows that exist in that year are listed (a does not depend on the year)."""
    fractions = {}
    for flow, hit in _hit_by(data, scenario.hits, year):
        fraction = _row_fraction(data, flow, hit)
        if fraction is not None:
            fractions[flow] = max(fractions.get(flow, 0.0), fraction)
    return _in_flow_order(data, fractions)


def _in_flow_order(data: ModelData, by_flow: dict) -> dict:
    # the model's rows list their terms in this order whatever the order of a scenario's rows
    return dict(sorted(by_flow.items(), key=lambda item: data.flow_order[item[0]]))


def durations(data: ModelData, scenario: Scenario, year: int) -> dict[str, float]:
    """D[m,s] in ``year``: the longest event among the rows that hit any flow of m existing in that year."""
    longest: dict[str, float] = {}
    for flow, hit in _hit_by(data, scenario.hits, year):
        if _row_fraction(data, flow, hit) is not None:
            mineral = data.mineral_of(flow)
            longest[mineral] = max(longest.get(mineral, 0.0), hit.duration_days)
    return dict(sorted(longest.items()))


def cover_price_floor(data: ModelData, scenario: Scenario, year: int) -> dict[str, float]:
    """rho[m,s] in ``year``: the largest unit cost (at that year's price) among the flows of m that
    exist in that year and that the scenario hits (a[e,s] > 0); minerals with no such flow are absent."""
    floors: dict[str, float] = {}
    for flow, fraction in loss_fractions(data, scenario, year).items():
        if fraction > 0:
            mineral = data.mineral_of(flow)
            floors[mineral] = max(floors.get(mineral, 0.0), data.flow_unit_cost(flow, year))
    return floors


def price_uplift(data: ModelData, scenario: Scenario, year: int) -> dict:
    """P[e,s] for the flows existing in ``year`` that a row with price_factor > 1 hits (others absent):
    max over those rows of share * (1 - loss_share) * (price_factor - 1) * duration/365."""
    uplift = {}
    shocks = [hit for hit in scenario.hits if hit.price_factor > 1.0]
    if not shocks:
        return uplift
    for flow, hit in _hit_by(data, shocks, year):
        fraction = _row_fraction(data, flow, Hit(hit.mineral, hit.stage, hit.country,
                                                 (1.0 - hit.loss_share) * (hit.price_factor - 1.0),
                                                 hit.duration_days, scope=hit.scope))
        if fraction is not None and fraction > 0:
            uplift[flow] = max(uplift.get(flow, 0.0), fraction)
    return _in_flow_order(data, uplift)


@dataclass(frozen=True)
class Constants:
    """One scenario's constants in one year: ``lost`` a[e,s] > 0, ``duration`` D[m,s], ``floor`` rho[m,s],
    ``uplift`` P[e,s] > 0 (every flow or mineral not listed: 0, or not hit)."""

    lost: dict
    duration: dict
    floor: dict
    uplift: dict

    def minerals(self) -> list[str]:
        """The minerals the scenario touches in the year (D listed), sorted."""
        return sorted(self.duration)


def constants(data: ModelData, scenario: Scenario, year: int, cache: dict | None = None) -> Constants:
    """a, D, rho and P of ``scenario`` in ``year``.  With ``cache`` (a dict kept by the caller), a scenario
    made of ``parts`` is the elementwise max of its parts' constants, each computed once."""
    if scenario.parts and cache is not None:
        return combine([constants(data, part, year, cache) for part in scenario.parts])
    key = (scenario.hits, year)
    if cache is not None and key in cache:
        return cache[key]
    fractions = loss_fractions(data, scenario, year)
    found = Constants({e: a for e, a in fractions.items() if a > 0}, durations(data, scenario, year),
                      cover_price_floor(data, scenario, year), price_uplift(data, scenario, year))
    if cache is not None:
        cache[key] = found
    return found


def combine(parts: list[Constants]) -> Constants:
    """The constants of the union of several scenarios' rows: each of a, D, rho, P is a max over rows,
    so the union's is the max over the parts' (a flow or mineral a part does not list counts 0)."""
    merged: list[dict] = [{}, {}, {}, {}]
    for part in parts:
        for target, source in zip(merged, (part.lost, part.duration, part.floor, part.uplift)):
            for key, value in source.items():
                if value > target.get(key, -1.0):
                    target[key] = value
    return Constants(*merged)
