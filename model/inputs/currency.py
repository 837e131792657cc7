"""The dataset's currency, and the one a run may report in besides (the optional ``currency`` table).

Every amount of money in a dataset is in one currency.  The optional
``currency`` table declares it (one row; without the table: USD), and may
name a ``report_currency`` with an ``fx_rate`` (units of the report currency
per unit of the dataset's): the results then state their totals in both,
with the rate.  Every table and file keeps the dataset's currency, so the
figures stay checkable against the inputs (``critmin verify``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import Problem

DEFAULT = "USD"
CODE = re.compile(r"[A-Z]{3}")  # ISO 4217


@dataclass(frozen=True)
class Currency:
    code: str = DEFAULT
    report: str | None = None  # a currency the totals are also stated in
    fx_rate: float | None = None  # units of ``report`` per unit of ``code``

    def unit(self, text: str) -> str:
        """A unit with the word "currency" replaced by the code: "currency per t" -> "USD per t"."""
        return re.sub(r"\bcurrency\b", self.code, text)

    def in_report(self, amount: float | None) -> float | None:
        """An amount in the report currency (None without one)."""
        if amount is None or self.report is None or self.fx_rate is None:
            return None
        return amount * self.fx_rate

    @property
    def rate_text(self) -> str:
        """ "at 150.97 JPY per USD" """
        return f"at {self.fx_rate:,.6g} {self.report} per {self.code}" if self.report else ""


def declared(tables: Mapping) -> Currency:
    """The currency a dataset's tables declare (``tables["currency"]``; absent or empty: USD)."""
    frame = tables.get("currency") if tables is not None else None
    if frame is None or not len(frame):
        return Currency()
    row = frame.iloc[0]
    report = row.get("report_currency") or None
    rate = row.get("fx_rate")
    rate = None if rate is None or rate != rate else float(rate)
    return Currency(str(row["currency"]), str(report) if report and report == report else None, rate)


def check(tables: Mapping, rows: Mapping, where: Mapping) -> list[Problem]:
    """One row at most; ISO 4217 codes; a report currency comes with its rate (> 0) and a rate with one."""
    frame = tables.get("currency")
    if frame is None or not len(frame):
        return []
    problems = []
    lines, name = rows.get("currency", []), where.get("currency", "currency")
    for i, row in enumerate(frame.to_dict("records")):
        line = lines[i] if i < len(lines) else None
        if i > 0:
            problems.append(Problem(name, line, "currency", f"a second currency (the dataset has one: "
                                                            f"{frame['currency'].iloc[0]} on row {lines[0]})",
                                    row["currency"]))
            continue
        for column in ("currency", "report_currency"):
            code = row.get(column)
            if isinstance(code, str) and code and not CODE.fullmatch(code):
                problems.append(Problem(name, line, column, "must be a three-letter ISO 4217 code in capitals "
                                                            "(USD, EUR, JPY)", code))
        report, rate = row.get("report_currency") or "", row.get("fx_rate")
        has_rate = rate is not None and rate == rate
        if report and not has_rate:
            problems.append(Problem(name, line, "fx_rate", f"is empty: give the rate of {report} per "
                                                          f"{row.get('currency')}"))
        elif has_rate and not report:
            problems.append(Problem(name, line, "report_currency", "is empty: name the currency fx_rate "
                                                                   "converts to", None))
        elif has_rate and rate <= 0:
            problems.append(Problem(name, line, "fx_rate", "must be more than 0", f"{rate:g}"))
    return problems
