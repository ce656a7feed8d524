"""Case-mix expected probabilities (indirect standardisation, docs/methods.md).

:func:`expected_probabilities` fits a logistic model with only the named
case-mix terms on a reference period (or on the same period) and applies it
to the target rows. The result records which terms and which period produced
it, because *which variables are in the case-mix model matters*:

The in-model identity
---------------------
When the expected model is fitted on the same rows it is applied to
(internal standardisation), the maximum-likelihood score equations of a
logistic model with an intercept and treatment dummies for a categorical
term ``g`` say ``sum_{i in level} (y_i - p_i) = 0`` for every level of ``g``.
So **O/E is exactly 1 for the whole cohort and for every level of every
grouping that is itself in the model** (and for every cell of an
interaction in the model). Such a comparison says nothing; it is refused by
:func:`check_comparison`. Comparisons are only offered for groupings left
out of the expected model: a flag's O/E needs an expected model without that
flag, an area's O/E needs a model without area. (Fitted on a *different*
reference period, O/E by an in-model grouping is a legitimate "change since
the baseline" comparison, and is allowed.)

Examples
--------
>>> import analysis
>>> cohort = analysis.load_cohort(analysis.DEFAULT_COHORT)  # doctest: +SKIP
>>> base = cohort[cohort["period"] == "2014-10/2015-09"]    # doctest: +SKIP
>>> now = cohort[cohort["period"] == "2015-10/2016-09"]     # doctest: +SKIP
>>> e = analysis.expected_probabilities(base, now)          # doctest: +SKIP
>>> e.attrs["terms"], e.attrs["period"]                     # doctest: +SKIP
(['sex', 'age_band', 'offence_group'], '2014-10/2015-09')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .models import fit_logistic
from .periods import periods_present
from .schema import OUTCOME

__all__ = ["expected_probabilities", "check_comparison", "DEFAULT_EXPECTED_CASEMIX"]

DEFAULT_EXPECTED_CASEMIX: tuple[str, ...] = ("sex", "age_band", "offence_group")


def expected_probabilities(
    fit_on: pd.DataFrame,
    predict_on: pd.DataFrame,
    *,
    casemix: Sequence[str] = DEFAULT_EXPECTED_CASEMIX,
    outcome: str = OUTCOME,
    interactions: Iterable[Any] = (),
    name: str = "expected",
    trials: str | None = None,
) -> pd.Series:
    """Expected probability of reoffending for each row of ``predict_on`` from a case-mix model.

    A logistic regression of ``outcome`` on the ``casemix`` terms only is
    fitted on ``fit_on`` (exactly, on its covariate-pattern cells) and applied
    to ``predict_on``.

    Parameters
    ----------
    fit_on
        Rows the case-mix model is fitted on: a reference period (the MoJ
        "adjusted baseline") or the same rows as ``predict_on`` (internal
        standardisation; overall O/E is then 1 by construction).
    predict_on
        Rows to score.
    casemix
        Case-mix terms (categorical columns, or a numeric score entering
        linearly). Leave out any grouping you intend to compare by O/E.
    outcome
        The 0/1 outcome column of ``fit_on``.
    interactions
        Optional pairs of case-mix terms, e.g. ``[("sex", "age_band")]``.
    name
        Name of the returned Series.
    trials
        When ``fit_on`` and ``predict_on`` are cells of people (e.g. from
        :func:`analysis.outofcore.cohort_cells`), the column counting the
        people in each cell; ``outcome`` then counts those who reoffended.
        The model is the one fitted on the people (see
        :func:`analysis.fit_flags_model`), and the result is each cell's
        probability: its expected count is ``trials x probability``.

    Returns
    -------
    pandas.Series
        Float probabilities aligned to ``predict_on.index``; NaN for rows whose
        case mix was not seen in ``fit_on`` (e.g. an offence group absent from
        the reference period). ``attrs`` records the model: ``terms``,
        ``interactions``, ``period`` (the fit period(s), joined by " + "),
        ``target_period``, ``internal`` (fitted on the same period(s) it is
        applied to), ``n_fit``, ``n_unscored``, ``method`` and ``fitted_on``
        (the model's :attr:`analysis.FlagsModel.method_code` and ``fitted_on``) and a one-line
        ``description`` to print under any table that uses it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"sex": rng.choice(["Male", "Female"], 400), "period": "2015-10/2016-09"})
    >>> df["reoffended"] = (rng.random(400) < np.where(df["sex"] == "Male", 0.45, 0.3)).astype(int)
    >>> e = expected_probabilities(df, df, casemix=["sex"])
    >>> bool(np.isclose(e.sum(), df["reoffended"].sum()))
    True
    >>> e.attrs["terms"], e.attrs["period"], e.attrs["internal"]
    (['sex'], '2015-10/2016-09', True)
    """
    casemix = list(casemix)
    missing = [c for c in casemix if c not in predict_on.columns]
    if missing:
        raise KeyError(f"case-mix column(s) not in predict_on: {missing}")
    model = fit_logistic(fit_on, casemix, outcome=outcome, interactions=interactions, firth="auto", trials=trials)
    values = model.predict(predict_on).to_numpy()
    out = pd.Series(values, index=predict_on.index, name=name, dtype=float, copy=False)
    fit_periods, target_periods = periods_present(fit_on), periods_present(predict_on)
    period = " + ".join(fit_periods) if fit_periods else "(no period column)"
    internal = (fit_on is predict_on) or (bool(fit_periods) and fit_periods == target_periods and len(fit_on) == len(predict_on))
    unscored_people = np.isnan(values) if trials is None else np.where(np.isnan(values), predict_on[trials].to_numpy(dtype=float), 0.0)
    used = list(model.design.variables)
    inter = [f"{a}:{b}" for a, b in model.design.interactions]
    n_unscored = int(unscored_people.sum())
    description = (
        f"Expected from a logistic case-mix model ({' + '.join(used + inter) or 'intercept only'}) "
        f"fitted on {period} ({model.nobs:,} people)"
        + (", applied to the same data (internal standardisation: O/E = 1 overall and for every in-model grouping)" if internal
           else f", applied to {' + '.join(target_periods) or 'the target rows'}")
        + (f"; {n_unscored:,} {'rows' if trials is None else 'people'} with a case mix not seen in the fit are unscored" if n_unscored else "")
        + "."
    )
    out.attrs.update(
        {
            "terms": used,
            "requested_terms": casemix,
            "interactions": inter,
            "period": period,
            "target_period": " + ".join(target_periods) if target_periods else "(no period column)",
            "internal": bool(internal),
            "n_fit": model.nobs,
            "n_unscored": n_unscored,
            "method": model.method_code,
            "fitted_on": model.fitted_on,
            "separation": list(model.separation["term"]),
            "notes": list(model.notes),
            "description": description,
        }
    )
    return out


def check_comparison(expected: pd.Series, by: str | Sequence[str]) -> None:
    """Refuse an O/E comparison by a grouping that is in an internally fitted expected model.

    Parameters
    ----------
    expected
        A Series from :func:`expected_probabilities` (its ``attrs`` are read).
    by
        The grouping column(s) of the intended O/E table.

    Raises
    ------
    ValueError
        When the expected model was fitted on the same data it is applied to
        and every column of ``by`` is in it (alone, or as an interaction in the
        model): O/E is then exactly 1 in every group and compares nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> e = pd.Series([0.4], dtype=float)
    >>> e.attrs.update(terms=["sex", "age_band"], interactions=[], internal=True)
    >>> check_comparison(e, "area")        # area is not in the model: allowed
    >>> check_comparison(e, "sex")         # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: O/E by sex is exactly 1 ...
    """
    cols = [by] if isinstance(by, str) else list(by)
    terms = set(expected.attrs.get("terms", []))
    if not expected.attrs.get("internal", False):
        return
    inter = {frozenset(i.split(":")) for i in expected.attrs.get("interactions", [])}
    in_model = (len(cols) == 1 and cols[0] in terms) or (len(cols) == 2 and frozenset(cols) in inter) or not cols
    if in_model:
        what = " x ".join(cols) if cols else "the whole cohort"
        raise ValueError(
            f"O/E by {what} is exactly 1 by construction: the expected model ({', '.join(sorted(terms))}) "
            "was fitted on the same data and contains this grouping. Compare by a grouping left out of the "
            "expected model, or fit it on a reference period."
        )
