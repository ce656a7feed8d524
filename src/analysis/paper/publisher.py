"""One disclosure publisher per paper: every count a paper shows passes through it.

A :class:`Publisher` holds the paper's threshold, zero policy and rounding
(set once), applies the single-table rules of :mod:`analysis.disclosure` to
each table as it is registered (primary suppression, the non-events rule,
complementary suppression within partitions, derived values blanked), and
then :meth:`Publisher.audit` checks differencing *across* all the paper's
tables by linear programming (:mod:`analysis.differencing`), adding
suppression until no hidden count can be narrowed to a range smaller than
the threshold. Papers compute every table first, audit, and only then show
them, so a suppressed cell cannot be recovered from any other table of the
same paper.

Expected counts from a case-mix model can reveal an observed count (a model
fitted on the same people reproduces each in-model group's total), so an
O/E row whose observed count is hidden has its expected count hidden too.

Examples
--------
>>> import pandas as pd
>>> pub = Publisher(threshold=10)
>>> t = pd.DataFrame({"area": ["A", "B", "C"], "n": [200, 40, 6], "reoffenders": [80, 12, 2]})
>>> t["rate"] = t["reoffenders"] / t["n"]
>>> _ = pub.rates("by area", t, keys=["area"], partition=True)
>>> pub.audit()
>>> pub["by area"]["n"].isna().tolist()
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..disclosure import (
    DERIVED_COLUMNS,
    FROM_OBSERVED_COLUMNS,
    DisclosureLog,
    apply_disclosure_control,
    check_model_dof,
    publish_observed_expected,
    publish_rates,
)
from ..disclosure_rules import ZeroPolicy

__all__ = ["Publisher", "MODEL_DOF_THRESHOLD"]

MODEL_DOF_THRESHOLD = 10
"""Model results need at least this many residual degrees of freedom, whatever the count threshold."""


@dataclass
class _Entry:
    name: str
    true: pd.DataFrame
    published: pd.DataFrame
    keys: tuple[str, ...]
    counts: tuple[str, ...]
    derived: tuple[str, ...]
    population: str
    complete: bool
    kind: str = "rates"
    measures: tuple[str, ...] = ()
    group: str | None = None


@dataclass
class Publisher:
    """Disclosure control for one paper (see the module docstring)."""

    threshold: int = 10
    rounding: int | None = None
    zeros: ZeroPolicy = "suppress"
    log: DisclosureLog = field(default=None)  # type: ignore[assignment]
    entries: dict[str, _Entry] = field(default_factory=dict)
    audited: bool = False
    audit_note: str = ""

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = DisclosureLog(default_threshold=self.threshold)

    # ----------------------------------------------------------------- registering tables
    def _register(self, name: str, true: pd.DataFrame, published: pd.DataFrame, keys: Sequence[str], counts: Sequence[str],
                  derived: Sequence[str], population: str, complete: bool, kind: str, measures: Sequence[str],
                  group: str | None = None) -> pd.DataFrame:
        if name in self.entries:
            raise ValueError(f"a table named {name!r} is already published in this paper")
        self.entries[name] = _Entry(name, true.reset_index(drop=True), published.reset_index(drop=True), tuple(keys),
                                    tuple(counts), tuple(derived), population, complete, kind, tuple(measures), group)
        self.audited = False
        return self.entries[name].published

    def rates(self, name: str, table: pd.DataFrame, keys: Sequence[str], *, numerator: str = "reoffenders",
              denominator: str = "n", partition: bool = False, partition_by: Sequence[str] | None = None,
              population: str = "cohort", complete: bool = True) -> pd.DataFrame:
        """A table of counts with rates and intervals (one row per group of ``keys``).

        ``partition=True`` when the rows add up to a total published elsewhere
        (areas of the cohort); ``partition_by`` for several partitions in one
        table. Returns the controlled table (final after :meth:`audit`).
        """
        published = publish_rates(table, name=name, numerator=numerator, denominator=denominator,
                                  labels=list(keys), threshold=self.threshold, partition=partition,
                                  partition_by=partition_by, rounding=self.rounding, log=self.log)
        derived = [c for c in DERIVED_COLUMNS if c in table.columns]
        return self._register(name, table, published, keys, (denominator, numerator), derived, population, complete, "rates",
                              ("n", "events"))

    def observed_expected(self, name: str, table: pd.DataFrame, keys: Sequence[str], *, population: str = "cohort",
                          complete: bool = True) -> pd.DataFrame:
        """An O/E table (one row per group; ``n`` and ``observed`` are the counts)."""
        published = publish_observed_expected(table, name=name, labels=list(keys), threshold=self.threshold,
                                              rounding=self.rounding, log=self.log)
        hidden = published["observed"].isna()
        for col in ("expected", "expected_rate"):
            if col in published.columns:
                published[col] = published[col].astype("Float64").mask(hidden)
        derived = [c for c in (*FROM_OBSERVED_COLUMNS, "expected", "expected_rate") if c in table.columns]
        return self._register(name, table, published, keys, ("n", "observed"), derived, population, complete, "oe",
                              ("n", "events"))

    def counts(self, name: str, table: pd.DataFrame, keys: Sequence[str], *, count_columns: Sequence[str],
               measures: Sequence[str] | None = None, derived: Sequence[str] = (), numerator: str | None = None,
               denominator: str | None = None, population: str = "cohort", complete: bool = True,
               group: str | None = None) -> pd.DataFrame:
        """Any table of counts (``count_columns``, first the whole, then its parts) and values derived from them.

        ``measures`` names what each count column counts, in the paper's shared vocabulary: ``"n"`` (people) and
        ``"events"`` (people with the outcome); tables of one population constrain each other through them.
        ``group`` gathers several tables under one line of the disclosure appendix.
        """
        published = apply_disclosure_control(
            table, count_columns=list(count_columns), numerator=numerator, denominator=denominator,
            derived_columns=list(derived), labels=list(keys), threshold=self.threshold, log=self.log, name=name,
            rounding=self.rounding)
        return self._register(name, table, published, keys, tuple(count_columns), derived, population, complete, "counts",
                              tuple(measures or count_columns), group)

    def model(self, name: str, nobs: int, n_params: int):
        """The model rule: residual degrees of freedom of at least 10 (logged); returns the check."""
        return check_model_dof(nobs, n_params, threshold=MODEL_DOF_THRESHOLD, log=self.log, name=name)

    # ----------------------------------------------------------------- the audit
    def audit(self) -> None:
        """Differencing across every table registered so far; hidden cells are added where needed."""
        from ..differencing import CountTable, audit_differencing

        if self.rounding:
            self.audit_note = (f"Counts are rounded to base {self.rounding}, so published cells do not add up exactly and "
                               "the linear-programming audit of differencing (which assumes exact counts) was not run.")
            self.audited = True
            return
        tables = []
        for entry in self.entries.values():
            rename = dict(zip(entry.counts, entry.measures))
            data = entry.true[list(entry.keys) + list(entry.counts)].rename(columns=rename)
            for key in entry.keys:
                data[key] = data[key].astype(str)
            suppressed = pd.DataFrame({rename[c]: entry.published[c].isna().to_numpy() for c in entry.counts}, index=data.index)
            tables.append(CountTable(entry.name, data, keys=entry.keys, counts=tuple(entry.measures), suppressed=suppressed,
                                     population=entry.population, complete=entry.complete))
        if not tables:
            self.audited = True
            return
        result = audit_differencing(tables, threshold=self.threshold, zeros=self.zeros, log=self.log)
        for entry, table in zip(self.entries.values(), result):
            assert table.suppressed is not None  # CountTable.__post_init__ always builds the mask
            mask = table.suppressed.rename(columns=dict(zip(entry.measures, entry.counts)))[list(entry.counts)]
            newly = mask.to_numpy() & ~entry.published[list(entry.counts)].isna().to_numpy()
            if not newly.any():
                continue
            rows = newly.any(axis=1)
            for col in entry.counts:
                entry.published[col] = _blank(entry.published[col], mask[col].to_numpy())
            for col in entry.derived:
                if col in entry.published.columns:
                    entry.published[col] = _blank(entry.published[col], rows)
            if entry.kind == "oe" and "significance" in entry.published.columns:
                entry.published["significance"] = entry.published["significance"].astype(object).where(~rows, "suppressed")
        self.audit_note = ("Differencing across all the tables of this paper was audited by linear programming: no hidden "
                           f"count can be narrowed to fewer than {self.threshold + 1} possible values from the published ones.")
        self.audited = True

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.entries[name].published

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    # ----------------------------------------------------------------- the appendix
    def summary(self) -> pd.DataFrame:
        """Per table: groups shown, count cells hidden by each rule, rows whose derived values were blanked."""
        records = self.log.to_frame()
        rows = []
        for entry in self.entries.values():
            mine = records[records["table"] == entry.name]
            hidden = entry.published[list(entry.counts)].isna().to_numpy()
            rows.append({
                "table": entry.group or entry.name,
                "groups": len(entry.published),
                "primary": int((mine["rule"] == "primary").sum()),
                "complementary": int(((mine["rule"] == "secondary") & ~mine["detail"].str.contains("across tables")).sum()),
                "across tables": int(((mine["rule"] == "secondary") & mine["detail"].str.contains("across tables")).sum()),
                "cells hidden": int(hidden.sum()),
                "groups with values blanked": int(hidden.any(axis=1).sum()),
            })
        out = pd.DataFrame(rows, columns=["table", "groups", "primary", "complementary", "across tables", "cells hidden",
                                          "groups with values blanked"])
        return out.groupby("table", sort=False, as_index=False).sum()

    def details(self) -> pd.DataFrame:
        """One line per hidden count cell and rule (derived values are not listed one by one)."""
        records = self.log.to_frame()
        cells = records[records["rule"].isin(["input", "primary", "secondary"])]
        return cells.drop_duplicates().reset_index(drop=True)


def _blank(values: pd.Series, rows: np.ndarray) -> pd.Series:
    if pd.api.types.is_integer_dtype(values):
        return values.astype("Int64").mask(rows)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("Float64").mask(rows)
    return values.astype(object).mask(rows)
