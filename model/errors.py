"""Errors a user can act on: bad input (exit 2) and bad usage (exit 2).

A ``Problem`` names where it is (file or sheet, row, column) so the message
reads ``file-or-sheet:row:column: what is wrong (the value)``; rows are the
line or Excel row number a user sees, ``-`` where none applies.

Every message is one line of plain text: a character that could move the
cursor, recolour or retitle a terminal (control characters, escape
sequences, bidirectional overrides, line separators) is shown escaped, as
Python's ``repr`` would (``\\x1b``, ``\\x00``, ``\\u202e``), wherever it comes
from: a value, a column header, a sheet or file name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Unicode categories never printed raw: controls (C0, DEL, C1), format
# characters (bidirectional overrides, zero-width marks), surrogates, line and
# paragraph separators.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def escaped(text: object) -> str:
    """``text`` with every unprintable character written as ``repr`` writes it (\\t, \\x1b, \\u202e)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in UNPRINTABLE_CATEGORIES else c for c in text)


@dataclass(frozen=True)
class Problem:
    where: str
    row: int | None
    column: str | None
    message: str
    value: object = None

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        column = escaped(self.column) if self.column else "-"
        text = f"{escaped(self.where)}:{row}:{column}: {escaped(self.message)}"
        if self.value is not None:
            shown = escaped(self.value)
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
    """A command-line or file-system mistake, reported in one line (escaped, like a ``Problem``)."""

    def __str__(self) -> str:
        return escaped(super().__str__())
