"""Tidy result tables computed from the data and the solution's values.

No Pyomo here: a solution arrives as plain dictionaries of variable values,
and every cost is recomputed from the data, so the sum of the parts can be
checked against the solver's objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..inputs.data import ModelData
from ..inputs.runfile import STAGES
from ..optimization.types import MARGINAL_COLUMNS, Outcome, Solution, capital_recovery_factor
from .diagnosis import diagnose
from .portfolio import built_in, start_year
from .risk import portfolio_risk
from .ties import mark_ties

# A share within this of its cap counts as binding (shares are fractions).
BINDING_TOLERANCE = 1e-6


@dataclass
class Results:
    run_name: str
    status: str
    objective: float | None
    mip_gap: float | None
    bound: float | None
    year: int
    flows: pd.DataFrame
    minerals: pd.DataFrame
    shares: pd.DataFrame
    projects: pd.DataFrame
    recycling: pd.DataFrame
    plants: pd.DataFrame
    costs: pd.DataFrame
    diagnosis: list[dict] = field(default_factory=list)
    elastic_objective: float | None = None
    # optimization.marginal rows (kind, year, mineral, stage, country, limit, level, value, unit, ...);
    # empty when not computed (infeasible, or not asked for)
    marginal_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    stress: pd.DataFrame | None = None  # set by ``critmin stress``: one row per scenario and mineral
    # optimization.forced rows (kind, id, forced_in_cost, forced_objective, start_year, reason); empty when
    # not computed
    forced_in: pd.DataFrame = field(default_factory=pd.DataFrame)
    stockpile: pd.DataFrame = field(default_factory=pd.DataFrame)  # per year and mineral: level, cover, build-up
    inputs: dict[str, pd.DataFrame] = field(default_factory=dict)  # the validated input tables, echoed in results.xlsx
    decomposition: dict | None = None  # mpiexec runs: optimization.decompose's bounds (summary.json ``decomposition``)
    risk: dict | None = None  # stochastic mode: results.risk.risk_report (summary.json ``risk``)
    risk_scenarios: pd.DataFrame | None = None  # stochastic mode: results.risk.tail_table (the Risk sheet)
    worst: dict | None = None  # ``critmin stress --worst K``: results.worst.worst_sets (summary.json ``stress.worst``)

    @property
    def chosen_projects(self) -> list[str]:
        return [p for p, chosen in zip(self.projects["project"], self.projects["chosen"]) if chosen]

    @property
    def built_plants(self) -> list[str]:
        return [k for k, built in zip(self.plants["plant"], self.plants["built"]) if built]

    @property
    def cost_by_lever(self) -> dict[str, float]:
        """Cost by lever as the objective counts it: each year's cost times its discount factor
        (one planned year: the annual cost)."""
        weighted = self.costs["cost"] * self.costs["discount_factor"]
        return {lever: float(cost) for lever, cost in weighted.groupby(self.costs["lever"], sort=False).sum().items()}

    def cost_by_year(self) -> dict[int, dict[str, float]]:
        """Undiscounted annual cost by lever, per planned year."""
        return {int(year): {lever: float(cost)
                            for lever, cost in group.groupby("lever", sort=False)["cost"].sum().items()}
                for year, group in self.costs.groupby("year")}


def _value(solution: Solution, name: str, index, default: float = 0.0) -> float:
    return solution.values.get(name, {}).get(index, default)


def annual_capital_cost(data: ModelData, asset) -> float:
    """Capex annuity of a project or plant; sunk (zero) when committed."""
    if asset.committed:
        return 0.0
    return capital_recovery_factor(data.policy.discount_rate, asset.life_years) * asset.capex


def flow_table(data: ModelData, solution: Solution) -> pd.DataFrame:
    """One row per non-zero flow: market routes, equity offtakes, recycling.

    ``cost`` is the flow's full annual cost: for a route its purchases plus
    fixed cost; for an offtake its unit cost plus the project's capex annuity
    shared pro rata to the value of each mineral's offtake at reference
    price; for recycling the processing cost plus plant costs shared pro rata
    to feed within its stream.  So the flows' costs plus the stock carrying cost
    (and penalties) add up to the objective.  A source with a mine blend has one
    row per mine country, its tonnes and cost split by the blend's shares.
    """
    values = solution.values
    rows = []
    for t in data.years:
        for o, route in data.routes.items():
            tonnes = _value(solution, "buy", (o, t))
            if tonnes > 0:
                fixed = route.fixed_cost * _value(solution, "use", (o, t)) if route.needs_switch else 0.0
                for country, share in data.stage_shares(o, "mine").items():
                    rows.append(dict(year=t, mineral=route.mineral, source_type="market", source_id=o,
                                     mine_country=country, refine_country=route.refine_country,
                                     tonnes=share * tonnes, cost=share * (data.unit_cost(o, t) * tonnes + fixed)))
        for p, project in data.projects.items():
            taken = {m: _value(solution, "offtake", (p, m, t)) for (pp, m) in data.offtakes if pp == p}
            worth = {m: q * data.minerals[m].reference_price for m, q in taken.items()}
            annuity = annual_capital_cost(data, project) * built_in(data, values, "stake_start", p, t)
            for m, tonnes in taken.items():
                if tonnes > 0:
                    share = worth[m] / sum(worth.values()) if sum(worth.values()) > 0 else 0.0
                    cost = data.flow_unit_cost((p, m), t) * tonnes + share * annuity
                    for country, part in data.stage_shares((p, m), "mine").items():
                        rows.append(dict(year=t, mineral=m, source_type="equity", source_id=p,
                                         mine_country=country, refine_country=project.refine_country,
                                         tonnes=part * tonnes, cost=part * cost))
        feeds = {m: _value(solution, "feed", (m, t)) for m in data.recycling}
        for stream, minerals in data.stream_minerals.items():
            plant_cost = sum((annual_capital_cost(data, k) + k.fixed_cost)
                             * built_in(data, values, "plant_start", name, t)
                             for name, k in data.plants.items() if k.stream == stream)
            stream_feed = sum(feeds[m] for m in minerals)
            for m in minerals:
                tonnes = _value(solution, "recycled", (m, t))
                if tonnes > 0 or feeds[m] > 0:
                    share = feeds[m] / stream_feed if stream_feed > 0 else 0.0
                    rows.append(dict(year=t, mineral=m, source_type="recycling", source_id=f"recycling-{m}",
                                     mine_country=data.home, refine_country=data.home, tonnes=tonnes,
                                     cost=data.recycling[m].unit_cost * feeds[m] + share * plant_cost))
    columns = ["year", "mineral", "source_type", "source_id", "mine_country", "refine_country", "tonnes", "cost"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["year", "mineral", "source_type", "source_id", "mine_country"],
                             kind="stable").reset_index(drop=True)


def share_table(data: ModelData, flows: pd.DataFrame) -> pd.DataFrame:
    """Per year, mineral, stage and foreign country: tonnes and share of the target against the cap.

    Stage "any" counts each flow once for every foreign country it is mined
    or refined in: the exposure ``any_stage_cap`` limits.
    """
    rows = []
    foreign = flows[flows["source_type"] != "recycling"]
    touched = foreign.assign(any_country=[sorted({a, b}) for a, b in zip(foreign["mine_country"],
                                                                        foreign["refine_country"])])
    touched = touched.explode("any_country") if len(touched) else touched.assign(any_country=[])
    for stage in STAGES + ("any",):
        frame = touched if stage == "any" else foreign
        grouped = frame.groupby(["year", "mineral", f"{stage}_country"])["tonnes"].sum()
        for (t, m, c), tonnes in grouped.items():
            if c == data.home:
                continue
            target = data.target[m, t]
            if stage == "any":
                cap = data.policy.any_stage_cap
            else:
                cap = data.policy.cap(m) if stage in data.policy.cap_stages else None
            share = tonnes / target if target > 0 else 0.0
            rows.append(dict(year=t, mineral=m, stage=stage, country=c, tonnes=tonnes, share=share, cap=cap,
                             binding=cap is not None and share >= cap - BINDING_TOLERANCE))
    columns = ["year", "mineral", "stage", "country", "tonnes", "share", "cap", "binding"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["year", "mineral", "stage", "share", "country"],
                             ascending=[True, True, True, False, True], kind="stable").reset_index(drop=True)


def mineral_table(data: ModelData, solution: Solution, flows: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for t in data.years:
        for m, mineral in data.minerals.items():
            of = flows[(flows["year"] == t) & (flows["mineral"] == m)]
            by_type = of.groupby("source_type")["tonnes"].sum()
            target = data.target[m, t]
            stock = _value(solution, "stock", (m, t))
            row = dict(year=t, mineral=m, unit=mineral.unit, target_t=target,
                       market_t=float(by_type.get("market", 0.0)), equity_t=float(by_type.get("equity", 0.0)),
                       recycled_t=float(by_type.get("recycling", 0.0)))
            row["supplied_t"] = row["market_t"] + row["equity_t"] + row["recycled_t"]
            row["shortfall_t"] = _value(solution, "shortfall", (m, t))
            row["stockpile_t"] = stock
            row["existing_stock_t"] = mineral.existing_stock_t
            row["stock_days"] = stock / target * 365.0 if target > 0 else 0.0
            for stage in STAGES + ("any",):
                mine = shares[(shares["year"] == t) & (shares["mineral"] == m) & (shares["stage"] == stage)]
                top = mine.iloc[0] if len(mine) else None
                row[f"largest_{stage}_share"] = float(top["share"]) if top is not None else 0.0
                row[f"largest_{stage}_country"] = str(top["country"]) if top is not None else ""
            rows.append(row)
    return pd.DataFrame(rows)


def project_table(data: ModelData, solution: Solution) -> pd.DataFrame:
    """Per project: chosen or not, its start year, capex (sunk when committed), and the last
    planned year's offtake against the entitlement."""
    rows = []
    last = data.years[-1]
    for p, project in data.projects.items():
        begin = start_year(data, solution.values, "stake_start", p)
        offtakes = [(m, o) for (pp, m), o in data.offtakes.items() if pp == p]
        rows.append(dict(
            project=p, name=project.name, mine_country=_blend_text(data, (p, offtakes[0][0]) if offtakes else None,
                                                                project.mine_country),
            refine_country=project.refine_country,
            available_from=project.available_from, available=data.project_available(p, last),
            committed=project.committed, chosen=begin is not None, start_year=begin, capex=project.capex,
            capex_charged=0.0 if project.committed or begin is None else project.capex,
            life_years=project.life_years,
            annualized_capex=annual_capital_cost(data, project) if begin is not None else 0.0,
            offtake=", ".join(f"{m} {_value(solution, 'offtake', (p, m, last)):,.0f}/{o.offtake_t:,.0f} t"
                              for m, o in offtakes),
            offtake_cost=sum(data.flow_unit_cost((p, m), last) * _value(solution, "offtake", (p, m, last))
                             for m, o in offtakes)))
    columns = ["project", "name", "mine_country", "refine_country", "available_from", "available", "committed",
               "chosen", "start_year", "capex", "capex_charged", "life_years", "annualized_capex", "offtake",
               "offtake_cost"]
    return pd.DataFrame(rows, columns=columns)


def _blend_text(data: ModelData, flow, country: str) -> str:
    """A mine country, or a blend spelled out: "* (AUS 60%, USA 40%)"."""
    if country != "*" or flow is None:
        return country
    shares = data.stage_shares(flow, "mine")
    return "* (" + ", ".join(f"{c} {share:.0%}" for c, share in shares.items()) + ")"


def recycling_table(data: ModelData, solution: Solution) -> pd.DataFrame:
    rows = []
    for t in data.years:
        for m, recycling in data.recycling.items():
            recycled = _value(solution, "recycled", (m, t))
            feed = _value(solution, "feed", (m, t))
            rows.append(dict(year=t, mineral=m, stream=recycling.stream, feedstock_t=data.feedstock_t(m, t),
                             feed_t=feed,
                             recovery_rate=recycling.recovery_rate, recycled_t=recycled,
                             share_of_target=recycled / data.target[m, t] if data.target[m, t] > 0 else 0.0,
                             processing_cost=recycling.unit_cost * feed))
    columns = ["year", "mineral", "stream", "feedstock_t", "feed_t", "recovery_rate", "recycled_t", "share_of_target",
               "processing_cost"]
    return pd.DataFrame(rows, columns=columns)


def plant_table(data: ModelData, solution: Solution) -> pd.DataFrame:
    rows = []
    for k, plant in data.plants.items():
        begin = start_year(data, solution.values, "plant_start", k)
        annual = annual_capital_cost(data, plant) + plant.fixed_cost
        rows.append(dict(plant=k, stream=plant.stream, committed=plant.committed, built=begin is not None,
                         start_year=begin,
                         capacity_t=plant.capacity_t, capex=plant.capex,
                         capex_charged=0.0 if plant.committed or begin is None else plant.capex,
                         life_years=plant.life_years, annual_cost=annual if begin is not None else 0.0))
    return pd.DataFrame(rows, columns=["plant", "stream", "committed", "built", "start_year", "capacity_t", "capex",
                                       "capex_charged", "life_years", "annual_cost"])


def cost_table(data: ModelData, solution: Solution, flows: pd.DataFrame) -> pd.DataFrame:
    """Annual cost by lever and component per year, recomputed from the data (undiscounted;
    ``discount_factor`` is the weight of the year in the objective)."""
    values = solution.values
    rows = []
    for t in data.years:
        market = flows[(flows["year"] == t) & (flows["source_type"] == "market")]
        purchases = sum(data.unit_cost(o, t) * x for o, x in zip(market["source_id"], market["tonnes"]))
        fixed = sum(r.fixed_cost * _value(solution, "use", (o, t)) for o, r in data.routes.items() if r.needs_switch)
        capex = sum(annual_capital_cost(data, p) * built_in(data, values, "stake_start", name, t)
                    for name, p in data.projects.items())
        offtake = sum(data.flow_unit_cost((p, m), t) * _value(solution, "offtake", (p, m, t)) for p, m in data.offtakes)
        plants = sum((annual_capital_cost(data, k) + k.fixed_cost) * built_in(data, values, "plant_start", name, t)
                     for name, k in data.plants.items())
        processing = sum(r.unit_cost * _value(solution, "feed", (m, t)) for m, r in data.recycling.items())
        carrying = sum(mn.holding_cost_rate * data.reference_price(m, t) * _value(solution, "stock", (m, t))
                       for m, mn in data.minerals.items())
        # every elastic slack at its weight (optimization.build.RELAXABLE): the model's own sum
        penalty = _value(solution, "cost", ("shortfall", t))
        for lever, component, cost in [
            ("market", "purchases", purchases), ("market", "route fixed costs", fixed),
            ("equity", "capex annuity", capex), ("equity", "offtake", offtake),
            ("recycling", "plant capex annuity and fixed costs", plants), ("recycling", "processing", processing),
            ("stockpile", "carrying cost", carrying),
            ("recourse", "expected disruption cost, or its CVaR mix (stochastic mode)",
             _value(solution, "cost", ("recourse", t))),
            ("shortfall", "penalty (elastic diagnosis only)", penalty),
        ]:
            rows.append(dict(year=t, lever=lever, component=component, cost=cost, discount_factor=data.discount(t)))
    return pd.DataFrame(rows, columns=["year", "lever", "component", "cost", "discount_factor"])


def tidy(data: ModelData, outcome: Outcome) -> Results:
    """All result tables for an outcome (the elastic solution when the strict one is infeasible)."""
    solution = outcome.solution
    flows = mark_ties(data, flow_table(data, solution))  # tied_with: routes alike at equal cost (results.ties)
    shares = share_table(data, flows)
    elastic = outcome.elastic is not None
    costs = cost_table(data, solution, flows)
    risk, risk_scenarios = (None if elastic else portfolio_risk(data, solution, costs)) or (None, None)
    return Results(
        run_name=data.run.name,
        status=outcome.status,
        objective=None if elastic else solution.objective,
        mip_gap=solution.mip_gap,
        bound=None if elastic else solution.bound,
        year=max(data.years),
        flows=flows,
        minerals=mineral_table(data, solution, flows, shares),
        shares=shares,
        projects=project_table(data, solution),
        recycling=recycling_table(data, solution),
        plants=plant_table(data, solution),
        costs=costs,
        diagnosis=diagnose(data, solution, flows, shares) if elastic else [],
        elastic_objective=solution.objective if elastic else None,
        marginal_values=marginal_table(outcome),
        forced_in=forced_table(data, outcome),
        stockpile=stockpile_table(data, solution, shares),
        inputs={name: frame for name, frame in data.dataset.tables.items()},
        risk=risk,
        risk_scenarios=risk_scenarios,
        decomposition=getattr(outcome, "decomposition", None),
    )


def forced_table(data: ModelData, outcome: Outcome) -> pd.DataFrame:
    """Forced-in costs, cheapest first (infeasible ones last), with each asset's name and capex."""
    forced = getattr(outcome, "forced", None)
    columns = ["kind", "id", "name", "capex", "forced_in_cost", "forced_objective", "start_year", "reason"]
    if not forced:
        return pd.DataFrame(columns=columns)
    rows = [dict(row, name=data.projects[row["id"]].name if row["kind"] == "project" else row["id"],
                 capex=(data.projects[row["id"]] if row["kind"] == "project" else data.plants[row["id"]]).capex)
            for row in forced["rows"]]
    rows.sort(key=lambda r: (r["forced_in_cost"] is None, r["forced_in_cost"] or 0.0, r["id"]))
    return pd.DataFrame(rows, columns=columns)


def marginal_table(outcome: Outcome) -> pd.DataFrame:
    prices = getattr(outcome, "marginal", None)
    return pd.DataFrame(prices["rows"] if prices else [], columns=MARGINAL_COLUMNS)


def stockpile_table(data: ModelData, solution: Solution, shares: pd.DataFrame) -> pd.DataFrame:
    """Per year and mineral: stock level, days covered, build-up against the stock already held.

    ``requirement_days`` is the stock in days of the annual requirement,
    ``floor_days`` the least it may be (the mineral's or the run's stockpile_min_days);
    ``exposure_days`` in days of the largest single foreign-country flow at
    either stage (what the ``stockpile_days`` rule sizes; ``rule_t`` is the
    level the rule asks for).  ``build_up_t`` is the stock added since the
    year before (the first year: since the existing stock; negative: released).
    """
    rows = []
    for t in data.years:
        for m, mineral in data.minerals.items():
            target = data.target[m, t]
            stock = _value(solution, "stock", (m, t))
            of = shares[(shares["year"] == t) & (shares["mineral"] == m) & shares["stage"].isin(STAGES)]
            exposure = float(of["tonnes"].max()) if len(of) else 0.0
            before = _value(solution, "stock", (m, t - 1)) if t > data.years[0] else mineral.existing_stock_t
            rule = data.policy.stockpile_days / 365.0 * exposure if data.policy.stockpile_mode == "rule" else None
            rows.append(dict(year=t, mineral=m, unit=mineral.unit, target_t=target, stockpile_t=stock,
                             rule_t=rule, requirement_days=stock / target * 365.0 if target > 0 else 0.0,
                             floor_days=data.floor_days(m),
                             largest_exposure_t=exposure,
                             exposure_days=stock / exposure * 365.0 if exposure > 0 else None,
                             existing_stock_t=mineral.existing_stock_t, build_up_t=stock - before,
                             max_stock_build_t=mineral.max_stock_build_t,
                             carrying_cost=mineral.holding_cost_rate * data.reference_price(m, t) * stock))
    columns = ["year", "mineral", "unit", "target_t", "stockpile_t", "rule_t", "requirement_days", "floor_days",
               "largest_exposure_t", "exposure_days", "existing_stock_t", "build_up_t", "max_stock_build_t",
               "carrying_cost"]
    return pd.DataFrame(rows, columns=columns)
