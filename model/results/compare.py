"""How runs differ: one long table of the figures an analyst compares, one column per run.

Every run is read through the one reader of an output folder
(``results.portfolio.read_output``), so a damaged or tampered folder is
refused exactly as ``verify`` refuses it.  Rows are ``(section, item)``:

- ``summary``: ``objective`` (the total cost: annual, or a pathway's present
  value), ``mip_gap``, ``status``, ``years``;
- ``cost_by_lever``: each lever's cost as the objective counts it;
- ``supply``: per mineral (the last planned year) ``target_t``, ``market_t``,
  ``equity_t``, ``recycled_t``, ``shortfall_t``;
- ``largest_share``: per mineral and stage the largest foreign share and,
  as text, its country;
- ``stock``: per mineral ``stockpile_t`` and ``stock_days``;
- ``stakes``: per project or plant, 1 when chosen or built (committed ones
  included), else 0;
- ``flows_by_country``: tonnes per mineral, stage and foreign country in the
  last planned year (a blend split by its shares, as flows.csv has it).

``delta`` is the last run minus the first, for numbers; blank for text.
"""

from __future__ import annotations

import math

import pandas as pd

STAGES = ("mine", "refine")
SECTIONS = ("summary", "cost_by_lever", "supply", "largest_share", "stock", "stakes", "flows_by_country")


def figures(portfolio, home: str) -> dict[tuple[str, str], object]:
    """The (section, item) -> value map of one run's portfolio (``results.portfolio.Portfolio``)."""
    summary = portfolio.summary
    out: dict[tuple[str, str], object] = {
        ("summary", "objective"): portfolio.objective,
        ("summary", "mip_gap"): portfolio.mip_gap,
        ("summary", "status"): portfolio.status,
        ("summary", "years"): ", ".join(str(y) for y in summary.get("years", [summary.get("year")])),
    }
    for lever, cost in portfolio.cost_by_lever.items():
        out["cost_by_lever", lever] = cost
    last = max(t for _, t in portfolio.minerals) if portfolio.minerals else None
    for (m, t), entry in sorted(portfolio.minerals.items()):
        if t != last:
            continue
        for key in ("target_t", "market_t", "equity_t", "recycled_t", "shortfall_t"):
            out["supply", f"{m} {key}"] = entry.get(key, 0.0)
        for stage in STAGES:
            out["largest_share", f"{m} {stage} share"] = entry.get(f"largest_{stage}_share")
            out["largest_share", f"{m} {stage} country"] = entry.get(f"largest_{stage}_country") or ""
        out["stock", f"{m} stockpile_t"] = entry.get("stockpile_t")
        out["stock", f"{m} stock_days"] = entry.get("stock_days")
    for name in sorted(portfolio.stakes | portfolio.plants):
        out["stakes", name] = 1
    flows: dict[str, float] = {}
    for row in portfolio.rows:
        if row.year != last or row.source_type == "recycling":
            continue
        for stage, country in (("mine", row.mine_country), ("refine", row.refine_country)):
            if country != home:
                key = f"{row.mineral} {stage} {country}"
                flows[key] = flows.get(key, 0.0) + row.tonnes
    for key, tonnes in sorted(flows.items()):
        out["flows_by_country", key] = tonnes
    return out


def compare_table(names: list[str], runs: list[dict]) -> pd.DataFrame:
    """Long form: ``section``, ``item``, one column per run (its name), ``delta`` (last minus first).

    A stake or flow missing from a run is 0 there; any other missing figure is blank.
    """
    keys = sorted({key for run in runs for key in run}, key=lambda k: (SECTIONS.index(k[0]), k[1]))
    rows = []
    for section, item in keys:
        zero = 0 if section in ("stakes", "flows_by_country") else None
        values = [run.get((section, item), zero) for run in runs]
        first, last = values[0], values[-1]
        numeric = all(_number(v) for v in (first, last))
        rows.append({"section": section, "item": item, **dict(zip(names, values)),
                     "delta": (last - first) if numeric else None})
    return pd.DataFrame(rows, columns=["section", "item", *names, "delta"])


def run_names(names: list[str], folders: list[str]) -> list[str]:
    """Each run's name, made unique with its folder where two runs share one (the columns must differ)."""
    out = []
    for name, folder in zip(names, folders):
        label = name if names.count(name) == 1 else f"{name} ({folder})"
        while label in out or label in ("section", "item", "delta"):
            label += "'"
        out.append(label)
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
