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
>>> fit.odds_ratios[["term", "odds_ratio", "lower", "upper"]]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .design import Design, Units, Variable, cell_keys, encode, encode_with, make_units, narrow_codes, outcome_codes, parse_interactions
from .fitting import detect_separation, finite_maximum, firth_fit, irls, loglik, single_threaded_blas
from .intervals import critical_value, one_confidence_level
from .schema import FLAGS, OUTCOME

__all__ = [
    "FlagsModel",
    "fit_flags_model",
    "fit_logistic",
    "units_on",
    "DEFAULT_ADJUST",
]

DEFAULT_ADJUST: tuple[str, ...] = ("area", "sex", "age_band", "offence_group")
"""Case-mix terms a flags model adjusts for unless told otherwise."""



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
    method_code
        How the model was fitted, as a code: ``"logistic"`` (maximum
        likelihood, Newton-Raphson) or ``"firth"`` (Firth-penalised, with
        ``firthmodels``); with :attr:`fitted_on` (``"cells"`` or ``"rows"``) it
        is what the tables' ``method``, ``model_method`` and ``fitted_on``
        columns hold. :attr:`method` gives it in words.
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
    method_code: str
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
    def fitted_on(self) -> str:
        """``"cells"`` (covariate-pattern cells, the exact grouped likelihood) or ``"rows"`` (individual rows)."""
        return "cells" if self.units.grouped else "rows"

    @property
    def method(self) -> str:
        """How the model was fitted, in the words the papers print (:func:`analysis.paper.method_text.model_words`)."""
        from .paper.method_text import model_words

        return model_words(self.method_code, self.fitted_on)

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
        data, ok = encode_with(frame, self.design)
        rows = None if ok.all() else np.flatnonzero(ok)
        sub = data if rows is None else {k: v[rows] for k, v in data.items()}
        beta = self.params.to_numpy()
        if self.design.grouped and self.design.variables:
            inverse, _, cells, _ = cell_keys(sub, self.design)
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
        return critical_value(self.confidence)

    @property
    def coefficients(self) -> pd.DataFrame:
        """Every coefficient: estimate (log odds), se, z, p_value, interval, ``fitted_on``, ``method`` (:attr:`method_code`)."""
        se = np.sqrt(np.diag(self.cov.to_numpy()))
        b = self.params.to_numpy()
        z = b / se
        zc = self._z()
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": b,
                "se": se,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "lower": b - zc * se,
                "upper": b + zc * se,
                "statistic": "log_odds",
                "fitted_on": self.fitted_on,
                "method": self.method_code,
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
        """Tidy adjusted odds ratios: term, odds_ratio, lower, upper, p_value, n, fitted_on, method.

        ``method`` is :attr:`method_code`, or ``"firth_profile"`` for a flag
        term whose limits are Firth's profile penalised-likelihood ones (its
        p-value stays Wald's).

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
                "lower": np.exp(c["lower"]),
                "upper": np.exp(c["upper"]),
                "p_value": c["p_value"],
                "n": [counts[t] for t in c["term"]],
                "n_model": self.nobs,
                "statistic": "odds_ratio",
                "fitted_on": self.fitted_on,
                "method": self.method_code,
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
                table.loc[table["term"] == term, ["lower", "upper"]] = [np.exp(lo), np.exp(hi)]
                table.loc[table["term"] == term, "method"] = "firth_profile"
        return table

    @property
    def comparison(self) -> pd.DataFrame:
        """Unadjusted and adjusted odds ratios of each flag, side by side.

        Columns ``term``, ``unadjusted_or`` (+ ``unadjusted_lower``/``_upper``),
        ``adjusted_or`` (+ ``adjusted_lower``/``_upper``), ``p_value``, ``n``,
        ``n_model``, ``statistic``, ``model_method`` and ``fitted_on`` (the
        adjusted model's), ``method`` (``"unadjusted_and_adjusted"``, or
        ``"unadjusted_and_adjusted_at_reference"`` when the flag's interaction
        terms make its adjusted OR the one at the reference level) and ``confidence``.
        """
        adj = self.odds_ratios.set_index("term")
        rows = []
        unadj = self.unadjusted.set_index("term") if self.unadjusted is not None else None
        for flag in self.flags:
            if flag not in adj.index:
                continue
            row: dict[str, Any] = {"term": flag}
            if unadj is not None and flag in unadj.index:
                u = unadj.loc[flag]
                row.update(unadjusted_or=u["odds_ratio"], unadjusted_lower=u["lower"], unadjusted_upper=u["upper"])
            a = adj.loc[flag]
            row.update(adjusted_or=a["odds_ratio"], adjusted_lower=a["lower"], adjusted_upper=a["upper"],
                       p_value=a["p_value"], n=a["n"], n_model=self.nobs)
            rows.append(row)
        out = pd.DataFrame(rows)
        out["statistic"] = "odds_ratio"
        out["model_method"] = self.method_code
        out["fitted_on"] = self.fitted_on
        out["method"] = "unadjusted_and_adjusted_at_reference" if self.design.interactions else "unadjusted_and_adjusted"
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
        """Average marginal effect of each flag, a difference in probability.

        The mean over the people in the model of p(flag = 1) - p(flag = 0),
        everything else as observed (the discrete change averaged over the
        sample, like statsmodels ``get_margeff(at="overall", dummy=True)``),
        with a delta-method interval conditional on the covariates.

        Returns
        -------
        pandas.DataFrame
            One row per flag: ``term``, ``ame`` (the average marginal effect, a
            difference of two probabilities: 0.05 is 5 percentage points) with
            ``lower``/``upper`` and ``se`` on the same scale, ``p_value``, ``n``,
            ``statistic``, ``model_method`` and ``fitted_on`` (the model's),
            ``method`` (``"average_marginal_effect"``: the discrete change
            averaged over the people in the model, delta method), ``confidence``.
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
                    "ame": ame,
                    "lower": ame - zc * se,
                    "upper": ame + zc * se,
                    "se": se,
                    "p_value": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
                    "n": int(N),
                    "statistic": "average_marginal_effect",
                    "model_method": self.method_code,
                    "fitted_on": self.fitted_on,
                    "method": "average_marginal_effect",
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
            ``statistic``, ``model_method`` and ``fitted_on`` (the model's),
            ``method`` (``"counterfactual_standardisation"``), ``confidence``.

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
                "model_method": self.method_code,
                "fitted_on": self.fitted_on,
                "method": "counterfactual_standardisation",
                "confidence": self.confidence,
            })
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Fit statistics as a tidy table (statistic, value, fitted_on, method: :attr:`method_code`)."""
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
        out["fitted_on"] = self.fitted_on
        out["method"] = self.method_code
        return out


def _cell_counts(frame: pd.DataFrame, outcome: str, trials: str) -> tuple[np.ndarray, np.ndarray]:
    """Successes and trials of cells given as counts: whole numbers with 0 <= successes <= trials (NaN: missing)."""
    s = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    n = pd.to_numeric(frame[trials], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(s) & ~np.isnan(n) & ((s < 0) | (n < 0) | (s > n) | (s % 1 != 0) | (n % 1 != 0))
    if bad.any():
        raise ValueError(f"with trials={trials!r}, '{outcome}' must count the people with the outcome in each cell: "
                         f"whole numbers between 0 and '{trials}' ({int(bad.sum()):,} cell(s) are not)")
    return s, n


def _levels_present(var: Variable, values: np.ndarray, all_ok: bool) -> np.ndarray:
    """The level codes of a binary or categorical term present in ``values`` (its codes on the complete rows)."""
    if values.size == 0:
        return np.array([], dtype=np.intp)
    if var.kind == "binary" or all_ok:
        # categorical levels were taken from the values present; a binary needs its min and max
        lo, hi = int(values.min()), int(values.max())
        return np.array([lo, hi] if lo != hi else [lo]) if var.kind == "binary" else np.arange(len(var.levels))
    return np.flatnonzero(np.bincount(values.astype(np.intp), minlength=len(var.levels)))


def _prepare(frame: pd.DataFrame, outcome: str, terms: Sequence[str], interactions: Sequence[tuple[str, str]],
             reference: Mapping[str, Any], offset: str | None, trials: str | None = None) -> tuple[Design, Units, list[str]]:
    notes: list[str] = []
    missing = [c for c in (outcome, *terms, *(offset and [offset] or []), *(trials and [trials] or [])) if c not in frame.columns]
    if missing:
        raise KeyError(f"column(s) not in the data: {missing} (have: {list(frame.columns)[:20]})")
    if trials is not None and offset is not None:
        raise ValueError("an offset is per person: fit it on rows, not on cells with trials")
    weights: np.ndarray | None = None
    if trials is None:
        y = outcome_codes(frame, outcome)
        ok = ~np.isnan(y)
    else:
        y, weights = _cell_counts(frame, outcome, trials)
        ok = ~np.isnan(y) & ~np.isnan(weights) & (np.nan_to_num(weights) > 0)
    variables: dict[str, Variable] = {}
    codes: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for name in terms:
        var, values = encode(frame[name], name, reference=reference.get(name))
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
    if weights is None:
        n_missing = 0 if all_ok else int((~ok).sum())
    else:  # people in the cells left out (cells of no people are not missing anything)
        n_missing = int(np.nan_to_num(weights[~ok]).sum())
    if n_missing:
        notes.append(f"{n_missing:,} row(s) with a missing outcome or term were left out")
    # drop terms with a single level among complete rows
    for name in list(variables):
        var = variables[name]
        if var.kind == "numeric":
            continue
        present = _levels_present(var, codes[name] if all_ok else codes[name][ok], all_ok)
        if present.size < 2:
            dropped.append(name)
            notes.append(f"'{name}' has one value in the data and was left out of the model")
            del variables[name], codes[name]
        elif var.kind == "categorical" and present.size < len(var.levels):
            # keep levels present among complete rows only, preserving order
            kept = [var.levels[i] for i in present]
            remap = np.full(len(var.levels) + 1, -1, dtype=np.int16)
            remap[present] = np.arange(present.size)
            codes[name] = narrow_codes(remap[codes[name]], present.size)  # -1 picks the last entry, -1
            variables[name] = Variable(name, "categorical", tuple(kept))
    inter = [(a, b) for a, b in interactions if a in variables and b in variables]
    for a, b in interactions:
        if a not in terms or b not in terms:
            raise ValueError(f"interaction {a}:{b} names a variable that is not a model term ({list(terms)})")
    design = Design(variables, inter, dropped)
    units = make_units(codes, y, design, off, ok) if weights is None else _cell_units(codes, y, weights, design, ok)
    return design, units, notes


def _cell_units(codes: dict[str, np.ndarray], successes: np.ndarray, trials: np.ndarray, design: Design, ok: np.ndarray) -> Units:
    """Units from cells given as counts: cells that share a pattern of the kept terms are merged.

    With every term categorical this gives exactly the cells (in the same
    order) that :func:`analysis.design.make_units` finds from the rows, so the
    fit is the same; with a numeric term each given cell is a unit.
    """
    rows = np.flatnonzero(ok)
    sub = {k: v[rows] for k, v in codes.items()}
    s, n = successes[rows], trials[rows]
    inverse = np.full(ok.shape[0], -1, dtype=np.int64)
    if design.grouped and design.variables:
        inv, _, data, _ = cell_keys(sub, design)
        size = int(inv.max()) + 1 if inv.size else 0
        inverse[rows] = inv
        return Units(data, np.bincount(inv, weights=n, minlength=size), np.bincount(inv, weights=s, minlength=size),
                     None, inverse, True)
    inverse[rows] = np.arange(rows.size)
    return Units(sub, n.astype(float), s.astype(float), None, inverse, True)


def units_on(frame: pd.DataFrame, design: Design, *, outcome: str = OUTCOME, trials: str | None = None) -> Units:
    """A fitted design's units on other data: its rows, or its cells when ``trials`` names their counts.

    Rows (or cells) with a missing outcome, a missing term or a level the
    design has not seen are left out, as when scoring.

    Examples
    --------
    The same four people as rows and as two cells give the same units:

    >>> rows = pd.DataFrame({"dv": [1, 1, 0, 0], "reoffended": [1, 0, 0, 0]})
    >>> cells = pd.DataFrame({"dv": [1, 0], "reoffended": [1, 0], "n": [2, 2]})
    >>> design = fit_logistic(rows, ["dv"], firth=False).design
    >>> a, b = units_on(rows, design), units_on(cells, design, trials="n")
    >>> a.trials.tolist(), a.successes.tolist(), b.trials.tolist(), b.successes.tolist()
    ([2.0, 2.0], [0.0, 1.0], [2.0, 2.0], [0.0, 1.0])
    """
    codes, ok = encode_with(frame, design)
    if trials is None:
        y = outcome_codes(frame, outcome)
        ok &= ~np.isnan(y)
        return make_units(codes, y, design, None, ok)
    s, n = _cell_counts(frame, outcome, trials)
    ok &= ~np.isnan(s) & ~np.isnan(n) & (np.nan_to_num(n) > 0)
    return _cell_units(codes, s, n, design, ok)


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
        for j in np.flatnonzero(keep).tolist():
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
    newton = irls(Xk, s, n, off)
    if check_separation and not finite_maximum(*newton):
        separation = detect_separation(Xk, s, n, names)
    else:
        separation = no_separation
    use_firth = bool(firth is True or (firth == "auto" and not separation.empty))
    firth_model = None
    if use_firth:
        beta, cov, converged, firth_model = firth_fit(Xk, s, n, off)
        method = "firth"
        if not separation.empty:
            notes.append("separation found for " + ", ".join(separation["term"]) + "; estimates are Firth-penalised")
        else:
            notes.append("Firth-penalised estimates, as requested")
    else:
        # Newton-Raphson to the maximum of the exact grouped likelihood; the covariance is the inverse of the
        # observed (= expected, canonical link) information there. tests/test_models.py checks both against
        # statsmodels' GLM and Logit fits, which are not used here because they cost ~0.5 s a fit.
        beta, cov, converged, _ = newton
        method = "logistic"
        if not separation.empty:
            notes.append("separation found for " + ", ".join(separation["term"]) + "; these estimates are not finite: refit with firth=True")
    eta = Xk @ beta + (0.0 if off is None else off)
    llf = loglik(s, n, eta)
    model = FlagsModel(
        design=design,
        units=units,
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        llf=llf,
        nobs=int(n.sum()),
        method_code=method,
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
    trials: str | None = None,
) -> FlagsModel:
    """Fit a logistic regression of ``outcome`` on ``terms`` (cells when all categorical).

    The general engine behind :func:`fit_flags_model` and
    :func:`analysis.expected_probabilities`; see :func:`fit_flags_model` for
    the arguments, including ``trials`` (a frame of cells with counts, such
    as :func:`analysis.outofcore.cohort_cells` gives).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.integers(0, 2, 500)})
    >>> df["reoffended"] = (rng.random(500) < 0.3 + 0.2 * df["x"]).astype(int)
    >>> fit_logistic(df, ["x"]).n_units
    2
    >>> cells = df.groupby("x", as_index=False).agg(n=("reoffended", "size"), reoffended=("reoffended", "sum"))
    >>> bool(np.allclose(fit_logistic(cells, ["x"], trials="n").params, fit_logistic(df, ["x"]).params, rtol=0, atol=1e-12))
    True
    """
    confidence = one_confidence_level(confidence, function="fit_logistic")
    design, units, notes = _prepare(frame, outcome, list(terms), parse_interactions(interactions), dict(reference or {}), offset,
                                    trials)
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
            beta, cov, _, _ = firth_fit(X, ss, nn, None)
            method = "flag_alone_firth"
        else:
            beta, cov, _, _ = irls(X, ss, nn, None)
            method = "flag_alone_logistic"
        se = float(np.sqrt(cov[1, 1]))
        zc = critical_value(confidence)
        rows.append({
            "term": flag,
            "odds_ratio": float(np.exp(beta[1])),
            "lower": float(np.exp(beta[1] - zc * se)),
            "upper": float(np.exp(beta[1] + zc * se)),
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
    *,
    flags: Sequence[str] = FLAGS,
    adjust: Sequence[str] = DEFAULT_ADJUST,
    interactions: Iterable[Any] = (),
    outcome: str = OUTCOME,
    reference: Mapping[str, Any] | None = None,
    offset: str | None = None,
    firth: bool | str = "auto",
    confidence: float = 0.95,
    trials: str | None = None,
) -> FlagsModel:
    """Logistic regression of proven reoffending on the risk flags, adjusted for the case mix.

    Parameters
    ----------
    cohort
        Typed cohort (see :func:`analysis.load_cohort`), one row per person;
        or, with ``trials``, one row per cell of people (e.g. from
        :func:`analysis.outofcore.cohort_cells`).
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
    trials
        The column counting the people in each row when the rows are cells
        (covariate patterns) rather than people; ``outcome`` then counts the
        people with the outcome (whole numbers from 0 to ``trials``). Cells
        that share a pattern of the model's terms are merged, so the fit is
        the one on the people (the same coefficients, standard errors,
        log-likelihood and notes; see docs/methods.md, logistic regression on
        grouped data). Not with ``offset``, which is per person.

    Returns
    -------
    FlagsModel
        ``odds_ratios`` (tidy adjusted ORs), ``comparison`` (unadjusted and
        adjusted side by side), ``marginal_effects`` (differences in probability),
        ``predict()``, ``llf``/``aic`` (individual-level), ``separation``,
        ``method_code`` and ``fitted_on`` (how and on what it was fitted),
        ``method`` (the same in words) and ``notes``.

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
    confidence = one_confidence_level(confidence, function="fit_flags_model")
    flags = [f for f in flags]
    adjust = [a for a in adjust if a not in flags]
    model = fit_logistic(cohort, [*flags, *adjust], outcome=outcome, interactions=interactions, reference=reference,
                         offset=offset, firth=firth, confidence=confidence, flags=flags, trials=trials)
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
