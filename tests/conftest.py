"""Fixtures every test file can ask for; the paths and dataset helpers they are built on are in cases.py."""

import sys
from pathlib import Path

import pytest

# cases.py holds the small hand-solved datasets and the paths shared by the tests.
sys.path.insert(0, str(Path(__file__).parent))

from cases import BASE, tiny  # noqa: E402  (importable once tests/ is on the path)


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    """The tiny fixture dataset and its run file, copied into the test's tmp_path: the run file."""
    return tiny(tmp_path)


@pytest.fixture(scope="session")
def base_data():
    """runs/base-2030.toml loaded, once per session.  Shared: derive a changed copy (dataclasses.replace,
    inputs.data.prepare) rather than changing it."""
    from critmin.inputs.data import load

    return load(BASE)


@pytest.fixture(scope="session")
def base_out(tmp_path_factory) -> Path:
    """runs/base-2030.toml solved once per session by ``critmin solve``: its output folder.  Shared: copy it
    (shutil.copytree) before changing anything in it."""
    from critmin.cli import main

    out = tmp_path_factory.mktemp("base") / "out"
    assert main(["solve", str(BASE), "--out", str(out), "--quiet"]) == 0
    return out


def pytest_terminal_summary(terminalreporter):
    """The figures the property tests collect: generated cases run, largest verify violation."""
    properties = sys.modules.get("test_properties")
    if properties is None or not properties.FIGURES["cases"]:
        return
    figures = properties.FIGURES
    cases = ", ".join(f"{name} {count}" for name, count in sorted(figures["cases"].items()))
    terminalreporter.write_line(f"property tests: {sum(figures['cases'].values())} generated cases ({cases})")
    terminalreporter.write_line(f"largest verify violation over the solved cases: {figures['largest_violation']:.3g} "
                                f"(relative {figures['largest_relative']:.3g}; {figures['where'] or '-'})")
    per_family = ", ".join(f"{name} {value:.2g}" for name, value in figures["families"].items())
    terminalreporter.write_line(f"largest violation per family: {per_family}")
