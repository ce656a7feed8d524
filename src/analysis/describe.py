"""Describe a loaded cohort: flag prevalence, co-occurrence, rates by group, data quality.

Every table is tidy and carries its counts; rates and prevalences carry a
Wilson interval with ``statistic``, ``method`` and ``confidence`` columns.

Examples
--------
>>> import pandas as pd
>>> from analysis.describe import rates_by
>>> toy = pd.DataFrame({"area": ["A", "A", "B", "B"], "reoffended": [1, 0, 1, 1]})
>>> rates_by(toy, "area")[["area", "n", "reoffenders", "rate"]]
  area  n  reoffenders  rate
0    A  2            1   0.5
1    B  2            2   1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .intervals import proportion_ci
from .schema import FLAG_LABELS, OUTCOME, flags_in

__all__ = ["flag_prevalence", "flag_cooccurrence", "flag_combinations", "rates_by", "rates_by_flag", "data_quality"]


def _with_ci(counts: pd.DataFrame, x: str, n: str, statistic: str, confidence: float) -> pd.DataFrame:
    ci = proportion_ci(counts[x].to_numpy(), counts[n].to_numpy(), method="wilson", confidence=confidence)
    out = counts.reset_index(drop=True).copy()
    out["lower"] = ci["lower"].to_numpy()
    out["upper"] = ci["upper"].to_numpy()
    out["statistic"] = statistic
    out["method"] = "wilson"
    out["confidence"] = confidence
    return out


def _flags(cohort: pd.DataFrame, flags: Sequence[str] | None) -> list[str]:
    """The flags asked for, or every flag the cohort holds (the six present, then its extras)."""
    if flags is not None:
        return list(flags)
    return flags_in(cohort, extra=cohort.attrs.get("flags", ()))


def _people(cohort: pd.DataFrame, trials: str | None) -> pd.Series:
    """How many people each row stands for: 1 for a person, the ``trials`` column for a cell."""
    if trials is None:
        return pd.Series(1, index=cohort.index, dtype="int64")
    return cohort[trials].astype("int64")


def _label(flag: str, labels: dict[str, str] | None) -> str:
    return (labels or {}).get(flag) or FLAG_LABELS.get(flag, flag)


def _counts(cohort: pd.DataFrame, keys: list[str], trials: str | None) -> pd.DataFrame:
    """People (``n``) and people with the outcome (``reoffenders``) by ``keys``, from rows or from cells."""
    grouped = cohort.groupby(keys, observed=True, sort=True)
    if trials is None:
        return grouped[OUTCOME].agg(["size", "sum"]).set_axis(["n", "reoffenders"], axis=1)
    return grouped[[trials, OUTCOME]].sum().rename(columns={trials: "n", OUTCOME: "reoffenders"}).astype("int64")


def flag_prevalence(cohort: pd.DataFrame, *, flags: Sequence[str] | None = None, confidence: float = 0.95,
                    labels: dict[str, str] | None = None, trials: str | None = None) -> pd.DataFrame:
    """Prevalence of each flag, among the people whose flag is recorded.

    ``flags`` defaults to every flag the cohort holds; ``labels`` maps a flag to its label
    (default: the six flags' labels, else the name). ``trials`` names the column
    counting the people of each row when the cohort is given as cells (one row per
    pattern of values, see :mod:`analysis.cells`); by default each row is a person.

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``label``, ``n`` (recorded), ``flagged``, ``not_recorded``,
        ``prevalence``, ``lower``, ``upper``, ``statistic``, ``method``, ``confidence``.

    Examples
    --------
    Two flags on four people: ``a`` is set for 2 of 4, ``b`` for 1 of 4.

    >>> import pandas as pd
    >>> toy = pd.DataFrame({"a": [1, 1, 0, 0], "b": [1, 0, 0, 0], "reoffended": [1, 1, 0, 1]})
    >>> flag_prevalence(toy, flags=["a", "b"])[["flag", "n", "flagged", "prevalence"]]
      flag  n  flagged  prevalence
    0    a  4        2        0.50
    1    b  4        1        0.25
    """
    not_recorded = cohort.attrs.get("not_recorded", {})
    rows = []
    people = _people(cohort, trials)
    for flag in _flags(cohort, flags):
        values = cohort[flag]
        rows.append(
            {
                "flag": flag,
                "label": _label(flag, labels),
                "n": int(people[values.notna()].sum()),
                "flagged": int(people[values == 1].sum()),
                "not_recorded": int(not_recorded.get(flag, people[values.isna()].sum())),
            }
        )
    counts = pd.DataFrame(rows)
    counts["prevalence"] = counts["flagged"] / counts["n"]
    return _with_ci(counts, "flagged", "n", "prevalence", confidence)


def flag_cooccurrence(cohort: pd.DataFrame, *, flags: Sequence[str] | None = None, measure: str = "conditional") -> pd.DataFrame:
    """How flags occur together, as a square table (rows and columns are flags).

    Parameters
    ----------
    measure
        ``"conditional"``: share of people with the row flag who also have the
        column flag (the diagonal is 1); ``"joint"``: share of the whole cohort
        with both; ``"phi"``: the phi (Pearson) correlation of the two flags.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"a": [1, 1, 0, 0], "b": [1, 0, 0, 0]})
    >>> float(flag_cooccurrence(f, flags=["a", "b"]).loc["b", "a"])
    1.0
    """
    data = cohort[_flags(cohort, flags)].astype(float)
    if measure == "phi":
        return data.corr()
    both = data.T @ data  # counts with both flags (NaN-free data assumed)
    if measure == "joint":
        return both / len(data)
    if measure == "conditional":
        return both.div(np.diag(both), axis=0)
    raise ValueError("measure must be 'conditional', 'joint' or 'phi'")


def flag_combinations(cohort: pd.DataFrame, *, flags: Sequence[str] | None = None, top: int | None = 15,
                      labels: dict[str, str] | None = None, trials: str | None = None) -> pd.DataFrame:
    """Counts and reoffending rates of each combination of flags (an UpSet-style table).

    ``trials``: the column counting each row's people when the cohort is given as cells
    (the outcome column then counts the people with the outcome).

    Returns
    -------
    pandas.DataFrame
        One row per combination present, largest first: a 0/1 column per flag,
        ``n_flags``, ``combination`` (labels joined by " + ", or "none"), ``n``,
        ``share`` and ``rate`` (proportion reoffending).

    Examples
    --------
    Of four people, two have neither flag (one of them reoffends), one has ``a`` only
    and one both; each of the last two reoffends.

    >>> import pandas as pd
    >>> toy = pd.DataFrame({"a": [1, 1, 0, 0], "b": [1, 0, 0, 0], "reoffended": [1, 1, 0, 1]})
    >>> flag_combinations(toy, flags=["a", "b"])[["combination", "n", "share", "rate"]]
      combination  n  share  rate
    0        none  2   0.50   0.5
    1           a  1   0.25   1.0
    2       a + b  1   0.25   1.0
    """
    keys = _flags(cohort, flags)
    grouped = _counts(cohort, keys, trials).reset_index()
    grouped["n_flags"] = grouped[keys].sum(axis=1).astype(int)
    grouped["combination"] = [
        " + ".join(_label(f, labels) for f in keys if row[f] == 1) or "none" for _, row in grouped.iterrows()
    ]
    grouped["share"] = grouped["n"] / grouped["n"].sum()
    grouped["rate"] = grouped["reoffenders"] / grouped["n"]
    grouped = grouped.sort_values(["n", "combination"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return grouped.head(top) if top else grouped


def rates_by(cohort: pd.DataFrame, by: str | Sequence[str], *, confidence: float = 0.95, trials: str | None = None) -> pd.DataFrame:
    """Proven reoffending rate by group, with Wilson intervals.

    Parameters
    ----------
    by
        One column or several; groups are listed in category order.
    trials
        The column counting each row's people when the cohort is given as cells
        (the outcome column then counts the people with the outcome); by default
        each row is a person.

    Returns
    -------
    pandas.DataFrame
        The group columns, ``n``, ``reoffenders``, ``rate``, ``lower``, ``upper``,
        ``statistic``, ``method``, ``confidence``.

    Examples
    --------
    Group A has 1 reoffender of 2. Its Wilson 95% interval is centred on
    (1 + 1.96**2/2) / (2 + 1.96**2) = 0.5 with half-width
    1.96 * sqrt(0.25/2 + 1.96**2/16) / (1 + 1.96**2/2) = 0.405, so 0.095 to 0.905.

    >>> import pandas as pd
    >>> toy = pd.DataFrame({"area": ["A", "A", "B", "B"], "reoffended": [1, 0, 1, 1]})
    >>> rates_by(toy, "area")[["area", "n", "reoffenders", "rate", "lower", "upper"]].round(3)
      area  n  reoffenders  rate  lower  upper
    0    A  2            1   0.5  0.095  0.905
    1    B  2            2   1.0  0.342  1.000
    """
    keys = [by] if isinstance(by, str) else list(by)
    counts = _counts(cohort, keys, trials).reset_index()
    counts = counts[counts["n"] > 0]
    counts["reoffenders"] = counts["reoffenders"].astype(int)
    counts["rate"] = counts["reoffenders"] / counts["n"]
    return _with_ci(counts, "reoffenders", "n", "reoffending rate", confidence)


def rates_by_flag(cohort: pd.DataFrame, *, flags: Sequence[str] | None = None, confidence: float = 0.95,
                  labels: dict[str, str] | None = None, trials: str | None = None) -> pd.DataFrame:
    """Reoffending rate with and without each flag (people whose flag is recorded).

    ``trials``: as in :func:`rates_by`.

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``label``, ``value`` (1 flagged, 0 not), then the columns of :func:`rates_by`.

    Examples
    --------
    Without flag ``a`` one of two people reoffends; with it, both do.

    >>> import pandas as pd
    >>> toy = pd.DataFrame({"a": [1, 1, 0, 0], "reoffended": [1, 1, 0, 1]})
    >>> rates_by_flag(toy, flags=["a"])[["flag", "value", "n", "reoffenders", "rate"]]
      flag  value  n  reoffenders  rate
    0    a      0  2            1   0.5
    1    a      1  2            2   1.0
    """
    frames = []
    for flag in _flags(cohort, flags):
        recorded = cohort[cohort[flag].notna()]
        table = rates_by(recorded, flag, confidence=confidence, trials=trials).rename(columns={flag: "value"})
        table.insert(0, "label", _label(flag, labels))
        table.insert(0, "flag", flag)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype(int)
    return out


def data_quality(cohort: pd.DataFrame) -> pd.DataFrame:
    """One row per column of a loaded cohort: type, missing or not-recorded rows, distinct values, range.

    Flags report the rows that were *not recorded* in the source file and the
    policy applied to them (``cohort.attrs["missing_flags"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> toy = pd.DataFrame({"age": [20, 35, None], "area": pd.Categorical(["A", "B", "A"])})
    >>> data_quality(toy)[["column", "type", "rows", "missing", "distinct", "min", "max"]]
      column      type  rows  missing  distinct   min   max
    0    age   float64     3        1         2  20.0  35.0
    1   area  category     3        0         2   NaN   NaN
    """
    not_recorded = cohort.attrs.get("not_recorded", {})
    policy = cohort.attrs.get("missing_flags", "")
    rows = []
    for column in cohort.columns:
        values = cohort[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        row = {
            "column": column,
            "type": "category" if isinstance(values.dtype, pd.CategoricalDtype) else str(values.dtype),
            "rows": int(len(values)),
            "missing": int(values.isna().sum()),
            "not_recorded": int(not_recorded.get(column, 0)) if column in not_recorded else 0,
            "policy": policy if column in not_recorded else "",
            "distinct": int(values.nunique(dropna=True)),
            "min": float(values.min()) if numeric and values.notna().any() else np.nan,
            "max": float(values.max()) if numeric and values.notna().any() else np.nan,
        }
        rows.append(row)
    return pd.DataFrame(rows)


