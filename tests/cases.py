"""Small datasets written from Python dicts, solved in-process.

Every case here is small enough to solve by hand; the expected values in the
tests are those hand solutions.  One mineral ``li`` (price 10, holding rate
0.1, so one tonne of stock costs 1 a year), target 100 t in 2030, and five
countries: JPN home, AUS and CHL allies, CHN, and COD conflict-affected.

Also the paths the tests share (``ROOT``, ``BASE``, ``FIXTURES``) and
``tiny``, a copy of the tiny fixture dataset; ``conftest.py`` builds its
fixtures on them.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from critmin.inputs.data import prepare
from critmin.inputs.runfile import parse_run
from critmin.inputs.validate import load_dataset
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

ROOT = Path(__file__).resolve().parents[1]  # the repository
BASE = ROOT / "runs" / "base-2030.toml"  # the default base run
FIXTURES = Path(__file__).parent / "fixtures"  # the tiny dataset (tiny/) and its run file (tiny.toml)

BASE_TABLES = {
    "minerals": [dict(mineral="li", unit="t LCE", reference_price=10, holding_cost_rate=0.1,
                      shortfall_penalty=1000, existing_stock_t=0)],
    "targets": [dict(mineral="li", year=2030, target_t=100)],
    "countries": [
        dict(country="JPN", name="Japan", home="true", ally="false", conflict_affected="false"),
        dict(country="AUS", name="Australia", home="false", ally="true", conflict_affected="false"),
        dict(country="CHL", name="Chile", home="false", ally="true", conflict_affected="false"),
        dict(country="CHN", name="China", home="false", ally="false", conflict_affected="false"),
        dict(country="COD", name="DR Congo", home="false", ally="false", conflict_affected="true"),
    ],
}

# A policy that switches every optional limit off; cases turn on what they test.
OPEN_POLICY = dict(country_cap=1.0, stockpile_days=0, discount_rate=0.0)


def route(option: str, cost: float, max_t: float, min_t: float = 0, fixed_cost: float = 0) -> dict:
    """A route id 'li-MINE-REFINE' names its countries."""
    _, mine, refine = option.split("-")
    return dict(option=option, mineral="li", mine_country=mine, refine_country=refine, unit_cost=cost,
                max_t=max_t, min_t=min_t, fixed_cost=fixed_cost)


def write_dataset(folder: Path, tables: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with open(folder / f"{name}.csv", "w", newline="") as handle:
            fields = list(dict.fromkeys(name for row in rows for name in row))  # rows may add optional columns
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def make_data(folder: Path, tables: dict, policy: dict | None = None, year: int = 2030, years: list | None = None):
    write_dataset(folder / "data", {**BASE_TABLES, **tables})
    document = {"name": "case", "data": "data", "policy": {**OPEN_POLICY, **(policy or {})},
                "solver": {"mip_rel_gap": 0.0}}
    document.update({"years": years} if years else {"year": year})
    run = parse_run(document, folder / "case.toml")
    return prepare(load_dataset(folder / "data"), run)


def solve_case(folder: Path, tables: dict, policy: dict | None = None, years: list | None = None):
    data = make_data(folder, tables, policy, years=years)
    outcome = solve(data)
    return tidy(data, outcome)


def tiny(folder: Path) -> Path:
    """Copy the tiny dataset and its run file into ``folder``; return the run file."""
    shutil.copytree(FIXTURES / "tiny", folder / "tiny")
    return Path(shutil.copy(FIXTURES / "tiny.toml", folder / "tiny.toml"))


def tonnes(results, source_id: str) -> float:
    flows = results.flows
    return float(flows.loc[flows["source_id"] == source_id, "tonnes"].sum())
