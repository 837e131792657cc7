"""Runs do not overwrite each other: another run's outputs are refused without --force, and stress, sweep and
sensitivity write into their own subfolders of runs/out/<name>/ by default."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cases import BASE_TABLES, route, write_dataset
from critmin.cli import main

TABLES = {"supply": [route("li-AUS-CHN", 10, 80), route("li-CHL-JPN", 12, 100), route("li-CHN-CHN", 9, 60)]}


def run_file(folder: Path, stem: str, name: str, cap: float = 0.65) -> Path:
    path = folder / f"{stem}.toml"
    path.write_text(f'name = "{name}"\ndata = "data"\nyear = 2030\n\n[policy]\ncountry_cap = {cap}\n'
                    'stockpile_days = 30\n\n[solver]\nmip_rel_gap = 0.0\n')
    return path


@pytest.fixture
def runs(tmp_path):
    write_dataset(tmp_path / "data", {**BASE_TABLES, **TABLES})
    return {"a": run_file(tmp_path, "a", "case"), "b": run_file(tmp_path, "b", "other", 1.0),
            "a-renamed": run_file(tmp_path, "a-copy", "case")}


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_another_runs_outputs_are_refused_then_replaced_with_force(runs, tmp_path, capsys):
    out = tmp_path / "shared"
    assert main(["solve", str(runs["a"]), "--out", str(out), "--quiet", "--no-forced-in"]) == 0
    before = digest(out)
    for other in ("b", "a-renamed"):  # another name, or the same name from another run file
        capsys.readouterr()
        assert main(["solve", str(runs[other]), "--out", str(out), "--quiet", "--no-forced-in"]) == 2
        error = capsys.readouterr().err
        lines = error.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in error, error
        assert lines[0] == (f"error: {out.resolve()}: holds the outputs of another run (run 'case' of "
                            f"{runs['a'].resolve()}); choose another --out, or add --force to replace them")
        assert digest(out) == before  # nothing written
    # the same run again (other settings too) replaces its own outputs without asking
    assert main(["solve", str(runs["a"]), "--out", str(out), "--quiet", "--no-forced-in",
                 "--set", "policy.stockpile_days=0"]) == 0
    assert main(["solve", str(runs["b"]), "--out", str(out), "--quiet", "--no-forced-in", "--force"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["run_name"], manifest["run_file"]) == ("other", str(runs["b"].resolve()))
    # stress and sweep check their own manifests the same way
    assert main(["stress", str(runs["a"]), "--n-1", "--out", str(out)]) == 2
    assert "holds the outputs of another run (run 'other'" in capsys.readouterr().err
    sweep = tmp_path / "sweep"
    assert main(["sweep", str(runs["a"]), "--set", "policy.country_cap=0.7,1.0", "--workers", "1", "--quiet",
                 "--out", str(sweep)]) == 0
    assert main(["sweep", str(runs["b"]), "--set", "policy.country_cap=0.7,1.0", "--workers", "1", "--quiet",
                 "--out", str(sweep)]) == 2
    assert "holds the outputs of another run (run 'case'" in capsys.readouterr().err
    assert main(["sweep", str(runs["b"]), "--set", "policy.country_cap=0.7,1.0", "--workers", "1", "--quiet",
                 "--out", str(sweep), "--force"]) == 0
    assert json.loads((sweep / "sweep-manifest.json").read_text())["run_name"] == "other"


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_stress_sweep_and_sensitivity_write_into_their_own_subfolders(runs, tmp_path):
    folder = tmp_path / "out" / "case"  # runs/out/<name>/ beside the run file
    assert main(["solve", str(runs["a"]), "--quiet", "--no-forced-in"]) == 0
    solved = digest(folder)
    assert {"results.xlsx", "summary.json", "flows.csv", "manifest.json"} <= set(solved)
    assert main(["stress", str(runs["a"]), "--n-1"]) == 0
    assert main(["sweep", str(runs["a"]), "--set", "policy.country_cap=0.7,1.0", "--workers", "1", "--quiet"]) == 0
    assert main(["sensitivity", str(runs["a"]), "--group", "prices", "--workers", "1", "--quiet"]) == 0
    assert digest(folder) == solved  # the solve's outputs are as they were
    assert {"results.xlsx", "stress.csv", "manifest.json"} <= set(digest(folder / "stress"))
    assert {"sweep.xlsx", "sweep.csv", "sweep.png", "sweep-manifest.json"} <= set(digest(folder / "sweep"))
    assert (folder / "sweep" / "sweep-points").is_dir()
    assert {"sensitivity.xlsx", "sensitivity.csv", "sensitivity-manifest.json"} <= set(digest(folder / "sensitivity"))
    stressed = json.loads((folder / "stress" / "manifest.json").read_text())
    assert stressed["run_name"] == "case"
