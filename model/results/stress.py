"""Stress a fixed portfolio against disruption scenarios (``critmin stress``).

With the first stage fixed (what is bought on each route and project, the
stock held), each scenario's recourse problem of DESIGN.md separates by
mineral and is a covering problem: replace the lost tonnes ``L`` from the
stock (at the reference price, to replenish it), from the spare capacity
of unaffected routes over the event (at the surge price) or leave them unmet
(at the shortfall penalty).  The cheapest option first is optimal, so no
solver is needed, and this evaluator is an independent check on the
stochastic model's second stage.
"""

from __future__ import annotations

import math

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.disruptions import Scenario, durations, loss_fractions

COLUMNS = ["scenario", "probability", "year", "mineral", "duration_days", "lost_t", "stock_t", "stock_drawn_t",
           "emergency_t", "unmet_t", "emergency_cost", "stock_replenish_cost", "penalty", "undelivered_saving",
           "extra_cost", "cover_days"]


def portfolio_flows(data: ModelData, values: dict, year: int) -> dict:
    """First-stage flows {route o or offtake (p, m): tonnes} from solution values."""
    flows = {o: values["buy"].get((o, year), 0.0) for o in data.routes}
    flows.update({pm: values["offtake"].get((pm[0], pm[1], year), 0.0) for pm in data.offtakes})
    return flows


def evaluate(data: ModelData, flows: dict, stock: dict[str, float], scenarios: list[Scenario],
             year: int) -> pd.DataFrame:
    """One row per scenario and mineral it hits: L, w, sum v, n, the extra cost R and days of cover."""
    rows = []
    for scenario in scenarios:
        fractions = loss_fractions(data, scenario)
        for m, days in sorted(durations(data, scenario).items()):
            mineral = data.minerals[m]
            hit = {e: a for e, a in fractions.items() if a > 0 and _mineral(data, e) == m}
            lost = sum(a * flows.get(e, 0.0) for e, a in hit.items())
            options = [(data.reference_price(m, year), 0, "stock", stock.get(m, 0.0))]
            for o in data.routes_in(m, year):
                if fractions.get(o, 0.0) == 0:
                    spare = max(0.0, data.routes[o].max_t - flows.get(o, 0.0)) * days / 365.0
                    options.append((mineral.surge_price_factor * data.unit_cost(o, year), 1, o, spare))
            remaining = lost
            drawn = emergency = emergency_cost = 0.0
            for price, _, name, capacity in sorted(options):
                if remaining <= 0 or price >= mineral.shortfall_penalty:
                    break
                take = min(capacity, remaining)
                remaining -= take
                if name == "stock":
                    drawn += take
                else:
                    emergency += take
                    emergency_cost += price * take
            unmet = max(0.0, remaining)
            saving = sum(a * _unit_cost(data, e, year) * flows.get(e, 0.0) for e, a in hit.items())
            replenish = data.reference_price(m, year) * drawn
            penalty = mineral.shortfall_penalty * unmet
            rows.append(dict(
                scenario=scenario.name, probability=scenario.probability, year=year, mineral=m, duration_days=days,
                lost_t=lost, stock_t=stock.get(m, 0.0), stock_drawn_t=drawn, emergency_t=emergency, unmet_t=unmet,
                emergency_cost=emergency_cost, stock_replenish_cost=replenish, penalty=penalty,
                undelivered_saving=saving, extra_cost=emergency_cost + replenish + penalty - saving,
                cover_days=stock.get(m, 0.0) / (lost / days) if lost > 0 else math.inf))
    return pd.DataFrame(rows, columns=COLUMNS)


def expected(stress: pd.DataFrame, year: int | None = None) -> dict[str, float]:
    """Probability-weighted unmet tonnes and extra cost a year over the scenarios, in ``year``
    (default: the last year stressed)."""
    if len(stress):
        stress = stress[stress["year"] == (year if year is not None else stress["year"].max())]
    weighted = stress.assign(unmet=stress["unmet_t"] * stress["probability"],
                             cost=stress["extra_cost"] * stress["probability"])
    return {"expected_unmet_t": float(weighted["unmet"].sum()), "expected_extra_cost": float(weighted["cost"].sum())}


def _mineral(data: ModelData, flow) -> str:
    return flow[1] if isinstance(flow, tuple) else data.routes[flow].mineral


def _unit_cost(data: ModelData, flow, year: int) -> float:
    return data.offtakes[flow].unit_cost if isinstance(flow, tuple) else data.unit_cost(flow, year)
