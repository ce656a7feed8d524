"""Diagnostics against independent references.

References: the C-statistic from scipy's Mann-Whitney U on individual rows,
DeLong's variance from an O(m n) placement computation written here on
individual rows; calibration-in-the-large and slope from statsmodels GLMs on
individual rows; Hosmer-Lemeshow by hand from individual rows, and R's
ResourceSelection::hoslem.test grouping written out here with numpy and
pandas (15.86 with our equal-size groups, 12.36 with its quantile cuts on the
simulated cohort below); VIF from
statsmodels' variance_inflation_factor; likelihood-ratio tests from
statsmodels Logit log-likelihoods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

import analysis
from analysis.paper.method_text import method_words

AREAS = ["Dudley", "Sandwell", "Walsall", "Wolverhampton"]
FLAGS = ["dv", "homeless", "mental_health"]


def simulate(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"area": pd.Categorical(rng.choice(AREAS, n), categories=AREAS),
                       "sex": pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"]),
                       "age_band": pd.Categorical(rng.choice(["18-20", "21-24", "25-29"], n))})
    base = rng.random(n)
    df["dv"] = (rng.random(n) < 0.2).astype("int8")
    df["homeless"] = ((base + rng.random(n)) > 1.4).astype("int8")  # correlated with mental_health
    df["mental_health"] = ((base + rng.random(n)) > 1.2).astype("int8")
    eta = -0.5 + shift + 0.3 * (df["sex"] == "Male") + 0.2 * df["dv"] + 0.8 * df["homeless"] + 0.5 * df["mental_health"]
    eta = eta + 1.0 * df["dv"] * (df["area"] == "Walsall")
    df["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("int8")
    return df


@pytest.fixture(scope="module")
def data():
    df = simulate(3000, 0)
    return df, analysis.fit_flags_model(df, flags=FLAGS, adjust=["area", "sex", "age_band"])


def test_c_statistic_equals_mann_whitney_and_delong(data):
    df, fit = data
    p = fit.predict().to_numpy()
    y = df["reoffended"].to_numpy()
    cases, controls = p[y == 1], p[y == 0]
    u = stats.mannwhitneyu(cases, controls).statistic
    d = analysis.discrimination(fit).iloc[0]
    assert d["estimate"] == pytest.approx(u / (cases.size * controls.size), abs=1e-12)
    # DeLong by brute force on individuals
    psi = (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / cases.size + v01.var(ddof=1) / controls.size)
    assert d["se"] == pytest.approx(se, rel=1e-9)
    assert d["lower"] == pytest.approx(d["estimate"] - 1.959964 * se, abs=1e-6)
    assert {"statistic", "method", "confidence", "n"} <= set(d.index)


def test_calibration_on_new_data_matches_glm(data):
    _, fit = data
    new = simulate(2500, 9, shift=0.3)  # more reoffending than the model predicts
    lp = np.log(fit.predict(new) / (1 - fit.predict(new))).to_numpy()
    y = new["reoffended"].astype(float).to_numpy()
    citl = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
    c = analysis.calibration(fit, new).set_index("statistic")
    assert c.loc["calibration_in_the_large", "estimate"] == pytest.approx(citl.params[0], abs=1e-8)
    assert c.loc["calibration_in_the_large", "estimate"] > 0.1
    assert c.loc["calibration_slope", "estimate"] == pytest.approx(slope.params[1], abs=1e-8)
    se = c.loc["calibration_slope", "estimate"] - c.loc["calibration_slope", "lower"]
    assert se / 1.959964 == pytest.approx(slope.bse[1], rel=1e-6)
    # apparent calibration is perfect by construction
    a = analysis.calibration(fit).set_index("statistic")["estimate"]
    assert a["calibration_in_the_large"] == pytest.approx(0, abs=1e-8) and a["calibration_slope"] == pytest.approx(1, abs=1e-8)


def test_calibration_table_and_hosmer_lemeshow_by_hand(data):
    df, fit = data
    t = analysis.calibration_table(fit)
    p = fit.predict().to_numpy()
    y = df["reoffended"].to_numpy()
    assert t["n"].sum() == len(df) and t["observed"].sum() == y.sum()
    assert t["expected"].sum() == pytest.approx(p.sum())
    # fractions, not percentages (docs/api.md rule 6): the rates are the counts over n, inside their Wilson interval
    np.testing.assert_allclose(t["observed_rate"], t["observed"] / t["n"], rtol=1e-12)
    np.testing.assert_allclose(t["expected_rate"], t["expected"] / t["n"], rtol=1e-12)
    assert ((t["lower"] <= t["observed_rate"]) & (t["observed_rate"] <= t["upper"]) & (t["upper"] <= 1)).all()
    # rebuild the groups from the individual predictions: group edges are the tables' expected ranges
    order = np.argsort(p, kind="stable")
    sizes = t["n"].to_numpy()
    groups = np.split(order, np.cumsum(sizes)[:-1])
    o = np.array([y[g].sum() for g in groups])
    e = np.array([p[g].sum() for g in groups])
    np.testing.assert_array_equal(o, t["observed"].to_numpy())
    np.testing.assert_allclose(e, t["expected"].to_numpy())
    assert all(p[a].max() <= p[b].min() for a, b in zip(groups[:-1], groups[1:]))  # ties kept together
    h = ((o - e) ** 2 / (e * (1 - e / sizes))).sum()
    hl = analysis.hosmer_lemeshow(fit).iloc[0]
    assert hl["estimate"] == pytest.approx(h) and hl["df"] == len(t) - 2
    assert hl["p_value"] == pytest.approx(stats.chi2.sf(h, len(t) - 2))


def test_vif_matches_statsmodels(data):
    df, fit = data
    X = sm.add_constant(df[FLAGS].astype(float)).to_numpy()
    ref = [variance_inflation_factor(X, i) for i in range(1, X.shape[1])]
    for source in (fit, df):
        v = analysis.flag_collinearity(source, flags=FLAGS)
        np.testing.assert_allclose(v["vif"].to_numpy(), ref, rtol=1e-9)
    v = analysis.flag_collinearity(fit, flags=FLAGS).set_index("term")
    assert v.loc["homeless", "most_correlated_with"] == "mental_health"
    assert v.loc["homeless", "correlation"] == pytest.approx(np.corrcoef(df["homeless"], df["mental_health"])[0, 1])
    assert v.loc["homeless", "prevalence"] == pytest.approx(df["homeless"].mean())  # a fraction (rule 6)


def test_interaction_lr_tests_match_logit_and_find_walsall(data):
    df, _ = data
    t = analysis.interaction_tests(df, flags=FLAGS, by=["area"], adjust=["area", "sex"])
    X = pd.DataFrame({"Intercept": 1.0, **{f: df[f].astype(float) for f in FLAGS},
                      **{f"a{a}": (df["area"] == a).astype(float) for a in AREAS[1:]},
                      "female": (df["sex"] == "Female").astype(float)})
    base = sm.Logit(df["reoffended"].astype(float), X).fit(disp=0, method="newton", tol=1e-12)
    X2 = X.copy()
    for a in AREAS[1:]:
        X2[f"dv_{a}"] = X["dv"] * X[f"a{a}"]
    full = sm.Logit(df["reoffended"].astype(float), X2).fit(disp=0, method="newton", tol=1e-12)
    row = t[(t["flag"] == "dv") & (t["by"] == "area")].iloc[0]
    assert row["lr"] == pytest.approx(2 * (full.llf - base.llf), abs=1e-6)
    assert row["df"] == 3 and row["p_value"] == pytest.approx(stats.chi2.sf(row["lr"], 3))
    assert t.iloc[0]["flag"] == "dv" and t.iloc[0]["p_holm"] < 0.01  # the planted interaction ranks first
    by = analysis.flag_effect_by(df, "dv", "area", flags=FLAGS, adjust=["area", "sex"]).set_index("level")
    assert by["odds_ratio"].idxmax() == "Walsall"
    est = full.params["dv"] + full.params["dv_Walsall"]
    assert by.loc["Walsall", "odds_ratio"] == pytest.approx(np.exp(est), rel=1e-7)
    assert by.loc["Walsall", "n"] == int((df["area"] == "Walsall").sum())


def test_hosmer_lemeshow_quantile_grouping_reproduces_resourceselection(data):
    # ResourceSelection::hoslem.test(y, yhat, g = 10), written out on the individual rows:
    # qq <- unique(quantile(yhat, seq(0, 1, 1/g))); cut(yhat, qq, include.lowest = TRUE);
    # chisq = sum over both columns (y0 = 1 - y, y1 = y) of (observed - expected)^2 / expected; df = G - 2.
    df, fit = data
    yhat = fit.predict().to_numpy()
    y = df["reoffended"].to_numpy(dtype=float)
    qq = np.unique(np.quantile(yhat, np.arange(11) * (1 / 10)))  # numpy's default is R's type 7
    cut = pd.cut(yhat, qq, right=True, include_lowest=True, labels=False)
    frame = pd.DataFrame({"g": cut, "y1": y, "y0": 1 - y, "e1": yhat, "e0": 1 - yhat}).groupby("g").sum()
    chisq = float((((frame["y1"] - frame["e1"]) ** 2) / frame["e1"] + ((frame["y0"] - frame["e0"]) ** 2) / frame["e0"]).sum())
    groups = frame.shape[0]
    hl = analysis.hosmer_lemeshow(fit, grouping="quantile").iloc[0]
    assert hl["estimate"] == pytest.approx(chisq, rel=1e-9)
    assert hl["df"] == groups - 2 and hl["groups"] == groups
    assert hl["p_value"] == pytest.approx(stats.chi2.sf(chisq, groups - 2), rel=1e-9)
    assert hl["grouping"] == "quantile" and hl["method"] == "hosmer_lemeshow" and "hoslem.test" in method_words(hl["method"], hl)
    t = analysis.calibration_table(fit, grouping="quantile")
    np.testing.assert_array_equal(t["n"].to_numpy(), frame[["y0", "y1"]].sum(axis=1).to_numpy())
    # The default grouping is the other convention, named in the output.
    default = analysis.hosmer_lemeshow(fit).iloc[0]
    assert default["grouping"] == "equal-size" and "equal size" in method_words(default["method"], default)
    with pytest.raises(ValueError):
        analysis.hosmer_lemeshow(fit, grouping="deciles")


def test_the_two_groupings_differ_on_tied_predictions():
    # Ten people: predictions 0.1 (4 people), 0.2 (3), 0.5 (3); two groups.
    # Equal size: midpoints of the tied blocks 2, 5.5, 8.5 of 10 -> groups 0, 1, 1.
    # Quantile: median at position 1 + 9 x 0.5 = 5.5 of (.1 .1 .1 .1 .2 .2 .2 .5 .5 .5) = 0.2, breaks 0.1, 0.2, 0.5:
    # [0.1, 0.2] and (0.2, 0.5] -> groups 0, 0, 1.
    from analysis.diagnostics import _risk_groups

    p, n = np.array([0.1, 0.2, 0.5]), np.array([4.0, 3.0, 3.0])
    assert _risk_groups(p, n, 2, "equal-size").tolist() == [0, 1, 1]
    assert _risk_groups(p, n, 2, "quantile").tolist() == [0, 0, 1]
    # and the quantile breaks are R's type 7 on the ten people
    people = np.repeat(p, n.astype(int))
    assert np.quantile(people, [0, 0.5, 1]).tolist() == [0.1, 0.2, 0.5]
