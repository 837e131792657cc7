"""The solve outputs docs/model.md fixes: results.xlsx, summary.json, flows.csv, manifest.json.

Writers read result tables only; they never touch Pyomo.  ``manifest.json``
is written last, so its presence marks a complete set of outputs.
"""

from __future__ import annotations

from pathlib import Path

from ..inputs.currency import Currency
from ..inputs.currency import declared as declared_currency
from ..results.binding import binding_limits
from ..results.columns import levers_section, total_label
from ..results.optimality import run_warnings
from ..results.risk import SUMMARY_ROWS as RISK_ROWS
from ..results.tables import Results
from ..results.ties import tie_groups
from .charts import analyst_charts, pathway_charts
from .excel import write_results_xlsx
from .files import write_csv, write_json
from .render import Block, Section

OUTPUT_FILES = ("results.xlsx", "summary.json", "flows.csv", "manifest.json")


def mineral_entries(results: Results, year: int) -> dict:
    """summary.json's per-mineral fields for one planned year."""
    minerals = {}
    for row in results.minerals.to_dict("records"):
        if row["year"] != year:
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
    return minerals


def summary_document(results: Results) -> dict:
    minerals = mineral_entries(results, results.year)
    years = sorted(int(y) for y in set(results.minerals["year"]))
    currency = declared_currency(results.inputs)
    document = {
        "run": results.run_name,
        "status": results.status,
        "year": results.year,
        "currency": currency.code,
        "objective": results.objective,
        "mip_gap": results.mip_gap,
        "objective_bound": results.bound,
        "cost_by_lever": results.cost_by_lever,
        "minerals": minerals,
        "years": years,
        "by_year": {str(y): mineral_entries(results, y) for y in years},
        "cost_by_year": {str(y): costs for y, costs in results.cost_by_year().items()},
        "projects_chosen": results.chosen_projects,
        "plants_built": results.built_plants,
        "project_start_years": {p: int(y) for p, y in zip(results.projects["project"], results.projects["start_year"])
                                if y is not None and y == y},
        "plant_start_years": {k: int(y) for k, y in zip(results.plants["plant"], results.plants["start_year"])
                              if y is not None and y == y},
        "marginal_values": marginal_document(results),
        **forced_document(results),
        "warnings": run_warnings(results),
        "ties": [dict(row, routes=row["routes"].split(", ")) for row in tie_groups(results.flows).to_dict("records")],
    }
    if currency.report:
        document["report_currency"] = {
            "currency": currency.report, "fx_rate": currency.fx_rate,
            "objective": currency.in_report(results.objective),
            "cost_by_lever": {lever: currency.in_report(cost) for lever, cost in results.cost_by_lever.items()}}
    if results.risk is not None:
        document["risk"] = results.risk
    if results.decomposition is not None:
        document["decomposition"] = results.decomposition
    if results.stress is not None:
        from ..results.stress import expected

        document["stress"] = {**expected(results.stress), "scenarios": sorted(set(results.stress["scenario"]))}
        if results.worst is not None:
            document["stress"]["worst"] = results.worst
    if results.status == "infeasible":
        document["diagnosis"] = {
            "message": "no portfolio meets every target within the limits; the elastic re-solve shows what is "
                       "missing and which limits bind",
            "elastic_objective": results.elastic_objective,
            # per mineral its latest year with a relaxation; every year in by_year (a pathway)
            "minerals": {d["mineral"]: {k: v for k, v in d.items() if k != "mineral"} for d in results.diagnosis},
            "by_year": {str(year): {d["mineral"]: {k: v for k, v in d.items() if k not in ("mineral", "year")}
                                    for d in results.diagnosis if d["year"] == year}
                        for year in sorted({d["year"] for d in results.diagnosis})},
            "relaxed": relaxed_rows(results),
        }
    return document


def forced_document(results: Results) -> dict:
    """summary.json ``forced_in_cost`` (id -> increase of the objective when forced in, or null) and
    ``forced_in_notes`` (id -> why it is null)."""
    frame = results.forced_in
    if frame is None or frame.empty:
        return {}
    costs, notes = {}, {}
    for row in frame.to_dict("records"):
        cost = row["forced_in_cost"]
        costs[row["id"]] = None if cost is None or cost != cost else float(cost)
        if costs[row["id"]] is None:
            notes[row["id"]] = row["reason"]
    return {"forced_in_cost": costs, "forced_in_notes": notes}


def relaxed_rows(results: Results) -> list[dict]:
    """Every limit the elastic re-solve relaxed, one flat row each (summary.json and the workbook)."""
    return [{"year": d["year"], "mineral": d["mineral"], **r} for d in results.diagnosis for r in d["relaxed"]]


def marginal_document(results: Results) -> dict | None:
    """summary.json ``marginal_values`` for the reported year (docs/model.md), from the marginal table."""
    frame = results.marginal_values
    if frame is None or frame.empty:
        return None
    rows = [r for r in frame.to_dict("records") if r["year"] == results.year]

    def clean(value):
        return None if value is None or value != value else value

    document = {
        "method": "LP re-solve with every integer variable fixed at the chosen portfolio; the budget, which "
                  "acts on binaries only, is priced by the step to the portfolio chosen without it",
        "year": results.year,
        "target": {r["mineral"]: r["value"] for r in rows if r["kind"] == "target"},
        "target_row_dual": {r["mineral"]: r["value"] for r in rows if r["kind"] == "target_row_dual"},
        "country_cap": {},
        "budget": None,
        "stockpile_days": {r["mineral"]: clean(r["value"]) for r in rows if r["kind"] == "stockpile_days"},
        "units": {"target": "annual cost per extra t of requirement, every cap, floor and share of the requirement "
                            "moving with it (total derivative)",
                  "target_row_dual": "the target row's dual alone, every cap, floor and share held in t (partial "
                                     "derivative; not the cost of more requirement)",
                  "country_cap": "annual cost saved per percentage point of cap (binding caps only)",
                  "budget": "annual cost saved per extra currency unit of budget",
                  "stockpile_days": "annual cost per extra day of cover"},
    }
    for r in rows:
        if r["kind"] in ("country_cap", "any_stage_cap"):
            stage = "any" if r["kind"] == "any_stage_cap" else r["stage"]
            document["country_cap"].setdefault(r["mineral"], {}).setdefault(stage, {})[r["country"]] = r["value"]
        elif r["kind"] == "budget":
            document["budget"] = {"value": r["value"], "binding": r["value"] > 0, "limit": r["limit"],
                                  "used": r["level"], "step_cost_saved": clean(r["step_cost_saved"]),
                                  "step_extra_budget": clean(r["step_extra_budget"])}
    return document


def summary_rows(results: Results, manifest: dict) -> list:
    """The Summary sheet of results.xlsx, top to bottom (see ``render.summary_sheet``)."""
    from ..inputs.runfile import POLICY_KEYS

    infeasible = results.status == "infeasible"
    solver = manifest.get("solver", {})
    wall = manifest.get("wall_seconds", {})
    costs = results.cost_by_lever
    total = sum(costs.values())
    currency = declared_currency(results.inputs)
    objective = results.elastic_objective if infeasible else results.objective
    years = sorted(int(y) for y in set(results.minerals["year"]))
    pathway = len(years) > 1  # the objective is then a present value: every year discounted to the first
    unit = (f"{currency.code}, {years[0]}-{years[-1]} discounted to {years[0]}" if pathway
            else f"{currency.code} per year")
    rows: list = [
        Section(f"critmin results: {results.run_name}"),
        ("run", results.run_name, "text"),
        ("status", results.status, "text",
         "no portfolio meets every target: see Diagnosis" if infeasible else None),
        *[("WARNING", warning, "text") for warning in run_warnings(results)],
        ("planned year", results.year, "text"),
        ("currency", currency.code, "text", "of every amount of money in this workbook (the dataset's)"),
        (total_label(pathway, infeasible), objective, "money", unit),
        *([(total_label(pathway, infeasible, currency.report), currency.in_report(objective), "money",
            currency.rate_text)] if currency.report else []),
        ("achieved MIP gap", results.mip_gap, "gap", "|incumbent - bound| / |incumbent|"),
        ("objective bound", results.bound, "money"),
        ("solve time (s)", wall.get("solve"), "seconds", "HiGHS, strict and elastic"),
        ("total time (s)", sum(v for v in wall.values() if isinstance(v, (int, float))) or None, "seconds",
         "load, build, solve, tables"),
        ("solver", f"{solver.get('name', '')} {solver.get('version', '')}".strip(), "text", solver.get("termination")),
        ("data hash (sha256 of inputs)", manifest.get("data_hash"), "text"),
        ("dataset", manifest.get("dataset"), "text"),
        ("run file", manifest.get("run_file"), "text"),
        ("equity stakes taken", ", ".join(results.chosen_projects) or "none", "text"),
        ("recycling plants built", ", ".join(results.built_plants) or "none", "text"),
        *portfolio_rows(results, currency, pathway),
        *risk_rows(results.risk),
    ]
    if not infeasible:  # an infeasible run's Diagnosis says what binds in the elastic re-solve
        binding = binding_limits(results, manifest.get("policy", {}))
        binding = binding[binding["year"] == results.year].drop(columns="year").reset_index(drop=True)
        binding["unit"] = [currency.unit(unit) for unit in binding["unit"]]
        title = f"What binds ({results.year}; every year on the What binds sheet)"
        rows += ([Block(title, binding, table="binding")] if len(binding) else
                 [Section(title), ("nothing", "no policy limit is at its bound", "text")])
    ties = tie_groups(results.flows)
    if len(ties):
        rows.append(Block("Tied at equal cost (the solver took one; the split among them is arbitrary; see "
                          "tied_with on the Flows sheet)", ties, table="ties"))
    rows += [Section(levers_section(pathway))]
    rows += [(lever, cost, "money", cost / total if total else None) for lever, cost in costs.items()
             if cost or lever not in ("shortfall", "recourse")]
    rows.append(("total", total, "money", 1.0 if total else None))
    rows.append(Section("Policy settings"))
    for key, value in manifest.get("policy", {}).items():
        spec = POLICY_KEYS.get(key)
        kind = "share" if spec is not None and spec.kind == "fraction" else "money" if "budget" in key else None
        rows.append((key, "none" if value is None else value, kind, currency.unit(spec.meaning) if spec else None))
    glance = results.minerals[results.minerals["year"] == results.year]
    columns = [c for c in ("mineral", "unit", "target_t", "supplied_t", "shortfall_t", "stockpile_t", "stock_days",
                           "largest_mine_share", "largest_mine_country", "largest_refine_share",
                           "largest_refine_country") if c in glance.columns]
    rows.append(Block(f"Minerals at a glance ({results.year}; shares of the annual requirement)",
                      glance[columns].reset_index(drop=True), table="minerals"))
    return rows


def risk_rows(risk: dict | None) -> list:
    """The Summary's "Disruption risk" rows: summary.json ``risk`` for the last planned year."""
    if not risk:
        return []
    alpha = f"{risk['alpha']:.4g}"
    notes = {"expected_recourse": f"over {risk['scenarios']:,} joint scenarios ({risk['method']})",
             "var": f"alpha {alpha}: the cost no more than {1 - risk['alpha']:.4g} of years exceed",
             "cvar": f"alpha {alpha}: the mean of the worst {1 - risk['alpha']:.4g} of years (Risk sheet)",
             "expected_cost": (f"risk measure cvar, weight {risk['risk_weight']:.4g}" if risk["measure"] == "cvar"
                               else "risk measure expected (the model weighs each event alone)"),
             "probability_of_loss": "chance of a year with a positive extra cost",
             "expected_unmet_t": "tonnes a year left unmet, probability-weighted, all minerals"}
    kinds = {"probability_of_loss": "share", "expected_unmet_t": None}
    return [Section(f"Disruption risk ({risk['year']}; every joint scenario on the Risk sheet)"),
            *[(label, risk[key], kinds.get(key, "money"), notes[key]) for label, key in RISK_ROWS.items()]]


def portfolio_rows(results: Results, currency: Currency, pathway: bool) -> list:
    """The Summary's stakes and plants, new (chosen by this run: capex charged) apart from committed ones
    (already held: capex sunk)."""
    rows: list = [Section("New and committed assets")]
    for noun, frame, key, flag in (("equity stakes", results.projects, "project", "chosen"),
                                   ("recycling plants", results.plants, "plant", "built")):
        held = frame[frame[flag].astype(bool)]
        sunk = held["committed"].astype(bool)
        new, committed = held[~sunk], held[sunk]
        names = [f"{name} ({int(year)})" if pathway else str(name) for name, year in zip(new[key], new["start_year"])]
        charged = float(new["capex_charged"].sum())
        rows.append((f"new {noun}", ", ".join(names) or "none", "text",
                     f"capex charged: {currency.code} {charged:,.0f}" if names else None))
        rows.append((f"committed {noun}", ", ".join(str(n) for n in committed[key]) or "none", "text",
                     "already held: capex sunk" if len(committed) else None))
    return rows


def write_outputs(folder: Path, results: Results, manifest: dict) -> None:
    folder = Path(folder)
    projects = results.projects.assign(annual_cost=results.projects["annualized_capex"]
                                       + results.projects["offtake_cost"])
    tables = {"Supply": results.minerals, "Country dependence": results.shares, "Equity projects": projects,
              "Stockpile": results.stockpile, "Recycling": results.recycling, "Recycling plants": results.plants,
              "Costs": results.costs, "Flows": results.flows}
    if results.diagnosis:
        import pandas as pd

        tables["Relaxed limits"] = pd.DataFrame(relaxed_rows(results),
                                                columns=["year", "mineral", "limit", "where", "relaxed_t",
                                                         "share_of_target", "bound_t"])
        tables["Diagnosis"] = pd.DataFrame([{**{k: v for k, v in d.items() if k != "relaxed"},
                                             "ally_floor_unmet_t": "; ".join(f"{g} {v:,.0f} t" for g, v in
                                                                             d["ally_floor_unmet_t"].items()),
                                             "binding": "; ".join(d["binding"])} for d in results.diagnosis])
    if results.stress is not None:
        tables["Stress"] = results.stress
    if results.risk_scenarios is not None:
        tables["Risk"] = results.risk_scenarios
    if results.marginal_values is not None and not results.marginal_values.empty:
        tables["Marginal values"] = results.marginal_values
    if results.forced_in is not None and not results.forced_in.empty:
        tables["Forced-in costs"] = results.forced_in
    if results.status != "infeasible":
        tables["What binds"] = binding_limits(results, manifest.get("policy", {}))
    policy = manifest.get("policy", {})
    caps = {m: (policy.get("country_cap_by_mineral") or {}).get(m, policy.get("country_cap"))
            for m in results.minerals["mineral"]}
    charts = analyst_charts(results.minerals, results.flows, caps, results.year)
    currency = declared_currency(results.inputs)
    if results.minerals["year"].nunique() > 1:
        tables.update(pathway_tables(results))
        charts += pathway_charts(results.minerals, results.costs, currency.code)
    write_results_xlsx(folder / "results.xlsx", summary_rows(results, manifest), tables, charts=charts,
                       inputs=results.inputs, currency=currency)
    write_json(folder / "summary.json", summary_document(results))
    write_csv(folder / "flows.csv", results.flows)
    if results.stress is not None:
        write_csv(folder / "stress.csv", results.stress)
    write_json(folder / "manifest.json", manifest)


def pathway_tables(results: Results) -> dict:
    """The per-year views of a pathway run: investments by start year, the stock path, the shares."""
    import pandas as pd

    projects = results.projects[results.projects["chosen"]].assign(asset="equity stake", id=results.projects["project"])
    plants = results.plants[results.plants["built"]].assign(asset="recycling plant", id=results.plants["plant"],
                                                            name=results.plants["plant"])
    columns = ["start_year", "asset", "id", "name", "committed", "capex", "capex_charged"]
    timeline = pd.concat([projects.reindex(columns=columns), plants.reindex(columns=columns)], ignore_index=True)
    timeline = timeline.sort_values(["start_year", "asset", "id"], kind="stable").reset_index(drop=True)
    shares = results.minerals[["year", "mineral", "largest_mine_share", "largest_mine_country",
                               "largest_refine_share", "largest_refine_country", "largest_any_share",
                               "largest_any_country"]]
    stock = results.stockpile[["year", "mineral", "unit", "stockpile_t", "rule_t", "build_up_t", "max_stock_build_t",
                               "requirement_days"]]
    return {"Investment timeline": timeline, "Stock trajectory": stock, "Shares by year": shares}
