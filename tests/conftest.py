import sys
from pathlib import Path

# cases.py holds the small hand-solved datasets shared by the tests.
sys.path.insert(0, str(Path(__file__).parent))


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
