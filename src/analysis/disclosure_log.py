"""The disclosure log: what was suppressed, rounded or checked, and why (docs/methods.md, disclosure control).

One of the three modules of disclosure control: the rules are in
:mod:`analysis.disclosure_rules`, the table adapters that apply them in
:mod:`analysis.disclosure`, and the records they leave -- never the
confidential values -- here, with the plain-English appendix a report ends
with (:meth:`DisclosureLog.to_markdown`). :mod:`analysis.disclosure`
re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

__all__ = ["DisclosureLog", "quoted"]

_RULE_ORDER = ("input", "primary", "secondary", "derived", "rounding", "model")


@dataclass
class DisclosureLog:
    """What was suppressed, rounded or checked, and why -- without the values.

    Each record has ``table`` (the output's name), ``location`` (row, column or
    cell), ``rule`` (``"input"``, ``"primary"``, ``"secondary"``, ``"derived"``,
    ``"rounding"`` or ``"model"``) and ``detail`` in plain English. The
    confidential value of a suppressed cell is never stored. The settings of
    each call (threshold, zero policy, rounding) are kept for the report.

    Examples
    --------
    >>> log = DisclosureLog()
    >>> log.to_frame().empty
    True
    >>> print(log.to_markdown().splitlines()[0])
    ## Disclosure log
    """

    records: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_threshold: int = 10

    def add(self, table: str, location: str, rule: str, detail: str) -> None:
        """Append one record (no confidential value may go in ``detail``)."""
        self.records.append({"table": str(table), "location": str(location), "rule": rule, "detail": detail})

    def note_settings(self, table: str, **settings: Any) -> None:
        """Remember the settings one table was checked with."""
        self.settings[str(table)] = dict(settings)

    def __len__(self) -> int:
        return len(self.records)

    def to_frame(self) -> pd.DataFrame:
        """The records as a tidy DataFrame with columns table, location, rule, detail."""
        return pd.DataFrame(self.records, columns=["table", "location", "rule", "detail"])

    def to_markdown(self) -> str:
        """A short plain-English "Disclosure log" section for the end of a report."""
        frame = self.to_frame()
        cells = frame[frame["rule"].isin(["input", "primary", "secondary", "derived"])]
        models = frame[frame["rule"] == "model"]
        rounded = frame[frame["rule"] == "rounding"]

        thresholds = sorted({int(s["threshold"]) for s in self.settings.values() if "threshold" in s})
        if not thresholds:
            thresholds = [int(self.default_threshold)]
        zero_show = any(s.get("zeros") == "show" for s in self.settings.values())
        bases = sorted({int(s["rounding"]) for s in self.settings.values() if s.get("rounding")})

        thr = " or ".join(str(t) for t in thresholds)
        lines = ["## Disclosure log", ""]
        rules = [
            f"Counts below {thr} were suppressed"
            + (" (zeros too, except where a table was set to show structural zeros)." if zero_show
               else " (zeros too, because an empty cell reveals a whole group)."),
            "A second, complementary cell was suppressed in any row or column (totals included) "
            "that would otherwise have had a single suppressed cell, so no suppressed count can be "
            "recovered by subtraction from a total.",
            "Rates, percentages and their confidence limits were blanked wherever their numerator or "
            f"denominator was suppressed, or where the people without the outcome numbered fewer than {thr}.",
        ]
        if bases:
            rules.append(
                "Visible counts were then rounded to the nearest "
                + " or ".join(str(b) for b in bases)
                + " (halves rounded up); totals were rounded independently, so rounded cells may not "
                "add to rounded totals."
            )
        rules.append("Model results need at least 10 residual degrees of freedom.")
        lines.append("Rules applied (docs/methods.md, disclosure control; ONS / NHS / TRE practice as in ACRO): " + " ".join(rules))
        lines.append("")

        if cells.empty:
            lines.append("No cells were suppressed.")
        else:
            counts = cells.groupby(["table", "rule"], sort=False).size()
            for table in dict.fromkeys(cells["table"]):
                parts = [f"{counts[(table, r)]} {r}" for r in _RULE_ORDER if (table, r) in counts.index]
                lines.append(f"- {table}: " + ", ".join(parts) + ".")
            lines.append("")
            lines.append("| table | location | rule | detail |")
            lines.append("|---|---|---|---|")
            for rec in cells.itertuples(index=False):
                lines.append(f"| {rec.table} | {rec.location} | {rec.rule} | {rec.detail} |")
        if not rounded.empty:
            lines.append("")
            lines.append("Rounded: " + "; ".join(f"{r.table} ({r.location})" for r in rounded.itertuples(index=False)) + ".")
        if not models.empty:
            lines.append("")
            for rec in models.itertuples(index=False):
                # itertuples types every field as any pandas scalar; a model row's detail is always text
                lines.append(f"- Model {rec.table}: {cast(str, rec.detail).removeprefix('model: ')}.")
        return "\n".join(lines) + "\n"


def quoted(label: object) -> str:
    """A label in single quotes, as the disclosure log writes cell and table names.

    Examples
    --------
    >>> quoted("Walsall"), quoted(3)
    ("'Walsall'", "'3'")
    """
    return f"'{label}'"
