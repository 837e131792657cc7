"""Generated datasets for benchmarks and tests: the real data's shape, any size.

``generate(minerals=70, seed=1)`` returns tables (lists of row dicts, as the
CSV files hold them) with, per mineral, one dominant low-cost country, a
spread of other mine/refine routes, a couple of equity projects, some with
a minimum volume or fixed cost, and recycling feedstock; every mineral has a
costly home-refined route big enough to keep the 65 % cap feasible.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path


def generate(minerals: int = 7, countries: int = 30, routes_per_mineral: int = 10, projects_per_mineral: int = 2,
             plants: int = 4, year: int = 2030, seed: int = 1) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    codes = ["HOM"] + [f"C{i:02d}" for i in range(1, countries)]
    tables: dict[str, list[dict]] = {name: [] for name in (
        "minerals", "targets", "countries", "supply", "projects", "project_offtake", "recycling", "recycling_plants")}
    for i, code in enumerate(codes):
        tables["countries"].append(dict(country=code, name=f"Country {code}", home=str(i == 0).lower(),
                                        ally=str(i % 3 == 1).lower(), conflict_affected=str(i % 11 == 5).lower()))
    for n in range(minerals):
        mineral = f"m{n:03d}"
        price = round(rng.uniform(1_000, 60_000), 0)
        target = round(rng.uniform(1_000, 100_000), -2)
        tables["minerals"].append(dict(mineral=mineral, unit="t", reference_price=price,
                                       holding_cost_rate=round(rng.uniform(0.02, 0.08), 3),
                                       shortfall_penalty=10 * price, existing_stock_t=0))
        tables["targets"].append(dict(mineral=mineral, year=year, target_t=target))
        dominant = rng.choice(codes[1:])
        pairs = {(dominant, dominant)}
        while len(pairs) < routes_per_mineral - 1:
            pairs.add((rng.choice(codes[1:]), rng.choice(codes[1:] + [dominant] * 3)))
        for j, (mine, refine) in enumerate(sorted(pairs)):
            cheap = refine == dominant
            tables["supply"].append(dict(
                option=f"{mineral}-{mine}-{refine}", mineral=mineral, mine_country=mine, refine_country=refine,
                unit_cost=round(price * rng.uniform(0.85, 1.0) if cheap else price * rng.uniform(1.0, 1.3), 2),
                max_t=round(target * (rng.uniform(0.5, 1.2) if cheap else rng.uniform(0.05, 0.4)), 0),
                min_t=round(target * 0.05, 0) if j % 4 == 3 else 0,
                fixed_cost=round(price * target * 0.002, 0) if j % 5 == 4 else 0))
        tables["supply"].append(dict(option=f"{mineral}-HOM-HOM", mineral=mineral, mine_country=rng.choice(codes[1:]),
                                     refine_country="HOM", unit_cost=round(price * 1.5, 2), max_t=target,
                                     min_t=0, fixed_cost=0))
        for k in range(projects_per_mineral):
            project = f"p-{mineral}-{k}"
            offtake = round(target * rng.uniform(0.05, 0.25), 0)
            tables["projects"].append(dict(project=project, name=f"Project {project}",
                                           mine_country=rng.choice(codes[1:]), refine_country=rng.choice(codes),
                                           capex=round(offtake * price * rng.uniform(0.5, 2.0), -3),
                                           life_years=rng.choice([15, 20, 25]),
                                           available_from=year - 3 if k % 5 != 4 else year + 1))
            tables["project_offtake"].append(dict(project=project, mineral=mineral, offtake_t=offtake,
                                                  unit_cost=round(price * rng.uniform(0.6, 0.9), 2),
                                                  min_take=0.5 if k % 2 else 0))
        if n % 2 == 0:
            tables["recycling"].append(dict(mineral=mineral, feedstock_t=round(target * 0.05, 0),
                                            recovery_rate=round(rng.uniform(0.6, 0.95), 2),
                                            unit_cost=round(price * 0.3, 2)))
    total_feed = sum(row["feedstock_t"] for row in tables["recycling"]) or 1
    for k in range(plants):
        tables["recycling_plants"].append(dict(plant=f"plant-{k}", capacity_t=round(total_feed / plants * 1.5, 0),
                                               capex=round(total_feed * 2_000 * rng.uniform(0.5, 1.5), -3),
                                               life_years=15, fixed_cost=round(total_feed * 100, 0)))
    return tables


def write(folder: Path, tables: dict[str, list[dict]]) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if not rows:
            continue
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder


def generate_disruptions(data, count: int, seed: int = 1):
    """``count`` random scenarios over the countries and stages the data's flows pass through.

    Each has one to three rows (mineral or *, stage, country), a loss share in
    [0.2, 1], 30 to 365 days and a probability in [0.005, 0.1] per year.
    """
    import pandas as pd

    rng = random.Random(seed)
    exposures = sorted(data.exposures())  # (mineral, stage, country) with a flow
    rows = []
    for n in range(count):
        probability = round(rng.uniform(0.005, 0.1), 4)
        for mineral, stage, country in rng.sample(exposures, rng.randint(1, 3)):
            rows.append(dict(scenario=f"generated-{n:03d}", mineral=mineral if rng.random() > 0.1 else "*",
                             stage=stage, country=country, loss_share=round(rng.uniform(0.2, 1.0), 2),
                             duration_days=float(rng.randint(30, 365)), probability=probability,
                             source="generated", notes=""))
    frame = pd.DataFrame(rows)
    return frame.drop_duplicates(["scenario", "mineral", "stage", "country"]).reset_index(drop=True)
