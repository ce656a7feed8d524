"""Standardised risks, risk ratios and differences, against an individual-level statsmodels Logit done separately."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.special import expit

from analysis.models import fit_flags_model


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 6000
    frame = pd.DataFrame({
        "dv": rng.integers(0, 2, n), "homeless": (rng.random(n) < 0.15).astype(int),
        "area": rng.choice(["North", "South", "East"], n), "score": rng.normal(0, 1, n).round(2),
    })
    eta = -0.4 + 0.5 * frame["dv"] + 1.3 * frame["homeless"] + 0.8 * frame["score"] + frame["area"].map({"North": 0, "South": 0.3, "East": -0.2})
    frame["reoffended"] = (rng.random(n) < expit(eta)).astype(int)
    return frame


def _by_hand(frame: pd.DataFrame, flag: str):
    """Counterfactual means from a row-level Logit; delta-method SEs from a numerical gradient."""
    fit = smf.logit("reoffended ~ dv + homeless + C(area) + score", data=frame).fit(disp=0)
    beta, cov = fit.params.to_numpy(), fit.cov_params().to_numpy()
    X1 = fit.model.exog.copy()
    X0 = fit.model.exog.copy()
    j = fit.model.exog_names.index(flag)
    X1[:, j], X0[:, j] = 1.0, 0.0

    def risks(b):
        return expit(X1 @ b).mean(), expit(X0 @ b).mean()

    def gradient(f, b, h=1e-6):
        return np.array([(f(b + h * e) - f(b - h * e)) / (2 * h) for e in np.eye(len(b))])

    log_rr = lambda b: np.log(risks(b)[0] / risks(b)[1])  # noqa: E731
    rd = lambda b: risks(b)[0] - risks(b)[1]  # noqa: E731
    g_rr, g_rd = gradient(log_rr, beta), gradient(rd, beta)
    r1, r0 = risks(beta)
    return r1, r0, np.sqrt(g_rr @ cov @ g_rr), np.sqrt(g_rd @ cov @ g_rd)


@pytest.mark.parametrize("flag", ["dv", "homeless"])
def test_standardised_risks_equal_an_individual_level_fit(people, flag):
    model = fit_flags_model(people, flags=["dv", "homeless"], adjust=["area", "score"])
    row = model.standardised_risks.set_index("term").loc[flag]
    r1, r0, se_log_rr, se_rd = _by_hand(people, flag)
    assert row["risk_flagged"] == pytest.approx(r1, rel=1e-7)
    assert row["risk_unflagged"] == pytest.approx(r0, rel=1e-7)
    assert row["risk_ratio"] == pytest.approx(r1 / r0, rel=1e-7)
    z = 1.959963984540054
    assert row["rr_lower"] == pytest.approx(r1 / r0 * np.exp(-z * se_log_rr), rel=1e-5)
    assert row["rr_upper"] == pytest.approx(r1 / r0 * np.exp(z * se_log_rr), rel=1e-5)
    assert row["rd_lower"] == pytest.approx(r1 - r0 - z * se_rd, rel=1e-5)
    assert row["risk_difference"] == pytest.approx(model.marginal_effects.set_index("term").loc[flag, "ame"], rel=1e-9)


def test_a_flag_with_no_effect_has_an_interval_around_one():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"dv": rng.integers(0, 2, 5000)})
    frame["reoffended"] = (rng.random(5000) < 0.4).astype(int)
    row = fit_flags_model(frame, flags=["dv"], adjust=[]).standardised_risks.iloc[0]
    assert row["rr_lower"] < 1 < row["rr_upper"] and row["rd_lower"] < 0 < row["rd_upper"]
    # with no covariates the standardised risks are the crude rates
    assert row["risk_flagged"] == pytest.approx(frame.loc[frame["dv"] == 1, "reoffended"].mean(), rel=1e-8)
