"""A run that fails the independent check never replaces a verified output set: it is kept apart in
``out/failed-check/`` with the reason, and the previous set stays as it was (issue: trust under attack)."""

from __future__ import annotations

import hashlib
import json

from cases import BASE_TABLES, route, write_dataset
from critmin.cli import main


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_failed_check_is_kept_apart_and_the_verified_set_stays(tmp_path, capsys, monkeypatch):
    write_dataset(tmp_path / "data", {**BASE_TABLES, "supply": [route("li-CHL-CHL", 10, 100)]})
    run = tmp_path / "li.toml"
    run.write_text('name = "li"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 1\nstockpile_days = 0\n')
    out = tmp_path / "out"
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 0
    verified = _digest(out)

    import critmin.results.verify as verify

    real = verify.verify_files

    def failing(data, folder):
        report = real(data, folder)
        report.families["target"].failed += 1
        report.families["target"].where = "li 2030 (forced failure)"
        return report

    monkeypatch.setattr(verify, "verify_files", failing)
    capsys.readouterr()
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "kept apart in" in err and "failed-check" in err and "Traceback" not in err
    assert _digest(out) == verified  # the verified set is untouched
    apart = out / "failed-check"
    assert json.loads((apart / "manifest.json").read_text())["verify"]["passed"] is False
    assert "target: 1 row(s) violated" in (apart / "CHECK-FAILED.txt").read_text()
    monkeypatch.setattr(verify, "verify_files", real)
    assert main(["verify", str(out)]) == 0  # the previous set still verifies
