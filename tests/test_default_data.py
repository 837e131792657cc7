"""End to end on the embedded Japan-2030 dataset and runs/base-2030.toml."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from cases import BASE, ROOT
from critmin.cli import main
from critmin.inputs.data import load, prepare
from critmin.optimization.solve import solve
from critmin.results.tables import tidy

MINERALS = {"lithium", "nickel", "cobalt", "graphite", "manganese", "ndpr", "dytb"}


@pytest.fixture(scope="module")
def base(base_data):
    return tidy(base_data, solve(base_data))


def with_policy(data, **changes):
    run = dataclasses.replace(data.run, policy=dataclasses.replace(data.run.policy, **changes))
    return prepare(data.dataset, run)


def test_default_dataset_shape(base_data):
    assert set(base_data.minerals) == MINERALS
    assert {m: base_data.target[m, 2030] for m in MINERALS} == {
        "lithium": 100_000, "nickel": 90_000, "cobalt": 20_000, "graphite": 150_000, "manganese": 20_000,
        "ndpr": 13_000, "dytb": 1_200}
    assert len(base_data.routes) >= 60
    routes = base_data.routes.values()
    countries = {r.mine_country for r in routes} | {r.refine_country for r in routes}
    countries |= {c for blend in base_data.mine_mix.values() for c in blend}  # blended routes' mine countries
    assert len(countries) >= 25
    assert "NAM" in countries  # Namibia, which a careless reader would turn into a missing value


def test_base_run_is_optimal_with_every_share_within_the_cap(base):
    assert base.status == "optimal"
    assert base.mip_gap <= 1e-4
    for stage in ("mine", "refine"):
        assert (base.minerals[f"largest_{stage}_share"] <= 0.65 + 1e-9).all()
    assert (base.minerals["shortfall_t"] == 0).all()
    assert (base.minerals["supplied_t"] >= base.minerals["target_t"] - 1e-6).all()


def test_base_costs_add_up(base):
    assert sum(base.cost_by_lever.values()) == pytest.approx(base.objective, rel=1e-9)
    assert base.flows["cost"].sum() + base.cost_by_lever["stockpile"] == pytest.approx(base.objective, rel=1e-9)


def test_loosening_the_cap_never_raises_the_cost_and_tightening_never_lowers_it(base_data, base):
    loose = tidy(base_data, solve(with_policy(base_data, country_cap=1.0)))
    assert loose.status == "optimal"
    assert loose.objective <= base.objective * (1 + 1e-4)
    tight = tidy(base_data, solve(with_policy(base_data, country_cap=0.5)))
    if tight.status == "infeasible":
        assert tight.diagnosis and all(d["binding"] for d in tight.diagnosis)
    else:
        assert tight.objective >= base.objective * (1 - 1e-4)


def test_the_same_solve_twice_gives_identical_flows(base_data, base):
    again = tidy(base_data, solve(base_data))
    assert again.flows.equals(base.flows)
    assert again.objective == base.objective


def test_cli_solve_writes_the_contracted_outputs(tmp_path, capsys):
    out = tmp_path / "base"
    assert main(["solve", str(BASE), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "total annual cost" in printed and "largest refine" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"
    assert summary["objective"] > 0 and summary["mip_gap"] <= 1e-4
    for mineral in MINERALS:
        entry = summary["minerals"][mineral]
        for key in ("target_t", "supplied_t", "recycled_t", "stockpile_t"):
            assert key in entry
        assert entry["largest_share"]["mine"]["share"] <= 0.65 + 1e-9
        assert entry["largest_share"]["refine"]["share"] <= 0.65 + 1e-9
    with open(out / "flows.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {"mineral", "source_type", "source_id", "mine_country", "refine_country", "tonnes", "cost"} <= set(rows[0])
    assert {row["source_type"] for row in rows} <= {"market", "equity", "recycling"}
    assert all(float(row["tonnes"]) > 0 for row in rows)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["solver"]["name"] == "highs" and manifest["input_sha256"]
    assert (out / "results.xlsx").stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


# --------------------------------------------------------------------------- README figures
# Each figure the README quotes for the default runs, against a fresh solve (a figure without such a
# check is a claim).  Tolerances are those of the README's rounding.


def test_readme_base_figures(base):
    assert base.mip_gap <= 1e-5  # proven at the run file's 1e-6: no warning
    assert base.objective == pytest.approx(5.963048e9, rel=2e-4)  # "USD 5.96 bn a year"
    assert set(base.chosen_projects) == {"ambatovy", "caremag", "coral-bay", "hyp-energy-fuels-ph2",
                                         "hyp-iluka-eneabba", "hyp-mp-hre", "lynas-hre", "lynas-lre", "olaroz",
                                         "taganito"}
    stock = base.minerals.set_index("mineral")["stock_days"]
    assert stock["dytb"] == pytest.approx(180) and stock["nickel"] == pytest.approx(60)  # JOGMEC's floors


@pytest.mark.slow  # the ten-year default pathway, as test_pathway.py (slow) solves it
def test_readme_pathway_figures():
    """At 1e-6 the pathway's optimum starts Caremag, hyp-Iluka and hyp-MP in 2027, hyp-Energy Fuels in 2029
    and Ardea in 2031; Hyuga is never chosen."""
    data = load(ROOT / "runs" / "pathway-2026-2035.toml")
    results = tidy(data, solve(data))
    assert results.mip_gap <= 1e-5
    assert results.objective == pytest.approx(35.409e9, rel=2e-4)  # "USD 35.41 bn discounted to 2026"
    starts = dict(zip(results.projects["project"], results.projects["start_year"]))
    assert starts["caremag"] == starts["hyp-iluka-eneabba"] == starts["hyp-mp-hre"] == 2027
    assert starts["hyp-energy-fuels-ph2"] == 2029 and starts["ardea-kalgoorlie"] == 2031
    assert starts["hyuga-matte"] is None or starts["hyuga-matte"] != starts["hyuga-matte"]  # not chosen


def test_readme_stochastic_figures():
    """The stochastic run: the base run's stakes, cobalt stock at 137 days (the quota extension), the rest on
    JOGMEC's floors; expected recourse USD 17.2 m a year."""
    data = load(ROOT / "runs" / "stochastic-2030.toml")
    results = tidy(data, solve(data))
    assert results.mip_gap <= 1e-5
    assert results.objective == pytest.approx(5.98302e9, rel=2e-4)
    assert results.cost_by_lever["recourse"] == pytest.approx(17.18e6, rel=1e-3)
    assert "hyuga-matte" not in results.chosen_projects and "hyp-iluka-eneabba" in results.chosen_projects
    days = results.minerals.set_index("mineral")["stock_days"]
    assert days["cobalt"] == pytest.approx(137, abs=0.5)
    assert days["nickel"] == pytest.approx(60) and days["dytb"] == pytest.approx(180)
