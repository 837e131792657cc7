"""Errors a user can act on: bad input (exit 2) and bad usage (exit 2).

A ``Problem`` names where it is (file or sheet, row, column) so the message
reads ``file-or-sheet:row:column: what is wrong (the value)``; rows are the
line or Excel row number a user sees, ``-`` where none applies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    where: str
    row: int | None
    column: str | None
    message: str
    value: object = None

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        column = self.column or "-"
        text = f"{self.where}:{row}:{column}: {self.message}"
        if self.value is not None:
            shown = str(self.value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            text += f" ({shown if shown != '' else 'empty'})"
        return text


class InputError(Exception):
    """One or more problems in the input; all are reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(Exception):
    """A command-line or file-system mistake, reported in one line."""
