"""``mpiexec -n 2 critmin solve``: the stochastic mode by progressive hedging (optimization.decompose, mpi-sppy).

The decomposition's portfolio must cost what the extensive form's does, within the gap it states, its lower
bound must lie below the extensive form's optimum, and its outputs must pass ``critmin verify``.  The mpi
extra comes with the test extra (pyproject.toml), so CI runs these with two MPI ranks; elsewhere they skip
when mpiexec or mpi4py is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cases import BASE_TABLES, OPEN_POLICY, route, write_dataset
from critmin.cli import main
from test_risk import TWO_EVENTS

MPIEXEC = Path(sys.executable).parent / "mpiexec"
CRITMIN = Path(sys.executable).parent / "critmin"


def _have_mpi() -> bool:
    try:
        import mpi4py  # noqa: F401
        import mpisppy  # noqa: F401
    except ImportError:
        return False
    return MPIEXEC.exists() and CRITMIN.exists()


needs_mpi = pytest.mark.skipif(not _have_mpi(), reason="the mpi extra is not installed (pip install 'critmin[mpi]')")


def mpiexec(ranks: int, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MPIEXEC), "-n", str(ranks), str(CRITMIN), "solve", *arguments],
                          capture_output=True, text=True, timeout=600)


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def generated_case(folder: Path, scenarios: int) -> Path:
    """3 generated minerals (benchmarks' generator, smaller) with ``scenarios`` generated disruption events."""
    from critmin import synthetic
    from critmin.inputs.data import load

    data = synthetic.write(folder / "data", synthetic.generate(minerals=3, countries=12, routes_per_mineral=6,
                                                               projects_per_mineral=2, plants=2))
    run = folder / "run.toml"
    run.write_text('name = "generated"\ndata = "data"\nyear = 2030\n[policy]\ninvestment_budget = 5e10\n'
                   'stockpile_mode = "stochastic"\n[solver]\ntime_limit = 600\nmip_rel_gap = 1e-6\n')
    synthetic.generate_disruptions(load(run), scenarios).to_csv(data / "disruptions.csv", index=False)
    return run


def hand_case(folder: Path) -> Path:
    """One mineral (li, target 100 t) from CHN-CHN at 10/t or AUS-JPN at 15/t (at most 30 t), and test_risk's
    two events A and B, each alone with its probability: two bundles of one scenario, so PH must reconcile
    two different second stages."""
    write_dataset(folder / "data", {**BASE_TABLES, "supply": [route("li-CHN-CHN", 10, 100),
                                                               route("li-AUS-JPN", 15, 30)],
                                    "disruptions": TWO_EVENTS})
    policy = "".join(f"{key} = {value}\n" for key, value in OPEN_POLICY.items())
    run = folder / "case.toml"
    run.write_text(f'name = "case"\ndata = "data"\nyear = 2030\n[policy]\n{policy}stockpile_mode = "stochastic"\n'
                   "[solver]\nmip_rel_gap = 0.0\n")
    return run


@needs_mpi
@pytest.mark.slow  # about a minute on two shared cores
def test_two_ranks_agree_with_the_extensive_form_on_200_scenarios(tmp_path):
    run = generated_case(tmp_path, 200)
    assert main(["solve", str(run), "--out", str(tmp_path / "ef"), "--quiet", "--no-forced-in"]) == 0
    done = mpiexec(2, str(run), "--out", str(tmp_path / "ph"), "--ph-gap", "1e-3")
    assert done.returncode == 0, done.stderr
    ef, ph = summary(tmp_path / "ef"), summary(tmp_path / "ph")
    found = ph["decomposition"]
    assert found["ranks"] == 2 and found["scenarios"] == 200 and found["bundles"] == 2
    # The stated gap holds: the extensive form's optimum lies between the bounds.  The gap itself is what PH
    # proved at its last weights (about 1e-3 here, 6e-5 with mpi-sppy's own bound; the portfolio is the EF's).
    assert found["lower_bound"] <= ef["objective"] * (1 + 1e-9)
    assert found["upper_bound"] == ph["objective"] >= ef["objective"] * (1 - 1e-9)
    assert found["gap"] <= 5e-3
    assert abs(ph["objective"] - ef["objective"]) <= found["gap"] * abs(ph["objective"]) + 1e-9 * ef["objective"]
    assert ph["mip_gap"] == pytest.approx(found["gap"]) and ph["objective_bound"] == found["lower_bound"]
    assert "decomposition:" in done.stdout and "lower bound" in done.stdout
    # Every existing key is still there, and the outputs pass the independent check.
    assert set(ef) <= set(ph)
    assert main(["verify", str(tmp_path / "ph")]) == 0


@needs_mpi
@pytest.mark.slow  # two MPI processes starting mpi-sppy
def test_hand_case_first_stage_agrees(tmp_path):
    """Same projects, plants, flows and stock as the extensive form, on a case small enough to read."""
    run = hand_case(tmp_path)
    assert main(["solve", str(run), "--out", str(tmp_path / "ef"), "--quiet", "--no-forced-in"]) == 0
    done = mpiexec(2, str(run), "--out", str(tmp_path / "ph"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[0] == "case: optimal"  # rank 1 prints nothing
    ef, ph = summary(tmp_path / "ef"), summary(tmp_path / "ph")
    assert ph["decomposition"]["bundles"] == 2 and ph["decomposition"]["gap"] <= 1e-3
    assert ph["objective"] == pytest.approx(ef["objective"], rel=1e-6)
    assert ph["minerals"]["li"]["stockpile_t"] == pytest.approx(ef["minerals"]["li"]["stockpile_t"], abs=1e-4)
    for key in ("market_t", "equity_t", "recycled_t"):
        assert ph["minerals"]["li"][key] == pytest.approx(ef["minerals"]["li"][key], abs=1e-4)
    assert ph["projects_chosen"] == ef["projects_chosen"] and ph["plants_built"] == ef["plants_built"]
    import csv

    def flows(out):
        with open(out / "flows.csv", newline="") as handle:
            return {row["source_id"]: round(float(row["tonnes"]), 4) for row in csv.DictReader(handle)}

    assert flows(tmp_path / "ph") == flows(tmp_path / "ef")


# --------------------------------------------------------------------------- bad configuration: one line, exit 2


def test_mpiexec_without_the_extra_is_one_line(tmp_path, capfd):
    """As under mpiexec (PMI_SIZE) with mpi4py missing: one line naming the extra, exit 2, no traceback."""
    run = hand_case(tmp_path)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "mpi4py.py").write_text('raise ModuleNotFoundError("No module named mpi4py", name="mpi4py")\n')
    env = {**os.environ, "PYTHONPATH": str(fake), "PMI_SIZE": "2", "PMI_RANK": "0"}
    done = subprocess.run([sys.executable, "-m", "critmin", "solve", str(run), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: scenario decomposition needs the mpi extra (mpi4py is missing): pip install 'critmin[mpi]'"]
    assert not (tmp_path / "o" / "summary.json").exists()


def test_decompose_needs_the_stochastic_mode(tiny_run, tmp_path, capsys):
    assert main(["solve", str(tiny_run), "--out", str(tmp_path / "o"), "--decompose"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        'error: scenario decomposition needs policy.stockpile_mode = "stochastic" '
        "(this run has no recourse scenarios)"]
