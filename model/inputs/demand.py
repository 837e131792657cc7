"""Requirements derived from industrial drivers (``targets = "derived"``, ``critmin demand``).

For mineral m in year t, in m's reporting unit (``minerals.unit``):

    target[m,t] = battery_gwh[t] * 1e6 kWh/GWh * sum_c share[c,t] * per_kwh[c,m] * k[c,m]
                + magnet_t[t] * per_t_magnet[m] * k[m]
                + other[m,t] * k[m,t]

where each k converts the row's declared unit to m's unit (mass prefix,
and a ``unit_conversions`` row when the basis differs).  A unit that does
not parse or cannot be converted is an error at that row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import InputError, Problem
from .units import factor, parse_unit

KWH_PER_GWH = 1e6
# Shares of a year's chemistry mix must add up to one within this.
SHARE_TOLERANCE = 1e-6

COLUMNS = ["year", "mineral", "driver", "item", "quantity", "quantity_unit", "intensity", "intensity_unit",
           "conversion", "target_unit", "tonnes"]


@dataclass(frozen=True)
class Derivation:
    table: pd.DataFrame  # one row per year, mineral and contribution (chemistry, magnets, other)
    targets: dict[tuple[str, int], float]  # (m, t) -> requirement in m's unit


def derive(dataset, years, chemistry_share: dict[str, float] | None = None) -> Derivation:
    """``chemistry_share`` (the run's [demand] section) overrides the shares of the named chemistries
    in every year; the others scale in proportion so that a year's shares still add up to one."""
    problems: list[Problem] = []
    where, rows_of = dataset.where, dataset.rows
    minerals = dataset["minerals"]
    mineral_units = {}
    for i, (m, text) in enumerate(zip(minerals["mineral"], minerals["unit"])):
        unit = parse_unit(text)
        if unit is None:
            problems.append(Problem(where["minerals"], rows_of["minerals"][i], "unit",
                                    "a unit is '<t|kg> <basis>' (e.g. 't LCE') to derive targets", text))
        mineral_units[m] = unit
    conversions = {(a, b): f for a, b, f in zip(dataset["unit_conversions"]["from_basis"],
                                                dataset["unit_conversions"]["to_basis"],
                                                dataset["unit_conversions"]["factor"])}

    def converted(table: str, i: int, mineral: str, text: str) -> float | None:
        unit, target = parse_unit(text), mineral_units.get(mineral)
        if unit is None:
            problems.append(Problem(where[table], rows_of[table][i], "unit", "not a unit: expected '<t|kg> <basis>'",
                                    text))
            return None
        if target is None:
            return None
        k = factor(unit, target, conversions)
        if k is None:
            problems.append(Problem(where[table], rows_of[table][i], "unit",
                                    f"cannot convert {unit} to {target} ({mineral}): add a unit_conversions row "
                                    f"from {unit.basis} to {target.basis}", text))
        return k

    chemistries = dataset["battery_chemistries"]
    content: dict[str, list[tuple[str, float, str, float]]] = {}
    for i, row in enumerate(chemistries.to_dict("records")):
        k = converted("battery_chemistries", i, row["mineral"], row["unit"])
        if k is not None:
            content.setdefault(row["chemistry"], []).append((row["mineral"], row["per_kwh"], row["unit"], k))
    magnets = []
    for i, row in enumerate(dataset["magnet_content"].to_dict("records")):
        k = converted("magnet_content", i, row["mineral"], row["unit"])
        if k is not None:
            magnets.append((row["mineral"], row["per_t_magnet"], row["unit"], k))

    drivers = {row["year"]: row for row in dataset["demand_drivers"].to_dict("records")}
    mix = dataset["chemistry_mix"]
    mix_rows = rows_of["chemistry_mix"]
    if chemistry_share:
        mix = _override(mix, chemistry_share, set(content), problems)
        mix_rows = [None] * len(mix)  # overridden rows are the run's, not the file's
    rows = []
    for year in years:
        if year not in drivers:
            problems.append(Problem(where["demand_drivers"], None, "year",
                                    f"no demand drivers for the run's year {year}"))
            continue
        driver = drivers[year]
        in_year = [(i, r) for i, r in enumerate(mix.to_dict("records")) if r["year"] == year]
        total = sum(r["share"] for _, r in in_year)
        if driver["battery_gwh"] > 0 and abs(total - 1.0) > SHARE_TOLERANCE:
            first = mix_rows[in_year[0][0]] if in_year else None
            problems.append(Problem(where["chemistry_mix"], first, "share",
                                    f"the shares of {year} add up to {total:g}, not 1"))
        for i, r in in_year:
            if r["chemistry"] not in content:
                problems.append(Problem(where["chemistry_mix"], mix_rows[i], "chemistry",
                                        "no battery_chemistries rows for this chemistry", r["chemistry"]))
                continue
            for mineral, per_kwh, unit, k in content[r["chemistry"]]:
                gwh = driver["battery_gwh"] * r["share"]
                rows.append(dict(year=year, mineral=mineral, driver="battery", item=r["chemistry"], quantity=gwh,
                                 quantity_unit="GWh", intensity=per_kwh, intensity_unit=f"{unit} per kWh",
                                 conversion=k, target_unit=str(mineral_units[mineral]),
                                 tonnes=gwh * KWH_PER_GWH * per_kwh * k))
        for mineral, per_t, unit, k in magnets:
            rows.append(dict(year=year, mineral=mineral, driver="magnets", item="NdFeB magnets",
                             quantity=driver["magnet_t"], quantity_unit="t magnet", intensity=per_t,
                             intensity_unit=f"{unit} per t magnet", conversion=k,
                             target_unit=str(mineral_units[mineral]), tonnes=driver["magnet_t"] * per_t * k))
    other = dataset["other_demand"]
    for i, row in enumerate(other.to_dict("records")):
        if row["year"] in years:
            k = converted("other_demand", i, row["mineral"], row["unit"])
            if k is not None:
                rows.append(dict(year=row["year"], mineral=row["mineral"], driver="other", item="other uses",
                                 quantity=row["other_t"], quantity_unit=row["unit"], intensity=1.0,
                                 intensity_unit="", conversion=k, target_unit=str(mineral_units[row["mineral"]]),
                                 tonnes=row["other_t"] * k))
    if problems:
        raise InputError(problems)
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["year", "mineral", "driver", "item"], kind="stable")
    targets = {(m, t): 0.0 for m in minerals["mineral"] for t in years}
    for (m, t), tonnes in table.groupby(["mineral", "year"])["tonnes"].sum().items():
        targets[m, t] = float(tonnes)
    return Derivation(table.reset_index(drop=True), targets)


def comparison(dataset, derivation: Derivation) -> pd.DataFrame:
    """Derived against the targets table, per year and mineral."""
    published = {(m, t): v for m, t, v in zip(dataset["targets"]["mineral"], dataset["targets"]["year"],
                                              dataset["targets"]["target_t"])}
    rows = []
    for (m, t), derived in sorted(derivation.targets.items(), key=lambda item: (item[0][1], item[0][0])):
        table = published.get((m, t))
        rows.append(dict(year=t, mineral=m, derived_t=derived, targets_table_t=table,
                         difference=(derived / table - 1.0) if table else None))
    return pd.DataFrame(rows, columns=["year", "mineral", "derived_t", "targets_table_t", "difference"])


def _override(mix: pd.DataFrame, chosen: dict[str, float], known: set[str], problems: list[Problem]) -> pd.DataFrame:
    """Set the chosen chemistries' shares and scale the others of each year to fill the rest."""
    for chemistry in chosen:
        if chemistry not in known:
            problems.append(Problem("run file", None, f"demand.chemistry_share.{chemistry}",
                                    "no battery_chemistries rows for this chemistry", chemistry))
    fixed = sum(chosen.values())
    if fixed > 1 + SHARE_TOLERANCE:
        problems.append(Problem("run file", None, "demand.chemistry_share", f"the shares add up to {fixed:g}, over 1"))
        return mix
    rows = []
    for year, group in mix.groupby("year", sort=False):
        others = group[~group["chemistry"].isin(chosen)]
        rest = float(others["share"].sum())
        if rest <= 0 and fixed < 1 - SHARE_TOLERANCE:
            problems.append(Problem("run file", None, "demand.chemistry_share",
                                    f"in {year} no other chemistry has a share to fill the remaining {1 - fixed:g}"))
        for row in others.to_dict("records"):
            rows.append({**row, "share": row["share"] * (1 - fixed) / rest if rest > 0 else 0.0})
        rows += [dict(year=year, chemistry=c, share=v) for c, v in sorted(chosen.items())]
    return pd.DataFrame(rows, columns=["year", "chemistry", "share"]) if rows else mix
