"""The layer order of the package (``.importlinter``), checked by ``lint-imports``.

inputs -> optimization -> results -> writers -> commands: a layer imports
only the layers before it; results and writers never import Pyomo or HiGHS
(a solution reaches them as plain data, ``optimization.types``), so
``critmin verify`` stays independent of the model it checks; and no two
modules of a package import each other (cli and commands included), not even from inside a function.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from cases import ROOT


def _lint_imports() -> str:
    beside = Path(sys.executable).parent / "lint-imports"
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found: install the test extra (pip install -e '.[test]')"
    return found


def test_layer_contracts_are_kept():
    done = subprocess.run([_lint_imports(), "--config", str(ROOT / ".importlinter"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout, done.stdout[-2000:]


# What a command needs beyond the standard library; each command imports it inside its run().
HEAVY = ("pandas", "numpy", "pyomo", "highspy", "openpyxl", "matplotlib")


def _fresh_python(code: str) -> list[str]:
    """The output lines of ``code`` run by a new interpreter (nothing imported by this test session)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_critmin_help_imports_no_heavy_library():
    """``critmin --help`` stays instant: importing critmin.cli and building every command's parser loads
    none of pandas, NumPy, Pyomo, HiGHS, openpyxl or matplotlib (pandas alone takes a third of a second)."""
    code = ("import contextlib, io, sys\n"
            "import critmin.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    critmin.cli.main(['--help'])\n"
            "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n")
    loaded = set(_fresh_python(code)[-1].split())
    assert "critmin" in loaded
    assert not loaded & set(HEAVY), f"critmin --help imports {sorted(loaded & set(HEAVY))}"


def test_solving_imports_no_unused_scipy_module():
    """A solve needs scipy.sparse only (the standard-form matrix): Pyomo's scipy finalizer, which also
    imports scipy.stats, scipy.integrate and scipy.spatial (1.1 s at every start), must not run."""
    code = ("import sys\n"
            "import pyomo.environ as pyo\n"
            "from critmin.optimization.highs import translate\n"
            "m = pyo.ConcreteModel(); m.x = pyo.Var(bounds=(0, 1)); m.c = pyo.Constraint(expr=m.x >= 0.5)\n"
            "m.o = pyo.Objective(expr=m.x)\n"
            "engine = translate(m); engine.highs.run()\n"
            "print(engine.highs.getInfo().objective_function_value)\n"
            "print(' '.join(sorted(n for n in sys.modules if n.startswith('scipy.') and n.count('.') == 1)))\n")
    objective, loaded = _fresh_python(code)[-2:]
    assert float(objective) == 0.5
    assert "scipy.sparse" in loaded.split()
    assert not {"scipy.stats", "scipy.integrate", "scipy.spatial"} & set(loaded.split()), loaded
