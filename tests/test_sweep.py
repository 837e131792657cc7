"""critmin sweep: the cap frontier on the default data, resume, usage errors, Dask.

The 13-point cap sweep of the issue (1.0:0.4:0.05) runs once per test
session on two local processes and is shared by the tests that read it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cases import BASE, ROOT
from critmin.cli import main
from critmin.commands import sweep as sweep_command

CAP_SWEEP = "policy.country_cap=1.0:0.4:0.05"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def cap_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("cap-sweep")
    assert main(["sweep", str(BASE), "--set", CAP_SWEEP, "--out", str(out), "--workers", "2", "--quiet"]) == 0
    return out


def test_cost_never_rises_as_the_cap_loosens(cap_sweep):
    rows = read_csv(cap_sweep / "sweep.csv")
    caps = [float(r["policy.country_cap"]) for r in rows]
    assert caps == pytest.approx([1.0 - 0.05 * i for i in range(13)])
    by_cap = sorted(rows, key=lambda r: float(r["policy.country_cap"]))
    solved = [r for r in by_cap if r["status"] == "optimal"]
    assert len(solved) >= 8 and "0.65" in {r["policy.country_cap"] for r in solved}
    # Once feasible, every looser cap is feasible too.
    statuses = [r["status"] for r in by_cap]
    assert statuses == sorted(statuses, key=lambda s: s == "optimal")
    costs = [float(r["annual_cost"]) for r in solved]
    # Each point is optimal within mip_rel_gap (1e-4), so allow that much noise.
    for tighter, looser in zip(costs, costs[1:]):
        assert looser <= tighter * (1 + 1e-4)
    assert costs[-1] < costs[0]
    # The 0.65 point is the base run (its cap is 0.65).
    from critmin.inputs.data import load
    from critmin.optimization.solve import solve

    point = next(r for r in rows if r["policy.country_cap"] == "0.65")
    assert float(point["annual_cost"]) == pytest.approx(solve(load(BASE)).strict.objective, rel=2e-4)


def test_sweep_outputs(cap_sweep):
    import openpyxl

    workbook = openpyxl.load_workbook(cap_sweep / "sweep.xlsx")
    sheet = workbook["Sweep"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["policy.country_cap", "status", "annual_cost"]
    assert {"cost_market", "cost_equity", "lithium_largest_refine_share", "lithium_stockpile_t"} <= set(header)
    assert sheet.max_row == 14
    country = sheet.cell(row=2, column=header.index("lithium_largest_refine_country") + 1)
    assert country.data_type == "s" and country.value == "CHN"
    frontier = workbook["Frontier"]
    assert len(frontier._charts) == 1 and frontier._charts[0].tagname == "lineChart"
    assert (cap_sweep / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every column is declared (results.columns): a setting, a fixed column, a lever's or a mineral's
    from critmin.results.columns import sweep_column

    assert [name for name in header[1:] if sweep_column(name, header[:1]) is None] == []
    assert sheet.cell(row=2, column=header.index("lithium_largest_refine_share") + 1).number_format == "0.0%"
    manifest = json.loads((cap_sweep / "sweep-manifest.json").read_text())
    assert manifest["points"] == 13 and manifest["settings"] == {"policy.country_cap": pytest.approx(
        [1.0 - 0.05 * i for i in range(13)])}
    assert len(list((cap_sweep / "sweep-points").glob("*.json"))) == 13


def test_fast_record_matches_the_full_tables():
    """The sweep's fast path (no full tidy) reports what the result tables say."""
    from dataclasses import replace

    from critmin.inputs.data import load
    from critmin.inputs.runfile import with_settings
    from critmin.optimization.solve import solve
    from critmin.results.sweep import point_record
    from critmin.results.tables import tidy

    data = load(BASE)
    for settings in ({"policy.country_cap": 0.7}, {"policy.country_cap": 0.4}):  # feasible, infeasible
        point = replace(data, run=with_settings(data.run, settings))
        outcome = solve(point)
        fast = point_record(point, outcome, settings, 0.0)
        full = _record_from_tables(tidy(point, outcome), settings, 0.0)
        assert _close(fast, full)


def _record_from_tables(results, settings: dict, seconds: float) -> dict:
    """A point's record as the full result tables state it (what the fast path must say)."""
    solved = results.status in ("optimal", "time_limit")
    minerals = {}
    for row in results.minerals[results.minerals["year"] == results.year].to_dict("records"):
        minerals[row["mineral"]] = {
            "target_t": row["target_t"],
            "largest_mine_share": row["largest_mine_share"],
            "largest_mine_country": row["largest_mine_country"] or "",
            "largest_refine_share": row["largest_refine_share"],
            "largest_refine_country": row["largest_refine_country"] or "",
            "stockpile_t": row["stockpile_t"],
            "stock_days": row["stock_days"],
            "unmet_t": row["shortfall_t"],
        }
    return {
        "settings": settings,
        "status": results.status,
        "objective": results.objective if solved else None,
        "mip_gap": results.mip_gap if solved else None,
        "cost_by_lever": results.cost_by_lever if solved else {},
        "minerals": minerals,
        "projects_chosen": results.chosen_projects if solved else [],
        "plants_built": results.built_plants if solved else [],
        "seconds": seconds,
    }


def _close(a, b) -> bool:
    if isinstance(a, dict):
        assert set(a) == set(b), (set(a) ^ set(b))
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert len(a) == len(b)
        return all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9)
        return True
    assert a == b
    return True


def test_resume_skips_finished_points(tmp_path, monkeypatch):
    out = tmp_path / "out"
    arguments = ["sweep", str(BASE), "--set", "policy.country_cap=0.6,0.65,0.7", "--out", str(out),
                 "--workers", "1", "--quiet"]
    calls = []
    real = sweep_command.solve_point

    def interrupted_after_one(data, settings):
        if calls:
            raise KeyboardInterrupt
        calls.append(settings)
        return real(data, settings)

    monkeypatch.setattr(sweep_command, "solve_point", interrupted_after_one)
    assert main(arguments) == sweep_command.EXIT_INTERRUPTED
    assert len(list((out / "sweep-points").glob("*.json"))) == 1
    assert not (out / "sweep.xlsx").exists()  # nothing half-written

    def counted(data, settings):
        calls.append(settings)
        return real(data, settings)

    calls.clear()
    monkeypatch.setattr(sweep_command, "solve_point", counted)
    assert main(arguments) == 0
    assert [c["policy.country_cap"] for c in calls] == [0.65, 0.7]  # 0.6 was saved before the interrupt
    rows = read_csv(out / "sweep.csv")
    assert [r["reused"] for r in rows] == ["true", "false", "false"]

    calls.clear()
    assert main(arguments) == 0
    assert calls == []  # every point saved
    calls.clear()
    assert main(arguments + ["--fresh"]) == 0
    assert len(calls) == 3


def test_a_changed_input_invalidates_saved_points(tmp_path, monkeypatch):
    """Saved points are keyed by the inputs' hash: edit the run file and they are solved again."""
    run = tmp_path / "run.toml"
    run.write_text(BASE.read_text().replace('data = "../data/japan-2030"', f'data = "{ROOT / "data" / "japan-2030"}"'))
    arguments = ["sweep", str(run), "--set", "policy.country_cap=0.65", "--out", str(tmp_path / "out"), "--quiet",
                 "--workers", "1"]
    assert main(arguments) == 0
    calls = []
    real = sweep_command.solve_point
    monkeypatch.setattr(sweep_command, "solve_point", lambda d, s: calls.append(s) or real(d, s))
    run.write_text(run.read_text().replace("stockpile_days = 60", "stockpile_days = 30"))
    assert main(arguments) == 0
    assert len(calls) == 1


@pytest.mark.parametrize("setting, message", [
    ("policy.country_cap=1.5", "--set:-:policy.country_cap: must be a number in [0, 1] (1.5)"),
    ("policy.contry_cap=0.5", "--set:-:policy.contry_cap: unknown key; did you mean 'country_cap'?"),
    ("country_cap=0.5", "--set:-:country_cap: name the section; did you mean 'policy.country_cap'?"),
    ("policy.country_cap=1.0:0.4", "--set:-:policy.country_cap: a range is START:STOP:STEP"),
    ("policy.country_cap=1.0:0.4:0", "--set:-:policy.country_cap: a range needs finite numbers and a non-zero step"),
    ("policy.country_cap=one", "--set:-:policy.country_cap: values must be START:STOP:STEP"),
    ("policy.country_cap", "--set:-:-: expected SECTION.KEY=VALUES"),
    ("policy.stockpile_days=-5,30", "--set:-:policy.stockpile_days: must be a number >= 0 (-5)"),
    ("policy.cap_stages=[\"mine\",\"midstream\"]", "--set:-:policy.cap_stages: must be a list drawn from"),
    ("policy.country_cap_by_mineral.unobtainium=0.5",
     "--set:-:policy.country_cap_by_mineral.unobtainium: unknown mineral (unobtainium)"),
    ("solver.threads=2", "--set:-:solver.threads: solver.threads cannot be swept"),
    ("solver.solver=highs", "--set:-:solver.solver: unknown key"),
])
def test_bad_setting_is_a_usage_error(tmp_path, capsys, setting, message):
    out = tmp_path / "out"
    assert main(["sweep", str(BASE), "--set", setting, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: " + message), error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_other_usage_errors(tmp_path, capsys):
    out = tmp_path / "out"
    cases = [
        (["--set", CAP_SWEEP, "--set", "policy.country_cap=0.5"], "policy.country_cap: set more than once"),
        (["--set", CAP_SWEEP, "--scheduler", "localhost:8786"], "--scheduler: must be a scheduler address"),
        (["--set", CAP_SWEEP, "--workers", "0"], "--workers must be a whole number >= 1"),
        ([], "the following arguments are required: --set"),
    ]
    for extra, message in cases:
        assert main(["sweep", str(BASE), "--out", str(out)] + extra) == 2
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error, error
    assert not out.exists()


def test_sweep_section_in_the_run_file_is_validated(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(BASE.read_text().replace('data = "../data/japan-2030"', f'data = "{ROOT / "data" / "japan-2030"}"')
                   + '\n[sweep]\nschedular = "tcp://127.0.0.1:8786"\nworkers = 0\n')
    assert main(["sweep", str(run), "--set", CAP_SWEEP, "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("error: run.toml:")
    assert "sweep.schedular: unknown key; did you mean 'scheduler'?" in lines[0]
    assert "sweep.workers: must be a whole number >= 1" in lines[1]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # starts a Dask cluster
def test_dask_local_cluster(tmp_path):
    """The same sweep on a Dask cluster (in-process workers, TCP like a real one) gives the same costs;
    the scheduler comes from --scheduler, then from the run file's [sweep] section."""
    distributed = pytest.importorskip("distributed")

    local = tmp_path / "local"
    points = "policy.country_cap=0.6,0.65"
    assert main(["sweep", str(BASE), "--set", points, "--out", str(local), "--workers", "1", "--quiet"]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        remote = tmp_path / "dask"
        assert main(["sweep", str(BASE), "--set", points, "--out", str(remote), "--quiet",
                     "--scheduler", cluster.scheduler_address]) == 0
        run = tmp_path / "run.toml"
        run.write_text(BASE.read_text().replace('data = "../data/japan-2030"',
                                                f'data = "{ROOT / "data" / "japan-2030"}"')
                       + f'\n[sweep]\nscheduler = "{cluster.scheduler_address}"\n')
        from_file = tmp_path / "from-file"
        assert main(["sweep", str(run), "--set", "policy.country_cap=0.7", "--out", str(from_file), "--quiet"]) == 0
    manifest = json.loads((remote / "sweep-manifest.json").read_text())
    assert manifest["executor"].startswith("dask tcp://")
    assert json.loads((from_file / "sweep-manifest.json").read_text())["executor"].startswith("dask tcp://")
    assert [r["annual_cost"] for r in read_csv(remote / "sweep.csv")] == \
        [r["annual_cost"] for r in read_csv(local / "sweep.csv")]


def test_unreachable_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from critmin import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["sweep", str(BASE), "--set", "policy.country_cap=0.65", "--out", str(tmp_path / "out"),
                 "--scheduler", f"tcp://127.0.0.1:{port}", "--quiet"])
    assert code == 2
    error = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in error and "Traceback" not in error
    assert not (tmp_path / "out" / "sweep.xlsx").exists()


def test_parse_setting_forms():
    from critmin.inputs.runfile import parse_setting

    assert parse_setting("policy.stockpile_days=0,30,60,90").values == (0.0, 30.0, 60.0, 90.0)
    assert parse_setting("policy.stockpile_days=90:0:30").values == (90.0, 60.0, 30.0, 0.0)
    assert parse_setting('policy.cap_stages=["refine"],["refine","mine"]').values == (["refine"], ["mine", "refine"])
    assert parse_setting("policy.ally_min_share.refine=0:0.2:0.1").values == (0.0, 0.1, 0.2)
    assert parse_setting("solver.mip_rel_gap=1e-4").values == (1e-4,)
