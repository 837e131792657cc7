"""Grid results as plain data: one record per point, and the sweep table with one row per point.

A record is what a worker returns and what ``<command>-points/<key>.json``
holds (``writers.points``): JSON-ready, no Pyomo, no pandas.  ``sweep_table``
lays the records out for sweep.xlsx and sweep.csv.
"""

from __future__ import annotations

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.runfile import STAGES
from ..optimization.types import Outcome
from .risk import risk_report
from .tables import cost_table, flow_table, share_table, start_year
from .ties import TONNES as TIE_TONNES

# Point statuses besides the solve statuses: no incumbent within the time limit; data overrides that leave
# the dataset invalid (critmin sensitivity; a sweep checks every combination before it solves).
NO_SOLUTION = "no_solution"
INVALID = "invalid"
SOLVED = ("optimal", "time_limit")


def point_record(data: ModelData, outcome: Outcome, settings: dict, seconds: float, detail: bool = False) -> dict:
    """The grid's view of one solve: status, cost by lever, per mineral the largest foreign shares, stock and
    unmet tonnes, the stakes and plants chosen.  ``detail`` (``critmin sensitivity``) adds, in the last
    planned year, every foreign share (``shares``: mineral -> stage -> country -> share of the
    requirement), the country caps at their bound (``binding_caps``) and the ties at equal cost
    (``ties``: mineral -> stage -> [{used, room}], the countries of a tie's routes that carry tonnes and
    those with room left: results.ties).

    Built from the flows and costs tables only, the shares summed in plain Python, not from every result
    table (tidy costs as much as the solve on the default data); ``tests/test_sweep.py`` checks that it
    says what the result tables say."""
    solution = outcome.solution
    elastic = outcome.elastic is not None
    flows = flow_table(data, solution)
    year = max(data.years)
    exposure: dict[tuple[str, str, str], float] = {}
    for row in flows[(flows["year"] == year) & (flows["source_type"] != "recycling")].itertuples():
        for stage in STAGES:
            country = getattr(row, f"{stage}_country")
            if country != data.home:
                exposure[row.mineral, stage, country] = exposure.get((row.mineral, stage, country), 0.0) + row.tonnes
    minerals = {}
    for m in data.minerals:
        target = data.target[m, year]
        values = {}
        for stage in STAGES:
            # largest share, ties to the first country in alphabetical order (as share_table sorts)
            best = min(((-t, c) for (mm, g, c), t in exposure.items() if mm == m and g == stage), default=None)
            values[f"largest_{stage}_share"] = -best[0] / target if best and target > 0 else 0.0
            values[f"largest_{stage}_country"] = best[1] if best else ""
        stock = solution.values.get("stock", {}).get((m, year), 0.0)
        minerals[m] = {"target_t": target,
                       "largest_mine_share": values["largest_mine_share"],
                       "largest_mine_country": values["largest_mine_country"],
                       "largest_refine_share": values["largest_refine_share"],
                       "largest_refine_country": values["largest_refine_country"],
                       "stockpile_t": stock,
                       "stock_days": stock / target * 365.0 if target > 0 else 0.0,
                       "unmet_t": solution.values.get("shortfall", {}).get((m, year), 0.0)}
    costs = cost_table(data, solution, flows)
    by_lever = {lever: float(cost) for lever, cost in costs.groupby("lever", sort=False)["cost"].sum().items()}
    return {
        "settings": settings,
        "status": outcome.status,
        "objective": None if elastic else solution.objective,
        "mip_gap": None if elastic else solution.mip_gap,
        "cost_by_lever": {} if elastic else by_lever,
        "minerals": dict(sorted(minerals.items())),
        "projects_chosen": [] if elastic else [p for p in data.projects
                                               if start_year(data, solution.values, "stake_start", p) is not None],
        "plants_built": [] if elastic else [k for k in data.plants
                                            if start_year(data, solution.values, "plant_start", k) is not None],
        **(_detail(data, flows, exposure, elastic) if detail else {}),
        **_risk(data, solution, costs, elastic),
        "seconds": seconds,
    }


# The risk figures a point records (stochastic mode), sweep_table's risk_<field> columns: the risk frontier.
RISK_FIELDS = ("first_stage_cost", "expected_recourse", "expected_cost", "var", "cvar")


def _risk(data: ModelData, solution, costs: pd.DataFrame, elastic: bool) -> dict:
    """``risk``: the point's expected recourse, VaR and CVaR over the joint scenarios (results.risk), in
    stochastic mode; nothing otherwise."""
    report = None if elastic else risk_report(data, solution, costs)
    return {"risk": {key: report[key] for key in RISK_FIELDS}} if report else {}


def _detail(data: ModelData, flows: pd.DataFrame, exposure: dict, elastic: bool) -> dict:
    year = max(data.years)
    shares: dict[str, dict[str, dict[str, float]]] = {}
    for (m, stage, country), tonnes in sorted(exposure.items()):
        target = data.target[m, year]
        shares.setdefault(m, {}).setdefault(stage, {})[country] = tonnes / target if target > 0 else 0.0
    if elastic:
        return {"shares": shares, "binding_caps": [], "ties": {}}
    table = share_table(data, flows)
    at = table[(table["year"] == year) & table["binding"]]
    return {"shares": shares,
            "binding_caps": [f"{m} {g} {c}" for m, g, c in zip(at["mineral"], at["stage"], at["country"])],
            "ties": _ties(data, flows, year)}


def _ties(data: ModelData, flows: pd.DataFrame, year: int) -> dict:
    """Per mineral and stage, each tie at equal cost (as results.ties finds them): the countries of its
    routes that carry tonnes, and of those with room left.  Tonnes could move from one to the other at no
    cost, so which of them is the largest is the solver's pick."""
    market = flows[(flows["year"] == year) & (flows["source_type"] == "market")]
    taken = market.groupby("source_id")["tonnes"].sum().to_dict()

    def countries(o: str, stage: str) -> set[str]:
        route = data.routes[o]
        if stage == "mine" and ("market", o) in data.mine_mix:
            return set(data.mine_mix["market", o])
        return {route.country(stage)}

    ties: dict[str, dict[str, list[dict]]] = {}
    for m in data.minerals:
        alike: dict[str, list[str]] = {}
        for o in data.routes_in(m, year):
            if not data.routes[o].needs_switch:  # a fixed cost or minimum makes its tonnes no longer alike
                alike.setdefault(f"{data.unit_cost(o, year):.12g}", []).append(o)
        for members in alike.values():
            used = [o for o in members if taken.get(o, 0.0) > TIE_TONNES]
            room = [o for o in members if taken.get(o, 0.0) < data.routes[o].max_t
                    - TIE_TONNES * max(1.0, data.routes[o].max_t)]
            if not any(u != r for u in used for r in room):
                continue
            for stage in STAGES:
                ties.setdefault(m, {}).setdefault(stage, []).append(
                    {"used": sorted(set().union(*(countries(o, stage) for o in used))),
                     "room": sorted(set().union(*(countries(o, stage) for o in room)))})
    return ties


def failed_record(settings: dict, status: str, message: str, seconds: float) -> dict:
    return {"settings": settings, "status": status, "message": message, "objective": None, "mip_gap": None,
            "cost_by_lever": {}, "minerals": {}, "projects_chosen": [], "plants_built": [], "seconds": seconds}


def setting_text(value) -> object:
    """A setting as one cell: numbers stay numbers; lists and tables become text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in value.items())
    return value


def sweep_table(records: list[dict], keys: list[str]) -> pd.DataFrame:
    """One row per point, in grid order: settings, status, cost (total and by lever), per mineral the
    largest foreign shares, stock and unmet tonnes, then the projects and plants chosen."""
    levers: list[str] = []
    minerals: list[str] = []
    for record in records:
        levers += [lever for lever in record["cost_by_lever"] if lever not in levers]
        minerals += [m for m in record["minerals"] if m not in minerals]
    rows = []
    for record in records:
        row = {key: setting_text(record["settings"][key]) for key in keys}
        row["status"] = record["status"]
        row["annual_cost"] = record["objective"]
        for lever in levers:
            row[f"cost_{lever}"] = record["cost_by_lever"].get(lever)
        row["mip_gap"] = record["mip_gap"]
        for m in sorted(minerals):
            values = record["minerals"].get(m, {})
            for field in ("target_t", "largest_mine_share", "largest_mine_country", "largest_refine_share",
                          "largest_refine_country", "stockpile_t", "stock_days", "unmet_t"):
                row[f"{m}_{field}"] = values.get(field)
        if any("risk" in r for r in records):  # a stochastic grid: the risk frontier's columns
            for field in RISK_FIELDS:
                row[f"risk_{field}"] = record.get("risk", {}).get(field)
        row["projects_chosen"] = ", ".join(record["projects_chosen"])
        row["plants_built"] = ", ".join(record["plants_built"])
        row["message"] = record.get("message", "")
        row["seconds"] = record["seconds"]
        row["reused"] = bool(record.get("reused", False))
        rows.append(row)
    return pd.DataFrame(rows)
