"""Attributable fractions against hand calculations, the individual-level Logit and a bootstrap.

References: with one flag and no covariates, A is the observed rate and B
the rate among the unflagged, so PAF = 1 - p0 / p (by hand); with
covariates, B is the mean of the statsmodels Logit's predictions with the
flag set to 0 on the individual rows; the Shapley PAF of two flags is
(PAF_1 + PAF_12 - PAF_2) / 2 by definition; the interval's standard error
is compared with a nonparametric bootstrap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis

FLAGS = ["dv", "homeless", "unemployed"]


def simulate(n: int, seed: int, k: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"sex": pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"]),
                       "area": pd.Categorical(rng.choice(["Dudley", "Walsall", "Sandwell"], n))})
    eta = -0.6 + 0.3 * (df["sex"] == "Male")
    for j, f in enumerate(FLAGS[:k]):
        df[f] = (rng.random(n) < 0.2 + 0.1 * j).astype("int8")
        eta = eta + (0.3 + 0.3 * j) * df[f]
    eta = eta + 0.5 * df["dv"] * (df["area"] == "Walsall")
    df["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("int8")
    return df


def test_single_flag_no_covariates_is_the_hand_formula():
    df = simulate(2000, 0, k=1)
    fit = analysis.fit_flags_model(df, flags=["dv"], adjust=[])
    t = analysis.attributable_fractions(fit).set_index("kind")
    p = df["reoffended"].mean()
    p0 = df.loc[df["dv"] == 0, "reoffended"].mean()
    assert t.loc["single", "predicted_rate"] == pytest.approx(p)  # fractions, not percentages (rule 6)
    assert t.loc["single", "counterfactual_rate"] == pytest.approx(p0)
    assert t.loc["single", "par"] == pytest.approx(p - p0)
    assert t.loc["single", "paf"] == pytest.approx(1 - p0 / p)
    assert t.loc["joint", "paf"] == pytest.approx(1 - p0 / p)
    assert t.loc["shapley", "paf"] == pytest.approx(1 - p0 / p)


def test_counterfactual_matches_individual_logit_predictions():
    df = simulate(3000, 1)
    fit = analysis.fit_flags_model(df, flags=FLAGS, adjust=["sex", "area"], interactions=[("dv", "area")])
    X = pd.DataFrame({"Intercept": 1.0, **{f: df[f].astype(float) for f in FLAGS},
                      **{f"area[{a}]": (df["area"] == a).astype(float) for a in ["Sandwell", "Walsall"]},
                      "sex[Female]": (df["sex"] == "Female").astype(float)})
    for a in ["Sandwell", "Walsall"]:
        X[f"dv:area[{a}]"] = X["dv"] * X[f"area[{a}]"]
    ref = sm.Logit(df["reoffended"].astype(float), X).fit(disp=0, method="newton", tol=1e-12)
    A = ref.predict(X).mean()
    t = analysis.attributable_fractions(fit)
    for f in FLAGS:
        X0 = X.copy()
        X0[f] = 0.0
        if f == "dv":
            X0[["dv:area[Sandwell]", "dv:area[Walsall]"]] = 0.0
        B = ref.predict(X0).mean()
        row = t[(t["kind"] == "single") & (t["term"] == f)].iloc[0]
        assert row["par"] == pytest.approx(A - B, abs=1e-9)
        assert row["paf"] == pytest.approx(1 - B / A, abs=1e-9)
    X0 = X.copy()
    X0[[c for c in X.columns if c != "Intercept" and not c.startswith(("area", "sex"))]] = 0.0
    assert t[t["kind"] == "joint"]["paf"].item() == pytest.approx(1 - ref.predict(X0).mean() / A, abs=1e-9)


def test_two_flag_shapley_is_the_average_over_orders():
    df = simulate(2500, 2, k=2)
    fit = analysis.fit_flags_model(df, flags=["dv", "homeless"], adjust=["sex"])
    t = analysis.attributable_fractions(fit)
    single = t[t["kind"] == "single"].set_index("term")["paf"]
    joint = t[t["kind"] == "joint"]["paf"].item()
    shap = t[t["kind"] == "shapley"].set_index("term")["paf"]
    assert shap["dv"] == pytest.approx((single["dv"] + joint - single["homeless"]) / 2, abs=1e-12)
    assert shap["homeless"] == pytest.approx((single["homeless"] + joint - single["dv"]) / 2, abs=1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), n=st.integers(400, 2000))
def test_law_shapley_pafs_add_up_to_the_joint_paf(seed, n):
    df = simulate(n, seed)
    fit = analysis.fit_flags_model(df, flags=FLAGS, adjust=["sex", "area"], interactions=[("dv", "area")])
    t = analysis.attributable_fractions(fit)
    joint = t[t["kind"] == "joint"].iloc[0]
    shap = t[t["kind"] == "shapley"]
    assert shap["paf"].sum() == pytest.approx(joint["paf"], abs=1e-12)
    assert shap["par"].sum() == pytest.approx(joint["par"], abs=1e-12)


def test_delta_method_interval_agrees_with_bootstrap():
    df = simulate(2000, 3)
    fit = analysis.fit_flags_model(df, flags=FLAGS, adjust=["sex"])
    t = analysis.attributable_fractions(fit)
    rng = np.random.default_rng(7)
    reps = []
    for _ in range(200):
        b = df.iloc[rng.integers(0, len(df), len(df))]
        bt = analysis.attributable_fractions(analysis.fit_flags_model(b, flags=FLAGS, adjust=["sex"]))
        reps.append(bt["paf"].to_numpy())
    boot_se = np.std(np.array(reps), axis=0, ddof=1)
    delta_se = (t["paf_upper"] - t["paf_lower"]).to_numpy() / (2 * 1.959964)
    np.testing.assert_allclose(delta_se, boot_se, rtol=0.2)


def test_sentence_uses_the_numbers():
    df = simulate(1500, 4)
    t = analysis.attributable_fractions(analysis.fit_flags_model(df, flags=FLAGS, adjust=["sex"]))
    row = t[(t["kind"] == "single") & (t["term"] == "homeless")].iloc[0]
    s = row["sentence"]
    assert s.startswith("With no one recorded as homeless, other characteristics unchanged")
    assert f"{100 * row['counterfactual_rate']:.1f}% instead of {100 * row['predicted_rate']:.1f}%" in s
    assert (t.loc[t["kind"] == "shapley", "sentence"] == "").all()
    assert "must not be added" in t.attrs["note"]
