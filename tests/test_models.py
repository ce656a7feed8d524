"""fit_flags_model against independent references.

References: the individual-level statsmodels ``Logit`` on a design matrix
built here with pandas (not the package's own design code), statsmodels'
``get_margeff``, the 2x2-table odds ratio with Woolf's interval by hand, and
for Firth the closed form for a single binary covariate (Firth's estimate is
the log odds ratio with 1/2 added to every cell) and ``firthmodels`` on
individual rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis.models import fit_logistic

FLAGS = list(analysis.FLAGS)
AREAS = ["Dudley", "Sandwell", "Walsall", "Wolverhampton"]


def simulate(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "area": pd.Categorical(rng.choice(AREAS, n), categories=AREAS),
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n, p=[0.8, 0.2]), categories=["Male", "Female"]),
        "age_band": pd.Categorical(rng.choice(["18-20", "21-24", "25-29", "30-34"], n), categories=["18-20", "21-24", "25-29", "30-34"]),
        "offence_group": pd.Categorical(rng.choice(["violence", "theft", "drugs"], n), categories=["violence", "theft", "drugs"]),
        "period": "2015-10/2016-09",
    })
    eta = -0.4 + 0.3 * (df["sex"] == "Male") - 0.3 * (df["age_band"] == "30-34")
    for j, f in enumerate(FLAGS):
        df[f] = (rng.random(n) < 0.15 + 0.04 * j).astype("int8")
        eta = eta + (0.1 + 0.15 * j) * df[f]
    eta = eta + 0.7 * df["dv"] * (df["area"] == "Walsall")
    df["score"] = rng.normal(size=n)
    eta = eta + 0.4 * df["score"]
    df["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("int8")
    return df


def dummies(df: pd.DataFrame, col: str, levels: list[str]) -> pd.DataFrame:
    return pd.DataFrame({f"{col}[{lv}]": (df[col].astype(str) == lv).astype(float) for lv in levels[1:]})


def reference_design(df: pd.DataFrame, interaction: bool = False) -> pd.DataFrame:
    X = pd.concat(
        [
            pd.DataFrame({"Intercept": np.ones(len(df))}),
            df[FLAGS].astype(float).reset_index(drop=True),
            dummies(df, "area", AREAS),
            dummies(df, "sex", ["Male", "Female"]),
            dummies(df, "age_band", ["18-20", "21-24", "25-29", "30-34"]),
            dummies(df, "offence_group", ["violence", "theft", "drugs"]),
        ],
        axis=1,
    )
    if interaction:
        for lv in AREAS[1:]:
            X[f"dv:area[{lv}]"] = X["dv"] * X[f"area[{lv}]"]
    return X


def logit(y, X):
    return sm.Logit(np.asarray(y, float), X).fit(disp=0, method="newton", tol=1e-13, maxiter=100)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate()


@pytest.mark.parametrize("interaction", [False, True])
def test_grouped_fit_equals_individual_logit(cohort, interaction):
    fit = analysis.fit_flags_model(cohort, interactions=[("dv", "area")] if interaction else [])
    X = reference_design(cohort, interaction)
    ref = logit(cohort["reoffended"], X)
    assert fit.n_units < len(cohort)  # really fitted on cells
    assert fit.fitted_on == "cells" and "cells" in fit.method and fit.method_code == "logistic"
    params = fit.params.reindex(X.columns)
    np.testing.assert_allclose(params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-8)
    se = np.sqrt(np.diag(fit.cov.loc[X.columns, X.columns].to_numpy()))
    np.testing.assert_allclose(se, ref.bse.to_numpy(), rtol=0, atol=1e-8)
    assert fit.llf == pytest.approx(ref.llf, abs=1e-7)
    assert fit.aic == pytest.approx(ref.aic, abs=1e-6)
    # predicted probabilities per person
    np.testing.assert_allclose(fit.predict().to_numpy(), ref.predict(), atol=1e-9)
    np.testing.assert_allclose(fit.predict(cohort.iloc[:50]).to_numpy(), ref.predict(X.iloc[:50]), atol=1e-9)


def test_odds_ratio_table_is_tidy_and_matches_logit(cohort):
    fit = analysis.fit_flags_model(cohort)
    X = reference_design(cohort)
    ref = logit(cohort["reoffended"], X)
    t = fit.odds_ratios.set_index("term")
    assert {"odds_ratio", "lower", "upper", "p_value", "n", "method", "statistic", "confidence"} <= set(t.columns)
    ci = np.exp(ref.conf_int(0.05))
    for term in ["dv", "homeless", "area[Walsall]", "sex[Female]"]:
        assert t.loc[term, "odds_ratio"] == pytest.approx(math.exp(ref.params[term]), rel=1e-8)
        assert t.loc[term, "lower"] == pytest.approx(ci.loc[term, 0], rel=1e-7)
        assert t.loc[term, "upper"] == pytest.approx(ci.loc[term, 1], rel=1e-7)
        assert t.loc[term, "p_value"] == pytest.approx(ref.pvalues[term], rel=1e-6, abs=1e-12)
    assert t.loc["dv", "n"] == int(cohort["dv"].sum())


def test_unadjusted_odds_ratio_is_the_two_by_two_table(cohort):
    fit = analysis.fit_flags_model(cohort)
    c = fit.comparison.set_index("term")
    for f in ["dv", "unemployed"]:
        a = int(((cohort[f] == 1) & (cohort["reoffended"] == 1)).sum())
        b = int(((cohort[f] == 1) & (cohort["reoffended"] == 0)).sum())
        cc = int(((cohort[f] == 0) & (cohort["reoffended"] == 1)).sum())
        d = int(((cohort[f] == 0) & (cohort["reoffended"] == 0)).sum())
        odds_ratio = a * d / (b * cc)
        se = math.sqrt(1 / a + 1 / b + 1 / cc + 1 / d)  # Woolf
        assert c.loc[f, "unadjusted_or"] == pytest.approx(odds_ratio, rel=1e-9)
        assert c.loc[f, "unadjusted_lower"] == pytest.approx(odds_ratio * math.exp(-1.959963985 * se), rel=1e-7)
        assert c.loc[f, "unadjusted_upper"] == pytest.approx(odds_ratio * math.exp(1.959963985 * se), rel=1e-7)
        assert c.loc[f, "adjusted_or"] == pytest.approx(fit.odds_ratios.set_index("term").loc[f, "odds_ratio"])


def test_average_marginal_effects_match_statsmodels(cohort):
    fit = analysis.fit_flags_model(cohort)
    X = reference_design(cohort)
    ref = logit(cohort["reoffended"], X)
    me = ref.get_margeff(at="overall", dummy=True)
    frame = me.summary_frame()
    ours = fit.marginal_effects.set_index("term")
    for f in FLAGS:
        assert ours.loc[f, "ame"] == pytest.approx(frame.loc[f, "dy/dx"], abs=1e-9)  # a difference in probability (rule 6)
        assert ours.loc[f, "se"] == pytest.approx(frame.loc[f, "Std. Err."], rel=1e-4)


def test_continuous_term_fits_on_rows(cohort):
    fit = analysis.fit_flags_model(cohort, adjust=["sex", "score"])
    assert fit.n_units == len(cohort) and fit.fitted_on == "rows" and "rows" in fit.method
    X = pd.concat([pd.DataFrame({"Intercept": np.ones(len(cohort))}), cohort[FLAGS].astype(float),
                   dummies(cohort, "sex", ["Male", "Female"]), cohort[["score"]]], axis=1)
    ref = logit(cohort["reoffended"], X)
    np.testing.assert_allclose(fit.params.reindex(X.columns).to_numpy(), ref.params.to_numpy(), atol=1e-8)
    assert fit.llf == pytest.approx(ref.llf, abs=1e-7)


def test_offset_matches_statsmodels_glm(cohort):
    df = cohort.assign(lp=0.3 * cohort["score"])
    fit = analysis.fit_flags_model(df, flags=["dv", "homeless"], adjust=["sex"], offset="lp")
    X = pd.concat([pd.DataFrame({"Intercept": np.ones(len(df))}), df[["dv", "homeless"]].astype(float),
                   dummies(df, "sex", ["Male", "Female"])], axis=1)
    ref = sm.GLM(df["reoffended"].astype(float), X, family=sm.families.Binomial(), offset=df["lp"]).fit(tol=1e-13)
    np.testing.assert_allclose(fit.params.reindex(X.columns).to_numpy(), ref.params.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), ref.bse.reindex(fit.params.index).to_numpy(), atol=1e-8)


def test_single_level_terms_and_missing_rows_are_reported(cohort):
    df = cohort.copy()
    df["homeless"] = df["homeless"].astype("Int8")
    df.loc[:9, "homeless"] = pd.NA
    fit = analysis.fit_flags_model(df, adjust=["sex", "period"])
    assert fit.nobs == len(df) - 10
    assert any("period" in n for n in fit.notes) and any("10 row" in n for n in fit.notes)


def test_no_separation_means_no_firth(cohort):
    fit = analysis.fit_flags_model(cohort)
    assert fit.separation.empty and not fit.firth


def separated(seed: int = 1) -> pd.DataFrame:
    df = simulate(1500, seed)
    df.loc[df["homeless"] == 1, "reoffended"] = 1  # quasi-complete separation on homeless
    return df


def test_separation_detected_named_and_refitted_with_firth():
    df = separated()
    fit = analysis.fit_flags_model(df, adjust=["sex", "age_band"])
    assert list(fit.separation["term"]) == ["homeless"]
    assert fit.separation.loc[0, "direction"] == "+inf"
    assert fit.firth and fit.method_code == "firth" and "Firth" in fit.method
    assert any("separation found for homeless" in n for n in fit.notes)
    assert np.isfinite(fit.params).all() and fit.odds_ratios["method"].isin(["firth", "firth_profile"]).all()
    # without Firth the separation is still named
    plain = analysis.fit_flags_model(df, adjust=["sex", "age_band"], firth=False)
    assert list(plain.separation["term"]) == ["homeless"] and not plain.firth
    assert any("refit with firth=True" in n for n in plain.notes)


def test_firth_on_cells_equals_firth_on_rows():
    from firthmodels import FirthLogisticRegression

    df = separated()
    fit = analysis.fit_flags_model(df, flags=["dv", "homeless"], adjust=["sex"], firth=True)
    X = pd.concat([pd.DataFrame({"Intercept": np.ones(len(df))}), df[["dv", "homeless"]].astype(float),
                   dummies(df, "sex", ["Male", "Female"])], axis=1)
    ref = FirthLogisticRegression(fit_intercept=False, gtol=1e-10, xtol=1e-10, max_iter=200).fit(X.to_numpy(), df["reoffended"].to_numpy())
    np.testing.assert_allclose(fit.params.reindex(X.columns).to_numpy(), ref.coef_, atol=1e-6)


@pytest.mark.parametrize("a,b,c,d", [(12, 0, 30, 40), (5, 3, 7, 20), (0, 9, 14, 11)])
def test_firth_two_by_two_closed_form(a, b, c, d):
    """Firth's estimate for one binary covariate = log odds ratio with 1/2 added to every cell."""
    rows = [(1, 1)] * a + [(1, 0)] * b + [(0, 1)] * c + [(0, 0)] * d
    df = pd.DataFrame(rows, columns=["x", "reoffended"])
    fit = fit_logistic(df, ["x"], firth=True)
    assert fit.params["x"] == pytest.approx(math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))), abs=1e-6)
    assert fit.params["Intercept"] == pytest.approx(math.log((c + 0.5) / (d + 0.5)), abs=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(300, 900))
def test_law_cells_equal_rows_for_any_sample(seed, n):
    df = simulate(n, seed)
    fit = fit_logistic(df, ["dv", "homeless", "sex", "offence_group"], firth=False)
    if not fit.separation.empty:
        return
    X = pd.concat([pd.DataFrame({"Intercept": np.ones(n)}), df[["dv", "homeless"]].astype(float),
                   dummies(df, "sex", ["Male", "Female"]), dummies(df, "offence_group", ["violence", "theft", "drugs"])], axis=1)
    X = X.loc[:, X.columns.isin(fit.params.index)]
    ref = logit(df["reoffended"], X)
    np.testing.assert_allclose(fit.params.reindex(X.columns).to_numpy(), ref.params.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov.loc[X.columns, X.columns])), ref.bse.to_numpy(), atol=1e-8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), separate=st.booleans())
def test_law_the_newton_shortcut_never_hides_separation(seed, n, separate):
    """The fit skips the separation LP only when Newton plainly reached a finite maximum: on small samples, where
    separation is common, the exact LP (Konis) then finds none."""
    from analysis.fitting import detect_separation, finite_maximum, irls

    df = simulate(n, seed)
    if separate:
        df.loc[df["homeless"] == 1, "reoffended"] = 1
    X = pd.concat([pd.DataFrame({"Intercept": np.ones(n)}), df[["dv", "homeless"]].astype(float),
                   dummies(df, "sex", ["Male", "Female"])], axis=1)
    X = X.loc[:, X.any(axis=0)].to_numpy()
    y = df["reoffended"].to_numpy().astype(float)
    ones = np.ones(n)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return
    if finite_maximum(*irls(X, y, ones, None)):
        assert detect_separation(X, y, ones, [str(i) for i in range(X.shape[1])]).empty
    if separate and df["homeless"].any() and (df.loc[df["homeless"] == 0, "reoffended"] < 1).any():
        assert not finite_maximum(*irls(X, y, ones, None))
