"""What an earlier run recorded and a later command reuses: its marginal values.

``critmin stress --portfolio DIR`` stresses a portfolio read back from a
solve's outputs, without solving, so it cannot price the limits again.  The
solve priced them: ``summary.json``'s ``marginal_values`` (docs/model.md
"Marginal values") become the rows ``optimization.marginal`` produced
(``MARGINAL_COLUMNS``), and the stress outputs keep their Marginal values
sheet and ``marginal_values`` (the same numbers; ``limit`` and ``level`` are
not recorded there but for the budget).  Malformed entries are left out;
``critmin verify`` checks what is written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# summary.json marginal_values.units keys, per row kind
UNIT_KEYS = {"target": "target", "target_row_dual": "target_row_dual", "country_cap": "country_cap",
             "any_stage_cap": "country_cap", "stockpile_days": "stockpile_days", "budget": "budget"}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def marginal_rows(document) -> list[dict]:
    """summary.json ``marginal_values`` as marginal-value rows (empty when it is null or not an object)."""
    if not isinstance(document, dict) or not isinstance(document.get("year"), int):
        return []
    year = document["year"]
    units = document.get("units") if isinstance(document.get("units"), dict) else {}

    def row(kind, mineral="", stage="", country="", value=None, limit=None, level=None, saved=None, extra=None):
        return dict(kind=kind, year=year, mineral=mineral, stage=stage, country=country, limit=limit, level=level,
                    value=value, unit=str(units.get(UNIT_KEYS[kind], "")), step_cost_saved=saved,
                    step_extra_budget=extra)

    rows = []
    for kind in ("target", "target_row_dual", "stockpile_days"):
        block = document.get(kind)
        for mineral, value in (block.items() if isinstance(block, dict) else ()):
            if _number(value) is not None or (kind == "stockpile_days" and value is None):
                rows.append(row(kind, str(mineral), value=_number(value)))
    caps = document.get("country_cap")
    for mineral, stages in (caps.items() if isinstance(caps, dict) else ()):
        for stage, countries in (stages.items() if isinstance(stages, dict) else ()):
            for country, value in (countries.items() if isinstance(countries, dict) else ()):
                if _number(value) is not None:
                    kind = "any_stage_cap" if stage == "any" else "country_cap"
                    rows.append(row(kind, str(mineral), str(stage), str(country), value=_number(value)))
    budget = document.get("budget")
    if isinstance(budget, dict) and _number(budget.get("value")) is not None:
        rows.append(row("budget", value=_number(budget["value"]), limit=_number(budget.get("limit")),
                        level=_number(budget.get("used")), saved=_number(budget.get("step_cost_saved")),
                        extra=_number(budget.get("step_extra_budget"))))
    return rows


def read_marginal(folder: Path) -> dict | None:
    """The marginal values an earlier solve recorded in ``folder``/summary.json, in the form
    ``optimization.marginal`` gives them (``{"rows": [...]}``); None when it recorded none."""
    try:
        summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the portfolio reader has said what is wrong with the file
    rows = marginal_rows(summary.get("marginal_values") if isinstance(summary, dict) else None)
    return {"rows": rows, "seconds": 0.0, "error": None, "read_from": str(folder)} if rows else None
