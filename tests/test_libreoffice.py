"""The real client: LibreOffice opens and converts results.xlsx and the input template.

Both workbooks are converted headless to PDF and to CSV (every sheet), each
call with a throw-away user profile and a timeout; the numbers read back must
equal the tool's own CSV and JSON.  Skipped, with the reason shown by
``pytest -ra``, only where ``soffice`` is not installed (.ci/run installs it).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from cases import ROOT
from critmin.cli import main
from critmin.inputs.validate import load_dataset

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.slow,  # LibreOffice converts the workbooks in a real process
              pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed: the real-client "
                                 "checks need it (apt-get install libreoffice-calc; .ci/run does)")]
# Every sheet to its own CSV (<file>-<sheet>.csv), UTF-8, raw values rather than as displayed.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def convert(folder: Path, target: str, *files: Path) -> Path:
    out = folder / target.split(":")[0]
    profile = folder / f"lo-profile-{uuid.uuid4().hex}"
    command = [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(out), *map(str, files)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def converted(tmp_path_factory, base_out):
    folder = tmp_path_factory.mktemp("libreoffice")
    shutil.copytree(base_out, folder / "base")  # the base run, solved once per session
    assert main(["template", str(folder / "template.xlsx")]) == 0
    books = (folder / "base" / "results.xlsx", folder / "template.xlsx")
    return folder, convert(folder, "pdf", *books), convert(folder, CSV_FILTER, *books)


def read_sheet(path: Path, skip: int) -> list[dict[str, str]]:
    """A sheet exported by LibreOffice, from its header (after ``skip`` note rows)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[skip:]
    return [dict(zip(rows[0], row)) for row in rows[1:] if any(row)]


def same(text: str, expected) -> bool:
    if isinstance(expected, (int, float)):
        # percent-formatted cells come out as "26.2244897959184%" even as raw values
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        return number == pytest.approx(float(expected), rel=1e-9, abs=1e-9)
    return text == str(expected)


def test_libreoffice_converts_both_workbooks_to_pdf(converted):
    _, pdf, _ = converted
    for name in ("results.pdf", "template.pdf"):
        document = (pdf / name).read_bytes()
        assert document.startswith(b"%PDF") and len(document) > 20_000, name
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf / "results.pdf"), "-"], capture_output=True,
                              text=True, timeout=60).stdout
        # chart titles, legends and axis labels are drawn as text: the charts rendered with their labels
        for words in ("critmin results: base-2030", "Supply by refining country", "Largest single foreign country",
                      "cap (65%)", "share of requirement", "ndpr"):
            assert words in text, words


def test_libreoffice_reads_back_the_results_numbers(converted):
    folder, _, sheets = converted
    with open(folder / "base" / "flows.csv", newline="") as handle:
        tool = list(csv.DictReader(handle))
    office = read_sheet(sheets / "results-Flows.csv", skip=1)
    assert len(office) == len(tool) > 50
    for ours, theirs in zip(tool, office):
        for column in ("year", "mineral", "source_type", "source_id", "mine_country", "refine_country"):
            assert theirs[column] == ours[column]
        for column in ("tonnes", "cost"):
            assert same(theirs[column], float(ours[column])), (column, ours, theirs)
    summary = json.loads((folder / "base" / "summary.json").read_text())
    with open(sheets / "results-Summary.csv", newline="", encoding="utf-8") as handle:
        facts = {row[0]: row[1] for row in csv.reader(handle) if len(row) > 1 and row[0]}
    assert same(facts["total annual cost"], summary["objective"])
    assert facts["status"] == "optimal"
    supply = {row["mineral"]: row for row in read_sheet(sheets / "results-Supply.csv", skip=1)}
    for mineral, entry in summary["minerals"].items():
        for column in ("target_t", "supplied_t", "recycled_t", "stockpile_t", "largest_refine_share"):
            assert same(supply[mineral][column], entry[column]), (mineral, column)


def test_libreoffice_reads_back_the_template_numbers(converted):
    _, _, sheets = converted
    dataset = load_dataset(ROOT / "data" / "japan-2030")
    for table in ("supply", "minerals", "project_offtake"):
        office = read_sheet(sheets / f"template-{table}.csv", skip=1)  # row 1 is the units row
        frame = dataset[table]
        assert len(office) == len(frame), table
        for theirs, ours in zip(office, frame.to_dict("records")):
            for column, value in ours.items():
                if value is None or value != value:
                    assert theirs[column] == "", (table, column)
                elif isinstance(value, bool):
                    assert theirs[column] == ("true" if value else "false")
                else:
                    assert same(theirs[column], value), (table, column, theirs[column], value)
