"""Periods: which periods a cohort holds, their reading order, and periods and dates in words.

A cohort's ``period`` column holds labels such as ``"2015-10/2016-09"`` (a
twelve-month cohort), ``"2016-03"`` (a month) or an analyst's own text
(``"Released 2019-2021"``); the KPI paper also cuts dates into pandas periods
(``"2016Q3"``). This module is the one place that orders period labels, finds
the latest and the baseline, and writes them, and dates, in words.

Examples
--------
>>> latest_period(["2014-10/2015-09", "2015-10/2016-09"])
'2015-10/2016-09'
>>> period_words("2015-10/2016-09"), period_span("2016Q3", freq="Q"), long_date(pd.Timestamp("2018-03-31"))
('October 2015 to September 2016', ('July 2016', 'September 2016'), '31 March 2018')
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["periods_present", "rows_in_period", "levels_present", "date_period_codes", "category_codes_present", "kpi_period_column", "latest_period", "previous_period", "period_words", "period_span", "long_date", "MONTHS"]

MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                           "November", "December")
"""Month names, January first."""

_MONTH = r"(\d{4})-(0[1-9]|1[0-2])"


def periods_present(frame: pd.DataFrame) -> list[str]:
    """The periods that have at least one row, in reading order; empty when there is no ``period`` column.

    A categorical column is read from its codes (cheap on millions of rows);
    labels sort as text, which is time order for the ``YYYY-MM`` forms.

    Examples
    --------
    >>> periods_present(pd.DataFrame({"period": pd.Categorical(["b", "a"], categories=["a", "b", "c"])}))
    ['a', 'b']
    >>> periods_present(pd.DataFrame({"x": [1]}))
    []
    """
    if "period" not in frame.columns:
        return []
    values = frame["period"]
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes)
        cats = values.cat.categories
        if len(cats) <= 64:  # a comparison per period is cheaper than sorting millions of codes
            return sorted(str(c) for i, c in enumerate(cats) if (codes == i).any())
        present = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(cats)) > 0
        return sorted(str(c) for c, p in zip(cats, present) if p)
    return sorted(str(v) for v in pd.unique(values.dropna()))


def rows_in_period(frame: pd.DataFrame, period: Any, *, column: str = "period") -> np.ndarray:
    """Which rows belong to ``period`` (compared as text), as a boolean array.

    A categorical column is compared through its codes, so no column of text is
    built for millions of rows; any other column is compared as text.

    Examples
    --------
    >>> frame = pd.DataFrame({"period": pd.Categorical(["2015", "2016", "2015"])})
    >>> rows_in_period(frame, "2015").tolist(), rows_in_period(frame, 2016).tolist()
    ([True, False, True], [False, True, False])
    >>> rows_in_period(pd.DataFrame({"period": ["a", None]}), "a").tolist()
    [True, False]
    """
    values = frame[column]
    label = str(period)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in values.cat.categories]
        if label not in cats:
            return np.zeros(len(values), dtype=bool)
        return np.asarray(values.cat.codes) == cats.index(label)
    return np.asarray(values.astype(str) == label) & np.asarray(values.notna())


def date_period_codes(dates: pd.Series, freq: str) -> tuple[np.ndarray, pd.PeriodIndex]:
    """Each row's period (its date cut by ``freq``) as a code into the periods present, in time order (-1 without a date).

    The dates are factorised first and only the distinct dates (a few thousand
    days in a national extract of millions of rows) are cut into periods, so
    no per-row period or label is built.

    Examples
    --------
    >>> codes, levels = date_period_codes(pd.Series(pd.to_datetime(["2015-05-01", None, "2015-02-01", "2015-05-09"])), "Q")
    >>> codes.tolist(), [str(p) for p in levels]
    ([1, -1, 0, 1], ['2015Q1', '2015Q2'])
    """
    day_codes, days = pd.factorize(dates)
    # the per-row call's own conversion, on the distinct dates (a bad freq raises as it would)
    periods = pd.Series(days).dt.to_period(freq)
    period_codes, levels = pd.factorize(periods, sort=True)
    lookup = np.append(np.asarray(period_codes, dtype=np.int64), np.int64(-1))  # a missing date (-1) reads the last entry
    return lookup[np.asarray(day_codes)], pd.PeriodIndex(levels)


def category_codes_present(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A categorical's codes renumbered over the categories present (as text, in category order); -1 where missing.

    The same as ``pd.Categorical(values.astype(str), categories=levels_present(values)).codes`` without building a
    label per row.

    Examples
    --------
    >>> codes, levels = category_codes_present(pd.Series(pd.Categorical(["b", None, "c"], categories=["c", "a", "b"])))
    >>> codes.tolist(), levels
    ([1, -1, 0], ['c', 'b'])
    """
    codes = np.asarray(values.cat.codes)
    cats = values.cat.categories
    present = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(cats)) > 0
    lookup = np.full(len(cats) + 1, -1, dtype=np.int64)  # the last entry is for a missing value (-1)
    lookup[np.flatnonzero(present)] = np.arange(int(present.sum()))
    return lookup[codes], [str(c) for c, p in zip(cats, present) if p]


def levels_present(values: pd.Series) -> list[str]:
    """The values a column holds, as text: a categorical's categories in their order, others sorted.

    Read from the codes of a categorical (cheap on millions of rows).

    Examples
    --------
    >>> levels_present(pd.Series(pd.Categorical(["b", "c"], categories=["c", "a", "b"])))
    ['c', 'b']
    >>> levels_present(pd.Series(["y", "x", None, "y"]))
    ['x', 'y']
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes)
        present = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(values.cat.categories)) > 0
        return [str(c) for c, p in zip(values.cat.categories, present) if p]
    return sorted(str(v) for v in pd.unique(values.dropna()))


def latest_period(periods: list[str]) -> str:
    """The last period in reading order.

    Examples
    --------
    >>> latest_period(["2022-23", "2023-24"])
    '2023-24'
    """
    return periods[-1]


def previous_period(periods: list[str], period: str) -> str | None:
    """The period just before ``period`` in reading order (the natural baseline), or None.

    Examples
    --------
    >>> previous_period(["2022-23", "2023-24", "2024-25"], "2024-25")
    '2023-24'
    >>> previous_period(["All people"], "All people") is None
    True
    """
    if period not in periods:
        return None
    i = periods.index(period)
    return periods[i - 1] if i > 0 else None


def period_words(label: Any) -> str:
    """A period label in words: "2015-10/2016-09" -> "October 2015 to September 2016".

    Labels of other forms are returned as they are.

    Examples
    --------
    >>> period_words("2015-10/2016-09"), period_words("2016-03"), period_words("Released 2019-2021")
    ('October 2015 to September 2016', 'March 2016', 'Released 2019-2021')
    """
    text = str(label).strip()
    m = re.fullmatch(_MONTH + r"\s*/\s*" + _MONTH, text)
    if m:
        y1, m1, y2, m2 = m.groups()
        return f"{MONTHS[int(m1) - 1]} {y1} to {MONTHS[int(m2) - 1]} {y2}"
    m = re.fullmatch(_MONTH, text)
    if m:
        return f"{MONTHS[int(m.group(2)) - 1]} {m.group(1)}"
    return text


def period_span(label: Any, *, freq: str | None = None) -> tuple[str, str]:
    """The first and last month of a period label in words.

    With ``freq`` (a pandas period frequency such as ``"Q"`` or ``"Y-MAR"``) the
    label is a pandas period ("2016Q3"); without it, a cohort label read by
    :func:`period_words` (a label of another form is both its first and last).

    Examples
    --------
    >>> period_span("2016Q3", freq="Q"), period_span("2015-10/2016-09")
    (('July 2016', 'September 2016'), ('October 2015', 'September 2016'))
    >>> period_span("2016", freq="Y-MAR")
    ('April 2015', 'March 2016')
    """
    if freq is None:
        parts = period_words(label).split(" to ")
        return parts[0], parts[-1]
    p = pd.Period(str(label), freq=freq)
    return f"{MONTHS[p.start_time.month - 1]} {p.start_time.year}", f"{MONTHS[p.end_time.month - 1]} {p.end_time.year}"


def long_date(day: pd.Timestamp) -> str:
    """A day in words, as ONS bulletins write it: "31 March 2018".

    Examples
    --------
    >>> long_date(pd.Timestamp("2016-09-30"))
    '30 September 2016'
    """
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def kpi_period_column(cohort: pd.DataFrame, *, date: str | None, freq: str) -> tuple[Any, str | None]:
    """Each row's KPI period (text labels, categorical in time order) and the frequency it was cut by (None: the cohort's periods).

    With ``date`` naming a column of dates in the cohort, each row's period is
    its date cut by ``freq`` (the distinct dates are cut, not every row);
    otherwise the cohort's ``period`` column is used as it is. A cohort that
    already holds ``kpi_period`` (cells of people, :mod:`analysis.cells`)
    keeps it, with the frequency in ``attrs["kpi_freq"]``.

    Examples
    --------
    >>> c = pd.DataFrame({"d": pd.to_datetime(["2015-02-01", "2015-05-01", None]), "period": ["a", "a", "a"]})
    >>> labels, freq = kpi_period_column(c, date="d", freq="Q")
    >>> list(labels), freq
    (['2015Q1', '2015Q2', nan], 'Q')
    """
    if "kpi_period" in cohort.columns:
        return cohort["kpi_period"].array, cohort.attrs.get("kpi_freq")
    if date is not None and date in cohort.columns and pd.api.types.is_datetime64_any_dtype(cohort[date]):
        codes, periods = date_period_codes(cohort[date], freq)
        return pd.Categorical.from_codes(codes, categories=[str(p) for p in periods]), freq  # type: ignore[call-overload]  # pandas-stubs: codes as ndarray[Any]
    values = cohort["period"]
    if isinstance(values.dtype, pd.CategoricalDtype):  # the categories present, in their order, from the codes
        codes, categories = category_codes_present(values)
        return pd.Categorical.from_codes(codes, categories=categories), None  # type: ignore[call-overload]  # pandas-stubs: codes as ndarray[Any]
    levels = list(dict.fromkeys(values.astype(str)))
    present = set(values.astype(str))
    return pd.Categorical(values.astype(str), categories=[str(v) for v in levels if str(v) in present]), None
