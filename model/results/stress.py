"""Stress a fixed portfolio against disruption scenarios (``critmin stress``).

With the first stage fixed (what is bought on each route and project, the
stock held), each scenario's recourse problem of docs/model.md §8 separates
by mineral and is a covering problem: replace the lost tonnes ``L`` from the
stock (at the reference price, to replenish it), from the spare capacity
of unaffected routes over the event (at the surge price) or leave them unmet
(at the shortfall penalty).  Every option is priced at least at ``rho[m,s]``,
the dearest unit cost among the flows the scenario hits (the cover price
floor), so the extra cost is never negative: a disruption never makes a
portfolio cheaper.  The cheapest option first is optimal, so no solver is
needed, and this evaluator is an independent check on the stochastic
model's second stage.  A price shock (``P[e,s]``, docs/model.md §12) adds
``sum_e P[e,s] unit_cost[e] x[e]``, a constant once the portfolio is fixed.
"""

from __future__ import annotations

import math

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.disruptions import Scenario, constants

COLUMNS = ["scenario", "probability", "year", "mineral", "duration_days", "cover_price_floor", "lost_t", "stock_t",
           "stock_drawn_t", "emergency_t", "unmet_t", "emergency_cost", "stock_replenish_cost", "penalty",
           "undelivered_saving", "price_shock_cost", "extra_cost", "cover_days"]


def portfolio_flows(data: ModelData, values: dict, year: int) -> dict:
    """First-stage flows {route o or offtake (p, m): tonnes} from solution values."""
    flows = {o: values["buy"].get((o, year), 0.0) for o in data.routes}
    flows.update({pm: values["offtake"].get((pm[0], pm[1], year), 0.0) for pm in data.offtakes})
    return flows


def evaluate(data: ModelData, flows: dict, stock: dict[str, float], scenarios: list[Scenario],
             year: int, cache: dict | None = None) -> pd.DataFrame:
    """One row per scenario and mineral it hits in ``year`` (among the flows that exist then):
    L, w, sum v, n, the extra cost R, the cover price floor rho and days of cover.

    Cover options, cheapest first (the stock before a route at the same price): the stock at
    max(reference price, rho), each unaffected route's spare capacity over the event at
    max(surge * unit cost, rho); a tonne is left unmet, at max(shortfall penalty, rho), only when
    every remaining option costs more.  ``cache`` (a dict the caller keeps): the constants of each part
    of a combined scenario (a joint scenario, a set of countries) are computed once
    (``disruptions.constants``).
    """
    rows = []
    # What a scenario does to a mineral decides the mineral's row: scenarios alike for m (a joint scenario
    # and the events it combines, say) share one evaluation, as they share the model's mineral cases.
    done: dict[tuple, dict] = {}
    ladders: dict[str, list] = {}
    for scenario in scenarios:
        found = constants(data, scenario, year, cache)
        for m, days in sorted(found.duration.items()):
            hit = {e: found.lost[e] for e in data.flows_of(m) if found.lost.get(e, 0.0) > 0}
            shocks = {e: p for e, p in found.uplift.items() if data.mineral_of(e) == m}
            rho = found.floor.get(m, 0.0)
            key = (m, days, rho, tuple(hit.items()), tuple(shocks.items()))
            if key not in done:
                if m not in ladders:
                    ladders[m] = _ladder(data, flows, year, m)
                done[key] = _mineral_row(data, flows, stock, year, m, days, rho, hit, shocks, found.lost,
                                         ladders[m])
            rows.append(dict(scenario=scenario.name, probability=scenario.probability, year=year, mineral=m,
                             duration_days=days, **done[key]))
    return pd.DataFrame(rows, columns=COLUMNS)


def _ladder(data: ModelData, flows: dict, year: int, m: str) -> list[tuple[float, str, float]]:
    """Mineral m's routes that exist in ``year``, cheapest surge price first: (surge * unit cost, route,
    spare tonnes a year).  Built once per evaluation: every scenario walks it from the bottom."""
    surge = data.minerals[m].surge_price_factor
    return sorted((surge * data.flow_unit_cost(o, year), o, max(0.0, data.routes[o].max_t - flows.get(o, 0.0)))
                  for o in data.routes_in(m, year))


def _mineral_row(data: ModelData, flows: dict, stock: dict[str, float], year: int, m: str, days: float, rho: float,
                 hit: dict, shocks: dict, lost_share: dict, ladder: list) -> dict:
    """One mineral's cover in one scenario: the cheapest options first (``evaluate``).

    The options are the stock at ``stock_price`` and the unaffected routes of ``ladder`` at max(surge price,
    rho); the floor keeps the ladder's order, and the stock goes before a route at the same price.  The walk
    stops once the loss is covered or the next option costs more than leaving a tonne unmet."""
    mineral = data.minerals[m]
    lost = sum(a * flows.get(e, 0.0) for e, a in hit.items())
    stock_price = max(data.reference_price(m, year), rho)
    unmet_price = max(mineral.shortfall_penalty, rho)
    remaining = lost
    drawn = emergency = emergency_cost = 0.0
    stock_open = stock_price <= unmet_price

    def draw_stock() -> None:
        nonlocal remaining, drawn, stock_open
        take = min(stock.get(m, 0.0), remaining)
        remaining -= take
        drawn += take
        stock_open = False

    for surge_price, o, spare in ladder:
        if remaining <= 0:
            break
        if lost_share.get(o, 0.0) != 0:
            continue
        price = max(surge_price, rho)
        if stock_open and stock_price <= price:
            draw_stock()
            if remaining <= 0:
                break
        if price > unmet_price:
            break
        take = min(spare * days / 365.0, remaining)
        remaining -= take
        emergency += take
        emergency_cost += price * take
    if stock_open and remaining > 0:
        draw_stock()
    unmet = max(0.0, remaining)
    saving = sum(a * data.flow_unit_cost(e, year) * flows.get(e, 0.0) for e, a in hit.items())
    shock = sum((p * data.flow_unit_cost(e, year) * flows.get(e, 0.0) for e, p in shocks.items()), 0.0)
    replenish = stock_price * drawn
    penalty = unmet_price * unmet
    return dict(cover_price_floor=rho, lost_t=lost, stock_t=stock.get(m, 0.0), stock_drawn_t=drawn,
                emergency_t=emergency, unmet_t=unmet, emergency_cost=emergency_cost, stock_replenish_cost=replenish,
                penalty=penalty, undelivered_saving=saving, price_shock_cost=shock,
                extra_cost=emergency_cost + replenish + penalty - saving + shock,
                cover_days=stock.get(m, 0.0) / (lost / days) if lost > 0 else math.inf)


def expected(stress: pd.DataFrame, year: int | None = None) -> dict[str, float]:
    """Probability-weighted unmet tonnes and extra cost a year over the scenarios, in ``year``
    (default: the last year stressed)."""
    if len(stress):
        stress = stress[stress["year"] == (year if year is not None else stress["year"].max())]
    weighted = stress.assign(unmet=stress["unmet_t"] * stress["probability"],
                             cost=stress["extra_cost"] * stress["probability"])
    return {"expected_unmet_t": float(weighted["unmet"].sum()), "expected_extra_cost": float(weighted["cost"].sum())}


# Every quantity of a stress row: a row with all of them zero says nothing happened.
OUTCOMES = ["lost_t", "stock_drawn_t", "emergency_t", "unmet_t", "emergency_cost", "stock_replenish_cost", "penalty",
            "undelivered_saving", "price_shock_cost", "extra_cost"]


def drop_idle(stress: pd.DataFrame, scenarios) -> pd.DataFrame:
    """``stress`` without the rows of ``scenarios`` (names; the N-1 ones, which hit every mineral) in
    which nothing is lost, drawn, bought, unmet or paid: a country that supplies no flow of a mineral."""
    idle = stress["scenario"].isin(set(scenarios)) & (stress[OUTCOMES].abs() <= 1e-12).all(axis=1)
    return stress[~idle].reset_index(drop=True)
