"""Confidence intervals for proportions and for comparing two proportions.

Small functions in the manner of ``statsmodels.stats.proportion``: a documented
``method`` argument, results as tidy DataFrames that carry the counts, the
``statistic``, the ``method`` and the ``confidence``; rounding is left to the
display. The arithmetic is done by statsmodels; these wrappers vectorise it
and label it.

Examples
--------
>>> from analysis.intervals import proportion_ci
>>> proportion_ci(230, 500, confidence=0.95)[["lower", "upper"]].round(5).values.tolist()
[[0.41679, 0.50382]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import (
    proportion_confint,
)

__all__ = [
    "one_confidence_level", "proportion_ci", "compare_proportions", "two_proportion_frame", "TWO_PROPORTION_METHODS", "two_proportion_arrays", "ratio_ci", "PROPORTION_METHODS", "RATIO_METHODS"]

PROPORTION_METHODS: dict[str, str] = {
    "wilson": "wilson",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
}
"""Public method names and the statsmodels ``proportion_confint`` method behind each."""


def confidence_levels(confidence: float | Iterable[float], allow_one: bool = False) -> list[float]:
    """Confidence levels as a list of floats, each checked to lie in (0, 1), or (0, 1] when ``allow_one``.

    Every function with a ``confidence`` argument takes one level or several
    through this, so a bad level gets the same message everywhere.

    Examples
    --------
    >>> confidence_levels(0.95), confidence_levels((0.95, 0.998))
    ([0.95], [0.95, 0.998])
    >>> confidence_levels(95)
    Traceback (most recent call last):
    ValueError: confidence must be between 0 and 1 (e.g. 0.95), not 95.0
    """
    # np.isscalar narrows to numpy's own scalar union, not to float or Iterable[float]: the casts say which branch holds which
    levels = [float(cast(float, confidence))] if np.isscalar(confidence) else [float(c) for c in cast(Iterable[float], confidence)]
    for level in levels:
        if not (0 < level < 1 or (allow_one and level == 1)):
            upper = "1 inclusive" if allow_one else "1"
            raise ValueError(f"confidence must be between 0 and {upper} (e.g. 0.95), not {level}")
    return levels


def one_confidence_level(confidence: float | Iterable[float], *, function: str) -> float:
    """The one confidence level a function that reports a single interval takes; several are refused, never dropped.

    Examples
    --------
    >>> one_confidence_level(0.9, function="discrimination")
    0.9
    >>> one_confidence_level((0.95, 0.998), function="discrimination")
    Traceback (most recent call last):
    ValueError: discrimination takes one confidence level (e.g. confidence=0.95), not (0.95, 0.998): call it once per level
    """
    levels = confidence_levels(confidence)
    if len(levels) != 1:
        raise ValueError(f"{function} takes one confidence level (e.g. confidence=0.95), not {confidence!r}: "
                         "call it once per level")
    return levels[0]


def critical_value(confidence: float) -> float:
    """The two-sided standard normal critical value for a confidence level, :math:`z_{1-\\alpha/2}`.

    The one place the package turns a confidence level into a z value
    (docs/methods.md): 1.96 for 95%, 3.09 for 99.8%.

    Examples
    --------
    >>> round(critical_value(0.95), 4), round(critical_value(0.998), 4)
    (1.96, 3.0902)
    """
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _stack_levels(frames: list[pd.DataFrame], index: pd.Index | None) -> pd.DataFrame:
    """One frame per confidence level -> one long frame, in input order then confidence, with ``group``."""
    for frame in frames:
        frame["_order"] = np.arange(len(frame))
        if index is not None:
            frame.insert(0, "group", list(index))
    out = pd.concat(frames, ignore_index=True).sort_values(["_order", "confidence"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def _counts(x: object, n: object) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Counts as float arrays; missing values (NaN) are allowed and give NA rows."""
    index = x.index if isinstance(x, pd.Series) else (n.index if isinstance(n, pd.Series) else None)
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    xs, ns = np.broadcast_arrays(xs, ns)
    with np.errstate(invalid="ignore"):
        bad = (ns <= 0) | (xs < 0) | (xs > ns)
    if bad.any():
        where = np.flatnonzero(bad)[:5]
        raise ValueError(
            "counts must satisfy 0 <= x <= n and n > 0 (missing counts are allowed); offending positions "
            + ", ".join(f"{i} (x={xs[i]:g}, n={ns[i]:g})" for i in where)
        )
    return xs, ns, index


def proportion_ci(
    x: int | Sequence[int] | np.ndarray | pd.Series,
    n: int | Sequence[int] | np.ndarray | pd.Series,
    *,
    method: str = "wilson",
    confidence: float | Iterable[float] = (0.95, 0.998),
) -> pd.DataFrame:
    """Confidence interval for a proportion x/n, vectorised over counts and confidence levels.

    Parameters
    ----------
    x, n
        Numbers of events and trials: scalars, arrays or Series (a Series index
        is carried into the ``group`` column). A missing count (NaN or None)
        gives a row whose estimate and limits are NaN, as UKHSA's
        ``phe_proportion`` gives NA.
    method
        ``"wilson"`` (score interval, the PHE default), ``"clopper-pearson"``
        (exact, from beta quantiles) or ``"jeffreys"`` (Bayesian, Jeffreys prior).
    confidence
        One level or several in (0, 1]; each input row is repeated once per
        level. At ``confidence=1`` every method gives [0, 1] (UKHSA's
        ``wilson_lower``/``wilson_upper`` do the same).

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (when x or n is a Series), ``x``, ``n``, ``estimate``,
        ``lower``, ``upper``, ``statistic`` ("proportion"), ``method`` (the
        method's code, ``"wilson"``, ``"clopper_pearson"`` or ``"jeffreys"``),
        ``confidence``; sorted by input order, then confidence.

    Examples
    --------
    >>> proportion_ci([230, 10], [500, 20], confidence=0.95).round(4)[["estimate", "lower", "upper"]]
       estimate   lower   upper
    0      0.46  0.4168  0.5038
    1      0.50  0.2993  0.7007
    """
    if method not in PROPORTION_METHODS:
        raise ValueError(f"method must be one of {sorted(PROPORTION_METHODS)}, not {method!r}")
    xs, ns, index = _counts(x, n)
    known = ~(np.isnan(xs) | np.isnan(ns))
    frames = []
    for level in confidence_levels(confidence, allow_one=True):
        lower, upper = np.full(xs.shape, np.nan), np.full(xs.shape, np.nan)
        if level == 1:
            lower[known], upper[known] = 0.0, 1.0
        elif known.any():
            lo, hi = proportion_confint(xs[known], ns[known], alpha=1 - level, method=PROPORTION_METHODS[method])
            # Clopper-Pearson and Jeffreys give NaN at the boundaries in some versions: the bound is the boundary.
            lower[known] = np.clip(np.nan_to_num(np.asarray(lo, dtype=float), nan=0.0), 0.0, 1.0)
            upper[known] = np.clip(np.nan_to_num(np.asarray(hi, dtype=float), nan=1.0), 0.0, 1.0)
            # At x = 0 (x = n) the lower (upper) bound is the boundary itself: exact for
            # Clopper-Pearson, and the Brown-Cai-DasGupta (2001) modification for Jeffreys,
            # whose beta quantile otherwise excludes the estimate.
            lower[known & (xs == 0)] = 0.0
            upper[known & (xs == ns)] = 1.0
        frame = pd.DataFrame(
            {
                "x": xs,
                "n": ns,
                "estimate": xs / ns,
                "lower": lower,
                "upper": upper,
                "statistic": "proportion",
                "method": method.replace("-", "_"),
                "confidence": level,
            }
        )
        frames.append(frame)
    return _stack_levels(frames, index)


TWO_PROPORTION_METHODS: dict[str, str] = {
    "difference": "newcombe",
    "rate_ratio": "katz_log",
    "odds_ratio": "woolf_log",
}
"""The ``method`` code of each statistic :func:`compare_proportions` and :func:`two_proportion_frame` return: the
Newcombe hybrid score interval for the difference (with the pooled two-proportion z-test), the log (Katz) interval
for the rate ratio and the Woolf (log) interval for the odds ratio (words: :mod:`analysis.paper.method_text`)."""


def two_proportion_frame(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, *, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`two_proportion_arrays` as a long table: one row per pair and statistic.

    Rows follow the rules of :func:`compare_proportions`: the difference for
    every pair; the rate ratio where both groups have events; the odds ratio
    where both have events and non-events. Columns ``pair`` (position of the
    pair in the input), ``statistic``, ``estimate``, ``lower``, ``upper``,
    ``p_value``, ``z``, ``method``, ``confidence``, ``x1``, ``n1``, ``x2``, ``n2``.

    Examples
    --------
    >>> two_proportion_frame(np.array([8, 0]), np.array([10, 10]), np.array([4, 4]), np.array([10, 10]))["statistic"].tolist()
    ['difference', 'rate_ratio', 'odds_ratio', 'difference']
    """
    x1, n1, x2, n2 = (np.asarray(v) for v in (x1, n1, x2, n2))
    c = two_proportion_arrays(x1, n1, x2, n2, confidence=confidence)
    present = {"difference": np.ones(len(x1), dtype=bool),
               "rate_ratio": np.isfinite(c["rate_ratio"]) & (x1 > 0),
               "odds_ratio": np.isfinite(c["odds_ratio"])}
    frames = []
    for order, (statistic, keep) in enumerate(present.items()):
        frames.append(pd.DataFrame({
            "pair": np.arange(len(x1)), "_order": order, "statistic": statistic, "estimate": c[statistic],
            "lower": c[f"{statistic}_lower"], "upper": c[f"{statistic}_upper"], "p_value": c["p_value"], "z": c["z"],
            "method": TWO_PROPORTION_METHODS[statistic], "confidence": confidence, "x1": x1, "n1": n1, "x2": x2, "n2": n2,
        })[keep])
    out = pd.concat(frames, ignore_index=True).sort_values(["pair", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def compare_proportions(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    confidence: float | Iterable[float] = 0.95,
    labels: tuple[str, str] = ("group 1", "group 2"),
) -> pd.DataFrame:
    """Compare two independent proportions: difference, rate ratio and odds ratio.

    The difference has Newcombe's hybrid score interval (Newcombe 1998, method
    10) and a pooled two-proportion z-test; the rate ratio a log (Katz)
    interval; the odds ratio a Woolf (log) interval. All three share one
    two-sided p-value from the z-test.

    Parameters
    ----------
    x1, n1, x2, n2
        Events and trials of the two groups; the comparison is group 1 minus
        (or over) group 2.
    confidence
        Confidence level of the intervals, or several (one row per statistic
        and level, levels in the order given within each statistic).
    labels
        Names of the two groups, carried into the output.

    Returns
    -------
    pandas.DataFrame
        One row per statistic (``difference``, ``rate_ratio``, ``odds_ratio``) with
        ``estimate``, ``lower``, ``upper``, ``p_value``, ``method``, ``confidence``
        and the counts ``x1``, ``n1``, ``x2``, ``n2``.

    Examples
    --------
    >>> t = compare_proportions(6436, 21536, 5900, 20548)
    >>> round(float(t.loc[0, "estimate"]), 4)
    0.0117
    """
    frames = []
    for level in confidence_levels(confidence):
        frame = two_proportion_frame(np.array([x1]), np.array([n1]), np.array([x2]), np.array([n2]), confidence=level)
        frames.append(frame.assign(_order=np.arange(len(frame))))
    out = pd.concat(frames, ignore_index=True).sort_values("_order", kind="stable").reset_index(drop=True)
    out = out[["statistic", "estimate", "lower", "upper", "method", "p_value", "z", "confidence"]].copy()
    out["group_1"], out["group_2"] = labels
    for name, value in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        out[name] = value
    return out


def two_proportion_arrays(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, *, confidence: float = 0.95) -> dict[str, np.ndarray]:
    """:func:`compare_proportions` for arrays of pairs of groups at once (one value per pair).

    Returns a dict of arrays: ``difference`` with Newcombe's hybrid score
    interval (``difference_lower``/``_upper``, from the two Wilson intervals),
    ``rate_ratio`` (Katz log interval; NaN where either group has no events),
    ``odds_ratio`` (Woolf; NaN where a group has no events or no non-events), the
    pooled two-proportion ``z`` and its two-sided ``p_value``. Pairs where a group
    has no people are NaN throughout.

    Examples
    --------
    >>> c = two_proportion_arrays(np.array([6436]), np.array([21536]), np.array([5900]), np.array([20548]))
    >>> round(float(c["difference"][0]), 4), round(float(c["odds_ratio"][0]), 3)
    (0.0117, 1.058)
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    z_crit = critical_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (n1 > 0) & (n2 > 0)
        p1, p2 = x1 / n1, x2 / n2
        pooled = (x1 + x2) / (n1 + n2)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se0 > 0, (p1 - p2) / se0, np.nan)
        p_value = 2 * stats.norm.sf(np.abs(z))

        def wilson(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # the same Wilson interval as proportion_ci (statsmodels); groups of no people are NaN below
            lo, hi = proportion_confint(x, np.where(n > 0, n, 1), alpha=1 - confidence, method="wilson")
            return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)

        l1, u1 = wilson(x1, n1)
        l2, u2 = wilson(x2, n2)
        diff = p1 - p2
        d_low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        d_high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        has_rr = ok & (x1 > 0) & (x2 > 0)
        log_rr = np.log(p1 / p2)
        se_rr = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
        has_or = ok & (x1 > 0) & (x1 < n1) & (x2 > 0) & (x2 < n2)
        log_or = np.log((x1 / (n1 - x1)) / (x2 / (n2 - x2)))
        se_or = np.sqrt(1 / x1 + 1 / (n1 - x1) + 1 / x2 + 1 / (n2 - x2))
        nan = np.full(x1.shape, np.nan)
        out = {
            "difference": np.where(ok, diff, nan), "difference_lower": np.where(ok, d_low, nan),
            "difference_upper": np.where(ok, d_high, nan),
            "rate_ratio": np.where(has_rr, np.exp(log_rr), nan), "rate_ratio_lower": np.where(has_rr, np.exp(log_rr - z_crit * se_rr), nan),
            "rate_ratio_upper": np.where(has_rr, np.exp(log_rr + z_crit * se_rr), nan),
            "odds_ratio": np.where(has_or, np.exp(log_or), nan), "odds_ratio_lower": np.where(has_or, np.exp(log_or - z_crit * se_or), nan),
            "odds_ratio_upper": np.where(has_or, np.exp(log_or + z_crit * se_or), nan),
            "z": np.where(ok, z, nan), "p_value": np.where(ok, p_value, nan),
        }
    return out


RATIO_METHODS: tuple[str, ...] = ("auto", "byar", "exact")
"""Intervals for an observed count O against an expected count E.

``auto``
    PHE ``calculate_ISRatio``: exact Poisson when O < 10, Byar's approximation otherwise.
``byar``
    Byar's approximation to the exact Poisson interval, for every O. Its lower
    limit is 0 at O = 0 and NaN where the formula goes negative (O = 1 at
    99.8%, for example), as UKHSA's ``byars_lower`` returns NA there.
``exact``
    Exact Poisson (Garwood) interval from chi-squared quantiles, for every O.
"""

def _poisson_exact(o: np.ndarray, z_tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) limits for a Poisson count; ``z_tail`` is the one-sided tail probability."""
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(z_tail, np.where(o > 0, 2 * o, 1)) / 2, 0.0)
        upper = stats.chi2.ppf(1 - z_tail, 2 * o + 2) / 2
    return lower, upper


def _poisson_byar(o: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the exact Poisson limits.

    The lower limit is 0 at O = 0 (as the exact limit) and NaN where Byar's
    formula is negative, e.g. O = 1 at 99.8% (UKHSA's ``byars_lower`` gives NA).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
        upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    return np.where(lower < 0, np.nan, lower), upper


def ratio_ci(
    observed: float | Sequence[float] | np.ndarray | pd.Series,
    expected: float | Sequence[float] | np.ndarray | pd.Series,
    *,
    confidence: float | Iterable[float] = (0.95, 0.998),
    method: str = "auto",
) -> pd.DataFrame:
    """Confidence interval for a standardised ratio O/E, vectorised over counts and levels.

    The observed count O is treated as Poisson and E as fixed (PHE
    ``calculate_ISRatio``): the interval for O is exact when O < 10 and
    Byar's approximation otherwise (``method="auto"``); the ratio's interval
    is ``[O_L / E, O_U / E]``.

    Parameters
    ----------
    observed
        Observed counts O (whole numbers >= 0): scalar, array or Series (a
        Series index is carried into the ``group`` column). A missing O or E
        (NaN or None) gives a row whose estimate and limits are NaN.
    expected
        Expected counts E (> 0), e.g. the sum of predicted probabilities.
    confidence
        One level or several in (0, 1]; each input row is repeated once per
        level. At ``confidence=1`` the exact interval is [0, inf) and Byar's
        is [NaN, inf), as UKHSA's ``calculate_ISRatio``.
    method
        ``"auto"`` (exact if O < 10, else Byar), ``"byar"`` or ``"exact"``;
        see :data:`RATIO_METHODS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (when an input is a Series), ``observed``,
        ``expected``, ``estimate`` (O/E), ``lower``, ``upper``,
        ``observed_lower``, ``observed_upper`` (the limits for O),
        ``statistic`` ("standardised ratio (O/E)"), ``method`` (the code of
        the interval used on that row: ``"exact"`` or ``"byar"``, and
        ``"not_computed"`` for a missing count; the words are
        :func:`analysis.paper.method_text.ratio_interval_words`) and
        ``confidence``; sorted by input order, then confidence.

    Examples
    --------
    >>> ratio_ci(230, 197.9, confidence=0.95)[["estimate", "lower", "upper"]].round(4).values.tolist()
    [[1.1622, 1.0168, 1.3225]]
    """
    if method not in RATIO_METHODS:
        raise ValueError(f"method must be one of {list(RATIO_METHODS)}, not {method!r}")
    index = (
        observed.index if isinstance(observed, pd.Series) else (expected.index if isinstance(expected, pd.Series) else None)
    )
    o = np.atleast_1d(np.asarray(observed, dtype=float))
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    o, e = np.broadcast_arrays(o, e)
    missing = np.isnan(o) | np.isnan(e)
    with np.errstate(invalid="ignore"):
        bad = ~missing & ((o < 0) | (e <= 0) | (o % 1 != 0))
    if bad.any():
        where = np.flatnonzero(bad)[:5]
        raise ValueError(
            "observed must be whole numbers >= 0 and expected > 0 (missing counts are allowed); offending positions "
            + ", ".join(f"{i} (O={o[i]:g}, E={e[i]:g})" for i in where)
        )
    use_exact = o < 10 if method == "auto" else np.full(o.shape, method == "exact")
    names = np.where(use_exact, "exact", "byar").astype(object)
    names[missing] = "not_computed"
    frames = []
    for level in confidence_levels(confidence, allow_one=True):
        tail = (1 - level) / 2
        z = float(stats.norm.ppf(1 - tail))
        ex_lo, ex_hi = _poisson_exact(o, tail)
        by_lo, by_hi = _poisson_byar(o, z)
        o_lo = np.where(use_exact, ex_lo, by_lo)
        o_hi = np.where(use_exact, ex_hi, by_hi)
        o_lo[missing], o_hi[missing] = np.nan, np.nan
        frame = pd.DataFrame(
            {
                "observed": o,
                "expected": e,
                "estimate": o / e,
                "lower": o_lo / e,
                "upper": o_hi / e,
                "observed_lower": o_lo,
                "observed_upper": o_hi,
                "statistic": "standardised ratio (O/E)",
                "method": names,
                "confidence": level,
            }
        )
        frames.append(frame)
    return _stack_levels(frames, index)
