"""Ties at equal cost: supply rows the solver could have swapped without changing the cost.

Two market routes of a mineral with the same unit cost in a year (and
neither with a fixed cost or minimum volume, so a tonne costs the same on
either) are interchangeable tonne for tonne: when the solver takes one and
the other has room left, which one carries the tonnes is the solver's pick,
not the model's answer.  ``mark_ties`` adds ``tied_with`` to the flows table
(the other routes of the tie, on each of its rows); ``tie_groups`` lists each
tie once (mineral, routes, unit cost, years) for the Summary, summary.json
and the terminal.
"""

from __future__ import annotations

import pandas as pd

from ..inputs.data import ModelData

# Tonnes above this carry flow; below a route's maximum by more than this (relative), it has room left.
TONNES = 1e-6


def mark_ties(data: ModelData, flows: pd.DataFrame) -> pd.DataFrame:
    """``flows`` with ``tied_with``: for a market row whose route ties with others at equal unit cost
    in that year, the others ("" otherwise)."""
    market = flows[flows["source_type"] == "market"]
    taken = market.groupby(["year", "source_id"])["tonnes"].sum().to_dict()
    tied: dict[tuple[int, str], str] = {}
    for t in data.years:
        for m in data.minerals:
            groups: dict[str, list[str]] = {}
            for o in data.routes_in(m, t):
                if not data.routes[o].needs_switch:  # a fixed cost or minimum makes its tonnes no longer alike
                    groups.setdefault(f"{data.unit_cost(o, t):.12g}", []).append(o)
            for members in groups.values():
                used = [o for o in members if taken.get((t, o), 0.0) > TONNES]
                room = [o for o in members
                        if taken.get((t, o), 0.0) < data.routes[o].max_t - TONNES * max(1.0, data.routes[o].max_t)]
                if not any(u != r for u in used for r in room):
                    continue  # nothing taken, or nothing else could take it
                alike = sorted(set(used) | set(room))
                for o in used:
                    tied[t, o] = ", ".join(other for other in alike if other != o)
    marks = [tied.get((t, o), "") if kind == "market" else ""
             for t, o, kind in zip(flows["year"], flows["source_id"], flows["source_type"])]
    return flows.assign(tied_with=pd.Series(marks, index=flows.index, dtype=object))


def tie_groups(flows: pd.DataFrame) -> pd.DataFrame:
    """Each tie once: mineral, the routes that tie (taken or with room), their unit cost in the last
    year of the tie, and the years it holds in."""
    if "tied_with" not in flows or not len(flows):
        return pd.DataFrame(columns=["mineral", "routes", "unit_cost", "years"])
    groups: dict[tuple[str, str], dict] = {}
    for row in flows[flows["tied_with"].astype(str) != ""].to_dict("records"):
        routes = ", ".join(sorted({row["source_id"], *row["tied_with"].split(", ")}))
        entry = groups.setdefault((row["mineral"], routes), {"years": set(), "cost": {}})
        entry["years"].add(int(row["year"]))
        if row["tonnes"] > 0:
            entry["cost"][int(row["year"])] = row["cost"] / row["tonnes"]
    rows = [dict(mineral=m, routes=routes, unit_cost=entry["cost"][max(entry["cost"])], years=_years(entry["years"]))
            for (m, routes), entry in sorted(groups.items())]
    return pd.DataFrame(rows, columns=["mineral", "routes", "unit_cost", "years"])


def _years(years: set[int]) -> str:
    """2030; 2026-2035; 2026-2028, 2031."""
    spans, ordered = [], sorted(years)
    start = previous = ordered[0]
    for year in ordered[1:] + [None]:
        if year is not None and year == previous + 1:
            previous = year
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if year is not None:
            start = previous = year
    return ", ".join(spans)
