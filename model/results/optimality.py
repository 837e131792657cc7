"""Whether a run proved its portfolio: the warning every output carries when it did not.

HiGHS stops once the relative gap between its best portfolio and its bound
is within ``solver.mip_rel_gap`` (or at the time limit).  The procurement
cost is mostly fixed target tonnes, so even a 0.1 % gap is tens of millions
a year: wide enough for a different portfolio (another equity stake, another
start year) to be the optimum.  A run that stops above ``GAP_WARNING_ABOVE``
says so in the terminal, in ``summary.json`` (``warnings``) and on the
Summary sheet of ``results.xlsx``.
"""

from __future__ import annotations

import math

GAP_WARNING_ABOVE = 1e-5


def gap_warnings(status: str, mip_gap: float | None) -> list[str]:
    """The warnings for a run that ended with ``status`` at an achieved gap ``mip_gap`` (empty: proven)."""
    advice = "solve again with a smaller solver.mip_rel_gap or a longer solver.time_limit"
    if mip_gap is None:
        if status == "time_limit":
            return [f"the solver stopped at its time limit without a bound: this portfolio is not proven "
                    f"optimal and another one may be cheaper; {advice}"]
        return []
    if not (isinstance(mip_gap, (int, float)) and (math.isnan(mip_gap) or mip_gap > GAP_WARNING_ABOVE)):
        return []
    gap = "an unknown gap" if math.isnan(mip_gap) else f"an achieved gap of {mip_gap:.2e}"
    if status == "infeasible":
        return [f"the elastic diagnosis stopped at {gap} (above {GAP_WARNING_ABOVE:g}): the unmet amounts "
                f"may not be the least possible; {advice}"]
    return [f"the solve stopped at {gap} (above {GAP_WARNING_ABOVE:g}): this portfolio is not proven optimal "
            f"and another portfolio may be the optimum; {advice}"]


def run_warnings(results) -> list[str]:
    """``gap_warnings`` for a ``results.tables.Results``."""
    return gap_warnings(results.status, results.mip_gap)
