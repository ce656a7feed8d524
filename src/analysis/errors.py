"""The one error an analyst sees for bad input: every problem at once, each with its fix.

:class:`Problem` is one finding (the column, how many rows, the first rows and
examples, and the fix); :class:`CohortError` collects every problem found in
an extract or a study file, so nothing is reported one at a time and nothing
is half-loaded. The command line prints it and exits with status 2; no
traceback reaches the analyst.

Examples
--------
>>> err = CohortError("extract.csv", [Problem("sex", "values are missing", 3, (1, 4, 9), fix="fill them")])
>>> print(err)
The cohort 'extract.csv' cannot be used: 1 problem found.
  1. column 'sex': values are missing (3 rows, e.g. rows 1, 4, 9). Fix: fill them
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Problem", "CohortError"]


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is, how big it is and how to fix it."""

    column: str
    message: str
    n_rows: int = 0
    rows: tuple[int, ...] = ()
    examples: tuple[str, ...] = ()
    fix: str = ""

    def describe(self) -> str:
        """The problem as one readable sentence."""
        where = self.column if self.column.startswith("(") else f"column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.n_rows:
            text += f" ({self.n_rows:,} row{'s' if self.n_rows != 1 else ''}"
            if self.rows:
                text += ", e.g. row" + ("s " if len(self.rows) > 1 else " ")
                text += ", ".join(str(r) for r in self.rows)
            if self.examples:
                text += ": " + ", ".join(repr(e) for e in self.examples)
            text += ")"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


@dataclass
class CohortError(ValueError):
    """An extract or study file failed validation; ``problems`` lists every problem found.

    Row numbers count data rows from 1 (the first row after the header).
    """

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"The cohort '{self.source}' cannot be used: {n} problem{'s' if n != 1 else ''} found."
        lines = [f"  {i}. {p.describe()}" for i, p in enumerate(self.problems, 1)]
        return "\n".join([head, *lines])

    def to_frame(self) -> pd.DataFrame:
        """The problems as a tidy table (column, message, n_rows, rows, examples, fix)."""
        return pd.DataFrame(
            [
                {
                    "column": p.column,
                    "message": p.message,
                    "n_rows": p.n_rows,
                    "rows": list(p.rows),
                    "examples": list(p.examples),
                    "fix": p.fix,
                }
                for p in self.problems
            ],
            columns=["column", "message", "n_rows", "rows", "examples", "fix"],
        )
