"""A study's people as cells: one row per pattern of values, with the people it counts.

Every statistic the papers 01 to 06 report depends on a person only through
their values of the period, the categories (area, sex, age band, offence
group), the flags, the treatment, the study's ``[model]`` columns, the
``[kpi]`` period of their date, the outcome and the supplied expected
probability, so it can be computed from counts of people per pattern of those
values (docs/methods.md, "Cells of people"). The report computes every result
once this way: :func:`study_cells` counts a loaded study's people (pandas), and
:func:`analysis.outofcore.open_study_cells` an extract too large for memory
(DuckDB).

A cells frame holds the key columns, ``n`` (people), the outcome column
(people with the outcome) and, when the extract supplies it, ``expected``:
the mean expected probability of the cell's people (its sum divided by ``n``),
so that ``n x expected`` is the cell's expected count, and ``expected_variance``, the
mean of their ``p(1-p)`` (the binomial variance of O/E needs the people's, not the mean's). ``StudyData.trials``
names the count column (``"n"``).

Examples
--------
>>> import pandas as pd
>>> from analysis.cells import people_to_cells
>>> people = pd.DataFrame({"period": ["2016"] * 4, "dv": [1, 1, 0, 0], "reoffended": [1, 0, 0, 0],
...                        "expected": [0.5, 0.3, 0.2, 0.2]})
>>> people_to_cells(people, keys=["period", "dv"])
  period  dv  n  reoffended  expected  expected_variance
0   2016   0  2           0       0.2               0.16
1   2016   1  2           1       0.4               0.23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cohort import StudyData
from .periods import kpi_period_column
from .schema import CATEGORICAL, OUTCOME

__all__ = ["people_to_cells", "people_from_cells", "study_cells", "cell_keys_of", "TRIALS"]

TRIALS = "n"
"""The column of a cells frame counting its people."""


def cell_keys_of(cohort: pd.DataFrame, *, flags: Sequence[str], treatment: str | None = None,
                 model_columns: Sequence[str] = ()) -> list[str]:
    """The columns whose values make a cell: the period, the categories, the flags, the treatment and the model's columns present.

    ``model_columns`` are the study's ``[model] adjust`` and ``expected`` case
    mix (an interaction ``a:b`` names two); a numeric one such as a risk score
    makes as many cells as it has values.

    Examples
    --------
    >>> import pandas as pd
    >>> columns = ["person_id", "area", "period", "dv", "age", "risk_score", "reoffended"]
    >>> cell_keys_of(pd.DataFrame(columns=columns), flags=["dv"], model_columns=["area", "risk_score"])
    ['period', 'area', 'dv', 'risk_score']
    """
    keys = [c for c in ("period", *CATEGORICAL) if c in cohort.columns]
    keys += [f for f in flags if f in cohort.columns]
    if treatment is not None and treatment in cohort.columns:
        keys.append(treatment)
    parts = [part.strip() for term in model_columns for part in str(term).split(":")]
    keys += [c for c in parts if c in cohort.columns and c not in (OUTCOME, "expected")]
    return list(dict.fromkeys(keys))


def people_to_cells(
    cohort: pd.DataFrame,
    *,
    keys: Sequence[str],
    outcome: str = OUTCOME,
    expected: str | None = "expected",
    trials: str = TRIALS,
) -> pd.DataFrame:
    """Count the people of each pattern of ``keys``: ``n``, those with the outcome, and their mean expected probability.

    Parameters
    ----------
    cohort
        One row per person.
    keys
        The columns that make a cell (missing values are a value of their own).
    outcome
        The 0/1 outcome; in the result, the number of people with it.
    expected
        A column of expected probabilities to carry as each cell's mean (left
        out when the cohort does not have it, or when None), with the mean of
        ``p(1-p)`` as ``<expected>_variance`` (the binomial variance of O/E).
    trials
        The name of the count column.

    Returns
    -------
    pandas.DataFrame
        The key columns (with their types), ``trials``, ``outcome`` and, if
        carried, the expected column and its ``_variance``; sorted by the keys. ``attrs`` are the cohort's.

    Examples
    --------
    Two of four people have the flag; one of them reoffended:

    >>> import pandas as pd
    >>> people = pd.DataFrame({"dv": [1, 1, 0, 0], "reoffended": [1, 0, 0, 0]})
    >>> people_to_cells(people, keys=["dv"]).values.tolist()
    [[0, 2, 0], [1, 2, 1]]
    """
    keys = list(keys)
    inverse, first = _cell_of_each_row(cohort, keys)
    size = first.shape[0]
    out = pd.DataFrame({k: cohort[k].iloc[first].reset_index(drop=True) for k in keys}, index=pd.RangeIndex(size))
    out[trials] = np.bincount(inverse, minlength=size).astype("int64")
    out[outcome] = np.bincount(inverse, weights=cohort[outcome].to_numpy(dtype=float), minlength=size).round().astype("int64")
    if expected is not None and expected in cohort.columns:
        p = cohort[expected].to_numpy(dtype=float)
        out[expected] = np.bincount(inverse, weights=p, minlength=size) / out[trials].to_numpy()
        out[f"{expected}_variance"] = np.bincount(inverse, weights=p * (1 - p), minlength=size) / out[trials].to_numpy()
    out.attrs.update(cohort.attrs)
    return out


def _cell_of_each_row(cohort: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cell (0, 1, ... in the order of the keys' sorted values, a missing value after the others) and each cell's first row.

    The keys' codes are combined into one integer per row, compressed
    whenever the next key could overflow it, so the memory is a few arrays
    of the rows whatever the number of keys (a group-by of many keys holds
    one array of codes per key).
    """
    rows = len(cohort)
    cell = np.zeros(rows, dtype=np.int64)
    bound = 1
    for key in keys:
        values = cohort[key]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy().astype(np.int64)
            levels = len(values.cat.categories)
        else:
            codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
            codes = codes.astype(np.int64)
            levels = len(uniques)
        codes[codes < 0] = levels  # missing after every value, as a sorted group-by that keeps them puts it
        if bound * (levels + 1) >= 2 ** 62:
            _, cell = np.unique(cell, return_inverse=True)
            bound = int(cell.max()) + 1 if rows else 1
        cell = cell * (levels + 1) + codes
        bound *= levels + 1
    _, inverse = np.unique(cell, return_inverse=True)
    inverse = inverse.reshape(-1)
    size = int(inverse.max()) + 1 if rows else 0
    first = np.full(size, rows, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(rows, dtype=np.int64))
    return inverse, first


def people_from_cells(cells: pd.DataFrame, *, trials: str = TRIALS, outcome: str = OUTCOME, seed: int | None = 0) -> pd.DataFrame:
    """The people counted in cells, one row each: each cell's values repeated for its ``n`` people, ``outcome`` of them with it.

    People of one cell differ in nothing the cells hold but the outcome, so
    this is the same people in another order: a random one (``seed``), as if
    the file's rows had been shuffled; with ``seed=None``, cell by cell, those
    with the outcome first. A method that takes people one by one in row order
    (greedy matching) needs the random order: sorted by cell, the people
    matched last (and so left without a match) would all come from the last
    cells. Used for paper 07 out of core; ``expected`` and its variance,
    means per cell, are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"dv": [0, 1], "n": [2, 3], "reoffended": [1, 2]})
    >>> people_from_cells(cells, seed=None).values.tolist()
    [[0, 1], [0, 0], [1, 1], [1, 1], [1, 0]]
    >>> people_from_cells(cells).groupby("dv")["reoffended"].agg(["size", "sum"]).values.tolist()
    [[2, 1], [3, 2]]
    """
    n = cells[trials].to_numpy(dtype=np.int64)
    events = cells[outcome].to_numpy(dtype=np.int64)
    # one integer per person, 2 x cell + outcome: with the outcome first in each cell, then shuffled in place (at 25
    # million people, one array of 100 MiB rather than a permutation and copies of each)
    kind: type[np.signedinteger[Any]] = np.int32 if 2 * len(cells) + 1 < 2**31 else np.int64
    code: np.ndarray[Any, np.dtype[np.signedinteger[Any]]] = np.repeat(2 * np.arange(len(cells), dtype=kind), n)
    starts = np.cumsum(n) - n  # the first person of each cell; its first ``events`` people have the outcome
    with_outcome = np.repeat(starts - (np.cumsum(events) - events), events) + np.arange(int(events.sum()), dtype=np.int64)
    code[with_outcome] += 1
    del with_outcome
    if seed is not None:  # the people in a random order: a shuffled file
        np.random.default_rng(seed).shuffle(code)
    keys = [c for c in cells.columns if c not in (trials, outcome, "expected", "expected_variance")]
    out = pd.DataFrame(index=pd.RangeIndex(code.size))
    cell = code >> 1
    for k in keys:  # column by column, each as compact as the cells hold it (a category's codes, an int8 flag)
        values = cells[k]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[k] = pd.Categorical.from_codes(values.cat.codes.to_numpy()[cell], dtype=values.dtype)
        else:
            out[k] = values.array.take(cell)
    del cell
    out[outcome] = (code & 1).astype(np.int8)
    out.attrs.update(cells.attrs)
    return out


def study_cells(data: StudyData) -> StudyData:
    """The same study with its people counted in cells (``trials = "n"``), as the out-of-core route gives it.

    Examples
    --------
    >>> import analysis
    >>> data = analysis.open_study()
    >>> cells = study_cells(data)
    >>> cells.trials, int(cells.cohort["n"].sum()) == len(data.cohort), len(cells.cohort) < len(data.cohort)
    ('n', True, True)
    """
    if data.trials is not None:
        return data
    cohort = data.cohort
    kpi = data.study.kpi
    kpi_freq = None
    if kpi is not None:  # people counted by their KPI period too (paper 06), never by their date
        labels, kpi_freq = kpi_period_column(cohort, date=kpi.date, freq=kpi.freq)
        cohort = cohort.assign(kpi_period=labels)
    impact = data.study.impact
    treatment = impact.treatment if impact is not None else None
    study = data.study
    model_columns = [*(study.adjust or ()), *(study.expected_casemix or ()), *study.interactions,
                     *(impact.covariates or () if impact is not None else ())]
    keys = cell_keys_of(cohort, flags=cohort.attrs.get("flags", data.flags), treatment=treatment, model_columns=model_columns)
    if kpi is not None:
        keys.append("kpi_period")
    cells = people_to_cells(cohort, keys=keys)
    if kpi is not None:
        cells.attrs["kpi_freq"] = kpi_freq
    return StudyData(data.study, cells, data.quality, trials=TRIALS)
