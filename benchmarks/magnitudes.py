"""Measurement (not a test): where HiGHS stops resolving the magnitudes of the inputs.

    python benchmarks/magnitudes.py [--quick]

The input limits in ``model/inputs/schema.py`` (``LIMITS``, ``RANGES``) come
from these measurements.  Every case is a small dataset with a hand-known
optimum, solved end to end through ``critmin solve`` (default HiGHS
tolerances, the independent check included), and counts as resolved when it
exits 0 with the objective within 1e-6 (relative) of the hand optimum and
every flow within 1e-6 of the requirement of its mineral.

One mineral ``li`` with requirement T, four routes of unit cost 10-15 x P (a
fixed cost 0.1 x P x T each, so that each route has a binary), every max_t =
R x T, a 65 % country cap and 60 days of stock:  CHN-CHN carries 0.65 T,
CHL-CHL 0.35 T, the stock is 60/365 x 0.65 T.

- ``tonnes``: T from 1e-9 to 1e13 (P = 1, R = 1.5): the absolute range of tonnages.
- ``big-M``: R from 1.5 to 1e10 for several T: how far a route's max_t may
  exceed the flows (a binary's integrality tolerance of 1e-6 lets x = max_t x 1e-6
  pass as "route not used").
- ``prices``: P from 1e-9 to 1e21 (T = 100): the absolute range of currency.
- ``tonne-range``/``price-range``: a second mineral ``ni`` whose requirement
  (or price) is S times li's: the range between minerals of one dataset.

The solver is measured with the input limits switched off; the last column
says whether ``critmin validate`` (limits on) refuses the case.  Every case
marked FAIL should be refused.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path

ROUTES = [("li-CHN-CHN", 10.0), ("li-AUS-CHN", 12.0), ("li-CHL-CHL", 14.0), ("li-AUS-JPN", 15.0)]
COUNTRIES = [("JPN", "true", "false"), ("AUS", "false", "true"), ("CHL", "false", "true"), ("CHN", "false", "false")]
RUN = """name = "m"
data = "data"
year = 2030
[policy]
country_cap = 0.65
stockpile_days = 60
discount_rate = 0
[solver]
mip_rel_gap = 0
"""


def _write(folder: Path, tables: dict[str, list[dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with open(folder / f"{name}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _tables(T: float, P: float, R: float, second: tuple[float, float] | None = None) -> dict:
    """li as in the module docstring; ``second`` = (requirement, price) of an extra mineral ni."""
    g = repr
    minerals = [dict(mineral="li", unit="t", reference_price=g(10 * P), holding_cost_rate="0.1",
                     shortfall_penalty=g(1000 * P))]
    targets = [dict(mineral="li", year=2030, target_t=g(T))]
    supply = [dict(option=o, mineral="li", mine_country=o.split("-")[1], refine_country=o.split("-")[2],
                   unit_cost=g(c * P), max_t=g(R * T), fixed_cost=g(0.1 * P * T)) for o, c in ROUTES]
    if second:
        t2, p2 = second
        minerals.append(dict(mineral="ni", unit="t", reference_price=g(10 * p2), holding_cost_rate="0.1",
                             shortfall_penalty=g(1000 * p2)))
        targets.append(dict(mineral="ni", year=2030, target_t=g(t2)))
        supply.append(dict(option="ni-AUS-JPN", mineral="ni", mine_country="AUS", refine_country="JPN",
                           unit_cost=g(10 * p2), max_t=g(1.5 * t2), fixed_cost=g(0.1 * p2 * t2)))
    countries = [dict(country=c, name=c, home=h, ally=a, conflict_affected="false") for c, h, a in COUNTRIES]
    return {"minerals": minerals, "targets": targets, "countries": countries, "supply": supply}


def expected(T: float, P: float, second: tuple[float, float] | None = None) -> tuple[float, dict]:
    """Hand optimum: objective and tonnes per route."""
    stock = 60 / 365 * 0.65 * T
    objective = P * T * (0.65 * 10 + 0.35 * 14 + 2 * 0.1) + stock * 10 * P * 0.1
    flows = {"li-CHN-CHN": 0.65 * T, "li-CHL-CHL": 0.35 * T}
    if second:
        t2, p2 = second
        # one route, mined in AUS (uncapped for ni), refined at home; stock covers 60 days of AUS
        objective += t2 * p2 * (10 + 0.1) + 60 / 365 * t2 * 10 * p2 * 0.1
        flows["ni-AUS-JPN"] = t2
    return objective, flows


@contextlib.contextmanager
def _limits_off():
    from critmin.inputs import schema

    limit = schema.limit
    schema.limit = lambda kind, unit: None
    try:
        yield
    finally:
        schema.limit = limit


def measure(T: float, P: float, R: float, second=None) -> tuple[bool, str]:
    """(resolved, note): the solver's answer against the hand optimum, limits off; the note ends with the
    limits' verdict."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write(folder / "data", _tables(T, P, R, second))
        run = RUN
        if second:  # ni comes from one foreign country: no cap on it
            run = run.replace("discount_rate = 0\n", "discount_rate = 0\ncountry_cap_by_mineral = { ni = 1.0 }\n")
        (folder / "m.toml").write_text(run)
        verdict = "refused by the limits" if _run(["validate", str(folder / "m.toml")])[0] == 2 else "accepted"
        with _limits_off():
            code, first = _run(["solve", str(folder / "m.toml"), "--out", str(folder / "out"), "--quiet"])
        if code != 0:
            return False, f"exit {code} {first[:60]}; {verdict}"
        summary = json.loads((folder / "out" / "summary.json").read_text())
        with open(folder / "out" / "flows.csv", newline="") as handle:
            flows = {}
            for row in csv.DictReader(handle):
                flows[row["source_id"]] = flows.get(row["source_id"], 0.0) + float(row["tonnes"])
    objective, want = expected(T, P, second)
    error = abs(summary["objective"] - objective) / abs(objective)
    scale = {o: (second[0] if o.startswith("ni") else T) for o in set(want) | set(flows)}
    flow_error = max(abs(flows.get(o, 0.0) - want.get(o, 0.0)) / scale[o] for o in scale)
    ok = error <= 1e-6 and flow_error <= 1e-6
    return ok, f"objective off {error:.1e}, flows off {flow_error:.1e}; {verdict}"


def _run(argv: list[str]) -> tuple[object, str]:
    from critmin.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except Exception as error:  # noqa: BLE001 - a measurement records every outcome
            return "traceback", type(error).__name__
    return code, (err.getvalue().strip().splitlines() or [""])[0]


def _powers(low: int, high: int, step: int = 1) -> list[float]:
    return [10.0 ** k for k in range(low, high + 1, step)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every other power of ten")
    step = 2 if parser.parse_args().quick else 1

    def report(title, rows):
        print(f"\n{title}")
        for label, (ok, note) in rows:
            print(f"  {label:<28} {'ok  ' if ok else 'FAIL'} {note}")

    report("tonnes: requirement T (P = 1, R = 1.5)",
           [(f"T = {T:.0e}", measure(T, 1.0, 1.5)) for T in _powers(-9, 13, step)])
    for T in (1e-2, 1e2, 1e6):
        report(f"big-M: max_t = R x T, T = {T:.0e}",
               [(f"R = {R:.0e}", measure(T, 1.0, R)) for R in [1.5] + _powers(1, 10, step)])
    report("prices: currency scaled by P (T = 100)",
           [(f"P = {P:.0e}", measure(100.0, P, 1.5)) for P in _powers(-9, 21, step)])
    report("tonne-range: ni requirement S x 100 (li at 100)",
           [(f"S = {S:.0e}", measure(100.0, 1.0, 1.5, (100.0 * S, 1.0))) for S in _powers(-10, 10, step)])
    report("price-range: ni price S x li's",
           [(f"S = {S:.0e}", measure(100.0, 1.0, 1.5, (100.0, S))) for S in _powers(-12, 12, step)])
    report("objective: T = 0.001 t with prices scaled by P",
           [(f"P = {P:.0e}", measure(1e-3, P, 1.5)) for P in _powers(-5, -1, 1)])


if __name__ == "__main__":
    main()
