"""Realism extensions (docs/model.md "Realism extensions"): market-linked and floored prices, mine blends,
recycling streams.  Each case is small enough to solve by hand; the expected values are those hand
solutions, and each would come out differently without the feature (so the tests can fail)."""

from __future__ import annotations

import csv
import json

import pytest

from cases import BASE_TABLES, route, solve_case, tonnes, write_dataset
from critmin.cli import main
from critmin.inputs.data import load
from critmin.results.verify import verify_files


def linked(option: str, factor: float, max_t: float, floor: float | None = None) -> dict:
    row = route(option, 0, max_t)
    row.update(unit_cost="", price_factor=factor, price_floor="" if floor is None else floor)
    return row


# --------------------------------------------------------------------------- price basis


PRICED = [linked("li-AUS-AUS", 0.8, 60),  # 0.8 x reference 10 = 8
          route("li-CHL-CHL", 9, 100),  # fixed 9
          linked("li-CHN-CHN", 0.5, 100, floor=9.5)]  # 5, floored at 9.5


def test_market_linked_rows_price_off_the_reference_price(tmp_path):
    """AUS at 8 (60 t) then CHL at 9 (40 t): 480 + 360 = 840; the floored CHN row (9.5) is left."""
    results = solve_case(tmp_path, {"supply": PRICED})
    assert results.objective == pytest.approx(840)
    assert tonnes(results, "li-AUS-AUS") == pytest.approx(60)
    assert tonnes(results, "li-CHL-CHL") == pytest.approx(40)


def test_a_price_index_moves_linked_rows_and_the_floor_holds(tmp_path):
    """price_index 1.5: AUS 0.8 x 15 = 12, CHL 9 x 1.5 = 13.5, CHN max(9.5, 0.5 x 15 = 7.5) = 9.5: all
    100 t from CHN, 950."""
    results = solve_case(tmp_path, {"supply": PRICED, "price_index": [dict(mineral="li", year=2030, factor=1.5)]})
    assert results.objective == pytest.approx(950)
    assert tonnes(results, "li-CHN-CHN") == pytest.approx(100)


def test_a_new_reference_price_reprices_every_linked_row(tmp_path):
    """Reference 20: AUS 16, CHN max(9.5, 10) = 10, CHL 9: CHL 100 t, 900."""
    minerals = [dict(BASE_TABLES["minerals"][0], reference_price=20)]
    results = solve_case(tmp_path, {"supply": PRICED, "minerals": minerals})
    assert results.objective == pytest.approx(900)


def test_offtake_with_a_contract_floor(tmp_path):
    """A stake (no capex) delivers 50 t at max(7, 0.6 x 10 = 6) = 7; the rest from AUS at 8:
    350 + 400 = 750.  At reference 20 the offtake costs 0.6 x 20 = 12 (above its floor), dearer than CHL
    at 9: all 100 t from CHL, 900 (an offtake held at its floor of 7 would give 50 x 7 + 50 x 9 = 800)."""
    projects = {"projects": [dict(project="P", name="Floored", mine_country="AUS", refine_country="JPN", capex=0,
                                  life_years=10, available_from=2030)],
                "project_offtake": [dict(project="P", mineral="li", offtake_t=50, unit_cost="", price_factor=0.6,
                                         price_floor=7, min_take=0)]}
    results = solve_case(tmp_path / "a", {"supply": PRICED, **projects})
    assert results.objective == pytest.approx(750)
    assert tonnes(results, "P") == pytest.approx(50)
    minerals = [dict(BASE_TABLES["minerals"][0], reference_price=20)]
    results = solve_case(tmp_path / "b", {"supply": PRICED, "minerals": minerals, **projects})
    assert results.objective == pytest.approx(900)
    assert tonnes(results, "P") == 0


# --------------------------------------------------------------------------- mine blends


def blend_route(option: str, refine: str, cost: float, max_t: float) -> dict:
    return dict(option=option, mineral="li", mine_country="*", refine_country=refine, unit_cost=cost, max_t=max_t)


BLEND = {"supply": [blend_route("li-mix-JPN", "JPN", 5, 100), route("li-CHL-CHL", 10, 100)],
         "mine_mix": [dict(source_type="market", source_id="li-mix-JPN", mine_country="AUS", share=0.6),
                      dict(source_type="market", source_id="li-mix-JPN", mine_country="CHN", share=0.4)]}


def test_a_blend_counts_share_by_share_in_the_caps(tmp_path):
    """Cap 50 %: AUS gets 0.6 x of the blend <= 50, so x = 83.33 and CHL 16.67: 416.67 + 166.67 = 583.33.
    (Counted whole under one country the blend could bring only 50 t.)"""
    results = solve_case(tmp_path, BLEND, {"country_cap": 0.5})
    assert results.objective == pytest.approx(50 / 0.6 * 5 + (100 - 50 / 0.6) * 10)
    flows = results.flows.set_index(["source_id", "mine_country"])["tonnes"]
    assert flows["li-mix-JPN", "AUS"] == pytest.approx(50)
    assert flows["li-mix-JPN", "CHN"] == pytest.approx(100 / 3)
    shares = results.shares
    mine = shares[shares["stage"] == "mine"].set_index("country")["share"]
    assert mine["AUS"] == pytest.approx(0.5) and mine["CHN"] == pytest.approx(1 / 3)


def test_a_blend_in_the_conflict_share_and_the_stock_rule(tmp_path):
    """30 % of the blend is mined in COD; conflict limit 10 %: x <= 33.33; stock rule 73 days (0.2 year)
    of the largest exposure: CHL's 66.67 t at both stages -> 13.33 t of stock (carrying 1 a tonne)."""
    tables = {"supply": BLEND["supply"],
              "mine_mix": [dict(source_type="market", source_id="li-mix-JPN", mine_country="AUS", share=0.7),
                           dict(source_type="market", source_id="li-mix-JPN", mine_country="COD", share=0.3)]}
    results = solve_case(tmp_path, tables, {"conflict_max_share": 0.1, "stockpile_days": 73})
    x = 10 / 0.3
    assert tonnes(results, "li-mix-JPN") == pytest.approx(x)
    assert results.objective == pytest.approx(5 * x + 10 * (100 - x) + 0.2 * (100 - x))


def test_any_stage_counts_a_blend_refined_in_a_mine_country_once(tmp_path):
    """A blend of AUS and CHN ore refined in CHN: for CHN every tonne counts once (not 1.5 times), so
    an any-stage cap of 50 % lets 50 t through (not 33.3)."""
    tables = {"supply": [blend_route("li-mix-CHN", "CHN", 5, 100), route("li-CHL-CHL", 10, 100)],
              "mine_mix": [dict(source_type="market", source_id="li-mix-CHN", mine_country="AUS", share=0.5),
                           dict(source_type="market", source_id="li-mix-CHN", mine_country="CHN", share=0.5)]}
    results = solve_case(tmp_path, tables, {"any_stage_cap": 0.5})
    assert tonnes(results, "li-mix-CHN") == pytest.approx(50)
    assert results.objective == pytest.approx(250 + 500)


def test_a_project_blend_splits_its_offtake(tmp_path):
    """A plant treating 50/50 AUS and CHL concentrate, refined at home; cap 40 % of 100 t: each mine
    country takes half, so 80 t can come from it (counted whole it could bring 40)."""
    tables = {"supply": [route("li-CHN-CHN", 20, 100)],
              "projects": [dict(project="P", name="Blend", mine_country="*", refine_country="JPN", capex=0,
                                life_years=10, available_from=2030)],
              "project_offtake": [dict(project="P", mineral="li", offtake_t=100, unit_cost=5, min_take=0)],
              "mine_mix": [dict(source_type="equity", source_id="P", mine_country="AUS", share=0.5),
                           dict(source_type="equity", source_id="P", mine_country="CHL", share=0.5)]}
    results = solve_case(tmp_path, tables, {"country_cap": 0.4})
    assert tonnes(results, "P") == pytest.approx(80)
    assert results.objective == pytest.approx(80 * 5 + 20 * 20)


def test_cli_blend_rows_in_flows_csv_pass_verify_and_a_tampered_split_fails(tmp_path, capsys):
    write_dataset(tmp_path / "data", {**BASE_TABLES, **BLEND})
    run = tmp_path / "blend.toml"
    run.write_text('name = "blend"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 0.5\nstockpile_days = 30\n')
    out = tmp_path / "out"
    assert main(["solve", str(run), "--out", str(out)]) == 0
    with open(out / "flows.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    blend = [r for r in rows if r["source_id"] == "li-mix-JPN"]
    assert sorted(r["mine_country"] for r in blend) == ["AUS", "CHN"]
    data = load(run)
    assert verify_files(data, out).passed
    for r in blend:  # move 10 t from the AUS row to the CHN row: totals unchanged, split wrong
        r["tonnes"] = str(float(r["tonnes"]) + (-10 if r["mine_country"] == "AUS" else 10))
    with open(out / "flows.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from critmin.errors import InputError

    with pytest.raises(InputError, match="blend"):
        verify_files(data, out)


# --------------------------------------------------------------------------- recycling streams


STREAMS = {
    "minerals": BASE_TABLES["minerals"] + [dict(mineral="nd", unit="t NdPr", reference_price=100,
                                                holding_cost_rate=0.1, shortfall_penalty=10000)],
    "targets": BASE_TABLES["targets"] + [dict(mineral="nd", year=2030, target_t=20)],
    "supply": [route("li-CHL-CHL", 10, 200),
               dict(option="nd-AUS-AUS", mineral="nd", mine_country="AUS", refine_country="AUS", unit_cost=100,
                    max_t=100)],
    "recycling": [dict(mineral="li", feedstock_t=100, recovery_rate=1.0, unit_cost=1, stream="battery"),
                  dict(mineral="nd", feedstock_t=20, recovery_rate=1.0, unit_cost=1, stream="magnet")],
    "recycling_plants": [dict(plant="B", capacity_t=50, capex=0, life_years=10, committed="true", stream="battery"),
                         dict(plant="M", capacity_t=10, capex=0, life_years=10, committed="true", stream="magnet")],
}


def test_streams_do_not_share_plant_capacity(tmp_path):
    """Battery plant 50 t, magnet plant 10 t: li recycles 50 t, nd 10 t: li 50 + 500, nd 10 + 1000 = 1560.
    (With one shared 60 t capacity nd would take 20 t and li 40 t.)"""
    results = solve_case(tmp_path, STREAMS)
    recycled = results.recycling.set_index("mineral")["recycled_t"]
    assert recycled["li"] == pytest.approx(50) and recycled["nd"] == pytest.approx(10)
    assert results.objective == pytest.approx(50 + 500 + 10 + 1000)


def test_without_streams_the_capacity_is_shared(tmp_path):
    tables = {**STREAMS,
              "recycling": [{k: v for k, v in row.items() if k != "stream"} for row in STREAMS["recycling"]],
              "recycling_plants": [{k: v for k, v in row.items() if k != "stream"}
                                   for row in STREAMS["recycling_plants"]]}
    results = solve_case(tmp_path, tables)
    recycled = results.recycling.set_index("mineral")["recycled_t"]
    assert recycled["nd"] == pytest.approx(20) and recycled["li"] == pytest.approx(40)
    assert results.objective == pytest.approx(40 + 600 + 20)


# --------------------------------------------------------------------------- validation


def _errors(tmp_path, capsys, tables: dict) -> list[str]:
    write_dataset(tmp_path / "data", {**BASE_TABLES, **tables})
    run = tmp_path / "bad.toml"
    run.write_text('name = "bad"\ndata = "data"\nyear = 2030\n')
    assert main(["validate", str(run)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()


@pytest.mark.parametrize("tables, where", [
    ({"supply": [dict(route("li-CHL-CHL", 10, 100), price_factor=0.8)]}, "supply.csv:2:price_factor"),
    ({"supply": [dict(route("li-CHL-CHL", 10, 100), unit_cost="", price_factor="")]}, "supply.csv:2:unit_cost"),
    ({"supply": BLEND["supply"], "mine_mix": BLEND["mine_mix"][:1]}, "mine_mix.csv:2:share"),
    ({"supply": BLEND["supply"]}, "supply.csv:2:mine_country"),
    ({"supply": [route("li-CHL-CHL", 10, 100)], "mine_mix": [dict(source_type="market", source_id="li-CHL-CHL",
                                                                mine_country="AUS", share=1.0)]},
     "mine_mix.csv:2:source_id"),
    ({"supply": BLEND["supply"], "mine_mix": BLEND["mine_mix"] + [dict(source_type="market", source_id="nope",
                                                                      mine_country="AUS", share=1)]},
     "mine_mix.csv:4:source_id"),
    ({"supply": BLEND["supply"], "mine_mix": [dict(BLEND["mine_mix"][0], share=1.0),
                                              dict(BLEND["mine_mix"][1], share=0)]}, "mine_mix.csv:3:share"),
    ({"supply": BLEND["supply"], "mine_mix": [dict(BLEND["mine_mix"][0], source_type="spot"), BLEND["mine_mix"][1]]},
     "mine_mix.csv:2:source_type"),
    ({"supply": BLEND["supply"], "mine_mix": [dict(BLEND["mine_mix"][0], mine_country="XXX"), BLEND["mine_mix"][1]]},
     "mine_mix.csv:2:mine_country"),
])
def test_bad_realism_inputs_are_located(tmp_path, capsys, tables, where):
    lines = _errors(tmp_path, capsys, tables)
    assert any(where in line for line in lines), lines


# --------------------------------------------------------------------------- per-mineral stock floor


def with_floor(days) -> dict:
    """The one mineral with its own stockpile_min_days cell ('' = blank: the run's)."""
    return {"minerals": [dict(BASE_TABLES["minerals"][0], stockpile_min_days=days)],
            "supply": [route("li-CHL-CHL", 10, 100)]}


@pytest.mark.parametrize("days, policy_days, stock", [
    (73, 36.5, 20),  # the mineral's 73 days (0.2 year of 100 t) replace the run's 36.5
    ("", 36.5, 10),  # blank: the run's 36.5 days
    (0, 36.5, 0),  # an explicit 0: no floor for this mineral, whatever the run says
])
def test_a_mineral_floor_replaces_the_run_floor(tmp_path, days, policy_days, stock):
    """100 t at 10 = 1000, plus the floor's stock at 1 a tonne a year.  Without a per-mineral floor every
    case would hold the run's 10 t (1010)."""
    results = solve_case(tmp_path, with_floor(days), {"stockpile_min_days": policy_days})
    assert results.objective == pytest.approx(1000 + stock)
    assert results.stockpile["stockpile_t"].iloc[0] == pytest.approx(stock)
    assert results.stockpile["floor_days"].iloc[0] == pytest.approx(73 if days == 73 else (0 if days == 0 else 36.5))


def test_cli_a_mineral_floor_is_verified_and_a_stock_below_it_fails(tmp_path, capsys):
    """solve -> verify passes; the stock cut to the run's 10 t (below the mineral's 20 t) fails the floor."""
    write_dataset(tmp_path / "data", {**BASE_TABLES, **with_floor(73)})
    run = tmp_path / "floor.toml"
    run.write_text('name = "floor"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 1.0\nstockpile_days = 0\n'
                   'stockpile_min_days = 36.5\n')
    out = tmp_path / "out"
    assert main(["solve", str(run), "--out", str(out)]) == 0
    data = load(run)
    assert verify_files(data, out).passed
    path = out / "summary.json"
    summary = json.loads(path.read_text())
    # one more tonne of requirement: 10 for the tonne and 0.2 t more stock at 1 a year
    assert summary["marginal_values"]["target"]["li"] == pytest.approx(10.2)
    summary["marginal_values"]["target"]["li"] = 10.0  # the price without the floor's term
    path.write_text(json.dumps(summary))
    report = verify_files(data, out)
    assert any("marginal_values.target.li" in line for line in report.failures()), report.failures()
    summary["marginal_values"]["target"]["li"] = 10.2
    assert summary["minerals"]["li"]["stockpile_t"] == pytest.approx(20)
    for entry in (summary["minerals"]["li"], summary["by_year"]["2030"]["li"]):
        entry["stockpile_t"] = 10.0  # the run's floor, not the mineral's
    path.write_text(json.dumps(summary))
    report = verify_files(data, out)
    assert not report.families["stockpile"].passed
    assert any("li floor 2030" in line for line in report.failures())


def test_a_bad_mineral_floor_is_located(tmp_path, capsys):
    lines = _errors(tmp_path, capsys, {"minerals": [dict(BASE_TABLES["minerals"][0], stockpile_min_days=-5)]})
    assert any("minerals.csv:2:stockpile_min_days" in line for line in lines), lines
