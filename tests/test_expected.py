"""expected_probabilities: against the individual-level statsmodels Logit, and the in-model O/E identity.

The identity (module docstring of analysis.expected): fitted on the same
rows, a logistic model with an intercept and a categorical term makes
observed = expected in every level of that term, so O/E = 1 exactly for
every grouping in the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis.expected import check_comparison

BASE, NOW = "2014-10/2015-09", "2015-10/2016-09"
CASEMIX = ["sex", "age_band", "offence_group"]


def simulate(n: int, seed: int, period: str = NOW) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n, p=[0.75, 0.25]), categories=["Male", "Female"]),
        "age_band": pd.Categorical(rng.choice(["18-20", "21-24", "25-29", "30-34"], n)),
        "offence_group": pd.Categorical(rng.choice(["violence", "theft", "drugs"], n, p=[0.5, 0.3, 0.2])),
        "area": pd.Categorical(rng.choice(["Dudley", "Walsall"], n)),
        "period": period,
        "dv": rng.integers(0, 2, n).astype("int8"),
    })
    eta = -0.3 + 0.4 * (df["sex"] == "Male") + 0.5 * (df["offence_group"] == "theft") + 0.6 * df["dv"]
    df["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("int8")
    return df


def design(df: pd.DataFrame, levels: dict[str, list[str]]) -> pd.DataFrame:
    cols = {"Intercept": np.ones(len(df))}
    for c, lv in levels.items():
        for x in lv[1:]:
            cols[f"{c}[{x}]"] = (df[c].astype(str) == x).astype(float).to_numpy()
    return pd.DataFrame(cols, index=df.index)


def test_reference_period_model_matches_logit_and_records_terms_and_period():
    base, now = simulate(2000, 1, BASE), simulate(1500, 2, NOW)
    e = analysis.expected_probabilities(base, now)
    levels = {"sex": ["Male", "Female"], "age_band": ["18-20", "21-24", "25-29", "30-34"], "offence_group": ["drugs", "theft", "violence"]}
    ref = sm.Logit(base["reoffended"].astype(float), design(base, levels)).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(e.to_numpy(), ref.predict(design(now, levels)), atol=1e-9)
    assert e.index.equals(now.index)
    assert e.attrs["terms"] == CASEMIX
    assert e.attrs["period"] == BASE and e.attrs["target_period"] == NOW
    assert e.attrs["internal"] is False and e.attrs["n_fit"] == 2000
    assert BASE in e.attrs["description"] and "sex + age_band + offence_group" in e.attrs["description"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), n=st.integers(200, 1200))
def test_law_oe_is_one_for_every_in_model_grouping(seed, n):
    df = simulate(n, seed)
    e = analysis.expected_probabilities(df, df, casemix=CASEMIX)
    if e.attrs["separation"]:
        return  # infinite estimates: Firth-penalised, the identity is for maximum likelihood
    assert e.attrs["internal"]
    assert e.sum() == pytest.approx(df["reoffended"].sum(), abs=1e-6)
    for g in CASEMIX:
        o = df.groupby(g, observed=True)["reoffended"].sum()
        ex = e.groupby(df[g], observed=True).sum()
        np.testing.assert_allclose((o / ex).to_numpy(), 1.0, atol=1e-8)


def test_left_out_grouping_is_a_real_comparison():
    df = simulate(3000, 5)
    e = analysis.expected_probabilities(df, df, casemix=["sex", "age_band"])
    o = df.groupby("dv")["reoffended"].sum()
    ex = e.groupby(df["dv"]).sum()
    assert (o / ex).loc[1] > 1.05 and (o / ex).loc[0] < 0.95  # dv raises reoffending beyond the case mix
    check_comparison(e, "dv")
    check_comparison(e, "offence_group")
    with pytest.raises(ValueError, match="exactly 1"):
        check_comparison(e, "sex")


def test_in_model_grouping_allowed_against_a_reference_period():
    e = analysis.expected_probabilities(simulate(800, 1, BASE), simulate(800, 2, NOW))
    check_comparison(e, "sex")  # a change since the baseline, not an identity


def test_unseen_case_mix_is_unscored():
    base, now = simulate(600, 3, BASE), simulate(300, 4, NOW)
    now["offence_group"] = now["offence_group"].cat.add_categories(["robbery"])
    now.loc[now.index[:7], "offence_group"] = "robbery"
    e = analysis.expected_probabilities(base, now)
    assert int(e.isna().sum()) == 7 and e.attrs["n_unscored"] == 7
    assert "unscored" in e.attrs["description"]
