"""The portfolio MILP: sets, variables, one ``define_<family>`` per constraint family, the objective.

Notation as in docs/model.md: market route ``o``, project ``p``, mineral
``m``, recycling plant ``k``, foreign country ``c``, stage ``g`` in {mine,
refine}, planned year ``t`` (one year, or every year of a pathway, planned
at once), disruption scenario ``s``.  Every flow is in tonnes per year of
the mineral's reporting unit; every cost in the dataset's currency per year;
the objective discounts each planned year to the first.

Index sets (``define_sets``; sparse and sorted, from the rows that exist):
``route_years`` the (route, year) pairs in which a route exists (docs/model.md's
O_t), ``switched_route_years`` those with a binary, ``PM`` the (project,
mineral) offtakes, ``stake_years``/``plant_years`` the (project, year) and
(plant, year) pairs in which a stake or plant can start, ``recycled_minerals``
the minerals with recycling feedstock (R).

Variables, named from the domain with docs/model.md's symbol:

- ``buy[o,t]``        x[o,t]   tonnes bought on market route o
- ``use[o,t]``        z[o,t]   binary: route o used (only routes with min_t or fixed_cost)
- ``stake_start[p,t]`` y[p,t] binary: the stake in project p starts delivering in year t
                               (built B[p,t] = sum_{tau <= t} y[p,tau]; committed stakes have B fixed)
- ``offtake[p,m,t]``  q[p,m,t] tonnes of m taken from project p
- ``stock[m,t]``      s[m,t]   stockpile level held
- ``plant_start[k,t]`` b[k,t] binary: recycling plant k starts running in year t
- ``feed[m,t]``, ``recycled[m,t]``  f, r: recycling feed and output
- ``draw``, ``emergency``, ``unmet``  w, v, n: the second stage of the stochastic mode (``define_recourse``),
  with ``var_level``/``tail_excess`` (eta, u) for CVaR (``define_risk``) and the N-1 rows (``define_n_minus_1``)
- ``shortfall[m,t]``  u[m,t]   unmet target (elastic mode only), with ``recycling_gap`` and ``ally_gap`` the
  slacks of the two floors and, in elastic mode only, one slack per other limit that can make the strict
  model infeasible (``RELAXABLE``): caps, any-stage caps, the conflict share, committed take-or-pay floors,
  the stock floor and the stock-move limit.

Mine blends (``mine_mix``): a flow counts at the mine stage as share x flow
for each country of its blend (``ModelData.stage_shares``).

The model never touches files; ``build_model`` only reads ``ModelData``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from ..inputs.data import ModelData
from ..inputs.disruptions import constants, country_loss, foreign_countries
from ..inputs.runfile import STAGES
from ..inputs.scenarios import recourse_scenarios

# The levers, the elastic slacks (RELAXABLE: the limit each relaxes, the position of the mineral in its
# index, its penalty weight) and the capital recovery factor are plain data the results share: types.py.
from .types import LEVERS, RELAXABLE, capital_recovery_factor  # noqa: F401


def build_model(data: ModelData, elastic: bool = False, scenarios: dict[str, float] | None = None
                ) -> pyo.ConcreteModel:
    """Assemble the model: sets, variables, the eight families, the objective.

    ``elastic`` adds named, penalized shortfalls so that the model is always
    feasible; used to diagnose an infeasible strict model.
    ``scenarios`` (stochastic mode) keeps only these recourse scenarios, each weighted by the number given
    instead of its probability: the first stage plus one bundle's second stage, as the scenario
    decomposition builds its subproblems (``decompose.py``).  None: every scenario, the extensive form.
    """
    model = pyo.ConcreteModel(name=data.run.name)
    model.elastic = elastic
    model.only_scenarios = scenarios
    define_sets(model, data)
    define_variables(model, data)
    define_target(model, data)
    define_country_cap(model, data)
    define_route_bounds(model, data)
    define_equity(model, data)
    define_recycling(model, data)
    define_stockpile(model, data)
    define_budget(model, data)
    define_choices(model, data)
    define_policy_limits(model, data)
    define_recourse(model, data)
    define_risk(model, data)
    define_n_minus_1(model, data)
    define_objective(model, data)
    return model


def define_sets(model, data: ModelData) -> None:
    """Sparse, sorted index sets: only the (route, year) pairs that exist, only the start years
    a project or plant can have (from available_from on; none when committed)."""
    model.T = pyo.Set(initialize=data.years, ordered=True)
    model.M = pyo.Set(initialize=sorted(data.minerals), ordered=True)
    active = [(o, t) for o in sorted(data.routes) for t in data.years if data.routes[o].active(t)]
    model.active_routes = set(active)
    model.route_years = pyo.Set(initialize=active, dimen=2, ordered=True)
    model.switched_route_years = pyo.Set(initialize=[(o, t) for o, t in active if data.routes[o].needs_switch], dimen=2,
                              ordered=True)
    model.PM = pyo.Set(dimen=2, initialize=sorted(data.offtakes), ordered=True)
    model.stake_years = pyo.Set(initialize=[(p, t) for p in sorted(data.projects) for t in data.years
                                   if not data.projects[p].committed and t >= data.projects[p].available_from],
                       dimen=2, ordered=True)
    model.plant_years = pyo.Set(initialize=[(k, t) for k in sorted(data.plants) for t in data.years
                                   if not data.plants[k].committed and t >= data.plant_from(k)],
                       dimen=2, ordered=True)
    model.recycled_minerals = pyo.Set(initialize=sorted(data.recycling), ordered=True)  # minerals with feedstock


def define_variables(model, data: ModelData) -> None:
    """Decisions, with docs/model.md's symbols (module docstring); sparse: only existing (route, year) pairs and
    start years.  The three elastic slacks of targets and floors exist in both modes (fixed at 0 when strict)."""
    model.buy = pyo.Var(model.route_years, within=pyo.NonNegativeReals)
    model.use = pyo.Var(model.switched_route_years, within=pyo.Binary)
    model.stake_start = pyo.Var(model.stake_years, within=pyo.Binary)  # y[p,t]: offtake from p starts in year t
    model.offtake = pyo.Var(model.PM, model.T, within=pyo.NonNegativeReals)
    model.stock = pyo.Var(model.M, model.T, within=pyo.NonNegativeReals)
    model.plant_start = pyo.Var(model.plant_years, within=pyo.Binary)  # b[k,t]: plant k runs from year t
    model.feed = pyo.Var(model.recycled_minerals, model.T, within=pyo.NonNegativeReals)
    model.recycled = pyo.Var(model.recycled_minerals, model.T, within=pyo.NonNegativeReals)
    # The slacks exist in both modes and are fixed at zero in the strict one, so
    # a target no option can reach is an infeasible row, not a trivial False.
    model.shortfall = pyo.Var(model.M, model.T, within=pyo.NonNegativeReals)
    model.recycling_gap = pyo.Var(model.M, model.T, within=pyo.NonNegativeReals)
    model.ally_gap = pyo.Var(pyo.Set(initialize=STAGES), model.M, model.T, within=pyo.NonNegativeReals)
    model.relaxable = ["shortfall", "recycling_gap", "ally_gap"]  # the slack components, for objective and diagnosis
    if not model.elastic:
        for slack in (model.shortfall, model.recycling_gap, model.ally_gap):
            slack.fix(0)


def relaxation(model, name: str, index: list):
    """The elastic slack ``name`` over ``index`` (a row's index): a variable per row in elastic mode,
    else 0 (the strict model carries no such columns)."""
    if not model.elastic:
        return lambda *key: 0.0
    model.add_component(name, pyo.Var(pyo.Set(initialize=index, dimen=len(index[0]) if index else 1, ordered=True),
                                      within=pyo.NonNegativeReals))
    model.relaxable.append(name)
    slack = getattr(model, name)
    return lambda *key: slack[key] if key in slack else 0.0


def supply_of(model, data: ModelData, mineral: str, year: int):
    """Market plus equity flow of ``mineral`` in ``year`` (foreign-sourced tonnes)."""
    return (sum(model.buy[o, year] for o in data.routes_in(mineral, year))
            + sum(model.offtake[p, m, year] for p, m in data.offtakes_of(mineral)))


def project_built(model, data: ModelData, project: str, year: int):
    """B[p,t] = sum_{tau <= t} y[p,tau]; 1 from max(first year, available_from) on when committed."""
    if data.projects[project].committed:
        return 1.0 if year >= max(data.years[0], data.projects[project].available_from) else 0.0
    return sum(model.stake_start[project, tau] for tau in data.years
               if tau <= year and (project, tau) in model.stake_years)


def plant_built(model, data: ModelData, plant: str, year: int):
    """Built plants, as ``project_built``."""
    if data.plants[plant].committed:
        return 1.0 if year >= max(data.years[0], data.plant_from(plant)) else 0.0
    return sum(model.plant_start[plant, tau] for tau in data.years if tau <= year and (plant, tau) in model.plant_years)


def recycled_of(model, mineral: str, year: int):
    return model.recycled[mineral, year] if mineral in model.recycled_minerals else 0.0


def flow_of(model, data: ModelData, flow, year: int):
    """x[o,t] for a route id, q[p,m,t] for an offtake (p, m)."""
    if data.flows[flow].is_offtake:
        return model.offtake[flow[0], flow[1], year]
    return model.buy[flow, year] if (flow, year) in model.active_routes else 0.0


def _nontrivial(rule):
    """Skip rows that hold whatever the decisions (e.g. an empty sum <= a bound)."""

    def wrapped(*args):
        expression = rule(*args)
        if expression is True:
            return pyo.Constraint.Skip
        if expression is False:
            raise AssertionError(f"constraint {rule.__name__}{args[1:]} can never hold")
        return expression

    return wrapped


def define_target(model, data: ModelData) -> None:
    """Family 1, target: sum_o x[o] + sum_p q[p,m] + r[m] (+ u[m]) >= target[m], for all m, t."""

    def rule(model, m, t):
        shortfall = model.shortfall[m, t]
        return supply_of(model, data, m, t) + recycled_of(model, m, t) + shortfall >= data.target[m, t]

    model.target = pyo.Constraint(model.M, model.T, rule=_nontrivial(rule))


def define_country_cap(model, data: ModelData) -> None:
    """Family 2, single-country cap: for m, g in cap_stages, foreign c, t:

        sum_{e of m} share_g[e,c] flow[e] (- slack) <= cap[m] * target[m]

    share_g[e,c] is 1 when e's stage-g country is c (a blend's share of c at the
    mine stage).  The denominator is the requirement, not the purchase, so surplus
    bought elsewhere cannot dilute a dependence.  Recycling is home and never capped.
    """
    exposures = data.exposures(data.policy.cap_stages)
    index = [(m, g, c, t) for (m, g, c) in exposures for t in data.years]
    slack = relaxation(model, "cap_gap", index)

    def rule(model, m, g, c, t):
        flows = sum(share * flow_of(model, data, e, t) for e, share in exposures[m, g, c].items())
        return flows - slack(m, g, c, t) <= data.policy.cap(m) * data.target[m, t]

    model.country_cap = pyo.Constraint(pyo.Set(initialize=index, dimen=4, ordered=True), rule=_nontrivial(rule))


def define_route_bounds(model, data: ModelData) -> None:
    """Family 3, market routes, in each year t the route exists (year_from <= t <= year_to):
    x[o,t] <= max_t[o]; with a switch, min_t z[o,t] <= x[o,t] <= max_t z[o,t]."""

    def upper(model, o, t):
        route = data.routes[o]
        if (o, t) in model.switched_route_years:
            return model.buy[o, t] <= route.max_t * model.use[o, t]
        return model.buy[o, t] <= route.max_t

    def lower(model, o, t):
        return model.buy[o, t] >= data.routes[o].min_t * model.use[o, t]

    model.route_max = pyo.Constraint(model.route_years, rule=_nontrivial(upper))
    switched_with_minimum = [(o, t) for o, t in model.switched_route_years if data.routes[o].min_t > 0]
    model.route_min = pyo.Constraint(pyo.Set(initialize=switched_with_minimum, dimen=2, ordered=True),
                                     rule=_nontrivial(lower))


def define_equity(model, data: ModelData) -> None:
    """Family 4, equity, with B[p,t] = sum_{tau <= t} y[p,tau] (built by year t):

        min_take * offtake * B[p,t] (- slack, committed only) <= q[p,m,t] <= offtake * B[p,t],
        sum_t y[p,t] <= 1

    y[p,t] exists only for t >= available_from[p], so a project not on stream
    by a year cannot deliver in it.  A committed project has B = 1 from
    max(first year, available_from) on.  With one year, B[p] = y[p].
    """

    def upper(model, p, m, t):
        return model.offtake[p, m, t] <= data.offtakes[p, m].offtake_t * project_built(model, data, p, t)

    def lower(model, p, m, t):
        offtake = data.offtakes[p, m]
        return (model.offtake[p, m, t] + slack(p, m, t)
                >= offtake.min_take * offtake.offtake_t * project_built(model, data, p, t))

    model.offtake_max = pyo.Constraint(model.PM, model.T, rule=_nontrivial(upper))
    take_or_pay = [(p, m, t) for (p, m), o in sorted(data.offtakes.items()) if o.min_take > 0 for t in data.years]
    # Only a committed stake's floor can make the strict model infeasible (a new one can be left out).
    slack = relaxation(model, "take_or_pay_gap",
                       [(p, m, t) for p, m, t in take_or_pay if data.projects[p].committed])

    model.offtake_min = pyo.Constraint(pyo.Set(initialize=take_or_pay, dimen=3, ordered=True), rule=_nontrivial(lower))
    starts = sorted({p for p, _ in model.stake_years})
    model.start_once = pyo.Constraint(
        pyo.Set(initialize=[p for p in starts if sum(1 for q, _ in model.stake_years if q == p) > 1], ordered=True),
        rule=lambda model, p: sum(model.stake_start[p, t] for t in data.years if (p, t) in model.stake_years) <= 1)
    define_plant_start(model, data)


def define_plant_start(model, data: ModelData) -> None:
    """A recycling plant starts at most once: sum_t b[k,t] <= 1 (B[k,t] = sum_{tau <= t} b[k,tau])."""
    plants = sorted({k for k, _ in model.plant_years})
    model.plant_once = pyo.Constraint(
        pyo.Set(initialize=[k for k in plants if sum(1 for q, _ in model.plant_years if q == k) > 1], ordered=True),
        rule=lambda model, k: sum(model.plant_start[k, t] for t in data.years if (k, t) in model.plant_years) <= 1)


def define_recycling(model, data: ModelData) -> None:
    """Family 5, recycling, per year t: r[m] <= recovery[m] f[m]; f[m] <= feedstock[m,t];
    per stream: sum_{m in stream} f[m] <= sum_{k of that stream} capacity[k] B[k,t] (plants built by t);
    r[m] (+ gap) >= share[m] * target[m]."""
    model.recovery = pyo.Constraint(
        model.recycled_minerals, model.T,
        rule=lambda model, m, t: model.recycled[m, t] <= data.recycling[m].recovery_rate * model.feed[m, t])
    model.feedstock = pyo.Constraint(
        model.recycled_minerals, model.T, rule=lambda model, m, t: model.feed[m, t] <= data.feedstock_t(m, t))
    streams = data.stream_minerals

    def capacity(model, stream, t):
        return (sum(model.feed[m, t] for m in streams[stream])
                <= sum(data.plants[k].capacity_t * plant_built(model, data, k, t)
                       for k in sorted(data.plants) if data.plants[k].stream == stream))

    model.plant_capacity = pyo.Constraint(
        pyo.Set(initialize=[(stream, t) for stream in streams for t in data.years], dimen=2, ordered=True),
        rule=_nontrivial(capacity))

    shares = data.policy.min_recycling_share
    index = [(m, t) for m in sorted(shares) if shares[m] > 0 for t in data.years]

    def floor(model, m, t):
        gap = model.recycling_gap[m, t]
        return recycled_of(model, m, t) + gap >= shares[m] * data.target[m, t]

    model.recycling_share = pyo.Constraint(pyo.Set(initialize=index, dimen=2, ordered=True), rule=_nontrivial(floor))


def define_stockpile(model, data: ModelData) -> None:
    """Family 6, stockpile: for every foreign c and both stages (whatever cap_stages says),

        s[m] >= stockpile_days/365 * sum_{e of m} share_g[e,c] flow[e]

    so the stock covers losing the largest single-country exposure for
    stockpile_days; plus the floor s[m] (+ slack) >= min_days[m]/365 * target[m], min_days[m] the
    mineral's stockpile_min_days or, blank, the run's.
    With stockpile_mode = "stochastic" the rule is dropped (the floor stays):
    ``define_recourse`` prices the stock against the disruption scenarios.
    Stock moves, only when several years are planned (one year is a steady state):
    s[m,t] - s[m,t-1] (- slack) <= max_stock_build_t[m], with s[m, first-1] = existing_stock_t.
    """
    days = data.policy.stockpile_days
    # In stochastic mode the scenarios size the stock instead of the rule.
    rule_applies = days > 0 and data.policy.stockpile_mode == "rule"
    exposures = data.exposures(STAGES) if rule_applies else {}
    index = [(m, g, c, t) for (m, g, c) in exposures for t in data.years]

    def cover(model, m, g, c, t):
        return model.stock[m, t] >= days / 365.0 * sum(share * flow_of(model, data, e, t)
                                                       for e, share in exposures[m, g, c].items())

    model.stockpile_cover = pyo.Constraint(pyo.Set(initialize=index, dimen=4, ordered=True), rule=_nontrivial(cover))
    # Per mineral: minerals.stockpile_min_days, else the run's stockpile_min_days (ModelData.floor_days).
    floor_index = [(m, t) for m in model.M if data.floor_days(m) > 0 for t in data.years]
    floor_slack = relaxation(model, "stock_floor_gap", floor_index)
    model.stockpile_floor = pyo.Constraint(
        pyo.Set(initialize=floor_index, dimen=2, ordered=True),
        rule=lambda model, m, t: model.stock[m, t] + floor_slack(m, t) >= data.floor_days(m) / 365.0
        * data.target[m, t])

    limited = [(m, t) for m in sorted(data.minerals) if data.minerals[m].max_stock_build_t is not None
               for t in data.years] if len(data.years) > 1 else []
    move_slack = relaxation(model, "stock_move_gap", limited)

    def build_limit(model, m, t):
        before = model.stock[m, t - 1] if t > data.years[0] else data.minerals[m].existing_stock_t
        return model.stock[m, t] - before - move_slack(m, t) <= data.minerals[m].max_stock_build_t

    model.stock_build = pyo.Constraint(pyo.Set(initialize=limited, dimen=2, ordered=True),
                                       rule=_nontrivial(build_limit))


def define_budget(model, data: ModelData) -> None:
    """Family 7, investment budget, each capex counted once over the horizon (committed ones are sunk):

        sum_{p,t} capex[p] y[p,t] + sum_{k,t} capex[k] b[k,t] <= budget
    """
    budget = data.policy.investment_budget
    if budget is None or not (len(model.stake_years) or len(model.plant_years)):
        model.budget = pyo.Constraint(rule=lambda model: pyo.Constraint.Skip)
        return
    spent = (sum(data.projects[p].capex * model.stake_start[p, t] for p, t in model.stake_years)
             + sum(data.plants[k].capex * model.plant_start[k, t] for k, t in model.plant_years))
    model.budget = pyo.Constraint(expr=spent <= budget)


def define_choices(model, data: ModelData) -> None:
    """Analyst choices (policy.force_projects, policy.exclude_projects; ids of projects or plants):

        forced:   sum_t y[p,t] = 1      (b[k,t] for a plant)
        excluded: y[p,t] = 0 for all t

    A committed asset is on already and cannot be excluded (the run file is checked against the data).
    """
    forced = set(getattr(data.policy, "force_projects", ()))
    excluded = set(getattr(data.policy, "exclude_projects", ()))
    starts = {**{("project", p): [t for q, t in model.stake_years if q == p] for p in data.projects},
              **{("plant", k): [t for q, t in model.plant_years if q == k] for k in data.plants}}
    rows = []
    for (kind, name), years in sorted(starts.items()):
        variable = model.stake_start if kind == "project" else model.plant_start
        if name in excluded:
            for t in years:
                variable[name, t].fix(0)
        elif name in forced and years:
            rows.append((kind, name))
    model.forced_choice = pyo.Constraint(
        pyo.Set(initialize=rows, dimen=2, ordered=True),
        rule=lambda model, kind, name: sum((model.stake_start if kind == "project" else model.plant_start)[name, t]
                                           for t in starts[kind, name]) == 1)


def define_policy_limits(model, data: ModelData) -> None:
    """Family 8, policy limits, per mineral m and year t:

    - conflict: sum_e (share of e mined in conflict-affected countries) flow[e]
      (- slack) <= conflict_max_share * target[m];
    - any stage (optional): for each foreign c, sum_e touch[e,c] flow[e] (- slack) <= any_stage_cap * target[m],
      touch[e,c] = 1 when e is refined in c, else the share of e mined in c (each tonne counted once);
    - ally: sum_e (share of e whose stage-g country is home or an ally) flow[e] + recycling (home)
      (+ gap) >= ally_min_share[g] * target[m], for g in mine, refine.
    """
    policy = data.policy
    conflict_index = ([(m, t) for m in model.M for t in data.years]
                      if policy.conflict_max_share < 1 and data.conflict else [])

    conflict_slack = relaxation(model, "conflict_gap", conflict_index)

    def conflict(model, m, t):
        flows = sum(data.share_in(e, data.conflict) * flow_of(model, data, e, t) for e in data.flows_of(m))
        return flows - conflict_slack(m, t) <= policy.conflict_max_share * data.target[m, t]

    model.conflict_share = pyo.Constraint(pyo.Set(initialize=conflict_index, dimen=2, ordered=True),
                                          rule=_nontrivial(conflict))

    friendly = data.allies | {data.home}
    ally_index = [(g, m, t) for g in STAGES if policy.ally_min_share.get(g, 0) > 0 for m in model.M for t in data.years]

    def ally(model, g, m, t):
        flows = sum(sum(share for c, share in data.stage_shares(e, g).items() if c in friendly)
                    * flow_of(model, data, e, t) for e in data.flows_of(m))
        gap = model.ally_gap[g, m, t]
        return flows + recycled_of(model, m, t) + gap >= policy.ally_min_share[g] * data.target[m, t]

    model.ally_share = pyo.Constraint(pyo.Set(initialize=ally_index, dimen=3, ordered=True), rule=_nontrivial(ally))

    any_cap = policy.any_stage_cap
    touching: dict[tuple[str, str], dict] = {}
    if any_cap is not None:
        for flow in list(data.routes) + list(data.offtakes):
            countries = set(data.stage_shares(flow, "mine")) | {data.stage_country(flow, "refine")}
            for country in sorted(countries - {data.home}):
                touching.setdefault((data.mineral_of(flow), country), {})[flow] = data.touch_share(flow, country)
    any_index = [(m, c, t) for (m, c) in sorted(touching) for t in data.years]
    any_slack = relaxation(model, "any_stage_gap", any_index)

    def any_stage(model, m, c, t):
        flows = sum(share * flow_of(model, data, e, t) for e, share in touching[m, c].items())
        return flows - any_slack(m, c, t) <= any_cap * data.target[m, t]

    model.any_stage_cap = pyo.Constraint(pyo.Set(initialize=any_index, dimen=3, ordered=True),
                                         rule=_nontrivial(any_stage))


def define_recourse(model, data: ModelData) -> None:
    """Second stage of stockpile_mode = "stochastic", per scenario s, mineral m, year t (docs/model.md §8):

        L[m,s] = sum_e a[e,s] x[e]                      tonnes lost over the event
        0 <= w[m,s] <= s[m]                              stock drawn
        0 <= v[o,s] <= (max_t[o] - x[o]) D[m,s]/365     emergency buys on unaffected routes (a[o,s] = 0)
        n[m,s] >= L[m,s] - w[m,s] - sum_o v[o,s]         unmet, n >= 0
        R[s] = sum_o max(surge[m] unit_cost[o], rho[m,s]) v[o,s] + sum_m max(reference_price[m], rho[m,s]) w[m,s]
               + sum_m max(shortfall_penalty[m], rho[m,s]) n[m,s] - sum_e a[e,s] unit_cost[e] x[e]
               + sum_e P[e,s] unit_cost[e] x[e]          (price shocks, docs/model.md §12)

    rho[m,s] is the dearest unit cost among the flows of m the scenario hits (a constant): every tonne
    that covers a loss costs at least what the dearest lost tonne would have, so R[s] >= 0 and a
    disruption never rewards a concentrated portfolio.  P[e,s] >= 0 is the share of e's purchase cost
    paid extra while a price shock lasts.  In year t, a, D, rho and P count only the flows that exist in
    t (``inputs.disruptions``).  Country caps do not bind emergency buys.  Only (m, s, t) with a flow the
    scenario hits in t get variables (a price shock alone adds a term to R[s], no variable).  Variables
    are per *mineral case* (m, k, t) rather than per (m, s, t): scenarios that do the same to m share them.

    The scenarios (``inputs.scenarios.recourse_scenarios``) are each event of the disruptions table alone
    (risk_measure = "expected") or the joint scenarios (risk_measure = "cvar"), whose constants are the
    max over their events' (``disruptions.combine``).  In rule mode there are none.  ``define_risk``
    weighs R[s] into the objective.
    """
    scenarios, distribution = recourse_scenarios(data)
    only = getattr(model, "only_scenarios", None)
    if only is not None:  # one bundle of the decomposition: its scenarios, each with the weight given
        scenarios = [s for s in scenarios if s.name in only]
    model.scenario_probability = {s.name: (only[s.name] if only is not None else s.probability) for s in scenarios}
    model.scenario_distribution = distribution
    # The second stage separates by mineral, so R[s] = sum_m r[m,k] with k the scenario's *mineral case*:
    # what it does to m (lost flows and a, D, rho, P).  Scenarios alike for m (e.g. joint scenarios that
    # differ only in events hitting other minerals) share the case's variables; the least recourse of a
    # case is the same whichever scenario it occurs in, so sharing loses nothing, and a few dozen cases
    # replace thousands of (m, s) pairs.
    cases: dict[tuple, int] = {}  # (m, t, what happens to m) -> k
    lost, spare, duration, floor, uplift = {}, {}, {}, {}, {}
    case_of: dict[tuple[str, int], list[tuple[str, int]]] = {}  # (s, t) -> [(m, k)]
    cache: dict = {}
    for t in data.years:
        for scenario in scenarios:
            found = constants(data, scenario, t, cache)
            for m in found.minerals():
                hit = {e: a for e, a in found.lost.items() if data.mineral_of(e) == m}
                dearer = {e: p for e, p in found.uplift.items() if data.mineral_of(e) == m}
                if not hit and not dearer:
                    continue
                what = (tuple(sorted(hit.items(), key=str)), tuple(sorted(dearer.items(), key=str)),
                        found.duration[m] if hit else 0.0, found.floor.get(m, 0.0) if hit else 0.0)
                key = (m, t, what)
                if key not in cases:
                    k = cases[key] = sum(1 for mm, tt, _ in cases if (mm, tt) == (m, t))
                    if dearer:
                        uplift[m, k, t] = dearer
                    if hit:
                        lost[m, k, t] = hit
                        duration[m, k, t] = found.duration[m]
                        floor[m, k, t] = found.floor[m]
                        spare[m, k, t] = [o for o in data.routes_in(m, t) if o not in found.lost]
                case_of.setdefault((scenario.name, t), []).append((m, cases[key]))
    events = sorted(lost)
    model.S = pyo.Set(initialize=sorted(model.scenario_probability), ordered=True)
    model.E = pyo.Set(initialize=events, dimen=3, ordered=True)  # (m, k, t): a mineral case with losses
    model.EO = pyo.Set(initialize=[(o, k, t) for m, k, t in events for o in spare[m, k, t]], dimen=3, ordered=True)
    model.draw = pyo.Var(model.E, within=pyo.NonNegativeReals)
    model.emergency = pyo.Var(model.EO, within=pyo.NonNegativeReals)
    model.unmet = pyo.Var(model.E, within=pyo.NonNegativeReals)

    model.draw_within_stock = pyo.Constraint(model.E,
                                             rule=lambda model, m, k, t: model.draw[m, k, t] <= model.stock[m, t])

    def spare_capacity(model, o, k, t):
        m = data.mineral_of(o)
        return model.emergency[o, k, t] <= (data.routes[o].max_t - model.buy[o, t]) * duration[m, k, t] / 365.0

    model.emergency_capacity = pyo.Constraint(model.EO, rule=spare_capacity)

    def cover(model, m, k, t):
        loss = sum(a * flow_of(model, data, e, t) for e, a in lost[m, k, t].items())
        emergency = sum(model.emergency[o, k, t] for o in spare[m, k, t])
        return model.unmet[m, k, t] >= loss - model.draw[m, k, t] - emergency

    model.event_balance = pyo.Constraint(model.E, rule=cover)

    def case_cost(model, m, k, t):
        cost = sum(p * data.flow_unit_cost(e, t) * flow_of(model, data, e, t)
                   for e, p in uplift.get((m, k, t), {}).items())
        if (m, k, t) not in lost:
            return cost
        mineral, rho = data.minerals[m], floor[m, k, t]
        return cost + (sum(max(mineral.surge_price_factor * data.flow_unit_cost(o, t), rho) * model.emergency[o, k, t]
                           for o in spare[m, k, t])
                       + max(data.reference_price(m, t), rho) * model.draw[m, k, t]
                       + max(mineral.shortfall_penalty, rho) * model.unmet[m, k, t]
                       - sum(a * data.flow_unit_cost(e, t) * flow_of(model, data, e, t)
                             for e, a in lost[m, k, t].items()))

    model.MKT = pyo.Set(initialize=sorted((m, k, t) for m, t, _ in cases for k in [cases[m, t, _]]), dimen=3,
                        ordered=True)
    model.case_cost = pyo.Expression(model.MKT, rule=case_cost)
    model.recourse_cost = pyo.Expression(
        model.S, model.T, rule=lambda model, s, t: sum(model.case_cost[m, k, t] for m, k in case_of.get((s, t), [])))


def define_risk(model, data: ModelData) -> None:
    """The recourse lever of each year t, ``model.risk_cost[t]`` (docs/model.md §12), over the scenarios
    of ``define_recourse`` with probabilities pi_s:

        risk_measure = "expected":  sum_s p_s R[s,t]                     (each event alone)
        risk_measure = "cvar":      (1 - w) sum_s pi_s R[s,t] + w CVaR_t,  over the joint scenarios, with
            CVaR_t = eta[t] + 1/(1 - alpha) sum_s pi_s u[s,t],  u[s,t] >= R[s,t] - eta[t],  u[s,t] >= 0,
            eta[t] free

    (Rockafellar-Uryasev: at the optimum eta[t] is a VaR_alpha of R[., t] and CVaR_t the mean of the worst
    1 - alpha of the probability mass.)  w is risk_weight, alpha cvar_alpha.  Every year's tail is taken
    alone: in a pathway each planned year's CVaR is discounted with its cost.  At w = 1 the recourse of a
    scenario below VaR is not pinned, so reported figures are evaluated afresh (``results.risk``).
    """
    policy = data.policy
    cvar = getattr(model, "scenario_distribution", None) is not None
    weight = policy.risk_weight if cvar else 0.0
    probability = model.scenario_probability
    tail = [(s, t) for s in sorted(probability) for t in model.T] if weight > 0 else []
    model.ST_tail = pyo.Set(initialize=tail, dimen=2, ordered=True)
    model.var_level = pyo.Var(model.T if weight > 0 else pyo.Set(initialize=[]), within=pyo.Reals)  # eta[t]
    model.tail_excess = pyo.Var(model.ST_tail, within=pyo.NonNegativeReals)  # u[s,t]
    model.tail_row = pyo.Constraint(
        model.ST_tail,
        rule=lambda model, s, t: model.tail_excess[s, t] >= model.recourse_cost[s, t] - model.var_level[t])

    def risk_cost(model, t):
        expected = sum(p * model.recourse_cost[s, t] for s, p in probability.items())
        if weight <= 0:
            return expected
        tail_mean = model.var_level[t] + sum(p * model.tail_excess[s, t] for s, p in probability.items()
                                             ) / (1.0 - policy.cvar_alpha)
        return (1.0 - weight) * expected + weight * tail_mean

    model.risk_cost = pyo.Expression(model.T, rule=risk_cost)


def define_n_minus_1(model, data: ModelData) -> None:
    """N-1 security (policy.n_minus_1, docs/model.md §12), per foreign country c, mineral m and year t, with
    the constants of ``stress --n-1``'s scenario for c (every mineral, both stages, loss 1, D = stockpile_days
    or 90 when 0):

        w1[m,c] <= s[m],   v1[o,c] <= (max_t[o] - x[o]) D/365   (unaffected routes o of m)
        sum_e a[e,c] x[e] - w1[m,c] - sum_o v1[o,c] <= n_minus_1_unmet_share * target[m] * D/365

    i.e. the unmet tonnes n[m,c] of the loss stay within the tolerance.  Only the cover options the exact
    evaluator would use count (priced at most the unmet price max(shortfall_penalty, rho)), so a portfolio
    solved this way shows no unmet tonnes beyond the tolerance in ``critmin stress --n-1``.  These
    scenarios add nothing to the objective.  Rows only for (m, c, t) where c supplies a flow of m.
    """
    rows, spare, stock_counts, lost = [], {}, {}, {}
    if data.policy.n_minus_1:
        cache: dict = {}
        for t in data.years:
            for country in foreign_countries(data):
                found = constants(data, country_loss(data, country), t, cache)
                for m in found.minerals():
                    hit = {e: a for e, a in found.lost.items() if data.mineral_of(e) == m}
                    if not hit:
                        continue
                    mineral, rho, days = data.minerals[m], found.floor[m], found.duration[m]
                    unmet_price = max(mineral.shortfall_penalty, rho)
                    key = (m, country, t)
                    rows.append(key)
                    lost[key] = hit
                    stock_counts[key] = max(data.reference_price(m, t), rho) <= unmet_price
                    spare[key] = (days, [o for o in data.routes_in(m, t) if o not in found.lost
                                         and max(mineral.surge_price_factor * data.flow_unit_cost(o, t), rho)
                                         <= unmet_price])
    model.N1 = pyo.Set(initialize=rows, dimen=3, ordered=True)
    model.N1O = pyo.Set(initialize=[(o, c, t) for m, c, t in rows for o in spare[m, c, t][1]], dimen=3, ordered=True)
    model.n1_draw = pyo.Var(model.N1, within=pyo.NonNegativeReals)
    model.n1_emergency = pyo.Var(model.N1O, within=pyo.NonNegativeReals)
    model.n1_draw_within_stock = pyo.Constraint(
        model.N1, rule=lambda model, m, c, t: model.n1_draw[m, c, t] <= (model.stock[m, t] if stock_counts[m, c, t]
                                                                         else 0.0))

    def spare_capacity(model, o, c, t):
        days = spare[data.mineral_of(o), c, t][0]
        return model.n1_emergency[o, c, t] <= (data.routes[o].max_t - model.buy[o, t]) * days / 365.0

    model.n1_emergency_capacity = pyo.Constraint(model.N1O, rule=spare_capacity)
    share = data.policy.n_minus_1_unmet_share

    def covered(model, m, c, t):
        days, routes = spare[m, c, t]
        loss = sum(a * flow_of(model, data, e, t) for e, a in lost[m, c, t].items())
        return (loss - model.n1_draw[m, c, t] - sum(model.n1_emergency[o, c, t] for o in routes)
                <= share * data.target[m, t] * days / 365.0)

    model.n_minus_1 = pyo.Constraint(model.N1, rule=covered)


def define_objective(model, data: ModelData) -> None:
    """Minimize sum_t (1 + discount_rate)^-(t - first year) cost[t], each year's cost summed from
    each lever's contribution ``model.cost[lever, t]`` (one year: just the annual cost):

    - market: sum_o unit_cost[o,t] x[o,t] + fixed_cost[o] z[o,t]
    - equity: sum_p crf(p) capex[p] B[p,t] + sum_{p,m} unit_cost[p,m,t] q[p,m,t]   (no capex if committed)

    unit_cost[o,t] = max(price_floor, price_index[m,t] unit_cost[o]) or, for a market-linked row,
    max(price_floor, price_factor[o] price_index[m,t] reference_price[m]); an offtake's fixed unit_cost
    is a contract term that price_index does not move (ModelData.flow_unit_cost).
    - recycling: sum_k (crf(k) capex[k] + fixed_cost[k]) B[k,t] + sum_m unit_cost[m] f[m,t]
    - stockpile: sum_m holding_cost_rate[m] price_index[m,t] reference_price[m] s[m,t]
    - recourse: sum_s probability[s] R[s], or with risk_measure = "cvar" (1 - w) E[R] + w CVaR_alpha[R]
      (stochastic mode only, see define_recourse and define_risk)
    - shortfall: sum over the elastic slacks of weight * shortfall_penalty[m] * slack   (elastic mode only;
      RELAXABLE gives each slack's weight)

    crf is the capital recovery factor at discount_rate over the asset's life.
    """
    rate = data.policy.discount_rate

    def market(t):
        return (sum(data.unit_cost(o, tt) * model.buy[o, tt] for o, tt in model.route_years if tt == t)
                + sum(data.routes[o].fixed_cost * model.use[o, tt] for o, tt in model.switched_route_years if tt == t))

    def annuity(asset) -> float:  # sunk when committed
        return 0.0 if asset.committed else capital_recovery_factor(rate, asset.life_years) * asset.capex

    def equity(t):
        return (sum(annuity(data.projects[p]) * project_built(model, data, p, t) for p in sorted(data.projects))
                + sum(data.flow_unit_cost((p, m), t) * model.offtake[p, m, t] for p, m in model.PM))

    def recycling(t):
        plants = sum((annuity(data.plants[k]) + data.plants[k].fixed_cost) * plant_built(model, data, k, t)
                     for k in sorted(data.plants))
        return plants + sum(data.recycling[m].unit_cost * model.feed[m, t] for m in model.recycled_minerals)

    def stockpile(t):
        return sum(data.minerals[m].holding_cost_rate * data.reference_price(m, t) * model.stock[m, t]
                   for m in model.M)

    def shortfall(t):
        total = 0.0
        for name in model.relaxable:
            _, position, weight = RELAXABLE[name]
            total += sum(weight * data.minerals[key[position]].shortfall_penalty * slack
                         for key, slack in getattr(model, name).items() if key[-1] == t)
        return total

    def recourse(t):  # define_risk: the expectation, or (1 - w) E + w CVaR
        return model.risk_cost[t]

    contributions = {"market": market, "equity": equity, "recycling": recycling,
                     "stockpile": stockpile, "recourse": recourse, "shortfall": shortfall}
    model.cost = pyo.Expression(pyo.Set(initialize=LEVERS, ordered=True), model.T,
                                rule=lambda model, lever, t: contributions[lever](t))
    model.objective = pyo.Objective(
        expr=sum(data.discount(t) * model.cost[lever, t] for lever in LEVERS for t in model.T), sense=pyo.minimize)
