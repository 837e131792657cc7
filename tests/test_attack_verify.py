"""Attacks on ``critmin verify``: tampered output sets it must refuse, each with a located message.

Every case copies a solved output folder, tampers with it the way a careful
forger would (editing a file and recording its new SHA-256 in manifest.json,
so that the hash check alone does not give it away), runs ``critmin verify``
and asserts: the exit code (3 for a failed check, 2 for a malformed or
mismatched file), a message naming the file and the field, and never a
traceback.  Classes:

- ``SUMMARY``: each headline field of summary.json edited (per-mineral
  figures, largest shares and their countries, stock days, status, gap,
  bound, warnings, chosen projects and plants, costs, marginal values);
- ``MANIFEST``: manifest.json keys deleted or mistyped;
- ``WORKBOOK``: cells of results.xlsx edited (Summary, Supply, Flows), and
  damaged workbooks;
- ``POLICY``: a portfolio solved under another policy presented as a run of
  the 65 % file, and sweep-point settings recorded right and wrong;
- ``TINY``: tiny magnitudes, where an absolute tolerance would be as large
  as the requirement.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from cases import BASE, BASE_TABLES, ROOT, route, write_dataset
from critmin.cli import main
from critmin.inputs.data import load
from critmin.results.portfolio import sha256
from critmin.results.verify import Family, check, read_portfolio

pytestmark = pytest.mark.slow  # hundreds of tampered output sets, each verified

LOCATED = re.compile(r"^error: [^:]+:(\d+|-):[^:]+: .+")

# Attack-suite counts per class: cases tried, and cases verify handled as asserted (reported in the closing note).
COUNTS: dict[str, dict[str, int]] = {}


def _count(kind: str, handled: bool) -> None:
    entry = COUNTS.setdefault(kind, {"tried": 0, "handled": 0})
    entry["tried"] += 1
    entry["handled"] += int(handled)


def _copy(base: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(base, out)
    return out


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _write_manifest(out: Path, manifest: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _rehash(out: Path, *names: str) -> None:
    """Record the SHA-256 of edited outputs in manifest.json, as a careful forger would."""
    manifest = _manifest(out)
    for name in names:
        manifest["outputs"][name] = sha256(out / name)
    _write_manifest(out, manifest)


def _verify(out: Path, capsys, expected_exit: int, *located: str, kind: str) -> str:
    """Run verify; assert the exit code, no traceback, and every text of ``located`` in one message line."""
    try:
        code = main(["verify", str(out)])
    except BaseException as error:  # noqa: BLE001 - a traceback is a failure of the case, counted
        _count(kind, False)
        raise AssertionError(f"verify raised {type(error).__name__}: {error}") from error
    captured = capsys.readouterr()
    text = captured.out + captured.err
    lines = [line for line in text.splitlines() if all(part in line for part in located)]
    handled = code == expected_exit and "Traceback" not in text and bool(lines)
    if expected_exit == 2:
        handled = handled and all(LOCATED.match(line) or line.startswith("error: /")
                                  for line in captured.err.splitlines())
    _count(kind, handled)
    assert code == expected_exit, text[-3000:]
    assert "Traceback" not in text
    assert lines, f"no line names {located}:\n{text[-3000:]}"
    return text


# --------------------------------------------------------------------------- summary.json headline fields


def _set(path: str, value):
    """An edit of summary.json at a dotted path ('minerals.cobalt.target_t'); value may be a function of the old."""
    def edit(document):
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value(node[last]) if callable(value) else value
    return edit


def _both(*edits):
    def edit(document):
        for one in edits:
            one(document)
    return edit


def _drop_chosen(project):
    def edit(document):
        document["projects_chosen"].remove(project)
        del document["project_start_years"][project]
    return edit


def _drop_plants(document):
    document["plants_built"] = []
    document["plant_start_years"] = {}


def _forged_gap(document):
    """A 0.1 % gap stated consistently with the objective and bound, but without the warning."""
    document["objective_bound"] = document["objective"] * (1 - 1e-3)
    document["mip_gap"] = 1e-3
    document["warnings"] = []


def _budget_binds(document):
    """Binding, at a step to a portfolio dearer than every asset together (value = saved / extra)."""
    document["marginal_values"]["budget"].update(value=0.5, binding=True, step_cost_saved=5e9, step_extra_budget=1e10)


# (case id, edit of summary.json, exit code, texts the message must name)
SUMMARY = [
    ("target_t", _set("minerals.cobalt.target_t", lambda v: v * 2), 3, "summary.json", "minerals.cobalt.target_t"),
    ("by_year target_t", _set("by_year.2030.cobalt.target_t", 1.0), 3, "summary.json", "by_year.2030.cobalt.target_t"),
    ("supplied_t", _set("minerals.lithium.supplied_t", lambda v: v + 1), 3, "summary.json",
     "minerals.lithium.supplied_t"),
    ("market_t", _set("minerals.lithium.market_t", lambda v: v + 100), 3, "summary.json", "minerals.lithium.market_t"),
    ("equity_t", _set("minerals.nickel.equity_t", lambda v: v - 100), 3, "summary.json", "minerals.nickel.equity_t"),
    ("recycled_t", _set("minerals.cobalt.recycled_t", lambda v: v + 1), 3, "summary.json",
     "minerals.cobalt.recycled_t"),
    ("shortfall_t", _set("minerals.graphite.shortfall_t", 5.0), 3, "summary.json", "minerals.graphite.shortfall_t"),
    ("stock_days", _set("minerals.cobalt.stock_days", lambda v: v * 1.5), 3, "summary.json",
     "minerals.cobalt.stock_days"),
    ("stockpile_t", _set("minerals.cobalt.stockpile_t", lambda v: v * 2), 3, "summary.json",
     "minerals.cobalt.stockpile_t"),
    ("largest_share.refine.share", _set("minerals.lithium.largest_share.refine.share", 0.5), 3, "summary.json",
     "minerals.lithium.largest_share.refine.share"),
    ("largest_share.refine.country", _set("minerals.lithium.largest_share.refine.country", "AUS"), 3, "summary.json",
     "minerals.lithium.largest_share.refine.country"),
    ("largest_refine_share", _set("minerals.lithium.largest_refine_share", 0.3), 3, "summary.json",
     "minerals.lithium.largest_refine_share"),
    ("largest_refine_country", _set("minerals.lithium.largest_refine_country", "CHL"), 3, "summary.json",
     "minerals.lithium.largest_refine_country"),
    ("largest_mine_country", _set("minerals.cobalt.largest_mine_country", "CHN"), 3, "summary.json",
     "minerals.cobalt.largest_mine_country"),
    ("largest_mine_share", _set("minerals.cobalt.largest_mine_share", 0.1), 3, "summary.json",
     "minerals.cobalt.largest_mine_share"),
    ("by_year largest_mine_country", _set("by_year.2030.nickel.largest_mine_country", None), 3, "summary.json",
     "by_year.2030.nickel.largest_mine_country"),
    ("unit", _set("minerals.cobalt.unit", "t"), 3, "summary.json", "minerals.cobalt.unit"),
    ("status time_limit", _set("status", "time_limit"), 3, "manifest.json solver.termination", "time_limit"),
    ("status infeasible", _set("status", "infeasible"), 2, "summary.json", "diagnosis.relaxed"),
    ("status unknown", _set("status", "solved"), 2, "summary.json", "status"),
    ("mip_gap edited", _set("mip_gap", 0.01), 3, "summary.json", "mip_gap"),
    ("mip_gap negative", _set("mip_gap", -1.0), 2, "summary.json", "mip_gap"),
    ("mip_gap text", _set("mip_gap", "small"), 2, "summary.json", "mip_gap"),
    ("mip_gap null", _set("mip_gap", None), 3, "summary.json", "mip_gap"),
    ("objective_bound above objective", _both(_set("objective_bound", lambda v: v * 1.01), _set("mip_gap", 0.01)), 3,
     "summary.json", "objective_bound"),
    ("objective", _set("objective", lambda v: v * 0.999), 3, "summary.json", "objective"),
    ("gap without its warning", _forged_gap, 3, "summary.json", "warnings"),
    ("projects_chosen lacks an offtake's project", _drop_chosen("caremag"), 3, "summary.json", "projects_chosen"),
    ("projects_chosen lacks a committed stake", _drop_chosen("olaroz"), 3, "summary.json", "projects_chosen"),
    ("project_start_years of a committed stake", _set("project_start_years.olaroz", 2029), 2, "summary.json",
     "project_start_years.olaroz"),
    ("plants_built emptied", _drop_plants, 3, "summary.json", "plants_built"),
    ("projects_chosen names an unknown project", _set("projects_chosen", lambda v: v + ["atlantis"]), 2,
     "summary.json", "projects_chosen"),
    ("cost_by_lever.market", _set("cost_by_lever.market", lambda v: v * 1.001), 3, "summary.json",
     "cost_by_lever.market"),
    ("cost_by_lever.stockpile", _set("cost_by_lever.stockpile", lambda v: v * 1.0001), 3, "summary.json",
     "cost_by_lever.stockpile"),
    ("cost_by_lever lever deleted", lambda d: d["cost_by_lever"].pop("equity"), 3, "summary.json",
     "cost_by_lever.equity"),
    ("cost_by_year.equity", _set("cost_by_year.2030.equity", lambda v: v * 0.9), 3, "summary.json",
     "cost_by_year.2030.equity"),
    ("year", _set("year", 2031), 3, "summary.json", "year"),
    ("years", _set("years", [2029]), 3, "summary.json", "years"),
    ("run", _set("run", "other-run"), 2, "summary.json", "run"),
    ("minerals entry deleted", lambda d: d["minerals"].pop("cobalt"), 2, "summary.json", "minerals.cobalt"),
    ("by_year deleted", lambda d: d.pop("by_year"), 2, "summary.json", "by_year"),
    ("target_t text", _set("minerals.cobalt.target_t", "20000"), 2, "summary.json", "minerals.cobalt.target_t"),
    ("target_t huge integer", _set("minerals.cobalt.target_t", 10 ** 400), 2, "summary.json",
     "minerals.cobalt.target_t"),
    ("marginal target price", _set("marginal_values.target.cobalt", lambda v: v * 2), 3, "summary.json",
     "marginal_values.target.cobalt"),
    ("marginal target-row dual", _set("marginal_values.target_row_dual.graphite", lambda v: v * 2), 3,
     "summary.json", "target_row_dual.graphite"),
    ("marginal cap price edited", _set("marginal_values.country_cap.cobalt.refine.CHN", lambda v: v * 2), 3,
     "summary.json", "country_cap.cobalt"),
    ("marginal cap price where no cap binds",
     lambda d: d["marginal_values"]["country_cap"]["cobalt"].setdefault("mine", {}).update(COD=1000.0), 3,
     "summary.json", "marginal_values.country_cap.cobalt.mine.COD"),
    ("marginal cap price negative", _set("marginal_values.country_cap.cobalt.refine.CHN", -5.0), 3, "summary.json",
     "marginal_values.country_cap.cobalt.refine.CHN"),
    ("marginal budget binding flag", _set("marginal_values.budget.binding", True), 3, "summary.json",
     "marginal_values.budget.binding"),
    ("marginal budget used", _set("marginal_values.budget.used", lambda v: v * 0.5), 3, "summary.json",
     "marginal_values.budget.used"),
    ("marginal budget binding at an impossible step", _budget_binds, 3, "summary.json",
     "marginal_values.budget.binding"),
    ("marginal stockpile_days negative", _set("marginal_values.stockpile_days.manganese", -1.0), 3,
     "summary.json", "marginal_values.stockpile_days.manganese"),
    ("marginal year", _set("marginal_values.year", 2029), 3, "summary.json", "marginal_values.year"),
    ("marginal units deleted", lambda d: d["marginal_values"].pop("units"), 3, "summary.json",
     "marginal_values.units"),
    ("marginal target lacks a mineral", lambda d: d["marginal_values"]["target"].pop("ndpr"), 3, "summary.json",
     "marginal_values.target"),
    ("marginal_values not an object", _set("marginal_values", [1, 2]), 2, "summary.json", "marginal_values"),
]


@pytest.mark.parametrize("case", SUMMARY, ids=[c[0] for c in SUMMARY])
def test_summary_headline_edits_are_caught(case, base_out, tmp_path, capsys):
    _, edit, expected, *located = case
    out = _copy(base_out, tmp_path)
    document = json.loads((out / "summary.json").read_text())
    edit(document)
    (out / "summary.json").write_text(json.dumps(document, indent=2))
    _rehash(out, "summary.json")
    _verify(out, capsys, expected, *located, kind="summary.json headline fields")


def test_an_optimal_run_with_unmet_tonnes_fails_its_status(base_out, tmp_path, capsys):
    """flows.csv loses a graphite route (hash forged): the run still says "optimal"."""
    out = _copy(base_out, tmp_path)
    lines = (out / "flows.csv").read_text().splitlines()
    (out / "flows.csv").write_text("\n".join(line for line in lines if ",gr-CHN-blend," not in line) + "\n")
    _rehash(out, "flows.csv")
    _verify(out, capsys, 3, "summary.json status", "graphite unmet", kind="summary.json headline fields")


def test_summary_edit_without_forged_hash_is_exit_2(base_out, tmp_path, capsys):
    out = _copy(base_out, tmp_path)
    document = json.loads((out / "summary.json").read_text())
    document["minerals"]["cobalt"]["target_t"] = 1.0
    (out / "summary.json").write_text(json.dumps(document))
    _verify(out, capsys, 2, "summary.json", "SHA-256", kind="summary.json headline fields")


# --------------------------------------------------------------------------- manifest.json keys


def _delete(key):
    return lambda m: m.pop(key)


def _put(key, value):
    def edit(manifest):
        manifest[key] = value(manifest[key]) if callable(value) else value
    return edit


def _drop_input(manifest):
    name = next(n for n in manifest["input_sha256"] if n.endswith("targets.csv"))
    del manifest["input_sha256"][name]


def _extra_input(manifest):
    manifest["input_sha256"][str(ROOT / "README.md")] = sha256(ROOT / "README.md")


MANIFEST = [(f"{key} deleted", _delete(key), 2, "manifest.json:", f":{key}:")
            for key in ("outputs", "input_sha256", "run_file", "run_name", "dataset", "policy", "data_hash", "solver")]
MANIFEST += [
    ("outputs a list", _put("outputs", []), 2, "manifest.json:", ":outputs:"),
    ("outputs a number", _put("outputs", lambda v: {**v, "flows.csv": 5}), 2, "manifest.json:", ":outputs:"),
    ("outputs lack results.xlsx", _put("outputs", lambda v: {k: d for k, d in v.items() if k != "results.xlsx"}), 2,
     "manifest.json:", "results.xlsx"),
    ("outputs name a path outside the folder", _put("outputs", lambda v: {**v, "../summary.json": v["summary.json"]}),
     2, "manifest.json:", "outputs.../summary.json"),
    ("input_sha256 text", _put("input_sha256", "abc"), 2, "manifest.json:", ":input_sha256:"),
    ("input_sha256 empty", _put("input_sha256", {}), 2, "manifest.json:", ":input_sha256:"),
    ("input_sha256 lacks an input", _drop_input, 2, "manifest.json:", ":input_sha256:", "targets.csv"),
    ("input_sha256 lists a file the run does not read", _extra_input, 2, "manifest.json:", ":input_sha256:",
     "README.md"),
    ("run_file a number", _put("run_file", 7), 2, "manifest.json:", ":run_file:"),
    ("dataset null", _put("dataset", None), 2, "manifest.json:", ":dataset:"),
    ("dataset elsewhere", _put("dataset", str(ROOT / "tests")), 2, "manifest.json:", ":dataset:"),
    ("run_name another run", _put("run_name", "another"), 2, "manifest.json:", ":run_name:"),
    ("policy text", _put("policy", "0.65"), 2, "manifest.json:", ":policy:"),
    ("policy key deleted", lambda m: m["policy"].pop("stockpile_days"), 2, "manifest.json:",
     ":policy.stockpile_days:"),
    ("policy cap edited", lambda m: m["policy"].update(country_cap=1.0), 2, "manifest.json:",
     ":policy.country_cap:"),
    ("data_hash wrong", _put("data_hash", "0" * 64), 2, "manifest.json:", ":data_hash:"),
    ("data_hash not hex", _put("data_hash", "zz"), 2, "manifest.json:", ":data_hash:"),
    ("solver a list", _put("solver", []), 2, "manifest.json:", ":solver:"),
    ("solver without termination", lambda m: m["solver"].pop("termination"), 2, "manifest.json:", ":solver:"),
    ("settings a list", _put("settings", []), 2, "manifest.json:", ":settings:"),
    ("settings unknown key", _put("settings", {"policy.nonsense": 1}), 2, "manifest.json:",
     ":settings.policy.nonsense:"),
    ("settings value out of range", _put("settings", {"policy.country_cap": 7}), 2, "manifest.json:",
     ":settings.policy.country_cap:"),
    ("settings value null", _put("settings", {"policy.country_cap": None}), 2, "manifest.json:",
     ":settings.policy.country_cap:"),
    ("verify text", _put("verify", "yes"), 2, "manifest.json:", ":verify:"),
    ("wall_seconds text", _put("wall_seconds", {"solve": "slow"}), 2, "manifest.json:", ":wall_seconds:"),
]


@pytest.mark.parametrize("case", MANIFEST, ids=[c[0] for c in MANIFEST])
def test_manifest_keys_deleted_or_mistyped_are_located(case, base_out, tmp_path, capsys):
    _, edit, expected, *located = case
    out = _copy(base_out, tmp_path)
    manifest = _manifest(out)
    edit(manifest)
    _write_manifest(out, manifest)
    _verify(out, capsys, expected, *located, kind="manifest.json keys")


def test_manifest_not_an_object_or_not_json(base_out, tmp_path, capsys):
    for text, located in (("[]", "manifest.json:1:-: must be a JSON object"),
                          ('{"run_file": ', "manifest.json:1:-: not valid JSON"),
                          ("[" * 100_000, "manifest.json:-:-: not valid JSON")):
        out = _copy(base_out, tmp_path / str(len(text)))
        (out / "manifest.json").write_text(text)
        _verify(out, capsys, 2, located, kind="manifest.json keys")


# --------------------------------------------------------------------------- results.xlsx cells


def _summary_row(sheet, label: str) -> int:
    return next(i for i, row in enumerate(sheet.iter_rows(min_col=1, max_col=1, values_only=True), start=1)
                if row[0] == label)


def _column(sheet, name: str, header_row: int = 2) -> int:
    return next(j for j, cell in enumerate(sheet[header_row], start=1) if cell.value == name)


def _table_row(sheet, column: str, value, header_row: int = 2) -> int:
    j = _column(sheet, column, header_row)
    return next(i for i in range(header_row + 1, sheet.max_row + 1) if sheet.cell(i, j).value == value)


def _summary_cell(label, value):
    def edit(book):
        sheet = book["Summary"]
        cell = sheet.cell(_summary_row(sheet, label), 2)
        cell.value = value(cell.value) if callable(value) else value
        return f"Summary!{cell.coordinate}"
    return edit


def _glance_cell(mineral, column, value):
    def edit(book):
        sheet = book["Summary"]
        header = next(i for i, row in enumerate(sheet.iter_rows(min_col=1, max_col=1, values_only=True), start=1)
                      if str(row[0]).startswith("Minerals at a glance")) + 1
        cell = sheet.cell(_table_row(sheet, "mineral", mineral, header), _column(sheet, column, header))
        cell.value = value(cell.value) if callable(value) else value
        return f"Summary!{cell.coordinate}"
    return edit


def _table_cell(title, key_column, key, column, value):
    def edit(book):
        sheet = book[title]
        cell = sheet.cell(_table_row(sheet, key_column, key), _column(sheet, column))
        cell.value = value(cell.value) if callable(value) else value
        return f"{title}!{cell.coordinate}"
    return edit


def _delete_flow_row(book):
    sheet = book["Flows"]
    sheet.delete_rows(_table_row(sheet, "source_id", "li-CHL-CHL"))
    return "Flows"


WORKBOOK = [
    ("total annual cost", _summary_cell("total annual cost", lambda v: v * 0.99)),
    ("status", _summary_cell("status", "infeasible")),
    ("run", _summary_cell("run", "other")),
    ("achieved MIP gap", _summary_cell("achieved MIP gap", 0.05)),
    ("objective bound", _summary_cell("objective bound", lambda v: v * 0.9)),
    ("equity stakes taken", _summary_cell("equity stakes taken", "none")),
    ("recycling plants built", _summary_cell("recycling plants built", "none")),
    ("lever market", _summary_cell("market", lambda v: v + 1e6)),
    ("lever total", _summary_cell("total", lambda v: v - 1e6)),
    ("policy country_cap", _summary_cell("country_cap", 0.5)),
    ("policy stockpile_days", _summary_cell("stockpile_days", 90)),
    ("policy cap_stages", _summary_cell("cap_stages", "refine")),
    ("glance target_t", _glance_cell("cobalt", "target_t", lambda v: v * 2)),
    ("glance largest_refine_country", _glance_cell("lithium", "largest_refine_country", "AUS")),
    ("glance stock_days", _glance_cell("nickel", "stock_days", 90)),
    ("Supply target_t", _table_cell("Supply", "mineral", "cobalt", "target_t", lambda v: v + 1)),
    ("Supply supplied_t", _table_cell("Supply", "mineral", "lithium", "supplied_t", lambda v: v * 1.1)),
    ("Supply stockpile_t", _table_cell("Supply", "mineral", "lithium", "stockpile_t", 0)),
    ("Supply largest_mine_share", _table_cell("Supply", "mineral", "nickel", "largest_mine_share", 0.3)),
    ("Supply largest_any_country", _table_cell("Supply", "mineral", "nickel", "largest_any_country", "AUS")),
    ("Supply number as text", _table_cell("Supply", "mineral", "cobalt", "market_t", "lots")),
    ("Flows tonnes", _table_cell("Flows", "source_id", "li-CHN-blend", "tonnes", lambda v: v + 0.5)),
    ("Flows cost", _table_cell("Flows", "source_id", "li-CHN-blend", "cost", lambda v: v * 2)),
    ("Flows refine_country", _table_cell("Flows", "source_id", "li-CHN-blend", "refine_country", "AUS")),
    ("Flows row deleted", _delete_flow_row),
]


@pytest.mark.parametrize("case", WORKBOOK, ids=[c[0] for c in WORKBOOK])
def test_workbook_cell_edits_are_caught(case, base_out, tmp_path, capsys):
    _, edit = case
    out = _copy(base_out, tmp_path)
    book = openpyxl.load_workbook(out / "results.xlsx")
    where = edit(book)
    book.save(out / "results.xlsx")
    _rehash(out, "results.xlsx")
    _verify(out, capsys, 3, "results.xlsx", where, kind="results.xlsx cells")


@pytest.mark.parametrize("damage", ["sheet deleted", "truncated", "text"])
def test_damaged_workbooks_are_exit_2(damage, base_out, tmp_path, capsys):
    out = _copy(base_out, tmp_path)
    path = out / "results.xlsx"
    if damage == "sheet deleted":
        book = openpyxl.load_workbook(path)
        del book["Supply"]
        book.save(path)
        located = ("results.xlsx:-:-:", "required sheet Supply is missing")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        located = ("results.xlsx:-:-:", "not a readable workbook")
    else:
        path.write_text("year,mineral\n")
        located = ("results.xlsx:-:-:", "not a readable workbook")
    _rehash(out, "results.xlsx")
    _verify(out, capsys, 2, *located, kind="results.xlsx cells")


# --------------------------------------------------------------------------- another policy


@pytest.fixture(scope="module")
def uncapped_out(tmp_path_factory):
    """The base run solved without a country cap (same name and dataset): a different portfolio."""
    folder = tmp_path_factory.mktemp("uncapped")
    run = folder / "base-2030.toml"
    text = BASE.read_text().replace('"../data/japan-2030"', f'"{ROOT / "data" / "japan-2030"}"')
    text = re.sub(r"(?m)^country_cap\s*=.*$", "country_cap = 1.0", text)
    assert "country_cap = 1.0" in text
    run.write_text(text)
    out = folder / "out"
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 0
    return out


def _as_base_run(out: Path, **changes) -> dict:
    """manifest.json rewritten to name the 65 % base run file (its hashes recomputed), with ``changes``."""
    manifest = _manifest(out)
    old = manifest["run_file"]
    digests = {(str(BASE) if name == old else name): digest for name, digest in manifest["input_sha256"].items()}
    digests[str(BASE)] = sha256(BASE)
    manifest.update(run_file=str(BASE), input_sha256=digests)
    manifest["data_hash"] = hashlib.sha256("".join(sorted(digests.values())).encode()).hexdigest()
    for key, value in changes.items():
        if key == "policy":
            manifest["policy"].update(value)
        else:
            manifest[key] = value
    _write_manifest(out, manifest)
    return manifest


def test_uncapped_portfolio_as_a_65_percent_run_is_refused(uncapped_out, tmp_path, capsys):
    """The manifest points at the 65 % file but records the policy it was solved with: refused (exit 2)."""
    out = _copy(uncapped_out, tmp_path)
    _as_base_run(out)
    _verify(out, capsys, 2, "manifest.json:", ":policy.country_cap:", "records 1", kind="another policy")


def test_uncapped_portfolio_with_a_forged_policy_fails_the_cap(uncapped_out, tmp_path, capsys):
    """... and with the recorded policy forged to 65 % too, the country caps fail (exit 3)."""
    out = _copy(uncapped_out, tmp_path)
    _as_base_run(out, policy={"country_cap": 0.65})
    text = _verify(out, capsys, 3, "country_cap", kind="another policy")
    assert "beyond tolerance" in text


def test_sweep_point_settings_are_applied_and_said(uncapped_out, tmp_path, capsys):
    """A sweep point records the settings it overrode: verify applies exactly those to the run file."""
    out = _copy(uncapped_out, tmp_path)
    _as_base_run(out, settings={"policy.country_cap": 1.0})
    text = _verify(out, capsys, 0, "note: policy and data: the run file's", "policy.country_cap = 1",
                   kind="another policy")
    assert "passed" in text


def test_sweep_point_settings_that_do_not_give_the_recorded_policy_are_refused(uncapped_out, tmp_path, capsys):
    out = _copy(uncapped_out, tmp_path)
    _as_base_run(out, settings={"policy.country_cap": 0.9})
    _verify(out, capsys, 2, "manifest.json:", ":policy.country_cap:", "with the settings and overrides",
            kind="another policy")


def test_sweep_point_settings_with_a_forged_policy_fail_the_check(uncapped_out, tmp_path, capsys):
    out = _copy(uncapped_out, tmp_path)
    _as_base_run(out, settings={"policy.country_cap": 0.65}, policy={"country_cap": 0.65})
    _verify(out, capsys, 3, "country_cap", kind="another policy")


@pytest.fixture(scope="module")
def set_out(tmp_path_factory):
    """The base run solved with --set: no cap, and no Russian supply (a data override)."""
    out = tmp_path_factory.mktemp("set") / "out"
    assert main(["solve", str(BASE), "--out", str(out), "--quiet", "--set", "policy.country_cap=1.0",
                 "--set", "data.supply[mine_country=RUS].max_t=0"]) == 0
    return out


def test_a_run_with_set_verifies_with_its_overrides_and_says_so(set_out, tmp_path, capsys):
    out = _copy(set_out, tmp_path)
    _verify(out, capsys, 0, "note: policy and data: the run file's", "policy.country_cap=1.0",
            "data.supply[mine_country=RUS].max_t=0", kind="another policy")


def test_a_run_with_set_whose_overrides_are_deleted_is_refused(set_out, tmp_path, capsys):
    out = _copy(set_out, tmp_path)
    manifest = _manifest(out)
    manifest["overrides"], manifest["settings"] = [], {}
    _write_manifest(out, manifest)
    _verify(out, capsys, 2, "manifest.json:", ":policy.country_cap:", "records 1", kind="another policy")


def test_a_loosened_data_override_that_is_not_recorded_fails(set_out, tmp_path, capsys):
    """A route at its maximum doubled by --set: the flows use the room; the record loses the override."""
    out = tmp_path / "doubled"
    assert main(["solve", str(BASE), "--out", str(out), "--quiet", "--set", "data.supply[option=gr-KOR-KOR].max_t=*2"
                 ]) == 0
    capsys.readouterr()
    manifest = _manifest(out)
    manifest["overrides"] = []
    _write_manifest(out, manifest)
    _verify(out, capsys, 3, "route_bounds", kind="another policy")


@pytest.mark.parametrize("overrides,located", [
    (["policy.nonsense=1"], ":overrides (policy.nonsense):"),
    (["policy.country_cap=7"], ":overrides (policy.country_cap):"),
    ("policy.country_cap=1.0", ":overrides:"),
    ([5], ":overrides:"),
])
def test_malformed_recorded_overrides_are_located(set_out, tmp_path, capsys, overrides, located):
    out = _copy(set_out, tmp_path)
    manifest = _manifest(out)
    manifest["overrides"] = overrides
    _write_manifest(out, manifest)
    _verify(out, capsys, 2, "manifest.json:", located, kind="manifest.json keys")


def test_no_stockpile_portfolio_as_a_60_day_run_fails(tmp_path, capsys):
    folder = tmp_path / "nostock"
    folder.mkdir()
    run = folder / "base-2030.toml"
    text = BASE.read_text().replace('"../data/japan-2030"', f'"{ROOT / "data" / "japan-2030"}"')
    text = re.sub(r"(?m)^stockpile_days\s*=.*$", "stockpile_days = 0", text)
    assert "stockpile_days = 0" in text
    run.write_text(text)
    out = folder / "out"
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 0
    _as_base_run(out, policy={"stockpile_days": 60.0})
    _verify(out, capsys, 3, "stockpile", kind="another policy")


# --------------------------------------------------------------------------- tiny magnitudes


def _tiny_run(folder: Path, target: float, max_t: float) -> Path:
    tables = {**BASE_TABLES,
              "targets": [dict(mineral="li", year=2030, target_t=target)],
              "supply": [route("li-AUS-CHN", 12, max_t), route("li-CHL-CHL", 14, max_t)]}
    write_dataset(folder / "data", tables)
    run = folder / "tiny.toml"
    run.write_text('name = "tiny"\ndata = "data"\nyear = 2030\n[policy]\ncountry_cap = 1.0\nstockpile_days = 0\n'
                   "discount_rate = 0\n[solver]\nmip_rel_gap = 0\n")
    return run


def test_a_small_run_verifies_and_a_small_shortfall_does_not(tmp_path, capsys):
    """0.01 t (the smallest tonnage the inputs accept): verify passes it, and fails it once flows.csv is short
    by 5e-7 t (5e-5 of the requirement), which an absolute 1e-6 t tolerance would have let through."""
    run = _tiny_run(tmp_path, 0.01, 0.02)
    out = tmp_path / "out"
    code = main(["solve", str(run), "--out", str(out), "--quiet"])
    capsys.readouterr()
    assert code == 0
    _verify(out, capsys, 0, "verify", "passed", kind="tiny magnitudes")
    lines = (out / "flows.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("tonnes")] = repr(float(cells[header.index("tonnes")]) - 5e-7)
    lines[1] = ",".join(cells)
    (out / "flows.csv").write_text("\n".join(lines) + "\n")
    _rehash(out, "flows.csv")
    _verify(out, capsys, 3, "target", "li 2030", kind="tiny magnitudes")


@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    run = _tiny_run(folder, 100.0, 200.0)
    out = folder / "out"
    assert main(["solve", str(run), "--out", str(out), "--quiet"]) == 0
    return load(run), out


@pytest.mark.parametrize("scale", [1e-6, 1e-9, 1e-12])
def test_a_tiny_requirement_with_no_flows_fails(small_case, scale):
    """Targets of 1e-6 t (or less) and no flows: an absolute tolerance as large as the requirement passed
    this as "optimal"; every row is now measured against its own magnitudes."""
    data, out = small_case
    data = dataclasses.replace(data, target={key: scale for key in data.target})
    portfolio = read_portfolio(data, out)
    portfolio.buy, portfolio.offtake, portfolio.recycled, portfolio.rows_of = {}, {}, {}, {}
    report = check(data, portfolio)
    ok = not report.families["target"].passed and report.families["target"].relative == pytest.approx(1.0)
    ok = ok and any("summary.json status" in line for line in report.failures())
    _count("tiny magnitudes", ok)
    assert ok, report.failures()


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e6, 1e8])
def test_a_small_or_huge_portfolio_short_by_a_millionth_and_more_fails(small_case, scale):
    """Every flow and requirement scaled together, from 0.01 t (the least tonnage the inputs accept) to
    1e10 t: short by 2e-6 of the requirement fails at every scale, short by 1e-7 of it passes at every
    scale (no absolute tolerance, no false alarm)."""
    data, out = small_case
    results = {}
    for short in (2e-6, 1e-7):
        scaled = dataclasses.replace(data, target={key: 100.0 * scale for key in data.target})
        portfolio = read_portfolio(scaled, out)
        portfolio.buy = {key: tonnes * scale for key, tonnes in portfolio.buy.items()}
        first = next(iter(portfolio.buy))
        portfolio.buy[first] -= short * 100.0 * scale
        family = check(scaled, portfolio).families["target"]
        results[short] = family.passed
    ok = results == {2e-6: False, 1e-7: True}
    _count("tiny magnitudes", ok)
    assert ok, results


@pytest.mark.parametrize("lhs,rhs,holds", [
    (0.0, 1e-6, False), (0.0, 1e-12, False), (1e-6 * (1 - 1e-7), 1e-6, True), (1e-6 * (1 - 1e-5), 1e-6, False),
    (1e15 * (1 - 1e-7), 1e15, True), (1e15 * (1 - 1e-5), 1e15, False), (0.0, 0.0, True),
])
def test_rows_are_measured_against_their_own_magnitudes(lhs, rhs, holds):
    family = Family()
    family.add("row", lhs, rhs, ">=")
    _count("tiny magnitudes", family.passed == holds)
    assert family.passed == holds


# --------------------------------------------------------------------------- the counts


def test_attack_counts(request):
    """At least 40 cases over the classes, each handled (run last: pytest keeps file order)."""
    tried = sum(c["tried"] for c in COUNTS.values())
    if tried < 40:
        pytest.skip("run with the whole file to count the cases")
    lines = [f"{kind}: {c['handled']}/{c['tried']} handled" for kind, c in sorted(COUNTS.items())]
    request.config._attack_verify_counts = lines
    print("\n" + "\n".join(lines))
    assert all(c["handled"] == c["tried"] for c in COUNTS.values()), lines
