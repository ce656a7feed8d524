"""Risk-flag models: exact grouped logistic regression for reoffending.

The central model of the project is a logistic regression of proven
reoffending on the six risk flags, adjusted for the case mix. When every term
is categorical (flags, area, sex, age band, offence group and their
interactions) the individual-level likelihood equals the binomial likelihood
of the covariate-pattern cells (docs/methods.md, logistic regression on grouped data), so the model is fitted
on the cells, weighted by their trials: the same coefficients and standard
errors as the individual-level ``statsmodels`` ``Logit``, from a few thousand
rows instead of millions. A continuous term or an offset makes the fit
row-level, with the same code path (every row is a cell of one).

Before anything is reported, the data are checked for complete or
quasi-complete separation (the linear programme of Konis 2007, as in the R
package ``detectseparation``); when it is found, or when asked, the model is
refitted by Firth's penalised likelihood (Firth 1993; Heinze and Schemper
2002) with the ``firthmodels`` package, and the output says so.

Examples
--------
>>> import analysis
>>> cohort = analysis.load_cohort(analysis.DEFAULT_COHORT)  # doctest: +SKIP
>>> fit = analysis.fit_flags_model(cohort)                  # doctest: +SKIP
>>> fit.odds_ratios[["term", "odds_ratio", "ci_lower", "ci_upper"]]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .schema import FLAGS, OUTCOME

try:  # installed with scikit-learn, which firthmodels needs
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover
    _threadpool_limits = None


def single_threaded_blas(func: Any) -> Any:
    """Run ``func`` with one BLAS thread.

    The matrices here are small (cells x coefficients); on a busy 2-core
    machine a multi-threaded BLAS spends far longer waiting for its threads
    than computing (measured: 15x slower fits), so the numerical work is kept
    on one thread.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _threadpool_limits is None:
            return func(*args, **kwargs)
        with _threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper

__all__ = [
    "FlagsModel",
    "fit_flags_model",
    "fit_logistic",
    "DEFAULT_ADJUST",
]

DEFAULT_ADJUST: tuple[str, ...] = ("area", "sex", "age_band", "offence_group")
"""Case-mix terms a flags model adjusts for unless told otherwise."""

_MAX_DENSE_CELLS = 20_000_000


# --------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Variable:
    """One model variable and how it is coded.

    ``kind`` is ``"binary"`` (a 0/1 column, one coefficient), ``"categorical"``
    (treatment dummies against ``levels[0]``, the reference) or ``"numeric"``
    (one coefficient on the value; forces a row-level fit).
    """

    name: str
    kind: str
    levels: tuple[Any, ...] = ()

    def columns(self) -> list[str]:
        """Coefficient names contributed by this variable's main effect."""
        if self.kind == "categorical":
            return [f"{self.name}[{level}]" for level in self.levels[1:]]
        return [self.name]

    def dummies(self, values: np.ndarray) -> np.ndarray:
        """The main-effect columns for codes (categorical/binary) or values (numeric)."""
        if self.kind == "numeric":
            return np.asarray(values, dtype=float)[:, None]
        if self.kind == "binary":
            return (np.asarray(values) == 1).astype(float)[:, None]
        codes = np.asarray(values)
        out = np.zeros((codes.shape[0], len(self.levels) - 1))
        for j in range(1, len(self.levels)):
            out[:, j - 1] = codes == j
        return out


def _small(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Codes in the narrowest signed integer type (memory matters at millions of rows)."""
    dtype = np.int8 if n_levels < 127 else (np.int16 if n_levels < 32_000 else np.int32)
    return codes.astype(dtype, copy=False)


def _binary_codes(series: pd.Series) -> np.ndarray | None:
    """0/1 codes (-1 missing) when the column is 0/1, else None. Fast for plain integer columns."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype) and not series.hasnans:
        return series.to_numpy(dtype=bool).astype(np.int8)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        arr = series.to_numpy()
        if arr.size == 0 or (arr.min() >= 0 and arr.max() <= 1):
            return arr.astype(np.int8, copy=False)
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    nan = np.isnan(values)
    finite = values[~nan]
    if not (finite.size and np.isin(finite, (0.0, 1.0)).all()):
        return None
    return np.where(nan, -1, values).astype(np.int8)


def _encode(series: pd.Series, name: str, reference: Any = None, levels: Sequence[Any] | None = None) -> tuple[Variable, np.ndarray]:
    """Integer codes (reference = 0) or float values for one column.

    ``levels`` fixes the coding (used to apply a fitted model to new data); codes
    of values outside them are -1.
    """
    if levels is not None:
        kind = "binary" if tuple(levels) == (0, 1) else "categorical"
        var = Variable(name, kind, tuple(levels))
        if kind == "binary":
            codes = _binary_codes(series) if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype) else None
            if codes is None:
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                codes = np.where((values == 0) | (values == 1), values, -1).astype(np.int8)
            return var, codes
        return var, _codes_for(series, var.levels)

    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
        if isinstance(series.dtype, pd.CategoricalDtype):
            raw = np.asarray(series.cat.codes)
            cats = list(series.cat.categories)
            present = np.bincount(raw.astype(np.intp, copy=False) + 1, minlength=len(cats) + 1)[1:] > 0
            order = [c for c, p in zip(cats, present) if p]
        else:
            order = sorted(pd.unique(series.dropna()).tolist(), key=str)
        if reference is not None:
            if reference not in order:
                raise ValueError(f"reference level {reference!r} of '{name}' is not in the data (levels: {order})")
            order = [reference] + [lv for lv in order if lv != reference]
        var = Variable(name, "categorical", tuple(order))
        return var, _codes_for(series, var.levels)

    codes = _binary_codes(series)
    if codes is not None:
        return Variable(name, "binary", (0, 1)), codes
    return Variable(name, "numeric"), series.to_numpy(dtype=float, na_value=np.nan)


def _codes_for(series: pd.Series, levels: tuple[Any, ...]) -> np.ndarray:
    """Codes of ``series`` against ``levels`` (position), -1 when missing or unknown."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = list(series.cat.categories)
        position = {lv: i for i, lv in enumerate(levels)}
        mapping = [position.get(c, -1) for c in cats]
        raw = np.asarray(series.cat.codes)
        if mapping == list(range(len(cats))):
            return _small(raw, len(levels))  # already coded in this order; -1 stays missing
        lookup = np.array(mapping + [-1], dtype=np.int16 if len(levels) < 32_000 else np.int32)
        return _small(lookup[raw], len(levels))  # raw == -1 picks the last entry, -1
    index = pd.Index(levels)
    return _small(np.asarray(index.get_indexer(series.to_numpy(dtype=object))), len(levels))


# --------------------------------------------------------------------------- the design


@dataclass
class Design:
    """Variables, interactions and the coefficient names of a logistic model."""

    variables: dict[str, Variable]
    interactions: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def grouped(self) -> bool:
        """True when every term is categorical, so the model can be fitted on cells."""
        return all(v.kind != "numeric" for v in self.variables.values())

    def blocks(self) -> list[tuple[str, list[str], tuple[str, ...]]]:
        """(term, coefficient names, variables involved) for every term, intercept first."""
        out: list[tuple[str, list[str], tuple[str, ...]]] = [("Intercept", ["Intercept"], ())]
        for name, var in self.variables.items():
            out.append((name, var.columns(), (name,)))
        for a, b in self.interactions:
            cols = [f"{ca}:{cb}" for ca in self.variables[a].columns() for cb in self.variables[b].columns()]
            out.append((f"{a}:{b}", cols, (a, b)))
        return out

    @property
    def columns(self) -> list[str]:
        return [c for _, cols, _ in self.blocks() for c in cols]

    def matrix(self, data: Mapping[str, np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
        """The design matrix for per-unit codes/values in ``data`` (one array per variable)."""
        n = len(next(iter(data.values()))) if data else 0
        parts = [np.ones((n, 1))]
        main = {name: var.dummies(data[name]) for name, var in self.variables.items()}
        parts.extend(main.values())
        for a, b in self.interactions:
            da, db = main[a], main[b]
            parts.append((da[:, :, None] * db[:, None, :]).reshape(n, -1))
        X = np.hstack(parts) if parts else np.empty((n, 0))
        return X if keep is None else X[:, keep]


def _parse_interactions(interactions: Iterable[Any]) -> list[tuple[str, str]]:
    out = []
    for item in interactions:
        pair = tuple(item.split(":")) if isinstance(item, str) else tuple(item)
        if len(pair) != 2:
            raise ValueError(f"an interaction names two variables, e.g. ('dv', 'area') or 'dv:area'; got {item!r}")
        out.append((str(pair[0]).strip(), str(pair[1]).strip()))
    return out


# --------------------------------------------------------------------------- units: cells or rows


@dataclass
class Units:
    """The units a model is fitted on: covariate-pattern cells, or rows (cells of one).

    ``data`` holds one array per variable (codes or values), ``trials`` and
    ``successes`` the counts, ``offset`` an optional offset, ``inverse`` maps
    each input row to its unit (``-1`` for rows dropped as incomplete).
    """

    data: dict[str, np.ndarray]
    trials: np.ndarray
    successes: np.ndarray
    offset: np.ndarray | None
    inverse: np.ndarray
    grouped: bool

    @property
    def n(self) -> int:
        return int(self.trials.sum())


_CHUNK = 1 << 20


def _cell_keys(codes: Mapping[str, np.ndarray], design: Design, y: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Each row's covariate pattern as one cell: (inverse into cells, trials, cell codes, successes).

    Uses a dense mixed-radix key and ``bincount`` when the number of possible
    patterns is moderate, ``np.unique`` on the stacked codes otherwise. Rows
    are processed in chunks of about a million, so temporary arrays stay
    small at millions of rows. Codes must be valid (>= 0).
    """
    names = list(design.variables)
    sizes = [len(design.variables[v].levels) for v in names]
    m = len(next(iter(codes.values()))) if codes else 0
    total = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
    if total <= _MAX_DENSE_CELLS:
        kdtype = np.int32 if total < 2**31 else np.int64

        def keys(lo: int, hi: int) -> np.ndarray:
            key = np.zeros(hi - lo, dtype=kdtype)
            for v, size in zip(names, sizes):
                key *= size
                key += codes[v][lo:hi]
            return key.astype(np.intp, copy=False)

        counts_all = np.zeros(total, dtype=np.int64)
        succ_all = np.zeros(total, dtype=np.float64) if y is not None else None
        chunks = [(lo, min(lo + _CHUNK, m)) for lo in range(0, m, _CHUNK)]
        for lo, hi in chunks:
            key = keys(lo, hi)
            counts_all += np.bincount(key, minlength=total)
            if succ_all is not None:
                succ_all += np.bincount(key, weights=y[lo:hi], minlength=total)
        occupied = np.flatnonzero(counts_all)
        position = np.full(total, -1, dtype=np.int32)
        position[occupied] = np.arange(occupied.size, dtype=np.int32)
        inverse = np.empty(m, dtype=np.int32)
        for lo, hi in chunks:
            inverse[lo:hi] = position[keys(lo, hi)]
        data: dict[str, np.ndarray] = {}
        rest = occupied.copy()
        for v, size in zip(reversed(names), reversed(sizes)):
            data[v] = rest % size
            rest //= size
        return inverse, counts_all[occupied], {v: data[v] for v in names}, (None if succ_all is None else succ_all[occupied])
    stacked = np.column_stack([codes[v] for v in names])
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel().astype(np.int32 if uniq.shape[0] < 2**31 else np.int64)
    trials = np.bincount(inverse)
    succ = None if y is None else np.bincount(inverse, weights=y, minlength=trials.shape[0])
    return inverse, trials, {v: uniq[:, i] for i, v in enumerate(names)}, succ


def _make_units(codes: dict[str, np.ndarray], y: np.ndarray, design: Design, offset: np.ndarray | None, ok: np.ndarray) -> Units:
    rows = np.flatnonzero(ok) if not ok.all() else None
    sub = {k: (v if rows is None else v[rows]) for k, v in codes.items()}
    yy = y if rows is None else y[rows]
    n_in = ok.shape[0]
    if design.grouped and offset is None and design.variables:
        inv, trials, data, successes = _cell_keys(sub, design, yy)
        if rows is None:
            inverse = inv
        else:
            inverse = np.full(n_in, -1, dtype=inv.dtype)
            inverse[rows] = inv
        return Units(data, trials.astype(float), successes.astype(float), None, inverse, True)
    m = yy.shape[0]
    inverse = np.full(n_in, -1, dtype=np.int64)
    if rows is None:
        inverse = np.arange(m)
    else:
        inverse[rows] = np.arange(m)
    off = None if offset is None else (offset if rows is None else offset[rows]).astype(float)
    return Units(sub, np.ones(m), yy.astype(float), off, inverse, False)


# --------------------------------------------------------------------------- fitting


def _loglik(successes: np.ndarray, trials: np.ndarray, eta: np.ndarray) -> float:
    """Individual-level Bernoulli log-likelihood from cells (no binomial coefficients)."""
    # log p = -log(1 + exp(-eta)), log(1-p) = -log(1 + exp(eta))
    return float(-(successes * np.logaddexp(0.0, -eta)).sum() - ((trials - successes) * np.logaddexp(0.0, eta)).sum())


def _irls(X: np.ndarray, s: np.ndarray, n: np.ndarray, offset: np.ndarray | None, start: np.ndarray | None = None,
          tol: float = 1e-12, maxiter: int = 60) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """Newton-Raphson (= IRLS) for the binomial logit on cells; returns beta, cov, converged, iterations."""
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
        ll_new = _loglik(s, n, X @ new + off)
        halvings = 0
        while ll_new < ll_old - 1e-10 * abs(ll_old) and halvings < 30:
            step /= 2
            new = beta + step
            ll_new = _loglik(s, n, X @ new + off)
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


def _finite_maximum(beta: np.ndarray, cov: np.ndarray, converged: bool, iterations: int, bound: float = 12.0) -> bool:
    """Whether a Newton fit plainly reached a finite maximum, so the separation LP need not run.

    Under complete or quasi-complete separation the likelihood has no maximum:
    Newton's steps along the direction of separation stay about one unit long,
    so the coefficients and their standard errors grow without converging. A
    fit that converged with every coefficient and standard error below
    ``bound`` (on the log-odds scale, an odds ratio of 160,000) is not
    separated; anything else goes to the exact linear programme
    (:func:`detect_separation`). ``tests/test_models.py`` checks both routes.
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
    idx = np.flatnonzero(~np.asarray(result.is_finite))
    return pd.DataFrame(
        {"term": [names[i] for i in idx], "direction": ["+inf" if result.directions[i] > 0 else "-inf" for i in idx]}
    )


def _firth(X: np.ndarray, s: np.ndarray, n: np.ndarray, offset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool, Any]:
    """Firth-penalised logistic regression on cells with ``firthmodels`` (frequency weights)."""
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


# --------------------------------------------------------------------------- the result


@dataclass
class FlagsModel:
    """A fitted risk-flags logistic model (see :func:`fit_flags_model`).

    Attributes
    ----------
    params, cov
        Coefficients (log odds) and their covariance, indexed by coefficient name.
    llf, aic
        Individual-level log-likelihood and AIC (not the cells' binomial likelihood).
    nobs, n_units
        People in the fit; cells (grouped fit) or rows (row-level fit).
    method
        How the model was fitted, in words.
    separation
        Coefficients with infinite maximum-likelihood estimates (empty if none).
    firth
        True when the reported estimates are Firth-penalised.
    notes
        Anything the reader should know (terms dropped, rows excluded, refits).
    """

    design: Design
    units: Units
    params: pd.Series
    cov: pd.DataFrame
    llf: float
    nobs: int
    method: str
    separation: pd.DataFrame
    firth: bool
    converged: bool
    flags: tuple[str, ...]
    outcome: str
    confidence: float
    notes: list[str]
    keep: np.ndarray
    unadjusted: pd.DataFrame | None = None
    _firth_model: Any = None

    # ----------------------------------------------------------------- basics
    @property
    def n_units(self) -> int:
        return int(self.units.trials.shape[0])

    @property
    def df_model(self) -> int:
        return int(self.params.shape[0])

    @property
    def aic(self) -> float:
        return float(-2 * self.llf + 2 * self.df_model)

    @property
    def bic(self) -> float:
        return float(-2 * self.llf + np.log(self.nobs) * self.df_model)

    @cached_property
    def X(self) -> np.ndarray:
        """Design matrix of the fitting units (cells or rows), built once."""
        return self.design.matrix(self.units.data, self.keep)

    def linear_predictor(self, data: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        X = self.X if data is None else self.design.matrix(data, self.keep)
        eta = X @ self.params.to_numpy()
        if self.units.offset is not None and data is None:
            eta = eta + self.units.offset
        return eta

    @property
    def fitted(self) -> np.ndarray:
        """Predicted probability of each fitting unit (cell or row)."""
        return expit(self.linear_predictor())

    def predict(self, frame: pd.DataFrame | None = None) -> pd.Series:
        """Predicted probability of reoffending for each row of ``frame`` (default: the fitted data).

        Rows with a level not seen in the fit, or a missing value, get NaN.
        """
        if frame is None:
            inv = self.units.inverse
            p = self.fitted
            out = np.full(inv.shape[0], np.nan)
            out[inv >= 0] = p[inv[inv >= 0]]
            return pd.Series(out, name="predicted")
        if self.units.offset is not None:
            raise ValueError("this model has an offset: predict on the fitted data, or refit")
        data, ok = _encode_with(frame, self.design)
        rows = None if ok.all() else np.flatnonzero(ok)
        sub = data if rows is None else {k: v[rows] for k, v in data.items()}
        beta = self.params.to_numpy()
        if self.design.grouped and self.design.variables:
            inverse, _, cells, _ = _cell_keys(sub, self.design)
            p_known = expit(self.design.matrix(cells, self.keep) @ beta)[inverse]
        else:
            p_known = expit(self.design.matrix(sub, self.keep) @ beta)
        if rows is None:
            return pd.Series(p_known, index=frame.index, name="predicted", copy=False)
        p = np.full(len(frame), np.nan)
        p[rows] = p_known
        return pd.Series(p, index=frame.index, name="predicted", copy=False)

    # ----------------------------------------------------------------- tables
    def _z(self) -> float:
        return float(stats.norm.ppf(0.5 + self.confidence / 2))

    @property
    def coefficients(self) -> pd.DataFrame:
        """Every coefficient: estimate (log odds), std_error, z, p_value, interval."""
        se = np.sqrt(np.diag(self.cov.to_numpy()))
        b = self.params.to_numpy()
        z = b / se
        zc = self._z()
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": b,
                "std_error": se,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower": b - zc * se,
                "ci_upper": b + zc * se,
                "statistic": "log_odds",
                "method": self.method,
                "confidence": self.confidence,
            }
        )

    def _term_counts(self) -> dict[str, int]:
        """People with each coefficient's column non-zero (for the n column)."""
        X = self.X
        counts = (X != 0).astype(float).T @ self.units.trials
        return dict(zip(self.params.index, counts.astype(np.int64)))

    @property
    def odds_ratios(self) -> pd.DataFrame:
        """Tidy adjusted odds ratios: term, odds_ratio, ci_lower, ci_upper, p_value, n, method.

        ``n`` is the number of people with the term's column non-zero (e.g.
        flagged); ``n_model`` the people in the model. The intercept is left
        out; its odds are in :attr:`coefficients`.
        """
        c = self.coefficients
        c = c[c["term"] != "Intercept"].copy()
        counts = self._term_counts()
        out = pd.DataFrame(
            {
                "term": c["term"],
                "odds_ratio": np.exp(c["estimate"]),
                "ci_lower": np.exp(c["ci_lower"]),
                "ci_upper": np.exp(c["ci_upper"]),
                "p_value": c["p_value"],
                "n": [counts[t] for t in c["term"]],
                "n_model": self.nobs,
                "statistic": "odds_ratio",
                "method": self.method,
                "confidence": self.confidence,
            }
        )
        if self._firth_model is not None and self.design.grouped:
            out = self._firth_profile(out)
        return out.reset_index(drop=True)

    def _firth_profile(self, table: pd.DataFrame) -> pd.DataFrame:
        """Replace Wald limits of flag terms with profile penalised-likelihood limits."""
        model = self._firth_model
        idx = [i for i, t in enumerate(self.params.index) if any(t == f or t.startswith(f + ":") for f in self.flags)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ci = model.conf_int(alpha=1 - self.confidence, method="pl", features=idx)
        except Exception:  # profile limits are a refinement; Wald limits remain
            return table
        table = table.copy()
        for i in idx:
            term = self.params.index[i]
            lo, hi = ci[i]
            if np.isfinite(lo) and np.isfinite(hi):
                table.loc[table["term"] == term, ["ci_lower", "ci_upper"]] = [np.exp(lo), np.exp(hi)]
                table.loc[table["term"] == term, "method"] = self.method + "; profile penalised-likelihood interval, Wald p-value"
        return table

    @property
    def comparison(self) -> pd.DataFrame:
        """Unadjusted and adjusted odds ratios of each flag, side by side."""
        adj = self.odds_ratios.set_index("term")
        rows = []
        unadj = self.unadjusted.set_index("term") if self.unadjusted is not None else None
        for flag in self.flags:
            if flag not in adj.index:
                continue
            row = {"term": flag}
            if unadj is not None and flag in unadj.index:
                u = unadj.loc[flag]
                row.update(unadjusted_or=u["odds_ratio"], unadjusted_lower=u["ci_lower"], unadjusted_upper=u["ci_upper"])
            a = adj.loc[flag]
            row.update(adjusted_or=a["odds_ratio"], adjusted_lower=a["ci_lower"], adjusted_upper=a["ci_upper"],
                       p_value=a["p_value"], n=a["n"], n_model=self.nobs)
            rows.append(row)
        out = pd.DataFrame(rows)
        out["statistic"] = "odds_ratio"
        out["method"] = ("unadjusted: logistic regression on the flag alone; adjusted: " + self.method
                         + ("; the flag's interaction terms make its adjusted OR the one at the reference level" if self.design.interactions else ""))
        out["confidence"] = self.confidence
        return out

    # ----------------------------------------------------------------- counterfactual predictions
    def counterfactual(self, settings: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted probability of every unit with variables set to fixed values, and the design.

        ``settings`` maps a variable to a level (``{"dv": 0}``); returns ``(p, X)``.
        """
        data = dict(self.units.data)
        for name, value in settings.items():
            var = self.design.variables[name]
            if var.kind == "numeric":
                code = float(value)
            else:
                if value not in var.levels:
                    raise ValueError(f"{value!r} is not a level of '{name}' ({var.levels})")
                code = var.levels.index(value)
            data[name] = np.full(self.units.trials.shape[0], code)
        X = self.design.matrix(data, self.keep)
        eta = X @ self.params.to_numpy()
        if self.units.offset is not None:
            eta = eta + self.units.offset
        return expit(eta), X

    @property
    @single_threaded_blas
    def marginal_effects(self) -> pd.DataFrame:
        """Average marginal effect of each flag, in percentage points.

        The mean over the people in the model of p(flag = 1) - p(flag = 0),
        everything else as observed (the discrete change averaged over the
        sample, like statsmodels ``get_margeff(at="overall", dummy=True)``),
        with a delta-method interval conditional on the covariates.
        """
        n = self.units.trials
        N = n.sum()
        beta_cov = self.cov.to_numpy()
        zc = self._z()
        rows = []
        for flag in self.flags:
            if flag not in self.design.variables:
                continue
            p1, X1 = self.counterfactual({flag: 1})
            p0, X0 = self.counterfactual({flag: 0})
            ame = float((n * (p1 - p0)).sum() / N)
            grad = ((n * p1 * (1 - p1)) @ X1 - (n * p0 * (1 - p0)) @ X0) / N
            se = float(np.sqrt(grad @ beta_cov @ grad))
            z = ame / se if se > 0 else np.nan
            rows.append(
                {
                    "term": flag,
                    "ame_pp": 100 * ame,
                    "ci_lower": 100 * (ame - zc * se),
                    "ci_upper": 100 * (ame + zc * se),
                    "std_error_pp": 100 * se,
                    "p_value": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
                    "n": int(N),
                    "statistic": "average_marginal_effect_pp",
                    "method": "average discrete change p(flag=1) - p(flag=0) over the people in the model; delta method; " + self.method,
                    "confidence": self.confidence,
                }
            )
        return pd.DataFrame(rows)

    @property
    @single_threaded_blas
    def standardised_risks(self) -> pd.DataFrame:
        """Each flag's adjusted risks, risk ratio and risk difference, by counterfactual standardisation.

        For every person in the model the predicted probability is computed
        twice, with the flag set to 1 and to 0, everything else as observed;
        their means are the standardised risks ``p1`` and ``p0`` ("x in 100
        against y in 100, other characteristics as they are"). The risk ratio
        is ``p1 / p0`` (interval on the log scale) and the risk difference
        ``p1 - p0`` (the average marginal effect); both intervals come from the
        delta method on the coefficients' covariance, conditional on the
        people in the model (as :attr:`marginal_effects`).

        Returns
        -------
        pandas.DataFrame
            One row per flag: ``term``, ``risk_flagged`` (p1), ``risk_unflagged``
            (p0), ``risk_ratio`` with ``rr_lower``/``rr_upper``, ``risk_difference``
            with ``rd_lower``/``rd_upper`` (fractions), ``n``, ``n_flagged``,
            ``statistic``, ``method``, ``confidence``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"dv": rng.integers(0, 2, 4000)})
        >>> df["reoffended"] = (rng.random(4000) < np.where(df["dv"] == 1, 0.5, 0.25)).astype(int)
        >>> r = fit_flags_model(df, flags=["dv"], adjust=[]).standardised_risks.iloc[0]
        >>> float(round(r["risk_ratio"], 2)), int(round(100 * r["risk_difference"]))
        (2.03, 26)
        """
        n = self.units.trials
        N = n.sum()
        V = self.cov.to_numpy()
        zc = self._z()
        rows = []
        for flag in self.flags:
            var = self.design.variables.get(flag)
            if var is None or var.kind == "numeric":
                continue
            p1, X1 = self.counterfactual({flag: 1})
            p0, X0 = self.counterfactual({flag: 0})
            r1, r0 = float(n @ p1 / N), float(n @ p0 / N)
            g1 = (n * p1 * (1 - p1)) @ X1 / N
            g0 = (n * p0 * (1 - p0)) @ X0 / N
            g_log_rr = g1 / r1 - g0 / r0
            g_rd = g1 - g0
            se_log_rr = float(np.sqrt(max(g_log_rr @ V @ g_log_rr, 0.0)))
            se_rd = float(np.sqrt(max(g_rd @ V @ g_rd, 0.0)))
            rr, rd = r1 / r0, r1 - r0
            rows.append({
                "term": flag,
                "risk_flagged": r1,
                "risk_unflagged": r0,
                "risk_ratio": rr,
                "rr_lower": rr * np.exp(-zc * se_log_rr),
                "rr_upper": rr * np.exp(zc * se_log_rr),
                "risk_difference": rd,
                "rd_lower": rd - zc * se_rd,
                "rd_upper": rd + zc * se_rd,
                "n": int(N),
                "n_flagged": int(n @ (self.units.data[flag] == 1)),
                "statistic": "standardised_risk_ratio",
                "method": ("counterfactual standardisation over the people in the model (flag set to 1 and to 0, "
                           "everything else as observed); delta-method intervals, log scale for the ratio; " + self.method),
                "confidence": self.confidence,
            })
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Fit statistics as a tidy table (statistic, value, method)."""
        rows = [
            ("people", self.nobs),
            ("units", self.n_units),
            ("parameters", self.df_model),
            ("log_likelihood", self.llf),
            ("aic", self.aic),
            ("bic", self.bic),
            ("separation_terms", int(self.separation.shape[0])),
            ("firth", bool(self.firth)),
            ("converged", bool(self.converged)),
        ]
        out = pd.DataFrame(rows, columns=["statistic", "value"])
        out["method"] = self.method
        return out


# --------------------------------------------------------------------------- building


def _encode_with(frame: pd.DataFrame, design: Design) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Codes of ``frame``'s columns against a fitted design's levels; ok = all known."""
    data: dict[str, np.ndarray] = {}
    ok = np.ones(len(frame), dtype=bool)
    for name, var in design.variables.items():
        if var.kind == "numeric":
            values = frame[name].to_numpy(dtype=float, na_value=np.nan)
            ok &= ~np.isnan(values)
            data[name] = values
        else:
            _, codes = _encode(frame[name], name, levels=var.levels)
            ok &= codes >= 0
            data[name] = codes
    return data, ok


def _outcome(frame: pd.DataFrame, outcome: str) -> np.ndarray:
    codes = _binary_codes(frame[outcome])
    if codes is None:
        raise ValueError(f"'{outcome}' must be 0/1")
    if codes.size and codes.min() < 0:
        return np.where(codes < 0, np.nan, codes.astype(float))
    return codes


def _prepare(frame: pd.DataFrame, outcome: str, terms: Sequence[str], interactions: Sequence[tuple[str, str]],
             reference: Mapping[str, Any], offset: str | None) -> tuple[Design, Units, list[str]]:
    notes: list[str] = []
    missing = [c for c in (outcome, *terms, *(offset and [offset] or [])) if c not in frame.columns]
    if missing:
        raise KeyError(f"column(s) not in the data: {missing} (have: {list(frame.columns)[:20]})")
    y = _outcome(frame, outcome)
    ok = ~np.isnan(y)
    variables: dict[str, Variable] = {}
    codes: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for name in terms:
        var, values = _encode(frame[name], name, reference=reference.get(name))
        if var.kind == "numeric":
            ok &= ~np.isnan(values)
        else:
            ok &= values >= 0
        variables[name] = var
        codes[name] = values
    off = None if offset is None else frame[offset].to_numpy(dtype=float, na_value=np.nan)
    if off is not None:
        ok &= ~np.isnan(off)
    all_ok = bool(ok.all())
    n_missing = 0 if all_ok else int((~ok).sum())
    if n_missing:
        notes.append(f"{n_missing:,} row(s) with a missing outcome or term were left out")
    # drop terms with a single level among complete rows
    for name in list(variables):
        var = variables[name]
        if var.kind == "numeric":
            continue
        values = codes[name] if all_ok else codes[name][ok]
        if values.size == 0:
            present = np.array([], dtype=np.intp)
        elif var.kind == "binary" or all_ok:
            # categorical levels were taken from the values present; a binary needs its min and max
            lo, hi = int(values.min()), int(values.max())
            present = np.array([lo, hi] if lo != hi else [lo]) if var.kind == "binary" else np.arange(len(var.levels))
        else:
            present = np.flatnonzero(np.bincount(values.astype(np.intp), minlength=len(var.levels)))
        if present.size < 2:
            dropped.append(name)
            notes.append(f"'{name}' has one value in the data and was left out of the model")
            del variables[name], codes[name]
        elif var.kind == "categorical" and present.size < len(var.levels):
            # keep levels present among complete rows only, preserving order
            kept = [var.levels[i] for i in present]
            remap = np.full(len(var.levels) + 1, -1, dtype=np.int16)
            remap[present] = np.arange(present.size)
            codes[name] = _small(remap[codes[name]], present.size)  # -1 picks the last entry, -1
            variables[name] = Variable(name, "categorical", tuple(kept))
    inter = [(a, b) for a, b in interactions if a in variables and b in variables]
    for a, b in interactions:
        if a not in terms or b not in terms:
            raise ValueError(f"interaction {a}:{b} names a variable that is not a model term ({list(terms)})")
    design = Design(variables, inter, dropped)
    units = _make_units(codes, y, design, off, ok)
    return design, units, notes


def _fit_units(design: Design, units: Units, *, firth: bool | str, confidence: float, flags: Sequence[str],
               outcome: str, notes: list[str], check_separation: bool = True) -> FlagsModel:
    X_full = design.matrix(units.data)
    names_full = design.columns
    # drop aliased (all-zero or linearly dependent) columns, e.g. empty interaction cells
    keep = np.ones(X_full.shape[1], dtype=bool)
    nonzero = (X_full != 0).any(axis=0)
    keep &= nonzero
    Xk = X_full if keep.all() else X_full[:, keep]
    gram = Xk.T @ (Xk * units.trials[:, None])
    if np.linalg.matrix_rank(gram) < Xk.shape[1]:
        # greedy: keep columns that add rank, in order
        chosen: list[int] = []
        for j in np.flatnonzero(keep):
            trial = chosen + [j]
            Xt = X_full[:, trial]
            if np.linalg.matrix_rank(Xt.T @ Xt) == len(trial):
                chosen.append(j)
        keep = np.zeros_like(keep)
        keep[chosen] = True
        Xk = X_full[:, keep]
    aliased = [c for c, k in zip(names_full, keep) if not k]
    if aliased:
        notes.append("not estimable (no people, or aliased) and left out: " + ", ".join(aliased))
    names = [c for c, k in zip(names_full, keep) if k]
    s, n, off = units.successes, units.trials, units.offset

    no_separation = pd.DataFrame(columns=["term", "direction"])
    newton = _irls(Xk, s, n, off)
    if check_separation and not _finite_maximum(*newton):
        separation = detect_separation(Xk, s, n, names)
    else:
        separation = no_separation
    use_firth = bool(firth is True or (firth == "auto" and not separation.empty))
    where = "covariate-pattern cells (exact grouped likelihood)" if units.grouped else "individual rows"
    firth_model = None
    if use_firth:
        beta, cov, converged, firth_model = _firth(Xk, s, n, off)
        method = f"Firth-penalised logistic regression (firthmodels), fitted on {where}"
        if not separation.empty:
            notes.append("separation found for " + ", ".join(separation["term"]) + "; estimates are Firth-penalised")
        else:
            notes.append("Firth-penalised estimates, as requested")
    else:
        # Newton-Raphson to the maximum of the exact grouped likelihood; the covariance is the inverse of the
        # observed (= expected, canonical link) information there. tests/test_models.py checks both against
        # statsmodels' GLM and Logit fits, which are not used here because they cost ~0.5 s a fit.
        beta, cov, converged, _ = newton
        method = f"logistic regression (maximum likelihood, Newton-Raphson) on {where}"
        if not separation.empty:
            notes.append("separation found for " + ", ".join(separation["term"]) + "; these estimates are not finite: refit with firth=True")
    eta = Xk @ beta + (0.0 if off is None else off)
    llf = _loglik(s, n, eta)
    model = FlagsModel(
        design=design,
        units=units,
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        llf=llf,
        nobs=int(n.sum()),
        method=method,
        separation=separation.reset_index(drop=True),
        firth=use_firth,
        converged=converged,
        flags=tuple(f for f in flags if f in design.variables),
        outcome=outcome,
        confidence=confidence,
        notes=notes,
        keep=keep,
        _firth_model=firth_model,
    )
    model.__dict__["X"] = Xk  # seed the cached design matrix
    return model


@single_threaded_blas
def fit_logistic(
    frame: pd.DataFrame,
    terms: Sequence[str],
    *,
    outcome: str = OUTCOME,
    interactions: Iterable[Any] = (),
    reference: Mapping[str, Any] | None = None,
    offset: str | None = None,
    firth: bool | str = "auto",
    confidence: float = 0.95,
    flags: Sequence[str] = (),
    check_separation: bool = True,
) -> FlagsModel:
    """Fit a logistic regression of ``outcome`` on ``terms`` (cells when all categorical).

    The general engine behind :func:`fit_flags_model` and
    :func:`analysis.expected_probabilities`; see :func:`fit_flags_model` for
    the arguments.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.integers(0, 2, 500)})
    >>> df["reoffended"] = (rng.random(500) < 0.3 + 0.2 * df["x"]).astype(int)
    >>> fit_logistic(df, ["x"]).n_units
    2
    """
    design, units, notes = _prepare(frame, outcome, list(terms), _parse_interactions(interactions), dict(reference or {}), offset)
    return _fit_units(design, units, firth=firth, confidence=confidence, flags=flags, outcome=outcome,
                      notes=notes, check_separation=check_separation)


def _unadjusted(model: FlagsModel, confidence: float) -> pd.DataFrame:
    """Each flag alone: a logistic regression of the outcome on the flag (its 2x2 table), from the cells."""
    rows = []
    n, s = model.units.trials, model.units.successes
    for flag in model.flags:
        x = (model.units.data[flag] == 1).astype(float)
        ss = np.array([s[x == 0].sum(), s[x == 1].sum()])
        nn = np.array([n[x == 0].sum(), n[x == 1].sum()])
        X = np.array([[1.0, 0.0], [1.0, 1.0]])
        sep = ((ss == 0) | (ss == nn)).any()
        if sep:
            beta, cov, _, _ = _firth(X, ss, nn, None)
            method = "Firth-penalised logistic regression on the flag alone (a zero cell)"
        else:
            beta, cov, _, _ = _irls(X, ss, nn, None)
            method = "logistic regression on the flag alone"
        se = float(np.sqrt(cov[1, 1]))
        zc = float(stats.norm.ppf(0.5 + confidence / 2))
        rows.append({
            "term": flag,
            "odds_ratio": float(np.exp(beta[1])),
            "ci_lower": float(np.exp(beta[1] - zc * se)),
            "ci_upper": float(np.exp(beta[1] + zc * se)),
            "p_value": float(2 * stats.norm.sf(abs(beta[1] / se))),
            "n": int(nn[1]),
            "n_model": int(nn.sum()),
            "statistic": "odds_ratio",
            "method": method,
            "confidence": confidence,
        })
    return pd.DataFrame(rows)


@single_threaded_blas
def fit_flags_model(
    cohort: pd.DataFrame,
    flags: Sequence[str] = FLAGS,
    adjust: Sequence[str] = DEFAULT_ADJUST,
    interactions: Iterable[Any] = (),
    *,
    outcome: str = OUTCOME,
    reference: Mapping[str, Any] | None = None,
    offset: str | None = None,
    firth: bool | str = "auto",
    confidence: float = 0.95,
) -> FlagsModel:
    """Logistic regression of proven reoffending on the risk flags, adjusted for the case mix.

    Parameters
    ----------
    cohort
        Typed cohort (see :func:`analysis.load_cohort`), one row per person.
    flags
        0/1 flag columns; each gets one coefficient.
    adjust
        Case-mix terms. Categorical columns get treatment dummies against their
        first level present (or ``reference``); a numeric, non-0/1 column (a
        continuous score such as ``ogrs3``) enters linearly. A term with one
        value in the data (e.g. ``period`` within one period) is left out, with a note.
    interactions
        Pairs such as ``("dv", "area")`` or ``"dv:age_band"``.
    outcome
        The 0/1 outcome column.
    reference
        Reference level per categorical term, e.g. ``{"age_band": "25-29"}``.
    offset
        A column added to the linear predictor with coefficient 1 (e.g. the
        logit of an actuarial score); makes the fit row-level.
    firth
        ``"auto"`` (default): Firth-penalised refit when separation is found;
        ``True``: always; ``False``: never (separation is still reported).
    confidence
        Level of every interval.

    Returns
    -------
    FlagsModel
        ``odds_ratios`` (tidy adjusted ORs), ``comparison`` (unadjusted and
        adjusted side by side), ``marginal_effects`` (percentage points),
        ``predict()``, ``llf``/``aic`` (individual-level), ``separation``,
        ``method`` and ``notes``.

    Notes
    -----
    When every term is categorical and there is no offset, the fit is a
    binomial logistic regression (Newton-Raphson) on the covariate-pattern
    cells (trials, successes); its coefficients and standard errors equal
    statsmodels' individual-level ``Logit`` (tested to 1e-8). The log-likelihood is the
    individual-level Bernoulli one, so AIC is comparable with a row-level fit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 2000
    >>> df = pd.DataFrame({"dv": rng.integers(0, 2, n), "sex": rng.choice(["Male", "Female"], n)})
    >>> df["reoffended"] = (rng.random(n) < 0.35 + 0.15 * df["dv"]).astype(int)
    >>> fit = fit_flags_model(df, flags=["dv"], adjust=["sex"])
    >>> fit.n_units, fit.odds_ratios.loc[0, "term"]
    (4, 'dv')
    """
    flags = [f for f in flags]
    adjust = [a for a in adjust if a not in flags]
    model = fit_logistic(cohort, [*flags, *adjust], outcome=outcome, interactions=interactions, reference=reference,
                         offset=offset, firth=firth, confidence=confidence, flags=flags)
    model.unadjusted = _unadjusted(model, confidence)
    return model


def lr_test(restricted: FlagsModel, full: FlagsModel) -> dict[str, float]:
    """Likelihood-ratio test of nested models fitted on the same people.

    Returns ``{"lr": ..., "df": ..., "p_value": ...}``.
    """
    if restricted.nobs != full.nobs:
        raise ValueError("the models were fitted on different people; an LR test needs the same rows")
    lr = 2 * (full.llf - restricted.llf)
    df = full.df_model - restricted.df_model
    return {"lr": float(lr), "df": int(df), "p_value": float(stats.chi2.sf(max(lr, 0.0), df)) if df > 0 else np.nan}
