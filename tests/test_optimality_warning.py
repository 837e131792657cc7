"""A run that stops above a 1e-5 gap says so: terminal, summary.json ``warnings`` and the Summary sheet.

The loose case is a generated instance (``critmin.synthetic``, 20 minerals)
solved with ``mip_rel_gap = 0.05``: HiGHS stops at an achieved gap of about
9e-3 in about a second.  The proven case is the same instance at
``mip_rel_gap = 0``.  The shipped run files must ask for a gap that proves
their portfolio.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import openpyxl
import pytest

from cases import ROOT
from critmin import synthetic
from critmin.cli import main
from critmin.results.optimality import GAP_WARNING_ABOVE, gap_warnings


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("loose")
    synthetic.write(folder / "data", synthetic.generate(minerals=20, seed=1))
    return folder


def _solve(folder: Path, gap: float, capsys, quiet: bool = False):
    run = folder / f"gap-{gap:g}.toml"
    run.write_text(f'name = "generated"\ndata = "data"\nyear = 2030\n\n[policy]\ninvestment_budget = 1e10\n\n'
                   f"[solver]\ntime_limit = 30\nmip_rel_gap = {gap!r}\nthreads = 1\n")
    out = folder / f"out-{gap:g}-{quiet}"
    code = main(["solve", str(run), "--out", str(out)] + (["--quiet"] if quiet else []))
    captured = capsys.readouterr()
    return code, captured.out, captured.err, out


def _summary_sheet_warnings(out: Path) -> list[str]:
    sheet = openpyxl.load_workbook(out / "results.xlsx", read_only=True)["Summary"]
    return [row[1] for row in sheet.iter_rows(values_only=True) if row and row[0] == "WARNING"]


def test_a_loose_gap_warns_everywhere(generated, capsys):
    code, out_text, err, out = _solve(generated, 0.05, capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mip_gap"] > GAP_WARNING_ABOVE, "the instance solved to proof: use a looser gap"
    assert len(summary["warnings"]) == 1 and "another portfolio may be the optimum" in summary["warnings"][0]
    assert f"{summary['mip_gap']:.2e}" in summary["warnings"][0]
    assert f"WARNING: {summary['warnings'][0]}" in out_text.splitlines()
    assert _summary_sheet_warnings(out) == summary["warnings"]
    assert json.loads((out / "manifest.json").read_text())["verify"]["passed"]


@pytest.mark.slow  # > 5 s: kept out of the quick loop (README, Developing)
def test_a_loose_gap_warns_in_quiet_mode_too(generated, capsys):
    code, out_text, err, _ = _solve(generated, 0.05, capsys, quiet=True)
    assert code == 0
    assert "warning: the solve stopped at an achieved gap" in err
    assert "Traceback" not in err


@pytest.mark.slow  # proves the generated instance optimal: the slowest test of the quick loop
def test_a_proven_run_does_not_warn(generated, capsys):
    code, out_text, err, out = _solve(generated, 0.0, capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mip_gap"] <= GAP_WARNING_ABOVE
    assert summary["warnings"] == []
    assert "WARNING" not in out_text and "warning" not in err
    assert _summary_sheet_warnings(out) == []


@pytest.mark.parametrize("status, gap, warns", [
    ("optimal", 0.0, False), ("optimal", 1e-5, False), ("optimal", 1.0001e-5, True), ("optimal", 1e-3, True),
    ("time_limit", 1e-6, False), ("time_limit", 0.02, True), ("time_limit", None, True),
    ("optimal", None, False), ("optimal", math.inf, True), ("optimal", math.nan, True),
    ("infeasible", 0.5, True), ("infeasible", None, False),
])
def test_gap_warning_rule(status, gap, warns):
    assert bool(gap_warnings(status, gap)) is warns


@pytest.mark.parametrize("run", sorted((ROOT / "runs").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_run_files_ask_for_a_proving_gap(run):
    solver = tomllib.loads(run.read_text(encoding="utf-8")).get("solver", {})
    assert solver.get("mip_rel_gap", 1e-4) <= 1e-6
