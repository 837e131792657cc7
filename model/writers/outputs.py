"""The solve outputs DESIGN.md fixes: results.xlsx, summary.json, flows.csv, manifest.json.

Writers read result tables only; they never touch Pyomo.  ``manifest.json``
is written last, so its presence marks a complete set of outputs.
"""

from __future__ import annotations

from pathlib import Path

from ..results.tables import Results
from .excel import write_results_xlsx
from .files import write_csv, write_json

OUTPUT_FILES = ("results.xlsx", "summary.json", "flows.csv", "manifest.json")


def summary_document(results: Results) -> dict:
    minerals = {}
    for row in results.minerals.to_dict("records"):
        if row["year"] != results.year:
            continue
        minerals[row["mineral"]] = {
            "unit": row["unit"],
            "target_t": row["target_t"],
            "supplied_t": row["supplied_t"],
            "market_t": row["market_t"],
            "equity_t": row["equity_t"],
            "recycled_t": row["recycled_t"],
            "shortfall_t": row["shortfall_t"],
            "stockpile_t": row["stockpile_t"],
            "stock_days": row["stock_days"],
            "largest_share": {stage: {"country": row[f"largest_{stage}_country"] or None,
                                      "share": row[f"largest_{stage}_share"]} for stage in ("mine", "refine")},
            "largest_mine_share": row["largest_mine_share"],
            "largest_mine_country": row["largest_mine_country"] or None,
            "largest_refine_share": row["largest_refine_share"],
            "largest_refine_country": row["largest_refine_country"] or None,
        }
    document = {
        "run": results.run_name,
        "status": results.status,
        "year": results.year,
        "objective": results.objective,
        "mip_gap": results.mip_gap,
        "objective_bound": results.bound,
        "cost_by_lever": results.cost_by_lever,
        "minerals": minerals,
        "projects_chosen": results.chosen_projects,
        "plants_built": results.built_plants,
    }
    if results.stress is not None:
        from ..results.stress import expected

        document["stress"] = {**expected(results.stress), "scenarios": sorted(set(results.stress["scenario"]))}
    if results.status == "infeasible":
        document["diagnosis"] = {
            "message": "no portfolio meets every target within the limits; the elastic re-solve shows what is "
                       "missing and which limits bind",
            "elastic_objective": results.elastic_objective,
            "minerals": {d["mineral"]: {k: v for k, v in d.items() if k != "mineral"} for d in results.diagnosis},
        }
    return document


def summary_rows(results: Results, manifest: dict) -> list[tuple[str, object]]:
    rows = [("run", results.run_name), ("status", results.status), ("year", results.year),
            ("total annual cost", results.objective), ("achieved MIP gap", results.mip_gap)]
    rows += [(f"cost: {lever}", cost) for lever, cost in results.cost_by_lever.items()]
    rows += [("solve seconds", manifest.get("wall_seconds", {}).get("solve")),
             ("data hash (sha256 of inputs)", manifest.get("data_hash"))]
    rows += [(f"policy: {key}", value) for key, value in manifest.get("policy", {}).items()]
    return rows


def write_outputs(folder: Path, results: Results, manifest: dict) -> None:
    folder = Path(folder)
    tables = {"Minerals": results.minerals, "Country shares": results.shares, "Flows": results.flows,
              "Projects": results.projects, "Recycling": results.recycling, "Plants": results.plants,
              "Costs": results.costs}
    if results.diagnosis:
        import pandas as pd

        tables["Diagnosis"] = pd.DataFrame([{**d, "binding": "; ".join(d["binding"])} for d in results.diagnosis])
    if results.stress is not None:
        tables["Stress"] = results.stress
    write_results_xlsx(folder / "results.xlsx", summary_rows(results, manifest), tables)
    write_json(folder / "summary.json", summary_document(results))
    write_csv(folder / "flows.csv", results.flows)
    if results.stress is not None:
        write_csv(folder / "stress.csv", results.stress)
    write_json(folder / "manifest.json", manifest)
