"""Marginal values (docs/model.md "Marginal values"): the price of each limit at the chosen portfolio.

HiGHS gives no duals for a MIP.  After the MIP solve every integer variable
is fixed at its value and made continuous, and the LP that is left is
re-solved with a dual ``Suffix`` declared for that re-solve only (declaring it
before the MIP solve makes that solve fail).  The duals then price each
limit with the portfolio's yes/no choices (stakes, plants, route switches)
held:

- ``target``: annual cost of one more tonne of requirement (currency per t,
  per year): the total derivative of the objective in ``target[m,t]``, with
  every limit that is a share of the requirement moving with it.  Each row
  listed in ``TARGET_SCALED`` has a bound ``a * target[m,t]``, so

      d cost / d target[m,t] = (1 + discount_rate)^(t - first year) * sum_rows dual[row] * a[row]

  where the sum over the rows of mineral m and year t reads
  dual(target) + cap[m] sum_{g,c} dual(country_cap[m,g,c])
    + any_stage_cap sum_c dual(any_stage_cap[m,c]) + stockpile_min_days/365 dual(stockpile_floor[m])
    + share[m] dual(recycling_share[m]) + conflict_max_share dual(conflict_share[m])
    + sum_g ally_min_share[g] dual(ally_share[g,m])
    + n_minus_1_unmet_share D/365 sum_c dual(n_minus_1[m,c])   (N-1 security, D its duration),

  each dual being d cost / d (the row's bound) as the row is stated in
  docs/model.md (so a binding cap's dual is negative: more target loosens the
  cap and saves).  The discount factor is undone so that the value is an
  annual, undiscounted cost of year t, as every value here is.
- ``target_row_dual``: the target row's dual alone (the first term), a
  partial derivative with every cap, floor and share held at its tonnage:
  the cost of one more tonne that no limit scales with.  Reported for
  comparison, never under the ``target`` name;
- ``country_cap``: per mineral, stage and foreign country whose cap binds,
  the annual cost saved by loosening that cap by one percentage point
  (positive): ``-dual * target / 100`` for ``flows <= cap * target``;
- ``stockpile_days``: per mineral, the annual cost of one more day of cover:
  the rows are ``s[m] >= days/365 * F[m,g,c]``, so ``d cost / d days`` is the
  sum over the rows of ``dual * F[m,g,c] / 365`` at the LP solution.
- ``budget``: the budget constrains binaries only, so with the binaries held
  its row is a constant and its dual is zero.  Its price is a step instead:
  the cheapest portfolio without the budget; when that is cheaper, the budget
  binds, and its value is the annual cost saved per extra currency unit of
  budget the cheaper portfolio needs (saved / (its capex - budget)).  Only
  the portfolios beyond the budget are searched, with the chosen cost as a
  cutoff (``_budget_rows``).

The LP and the budget's search run in the HiGHS instance that solved the
MIP (``highs.fixed_integer_lp``): the model is not translated again.

Everything returned is plain data (a list of row dictionaries); nothing after
this module touches Pyomo.  The model passed in is left with its binaries
fixed: use it for nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pyomo.environ as pyo

from ..inputs.data import ModelData
from ..inputs.disruptions import n_minus_1_days
from ..inputs.runfile import STAGES
from .build import flow_of
from .types import MARGINAL_COLUMNS

# Rows priced below this (currency per unit) are reported as not binding.
PRICE_TOLERANCE = 1e-7

COLUMNS = MARGINAL_COLUMNS  # each row's keys (types.py: the results read them without Pyomo)
UNITS = {
    "target": "annual cost per extra t of requirement, every cap, floor and share of the requirement moving with it",
    "target_row_dual": "target row's dual alone: annual cost per extra t with every cap, floor and share held in t "
                       "(not the cost of more requirement)",
    "country_cap": "annual cost saved per percentage point of cap",
    "any_stage_cap": "annual cost saved per percentage point of cap",
    "stockpile_days": "annual cost per extra day of cover",
    "budget": "annual cost saved per extra currency unit of budget",
}


@dataclass(frozen=True)
class TargetScaled:
    """A constraint family of build.py whose bound is ``coefficient * target[m,t]``.

    ``side``: "lower" for ``body >= coefficient * target`` (the target, the
    floors, the ally share), "upper" for ``body <= coefficient * target`` (the
    caps, the conflict share), as docs/model.md states the row; a row Pyomo holds
    mirrored is recognized by which of its bounds is finite.
    ``mineral_year``: the row's index -> (m, t).
    ``coefficient``: (data, the row's index) -> the coefficient on target[m,t].
    """

    side: str
    mineral_year: Callable[[tuple], tuple[str, int]]
    coefficient: Callable[[ModelData, tuple], float]


# Every constraint family whose bound moves with target[m,t], by component name, and nothing else:
# d cost / d target[m,t] sums dual * coefficient over these rows.  A family added to build.py with a
# bound that is a share of the requirement must be listed here; tests/test_marginal.py fails until it
# is (it nudges one target and checks that exactly these rows move, by these coefficients).
TARGET_SCALED: dict[str, TargetScaled] = {
    # supply + r (+ u) >= target[m,t]                          index (m, t)
    "target": TargetScaled("lower", lambda i: (i[0], i[1]), lambda data, i: 1.0),
    # flows of m at stage g in country c <= cap[m] target      index (m, g, c, t)
    "country_cap": TargetScaled("upper", lambda i: (i[0], i[3]), lambda data, i: data.policy.cap(i[0])),
    # flows of m mined or refined in c <= any_stage_cap target index (m, c, t)
    "any_stage_cap": TargetScaled("upper", lambda i: (i[0], i[2]), lambda data, i: data.policy.any_stage_cap),
    # s[m] >= min_days[m]/365 target (ModelData.floor_days)   index (m, t)
    "stockpile_floor": TargetScaled("lower", lambda i: (i[0], i[1]),
                                    lambda data, i: data.floor_days(i[0]) / 365.0),
    # r[m] (+ gap) >= min_recycling_share[m] target            index (m, t)
    "recycling_share": TargetScaled("lower", lambda i: (i[0], i[1]),
                                    lambda data, i: data.policy.min_recycling_share[i[0]]),
    # conflict-mined flows <= conflict_max_share target        index (m, t)
    "conflict_share": TargetScaled("upper", lambda i: (i[0], i[1]), lambda data, i: data.policy.conflict_max_share),
    # home-or-ally flows at stage g (+ gap) >= ally_min_share[g] target   index (g, m, t)
    "ally_share": TargetScaled("lower", lambda i: (i[1], i[2]), lambda data, i: data.policy.ally_min_share[i[0]]),
    # N-1: loss of c - cover <= n_minus_1_unmet_share D/365 target   index (m, c, t)
    "n_minus_1": TargetScaled("upper", lambda i: (i[0], i[2]),
                              lambda data, i: data.policy.n_minus_1_unmet_share * n_minus_1_days(data) / 365.0),
}


def target_slopes(model: pyo.ConcreteModel, data: ModelData) -> dict[tuple[str, int], list[tuple]]:
    """(m, t) -> [(row, d bound / d target[m,t])] for every row of ``TARGET_SCALED`` in ``model``.

    The bound is the row's finite one: a row stated as docs/model.md does has
    slope ``coefficient``; a mirrored one (``-body <= -a * target``) has
    ``-coefficient``.  Families absent from the model (not built for this
    run) are skipped; rows of families not listed are not target-scaled.
    """
    slopes: dict[tuple[str, int], list[tuple]] = {}
    for name, family in TARGET_SCALED.items():
        component = model.component(name)
        if component is None:
            continue
        for index, con in component.items():
            index = index if isinstance(index, tuple) else (index,)
            as_stated = (_rhs_sign(con) > 0) == (family.side == "lower")
            slope = family.coefficient(data, index) * (1.0 if as_stated else -1.0)
            slopes.setdefault(family.mineral_year(index), []).append((con, slope))
    return slopes


class MarginalError(Exception):
    """The fixed-binary LP did not solve to optimality (it should whenever the MIP did)."""


def marginal_values(model: pyo.ConcreteModel, data: ModelData, options: dict, objective: float, engine) -> dict:
    """Price each limit at the solved portfolio held in ``model`` (values loaded), in the HiGHS instance
    ``engine`` that solved it (``highs.solve_model_kept``).

    Returns ``{"rows": [...], "lp_objective": float, "seconds": float, "error": str | None}``;
    each row has the keys in ``COLUMNS``.  Should the LP fail (it should not
    when the MIP solved), ``rows`` is empty and ``error`` says why.
    """
    start = time.perf_counter()
    try:
        rows, lp_objective = _price(model, data, options, objective, engine)
    except MarginalError as error:
        return {"rows": [], "lp_objective": None, "seconds": time.perf_counter() - start, "error": str(error)}
    return {"rows": rows, "lp_objective": lp_objective, "seconds": time.perf_counter() - start, "error": None}


def _price(model, data: ModelData, options: dict, objective: float, engine) -> tuple[list[dict], float]:
    from .highs import fixed_integer_lp

    # The budget's step is a MIP re-solve: it runs first, in the instance that still holds the MIP.
    budget_rows = _budget_rows(model, data, options, objective, engine)
    priced = fixed_integer_lp(model, engine, options)
    if priced is None:
        raise MarginalError("the LP with the binaries fixed did not solve to optimality")
    duals, lp_objective = priced
    rows = []
    rows += _target_rows(model, data, duals)
    rows += _cap_rows(model, data, duals)
    rows += _stockpile_rows(model, data, duals)
    rows += budget_rows
    return rows, lp_objective


def _row(kind, year, mineral="", stage="", country="", limit=None, level=None, value=None, **extra) -> dict:
    row = dict(kind=kind, year=year, mineral=mineral, stage=stage, country=country, limit=limit, level=level,
               value=value, unit=UNITS[kind], step_cost_saved=None, step_extra_budget=None)
    row.update(extra)
    return row


def _clean(value: float) -> float:
    return 0.0 if abs(value) < PRICE_TOLERANCE else float(value)


def _rhs_sign(con) -> float:
    """+1 when the row reads ``body >= lower`` (the dual prices the lower bound), -1 for ``body <= upper``."""
    if con.has_lb() and not con.has_ub():
        return 1.0
    if con.has_ub() and not con.has_lb():
        return -1.0
    raise AssertionError(f"{con.name}: expected a one-sided row")


def _target_rows(model, data: ModelData, duals) -> list[dict]:
    """Per (m, t): ``target``, the total derivative sum_rows dual * d bound / d target over the rows
    of ``TARGET_SCALED``, and ``target_row_dual``, the target row's term alone.

    Each dual is d cost / d bound (HiGHS's sign for a minimization), so dual * slope is the row's
    share of d cost / d target.  The objective weighs year t by its discount factor: dividing by it
    gives an annual cost of year t.
    """
    slopes = target_slopes(model, data)
    rows = []
    for (m, t), con in model.target.items():
        scaled = slopes[m, t]
        total = sum(duals.get(row, 0.0) * slope for row, slope in scaled) / data.discount(t)
        alone = sum(duals.get(row, 0.0) * slope for row, slope in scaled if row is con) / data.discount(t)
        supplied = pyo.value(con.body) * _rhs_sign(con)  # a mirrored row reads -supply <= -target
        rows.append(_row("target", t, m, limit=data.target[m, t], level=supplied, value=_clean(total)))
        rows.append(_row("target_row_dual", t, m, limit=data.target[m, t], level=supplied, value=_clean(alone)))
    return rows


def _cap_rows(model, data: ModelData, duals) -> list[dict]:
    """Cap ``flows <= cap * target``: one point more of cap raises the bound by target/100.

    Also the optional any-stage cap (stage "any"), priced the same way.
    """
    rows = []
    capped = [(m, g, c, t, con, "country_cap", data.policy.cap(m)) for (m, g, c, t), con in model.country_cap.items()]
    if hasattr(model, "any_stage_cap"):
        capped += [(m, "any", c, t, con, "any_stage_cap", data.policy.any_stage_cap)
                   for (m, c, t), con in model.any_stage_cap.items()]
    for m, g, c, t, con, kind, cap in capped:
        dual = duals.get(con, 0.0)
        # d cost / d cap = dual * target for "flows <= cap*target"; the mirrored row flips the sign.
        d_cost_d_cap = dual * data.target[m, t] * (1.0 if _rhs_sign(con) < 0 else -1.0)
        saved = _clean(-d_cost_d_cap / 100.0 / data.discount(t))
        if saved <= 0:
            continue
        target = data.target[m, t]
        level = abs(pyo.value(con.body)) / target if target > 0 else 0.0
        rows.append(_row(kind, t, m, g, c, limit=cap, level=level, value=saved))
    return rows


def _stockpile_rows(model, data: ModelData, duals) -> list[dict]:
    """Cover ``s >= days/365 * F``: d cost / d days = sum_rows dual * F / 365 (oriented)."""
    days = data.policy.stockpile_days
    rows = []
    if days <= 0 or getattr(data.policy, "stockpile_mode", "rule") != "rule":  # no rule: no price
        for m in model.M:
            for t in model.T:
                rows.append(_row("stockpile_days", t, m, limit=days, level=_stock_days(model, data, m, t), value=None))
        return rows
    exposures = data.exposures(STAGES)
    price: dict[tuple[str, int], float] = {(m, t): 0.0 for m in model.M for t in model.T}
    for (m, g, c, t), con in model.stockpile_cover.items():
        dual = duals.get(con, 0.0)
        if dual == 0.0:
            continue
        # a blend counts its share mined in c, as the row does (define_stockpile)
        flow = sum(share * pyo.value(flow_of(model, data, e, t)) for e, share in exposures[m, g, c].items())
        # body is +-(s - days/365 F); the coefficient of s tells which.
        stock_coefficient = _coefficient(con, model.stock[m, t])
        body_slope = -stock_coefficient * flow / 365.0  # d body / d days
        price[m, t] += -dual * body_slope / data.discount(t)
    for (m, t), value in price.items():
        rows.append(_row("stockpile_days", t, m, limit=days, level=_stock_days(model, data, m, t), value=_clean(value)))
    return rows


def _coefficient(con, var) -> float:
    from pyomo.repn import generate_standard_repn

    repn = generate_standard_repn(con.body, compute_values=True)
    for v, coefficient in zip(repn.linear_vars, repn.linear_coefs):
        if v is var:
            return float(coefficient)
    raise AssertionError(f"{var.name} not in {con.name}")


def _stock_days(model, data: ModelData, m: str, t: int) -> float:
    target = data.target[m, t]
    return pyo.value(model.stock[m, t]) / target * 365.0 if target > 0 else 0.0


def _budget_rows(model, data: ModelData, options: dict, objective: float, engine) -> list[dict]:
    """The budget's step price: the cheapest portfolio that needs more than the budget; the budget binds
    when that is cheaper than the chosen one.

    The MIP without the budget is the cheaper of two regions, capex <= budget (solved: ``objective``)
    and capex > budget.  Only the second is solved, in the HiGHS instance that solved the MIP (the
    budget row turned around, no new model), with ``objective`` as a cutoff: when the budget does not
    bind, no node can beat the cutoff and the search ends at once, typically at the root.  No solve at
    all when the budget cannot bind: every project and plant that could start costs no more than it.
    The row and the options are put back for the LP that follows.
    """
    import highspy
    import numpy as np

    budget = data.policy.investment_budget
    if budget is None or not (data.projects or data.plants):
        return []
    year = max(data.years)
    stakes = [(model.stake_start[p, t], data.projects[p].capex) for p, t in model.stake_years]
    plants = [(model.plant_start[k, t], data.plants[k].capex) for k, t in model.plant_years]
    used_now = sum(capex * pyo.value(var) for var, capex in stakes + plants)
    everything = (sum(data.projects[p].capex for p in {p for p, _ in model.stake_years})
                  + sum(data.plants[k].capex for k in {k for k, _ in model.plant_years}))
    row = engine.row_of.get(model.budget)
    not_binding = [_row("budget", year, limit=budget, level=used_now, value=0.0)]
    if everything <= budget:
        return not_binding
    if row is None:  # no free start-year column in the row (integers fixed before the solve): no step here
        return []
    highs = engine.highs
    columns = engine.column_of
    _, _, lower, upper, _ = highs.getRows(1, np.array([row], dtype=np.int32))
    lower, upper = float(lower[0]), float(upper[0])
    # Both solves stop within mip_rel_gap: a smaller difference is solver tolerance, not the budget.
    noise = options.get("rel_gap", 0.0) * abs(objective) + 1e-9 * max(1.0, abs(objective))
    highs.setOptionValue("output_flag", False)
    highs.changeRowBounds(row, upper + 1e-6 * max(1.0, abs(upper)), highspy.kHighsInf)
    highs.setOptionValue("objective_bound", objective - noise)
    try:
        highs.run()
        info = highs.getInfo()
        if info.primal_solution_status != 2:  # nothing beats the cutoff: the budget does not bind
            return not_binding if highs.getModelStatus() != highspy.HighsModelStatus.kTimeLimit else []
        values = highs.getSolution().col_value
        beyond = info.objective_function_value
        capex = sum(capex * round(values[columns[id(var)]]) for var, capex in stakes + plants
                    if id(var) in columns)
    finally:
        highs.changeRowBounds(row, lower, upper)
        highs.setOptionValue("objective_bound", highspy.kHighsInf)
    saved = objective - beyond
    extra = capex - budget
    if saved <= noise or extra <= 0:
        return not_binding
    return [_row("budget", year, limit=budget, level=used_now, value=saved / extra,
                 step_cost_saved=saved, step_extra_budget=extra)]
