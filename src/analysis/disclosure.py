"""Statistical disclosure control for published count tables (docs/methods.md, disclosure control).

The rules are those of ONS / NHS / trusted-research-environment output checking,
as applied by ACRO (the reference implementation used in UK TREs), reimplemented
here because ``acro`` pins an older pandas:

1. **Primary suppression.** A count below the threshold (default 10; presets
   ``"ons"`` = 5, ``"nhs"`` = 7, ``"strict"`` = 10, or pass 5, 7 or 10) is
   suppressed. Zero policy (``zeros=``): ``"suppress"`` (the default, like
   ACRO's ``zeros_are_disclosive=True``) suppresses every count in
   ``[0, threshold)``, because an empty cell reveals that *nobody* in a group
   has the attribute; ``"show"`` suppresses only ``[1, threshold)`` and leaves
   structural zeros visible.
2. **Secondary (complementary) suppression.** In a table with totals, every
   line (each row and each column, the margins included) that contains a
   suppressed cell must contain at least two, so no cell can be recovered by
   subtracting the visible cells from the total. A suppressed total counts as a
   suppressed cell of its line. The complement is the *smallest* visible cell of
   the line; ties are broken by preferring non-zero cells (a zero that was left
   visible by ``zeros="show"`` protects nothing), then interior cells over the
   total, then the first in table order. Lines are swept rows first, then
   columns, repeatedly until nothing changes. Where a crosstab arrives without
   its margins, the totals are assumed to be published elsewhere and are
   protected all the same (they are computed internally and not returned).
3. **Derived statistics inherit suppression.** A rate, percentage or interval
   bound is blanked wherever its numerator or denominator is suppressed. The
   numerator is also suppressed when the non-events (denominator - numerator)
   fall below the threshold, since numerator and denominator together reveal
   them (a rate of 100% is the zero case).
4. **Rounding** to base 5 (optional, ``rounding=5``) is applied *after*
   suppression to the visible counts: round half up, ``5 * floor(x / 5 + 1/2)``
   (12 -> 10, 12.5 -> 15, 13 -> 15, 17.5 -> 20). Totals are rounded
   independently of their cells, so rounded cells need not add to rounded
   totals. Derived rates are *not* recomputed from rounded counts.
5. **Model outputs** need residual degrees of freedom of at least 10
   (:func:`check_model_dof`).
6. Every call records what was suppressed and why in a :class:`DisclosureLog`.
   The log never stores the confidential value, only the rule applied. Every
   function takes the log as ``log=`` (a new one is made if omitted) and
   returns only the controlled table: pass a log to keep the records, and the
   same log to several calls to gather one report's records.

Suppressed cells become ``pd.NA`` in nullable columns (``Int64`` for whole
counts, ``Float64`` otherwise and for derived columns); the reason lives in
the log. A cell that is already missing on input is treated as suppressed, so
the functions are idempotent (without rounding). Functions never print.

Disclosure control lives in three modules, one concept each: the rules
(thresholds and presets, the zero policy, the primary and non-events rules in
words, rounding, the model rule) in :mod:`analysis.disclosure_rules`; the log
(:class:`DisclosureLog` and its appendix) in :mod:`analysis.disclosure_log`;
and, here, the table adapters that apply the rules to crosstabs, counts and
tidy tables (``suppress_*``, :func:`apply_disclosure_control`, ``publish_*``).
This module re-exports the names of the other two, so
``from analysis.disclosure import ...`` works for all of them.

Examples
--------
>>> import pandas as pd
>>> from analysis.disclosure import DisclosureLog, suppress_crosstab
>>> table = pd.DataFrame({"Male": [40, 3, 25], "Female": [20, 15, 30]},
...                      index=["Dudley", "Sandwell", "Walsall"])
>>> log = DisclosureLog()
>>> safe = suppress_crosstab(table, name="area by sex", complement="paired", log=log)
>>> safe
          Male  Female
Dudley      40      20
Sandwell  <NA>    <NA>
Walsall   <NA>    <NA>
>>> log.to_frame()["rule"].tolist()
['primary', 'secondary', 'secondary', 'secondary']
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .disclosure_log import DisclosureLog, quoted
from .disclosure_rules import (
    PRESETS,
    DofCheck,
    ZeroPolicy,
    check_model_dof,
    check_zero_policy,
    is_small,
    non_events_rule_text,
    primary_rule_text,
    resolve_threshold,
    round_to_base,
)

if TYPE_CHECKING:
    from pandas.api.extensions import ExtensionArray

__all__ = [
    "PRESETS",
    "DisclosureLog",
    "DofCheck",
    "apply_disclosure_control",
    "check_model_dof",
    "recoverable_cells",
    "resolve_threshold",
    "round_to_base",
    "suppress_counts",
    "suppress_crosstab",
    "suppress_rates",
]


# --------------------------------------------------------------------------- table helpers


def _to_float(frame: pd.DataFrame) -> np.ndarray:
    out = np.empty(frame.shape, dtype=float)
    for j, col in enumerate(frame.columns):
        s = pd.to_numeric(frame[col], errors="raise")
        out[:, j] = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if np.any(out[~np.isnan(out)] < 0):
        raise ValueError("counts must not be negative")
    return out


def _nullable(values: np.ndarray, mask: np.ndarray, integer: bool) -> ExtensionArray:
    arr = pd.array(values, dtype="Float64")
    arr[mask] = pd.NA
    if integer:
        arr = arr.round().astype("Int64")  # type: ignore[attr-defined]  # pandas-stubs: FloatingArray.round is missing
    return arr


def _whole(values: np.ndarray) -> bool:
    v = values[~np.isnan(values)]
    return bool(np.all(v == np.round(v)))


def _protect_lines(
    values: np.ndarray,
    suppressed: np.ndarray,
    lines: Sequence[tuple[str, Sequence[tuple[int, ...]]]],
    is_total: np.ndarray,
    complement: str = "smallest",
) -> list[tuple[tuple[int, ...], str]]:
    """Complementary suppression: every line has 0 or >= 2 suppressed cells.

    ``lines`` holds (description, cells in order). The complement is the
    visible cell with the smallest key (value is zero, value, is a total,
    position in the line); with ``complement="paired"`` cells whose *other*
    line also has a single suppressed cell come first (one complement then
    protects two lines). Mutates ``suppressed``; returns (cell, description of
    the protected line) in the order added.
    """
    if complement not in ("smallest", "paired"):
        raise ValueError(f"complement must be 'smallest' or 'paired', not {complement!r}")
    member: dict[tuple[int, ...], list[int]] = {}
    for li, (_, cells) in enumerate(lines):
        for c in cells:
            member.setdefault(c, []).append(li)

    def n_hidden(li: int) -> int:
        return sum(bool(suppressed[c]) for c in lines[li][1])

    added: list[tuple[tuple[int, ...], str]] = []
    changed = True
    while changed:
        changed = False
        for li, (description, cells) in enumerate(lines):
            if n_hidden(li) != 1:
                continue
            visible = []
            for k, c in enumerate(cells):
                if suppressed[c]:
                    continue
                pairs = 0
                if complement == "paired":
                    pairs = sum(n_hidden(other) == 1 for other in member[c] if other != li)
                visible.append((values[c] == 0, -pairs, values[c], bool(is_total[c]), k, c))
            if not visible:
                continue
            cell = min(visible)[-1]
            suppressed[cell] = True
            added.append((cell, description))
            changed = True
    return added


def _cell_ranges(full: np.ndarray, suppressed: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """Feasible range of each suppressed cell of an augmented table (last row and column = totals).

    The intruder's linear programme: the visible cells are known, every row and
    column adds to its total, counts are non-negative. The constraint matrix is
    a network matrix, so the bounds are whole numbers for whole-number tables.
    """
    from scipy.optimize import linprog

    cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(suppressed))]
    if not cells:
        return {}
    pos = {c: k for k, c in enumerate(cells)}
    n, m = full.shape[0] - 1, full.shape[1] - 1
    rows_eq, rhs = [], []
    lines = [[((i, j), 1.0) for j in range(m)] + [((i, m), -1.0)] for i in range(n + 1)]
    lines += [[((i, j), 1.0) for i in range(n)] + [((n, j), -1.0)] for j in range(m + 1)]
    for line in lines:
        coef = np.zeros(len(cells))
        b = 0.0
        for c, a in line:
            if c in pos:
                coef[pos[c]] += a
            else:
                b -= a * full[c]
        if np.any(coef != 0):
            rows_eq.append(coef)
            rhs.append(b)
    A, b_eq = np.array(rows_eq), np.array(rhs)  # b above is one line's right-hand side, b_eq all of them
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for c, k in pos.items():
        bounds = []
        for sign in (1.0, -1.0):
            obj = np.zeros(len(cells))
            obj[k] = sign
            res = linprog(obj, A_eq=A, b_eq=b_eq, bounds=[(0, None)] * len(cells), method="highs")
            if res.status == 3:  # unbounded
                bounds.append(np.inf if sign < 0 else -np.inf)
            elif res.status != 0:
                bounds.append(np.nan)
            else:
                bounds.append(sign * res.fun)
        out[c] = (bounds[0], bounds[1])
    return out


def recoverable_cells(
    table: pd.DataFrame, *, margins_name: Hashable = "All"
) -> list[tuple[Hashable, Hashable]]:
    """Suppressed (missing) cells of a published crosstab that its totals pin down exactly.

    The table must carry both margins labelled ``margins_name``. Solves the
    intruder's linear programme (visible cells known, lines add up, counts
    non-negative) for the smallest and largest value of each missing cell; a
    cell whose range is a single value is recoverable.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [None, 20, 23], "b": [30, 40, 70], "All": [33, 60, 93]},
    ...                  index=["x", "y", "All"])
    >>> recoverable_cells(t)
    [('x', 'a')]
    """
    if table.index[-1] != margins_name or table.columns[-1] != margins_name:
        raise ValueError(f"the table needs both margins labelled {margins_name!r}")
    full = _to_float(table)
    ranges = _cell_ranges(np.nan_to_num(full), np.isnan(full))
    return [(table.index[i], table.columns[j]) for (i, j), (lo, hi) in ranges.items() if np.isfinite(hi) and hi - lo < 0.5]


# --------------------------------------------------------------------------- 2-D and 1-D


def suppress_crosstab(
    crosstab: pd.DataFrame,
    *,
    threshold: int = 10,
    preset: str | int | None = None,
    zeros: ZeroPolicy = "suppress",
    margins_name: Hashable = "All",
    rounding: int | None = None,
    complement: Literal["smallest", "paired"] = "smallest",
    audit: bool = True,
    log: DisclosureLog | None = None,
    name: str = "crosstab",
) -> pd.DataFrame:
    """Primary and complementary suppression of a 2-D count table with totals.

    Parameters
    ----------
    crosstab : DataFrame
        Non-negative counts, e.g. ``pd.crosstab(..., margins=True)``. If the
        last row and the last column are labelled ``margins_name`` they are the
        totals (checked to add up where fully visible); if absent, totals are
        assumed to be published elsewhere and are protected anyway (computed
        internally, not returned). Missing cells count as already suppressed
        (this needs both margins present).
    threshold, preset : int, str or int
        Small-count threshold, or a preset (``"strict"``/10, ``"nhs"``/7,
        ``"ons"``/5) that overrides it.
    zeros : {"suppress", "show"}
        ``"suppress"`` hides counts in ``[0, threshold)``; ``"show"`` only
        ``[1, threshold)``.
    rounding : int, optional
        Base (e.g. 5) to round visible counts to after suppression; totals are
        rounded independently.
    complement : {"smallest", "paired"}
        How the complementary cell of a line is chosen. ``"smallest"`` (the
        default, docs/methods.md): the smallest visible cell of the line.
        ``"paired"``: first prefer a cell whose crossing line also has a
        single suppressed cell, then the smallest; this usually hides fewer
        cells (it closes the suppression pattern into rectangles).
    audit : bool
        After the line rule, solve the intruder's linear programme (visible
        cells and totals known, counts non-negative) and, while any
        suppressed cell is still determined exactly by combining several
        lines, hide the smallest visible cell in its row (else column) and
        re-apply the line rule. Default True. Missing-on-input cells are not
        audited (their values are unknown).
    log : DisclosureLog, optional
        Log the records (what was suppressed or rounded, and why) are added
        to; pass one to keep them. As every disclosure function, this returns
        only the controlled table (docs/api.md, rule 6).
    name : str
        Table name for the log.

    Returns
    -------
    DataFrame
        The table with suppressed cells as ``pd.NA`` (``Int64`` columns for
        whole counts, else ``Float64``).

    Examples
    --------
    >>> t = pd.DataFrame({"a": [3, 20, 23], "b": [30, 40, 70], "All": [33, 60, 93]},
    ...                  index=["x", "y", "All"])
    >>> log = DisclosureLog()
    >>> safe = suppress_crosstab(t, log=log, name="t")
    >>> safe
            a     b  All
    x    <NA>  <NA>   33
    y    <NA>  <NA>   60
    All    23    70   93
    >>> sorted(log.to_frame()["rule"])
    ['primary', 'secondary', 'secondary', 'secondary']
    """
    threshold = resolve_threshold(threshold=threshold, preset=preset)
    check_zero_policy(zeros)
    log = DisclosureLog(default_threshold=threshold) if log is None else log
    log.note_settings(name, threshold=threshold, zeros=zeros, rounding=rounding)

    has_row_total = margins_name in crosstab.index and crosstab.index[-1] == margins_name
    has_col_total = margins_name in crosstab.columns and crosstab.columns[-1] == margins_name
    if crosstab.empty:
        return crosstab.copy()
    values = _to_float(crosstab)
    integer = _whole(values)
    n_rows = values.shape[0] - int(has_row_total)
    n_cols = values.shape[1] - int(has_col_total)
    if (not has_row_total or not has_col_total) and np.isnan(values).any():
        raise ValueError("a crosstab with missing cells must carry both margins (labelled margins_name)")

    full = _with_margins(values, n_rows, n_cols, has_row_total, has_col_total)
    _check_additive(full)

    rows = list(crosstab.index[:n_rows]) + [margins_name]
    cols = list(crosstab.columns[:n_cols]) + [margins_name]
    present = np.zeros(full.shape, dtype=bool)
    present[:n_rows, :n_cols] = True
    present[:n_rows, n_cols] = has_col_total
    present[n_rows, :n_cols] = has_row_total
    present[n_rows, n_cols] = has_row_total and has_col_total

    def where(i: int, j: int) -> str:
        return f"row {quoted(rows[i])}, column {quoted(cols[j])}" + ("" if present[i, j] else " (implied total, not shown)")

    suppressed = np.isnan(full)
    for i, j in zip(*np.nonzero(suppressed)):
        log.add(name, where(i, j), "input", "missing on input; treated as suppressed")
    small = is_small(full, threshold, zeros)
    for i, j in zip(*np.nonzero(small)):
        log.add(name, where(i, j), "primary", primary_rule_text(threshold, zeros))
    suppressed |= small

    is_total = np.zeros(full.shape, dtype=bool)
    is_total[:, n_cols] = True
    is_total[n_rows, :] = True
    lines = [(f"row {quoted(rows[i])}", [(i, j) for j in range(n_cols + 1)]) for i in range(n_rows + 1)]
    lines += [(f"column {quoted(cols[j])}", [(i, j) for i in range(n_rows + 1)]) for j in range(n_cols + 1)]
    for (i, j), line in _protect_lines(full, suppressed, lines, is_total, complement):
        log.add(name, where(i, j), "secondary", f"complementary suppression: protects {line}")
    while audit:
        # the line rule is necessary, not sufficient: a cell can still be pinned
        # down by combining several lines. Hide one more cell next to it and repeat.
        ranges = _cell_ranges(np.nan_to_num(full), suppressed)
        exposed = [c for c, (lo, hi) in ranges.items() if np.isfinite(hi) and hi - lo < 0.5 and not np.isnan(full[c])]
        if not exposed:
            break
        i, j = exposed[0]
        cell = _audit_complement(full, suppressed, i, j)
        if cell is None:
            break
        suppressed[cell] = True
        log.add(name, where(*cell), "secondary",
                f"complementary suppression: protects {where(i, j)} (recoverable by combining totals)")
        for (a, b), line in _protect_lines(full, suppressed, lines, is_total, complement):
            log.add(name, where(a, b), "secondary", f"complementary suppression: protects {line}")

    out_vals = full.copy()
    if rounding:
        out_vals = np.where(suppressed, np.nan, round_to_base(full, base=rounding))
        log.add(name, "all visible cells", "rounding", f"rounded to base {int(rounding)} (half up); totals rounded independently")
        integer = True

    row_sel = list(range(n_rows)) + ([n_rows] if has_row_total else [])
    col_sel = list(range(n_cols)) + ([n_cols] if has_col_total else [])
    result = {}
    for k, j in enumerate(col_sel):
        result[crosstab.columns[k]] = _nullable(out_vals[row_sel, j], suppressed[row_sel, j], integer)
    out = pd.DataFrame(result, index=crosstab.index)
    out.columns = crosstab.columns
    return out


def _with_margins(values: np.ndarray, n_rows: int, n_cols: int, has_row_total: bool, has_col_total: bool) -> np.ndarray:
    """The crosstab's values augmented with both margins (computed where absent; missing where a line has a missing cell)."""
    interior = values[:n_rows, :n_cols]
    full = np.full((n_rows + 1, n_cols + 1), np.nan)
    full[:n_rows, :n_cols] = interior
    if has_col_total:
        full[:n_rows, n_cols] = values[:n_rows, -1]
    else:
        full[:n_rows, n_cols] = [np.nan if np.isnan(r).any() else r.sum() for r in interior]
    if has_row_total:
        full[n_rows, :] = np.nan
        full[n_rows, : values.shape[1]] = values[-1, :]
        if not has_col_total:
            full[n_rows, n_cols] = np.nan if np.isnan(values[-1, :]).any() else values[-1, :].sum()
    else:
        full[n_rows, :] = [np.nan if np.isnan(c).any() else c.sum() for c in full[:n_rows, :].T]
    return full


def _audit_complement(full: np.ndarray, suppressed: np.ndarray, i: int, j: int) -> tuple[int, int] | None:
    """The cell to hide so that the exposed cell (i, j) of an augmented table is no longer pinned down.

    The smallest visible cell of its row (non-zero first, interior before the
    total), else of its column, else anywhere; None when nothing is visible.
    """
    n_rows, n_cols = full.shape[0] - 1, full.shape[1] - 1
    row = [(full[i, k] == 0, full[i, k], k == n_cols, k) for k in range(n_cols + 1) if not suppressed[i, k]]
    col = [(full[k, j] == 0, full[k, j], k == n_rows, k) for k in range(n_rows + 1) if not suppressed[k, j]]
    if row:
        return (i, min(row)[-1])
    if col:
        return (min(col)[-1], j)
    # Row and column are wholly hidden, yet non-negativity and the other totals
    # still pin the cell (e.g. a zero row whose total is implied by the grand total):
    # hide the smallest visible cell anywhere, and repeat.
    anywhere = [(full[a, b], a, b) for a, b in zip(*np.nonzero(~suppressed))]
    if not anywhere:
        return None
    _, a, b = min(anywhere)
    return (a, b)


def _check_additive(full: np.ndarray) -> None:
    for axis in (0, 1):
        inner = full[:-1, :] if axis == 0 else full[:, :-1]
        total = full[-1, :] if axis == 0 else full[:, -1]
        sums = inner.sum(axis=axis)  # NaN where any missing
        ok = np.isnan(sums) | np.isnan(total) | np.isclose(sums, total)
        if not ok.all():
            raise ValueError("the margins do not equal the sums of the cells; is this a count table with totals?")


def suppress_counts(
    counts: pd.Series,
    *,
    threshold: int = 10,
    preset: str | int | None = None,
    zeros: ZeroPolicy = "suppress",
    total_label: Hashable = "All",
    rounding: int | None = None,
    log: DisclosureLog | None = None,
    name: str = "counts",
) -> pd.Series:
    """Primary and complementary suppression of a 1-D table (counts and a total).

    The total is the entry labelled ``total_label`` (last); if it is absent it
    is assumed to be published elsewhere and is protected anyway. Otherwise as
    :func:`suppress_crosstab`: returns the controlled Series, its records
    going to ``log`` if one is given.

    Examples
    --------
    >>> s = pd.Series([50, 4, 30, 84], index=["A", "B", "C", "All"])
    >>> suppress_counts(s, name="s").tolist()
    [50, <NA>, <NA>, 84]
    """
    threshold = resolve_threshold(threshold=threshold, preset=preset)
    check_zero_policy(zeros)
    log = DisclosureLog(default_threshold=threshold) if log is None else log
    log.note_settings(name, threshold=threshold, zeros=zeros, rounding=rounding)
    if counts.empty:
        return counts.copy()
    has_total = len(counts) > 0 and counts.index[-1] == total_label
    values = _to_float(counts.to_frame())[:, 0]
    if has_total and not np.isnan(values).any() and not np.isclose(values[:-1].sum(), values[-1]):
        raise ValueError("the total does not equal the sum of the counts")
    else:
        values = np.append(values, np.nan if np.isnan(values).any() else values.sum())
    keys = [str(k) for k in counts.index[: len(values) - 1]] + [str(total_label)]

    def where(i: int | np.integer) -> str:
        return f"row {quoted(keys[i])}" + ("" if has_total or i < len(values) - 1 else " (implied total, not shown)")

    suppressed = np.isnan(values)
    for i in np.nonzero(suppressed)[0]:
        log.add(name, where(i), "input", "missing on input; treated as suppressed")
    small = is_small(values, threshold, zeros)
    for i in np.nonzero(small)[0]:
        log.add(name, where(i), "primary", primary_rule_text(threshold, zeros))
    suppressed |= small
    is_total = np.zeros(len(values), dtype=bool)
    is_total[-1] = True
    cells = [(i,) for i in range(len(values))]
    for (k,), line in _protect_lines(values, suppressed, [("the total", cells)], is_total):
        log.add(name, where(k), "secondary", f"complementary suppression: protects {line}")
    integer = _whole(values)
    if rounding:
        values = round_to_base(values, base=rounding)
        log.add(name, "all visible cells", "rounding", f"rounded to base {int(rounding)} (half up); total rounded independently")
        integer = True
    n = len(counts)
    return pd.Series(_nullable(values[:n], suppressed[:n], integer), index=counts.index, name=counts.name)


# --------------------------------------------------------------------------- tidy tables


def suppress_rates(
    table: pd.DataFrame,
    numerator: str,
    denominator: str,
    derived: Sequence[str],
    *,
    threshold: int = 10,
    preset: str | int | None = None,
    zeros: ZeroPolicy = "suppress",
    labels: Sequence[str] | None = None,
    log: DisclosureLog | None = None,
    name: str = "table",
) -> pd.DataFrame:
    """Blank derived rates wherever their numerator or denominator is suppressed.

    The numerator is first suppressed where the non-events (``denominator -
    numerator``) fall below the threshold (in ``[0, threshold)`` with
    ``zeros="suppress"``), because numerator and denominator together would
    reveal them. Then every column in ``derived`` (rate, lower, upper, ...) is
    set to ``pd.NA`` in each row where the numerator or the denominator is
    missing (suppressed). Counts are not otherwise suppressed here: use
    :func:`apply_disclosure_control` for the whole treatment. Returns the
    table; the records go to ``log`` if one is given (as :func:`suppress_crosstab`).

    Examples
    --------
    >>> t = pd.DataFrame({"area": ["A", "B"], "reoffended": [20, 45], "n": [60, 50],
    ...                   "rate": [0.333, 0.9]})
    >>> suppress_rates(t, "reoffended", "n", ["rate"], labels=["area"])
      area  reoffended   n   rate
    0    A          20  60  0.333
    1    B        <NA>  50   <NA>
    """
    threshold = resolve_threshold(threshold=threshold, preset=preset)
    check_zero_policy(zeros)
    log = DisclosureLog(default_threshold=threshold) if log is None else log
    if name not in log.settings:
        log.note_settings(name, threshold=threshold, zeros=zeros, rounding=None)
    out = table.copy()
    row_label = _row_labeller(out, labels)
    num = _to_float(out[[numerator]])[:, 0]
    den = _to_float(out[[denominator]])[:, 0]
    non_events = is_small(den - num, threshold, zeros) & ~np.isnan(num)
    for i in np.nonzero(non_events)[0]:
        log.add(name, f"row {quoted(row_label(i))}, column {quoted(numerator)}", "primary",
                non_events_rule_text(numerator, denominator, threshold, zeros))
    num_mask = np.isnan(num) | non_events
    out[numerator] = _nullable(num, num_mask, _whole(num))
    blank = num_mask | np.isnan(den)
    for col in derived:
        vals = pd.to_numeric(out[col]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        already = np.isnan(vals)
        out[col] = _nullable(vals, blank, False)
        for i in np.nonzero(blank & ~already)[0]:
            why = numerator if num_mask[i] else denominator
            log.add(name, f"row {quoted(row_label(i))}, column {quoted(col)}", "derived", f"derived: {why} is suppressed")
    return out


def _row_labeller(table: pd.DataFrame, labels: Sequence[str] | None):
    if labels:
        keys = [" / ".join(str(v) for v in row) for row in table[list(labels)].itertuples(index=False)]
    else:
        keys = [str(v) for v in table.index]
    return lambda i: keys[i]


def _count_columns(table: pd.DataFrame, count_columns: Sequence[str] | None, numerator: str | None,
                   denominator: str | None, labels: Sequence[str] | None) -> list[str]:
    """The count columns of a tidy table: those given (default: the integer, non-boolean, non-label columns), then the numerator and denominator."""
    if count_columns is None:
        count_columns = [c for c in table.columns
                         if pd.api.types.is_integer_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
                         and (labels is None or c not in labels)]
    count_columns = list(count_columns)
    for extra in (numerator, denominator):
        if extra is not None and extra not in count_columns:
            count_columns.append(extra)
    return count_columns


def apply_disclosure_control(
    table: pd.DataFrame,
    *,
    count_columns: Sequence[str] | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    derived_columns: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    total_row: Hashable | None = None,
    threshold: int = 10,
    preset: str | int | None = None,
    zeros: ZeroPolicy = "suppress",
    rounding: int | None = None,
    log: DisclosureLog | None = None,
    name: str = "table",
) -> pd.DataFrame:
    """Disclosure control for a tidy table of counts with derived rate columns.

    Steps: (1) primary suppression of every count column; (2) if
    ``numerator`` and ``denominator`` are given, the non-events rule;
    (3) if ``total_row`` is given, complementary suppression within each
    count column treated as a 1-D table with that total (rows of a tidy table
    are *not* assumed to add up otherwise -- e.g. overlapping flags); (4)
    derived columns are blanked where the numerator or denominator is
    suppressed; (5) optional rounding of visible counts to ``rounding``.

    Parameters
    ----------
    table : DataFrame
        One row per group.
    count_columns : list of str, optional
        Count columns; default all integer-typed (non-boolean) columns.
    numerator, denominator : str, optional
        Event and population count columns behind the derived columns.
    derived_columns : list of str, optional
        Rates, percentages and bounds computed from them; default
        ``["rate", "lower", "upper"]`` where present.
    labels : list of str, optional
        Columns that name a row in the log (default: the index); the total row
        is found by its label (joined with " / " if several).
    total_row : label, optional
        Label of the row holding column totals.
    threshold, preset, zeros, rounding, log, name
        As :func:`suppress_crosstab`.

    Returns
    -------
    DataFrame
        The table with suppressed counts and the values derived from them as
        ``pd.NA``; the records are added to ``log`` if one is given.

    Examples
    --------
    >>> t = pd.DataFrame({"area": ["Dudley", "Sandwell", "Walsall"],
    ...                   "reoffended": [40, 6, 52], "n": [120, 30, 150],
    ...                   "rate": [0.333, 0.2, 0.347]})
    >>> log = DisclosureLog()
    >>> safe = apply_disclosure_control(t, numerator="reoffended", denominator="n",
    ...                                 labels=["area"], rounding=5, log=log, name="by area")
    >>> safe
           area  reoffended    n   rate
    0    Dudley          40  120  0.333
    1  Sandwell        <NA>   30   <NA>
    2   Walsall          50  150  0.347
    >>> log.to_frame()[["location", "rule"]].values.tolist()[:2]
    [["row 'Sandwell', column 'reoffended'", 'primary'], ["row 'Sandwell', column 'rate'", 'derived']]
    """
    threshold = resolve_threshold(threshold=threshold, preset=preset)
    check_zero_policy(zeros)
    log = DisclosureLog(default_threshold=threshold) if log is None else log
    log.note_settings(name, threshold=threshold, zeros=zeros, rounding=rounding)
    out = table.copy()
    count_columns = _count_columns(out, count_columns, numerator, denominator, labels)
    if derived_columns is None:
        derived_columns = [c for c in ("rate", "lower", "upper") if c in out.columns]
    row_label = _row_labeller(out, labels)
    keys = [row_label(i) for i in range(len(out))]

    values = _to_float(out[count_columns]) if count_columns else np.empty((len(out), 0))
    suppressed = np.isnan(values)
    for i, j in zip(*np.nonzero(suppressed)):
        log.add(name, f"row {quoted(keys[i])}, column {quoted(count_columns[j])}", "input", "missing on input; treated as suppressed")
    small = is_small(values, threshold, zeros)
    for i, j in zip(*np.nonzero(small)):
        log.add(name, f"row {quoted(keys[i])}, column {quoted(count_columns[j])}", "primary", primary_rule_text(threshold, zeros))
    suppressed |= small
    if numerator is not None and denominator is not None:
        jn, jd = count_columns.index(numerator), count_columns.index(denominator)
        ne = is_small(values[:, jd] - values[:, jn], threshold, zeros) & ~suppressed[:, jn]
        for i in np.nonzero(ne)[0]:
            log.add(name, f"row {quoted(keys[i])}, column {quoted(numerator)}", "primary",
                    non_events_rule_text(numerator, denominator, threshold, zeros))
        suppressed[:, jn] |= ne

    if total_row is not None:
        if str(total_row) not in keys:
            raise ValueError(f"total_row {total_row!r} not found among the row labels")
        t = keys.index(str(total_row))
        order = [i for i in range(len(out)) if i != t] + [t]
        is_total = np.zeros(values.shape, dtype=bool)
        is_total[t, :] = True
        lines = [(f"the total of column {quoted(c)}", [(i, j) for i in order]) for j, c in enumerate(count_columns)]
        for (i, j), line in _protect_lines(values, suppressed, lines, is_total):
            log.add(name, f"row {quoted(keys[i])}, column {quoted(count_columns[j])}", "secondary",
                    f"complementary suppression: protects {line}")

    for j, col in enumerate(count_columns):
        out[col] = _nullable(values[:, j], suppressed[:, j], _whole(values[:, j]))
    if numerator is not None and denominator is not None and derived_columns:
        out = suppress_rates(out, numerator, denominator, derived_columns, threshold=threshold,
                             zeros=zeros, labels=labels, log=log, name=name)
    if rounding:
        for j, col in enumerate(count_columns):
            out[col] = _nullable(round_to_base(values[:, j], base=rounding), suppressed[:, j], True)
        log.add(name, ", ".join(f"column {quoted(c)}" for c in count_columns), "rounding",
                f"rounded to base {int(rounding)} (half up); totals rounded independently")
    return out


# --------------------------------------------------------------------------- the package's tables


DERIVED_COLUMNS: tuple[str, ...] = ("rate", "prevalence", "share", "estimate", "lower", "upper", "rate_pct", "lower_pct", "upper_pct")


def publish_rates(
    table: pd.DataFrame,
    *,
    name: str,
    numerator: str = "reoffenders",
    denominator: str = "n",
    labels: Sequence[str] | None = None,
    threshold: int = 10,
    partition_by: Sequence[str] | None = None,
    partition: bool = False,
    rounding: int | None = None,
    log: DisclosureLog | None = None,
) -> pd.DataFrame:
    """Disclosure control for a rates table before it is shown in a report.

    A thin wrapper around :func:`apply_disclosure_control` for the common case
    of the package's tidy rate tables: the numerator and denominator are the
    counts, and every rate-like column present (``rate``, ``prevalence``,
    ``share``, ``estimate``, ``lower``, ``upper`` and their ``_pct`` forms)
    inherits their suppression. Returns the table; the records go to ``log``
    if one is given (as every disclosure function).

    When the rows add up to a total that is published elsewhere (areas of a
    cohort, or the flagged and unflagged rows of each flag), pass
    ``partition=True`` (and ``partition_by`` for several partitions in one
    table, e.g. ``["flag"]``): a total row is added to each partition for
    complementary suppression, so that a suppressed row cannot be recovered
    as the total minus the other rows, and then removed. ``rounding=5``
    rounds the visible counts to base 5 after suppression.

    Examples
    --------
    >>> t = pd.DataFrame({"area": ["A", "B"], "n": [40, 200], "reoffenders": [3, 80], "rate": [0.075, 0.4]})
    >>> log = DisclosureLog()
    >>> publish_rates(t, name="toy", labels=["area"], log=log)["rate"].isna().tolist()
    [True, False]
    >>> publish_rates(t, name="toy", labels=["area"], partition=True, log=log)["reoffenders"].isna().tolist()
    [True, True]
    """
    derived = [c for c in DERIVED_COLUMNS if c in table.columns]

    if log is None:
        log = DisclosureLog(default_threshold=threshold)

    def control(part: pd.DataFrame, total_row: str | None) -> pd.DataFrame:
        return apply_disclosure_control(
            part, count_columns=[numerator, denominator], numerator=numerator, denominator=denominator,
            derived_columns=derived, labels=labels, threshold=threshold, log=log, name=name, total_row=total_row,
            rounding=rounding,
        )

    if not (partition or partition_by):
        return control(table, None)
    if not labels:
        raise ValueError("partition needs labels (the columns that name each row)")
    keys = list(partition_by or [])
    groups = [(None, table)] if not keys else list(table.groupby(keys, sort=False, observed=True))
    pieces = []
    for _, part in groups:
        part = part.astype({c: object for c in labels})
        total = {c: part[c].iloc[0] if c in keys else "Total" for c in labels}
        total.update({numerator: part[numerator].sum(), denominator: part[denominator].sum()})
        with_total = pd.concat([part, pd.DataFrame([total])], ignore_index=True)
        label = " / ".join(str(total[c]) for c in labels)
        pieces.append(control(with_total, label).iloc[:-1].set_axis(part.index))
    return pd.concat(pieces).loc[table.index]


FROM_OBSERVED_COLUMNS: tuple[str, ...] = (
    "observed_rate", "observed_rate_lower", "observed_rate_upper", "ratio", "ratio_lower", "ratio_upper", "z", "p_value",
    "z_ratio_lower", "z_ratio_upper", "adjusted_rate", "adjusted_rate_lower", "adjusted_rate_upper", "rest_n",
    "rest_observed", "rest_rate", "difference", "difference_lower", "difference_upper", "rate_ratio", "rate_ratio_lower",
    "rate_ratio_upper", "odds_ratio", "odds_ratio_lower", "odds_ratio_upper", "p_value_vs_rest",
)


def publish_observed_expected(
    table: pd.DataFrame,
    *,
    name: str,
    labels: Sequence[str] = ("group",),
    threshold: int = 10,
    rounding: int | None = None,
    log: DisclosureLog | None = None,
) -> pd.DataFrame:
    """Disclosure control for an :func:`analysis.observed_vs_expected` table.

    ``observed`` (reoffenders) and ``n`` are the counts. Everything computed
    from the observed count (rates, O/E and its limits, z, the comparison with
    the rest of the cohort, whose counts are the total minus the group's) is
    blanked with it, and the significance label becomes ``"suppressed"``.
    Expected counts, which come from a model, stay visible. Returns the
    table; the records go to ``log`` if one is given.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["a", "b"], "n": [30, 300], "observed": [4, 120], "expected": [5.0, 110.0],
    ...                   "ratio": [0.8, 120 / 110], "significance": ["Not significant", "Not significant"]})
    >>> publish_observed_expected(t, name="toy")["significance"].tolist()
    ['suppressed', 'Not significant']
    """
    derived = [c for c in FROM_OBSERVED_COLUMNS if c in table.columns]
    safe = apply_disclosure_control(
        table, count_columns=["observed", "n"], numerator="observed", denominator="n", derived_columns=derived,
        labels=list(labels), threshold=threshold, log=log, name=name, rounding=rounding,
    )
    if "significance" in safe.columns:
        safe["significance"] = safe["significance"].astype(object).where(safe["observed"].notna(), "suppressed")
    return safe
