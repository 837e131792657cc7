"""The optimizer's plain data: what a solve hands on, and the constants the results share with the model.

No Pyomo here (``.importlinter``: results and writers never import Pyomo),
so ``results`` and ``writers`` can read a solution, and a portfolio read back
from an output folder (``results.portfolio``) can be handed to the same
tables, without loading the optimizer.  ``build.py``, ``solve.py`` and
``marginal.py`` import these names from here and re-export them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The objective's levers, in the order every output lists them (``build.define_objective``).
LEVERS = ("market", "equity", "recycling", "stockpile", "recourse", "shortfall")

# Elastic slacks: component name -> (the limit it relaxes, position of the mineral in its index,
# penalty as a multiple of the mineral's shortfall_penalty per tonne).  A signed contract weighs
# more than a policy limit, so an elastic solve relaxes the policy first and says by how much.
RELAXABLE = {
    "shortfall": ("target", 0, 1.0),
    "recycling_gap": ("minimum recycling share", 0, 1.0),
    "ally_gap": ("ally share floor", 1, 1.0),
    "cap_gap": ("country cap", 0, 1.0),
    "any_stage_gap": ("any-stage cap", 0, 1.0),
    "conflict_gap": ("conflict-affected share limit", 0, 1.0),
    "take_or_pay_gap": ("take-or-pay floor of a committed stake", 1, 2.0),
    "stock_floor_gap": ("stockpile floor (stockpile_min_days)", 0, 1.0),
    "stock_move_gap": ("stock-move limit (max_stock_build_t)", 0, 2.0),  # physical: relax the floor first
}

# The rows ``optimization.marginal`` prices, one dictionary per row with these keys.
MARGINAL_COLUMNS = ["kind", "year", "mineral", "stage", "country", "limit", "level", "value", "unit",
                    "step_cost_saved", "step_extra_budget"]


def capital_recovery_factor(rate: float, life_years: float) -> float:
    """Annuity per unit of capex: r(1+r)^n / ((1+r)^n - 1); 1/n at r = 0."""
    if rate == 0:
        return 1.0 / life_years
    growth = (1.0 + rate) ** life_years
    return rate * growth / (growth - 1.0)


class NoSolutionError(Exception):
    """The solver stopped without any solution (e.g. time limit with no incumbent)."""


@dataclass
class Solution:
    status: str  # "optimal", "time_limit" or "infeasible"
    objective: float | None
    bound: float | None
    mip_gap: float | None
    values: dict[str, dict] = field(default_factory=dict)
    termination: str = ""
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    size: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """The strict solve and, when it was infeasible, the elastic one used to diagnose it."""

    strict: Solution
    elastic: Solution | None
    solver_name: str
    solver_version: str
    options: dict
    marginal: dict | None = None  # optimization.marginal.marginal_values, when asked for and solved
    forced: dict | None = None  # optimization.forced.forced_in_costs, when asked for and solved
    decomposition: dict | None = None  # optimization.decompose: PH's bounds and gap (summary.json ``decomposition``)

    @property
    def solution(self) -> Solution:
        """The solution to report: the strict one, or the elastic one when strict is infeasible."""
        return self.elastic if self.elastic is not None else self.strict

    @property
    def status(self) -> str:
        return self.strict.status
