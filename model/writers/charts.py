"""critmin's charts as data: which series, from which result table, in which colours.

The renderer (``render``) draws them; this module decides what they show:
the supply-by-country stacks and the largest shares against the cap of a
solve, a pathway's cost and supply by lever per year, and a sweep's cost
frontier and requirement per mineral.
"""

from __future__ import annotations

import pandas as pd

from . import style
from .render import Chart

TOP_COUNTRIES = 13  # countries named in the stacked charts; the rest is "other"


def analyst_charts(minerals: pd.DataFrame, flows: pd.DataFrame, caps: dict[str, float | None],
                   year: int) -> list[Chart]:
    """Supply by country stacked per mineral (mine and refine stage) and the largest foreign share vs the cap.

    Shares are of the annual requirement, as the cap is.  ``caps`` maps
    mineral -> its country cap (None: no cap).
    """
    minerals = minerals[minerals["year"] == year]
    flows = flows[flows["year"] == year]
    targets = dict(zip(minerals["mineral"], minerals["target_t"]))
    order = list(minerals["mineral"])
    by_stage = {}
    for stage in ("mine", "refine"):
        grouped = flows.groupby(["mineral", f"{stage}_country"])["tonnes"].sum()
        by_stage[stage] = {(m, c): t / targets[m] for (m, c), t in grouped.items() if targets.get(m)}
    weight: dict[str, float] = {}
    for shares in by_stage.values():
        for (_, c), share in shares.items():
            weight[c] = weight.get(c, 0.0) + share
    ranked = sorted(weight, key=lambda c: (-weight[c], c))
    top = ranked[:TOP_COUNTRIES] if len(ranked) > TOP_COUNTRIES + 1 else ranked
    colours = {c: style.country_colour(c) for c in top + ["other"]}  # a country's colour in every run
    charts = []
    for stage, word in (("mine", "mining"), ("refine", "refining")):
        rows = []
        for m in order:
            row = {"mineral": m, **{c: by_stage[stage].get((m, c), 0.0) for c in top}}
            if len(top) < len(ranked):
                row["other"] = sum(s for (mm, c), s in by_stage[stage].items() if mm == m and c not in top)
            rows.append(row)
        charts.append(Chart(f"Supply by {word} country ({year}), share of the annual requirement",
                            pd.DataFrame(rows), y_title="share of requirement", stacked=True, colours=colours))
    known = [caps.get(m) for m in order if caps.get(m) is not None]
    cap_name = f"cap ({known[0]:.0%})" if known and len(set(known)) == 1 else "cap"
    rows = [{"mineral": m,
             "largest foreign share, mine": float(r["largest_mine_share"]),
             "largest foreign share, refine": float(r["largest_refine_share"]),
             cap_name: caps.get(m)} for m, r in zip(order, minerals.to_dict("records"))]
    charts.append(Chart(f"Largest single foreign country per mineral and stage ({year}) against the cap",
                        pd.DataFrame(rows), y_title="share of requirement", lines=(cap_name,) if known else (),
                        colours={f"largest foreign share, {stage}": colour
                                 for stage, colour in style.STAGE_COLOURS.items()},
                        labels=True))
    return charts


def pathway_charts(minerals: pd.DataFrame, costs: pd.DataFrame, currency: str = "currency") -> list[Chart]:
    """A pathway's year-by-year charts: annual cost by lever (in ``currency``, the dataset's code), then
    per mineral the supply by lever (tonnes of that mineral's unit; units differ, so one chart each)."""
    levers = ["market", "equity", "recycling", "stockpile", "recourse"]
    by_year = costs.pivot_table(index="year", columns="lever", values="cost", aggfunc="sum").reset_index()
    shown = [lever for lever in levers if lever in by_year and float(by_year[lever].abs().sum()) > 0]
    frame = by_year[["year"] + shown].assign(year=by_year["year"].astype(str))
    charts = [Chart("Annual cost by lever per year (undiscounted)", frame, y_title=f"{currency} per year",
                    x_title="year", stacked=True, percent=False, colours=dict(style.LEVER_COLOURS))]
    supply_colours = {"market_t": style.LEVER_COLOURS["market"], "equity_t": style.LEVER_COLOURS["equity"],
                      "recycled_t": style.LEVER_COLOURS["recycling"]}
    for mineral, rows in minerals.groupby("mineral", sort=True):
        unit = str(rows["unit"].iloc[0])
        frame = rows[["year", "market_t", "equity_t", "recycled_t"]].assign(year=rows["year"].astype(str))
        frame = frame.reset_index(drop=True)
        charts.append(Chart(f"{mineral}: supply by lever per year ({unit})", frame, y_title=unit, x_title="year",
                            stacked=True, percent=False, colours=supply_colours))
    return charts


# --------------------------------------------------------------------------- a sweep's charts


def frontier(table: pd.DataFrame, keys: list[str]) -> tuple[list, list[str], dict[str, list]]:
    """Cost against the first swept setting: x values (sorted when numeric), and one series of costs
    per combination of the other settings (None where a point has no solution)."""
    first, others = keys[0], keys[1:]
    xs = list(dict.fromkeys(table[first]))
    if all(isinstance(x, (int, float)) for x in xs):
        xs = sorted(xs)
    series: dict[str, list] = {}
    groups = table.groupby(others, sort=False, dropna=False) if others else [((), table)]
    for label, group in groups:
        label = label if isinstance(label, tuple) else (label,)
        name = ", ".join(f"{setting_label(k)} = {_label(v)}" for k, v in zip(others, label)) or "annual cost"
        by_x = dict(zip(group[first], group["annual_cost"]))
        series[name] = [None if by_x.get(x) is None or by_x.get(x) != by_x.get(x) else float(by_x[x]) for x in xs]
    return xs, list(series), series


def setting_label(key: str) -> str:
    """A swept setting as a legend names it: the key without its section, and nothing more cut, so two
    settings never share a label (``policy.country_cap`` -> ``country_cap``,
    ``policy.country_cap_by_mineral.dytb`` -> ``country_cap_by_mineral.dytb``,
    ``data.supply[option=co-RUS-RUS].max_t`` -> ``supply[option=co-RUS-RUS].max_t``)."""
    section, _, rest = str(key).partition(".")
    return rest or section


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def targets(table: pd.DataFrame, keys: list[str]) -> tuple[list, dict[str, list]] | None:
    """When the requirements move with the first setting (a demand sweep): its values, and per mineral
    the target at each (None when they do not move)."""
    columns = [c for c in table.columns if str(c).endswith("_target_t")]
    if not columns or len(table) < 2 or all(table[c].nunique(dropna=True) <= 1 for c in columns):
        return None
    first = keys[0]
    by_x = table.drop_duplicates(first)
    xs = list(by_x[first])
    if all(isinstance(x, (int, float)) for x in xs):
        by_x = by_x.sort_values(first)
        xs = list(by_x[first])
    series = {}
    for column in columns:
        values = list(by_x[column])
        series[str(column)[: -len("_target_t")]] = [None if v is None or v != v else float(v) for v in values]
    return xs, series
