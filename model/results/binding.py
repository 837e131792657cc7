"""What binds: the policy limits a portfolio sits at, read from its result tables.

One row per limit at its bound in a planned year: the country caps (per
stage, and the any-stage cap), the conflict-affected share, the investment
budget, and the floors (ally shares, recycling shares, the stockpile rule,
the stockpile floor, take-or-pay) and the stock build limit.  Route maxima,
feedstock and plant capacities are physical and listed in the diagnosis of
an infeasible run instead.  Plain data: the result tables and the run's
policy (as ``manifest.json`` records it), no solver.
"""

from __future__ import annotations

import pandas as pd

from .tables import Results

# A level within this (relative) of its bound is at the bound (as results.tables.BINDING_TOLERANCE).
AT_BOUND = 1e-6
COLUMNS = ["year", "limit", "mineral", "where", "level", "bound", "unit"]
SHARE = "share of requirement"


def _at_most(level: float, bound: float) -> bool:
    """``level`` at an upper bound."""
    return level >= bound - AT_BOUND * max(1.0, abs(bound))


def _at_least(level: float, bound: float) -> bool:
    """``level`` at a lower bound (a floor above zero)."""
    return bound > 0 and level <= bound + AT_BOUND * max(1.0, abs(bound))


def binding_limits(results: Results, policy: dict) -> pd.DataFrame:
    """Every policy limit at its bound, per planned year (``COLUMNS``)."""
    rows: list[dict] = []
    targets = {(int(r["year"]), r["mineral"]): float(r["target_t"]) for r in results.minerals.to_dict("records")}
    caps = results.shares[results.shares["binding"]]
    for r in caps.to_dict("records"):
        anywhere = r["stage"] == "any"
        rows.append(dict(year=int(r["year"]), limit="any-stage cap" if anywhere else "country cap",
                         mineral=r["mineral"], where=f"{r['country']} (mined or refined)" if anywhere
                         else f"{r['stage']} {r['country']}", level=float(r["share"]), bound=float(r["cap"]),
                         unit=SHARE))
    rows += _country_shares(results, policy, targets)
    rows += _floors(results, policy)
    rows += _take_or_pay(results)
    rows += _budget(results, policy)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["year", "limit", "mineral", "where"], kind="stable").reset_index(drop=True)


def _countries(results: Results, flag: str) -> set[str]:
    countries = results.inputs.get("countries")
    if countries is None or flag not in countries:
        return set()
    return {str(c) for c, on in zip(countries["country"], countries[flag]) if bool(on)}


def _country_shares(results: Results, policy: dict, targets: dict) -> list[dict]:
    """The conflict-affected share at its cap, and the ally shares at their floors."""
    rows = []
    flows = results.flows
    conflict_max = policy.get("conflict_max_share", 1.0)
    allies = _countries(results, "ally") | _countries(results, "home")
    ally_floors = {g: v for g, v in (policy.get("ally_min_share") or {}).items() if v}
    conflict = _countries(results, "conflict_affected")
    for (year, m), target in targets.items():
        if target <= 0:
            continue
        of = flows[(flows["year"] == year) & (flows["mineral"] == m)]
        if conflict_max is not None and conflict_max < 1:
            foreign = of[of["source_type"] != "recycling"]
            mined = float(foreign.loc[foreign["mine_country"].isin(conflict), "tonnes"].sum())
            if _at_most(mined / target, conflict_max):
                rows.append(dict(year=year, limit="conflict-affected share", mineral=m, where="mined",
                                 level=mined / target, bound=conflict_max, unit=SHARE))
        for stage, floor in ally_floors.items():
            tonnes = float(of.loc[of[f"{stage}_country"].isin(allies), "tonnes"].sum())
            if _at_least(tonnes / target, floor):
                rows.append(dict(year=year, limit="ally floor", mineral=m, where=f"{stage}d at home or in allies",
                                 level=tonnes / target, bound=floor, unit=SHARE))
    return rows


def _floors(results: Results, policy: dict) -> list[dict]:
    """Recycling floors, the stockpile rule and floor, the stock build limit."""
    rows = []
    recycling_floors = policy.get("min_recycling_share") or {}
    for r in results.recycling.to_dict("records"):
        floor = recycling_floors.get(r["mineral"], 0.0)
        if _at_least(float(r["share_of_target"]), floor):
            rows.append(dict(year=int(r["year"]), limit="recycling floor", mineral=r["mineral"], where="recycled",
                             level=float(r["share_of_target"]), bound=floor, unit=SHARE))
    min_days = policy.get("stockpile_min_days") or 0.0
    days = policy.get("stockpile_days") or 0.0
    for r in results.stockpile.to_dict("records"):
        year, m = int(r["year"]), r["mineral"]
        rule = r["rule_t"]
        if rule is not None and rule == rule and days > 0 and _at_least(float(r["stockpile_t"]), float(rule)):
            rows.append(dict(year=year, limit="stockpile rule", mineral=m,
                             where=f"{days:g} days of the largest exposure", level=float(r["stockpile_t"]),
                             bound=float(rule), unit="t"))
        # The mineral's own floor (stockpile.csv floor_days); a set written before that column: the run's.
        floor = r.get("floor_days", min_days)
        floor = min_days if floor is None or floor != floor else float(floor)
        if floor > 0 and _at_least(float(r["requirement_days"]), floor):
            rows.append(dict(year=year, limit="stockpile floor", mineral=m, where="days of requirement",
                             level=float(r["requirement_days"]), bound=floor, unit="days"))
        most = r["max_stock_build_t"]
        if most is not None and most == most and most > 0 and _at_most(float(r["build_up_t"]), float(most)):
            rows.append(dict(year=year, limit="stock build limit", mineral=m, where="stock added in the year",
                             level=float(r["build_up_t"]), bound=float(most), unit="t"))
    return rows


def _take_or_pay(results: Results) -> list[dict]:
    """Offtakes of chosen stakes at their take-or-pay floor (min_take of the entitlement)."""
    offtakes = results.inputs.get("project_offtake")
    if offtakes is None or not len(offtakes) or "min_take" not in offtakes:
        return []
    rows = []
    flows = results.flows[results.flows["source_type"] == "equity"]
    taken = flows.groupby(["year", "source_id", "mineral"])["tonnes"].sum()
    starts = {p: y for p, y in zip(results.projects["project"], results.projects["start_year"])
              if y is not None and y == y}
    years = sorted({int(y) for y in results.minerals["year"]})
    for r in offtakes.to_dict("records"):
        p, m, share = r["project"], r["mineral"], r["min_take"]
        if not share or share != share or p not in starts:
            continue
        floor = float(share) * float(r["offtake_t"])
        for year in years:
            if year >= starts[p] and _at_least(float(taken.get((year, p, m), 0.0)), floor):
                rows.append(dict(year=year, limit="take-or-pay floor", mineral=m, where=p,
                                 level=float(taken.get((year, p, m), 0.0)), bound=floor, unit="t"))
    return rows


def _budget(results: Results, policy: dict) -> list[dict]:
    """The investment budget, when it binds: its marginal value is positive (a cheaper portfolio needs
    more of it), or without marginal values, when the capex charged reaches it."""
    budget = policy.get("investment_budget")
    if budget is None:
        return []
    used = float(results.projects["capex_charged"].sum() + results.plants["capex_charged"].sum())
    prices = results.marginal_values
    priced = prices[prices["kind"] == "budget"] if prices is not None and len(prices) else None
    binds = (float(priced["value"].iloc[0]) > 0 if priced is not None and len(priced)
             else _at_most(used, float(budget)))
    if not binds:
        return []
    return [dict(year=results.year, limit="investment budget", mineral="", where="capex of new stakes and plants",
                 level=used, bound=float(budget), unit="currency")]
