"""The words for the ``method`` codes of the statistics tables (docs/api.md, rule 7).

Every table function of the stats layer writes in its ``method`` column a
short, stable snake_case code (``"wilson"``, ``"delong"``, ``"p_chart"``);
what was data-dependent in the old sentences (the sample assessed, the risk
grouping, the seed, the caliper, the periods, the outcome) is in other
columns of the same table. This module is the one place that turns a code and
those details into the words a paper, a chart's footnote or a CSV for
analysts prints:

* :data:`METHOD_WORDS` maps every code to its words (the fixed part);
* :func:`method_words` composes the full words of one code from the details
  (a table row, or keywords);
* :func:`table_method_words` gives the words of every row of a table.

Codes applied one after the other are joined by ``+`` (``"p_chart+special_causes"``:
a p-chart whose points were then checked for special causes); their words
are joined by ``"; "``.

Examples
--------
>>> method_words("wilson")
'Wilson score interval'
>>> method_words("delong", assessed_on="fitted_data")
'DeLong interval; ties count 1/2; apparent (the fitted data)'
>>> method_words("logistic", fitted_on="cells")
'logistic regression (maximum likelihood, Newton-Raphson) on covariate-pattern cells (exact grouped likelihood)'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["METHOD_WORDS", "CODE_SEPARATOR", "method_words", "table_method_words", "model_words", "propensity_words",
           "overdispersion_words", "ratio_interval_words", "risk_grouping_words"]

CODE_SEPARATOR = "+"
"""Joins the codes of methods applied one after the other (``"xmr+special_causes"``)."""

METHOD_WORDS: dict[str, str] = {
    # intervals for one proportion (intervals.proportion_ci, describe)
    "wilson": "Wilson score interval",
    "clopper_pearson": "Clopper-Pearson exact interval (beta quantiles)",
    "jeffreys": "Jeffreys interval (Bayesian, Jeffreys prior)",
    # two proportions (intervals.two_proportion_frame, compare_proportions, compare_with_rest)
    "newcombe": "Newcombe hybrid score interval; pooled two-proportion z-test",
    "katz_log": "log (Katz) interval",
    "woolf_log": "Woolf (log) interval",
    # an observed count against an expected one (intervals.ratio_ci, observed_vs_expected's ratio_method)
    "exact": "exact Poisson",
    "byar": "Byar's approximation",
    "not_computed": "not computed: count missing",
    # observed against expected (observed_vs_expected, oe_by_period)
    "oe_phe": "O/E interval: exact Poisson if O < 10, else Byar (PHE)",
    "oe_byar": "O/E interval: Byar's approximation for O",
    "oe_exact": "O/E interval: exact Poisson for O",
    "adjusted_baseline": "expected from a case-mix model fitted on the baseline period",
    "delta_method_internal": "delta method: Var(O - E) = sum p(1-p) - d'Vd (model fitted on the same people: internal standardisation)",
    "delta_method_external": "delta method: Var(O - E) = sum p(1-p) + d'Vd (model fitted on another period, independent of O)",
    # the flags model (models.FlagsModel)
    "logistic": "logistic regression (maximum likelihood, Newton-Raphson)",
    "firth": "Firth-penalised logistic regression (firthmodels)",
    "firth_profile": "Firth-penalised logistic regression (firthmodels); profile penalised-likelihood interval, Wald p-value",
    "flag_alone_logistic": "logistic regression on the flag alone",
    "flag_alone_firth": "Firth-penalised logistic regression on the flag alone (a zero cell)",
    "unadjusted_and_adjusted": "unadjusted: logistic regression on the flag alone; adjusted: the model",
    "unadjusted_and_adjusted_at_reference": "unadjusted: logistic regression on the flag alone; adjusted: the model; "
                                            "the flag's interaction terms make its adjusted OR the one at the reference level",
    "average_marginal_effect": "average discrete change p(flag=1) - p(flag=0) over the people in the model; delta method",
    "counterfactual_standardisation": "counterfactual standardisation over the people in the model (flag set to 1 and to 0, "
                                      "everything else as observed); delta-method intervals, log scale for the ratio",
    # attributable fractions
    "counterfactual_paf": "counterfactual standardisation (Greenland & Drescher 1993): A = mean predicted, B = mean with the "
                          "flag(s) set to 0; unconditional delta-method interval",
    "shapley_paf": "average (Shapley) over removal orders; adds up to the joint PAF",
    # diagnostics
    "delong": "DeLong interval; ties count 1/2",
    "logistic_recalibration": "logistic recalibration on the linear predictor (offset for the intercept); Wald interval",
    "calibration_by_risk_group": "Wilson interval for the observed rate",
    "hosmer_lemeshow": "Hosmer-Lemeshow chi-squared",
    "vif": "VIF of each flag on the other flags (diagonal of the inverse phi-correlation matrix)",
    "likelihood_ratio_holm": "likelihood-ratio test of the flag x variable interaction added to the adjusted main-effects model; "
                             "Holm adjustment over the tests shown",
    "interaction_model_wald": "adjusted odds ratio within each level (interaction model); Wald interval",
    # overdispersion and funnels
    "truncation": "SHMI truncation (units with outlying z dropped)",
    "winsorisation": "CQC winsorisation (outlying z capped at the percentiles)",
    "none": "no overdispersion adjustment",
    "exact_poisson": "funnel plot (exact Poisson test limits)",
    "exact_binomial": "funnel plot (exact binomial test limits)",
    "score": "funnel plot (score limits, UKHSA)",
    "random_effects_log": "funnel plot (random-effects limits on the log scale)",
    "random_effects_arcsine": "funnel plot (random-effects limits on the arcsine scale)",
    # KPIs over time
    "wilson_rate_per_period": "rate per period; Wilson score interval",
    "p_chart": "p-chart: centre = sum(events)/sum(n); limits centre +/- 3 sqrt(p(1-p)/n_i)",
    "xmr": "XmR chart (Making Data Count): limits centre +/- 2.66 x mean moving range",
    "xmr_rate": "XmR chart (Making Data Count) of a rate: limits centre +/- 2.66 x mean moving range, clipped to [0, 1]",
    "special_causes": "special causes (Making Data Count)",
    "mdc_variation_assurance": "variation from the latest point's special causes; assurance from the target against the latest "
                               "point's process limits (NHS England Making Data Count)",
    "data_lag": "complete when index date + follow-up + waiting <= as_of",
    # impact of an intervention
    "propensity_score": "logistic regression of the treatment on the covariates",
    "nearest_neighbour_matching": "1:1 nearest neighbour on the logit of the propensity score",
    "matched_pairs": "matched pairs: mean within-pair difference, paired variance ((b + c) - (b - c)^2/n)/n^2; Wald interval",
    "matching_with_replacement": "matching with replacement: comparisons weighted by their number of uses; variance of two "
                                 "independent (weighted) means with the weights fixed; Wald interval",
    "ipw_att": "inverse-probability weighting for the effect in the treated (participants 1, non-participants e/(1-e), "
               "normalised); M-estimation sandwich variance allowing for the estimated scores; Wald interval",
    "standardised_mean_difference": "(mean_t - mean_c) / sqrt((var_t + var_c) / 2), Austin 2009; p(1-p) for 0/1 indicators, "
                                    "weighted sample variance otherwise",
}
"""Every ``method`` code a table of the stats layer writes, and its words (the fixed part of :func:`method_words`)."""

_FITTED_ON = {"cells": "covariate-pattern cells (exact grouped likelihood)", "rows": "individual rows"}
_ASSESSED_ON = {"fitted_data": "apparent (the fitted data)", "data_supplied": "on the data supplied"}
_RISK_GROUPINGS = {
    "equal-size": "groups of equal size by predicted risk (people with the same prediction kept together)",
    "quantile": "groups cut at the quantiles of predicted risk (R quantile type 7, intervals closed on the right), "
                "as ResourceSelection's hoslem.test",
}
_FUNNEL_LIMITS = {
    "exact_poisson": "exact Poisson test limits: outside when P(X >= O) or P(X <= O) is below the tail, X ~ Poisson(target x E)",
    "exact_binomial": "exact binomial test limits: outside when P(X >= x) or P(X <= x) is below the tail, X ~ Binomial(n, target)",
    "score": "score limits p +/- z sqrt(p (1 - p) / n), clipped to [0, 1] (UKHSA)",
    "random_effects_log": "random-effects limits on the log scale, exp(+/- z sqrt(1/E + tau2))",
    "random_effects_arcsine": "random-effects limits on the arcsine scale, sin^2(asin(sqrt(p)) +/- z sqrt(1/(4n) + tau2))",
}


def _given(value: Any) -> bool:
    """A detail that was recorded (not None, not NaN)."""
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _need(details: Mapping[str, Any], code: str, *names: str) -> list[Any]:
    missing = [n for n in names if n not in details]
    if missing:
        raise KeyError(f"the words of method {code!r} need {missing} (a column of its table, or a keyword)")
    return [details[n] for n in names]


def model_words(model_method: str, fitted_on: str) -> str:
    """How a logistic model was fitted, in words: its code (``"logistic"``, ``"firth"``) and where (``"cells"``, ``"rows"``).

    Examples
    --------
    >>> model_words("firth", "rows")
    'Firth-penalised logistic regression (firthmodels), fitted on individual rows'
    """
    where = _FITTED_ON[fitted_on]
    if model_method == "firth":
        return f"{METHOD_WORDS['firth']}, fitted on {where}"
    if model_method == "logistic":
        return f"{METHOD_WORDS['logistic']} on {where}"
    raise ValueError(f"no words for the model method {model_method!r}")


def propensity_words(treatment: str, covariates: Any, model_method: str, fitted_on: str) -> str:
    """The propensity model in words: the treatment, the covariates it is regressed on and how it was fitted.

    Examples
    --------
    >>> propensity_words("took_part", ["dv", "sex"], "logistic", "cells")
    "logistic regression of 'took_part' on dv, sex: logistic regression (maximum likelihood, Newton-Raphson) on covariate-pattern cells (exact grouped likelihood)"
    """
    names = covariates if isinstance(covariates, str) else ", ".join(covariates)
    text = f"logistic regression of '{treatment}' on {names}: {model_words(model_method, fitted_on)}"
    if model_method == "firth":
        text += " (Firth: some covariate pattern is all participants or all non-participants, so overlap fails there)"
    return text


def risk_grouping_words(grouping: str) -> str:
    """How the risk groups of a calibration table were formed (``"equal-size"`` or ``"quantile"``), in words.

    Examples
    --------
    >>> risk_grouping_words("equal-size")
    'groups of equal size by predicted risk (people with the same prediction kept together)'
    """
    return _RISK_GROUPINGS[grouping]


def ratio_interval_words(code: str) -> str:
    """The interval used for an observed count (``ratio_ci``'s ``method``, ``ratio_method``), in words.

    Examples
    --------
    >>> ratio_interval_words("byar")
    "Byar's approximation"
    """
    if code not in ("exact", "byar", "not_computed"):
        raise ValueError(f"no words for the ratio interval {code!r}")
    return METHOD_WORDS[code]


def _pct_word(q: float) -> str:
    value = f"{100 * q:.10g}"
    last = value[-1] if value[-1].isdigit() else ""
    tens = value[-2:-1] if len(value) >= 2 else ""
    if tens == "1" or last not in "123":
        return value + "th"
    return value + {"1": "st", "2": "nd", "3": "rd"}[last]


def overdispersion_words(method: str, trim: float, truncation_rule: str) -> str:
    """How overdispersion was estimated (``estimate_overdispersion``'s ``method``, ``trim`` and ``truncation_rule``), in words.

    Examples
    --------
    >>> overdispersion_words("winsorisation", 0.1, "percentile")
    'CQC winsorisation (z capped at the 10th and 90th percentiles, linear interpolation)'
    """
    if method == "none" or trim == 0:
        return METHOD_WORDS["none"] if method == "none" else f"{METHOD_WORDS[method].split(' (')[0]} with trim = 0 (all units)"
    lo, hi = _pct_word(trim), _pct_word(1 - trim)
    if method == "winsorisation":
        return f"CQC winsorisation (z capped at the {lo} and {hi} percentiles, linear interpolation)"
    if truncation_rule == "rank":
        k = 1 / trim
        return (f"SHMI truncation, NHS Digital's rank rule (unit of rank r of N in group floor(r x {k:.10g} / (N + 1)); "
                f"groups 0 and {k - 1:.10g} or above dropped, as FunnelPlotR)")
    return f"SHMI truncation, percentile rule (units with z below the {lo} or above the {hi} percentile dropped, linear interpolation)"


# --------------------------------------------------------------------------- the composers, code by code

def _fixed(code: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda d: METHOD_WORDS[code]


def _model(d: Mapping[str, Any]) -> str:
    return model_words(*_need(d, "model", "model_method", "fitted_on"))


def _own_model(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        (fitted_on,) = _need(d, code, "fitted_on")
        text = model_words("firth" if code == "firth_profile" else code, fitted_on)
        return text + ("; profile penalised-likelihood interval, Wald p-value" if code == "firth_profile" else "")
    return words


def _comparison(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        text = "unadjusted: logistic regression on the flag alone; adjusted: " + _model(d)
        if code == "unadjusted_and_adjusted_at_reference":
            text += "; the flag's interaction terms make its adjusted OR the one at the reference level"
        return text
    return words


def _then_model(code: str, sep: str = "; ") -> Callable[[Mapping[str, Any]], str]:
    return lambda d: METHOD_WORDS[code] + sep + _model(d)


def _assessed(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        (on,) = _need(d, code, "assessed_on")
        return f"{METHOD_WORDS[code]}; {_ASSESSED_ON[on]}"
    return words


def _calibration_table(d: Mapping[str, Any]) -> str:
    grouping, on = _need(d, "calibration_by_risk_group", "grouping", "assessed_on")
    return f"{_RISK_GROUPINGS[grouping]}; {METHOD_WORDS['calibration_by_risk_group']}; {_ASSESSED_ON[on]}"


def _hosmer_lemeshow(d: Mapping[str, Any]) -> str:
    grouping, on = _need(d, "hosmer_lemeshow", "grouping", "assessed_on")
    return f"Hosmer-Lemeshow chi-squared over {_RISK_GROUPINGS[grouping]}; {_ASSESSED_ON[on]}"


def _flag_effect_by(d: Mapping[str, Any]) -> str:
    flag, by = _need(d, "interaction_model_wald", "flag", "by")
    return f"adjusted odds ratio of {flag} within each level of {by} (interaction model); Wald interval; {_model(d)}"


def _paf(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        text = f"{METHOD_WORDS['counterfactual_paf']}; model: {_model(d)}"
        return f"{METHOD_WORDS['shapley_paf']}; {text}" if code == "shapley_paf" else text
    return words


def _overdispersion(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        trim, rule = _need(d, code, "trim", "truncation_rule")
        return overdispersion_words(code, float(trim), str(rule))
    return words


def _funnel(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        od, trim, rule, adjusted = _need(d, code, "overdispersion", "trim", "truncation_rule", "adjusted")
        if od == "none":
            od_text = "no overdispersion adjustment (phi and tau2 over all units, for information)"
        else:
            od_text = overdispersion_words(str(od), float(trim), str(rule)) + ("" if bool(adjusted) else "; phi <= 1, so no adjustment")
        return f"funnel plot ({_FUNNEL_LIMITS[code]}); overdispersion: {od_text}"
    return words


def _oe(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        ratio_method, ref = _need(d, code, "ratio_method", "reference_rate_from")
        text = f"O/E interval: {METHOD_WORDS[ratio_method]} for O" + (" (PHE: exact Poisson if O < 10, else Byar)" if code == "oe_phe" else "")
        text += ("; z and z interval: binomial variance sum p(1-p); rate interval: Wilson; adjusted rate: O/E x "
                 + ("the cohort's overall observed rate" if ref == "cohort" else "a supplied reference rate"))
        if "rest_n" in d:
            text += "; vs rest: Newcombe hybrid score difference, Katz rate ratio, Woolf odds ratio"
        return text
    return words


def _adjusted_baseline(d: Mapping[str, Any]) -> str:
    (period,) = _need(d, "adjusted_baseline", "baseline_period")
    return f"{METHOD_WORDS['adjusted_baseline']} {period}"


def _delta_method(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        (casemix,) = _need(d, code, "casemix")
        return f"{METHOD_WORDS[code]}; case-mix model {casemix}"
    return words


def _rates(d: Mapping[str, Any]) -> str:
    outcome, subset = _need(d, "wilson_rate_per_period", "outcome", "subset")
    return f"rate of '{outcome}' among {subset} per period; Wilson score interval"


def _which(d: Mapping[str, Any], code: str, unit: str) -> str:
    baseline, points = (int(v) for v in _need(d, code, "n_baseline", "n_points"))
    return f"all {unit}s" if baseline == points else f"{baseline} baseline {unit}(s)"


def _p_chart(d: Mapping[str, Any]) -> str:
    return (f"p-chart: centre = sum(events)/sum(n) over {_which(d, 'p_chart', 'period')}; limits centre +/- 3 sqrt(p(1-p)/n_i) and "
            "warning lines +/- 2 sqrt(p(1-p)/n_i), clipped to [0, 1]")


def _xmr(code: str) -> Callable[[Mapping[str, Any]], str]:
    def words(d: Mapping[str, Any]) -> str:
        screen, screened = _need(d, code, "screen_outliers", "n_screened")
        text = (f"XmR chart (Making Data Count): centre = mean of {_which(d, code, 'point')}; limits centre +/- 2.66 x mean moving range; "
                "2-sigma lines at two thirds of that; "
                + (f"moving ranges >= 3.267 x their mean screened out (Nelson 1982): {int(screened)} left out"
                   if bool(screen) else "moving ranges not screened (as the MDC Excel tools)"))
        if code == "xmr_rate":
            text += "; limits clipped to [0, 1]"
            if d.get("chart_choice") == "auto":
                text += f"; chosen because the median denominator is {int(d['large_denominator']):,} or more"
        return text
    return words


def _special_causes(d: Mapping[str, Any]) -> str:
    shift, trend = _need(d, "special_causes", "shift_run", "trend_run")
    return (f"special causes (Making Data Count): outside limits, shift of {int(shift)}+ on one side of the centre, "
            f"trend of {int(trend)}+ points rising or falling, 2 of 3 beyond 2 sigma on one side")


def _data_lag(d: Mapping[str, Any]) -> str:
    follow, wait = (int(v) for v in _need(d, "data_lag", "follow_up_months", "waiting_months"))
    return (f"complete when index date + {follow + wait} months (follow-up {follow} + waiting "
            f"{wait}) <= as_of, month ends kept; last complete period: the last whose end is "
            "on or before the cutoff")


def _propensity(d: Mapping[str, Any]) -> str:
    return propensity_words(*_need(d, "propensity_score", "treatment", "covariates", "model_method", "fitted_on"))


def _matching(d: Mapping[str, Any]) -> str:
    code = "nearest_neighbour_matching"
    replace, order, caliper, width, seed = _need(d, code, "replace", "order", "caliper", "caliper_width", "seed")
    cal_text = "no caliper" if not _given(caliper) else f"caliper {float(caliper):g} SD of the logit ({float(width):.4g} on the logit scale)"
    how = ("with replacement (a comparison may serve several participants; ties drawn at random)" if bool(replace)
           else f"without replacement, greedy, {order} score first" if order in ("largest", "smallest")
           else f"without replacement, greedy, in {'row' if order == 'data' else 'random'} order")
    logit = d.get("logit")
    score = f"logit of the propensity score supplied in '{logit}'" if _given(logit) else _propensity(d)
    seed_text = int(seed) if _given(seed) else None
    return f"1:1 nearest neighbour on the logit, {how}; {cal_text}; random tie-breaks (seed {seed_text}); {score}"


def _balance(d: Mapping[str, Any]) -> str:
    (threshold,) = _need(d, "standardised_mean_difference", "threshold")
    return f"{METHOD_WORDS['standardised_mean_difference']}; imbalanced when |SMD| > {float(threshold):g}"


_COMPOSERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    **{code: _fixed(code) for code in METHOD_WORDS},
    "logistic": _own_model("logistic"),
    "firth": _own_model("firth"),
    "firth_profile": _own_model("firth_profile"),
    "unadjusted_and_adjusted": _comparison("unadjusted_and_adjusted"),
    "unadjusted_and_adjusted_at_reference": _comparison("unadjusted_and_adjusted_at_reference"),
    "average_marginal_effect": _then_model("average_marginal_effect"),
    "counterfactual_standardisation": _then_model("counterfactual_standardisation"),
    "counterfactual_paf": _paf("counterfactual_paf"),
    "shapley_paf": _paf("shapley_paf"),
    "delong": _assessed("delong"),
    "logistic_recalibration": _assessed("logistic_recalibration"),
    "calibration_by_risk_group": _calibration_table,
    "hosmer_lemeshow": _hosmer_lemeshow,
    "interaction_model_wald": _flag_effect_by,
    "truncation": _overdispersion("truncation"),
    "winsorisation": _overdispersion("winsorisation"),
    "none": _overdispersion("none"),
    **{code: _funnel(code) for code in _FUNNEL_LIMITS},
    "oe_phe": _oe("oe_phe"),
    "oe_byar": _oe("oe_byar"),
    "oe_exact": _oe("oe_exact"),
    "adjusted_baseline": _adjusted_baseline,
    "delta_method_internal": _delta_method("delta_method_internal"),
    "delta_method_external": _delta_method("delta_method_external"),
    "wilson_rate_per_period": _rates,
    "p_chart": _p_chart,
    "xmr": _xmr("xmr"),
    "xmr_rate": _xmr("xmr_rate"),
    "special_causes": _special_causes,
    "data_lag": _data_lag,
    "propensity_score": _propensity,
    "nearest_neighbour_matching": _matching,
    "ipw_att": lambda d: f"{METHOD_WORDS['ipw_att']}; {_propensity(d)}",
    "standardised_mean_difference": _balance,
}


def method_words(code: str, data: Mapping[str, Any] | pd.Series | None = None, **details: Any) -> str:
    """The words of a ``method`` code, with the details its table records beside it.

    Parameters
    ----------
    code
        A code of :data:`METHOD_WORDS`, or several joined by ``+`` (methods
        applied one after the other).
    data
        A row of the table the code came from (a mapping or a Series): the
        columns the words need (e.g. ``assessed_on``, ``grouping``, ``seed``).
    **details
        Details the table does not hold (e.g. ``treatment`` and
        ``covariates`` of a propensity model), or that override the row's.

    Returns
    -------
    str
        The words, as the papers print them.

    Raises
    ------
    ValueError
        An unknown code.
    KeyError
        A detail the words need is missing.

    Examples
    --------
    >>> method_words("hosmer_lemeshow", {"grouping": "equal-size", "assessed_on": "data_supplied"})
    'Hosmer-Lemeshow chi-squared over groups of equal size by predicted risk (people with the same prediction kept together); on the data supplied'
    >>> method_words("xmr+special_causes", n_baseline=4, n_points=4, screen_outliers=False, n_screened=0, shift_run=7, trend_run=7)[:50]
    'XmR chart (Making Data Count): centre = mean of al'
    """
    merged: dict[str, Any] = {**(dict(data) if data is not None else {}), **details}
    parts = str(code).split(CODE_SEPARATOR)
    unknown = [p for p in parts if p not in _COMPOSERS]
    if unknown:
        raise ValueError(f"no words for the method code(s) {unknown}: add them to analysis.paper.method_text.METHOD_WORDS")
    return "; ".join(_COMPOSERS[p](merged) for p in parts)


def table_method_words(table: pd.DataFrame, *, column: str = "method", **details: Any) -> pd.Series:
    """The words of every row's code in ``column`` (composed from that row's columns and ``details``).

    Rows that share the code and every detail share their words, so a table
    of a million rows costs one composition per distinct combination.

    Examples
    --------
    >>> t = pd.DataFrame({"statistic": ["proportion", "proportion"], "method": ["wilson", "jeffreys"]})
    >>> table_method_words(t).tolist()
    ['Wilson score interval', 'Jeffreys interval (Bayesian, Jeffreys prior)']
    >>> table_method_words(pd.DataFrame({"ratio_method": ["exact", "byar"]}), column="ratio_method").tolist()
    ['exact Poisson', "Byar's approximation"]
    """
    if table.empty:
        return pd.Series([], index=table.index, dtype=object, name=f"{column}_words")
    if column == "ratio_method":
        return table[column].map(ratio_interval_words).rename(f"{column}_words")
    cache: dict[tuple, str] = {}
    out = []
    columns = list(table.columns)
    for values in table.itertuples(index=False, name=None):
        row = dict(zip(columns, values))
        key = tuple((k, _hashable(v)) for k, v in row.items() if k not in _NUMBERS)
        if key not in cache:
            cache[key] = method_words(row[column], row, **details)
        out.append(cache[key])
    return pd.Series(out, index=table.index, dtype=object, name=f"{column}_words")


# the columns of estimates and counts never enter the words: left out of the cache key so that equal words are shared
_NUMBERS = {"estimate", "lower", "upper", "se", "z", "p_value", "n", "observed", "expected", "value", "rate", "odds_ratio",
            "score", "logit", "att_weight", "distance", "logit_participant", "logit_comparison", "participant", "comparison",
            "match_order", "matched"}


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value
