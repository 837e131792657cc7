"""The terminal summary: a table per mineral, then the annual cost by lever."""

from __future__ import annotations

from ..inputs.currency import declared as declared_currency
from ..results.optimality import run_warnings
from ..results.tables import Results
from ..results.ties import tie_groups


def _money(value: float) -> str:
    if value is None:
        return "-"
    for limit, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if abs(value) >= limit:
            return f"{value / limit:,.2f}{suffix}"
    return f"{value:,.0f}"


def _share(share: float, country: str) -> str:
    return f"{share:5.1%} {country}" if country else "    -"


def format_years(results: Results) -> str:
    """A pathway's compact year-by-year view: undiscounted cost by lever, stock, what starts that year,
    and the largest foreign share at either stage."""
    starts: dict[int, list[str]] = {}
    for frame, key in ((results.projects, "project"), (results.plants, "plant")):
        for name, year, committed in zip(frame[key], frame["start_year"], frame["committed"]):
            if year is not None and year == year:
                starts.setdefault(int(year), []).append(name + (" (committed)" if committed else ""))
    header = (f"{'year':<6}{'annual cost':>12}{'market':>10}{'equity':>10}{'recycling':>10}{'stock':>9}"
              f"  {'largest share (mineral, stage, country)':<36} starts")
    lines = ["year by year (undiscounted annual cost)", header, "-" * len(header)]
    for year, costs in results.cost_by_year().items():
        rows = results.minerals[results.minerals["year"] == year]
        best = max(((r[f"largest_{g}_share"], r["mineral"], g, r[f"largest_{g}_country"])
                    for r in rows.to_dict("records") for g in ("mine", "refine")), default=(0.0, "", "", ""))
        stock = sum(costs.get(lever, 0.0) for lever in ("stockpile", "recourse"))
        lines.append(f"{year:<6}{_money(sum(costs.values())):>12}{_money(costs.get('market', 0.0)):>10}"
                     f"{_money(costs.get('equity', 0.0)):>10}{_money(costs.get('recycling', 0.0)):>10}"
                     f"{_money(stock):>9}  {f'{best[0]:.0%} {best[1]} {best[2]} {best[3]}':<36} "
                     + ", ".join(starts.get(year, [])))
    return "\n".join(lines)


def decomposition_line(found: dict) -> str:
    """The bounds of a run solved by scenario decomposition (optimization.decompose)."""
    lower = "none" if found["lower_bound"] is None else f"{found['lower_bound']:,.0f}"
    gap = "unknown" if found["gap"] is None else f"{found['gap']:.2e}"
    return (f"decomposition: {found['method']} on {found['ranks']} rank(s), {found['scenarios']:,} scenarios in "
            f"{found['bundles']} bundles, {found['iterations']} iterations; lower bound {lower}, "
            f"upper bound {found['upper_bound']:,.0f} (this portfolio), gap {gap} (asked {found['requested_gap']:g})")


def format_summary(results: Results) -> str:
    years = sorted(set(results.minerals["year"]))
    span = f"years {years[0]}-{years[-1]} (table: {results.year})" if len(years) > 1 else f"year {results.year}"
    lines = [f"run {results.run_name}, {span}: {results.status}"
             + (f", achieved gap {results.mip_gap:.2e}"
                if results.mip_gap is not None and results.status != "infeasible" else "")]
    lines += [f"WARNING: {warning}" for warning in run_warnings(results)]
    if results.decomposition is not None:
        lines.append(decomposition_line(results.decomposition))
    header = (f"{'mineral':<10}{'target t':>11}{'market t':>11}{'equity t':>10}{'recycled t':>11}"
              f"{'unmet t':>9}{'stock t':>10}{'days':>6}  {'largest mine':<13}{'largest refine':<13}")
    lines += ["", header, "-" * len(header)]
    for row in results.minerals[results.minerals["year"] == results.year].itertuples():
        lines.append(f"{row.mineral:<10}{row.target_t:>11,.0f}{row.market_t:>11,.0f}{row.equity_t:>10,.0f}"
                     f"{row.recycled_t:>11,.0f}{row.shortfall_t:>9,.0f}{row.stockpile_t:>10,.0f}"
                     f"{row.stock_days:>6.0f}  "
                     f"{_share(row.largest_mine_share, row.largest_mine_country):<13}"
                     f"{_share(row.largest_refine_share, row.largest_refine_country):<13}")
    lines.append("shares are of the annual requirement; days = stock in days of the requirement")
    costs = results.cost_by_lever
    total = sum(costs.values())
    years = sorted(set(results.minerals["year"]))
    label = "total annual cost" if results.status != "infeasible" else "elastic annual cost (incl. penalty)"
    if len(years) > 1:
        label = f"total cost {years[0]}-{years[-1]}, discounted to {years[0]}" + (
            "" if results.status != "infeasible" else " (elastic, incl. penalty)")
    currency = declared_currency(results.inputs)
    converted = (f"; {currency.report} {_money(currency.in_report(total))} {currency.rate_text}"
                 if currency.report else "")
    lines += ["", f"{label}: {currency.code} {_money(total)}{converted}  ("
              + ", ".join(f"{lever} {_money(cost)}" for lever, cost in costs.items()
                          if cost or lever not in ("recourse", "shortfall"))
              + ")"]
    lines.append(f"equity stakes: {', '.join(results.chosen_projects) or 'none'}; "
                 f"recycling plants: {', '.join(results.built_plants) or 'none'}")
    ties = tie_groups(results.flows)
    if len(ties):
        lines.append("tied at equal cost (the solver took one): " + "; ".join(
            f"{row.mineral} {' = '.join(row.routes.split(', '))} ({_money(row.unit_cost)}/t, {row.years})"
            for row in ties.itertuples()))
    if results.minerals["year"].nunique() > 1:
        lines += ["", format_years(results)]
    if results.marginal_values is not None and not results.marginal_values.empty:
        lines.append(format_marginal(results))
    if results.forced_in is not None and not results.forced_in.empty:
        lines.append(format_forced(results))
    if results.diagnosis:
        lines += ["", "INFEASIBLE: no portfolio meets every limit. The elastic re-solve relaxes, per mineral:"]
        for d in results.diagnosis:
            lines.append(f"  {d['mineral']} ({d['year']}, target {d['target_t']:,.0f} t; at most "
                         f"{d['available_t']:,.0f} t available on all options):")
            for r in d["relaxed"]:
                share = f" = {r['share_of_target']:.1%} of the target" if r["share_of_target"] is not None else ""
                where = f" ({r['where']})" if r["where"] else ""
                verb = "unmet" if r["limit"] == "target" else "relaxed by"
                lines.append(f"    * {r['limit']}{where}: {verb} {r['relaxed_t']:,.1f} t{share}")
            lines += [f"    - at its bound: {limit}" for limit in d["binding"]]
    return "\n".join(lines)


def format_forced(results: Results) -> str:
    """One line: the three cheapest stakes or plants left out, and what forcing each in would cost."""
    frame = results.forced_in
    priced = frame[frame["forced_in_cost"].notna()]
    cheapest = ", ".join(f"{row.id} +{_money(row.forced_in_cost)}" for row in priced.head(3).itertuples())
    left = len(frame) - len(priced)
    unit = "a year" if results.minerals["year"].nunique() == 1 else "discounted total"
    return (f"forced-in cost ({unit}), cheapest left out: {cheapest or 'none'}"
            + (f"; {left} cannot be forced in (see summary.json forced_in_notes)" if left else ""))


def format_marginal(results: Results) -> str:
    """One line: the largest prices of one more tonne, cap point, budget unit and stock day."""
    frame = results.marginal_values
    frame = frame[frame["year"] == results.year]

    def top(kind, label, count=3):
        rows = frame[(frame["kind"] == kind) & (frame["value"].fillna(0) > 0)].sort_values("value", ascending=False)
        return ", ".join(f"{label(r)} {_money(r.value)}" for r in rows.head(count).itertuples())

    parts = []
    if target := top("target", lambda r: r.mineral):
        parts.append(f"+1 t of requirement (caps and floors scaling with it): {target}")
    if cap := top("country_cap", lambda r: f"{r.mineral} {r.stage} {r.country}"):
        parts.append(f"+1 point of cap saves: {cap}")
    budget = frame[frame["kind"] == "budget"]
    if len(budget):
        row = budget.iloc[0]
        parts.append(f"+1 unit of budget saves {row['value']:.3f} (step: {_money(row['step_cost_saved'])} for "
                     f"{_money(row['step_extra_budget'])} more)" if row["value"] > 0 else "budget not binding")
    days = frame.loc[frame["kind"] == "stockpile_days", "value"].dropna()
    if len(days):
        parts.append(f"+1 stockpile day: {_money(days.sum())}")
    return f"marginal values ({declared_currency(results.inputs).code} a year): " + "; ".join(parts)


def format_stress(stress) -> str:
    """One line per scenario and mineral hit: the event's days, the cover price floor (the dearest lost
    flow's unit cost, the least any covering tonne costs), tonnes lost, drawn, bought in emergency,
    unmet, extra cost, cover."""
    several = stress["year"].nunique() > 1
    header = ((f"{'year':<6}" if several else "") + f"{'scenario':<30}{'p/yr':>6}{'mineral':>10}{'days':>6}"
              f"{'floor/t':>10}{'lost t':>10}{'drawn t':>10}{'emerg. t':>10}{'unmet t':>9}{'extra cost':>12}"
              f"{'cover d':>9}")
    lines = ["disruption stress test", header, "-" * len(header)]
    for row in stress.itertuples():
        cover = "-" if row.cover_days == float("inf") else f"{row.cover_days:,.0f}"
        lines.append((f"{row.year:<6}" if several else "")
                     + f"{row.scenario[:29]:<30}{row.probability:>6.2f}{row.mineral:>10}{row.duration_days:>6.0f}"
                     f"{_money(row.cover_price_floor):>10}{row.lost_t:>10,.0f}{row.stock_drawn_t:>10,.0f}"
                     f"{row.emergency_t:>10,.0f}{row.unmet_t:>9,.0f}"
                     f"{_money(row.extra_cost):>12}{cover:>9}")
    from ..results.stress import expected

    for year in sorted(set(stress["year"])):
        risk = expected(stress, year)
        lines.append(f"expected in {year}: unmet {risk['expected_unmet_t']:,.0f} t, extra cost "
                     f"{_money(risk['expected_extra_cost'])} (probability-weighted over the scenarios)")
    return "\n".join(lines)


def format_sweep(table, keys) -> str:
    """One line per sweep point: its settings, status and annual cost."""
    widths = [max(len(k), 10) for k in keys]
    header = "".join(f"{k:>{w + 2}}" for k, w in zip(keys, widths)) + f"{'status':>13}{'annual cost':>14}"
    lines = [header, "-" * len(header)]
    for row in table.to_dict("records"):
        cells = "".join(f"{str(row[k]):>{w + 2}}" for k, w in zip(keys, widths))
        cost = row["annual_cost"]
        lines.append(cells + f"{row['status']:>13}{_money(cost) if cost == cost and cost is not None else '-':>14}")
    return "\n".join(lines)


def progress(total: int, quiet: bool, what: str):
    """A progress bar of ``total`` points on stderr (tqdm), drawn only when stderr is a terminal."""
    import sys

    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked after this
    return tqdm(total=total, unit="point", desc=what, file=sys.stderr, dynamic_ncols=True,
                disable=quiet or not total or not sys.stderr.isatty())


def format_tornado(tornado, changes: list[float], base: float, currency: str, top: int = 10) -> str:
    """The ``top`` groups with the largest swing: the change of the objective at each -c % and +c %."""
    from ..results.sensitivity import delta_column

    signed = [s for change in sorted(changes, reverse=True) for s in (-change, change)]
    width = max([24] + [len(str(g)) + 2 for g in tornado["group"].head(top)]) if len(tornado) else 24
    header = f"{'group':<{width}}" + "".join(f"{f'{s:+g} %':>12}" for s in signed) + f"{'flips':>7}"
    shown = min(top, len(tornado))
    lines = [f"change of the objective when one input group moves (base {currency} {_money(base)}); "
             f"the {shown} largest of {len(tornado)} groups", header, "-" * len(header)]
    for row in tornado.head(top).to_dict("records"):
        cells = "".join(f"{'-' if row[delta_column(s)] is None else _signed_money(row[delta_column(s)]):>12}"
                        for s in signed)
        lines.append(f"{row['group']:<{width}}{cells}{row['flips']:>7}")
    return "\n".join(lines)


def _signed_money(value: float) -> str:
    return ("+" if value > 0 else "") + _money(value) if abs(value) >= 0.5 else "0"
