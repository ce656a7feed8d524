"""Funnel plots for proportions and for O/E ratios, with overdispersion (``docs/methods.md``).

The method is Spiegelhalter's (2005), as used for the NHS SHMI and by CQC;
``method=`` chooses how overdispersion is allowed for (step 3:
``"truncation"``, ``"winsorisation"`` or ``"none"``, as in
:func:`estimate_overdispersion`) and ``limits=`` the limits used without an
adjustment (step 7):

1. Transform each unit: ratios ``Y = ln(O/E)``, ``s = 1/sqrt(E)``, target
   ``ln(theta)`` (theta = 1 by default); proportions ``Y = asin(sqrt(x/n))``,
   ``s = 1/(2 sqrt(n))``, target ``asin(sqrt(sum x / sum n))``.
2. ``z_i = (Y_i - target) / s_i``.
3. Outlying z-scores are set aside before phi is estimated, by one of:
   **truncation** (SHMI: units dropped), with either the *percentile rule*
   (z below the 10th or above the 90th percentile, percentiles by linear
   interpolation; the default) or *NHS Digital's rank rule* (rank r of N in
   group ``floor(10 r / (N + 1))``, groups 0 and 9 dropped, as FunnelPlotR
   does); or **CQC winsorisation** (z capped at the 10th and 90th percentiles).
4. ``phi = mean(z_i^2)`` over the n units used.
5. With ``w_i = 1/s_i^2``: ``tau2 = 0`` if ``n phi < n - 1``, else
   ``tau2 = (n phi - (n - 1)) / (sum w - sum w^2 / sum w)``.
6. Limits at precision E (or n): ``theta exp(+/- z_a sqrt(1/E + tau2))``;
   proportions ``sin^2(asin(sqrt(p)) +/- z_a sqrt(1/(4n) + tau2))``.
7. If ``phi <= 1`` (or no adjustment is asked for) the unadjusted limits are
   used, and the tables say which:

   * ``limits="exact"`` (the default): the exact one-sided test. A unit is
     "High" at a level when ``P(X >= O) < tail`` and "Low" when
     ``P(X <= O) < tail``, with X ~ Poisson(theta E) for ratios and
     X ~ Binomial(n, p) for proportions (tail = (1 - level) / 2). The line
     drawn is the count at which that p-value equals the tail (the p-value
     is continuous in the count through the regularised incomplete gamma
     and beta functions), divided by E or n: a unit lies beyond the line
     exactly when its p-value is below the tail, and the line passes through
     UKHSA's ``calculate_funnel_limits`` points.
   * ``limits="score"`` (proportions only): ``p +/- z_a sqrt(p (1 - p) / n)``
     clipped to [0, 1], as UKHSA's PHEindicatormethods does for proportions.

Units are labelled as UKHSA's funnel tools do (PHEindicatormethods
``assign_funnel_significance``): ``"High (0.001)"`` and ``"Low (0.001)"``
outside the 99.8% limits, ``"High (0.025)"`` and ``"Low (0.025)"`` outside
the 95% limits only, otherwise ``"Not significant"`` (the number is the
one-sided tail probability of the limit crossed, so other levels label the
same way). Unadjusted, these labels equal UKHSA's on all 300 ratio and all
303 proportion units of its test vectors (``tests/data/ukhsa``).

Examples
--------
>>> import pandas as pd
>>> from analysis.funnel import funnel_units
>>> units = pd.DataFrame({"group": ["A", "B", "C"], "observed": [60, 45, 30], "expected": [50.0, 45.0, 40.0]})
>>> funnel_units(units, kind="ratio", method="none", confidence=0.95)[["group", "significance"]]
  group     significance
0     A  Not significant
1     B  Not significant
2     C  Not significant
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .intervals import confidence_levels

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FUNNEL_KINDS",
    "FUNNEL_LIMIT_METHODS",
    "FUNNEL_METHOD_CODES",
    "OVERDISPERSION_METHODS",
    "TRUNCATION_RULES",
    "estimate_overdispersion",
    "exact_funnel_p_values",
    "funnel_units",
    "funnel_limits",
    "funnel_plot",
]

FUNNEL_KINDS: tuple[str, ...] = ("ratio", "proportion")

OVERDISPERSION_METHODS: tuple[str, ...] = ("truncation", "winsorisation", "none")
"""Codes accepted for ``method`` (here and in the funnel functions): SHMI truncation (units with outlying z dropped),
CQC winsorisation (outlying z capped at the percentiles) or no overdispersion adjustment. The tables' ``method`` and
``overdispersion`` columns hold them; their words are in :mod:`analysis.paper.method_text`."""

TRUNCATION_RULES: tuple[str, ...] = ("percentile", "rank")
"""Rules accepted for ``truncation_rule``: which units SHMI truncation drops. ``"percentile"``: z below the lower or
above the upper percentile (linear interpolation); ``"rank"``: NHS Digital's rule, rank r of N in group
floor(r k / (N + 1)), k = 1/trim, groups 0 and k - 1 dropped."""

FUNNEL_LIMIT_METHODS: tuple[str, ...] = ("exact", "score")
"""Unadjusted limits accepted for the funnel functions' ``limits`` (used when there is no overdispersion adjustment):
exact test limits (Poisson for ratios, binomial for proportions) or score limits p +/- z sqrt(p (1 - p) / n), clipped
to [0, 1] (UKHSA; proportions only)."""

FUNNEL_METHOD_CODES: tuple[str, ...] = ("exact_poisson", "exact_binomial", "score", "random_effects_log", "random_effects_arcsine")
"""The ``method`` codes of :func:`funnel_units` and :func:`funnel_limits`: the limits drawn (exact Poisson or binomial
test limits, score limits, or random-effects limits on the log scale for ratios and the arcsine scale for proportions)."""


# --------------------------------------------------------------------------- overdispersion


def estimate_overdispersion(
    z: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray,
    *,
    method: str = "truncation",
    trim: float = 0.1,
    truncation_rule: str = "percentile",
) -> pd.DataFrame:
    """Overdispersion factor phi and between-unit variance tau-squared from unit z-scores.

    Parameters
    ----------
    z
        Unadjusted z-scores ``(Y_i - target) / s_i``.
    s
        Standard errors ``s_i`` on the transformed scale.
    method
        ``"truncation"`` (SHMI: drop the outlying units), ``"winsorisation"``
        (CQC: cap z at the ``trim`` and ``1 - trim`` quantiles) or ``"none"``
        (all units as they are).
    trim
        Fraction trimmed or capped at each end (default 0.1).
    truncation_rule
        Which units truncation drops. ``"percentile"`` (default): z below the
        ``trim`` or above the ``1 - trim`` quantile (linear interpolation,
        R's type 7); with 25 units and ``trim=0.1`` that is 3 at each end.
        ``"rank"``: NHS Digital's SHMI rule as FunnelPlotR applies it: with
        ``k = 1/trim`` and ranks r = 1..N of z (ties averaged), the unit goes
        in group ``floor(r k / (N + 1))`` and groups 0 and ``k - 1`` or above
        are dropped; with 25 units that is 2 at each end. Ignored unless
        ``method="truncation"``.

    Returns
    -------
    pandas.DataFrame
        One row: ``phi``, ``tau2``, ``n_units``, ``n_used``, ``trim``,
        ``truncation_rule`` (as given; it applies to ``"truncation"`` only),
        ``statistic`` ("overdispersion"), ``method`` (the ``method`` code:
        ``"truncation"``, ``"winsorisation"`` or ``"none"``).

    Examples
    --------
    >>> od = estimate_overdispersion([2.0, -1.0, 0.5, 3.0], [0.1, 0.2, 0.1, 0.2], method="none")
    >>> od[["phi", "tau2"]].round(4).values.tolist()
    [[3.5625, 0.0682]]
    """
    if method not in OVERDISPERSION_METHODS:
        raise ValueError(f"method must be one of {list(OVERDISPERSION_METHODS)}, not {method!r}")
    if truncation_rule not in TRUNCATION_RULES:
        raise ValueError(f"truncation_rule must be one of {list(TRUNCATION_RULES)}, not {truncation_rule!r}")
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    z_all = np.asarray(z, dtype=float)
    s_all = np.asarray(s, dtype=float)
    ok = np.isfinite(z_all) & np.isfinite(s_all) & (s_all > 0)
    z = np.asarray(z_all[ok])  # asarray: the mask index is typed Any, which would undo the narrowing to an array
    s = np.asarray(s_all[ok])
    if method == "none" or trim == 0 or z.size == 0:
        used_z, used_s = z, s
    elif method == "truncation" and truncation_rule == "rank":
        k = 1 / trim
        group = np.floor(stats.rankdata(z, method="average") * k / (z.size + 1))
        keep = (group > 0) & (group < k - 1)
        used_z, used_s = z[keep], s[keep]
    else:
        low, high = np.percentile(z, [100 * trim, 100 * (1 - trim)])
        if method == "truncation":
            keep = (z >= low) & (z <= high)
            used_z, used_s = z[keep], s[keep]
        else:
            used_z, used_s = np.clip(z, low, high), s
    n = used_z.size
    if n < 2:
        phi, tau2 = np.nan, np.nan
    else:
        phi = float(np.mean(used_z**2))
        w = 1 / used_s**2
        if n * phi < n - 1:
            tau2 = 0.0
        else:
            tau2 = float((n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return pd.DataFrame(
        {
            "phi": [phi],
            "tau2": [tau2],
            "n_units": [int(ok.sum())],
            "n_used": [int(n)],
            "trim": [trim if method != "none" else 0.0],
            "truncation_rule": [truncation_rule],
            "statistic": ["overdispersion"],
            "method": [method],
        }
    )


# --------------------------------------------------------------------------- exact tests and their limits


def exact_funnel_p_values(
    kind: str,
    observed: float | Sequence[float] | np.ndarray,
    precision: float | Sequence[float] | np.ndarray,
    target: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided exact p-values ``P(X >= O)`` and ``P(X <= O)`` behind the unadjusted funnel limits.

    X is Poisson(target x E) for ``kind="ratio"`` and Binomial(n, target)
    for ``kind="proportion"``. For whole counts these are the Poisson and
    binomial tail sums; between whole counts they continue smoothly through
    the regularised incomplete gamma and beta functions
    (``P(X >= O) = P(O, mu)``, ``P(X <= O) = Q(O + 1, mu)``;
    ``P(X >= x) = I_p(x, n - x + 1)``, ``P(X <= x) = I_{1-p}(n - x, x + 1)``),
    which is how the funnel lines are drawn between whole counts and how
    non-whole counts (e.g. weighted numerators) are tested.

    Parameters
    ----------
    kind
        ``"ratio"`` or ``"proportion"``.
    observed
        Observed counts O (or x).
    precision
        Expected counts E (ratios) or sizes n (proportions).
    target
        Target ratio theta (ratios) or proportion p (proportions).

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_high, p_low)``.

    Examples
    --------
    >>> p_high, p_low = exact_funnel_p_values("ratio", [1, 3], [0.2, 1.0], 1.0)
    >>> p_high.round(4).tolist()  # 1 - exp(-0.2); 1 - exp(-1) (1 + 1 + 1/2)
    [0.1813, 0.0803]
    """
    if kind not in FUNNEL_KINDS:
        raise ValueError(f"kind must be one of {list(FUNNEL_KINDS)}, not {kind!r}")
    o, prec = np.broadcast_arrays(np.asarray(observed, dtype=float), np.asarray(precision, dtype=float))
    o, prec = np.atleast_1d(o), np.atleast_1d(prec)
    return _p_high(kind, o, prec, target), _p_low(kind, o, prec, target)


def _p_high(kind: str, o: np.ndarray, prec: np.ndarray, target: float) -> np.ndarray:
    """``P(X >= o)``, continuous in o (see :func:`exact_funnel_p_values`)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        if kind == "ratio":
            return np.where(o <= 0, 1.0, special.gammainc(np.maximum(o, 1e-300), target * prec))
        inner = (o > 0) & (o < prec)
        x = np.where(inner, o, 0.5 * prec)  # placeholder where the tail is known in closed form
        return np.where(o <= 0, 1.0, np.where(o >= prec, target**prec, special.betainc(x, prec - x + 1, target)))


def _p_low(kind: str, o: np.ndarray, prec: np.ndarray, target: float) -> np.ndarray:
    """``P(X <= o)``, continuous in o (see :func:`exact_funnel_p_values`)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        if kind == "ratio":
            return special.gammaincc(o + 1, target * prec)
        inner = (o > 0) & (o < prec)
        x = np.where(inner, o, 0.5 * prec)
        return np.where(o >= prec, 1.0, np.where(o <= 0, (1 - target) ** prec, special.betainc(prec - x, x + 1, 1 - target)))


def _boundary(pred: Callable[[np.ndarray], np.ndarray], false_at: np.ndarray, true_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised bisection for a predicate that changes once between ``false_at`` and ``true_at``.

    Returns ``(a, b)``: a point where ``pred`` is false and one where it is
    true, at most 1e-12 apart (relative to their size when above 1).
    ``pred`` is evaluated only strictly between the starting points.
    """
    a, b = np.array(false_at, dtype=float), np.array(true_at, dtype=float)
    for _ in range(2100):  # ample for any float interval; stops once every element has converged
        mid = a + (b - a) / 2
        done = (mid == a) | (mid == b) | (np.abs(b - a) <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b))))
        if done.all():
            break
        true = pred(mid)
        a = np.where(~done & ~true, mid, a)
        b = np.where(~done & true, mid, b)
    return a, b


def _exact_limit_counts(kind: str, precision: np.ndarray, target: float, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts at which the exact one-sided p-values equal ``tail``: (lower, upper).

    A count O is "Low" exactly when ``O < lower`` and "High" exactly when
    ``O > upper``; lower is at least 0 and, for proportions, upper at most n.
    """
    prec = np.atleast_1d(np.asarray(precision, dtype=float))

    def p_high(o: np.ndarray) -> np.ndarray:
        return _p_high(kind, o, prec, target)

    def p_low(o: np.ndarray) -> np.ndarray:
        return _p_low(kind, o, prec, target)

    if kind == "ratio":
        mu = target * prec
        top = mu + 40 * np.sqrt(mu) + 50  # beyond both tails for any tail used in practice; checked below
        for _ in range(60):
            grow = ~((p_high(top) < tail) & (p_low(top) >= tail))
            if not grow.any():
                break
            top = np.where(grow, 2 * top, top)
        upper = _boundary(lambda o: p_high(o) < tail, np.zeros_like(prec), top)[0]
    else:
        top = prec.copy()
        upper = _boundary(lambda o: p_high(o) < tail, np.zeros_like(prec), top)[0]
        upper = np.where(p_high(top) < tail, upper, top)  # not even x = n is high: the line is at 1
    lower = _boundary(lambda o: p_low(o) >= tail, -np.ones_like(prec), top)[1]
    return np.maximum(lower, 0.0), upper


# --------------------------------------------------------------------------- the model behind a funnel


def _pct(level: float) -> str:
    return f"{100 * level:.10g}%"


def _tail(level: float) -> str:
    return f"{(1 - level) / 2:.10g}"


def _units_frame(data: pd.DataFrame, label: str | Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    frame = data.copy()
    if label is None:
        label = "group" if "group" in frame else None
    if label is None:
        frame = frame.reset_index()
        label = [str(frame.columns[0])]
    cols = [label] if isinstance(label, str) else list(label)
    if "confidence" in frame:  # e.g. observed_vs_expected output: one row per group and level
        frame = frame.drop_duplicates(subset=cols)
    return frame.reset_index(drop=True), cols


def _limits_description(kind: str, limits: str, adjusted: bool) -> tuple[str, str]:
    """The name of a funnel's control limits (the ``limits`` column) and their code (the ``method`` column)."""
    if adjusted:
        return "random-effects", ("random_effects_log" if kind == "ratio" else "random_effects_arcsine")
    if limits == "score":
        return "score", "score"
    if kind == "ratio":
        return "exact Poisson", "exact_poisson"
    return "exact binomial", "exact_binomial"


class _Funnel:
    """Transformed values, target, overdispersion and limits for a set of units (internal)."""

    def __init__(
        self,
        data: pd.DataFrame,
        kind: str,
        observed: str,
        expected: str,
        n: str,
        label: str | Sequence[str] | None,
        target: float | str | None,
        method: str,
        trim: float,
        limits: str,
        truncation_rule: str,
    ) -> None:
        if kind not in FUNNEL_KINDS:
            raise ValueError(f"kind must be one of {list(FUNNEL_KINDS)}, not {kind!r}")
        if method not in OVERDISPERSION_METHODS:
            hint = f" (the unadjusted limits are chosen by limits={method!r})" if method in FUNNEL_LIMIT_METHODS else ""
            raise ValueError(f"method (the overdispersion adjustment) must be one of {list(OVERDISPERSION_METHODS)}, not {method!r}{hint}")
        if limits not in FUNNEL_LIMIT_METHODS:
            raise ValueError(f"limits must be one of {list(FUNNEL_LIMIT_METHODS)}, not {limits!r}")
        if limits == "score" and kind == "ratio":
            raise ValueError("limits='score' is for proportions; ratio funnels use the exact Poisson test")
        self.kind = kind
        self.units, self.label_cols = _units_frame(data, label)
        u = self.units
        self.observed = u[observed].to_numpy(dtype=float)
        if kind == "ratio":
            self.precision = u[expected].to_numpy(dtype=float)
            if (self.precision <= 0).any():
                raise ValueError("expected counts must be > 0")
            self.estimate = self.observed / self.precision
            if target is None:
                self.target = 1.0
            elif target == "overall":
                self.target = float(self.observed.sum() / self.precision.sum())
            else:
                self.target = float(target)
            # ln(0) is undefined: a unit with O = 0 enters the z-scores as O = 0.5.
            self.y = np.log(np.maximum(self.observed, 0.5) / self.precision)
            self.s = 1 / np.sqrt(self.precision)
            self.target_y = float(np.log(self.target))
            self.precision_name = "expected"
        else:
            self.precision = u[n].to_numpy(dtype=float)
            if (self.precision <= 0).any() or (self.observed > self.precision).any() or (self.observed < 0).any():
                raise ValueError("proportions need 0 <= x <= n and n > 0")
            self.estimate = self.observed / self.precision
            if target is None or target == "overall":
                self.target = float(self.observed.sum() / self.precision.sum())
            else:
                self.target = float(target)
            self.y = np.arcsin(np.sqrt(self.estimate))
            self.s = 1 / (2 * np.sqrt(self.precision))
            self.target_y = float(np.arcsin(np.sqrt(self.target)))
            self.precision_name = "n"
        self.z = (self.y - self.target_y) / self.s
        od = estimate_overdispersion(self.z, self.s, method=method, trim=trim, truncation_rule=truncation_rule).iloc[0]
        self.phi = float(od["phi"])
        self.tau2 = float(od["tau2"])
        self.n_used = int(od["n_used"])
        self.adjusted = method != "none" and np.isfinite(self.phi) and self.phi > 1
        self.trim = float(od["trim"])
        self.truncation_rule = truncation_rule
        self.limits_name, self.method = _limits_description(kind, limits, self.adjusted)
        self.statistic = "standardised ratio (O/E)" if kind == "ratio" else "proportion"
        self.overdispersion = method

    def limits(self, precision: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits (on the scale of the estimate) at each precision."""
        precision = np.atleast_1d(np.asarray(precision, dtype=float))
        tail = (1 - level) / 2
        z = float(stats.norm.ppf(1 - tail))
        if self.adjusted:
            if self.kind == "ratio":
                half = z * np.sqrt(1 / precision + self.tau2)
                return self.target * np.exp(-half), self.target * np.exp(half)
            half = z * np.sqrt(1 / (4 * precision) + self.tau2)
            low = np.clip(self.target_y - half, 0, np.pi / 2)
            high = np.clip(self.target_y + half, 0, np.pi / 2)
            return np.sin(low) ** 2, np.sin(high) ** 2
        if self.limits_name == "score":
            half = z * np.sqrt(self.target * (1 - self.target) / precision)
            return np.clip(self.target - half, 0, 1), np.clip(self.target + half, 0, 1)
        low, high = _exact_limit_counts(self.kind, precision, self.target, tail)
        return low / precision, high / precision

    def outside(self, level: float) -> np.ndarray:
        """"High", "Low" or "" for each unit at one level."""
        if self.limits_name.startswith("exact"):
            tail = (1 - level) / 2
            p_high, p_low = exact_funnel_p_values(self.kind, self.observed, self.precision, self.target)
            high, low = p_high < tail, p_low < tail
        else:
            lower, upper = self.limits(self.precision, level)
            high, low = self.estimate > upper, self.estimate < lower
        return np.where(high, "High", np.where(low, "Low", ""))

    def stamp(self, out: pd.DataFrame) -> pd.DataFrame:
        out["phi"] = self.phi
        out["tau2"] = self.tau2
        out["n_used"] = self.n_used
        out["adjusted"] = self.adjusted
        out["overdispersion"] = self.overdispersion
        out["trim"] = self.trim
        out["truncation_rule"] = self.truncation_rule
        out["limits"] = self.limits_name
        out["statistic"] = self.statistic
        out["method"] = self.method
        conf = out.pop("confidence")
        out["confidence"] = conf
        return out


# --------------------------------------------------------------------------- public tables

def funnel_units(
    data: pd.DataFrame,
    *,
    kind: str = "ratio",
    observed: str = "observed",
    expected: str = "expected",
    n: str = "n",
    label: str | Sequence[str] | None = None,
    target: float | str | None = None,
    confidence: float | Iterable[float] = (0.95, 0.998),
    method: str = "truncation",
    trim: float = 0.1,
    limits: str = "exact",
    truncation_rule: str = "percentile",
) -> pd.DataFrame:
    """Each unit's position in the funnel, its limits and its UKHSA-style significance label.

    Parameters
    ----------
    data
        One row per unit (area, team, area x sex x age band, ...): observed
        count and expected count (``kind="ratio"``) or observed count and
        size ``n`` (``kind="proportion"``). The output of
        :func:`analysis.observed_vs_expected` can be passed as it is.
    kind
        ``"ratio"`` (O/E, SHMI method) or ``"proportion"`` (x/n).
    observed, expected, n
        Column names of O (or x), E and n.
    label
        Column(s) naming the units; default ``"group"`` if present, else the index.
    target
        Ratios: the target ratio (default 1: "as expected"; ``"overall"``
        for sum O / sum E). Proportions: default the pooled proportion.
    confidence
        Levels of the control limits (default 95% and 99.8%).
    method
        How overdispersion is allowed for: ``"truncation"`` (SHMI; default),
        ``"winsorisation"`` (CQC) or ``"none"`` (see :func:`estimate_overdispersion`).
    trim
        Fraction trimmed or capped at each end when estimating phi.
    limits
        Limits used when there is no overdispersion adjustment (``phi <= 1``
        or ``method="none"``): ``"exact"`` (default; the exact
        one-sided Poisson or binomial test, a unit is outside exactly when
        its p-value is below the tail) or ``"score"`` (proportions only:
        ``p +/- z sqrt(p (1 - p) / n)`` clipped to [0, 1], as UKHSA).
    truncation_rule
        With ``method="truncation"``: ``"percentile"`` (default) or
        ``"rank"`` (NHS Digital's rule); see :func:`estimate_overdispersion`.

    Returns
    -------
    pandas.DataFrame
        One row per unit and level, in input order: the label column(s),
        ``observed``, ``expected`` or ``n``, ``estimate``, ``y``, ``s``,
        ``z``, ``z_adjusted`` (``(Y - target)/sqrt(s^2 + tau2)`` when adjusted),
        ``target``, ``lower``, ``upper`` (the limits at the unit's precision),
        ``outside`` ("High", "Low" or "" at that level), ``significance``
        (over all levels, e.g. "High (0.001)"), ``phi``, ``tau2``,
        ``n_used``, ``adjusted``, ``overdispersion`` (the ``method`` code),
        ``trim`` and ``truncation_rule`` (how phi was estimated: as
        :func:`estimate_overdispersion`), ``limits`` (the
        limits used: "exact Poisson", "exact binomial", "score" or
        "random-effects"), ``statistic``, ``method`` (the limits' code, one of
        :data:`FUNNEL_METHOD_CODES`), ``confidence``.

    Examples
    --------
    >>> units = pd.DataFrame({"group": ["A", "B"], "observed": [90, 40], "expected": [60.0, 40.0]})
    >>> funnel_units(units, method="none")["significance"].drop_duplicates().tolist()
    ['High (0.001)', 'Not significant']
    """
    f = _Funnel(data, kind, observed, expected, n, label, target, method, trim, limits, truncation_rule)
    levels = sorted(confidence_levels(confidence))
    base = f.units[f.label_cols].copy()
    base["observed"] = f.observed
    base[f.precision_name] = f.precision
    base["estimate"] = f.estimate
    base["y"] = f.y
    base["s"] = f.s
    base["z"] = f.z
    base["z_adjusted"] = (f.y - f.target_y) / np.sqrt(f.s**2 + (f.tau2 if f.adjusted else 0.0))
    base["target"] = f.target
    significance = np.full(len(base), "Not significant", dtype=object)
    frames = []
    for level in levels:  # ascending, so the widest limits crossed win
        low, high = f.limits(f.precision, level)
        t = base.copy()
        t["lower"], t["upper"] = low, high
        t["outside"] = f.outside(level)
        significance = np.where(t["outside"] != "", t["outside"] + f" ({_tail(level)})", significance)
        t["confidence"] = level
        t["_order"] = np.arange(len(t))
        frames.append(t)
    out = pd.concat(frames, ignore_index=True).sort_values(["_order", "confidence"], kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    out["significance"] = significance[np.repeat(np.arange(len(base)), len(levels))]
    return f.stamp(out)


def funnel_limits(
    data: pd.DataFrame,
    *,
    kind: str = "ratio",
    observed: str = "observed",
    expected: str = "expected",
    n: str = "n",
    label: str | Sequence[str] | None = None,
    target: float | str | None = None,
    confidence: float | Iterable[float] = (0.95, 0.998),
    method: str = "truncation",
    trim: float = 0.1,
    limits: str = "exact",
    truncation_rule: str = "percentile",
    precision: Sequence[float] | np.ndarray | None = None,
    points: int = 200,
) -> pd.DataFrame:
    """The funnel's control limits as a table, over a range of precision (E or n).

    phi and tau-squared are estimated from ``data`` exactly as in
    :func:`funnel_units`; the arguments have the same meaning. The exact
    limits are the count at which the one-sided exact p-value equals the
    tail, divided by E (or n): a smooth line on which a unit at its own
    precision lies beyond exactly when :func:`funnel_units` labels it outside.

    Parameters
    ----------
    data, kind, observed, expected, n, label, target, confidence, method, trim, limits, truncation_rule
        As for :func:`funnel_units`.
    precision
        Values of E (ratios) or n (proportions) at which to give the limits;
        default ``points`` values spread geometrically from half the smallest
        unit's precision to 1.1 times the largest (whole numbers for n), plus
        every unit's own precision, so that a line drawn through them passes
        through each unit's limits.
    points
        Number of default precision values.

    Returns
    -------
    pandas.DataFrame
        One row per precision value and level: ``expected`` or ``n``,
        ``target``, ``lower``, ``upper``, ``phi``, ``tau2``, ``n_used``,
        ``adjusted``, ``overdispersion``, ``trim``, ``truncation_rule``,
        ``limits``, ``statistic``, ``method``, ``confidence`` (as
        :func:`funnel_units`); sorted by level, then precision.

    Examples
    --------
    >>> units = pd.DataFrame({"group": ["A", "B"], "observed": [90, 40], "expected": [60.0, 40.0]})
    >>> lim = funnel_limits(units, method="none", precision=[100], confidence=0.95)
    >>> lim[["lower", "upper"]].round(3).values.tolist()
    [[0.804, 1.206]]
    """
    f = _Funnel(data, kind, observed, expected, n, label, target, method, trim, limits, truncation_rule)
    if precision is None:
        lo, hi = max(f.precision.min() / 2, 1.0 if kind == "proportion" else 1e-3), f.precision.max() * 1.1
        grid = np.geomspace(lo, hi, points)
        if kind == "proportion":
            grid = np.round(grid)
        grid = np.unique(np.concatenate([grid, f.precision]))
    else:
        grid = np.asarray(precision, dtype=float)
    frames = []
    for level in sorted(confidence_levels(confidence)):
        low, high = f.limits(grid, level)
        frames.append(pd.DataFrame({f.precision_name: grid, "target": f.target, "lower": low, "upper": high, "confidence": level}))
    out = pd.concat(frames, ignore_index=True)
    return f.stamp(out)


# --------------------------------------------------------------------------- the plot


def _plot_label(value: object) -> str:
    text = str(value)
    if "=" in text:
        text = " / ".join(part.split("=", 1)[-1] for part in text.split(";"))
    return text


def funnel_plot(
    data: pd.DataFrame,
    *,
    kind: str = "ratio",
    observed: str = "observed",
    expected: str = "expected",
    n: str = "n",
    label: str | Sequence[str] | None = None,
    target: float | str | None = None,
    confidence: float | Iterable[float] = (0.95, 0.998),
    method: str = "truncation",
    trim: float = 0.1,
    limits: str = "exact",
    truncation_rule: str = "percentile",
    ax: Axes | None = None,
    title: str | None = None,
    expected_source: str | None = None,
    label_outside: bool = True,
    percent: bool = True,
    footnote: bool = True,
) -> Axes:
    """Draw a funnel plot: units, target, control limits, labels for units outside, and phi/tau2.

    Parameters
    ----------
    data, kind, observed, expected, n, label, target, confidence, method, trim, limits, truncation_rule
        As for :func:`funnel_units`.
    ax
        Matplotlib Axes to draw on (default: a new figure).
    title
        Plot title.
    expected_source
        Where E came from, shown under the plot (default ``data.attrs["expected_source"]``
        or an ``expected_source`` column, if present).
    label_outside
        Write the names of units outside any limit next to their points.
    footnote
        Write phi, tau-squared, the method and the source of expected under the plot (a paper that
        states them in its table notes leaves this off).
    percent
        Proportions: show the y axis as percentages.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes; the figure's footnote names the method, phi and tau-squared.
        The limit lines pass through every unit's own limits, so a point
        coloured "High" lies above the line it crossed, and vice versa.

    Examples
    --------
    >>> units = pd.DataFrame({"group": ["A", "B", "C"], "observed": [90, 40, 30], "expected": [60.0, 40.0, 35.0]})
    >>> ax = funnel_plot(units)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .paper.method_text import method_words

    options: dict[str, Any] = dict(observed=observed, expected=expected, n=n, label=label, target=target, confidence=confidence,
                   method=method, trim=trim, limits=limits, truncation_rule=truncation_rule)
    units = funnel_units(data, kind=kind, **options)
    limit_table = funnel_limits(data, kind=kind, **options)
    if ax is None:
        _, ax = plt.subplots()
    prec = "expected" if kind == "ratio" else "n"
    scale = 100.0 if (kind == "proportion" and percent) else 1.0
    levels = sorted(limit_table["confidence"].unique())
    styles = ["--", "-", ":", "-."]
    for i, level in enumerate(levels):
        part = limit_table[limit_table["confidence"] == level]
        style = styles[i % len(styles)]
        ax.plot(part[prec], part["lower"] * scale, color="0.35", linestyle=style, linewidth=1, label=f"{_pct(level)} limits")
        ax.plot(part[prec], part["upper"] * scale, color="0.35", linestyle=style, linewidth=1)
    target_value = float(limit_table["target"].iloc[0])
    ax.axhline(target_value * scale, color="0.2", linewidth=1, label="target")
    one = units[units["confidence"] == units["confidence"].min()].copy()
    one["plot_y"] = one["estimate"] * scale
    order = [lab for lab in _significance_order(levels) if lab in set(one["significance"])]
    palette = _palette(order)
    sns.scatterplot(data=one, x=prec, y="plot_y", hue="significance", hue_order=order, palette=palette,
                    ax=ax, s=40, edgecolor="black", linewidth=0.4, zorder=3)
    label_cols = [c for c in units.columns[: list(units.columns).index("observed")]]
    if label_outside:
        for _, row in one[one["significance"] != "Not significant"].iterrows():
            text = " / ".join(_plot_label(row[c]) for c in label_cols)
            ax.annotate(text, (row[prec], row["plot_y"]), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_xlabel("Expected reoffenders (E)" if kind == "ratio" else "People in unit (n)")
    ax.set_ylabel("Observed / expected (O/E)" if kind == "ratio" else ("Reoffending rate (%)" if scale == 100 else "Proportion"))
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    words = {lab: _legend_words(lab, levels) for lab in order}
    ax.legend(handles, [words.get(lab, lab) for lab in labels], loc="best", fontsize=8, frameon=True)
    first = units.iloc[0]
    phi_text = "n/a" if not np.isfinite(first["phi"]) else f"{first['phi']:.2f}"
    tau_text = "n/a" if not np.isfinite(first["tau2"]) else f"{first['tau2']:.4f}"
    if expected_source is None:
        expected_source = data.attrs.get("expected_source")
        if expected_source is None and "expected_source" in data:
            expected_source = str(data["expected_source"].iloc[0])
    lines = [f"phi = {phi_text}, tau\u00b2 = {tau_text}, from {int(first['n_used'])} of {len(one)} units; "
             + ("limits adjusted for overdispersion" if first["adjusted"] else f"unadjusted {first['limits']} limits")]
    lines += textwrap.wrap("Method: " + method_words(str(first["method"]), first), 110)
    if kind == "ratio" and expected_source:
        lines += textwrap.wrap(f"Expected: {expected_source}", 110)
    if footnote:
        ax.text(0.0, -0.17, "\n".join(lines), transform=ax.transAxes, fontsize=8, va="top", ha="left")
    return ax


def _significance_order(levels: Sequence[float]) -> list[str]:
    wide_first = sorted(levels, reverse=True)
    high = [f"High ({_tail(level)})" for level in wide_first]
    low = [f"Low ({_tail(level)})" for level in reversed(wide_first)]
    return high + ["Not significant"] + low


def _legend_words(significance: str, levels: Sequence[float]) -> str:
    """A significance label in the legend's plain words: "High (0.001)" -> "Above the 99.8% limit"."""
    if significance == "Not significant":
        return "Within the limits"
    side, _, tail = significance.partition(" (")
    level = next((lv for lv in levels if _tail(lv) == tail.rstrip(")")), None)
    where = "Above" if side == "High" else "Below"
    return f"{where} the {_pct(level)} limit" if level is not None else significance


def _palette(order: Sequence[str]) -> dict[str, object]:
    import seaborn as sns

    reds = sns.color_palette("Reds_r", 3)
    blues = sns.color_palette("Blues_r", 3)
    palette: dict[str, object] = {}
    hi = [lab for lab in order if lab.startswith("High")]
    lo = [lab for lab in order if lab.startswith("Low")]
    for i, lab in enumerate(hi):
        palette[lab] = reds[min(i, 2)]
    for i, lab in enumerate(reversed(lo)):
        palette[lab] = blues[min(i, 2)]
    palette["Not significant"] = (0.75, 0.75, 0.75)
    return palette
