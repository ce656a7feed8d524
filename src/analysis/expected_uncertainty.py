"""O/E when E comes from a fitted case-mix model: the model's own uncertainty in the interval.

``docs/methods.md`` (expected rates and observed against expected): when E comes from a model, "its own
uncertainty matters too". With the model's coefficient covariance V and, for
a group g, ``w_i = p_i (1 - p_i)`` and ``d_g = sum_{i in g} w_i x_i`` (the
gradient of E_g), the delta method gives

* a model fitted on **another period** (adjusted baseline): O and E are
  independent, so ``Var(O - E) = sum_g w_i + d_g' V d_g``;
* a model fitted on **the same data** (internal standardisation): the fitted
  residuals are correlated with O, and
  ``Var(O - E) = sum_g w_i - d_g' V d_g``, which is exactly 0 for every grouping
  that is in the model (where O - E is 0 by construction) and smaller than the
  binomial variance for groupings left out of it.

The z-score is ``(O - E) / sqrt(Var(O - E))`` and the interval for O/E is
``(O - E +/- z_a sd) / E + 1``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"sex": rng.choice(["Male", "Female"], 2000), "area": rng.choice(["A", "B"], 2000)})
>>> df["reoffended"] = (rng.random(2000) < np.where(df["sex"] == "Male", 0.45, 0.3)).astype(int)
>>> t = oe_with_model_uncertainty(df, df, "sex", casemix=["sex"])
>>> bool(np.allclose(t["variance_total"], 0, atol=1e-8))   # in the model: O - E is 0, with no variance
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .design import encode_with
from .expected import DEFAULT_EXPECTED_CASEMIX
from .intervals import critical_value, one_confidence_level
from .models import fit_logistic
from .schema import OUTCOME

__all__ = ["oe_with_model_uncertainty"]


def oe_with_model_uncertainty(
    fit_on: pd.DataFrame,
    predict_on: pd.DataFrame,
    by: str | Sequence[str],
    *,
    casemix: Sequence[str] = DEFAULT_EXPECTED_CASEMIX,
    outcome: str = OUTCOME,
    internal: bool | None = None,
    confidence: float = 0.95,
    trials: str | None = None,
) -> pd.DataFrame:
    """O/E by group with an interval that includes the case-mix model's own uncertainty.

    Parameters
    ----------
    fit_on, predict_on
        The rows the case-mix model is fitted on and the rows it scores (as for
        :func:`analysis.expected_probabilities`).
    by
        Grouping column(s) of ``predict_on``.
    casemix
        Case-mix terms of the expected model.
    internal
        Whether the model is fitted on the same people it scores. Default:
        ``fit_on`` and ``predict_on`` are the same frame (or equal frames).
    confidence
        Confidence level of the interval.
    trials
        When both frames are cells of people, the column counting each cell's
        people (the outcome then counts those with the outcome). The result is
        the same as from the people.

    Returns
    -------
    pandas.DataFrame
        The group columns, ``n``, ``observed``, ``expected``, ``ratio``,
        ``variance_binomial`` (sum p(1-p)), ``variance_model`` (d'Vd),
        ``variance_total``, ``z``, ``p_value``, ``ratio_lower``, ``ratio_upper``,
        ``statistic``, ``casemix`` (the model's terms, joined by " + "),
        ``method`` (``"delta_method_internal"``: Var(O - E) = sum p(1-p) - d'Vd,
        the model fitted on the same people; ``"delta_method_external"``:
        + d'Vd, fitted on another period), ``confidence``. Rows whose case mix the model
        has not seen are left out (as ``expected_probabilities`` leaves them unscored).

    Examples
    --------
    A model of sex alone, fitted on a year when 40 of 100 men and 20 of 100
    women reoffended, applied to a year when 50 men and 20 women did. For the
    men ``E = 40``, the binomial variance is ``100 x 0.4 x 0.6 = 24``, and the
    model's is ``Var(E) = 100^2 x 0.24 / 100 = 24`` (E is 100 times a rate
    estimated from 100 men), so ``z = (50 - 40) / sqrt(24 + 24) = 1.443``:

    >>> def year(men, women):
    ...     return pd.DataFrame({"sex": ["Male"] * 100 + ["Female"] * 100,
    ...                          "reoffended": [1] * men + [0] * (100 - men) + [1] * women + [0] * (100 - women)})
    >>> t = oe_with_model_uncertainty(year(40, 20), year(50, 20), "sex", casemix=["sex"])
    >>> t[["sex", "observed", "expected", "ratio", "variance_binomial", "variance_model"]].round(3)
          sex  observed  expected  ratio  variance_binomial  variance_model
    0  Female        20      20.0   1.00               16.0            16.0
    1    Male        50      40.0   1.25               24.0            24.0
    >>> round(float(t.loc[t["sex"] == "Male", "z"].iloc[0]), 3)
    1.443
    """
    confidence = one_confidence_level(confidence, function="oe_with_model_uncertainty")
    keys = [by] if isinstance(by, str) else list(by)
    if internal is None:
        internal = fit_on is predict_on or (fit_on.shape == predict_on.shape and fit_on.equals(predict_on))
    model = fit_logistic(fit_on, list(casemix), outcome=outcome, firth=False, trials=trials)
    data, ok = encode_with(predict_on, model.design)
    rows = np.flatnonzero(ok)
    scored = predict_on.iloc[rows]
    grouped = scored.groupby(keys, observed=True, sort=True)
    group = grouped.ngroup().to_numpy()
    labels = list(grouped.indices)  # the group labels as the rows hold them (e.g. int8 for a flag), in group order
    # every sum below is over people, and a person's p and x depend only on their case mix: the sums are taken
    # over the cells of (group, case mix), each weighted by its number of people, never over a matrix of rows
    cell_keys = pd.DataFrame({"_group": group, **{f"_{k}": v[rows] for k, v in data.items()}})
    cell = cell_keys.groupby(list(cell_keys.columns), sort=False).ngroup().to_numpy()
    first = np.full(int(cell.max()) + 1 if cell.size else 0, -1, dtype=np.int64)
    first[cell[::-1]] = np.arange(cell.size)[::-1]  # the first row of each cell
    weights = None if trials is None else predict_on[trials].to_numpy(dtype=float)[rows]
    people = np.bincount(cell, weights=weights, minlength=first.size).astype(float)
    y_cell = np.bincount(cell, weights=predict_on[outcome].to_numpy(dtype=float)[rows], minlength=first.size)
    X = model.design.matrix({k: v[rows][first] for k, v in data.items()}, model.keep)
    p = expit(X @ model.params.to_numpy())
    w = people * p * (1 - p)
    e_cell = people * p
    V = model.cov.to_numpy()
    zc = critical_value(confidence)
    cell_group = group[first]
    out = []
    for g, label in enumerate(labels):
        label = label if isinstance(label, tuple) else (label,)
        idx = np.flatnonzero(cell_group == g)
        o, e, var_b = y_cell[idx].sum(), e_cell[idx].sum(), w[idx].sum()
        d = X[idx].T @ w[idx]
        var_m = float(d @ V @ d)
        var_t = max(var_b - var_m, 0.0) if internal else var_b + var_m
        sd = np.sqrt(var_t)
        z = (o - e) / sd if sd > 1e-9 else np.nan
        row = dict(zip(keys, label))
        row.update(
            {
                "n": int(people[idx].sum()), "observed": int(round(o)), "expected": e, "ratio": o / e,
                "variance_binomial": var_b, "variance_model": var_m, "variance_total": var_t,
                "z": z, "p_value": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
                "ratio_lower": 1 + (o - e - zc * sd) / e, "ratio_upper": 1 + (o - e + zc * sd) / e,
            }
        )
        out.append(row)
    table = pd.DataFrame(out)
    table["statistic"] = "standardised ratio (O/E), model uncertainty included"
    table["casemix"] = " + ".join(model.design.variables)
    table["method"] = "delta_method_internal" if internal else "delta_method_external"
    table["confidence"] = confidence
    return table
