"""Fitting a binomial logit on cells: Newton-Raphson, separation and Firth's penalty.

The numerical engine under :mod:`analysis.models`. :func:`irls` is
Newton-Raphson (iteratively reweighted least squares) for the binomial logit
on cells weighted by their trials; :func:`detect_separation` runs the linear
programme of Konis (2007) for complete or quasi-complete separation;
:func:`firth_fit` refits by Firth's penalised likelihood with the
``firthmodels`` package. The log-likelihood is the individual-level one, so a
fit on cells reports the same value as a fit on rows.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
>>> beta, cov, converged, _ = irls(X, s=np.array([10.0, 30.0]), n=np.array([40.0, 60.0]), offset=None)
>>> np.round(np.exp(beta[1]), 4)  # the odds ratio (30/30) / (10/30)
np.float64(3.0)
>>> bool(converged)
True
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

try:  # installed with scikit-learn, which firthmodels needs
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover
    _threadpool_limits = None

__all__ = ["single_threaded_blas", "loglik", "irls", "finite_maximum", "detect_separation", "firth_fit"]


def single_threaded_blas(func: Any) -> Any:
    """Run ``func`` with one BLAS thread.

    The matrices here are small (cells x coefficients); on a busy 2-core
    machine a multi-threaded BLAS spends far longer waiting for its threads
    than computing (measured: 15x slower fits), so the numerical work is kept
    on one thread.

    Examples
    --------
    >>> @single_threaded_blas
    ... def add_one(a):
    ...     return a + 1
    >>> add_one(1), add_one.__name__
    (2, 'add_one')
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _threadpool_limits is None:
            return func(*args, **kwargs)
        with _threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- fitting


def loglik(successes: np.ndarray, trials: np.ndarray, eta: np.ndarray) -> float:
    """Individual-level Bernoulli log-likelihood from cells (no binomial coefficients).

    Examples
    --------
    At eta = 0 every probability is 1/2, so eight people give 8 log(1/2) = -5.545:

    >>> import numpy as np
    >>> round(loglik(np.array([1.0, 3.0]), np.array([4.0, 4.0]), np.zeros(2)), 3)
    -5.545
    """
    # log p = -log(1 + exp(-eta)), log(1-p) = -log(1 + exp(eta))
    return float(-(successes * np.logaddexp(0.0, -eta)).sum() - ((trials - successes) * np.logaddexp(0.0, eta)).sum())


def irls(X: np.ndarray, s: np.ndarray, n: np.ndarray, offset: np.ndarray | None, *, start: np.ndarray | None = None,
          tol: float = 1e-12, maxiter: int = 60) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """Newton-Raphson (= IRLS) for the binomial logit on cells; returns beta, cov, converged, iterations.

    Examples
    --------
    1 of 4 reoffend without the flag and 3 of 4 with it, so the intercept is log(1/3) = -1.0986
    and the flag's log odds ratio log(3) - log(1/3) = 2.1972; its standard error is
    sqrt(1/1 + 1/3 + 1/3 + 1/1) = 1.633 (Woolf).

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])  # Intercept, dv: one cell without the flag, one with it
    >>> n = np.array([4.0, 4.0])
    >>> beta, cov, converged, iterations = irls(X, np.array([1.0, 3.0]), n, None)
    >>> beta.round(4).tolist(), np.sqrt(np.diag(cov)).round(4).tolist(), converged
    ([-1.0986, 2.1972], [1.1547, 1.633], True)
    """
    p_ = X.shape[1]
    off = 0.0 if offset is None else offset
    if start is None:
        beta = np.zeros(p_)
        pbar = (s.sum() + 0.5) / (n.sum() + 1.0)
        beta[0] = np.log(pbar / (1 - pbar))
    else:
        beta = start.copy()
    converged = False
    ll_old = -np.inf
    it = 0
    for it in range(1, maxiter + 1):
        eta = X @ beta + off
        mu = expit(eta)
        w = n * mu * (1 - mu)
        score = X.T @ (s - n * mu)
        info = (X * w[:, None]).T @ X
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, score, rcond=None)[0]
        new = beta + step
        ll_new = loglik(s, n, X @ new + off)
        halvings = 0
        while ll_new < ll_old - 1e-10 * abs(ll_old) and halvings < 30:
            step /= 2
            new = beta + step
            ll_new = loglik(s, n, X @ new + off)
            halvings += 1
        beta = new
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))) or abs(ll_new - ll_old) < tol * (abs(ll_new) + tol):
            converged = True
            ll_old = ll_new
            break
        ll_old = ll_new
    eta = X @ beta + off
    mu = expit(eta)
    w = n * mu * (1 - mu)
    info = (X * w[:, None]).T @ X
    cov = np.linalg.pinv(info)
    return beta, cov, converged, it


def finite_maximum(beta: np.ndarray, cov: np.ndarray, converged: bool, iterations: int, *, bound: float = 12.0) -> bool:
    """Whether a Newton fit plainly reached a finite maximum, so the separation LP need not run.

    Under complete or quasi-complete separation the likelihood has no maximum:
    Newton's steps along the direction of separation stay about one unit long,
    so the coefficients and their standard errors grow without converging. A
    fit that converged with every coefficient and standard error below
    ``bound`` (on the log-odds scale, an odds ratio of 160,000) is not
    separated; anything else goes to the exact linear programme
    (:func:`detect_separation`). ``tests/test_models.py`` checks both routes.

    Examples
    --------
    The fit of :func:`irls`' example is finite; with 0 of 4 without the flag the
    coefficients run off towards infinity (about 30 on the log-odds scale, above ``bound``).

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])  # Intercept, dv: one cell without the flag, one with it
    >>> n = np.array([4.0, 4.0])
    >>> finite_maximum(*irls(X, np.array([1.0, 3.0]), n, None)), finite_maximum(*irls(X, np.array([0.0, 3.0]), n, None))
    (True, False)
    """
    if not converged or not np.all(np.isfinite(beta)):
        return False
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return bool(np.max(np.abs(beta), initial=0.0) < bound and np.max(se, initial=0.0) < bound)


# --------------------------------------------------------------------------- separation


def detect_separation(X: np.ndarray, successes: np.ndarray, trials: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Complete or quasi-complete separation in a logistic model fitted on cells.

    Uses the linear programme of Konis (2007) as implemented by
    ``firthmodels.detect_separation`` (after R's ``detectseparation``), on one
    row per cell and outcome (weights do not matter for separation). A fast
    exact shortcut comes first: cells with both outcomes give equality
    constraints ``x_c' b = 0``; when those cells' rows have full column rank,
    ``b = 0`` is the only solution and there is no separation.

    Returns
    -------
    pandas.DataFrame
        One row per coefficient whose maximum-likelihood estimate is infinite:
        ``term``, ``direction`` (``"+inf"``/``"-inf"``); empty when there is none.

    Examples
    --------
    With 0 of 4 reoffending without the flag, no one without it reoffends, so the intercept's
    estimate is minus infinity and the flag's plus infinity; 1 of 4 and 3 of 4 is not separated.

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])  # Intercept, dv: one cell without the flag, one with it
    >>> n = np.array([4.0, 4.0])
    >>> detect_separation(X, np.array([0.0, 3.0]), n, ["Intercept", "dv"])
            term direction
    0  Intercept      -inf
    1         dv      +inf
    >>> detect_separation(X, np.array([1.0, 3.0]), n, ["Intercept", "dv"]).empty
    True
    """
    empty = pd.DataFrame({"term": pd.Series(dtype=object), "direction": pd.Series(dtype=object)})
    mixed = (successes > 0) & (successes < trials)
    if mixed.any():
        Xm = X[mixed]
        if np.linalg.matrix_rank(Xm.T @ Xm) == X.shape[1]:
            return empty
    from firthmodels import detect_separation as _konis

    has1 = successes > 0
    has0 = successes < trials
    Xe = np.vstack([X[has1], X[has0]])
    ye = np.concatenate([np.ones(int(has1.sum())), np.zeros(int(has0.sum()))])
    if np.unique(ye).size < 2:
        return pd.DataFrame({"term": list(names), "direction": ["+inf" if ye.size and ye[0] == 1 else "-inf"] * len(names)})
    result = _konis(Xe, ye, fit_intercept=False)
    if not result.separation:
        return empty
    idx = np.flatnonzero(~np.asarray(result.is_finite)).tolist()
    return pd.DataFrame(
        {"term": [names[i] for i in idx], "direction": ["+inf" if result.directions[i] > 0 else "-inf" for i in idx]}
    )


def firth_fit(X: np.ndarray, s: np.ndarray, n: np.ndarray, offset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool, Any]:
    """Firth-penalised logistic regression on cells with ``firthmodels`` (frequency weights).

    Examples
    --------
    On the separated cells of :func:`detect_separation`'s example the estimates stay finite. With
    one binary covariate (a saturated model) Firth's penalty adds 1/2 to every count: the intercept
    is log(0.5/4.5) = -2.1972 and the flag's coefficient log(3.5/1.5) - log(0.5/4.5) = 3.0445.

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])  # Intercept, dv: one cell without the flag, one with it
    >>> n = np.array([4.0, 4.0])
    >>> beta, cov, converged, model = firth_fit(X, np.array([0.0, 3.0]), n, None)
    >>> beta.round(4).tolist(), converged
    ([-2.1972, 3.0445], True)
    """
    from firthmodels import FirthLogisticRegression

    has1 = s > 0
    has0 = s < n
    Xe = np.vstack([X[has1], X[has0]])
    ye = np.concatenate([np.ones(int(has1.sum())), np.zeros(int(has0.sum()))])
    we = np.concatenate([s[has1], (n - s)[has0]])
    off = None if offset is None else np.concatenate([offset[has1], offset[has0]])
    model = FirthLogisticRegression(fit_intercept=False, max_iter=200, gtol=1e-10, xtol=1e-10, backend="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Xe, ye, sample_weight=we, offset=off)
    beta = np.asarray(model.coef_, dtype=float)
    eta = X @ beta + (0.0 if offset is None else offset)
    mu = expit(eta)
    info = (X * (n * mu * (1 - mu))[:, None]).T @ X
    cov = np.linalg.pinv(info)
    return beta, cov, bool(model.converged_), model
