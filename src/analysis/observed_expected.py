"""Observed against expected: rates, standardised ratios (O/E) and group-vs-rest comparisons.

Indirect standardisation as in docs/methods.md (expected rates and observed against expected): each person has a predicted
probability p_i of reoffending given their case mix; for a group,
``O = sum(y_i)``, ``E = sum(p_i)``, ``SR = O/E`` and the risk-adjusted rate is
``SR x reference rate``. The interval for O/E is PHE's (exact Poisson when
O < 10, Byar's otherwise, :func:`analysis.intervals.ratio_ci`); because the
outcome is binary, the binomial-variance z-score ``(O - E) / sqrt(sum p(1-p))``
and its interval are given as well. Every table names the interval used, and
which source produced E (``expected_source``).

Examples
--------
>>> import pandas as pd
>>> from analysis.observed_expected import observed_vs_expected
>>> cohort = pd.DataFrame({"area": ["A"] * 4 + ["B"] * 4,
...                        "reoffended": [1, 1, 0, 1, 0, 0, 1, 0],
...                        "expected": [0.5] * 8})
>>> t = observed_vs_expected(cohort, by="area", confidence=0.95, compare_rest=False)
>>> t[["group", "n", "observed", "expected", "ratio"]]
    group  n  observed  expected  ratio
0  area=A  4         3       2.0    1.5
1  area=B  4         1       2.0    0.5
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .expected import DEFAULT_EXPECTED_CASEMIX, check_comparison, expected_probabilities
from .intervals import confidence_levels, critical_value, proportion_ci, ratio_ci, two_proportion_arrays, two_proportion_frame
from .periods import rows_in_period
from .schema import OUTCOME

__all__ = [
    "EXPECTED_SOURCES",
    "observed_vs_expected",
    "compare_with_rest",
    "expected_from",
    "group_label",
    "resolve_expected",
    "significance_label",
    "OE_METHOD_CODES",
]

STATISTIC = "observed vs expected (O/E)"

OE_METHOD_CODES: dict[str, str] = {"auto": "oe_phe", "byar": "oe_byar", "exact": "oe_exact"}
"""The ``method`` code :func:`observed_vs_expected` writes for each interval method it is asked for (``method=``)."""

EXPECTED_SOURCES: tuple[str, ...] = ("supplied", "reference", "internal")
"""The three sources of expected probabilities (docs/methods.md: supplied, case mix of this period, adjusted baseline)."""


def expected_from(
    cohort: pd.DataFrame,
    *,
    source: str = "supplied",
    period: str | None = None,
    reference_period: str | None = None,
    casemix: Sequence[str] = DEFAULT_EXPECTED_CASEMIX,
    column: str = "expected",
    outcome: str = OUTCOME,
    trials: str | None = None,
) -> pd.Series:
    """Expected probabilities for one period from one of the three sources, described.

    A thin dispatcher: the models are fitted by
    :func:`analysis.expected_probabilities`.

    Parameters
    ----------
    cohort
        The cohort, with a ``period`` column when ``period`` is given.
    source
        ``"supplied"``: the column ``column`` supplied with the data;
        ``"reference"``: a case-mix model fitted on ``reference_period`` and
        applied to ``period`` (the MoJ adjusted baseline); ``"internal"``: a
        case-mix model fitted on ``period`` itself (internal
        standardisation: O/E is 1 overall and for every in-model grouping).
    period
        The period to score (default: every row).
    reference_period
        The period the model is fitted on (``source="reference"`` only).
    casemix
        Case-mix terms of the model; leave out anything you will compare by.
    column
        The supplied column (``source="supplied"``).
    outcome
        The 0/1 outcome column (with ``trials``: the people with the outcome in each cell).
    trials
        When the cohort is cells of people, the column counting each cell's
        people; the probabilities are then per cell (the same for each of its people).

    Returns
    -------
    pandas.Series
        Probabilities indexed like the scored rows, with
        ``attrs["description"]`` (shown as ``expected_source`` in every table)
        and ``attrs["source"]``.

    Examples
    --------
    >>> cohort = pd.DataFrame({"period": ["p1", "p1", "p2"], "expected": [0.2, 0.4, 0.5],
    ...                        "reoffended": [0, 1, 1]})
    >>> e = expected_from(cohort, source="supplied", period="p2")
    >>> e.tolist(), e.attrs["description"]
    ([0.5], "Expected supplied with the data (column 'expected'), for p2.")
    """
    if source not in EXPECTED_SOURCES:
        raise ValueError(f"source must be one of {list(EXPECTED_SOURCES)}, not {source!r}")
    # only the columns the model or the supplied values need are copied for the period's rows (5M rows: 100s of MiB)
    needed = {part.strip() for term in casemix for part in str(term).split(":")} | {outcome, "period", column, *([trials] if trials else [])}
    cohort = cohort[[c for c in cohort.columns if c in needed]]
    target = cohort if period is None else cohort[rows_in_period(cohort, period)]
    if target.empty:
        raise ValueError(f"no rows in period {period!r}")
    if source == "supplied":
        if column not in target:
            raise KeyError(f"the cohort has no column '{column}' of supplied expected probabilities")
        out = target[column].astype(float).rename("expected")
        out.attrs.update(
            {
                "source": "supplied",
                "internal": False,
                "description": f"Expected supplied with the data (column '{column}')"
                + (f", for {period}." if period is not None else "."),
            }
        )
        return out
    if source == "reference":
        if reference_period is None:
            raise ValueError("source='reference' needs reference_period")
        fit_on = cohort[rows_in_period(cohort, reference_period)]
        if fit_on.empty:
            raise ValueError(f"no rows in reference period {reference_period!r}")
    else:
        fit_on = target
    out = expected_probabilities(fit_on, target, casemix=list(casemix), outcome=outcome, trials=trials)
    out.attrs["source"] = source
    return out


def group_label(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Label each row's group as in the published tables, e.g. ``"area=Dudley;sex=Female"``.

    Examples
    --------
    >>> group_label(pd.DataFrame({"area": ["Dudley"], "sex": ["Female"]}), ["area", "sex"]).tolist()
    ['area=Dudley;sex=Female']
    """
    parts = [col + "=" + frame[col].astype(str) for col in by]
    label = parts[0]
    for part in parts[1:]:
        label = label + ";" + part
    return label.astype(str)


def resolve_expected(
    cohort: pd.DataFrame,
    *,
    expected: str | pd.Series | pd.DataFrame | Sequence[float] | np.ndarray = "expected",
    source: str | None = None,
) -> tuple[np.ndarray, str]:
    """Per-person expected probabilities and a plain description of where they came from.

    Parameters
    ----------
    cohort
        The cohort (one row per person).
    expected
        A column of ``cohort`` (the supplied expected probability); or
        probabilities aligned with the cohort (a Series aligned on the index,
        an array in row order, or a one-column DataFrame such as a model's
        predictions). A Series or DataFrame may describe itself in
        ``attrs["description"]`` (or ``attrs["source"]``).
    source
        Overrides the description.

    Returns
    -------
    tuple
        The probabilities (float array in cohort row order; NaN where a row
        has none, e.g. a case mix the model never saw) and the source.

    Examples
    --------
    >>> p, src = resolve_expected(pd.DataFrame({"expected": [0.2, 0.4]}))
    >>> p.tolist(), src
    ([0.2, 0.4], "supplied column 'expected'")
    """
    label: str | None = None
    if isinstance(expected, str):
        if expected not in cohort:
            raise KeyError(
                f"the cohort has no column '{expected}'; supply expected probabilities "
                "(e.g. from analysis.expected_probabilities) or name the column that holds them"
            )
        values: object = cohort[expected]
        label = f"supplied column '{expected}'"
    elif isinstance(expected, pd.DataFrame):
        label = expected.attrs.get("description") or expected.attrs.get("source")
        if "expected" in expected:
            values = expected["expected"]
        else:
            numeric = expected.select_dtypes("number")
            if numeric.shape[1] != 1:
                raise ValueError("a DataFrame of expected probabilities needs an 'expected' column or exactly one numeric column")
            values = numeric.iloc[:, 0]
    else:
        values = expected
    if isinstance(values, pd.Series):
        if label is None:
            label = values.attrs.get("description") or values.attrs.get("source")
        if label is None and values.name is not None:
            label = f"supplied probabilities ('{values.name}')"
        if values.index.equals(cohort.index) or (values.index.is_unique and cohort.index.isin(values.index).all()):
            p = values.reindex(cohort.index).to_numpy(dtype=float)
        elif len(values) == len(cohort):
            p = values.to_numpy(dtype=float)
        else:
            raise ValueError("expected probabilities cannot be aligned with the cohort (index or length differ)")
    else:
        p = np.asarray(values, dtype=float)
        if p.shape != (len(cohort),):
            raise ValueError(f"expected has {p.size} values but the cohort has {len(cohort)} rows")
    if np.isnan(p).all():
        raise ValueError("no row of the cohort has an expected probability (do the expected values belong to these rows?)")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("expected probabilities must lie in [0, 1] (give probabilities, not percentages)")
    return p, str(source or label or "supplied probabilities")


def significance_label(lower: np.ndarray | pd.Series, upper: np.ndarray | pd.Series, *, null: float = 1.0) -> np.ndarray:
    """"Higher than expected", "Lower than expected" or "Not significant" from an interval against ``null``.

    Examples
    --------
    >>> significance_label([1.02, 0.5, 0.7], [1.3, 0.9, 1.1]).tolist()
    ['Higher than expected', 'Lower than expected', 'Not significant']
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    return np.where(lower > null, "Higher than expected", np.where(upper < null, "Lower than expected", "Not significant"))


def _as_list(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _totals(cohort: pd.DataFrame, by: list[str], outcome: str, p: np.ndarray, trials: str | None = None,
            variance: str | None = None) -> pd.DataFrame:
    work = cohort[by].copy()
    work["_y"] = pd.to_numeric(cohort[outcome]).astype(float).to_numpy()
    n = np.ones(len(cohort)) if trials is None else pd.to_numeric(cohort[trials]).to_numpy(dtype=float)
    work["_n"] = n
    work["_p"] = n * p
    work["_v"] = n * (p * (1 - p) if variance is None else pd.to_numeric(cohort[variance]).to_numpy(dtype=float))
    keep = work[by].notna().all(axis=1) & work["_y"].notna()
    work = work[keep]
    grouped = work.groupby(by, observed=True, sort=True, dropna=True)
    table = grouped.agg(n=("_n", "sum"), observed=("_y", "sum"), expected=("_p", "sum"), variance=("_v", "sum"))
    table = table.reset_index()
    table = table[table["n"] > 0].reset_index(drop=True)
    table["n"] = table["n"].astype("int64")
    table["observed"] = table["observed"].round().astype("int64")
    return table


def compare_with_rest(
    cohort: pd.DataFrame,
    by: str | Sequence[str],
    *,
    outcome: str = OUTCOME,
    confidence: float | Iterable[float] = (0.95, 0.998),
) -> pd.DataFrame:
    """Compare each group's observed rate with the rest of the cohort (e.g. flag vs no flag).

    Uses :func:`analysis.intervals.compare_proportions`: the difference in
    rates with Newcombe's hybrid score interval, the rate ratio (Katz log
    interval) and the odds ratio (Woolf log interval), with a pooled z-test.

    Parameters
    ----------
    cohort
        One row per person, with the ``by`` columns and the 0/1 outcome.
    by
        Column(s) defining the groups; "the rest" is everyone else with the
        ``by`` columns recorded.
    outcome
        The 0/1 outcome column.
    confidence
        One level or several.

    Returns
    -------
    pandas.DataFrame
        One row per group, statistic and level: the ``by`` columns, ``group``,
        ``rest``, ``statistic`` (difference, rate_ratio, odds_ratio),
        ``estimate``, ``lower``, ``upper``, ``p_value``, ``method``,
        ``confidence`` and the counts ``x1``, ``n1`` (group), ``x2``, ``n2`` (rest).

    Examples
    --------
    >>> cohort = pd.DataFrame({"homeless": [1] * 10 + [0] * 10,
    ...                        "reoffended": [1] * 8 + [0] * 2 + [1] * 4 + [0] * 6})
    >>> t = compare_with_rest(cohort, "homeless", confidence=0.95)
    >>> t.query("homeless == 1 and statistic == 'difference'")["estimate"].round(2).tolist()
    [0.4]
    """
    by = _as_list(by)
    table = _totals(cohort, by, outcome, np.zeros(len(cohort)))
    total_n, total_x = int(table["n"].sum()), int(table["observed"].sum())
    labels = group_label(table, by)
    table = table[table["n"] < total_n]  # a group of everyone has no rest
    if table.empty:
        raise ValueError("there is only one group, so there is no rest to compare with")
    x1, n1 = table["observed"].to_numpy(dtype=np.int64), table["n"].to_numpy(dtype=np.int64)
    frames = []
    for level in confidence_levels(confidence):
        comp = two_proportion_frame(x1, n1, total_x - x1, total_n - n1, confidence=level)
        pairs = comp.pop("pair").to_numpy()
        for col in by:
            comp[col] = table[col].to_numpy()[pairs]
        comp["group"] = np.asarray([labels[i] for i in table.index], dtype=object)[pairs]
        comp["rest"] = "rest"
        frames.append(comp)
    out = pd.concat(frames, ignore_index=True)
    first = [*by, "group", "rest", "statistic", "estimate", "lower", "upper", "p_value", "z", "method", "confidence", "x1", "n1", "x2", "n2"]
    out = out[first]
    order = {"difference": 0, "rate_ratio": 1, "odds_ratio": 2}
    out["_s"] = out["statistic"].map(order)
    out = out.sort_values(["group", "confidence", "_s"], kind="stable").drop(columns="_s").reset_index(drop=True)
    for col in by:
        if isinstance(cohort[col].dtype, pd.CategoricalDtype):
            out[col] = pd.Categorical(out[col], categories=cohort[col].cat.categories)
    return out


def observed_vs_expected(
    cohort: pd.DataFrame,
    by: str | Sequence[str],
    *,
    expected: str | pd.Series | pd.DataFrame | Sequence[float] | np.ndarray = "expected",
    outcome: str = OUTCOME,
    confidence: float | Iterable[float] = (0.95, 0.998),
    reference_rate: float | None = None,
    method: str = "auto",
    compare_rest: bool = True,
    source: str | None = None,
    trials: str | None = None,
    variance: str | None = None,
) -> pd.DataFrame:
    """Observed against expected reoffending for each group, with intervals and a significance label.

    For each group: n, observed (O) and expected (E = sum of p_i) counts,
    observed rate (Wilson interval) and expected rate; the standardised ratio
    O/E with PHE's interval (exact Poisson when O < 10, Byar's otherwise);
    the binomial-variance z-score ``(O - E) / sqrt(sum p(1-p))`` with its
    two-sided p-value and interval ``(O +/- z_a sqrt(sum p(1-p))) / E``; the
    risk-adjusted rate (O/E x reference rate) with the O/E interval carried
    over; and a significance label from the O/E interval. Optionally the
    group against the rest of the cohort (difference with Newcombe's
    interval, rate ratio and odds ratio; see :func:`compare_with_rest`).

    Parameters
    ----------
    cohort
        One row per person: the ``by`` columns, the 0/1 ``outcome`` and,
        unless given separately, the expected probability.
    by
        Column(s) defining the groups (e.g. ``"area"``, ``["area", "sex"]``,
        a flag such as ``"homeless"``).
    expected
        Where E comes from (see :func:`resolve_expected`): the name of a
        column of supplied probabilities (default ``"expected"``), or
        probabilities from a case-mix model (e.g.
        ``analysis.expected_probabilities``), aligned with the cohort.
    outcome
        The 0/1 outcome column.
    confidence
        One level or several (default 95% and 99.8%); one row per group and level.
    reference_rate
        Rate that O/E is multiplied by for the risk-adjusted rate; default
        the cohort's overall observed rate.
    method
        Interval for O/E (as :func:`analysis.ratio_ci`): ``"auto"`` (PHE),
        ``"byar"`` or ``"exact"``; the ``ratio_method`` column says which
        each row used.
    compare_rest
        Add the group-vs-rest comparison columns.
    source
        Description of the expected source, overriding the default.
    trials
        When the rows are cells of people with the same expected probability
        (e.g. :func:`analysis.outofcore.cohort_cells` scored by
        ``expected_probabilities(..., trials="n")``), the column counting the
        people in each cell; ``outcome`` then counts those who reoffended, E
        is the sum of ``trials x p`` and the variance of ``trials x p(1-p)``:
        the table is the one from the people.
    variance
        With ``trials``, when the people of a cell had different probabilities
        (supplied per person, then averaged per cell: see :mod:`analysis.cells`),
        the column holding the mean of their ``p(1-p)``, so that the variance is
        the people's ``sum p(1-p)``; default ``p(1-p)`` of the cell's ``p``.

    Returns
    -------
    pandas.DataFrame
        One row per group and confidence level, sorted by group then level.
        Columns: the ``by`` columns, ``group`` (e.g. "area=Dudley"), ``n``,
        ``observed``, ``expected``, ``observed_rate`` (+ ``_lower``/``_upper``,
        Wilson), ``expected_rate``, ``ratio`` (+ ``_lower``/``_upper``),
        ``ratio_method`` (the code of the interval for O on that row:
        ``"exact"``, ``"byar"`` or ``"not_computed"``, as :func:`analysis.ratio_ci`),
        ``variance`` (sum p(1-p)), ``z``, ``p_value``,
        ``z_ratio_lower``/``z_ratio_upper`` (binomial-variance interval for
        O/E), ``reference_rate``, ``adjusted_rate`` (+ ``_lower``/``_upper``),
        ``significance``; with ``compare_rest``: ``rest_n``,
        ``rest_observed``, ``rest_rate``, ``difference`` (+ ``_lower``/``_upper``,
        Newcombe), ``rate_ratio`` (+ interval), ``odds_ratio`` (+ interval),
        ``p_value_vs_rest``; then ``statistic``, ``reference_rate_from``
        (``"cohort"``: the cohort's overall observed rate, or ``"supplied"``),
        ``method`` (:data:`OE_METHOD_CODES`: ``"oe_phe"``, ``"oe_byar"`` or
        ``"oe_exact"``; with it the z and z interval use the binomial variance,
        the rate interval is Wilson's and the comparison with the rest
        Newcombe's, Katz's and Woolf's), ``confidence`` and ``expected_source``.

    Examples
    --------
    >>> cohort = pd.DataFrame({"area": ["A"] * 500, "reoffended": [1] * 230 + [0] * 270,
    ...                        "expected": [0.3958] * 500})
    >>> t = observed_vs_expected(cohort, "area", confidence=0.95, compare_rest=False)
    >>> t[["ratio", "ratio_lower", "ratio_upper"]].round(4).values.tolist()
    [[1.1622, 1.0168, 1.3225]]
    """
    by = _as_list(by)
    missing = [c for c in [*by, outcome, *([trials] if trials else [])] if c not in cohort]
    if missing:
        raise KeyError(f"the cohort has no column(s) {missing}")
    if isinstance(expected, pd.Series) and expected.attrs.get("internal"):
        check_comparison(expected, by)
    p, src = resolve_expected(cohort, expected=expected, source=source)
    unscored = np.isnan(p)
    if unscored.any():
        left = int(unscored.sum()) if trials is None else int(cohort.loc[unscored, trials].sum())  # before the rows go
        cohort = cohort.loc[~unscored]
        p = p[~unscored]
        src += f" ({left:,} {'rows' if trials is None else 'people'} without an expected probability left out)"
    if variance is not None and trials is None:
        raise ValueError("variance= is for cells of people: give trials= too")
    table = _totals(cohort, by, outcome, p, trials, variance)
    if table.empty:
        raise ValueError("no rows with the grouping columns recorded")
    table.insert(len(by), "group", group_label(table, by))
    total_n, total_o = int(table["n"].sum()), int(table["observed"].sum())
    ref = float(total_o / total_n) if reference_rate is None else float(reference_rate)
    ref_from = "cohort" if reference_rate is None else "supplied"
    levels = confidence_levels(confidence)

    frames = []
    for level in levels:
        t = table.copy()
        z_crit = critical_value(level)
        rate = proportion_ci(t["observed"].to_numpy(), t["n"].to_numpy(), method="wilson", confidence=level)
        ratio = ratio_ci(t["observed"].to_numpy(), t["expected"].to_numpy(), confidence=level, method=method)
        t["observed_rate"] = t["observed"] / t["n"]
        t["observed_rate_lower"] = rate["lower"].to_numpy()
        t["observed_rate_upper"] = rate["upper"].to_numpy()
        t["expected_rate"] = t["expected"] / t["n"]
        t["ratio"] = ratio["estimate"].to_numpy()
        t["ratio_lower"] = ratio["lower"].to_numpy()
        t["ratio_upper"] = ratio["upper"].to_numpy()
        t["ratio_method"] = ratio["method"].to_numpy()
        sd = np.sqrt(t["variance"].to_numpy())
        with np.errstate(divide="ignore", invalid="ignore"):
            t["z"] = np.where(sd > 0, (t["observed"] - t["expected"]) / sd, np.nan)
        t["p_value"] = 2 * stats.norm.sf(np.abs(t["z"]))
        t["z_ratio_lower"] = np.maximum(t["observed"] - z_crit * sd, 0) / t["expected"]
        t["z_ratio_upper"] = (t["observed"] + z_crit * sd) / t["expected"]
        t["reference_rate"] = ref
        t["adjusted_rate"] = t["ratio"] * ref
        t["adjusted_rate_lower"] = t["ratio_lower"] * ref
        t["adjusted_rate_upper"] = t["ratio_upper"] * ref
        t["significance"] = significance_label(t["ratio_lower"], t["ratio_upper"])
        if compare_rest:
            t = _add_rest(t, total_o, total_n, level)
        t["statistic"] = STATISTIC
        t["reference_rate_from"] = ref_from
        t["method"] = OE_METHOD_CODES[method]
        t["confidence"] = level
        t["expected_source"] = src
        t["_order"] = np.arange(len(t))
        frames.append(t)
    out = pd.concat(frames, ignore_index=True).sort_values(["_order", "confidence"], kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    for col in by:
        if isinstance(cohort[col].dtype, pd.CategoricalDtype):
            out[col] = pd.Categorical(out[col], categories=cohort[col].cat.categories)
    out.attrs["expected_source"] = src
    return out


def _add_rest(t: pd.DataFrame, total_o: int, total_n: int, level: float) -> pd.DataFrame:
    rest_n = total_n - t["n"].to_numpy()
    rest_o = total_o - t["observed"].to_numpy()
    comp = two_proportion_arrays(t["observed"].to_numpy(), t["n"].to_numpy(), rest_o, rest_n, confidence=level)
    t["rest_n"] = rest_n
    t["rest_observed"] = rest_o
    with np.errstate(divide="ignore", invalid="ignore"):
        t["rest_rate"] = np.where(rest_n > 0, rest_o / np.maximum(rest_n, 1), np.nan)
    for name in ("difference", "difference_lower", "difference_upper", "rate_ratio", "rate_ratio_lower", "rate_ratio_upper",
                 "odds_ratio", "odds_ratio_lower", "odds_ratio_upper"):
        t[name] = comp[name]
    t["p_value_vs_rest"] = comp["p_value"]
    return t
