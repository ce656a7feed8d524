"""Diagnostics for the risk-flags model: discrimination, calibration, collinearity, interactions.

Everything is computed on covariate-pattern cells weighted by their counts
(the same numbers as on the individual rows, at a fraction of the cost):

* :func:`discrimination` - C-statistic (AUC) with DeLong's interval;
* :func:`calibration` - calibration-in-the-large and calibration slope;
* :func:`calibration_table` / :func:`calibration_plot` - observed against
  predicted by tenth (decile) of predicted risk;
* :func:`hosmer_lemeshow` - the Hosmer-Lemeshow goodness-of-fit test;
* :func:`flag_collinearity` - variance inflation factors and correlations of the flags;
* :func:`interaction_tests` - flag x area and flag x age-band likelihood-ratio tests;
* :func:`flag_effect_by` - a flag's odds ratio within each level of another variable.

Pass ``data=`` to assess the model on other rows (e.g. a model fitted on the
baseline period, checked on the published period); without it the
diagnostics are *apparent* (in-sample), where calibration-in-the-large is 0
and the slope 1 by construction.

Examples
--------
>>> import analysis
>>> fit = analysis.fit_flags_model(cohort)   # doctest: +SKIP
>>> analysis.discrimination(fit)             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .fitting import irls, single_threaded_blas
from .intervals import critical_value, one_confidence_level, proportion_ci
from .models import DEFAULT_ADJUST, FlagsModel, fit_logistic, lr_test, units_on
from .schema import FLAGS, OUTCOME

__all__ = [
    "discrimination",
    "calibration",
    "calibration_table",
    "calibration_plot",
    "hosmer_lemeshow",
    "flag_collinearity",
    "interaction_tests",
    "flag_effect_by",
    "auc_from_counts",
    "RISK_GROUPINGS",
]


def _scored(model: FlagsModel, data: pd.DataFrame | None, trials: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(linear predictor, successes, trials) per cell, for the fitted data or for ``data`` (rows, or cells with ``trials``)."""
    if data is None:
        return model.linear_predictor(), model.units.successes, model.units.trials
    if model.units.offset is not None:
        raise ValueError("a model with an offset can only be assessed on its own data")
    units = units_on(data, model.design, outcome=model.outcome, trials=trials)
    lp = model.design.matrix(units.data, model.keep) @ model.params.to_numpy()
    return lp, units.successes, units.trials


def _assessed_on(data: pd.DataFrame | None) -> str:
    """The ``assessed_on`` code: ``"fitted_data"`` (apparent, in-sample) or ``"data_supplied"``."""
    return "fitted_data" if data is None else "data_supplied"


def auc_from_counts(score: np.ndarray, events: np.ndarray, trials: np.ndarray, *, confidence: float = 0.95) -> dict[str, float]:
    """C-statistic and DeLong standard error from grouped data (score, events, trials).

    Ties count one half. DeLong, DeLong and Clarke-Pearson (1988): the
    variance is ``S10/m + S01/n`` from the placement values of the ``m``
    events and ``n`` non-events.

    Examples
    --------
    >>> r = auc_from_counts(np.array([0.1, 0.9]), np.array([1, 3]), np.array([4, 4]))
    >>> round(r["auc"], 4)
    0.75
    """
    score = np.asarray(score, dtype=float)
    s = np.asarray(events, dtype=float)
    f = np.asarray(trials, dtype=float) - s
    uniq, inv = np.unique(score, return_inverse=True)
    sv = np.bincount(inv, weights=s, minlength=uniq.size)
    fv = np.bincount(inv, weights=f, minlength=uniq.size)
    m, n = sv.sum(), fv.sum()
    if m == 0 or n == 0:
        return {"auc": np.nan, "se": np.nan, "lower": np.nan, "upper": np.nan, "events": m, "non_events": n}
    f_below = np.cumsum(fv) - fv
    s_above = sv.sum() - np.cumsum(sv)
    v10 = (f_below + 0.5 * fv) / n  # placement of each event
    v01 = (s_above + 0.5 * sv) / m  # placement of each non-event
    auc = float((sv * v10).sum() / m)
    s10 = float((sv * (v10 - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
    s01 = float((fv * (v01 - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
    se = float(np.sqrt(s10 / m + s01 / n))
    zc = critical_value(confidence)
    return {"auc": auc, "se": se, "lower": max(0.0, auc - zc * se), "upper": min(1.0, auc + zc * se), "events": m, "non_events": n}


def discrimination(model: FlagsModel, data: pd.DataFrame | None = None, *, confidence: float = 0.95) -> pd.DataFrame:
    """C-statistic (area under the ROC curve) of the model's predictions, with DeLong's interval.

    Returns
    -------
    pandas.DataFrame
        One row: ``statistic`` ("c_statistic"), ``estimate``, ``lower``,
        ``upper``, ``se``, ``n``, ``events``, ``assessed_on`` (``"fitted_data"``:
        apparent, in-sample; ``"data_supplied"``: on ``data``), ``method``
        (``"delong"``: DeLong's interval, ties counting one half), ``confidence``.

    Examples
    --------
    One flag; 3 of 4 flagged and 2 of 6 others reoffended. Of the 5 x 5 pairs
    of a reoffender and a non-reoffender, 12 are ranked the right way round
    and 3 + 8 tie, so ``C = (12 + 11 / 2) / 25 = 0.7``:

    >>> import analysis
    >>> people = pd.DataFrame({"homeless": [1] * 4 + [0] * 6, "reoffended": [1, 1, 1, 0] + [1, 1, 0, 0, 0, 0]})
    >>> fit = analysis.fit_flags_model(people, flags=["homeless"], adjust=[])
    >>> discrimination(fit)[["statistic", "estimate", "n", "events"]]
         statistic  estimate   n  events
    0  c_statistic       0.7  10       5
    """
    confidence = one_confidence_level(confidence, function="discrimination")
    lp, s, n = _scored(model, data)
    r = auc_from_counts(lp, s, n, confidence=confidence)
    return pd.DataFrame([{
        "statistic": "c_statistic",
        "estimate": r["auc"],
        "lower": r["lower"],
        "upper": r["upper"],
        "se": r["se"],
        "n": int(n.sum()),
        "events": int(s.sum()),
        "assessed_on": _assessed_on(data),
        "method": "delong",
        "confidence": confidence,
    }])


@single_threaded_blas
def calibration(model: FlagsModel, data: pd.DataFrame | None = None, *, confidence: float = 0.95,
                trials: str | None = None) -> pd.DataFrame:
    """Calibration-in-the-large and calibration slope.

    ``data`` (default: the fitted data) may be rows, or cells of people when
    ``trials`` names the column counting them (the outcome then counts those
    with the outcome); both give the same result.

    Calibration-in-the-large is the intercept ``a`` of ``logit P(y) = a + lp``
    (the linear predictor as an offset; 0 is perfect, > 0 means more
    reoffending than predicted). The slope is ``b`` in ``logit P(y) = a + b lp``
    (1 is perfect; < 1 means predictions too extreme).

    Returns
    -------
    pandas.DataFrame
        Rows ``calibration_in_the_large`` and ``calibration_slope`` with
        ``estimate``, ``lower``, ``upper``, ``target`` (0 and 1),
        ``p_value`` (against the target), ``n``, ``assessed_on`` (as
        :func:`discrimination`), ``method`` (``"logistic_recalibration"``: on
        the linear predictor, an offset for the intercept; Wald intervals),
        ``confidence``.

    Examples
    --------
    Fitted where 3 of 4 flagged and 2 of 6 others reoffended (logits ``ln 3``
    and ``ln 1/2``, ``ln 6`` apart), applied where 1 of 2 and 1 of 5 did
    (logits 0 and ``ln 1/4``, ``ln 4`` apart): the slope is ``ln 4 / ln 6 =
    0.774`` (predictions too extreme), and ``a = -0.853`` solves
    ``2 expit(ln 3 + a) + 5 expit(ln 1/2 + a) = 2`` (fewer reoffended than predicted).

    >>> import analysis
    >>> before = pd.DataFrame({"homeless": [1] * 4 + [0] * 6, "reoffended": [1, 1, 1, 0] + [1, 1, 0, 0, 0, 0]})
    >>> after = pd.DataFrame({"homeless": [1] * 2 + [0] * 5, "reoffended": [1, 0] + [1, 0, 0, 0, 0]})
    >>> fit = analysis.fit_flags_model(before, flags=["homeless"], adjust=[])
    >>> calibration(fit, after)[["statistic", "estimate", "target"]].round(3)
                      statistic  estimate  target
    0  calibration_in_the_large    -0.853     0.0
    1         calibration_slope     0.774     1.0
    """
    confidence = one_confidence_level(confidence, function="calibration")
    lp, s, n = _scored(model, data, trials)
    zc = critical_value(confidence)
    ones = np.ones((lp.shape[0], 1))
    a, cov_a, _, _ = irls(ones, s, n, lp)
    b, cov_b, _, _ = irls(np.column_stack([np.ones_like(lp), lp]), s, n, None)
    rows = []
    for name, est, se, target in (
        ("calibration_in_the_large", a[0], np.sqrt(cov_a[0, 0]), 0.0),
        ("calibration_slope", b[1], np.sqrt(cov_b[1, 1]), 1.0),
    ):
        rows.append({
            "statistic": name,
            "estimate": float(est),
            "lower": float(est - zc * se),
            "upper": float(est + zc * se),
            "target": target,
            "p_value": float(2 * stats.norm.sf(abs(est - target) / se)) if se > 0 else np.nan,
            "n": int(n.sum()),
            "assessed_on": _assessed_on(data),
            "method": "logistic_recalibration",
            "confidence": confidence,
        })
    return pd.DataFrame(rows)


RISK_GROUPINGS: tuple[str, ...] = ("equal-size", "quantile")
"""Ways of forming the risk groups of :func:`calibration_table` and :func:`hosmer_lemeshow` (``grouping=``): groups of
equal size by predicted risk, people with the same prediction kept together; or groups cut at the quantiles of predicted
risk (R quantile type 7, intervals closed on the right), as ResourceSelection's hoslem.test."""


def _risk_groups(p: np.ndarray, n: np.ndarray, groups: int, grouping: str) -> np.ndarray:
    """Group number (0-based) of each cell, given predictions ``p`` sorted ascending and people per cell ``n``.

    ``"equal-size"``: the cells with one prediction (one cell, or several
    when the model has a numeric term and scores each person) go together in
    group ``floor(groups x m / N)``, m the midpoint of their people in the
    sorted order, so people with the same prediction are never split. ``"quantile"``: breaks at the
    type-7 quantiles of the N people's predictions at 0, 1/groups, ..., 1
    (duplicates removed); a cell goes in the interval ``(b_k, b_k+1]`` that
    holds its prediction, the first interval also holding ``b_0``.
    """
    N = n.sum()
    if grouping == "equal-size":
        tie = np.cumsum(np.r_[True, p[1:] != p[:-1]]) - 1 if p.size else np.zeros(0, dtype=int)
        n_tie = np.bincount(tie, weights=n)
        mid = np.cumsum(n_tie) - n_tie / 2
        return np.minimum((mid / N * groups).astype(int), groups - 1)[tie]
    cum = np.cumsum(n)
    probs = np.minimum(np.arange(groups + 1) * (1 / groups), 1.0)  # R: seq(0, 1, 1/g)
    index = 1 + (N - 1) * probs  # 1-based position, as R's quantile(type = 7)
    lo, hi = np.floor(index), np.ceil(index)

    def person(i: np.ndarray) -> np.ndarray:  # prediction of the i-th person (1-based) in sorted order
        return p[np.searchsorted(cum, i - 1, side="right")]

    qs, x_hi = person(lo), person(hi)
    h = index - lo
    qs = np.where((index > lo) & (x_hi != qs), (1 - h) * qs + h * x_hi, qs)
    breaks = np.unique(qs)
    if breaks.size < 2:
        return np.zeros(p.shape, dtype=int)
    return np.clip(np.searchsorted(breaks, p, side="left") - 1, 0, breaks.size - 2)


def calibration_table(
    model: FlagsModel,
    data: pd.DataFrame | None = None,
    *,
    groups: int = 10,
    confidence: float = 0.95,
    grouping: str = "equal-size",
    trials: str | None = None,
) -> pd.DataFrame:
    """Observed and predicted reoffending by group (tenth) of predicted risk.

    Parameters
    ----------
    model
        The fitted model.
    data
        Rows to assess the model on (default: the fitted data).
    groups
        Number of risk groups requested (default 10).
    confidence
        Level of the Wilson interval for each group's observed rate.
    grouping
        ``"equal-size"`` (default): people are sorted by predicted probability
        and cut into ``groups`` groups of (as near as ties allow) equal size;
        people with the same prediction stay together, and a group of tied
        people goes where the middle of the tie falls. ``"quantile"``: the
        groups are cut at the quantiles of predicted risk as R's
        ``ResourceSelection::hoslem.test`` does (``cut(p, unique(quantile(p,
        seq(0, 1, 1/g))), include.lowest = TRUE)``). The two differ when many
        people share a prediction; empty groups are dropped.
    trials
        The column counting each row's people when ``data`` is given as cells.

    Returns
    -------
    pandas.DataFrame
        ``group`` (1 = lowest risk), ``n``, ``observed``, ``expected``
        (counts), ``observed_rate`` and ``expected_rate`` (``observed / n`` and
        ``expected / n``, fractions), ``lower``/``upper`` (Wilson interval of
        the observed rate), ``grouping``, ``statistic``, ``assessed_on`` (as
        :func:`discrimination`), ``method`` (``"calibration_by_risk_group"``),
        ``confidence``.

    Examples
    --------
    >>> import analysis
    >>> analysis.calibration_table(fit, grouping="quantile")  # doctest: +SKIP
    """
    confidence = one_confidence_level(confidence, function="calibration_table")
    if grouping not in RISK_GROUPINGS:
        raise ValueError(f"grouping must be one of {list(RISK_GROUPINGS)}, not {grouping!r}")
    lp, s, n = _scored(model, data, trials)
    p = expit(lp)
    order = np.argsort(p, kind="stable")
    p, s, n = p[order], s[order], n[order]
    g = _risk_groups(p, n, groups, grouping)
    size = max(groups, int(g.max()) + 1 if g.size else 0)
    n_g = np.bincount(g, weights=n, minlength=size)
    o_g = np.bincount(g, weights=s, minlength=size)
    e_g = np.bincount(g, weights=n * p, minlength=size)
    used = n_g > 0
    ci = proportion_ci(o_g[used], n_g[used], method="wilson", confidence=confidence)
    out = pd.DataFrame({
        "group": np.arange(1, size + 1)[used],
        "n": n_g[used].astype(np.int64),
        "observed": o_g[used].astype(np.int64),
        "expected": e_g[used],
        "observed_rate": o_g[used] / n_g[used],
        "expected_rate": e_g[used] / n_g[used],
        "lower": ci["lower"].to_numpy(),
        "upper": ci["upper"].to_numpy(),
        "grouping": grouping,
        "statistic": "observed_vs_expected_by_risk_group",
        "assessed_on": _assessed_on(data),
        "method": "calibration_by_risk_group",
        "confidence": confidence,
    })
    return out


def hosmer_lemeshow(
    model: FlagsModel, data: pd.DataFrame | None = None, *, groups: int = 10, grouping: str = "equal-size"
) -> pd.DataFrame:
    """Hosmer-Lemeshow goodness-of-fit test over groups of predicted risk.

    ``H = sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g))`` (the same as summing
    ``(O - E)^2 / E`` over reoffenders and non-reoffenders in each group) on
    ``G - 2`` degrees of freedom for the fitted data and ``G`` for other data
    (Hosmer and Lemeshow 2000), G the number of non-empty groups. With tens of
    thousands of people it rejects for trivial miscalibration: read it with
    the calibration plot.

    Parameters
    ----------
    model, data, groups
        As for :func:`calibration_table`.
    grouping
        ``"equal-size"`` (default) or ``"quantile"``, as for
        :func:`calibration_table`. ``grouping="quantile"`` on the fitted data
        reproduces R's ``ResourceSelection::hoslem.test(y, fitted(model), g)``
        (statistic, degrees of freedom and p-value); on other data
        ``hoslem.test`` would still use ``G - 2`` degrees of freedom.

    Returns
    -------
    pandas.DataFrame
        One row: ``statistic`` ("hosmer_lemeshow"), ``estimate`` (H), ``df``,
        ``p_value``, ``groups``, ``n``, ``grouping``, ``assessed_on`` (as
        :func:`discrimination`), ``method`` (``"hosmer_lemeshow"``).

    Examples
    --------
    >>> import analysis
    >>> analysis.hosmer_lemeshow(fit, grouping="quantile")  # doctest: +SKIP
    """
    t = calibration_table(model, data, groups=groups, grouping=grouping)
    o, e, n = t["observed"].to_numpy(float), t["expected"].to_numpy(float), t["n"].to_numpy(float)
    h = float(((o - e) ** 2 / (e * (1 - e / n))).sum())
    df = len(t) - (2 if data is None else 0)
    return pd.DataFrame([{
        "statistic": "hosmer_lemeshow",
        "estimate": h,
        "df": df,
        "p_value": float(stats.chi2.sf(h, df)),
        "groups": len(t),
        "n": int(n.sum()),
        "grouping": grouping,
        "assessed_on": _assessed_on(data),
        "method": "hosmer_lemeshow",
    }])


def _flag_matrix(source: FlagsModel | pd.DataFrame, flags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(source, FlagsModel):
        F = np.column_stack([(source.units.data[f] == 1).astype(float) for f in flags])
        return F, source.units.trials.astype(float)
    F = np.column_stack([source[f].to_numpy(dtype=float, na_value=np.nan) for f in flags])
    keep = ~np.isnan(F).any(axis=1)
    return F[keep], np.ones(int(keep.sum()))


def flag_collinearity(source: FlagsModel | pd.DataFrame, *, flags: Sequence[str] | None = None) -> pd.DataFrame:
    """Collinearity of the flags: variance inflation factors and the strongest pairwise correlation.

    ``VIF_j = 1 / (1 - R_j^2)`` from regressing flag j on the other flags
    (with a constant), computed as the diagonal of the inverse correlation
    matrix (phi coefficients between 0/1 flags). Values above about 5 would
    make the adjusted odds ratios hard to separate; flags typically are far below.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``vif``, ``most_correlated_with``, ``correlation``,
        ``prevalence`` (the share of people flagged, a fraction), ``n``,
        ``statistic``, ``method`` (``"vif"``: the diagonal of the inverse
        phi-correlation matrix).

    Examples
    --------
    Two flags with phi correlation ``(1/4 - 1/2 x 1/4) / sqrt(1/4 x 3/16) = 1/sqrt(3) = 0.577``,
    so each VIF is ``1 / (1 - 1/3) = 1.5``:

    >>> flags = pd.DataFrame({"dv": [1, 1, 0, 0], "homeless": [1, 0, 0, 0]})
    >>> flag_collinearity(flags)[["term", "vif", "most_correlated_with", "correlation"]].round(3)
           term  vif most_correlated_with  correlation
    0        dv  1.5             homeless        0.577
    1  homeless  1.5                   dv        0.577
    """
    if flags is None:
        flags = list(source.flags) if isinstance(source, FlagsModel) else [f for f in FLAGS if f in source.columns]
    flags = list(flags)
    F, w = _flag_matrix(source, flags)
    W = w.sum()
    mean = (w @ F) / W
    C = ((F - mean) * w[:, None]).T @ (F - mean) / W
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    vif = np.diag(np.linalg.inv(R))
    rows = []
    for j, f in enumerate(flags):
        r = R[j].copy()
        r[j] = 0
        k = int(np.argmax(np.abs(r))) if len(flags) > 1 else j
        rows.append({
            "term": f,
            "vif": float(vif[j]),
            "most_correlated_with": flags[k] if len(flags) > 1 else "",
            "correlation": float(R[j, k]) if len(flags) > 1 else np.nan,
            "prevalence": float(mean[j]),
            "n": int(W),
            "statistic": "variance_inflation_factor",
            "method": "vif",
        })
    return pd.DataFrame(rows)


@single_threaded_blas
def interaction_tests(
    cohort: pd.DataFrame,
    *,
    flags: Sequence[str] = FLAGS,
    by: str | Sequence[str] = ("area", "age_band"),
    adjust: Sequence[str] = DEFAULT_ADJUST,
    outcome: str = OUTCOME,
    base: FlagsModel | None = None,
    trials: str | None = None,
) -> pd.DataFrame:
    """Likelihood-ratio tests of flag x area, flag x age band (and any ``by``) interactions.

    Each test adds one interaction (the flag with every non-reference level
    of ``by``) to the adjusted main-effects model and compares the
    individual-level likelihoods. With 12 tests, read the Holm-adjusted p-value.
    ``trials`` names the column counting each row's people when the cohort is
    given as cells (as in :func:`analysis.fit_flags_model`).

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``by``, ``lr``, ``df``, ``p_value``, ``p_holm``, ``n``,
        ``separation`` (terms with infinite estimates, if any), ``statistic``,
        ``method`` (``"likelihood_ratio_holm"``: the LR test of the interaction
        added to the adjusted main-effects model, Holm's adjustment over the
        tests shown); sorted by ``p_value``.

    Examples
    --------
    In area A 3 of 4 flagged people and 1 of 4 others reoffended; in B the
    reverse. Without the interaction every fitted rate is 1/2; with it the
    model reproduces each cell, so ``LR = 2 sum O ln(O / E) = 8 (3 ln 1.5 - ln 2)
    = 4.186`` on 1 degree of freedom (p = 0.041):

    >>> people = pd.DataFrame({"area": ["A"] * 8 + ["B"] * 8, "homeless": ([1] * 4 + [0] * 4) * 2,
    ...                        "reoffended": [1, 1, 1, 0, 1, 0, 0, 0] + [1, 0, 0, 0, 1, 1, 1, 0]})
    >>> interaction_tests(people, flags=["homeless"], by="area", adjust=["area"])[["flag", "by", "lr", "df", "p_value"]].round(3)
           flag    by     lr  df  p_value
    0  homeless  area  4.186   1    0.041
    """
    from statsmodels.stats.multitest import multipletests

    flags = [flags] if isinstance(flags, str) else list(flags)
    by = [by] if isinstance(by, str) else list(by)
    terms = [*flags, *[a for a in adjust if a not in flags]]
    for b in by:
        if b not in terms:
            terms.append(b)
    if base is None:
        base = fit_logistic(cohort, terms, outcome=outcome, firth=False, flags=flags, check_separation=False, trials=trials)
    rows = []
    for b in by:
        for f in flags:
            full = fit_logistic(cohort, terms, outcome=outcome, interactions=[(f, b)], firth=False, flags=flags, trials=trials)
            t = lr_test(base, full)
            rows.append({"flag": f, "by": b, "lr": t["lr"], "df": t["df"], "p_value": t["p_value"], "n": full.nobs,
                         "separation": ", ".join(full.separation["term"])})
    out = pd.DataFrame(rows)
    out["p_holm"] = multipletests(out["p_value"].to_numpy(), method="holm")[1] if len(out) else []
    out["statistic"] = "likelihood_ratio_chi2"
    out["method"] = "likelihood_ratio_holm"
    cols = ["flag", "by", "lr", "df", "p_value", "p_holm", "n", "separation", "statistic", "method"]
    return out[cols].sort_values(["p_value", "flag", "by"], kind="stable").reset_index(drop=True)


@single_threaded_blas
def flag_effect_by(
    cohort: pd.DataFrame,
    flag: str,
    by: str,
    *,
    flags: Sequence[str] = FLAGS,
    adjust: Sequence[str] = DEFAULT_ADJUST,
    outcome: str = OUTCOME,
    confidence: float = 0.95,
    trials: str | None = None,
) -> pd.DataFrame:
    """A flag's adjusted odds ratio within each level of ``by``, from the model with their interaction.

    ``OR_level = exp(b_flag + b_flag:by[level])`` with a Wald interval from
    the coefficients' covariance. ``trials``: as in :func:`interaction_tests`.

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``by``, ``level``, ``odds_ratio``, ``lower``, ``upper``,
        ``p_value``, ``n`` (people in the level), ``n_flagged``, ``statistic``,
        ``model_method`` and ``fitted_on`` (the model's, as
        :attr:`analysis.FlagsModel.method_code` and ``fitted_on``), ``method``
        (``"interaction_model_wald"``), ``confidence``; empty when ``flag`` or
        ``by`` has one value in the data.

    Examples
    --------
    The model with the interaction reproduces each area's 2 x 2 table: in A
    the odds ratio is ``(3/1) / (1/3) = 9``, in B ``1/9``, each with the Wald
    interval ``OR exp(+/- 1.96 sqrt(1/3 + 1 + 1 + 1/3))``:

    >>> people = pd.DataFrame({"area": ["A"] * 8 + ["B"] * 8, "homeless": ([1] * 4 + [0] * 4) * 2,
    ...                        "reoffended": [1, 1, 1, 0, 1, 0, 0, 0] + [1, 0, 0, 0, 1, 1, 1, 0]})
    >>> t = flag_effect_by(people, "homeless", "area", flags=["homeless"], adjust=["area"])
    >>> t[["level", "odds_ratio", "lower", "upper", "n", "n_flagged"]].round(3)
      level  odds_ratio  lower    upper  n  n_flagged
    0     A       9.000  0.367  220.927  8          4
    1     B       0.111  0.005    2.727  8          4
    """
    confidence = one_confidence_level(confidence, function="flag_effect_by")
    flags = list(flags)
    terms = [*flags, *[a for a in adjust if a not in flags]]
    if by not in terms:
        terms.append(by)
    model = fit_logistic(cohort, terms, outcome=outcome, interactions=[(flag, by)], flags=flags, confidence=confidence,
                         trials=trials)
    columns = ["flag", "by", "level", "odds_ratio", "lower", "upper", "p_value", "n", "n_flagged", "statistic", "model_method", "fitted_on",
               "method", "confidence"]
    if by not in model.design.variables or flag not in model.design.variables:
        return pd.DataFrame(columns=columns)  # one value in the data: nothing to compare
    names = list(model.params.index)
    var = model.design.variables[by]
    zc = critical_value(confidence)
    V = model.cov.to_numpy()
    b = model.params.to_numpy()
    n, codes, fl = model.units.trials, model.units.data[by], model.units.data[flag] == 1
    rows = []
    for i, level in enumerate(var.levels):
        c = np.zeros(len(names))
        c[names.index(flag)] = 1
        if i > 0:
            name = f"{flag}:{by}[{level}]"
            if name not in names:
                continue
            c[names.index(name)] = 1
        est, se = float(c @ b), float(np.sqrt(c @ V @ c))
        rows.append({
            "flag": flag, "by": by, "level": level,
            "odds_ratio": np.exp(est), "lower": np.exp(est - zc * se), "upper": np.exp(est + zc * se),
            "p_value": float(2 * stats.norm.sf(abs(est / se))),
            "n": int(n[codes == i].sum()), "n_flagged": int(n[(codes == i) & fl].sum()),
            "statistic": "odds_ratio",
            "model_method": model.method_code,
            "fitted_on": model.fitted_on,
            "method": "interaction_model_wald",
            "confidence": confidence,
        })
    return pd.DataFrame(rows)


def calibration_plot(table: pd.DataFrame, *, ax: Any = None, title: str = "Calibration by tenth of predicted risk") -> Any:
    """Observed against predicted reoffending (%) by risk group, with the line of perfect calibration.

    Parameters
    ----------
    table
        Output of :func:`calibration_table`.
    ax
        A matplotlib Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Two groups of predicted risk (the flagged and the others), each observed as predicted:

    >>> import analysis
    >>> people = pd.DataFrame({"homeless": [1] * 4 + [0] * 6, "reoffended": [1, 1, 1, 0] + [1, 1, 0, 0, 0, 0]})
    >>> table = calibration_table(analysis.fit_flags_model(people, flags=["homeless"], adjust=[]), groups=2)
    >>> table[["group", "n", "observed_rate", "expected_rate"]].round(3)
       group  n  observed_rate  expected_rate
    0      1  6          0.333          0.333
    1      2  4          0.750          0.750
    >>> ax = calibration_plot(table)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Predicted reoffending (%)', 'Observed reoffending (%)')
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    pct = pd.DataFrame({"expected": 100 * table["expected_rate"], "observed": 100 * table["observed_rate"],
                        "lower": 100 * table["lower"], "upper": 100 * table["upper"]})  # the table's fractions, drawn in %
    lim = [0, max(100.0, float(pct[["observed", "expected"]].max().max()))]
    ax.plot(lim, lim, color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    ax.errorbar(pct["expected"], pct["observed"],
                yerr=[pct["observed"] - pct["lower"], pct["upper"] - pct["observed"]],
                fmt="none", ecolor="black", elinewidth=1, capsize=2)
    sns.scatterplot(data=pct, x="expected", y="observed", ax=ax, s=40, color="C0", label="risk group")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("Predicted reoffending (%)")
    ax.set_ylabel("Observed reoffending (%)")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return ax
