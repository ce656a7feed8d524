"""Funnel plots and overdispersion (docs/methods.md), against independent values.

The phi and tau-squared values below were worked by hand from the formulas
(shown in the comments); the exact limits are checked against Poisson and
binomial probabilities written out here (closed forms or scipy.stats), and
labels and limits against UKHSA's PHEindicatormethods test vectors
(tests/data/ukhsa, with their provenance).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import special, stats  # noqa: E402

from analysis import estimate_overdispersion, funnel_limits, funnel_plot, funnel_units, observed_vs_expected  # noqa: E402
from analysis.paper.method_text import method_words  # noqa: E402

Z95, Z998 = 1.959964, 3.090232

# Ten units: z-scores and standard errors.
Z = [-3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 4.0]
S = [0.1] * 5 + [0.2] * 5


def test_overdispersion_shmi_truncation_by_hand():
    # 10th/90th percentiles (linear): -3 + 0.9 * 1.5 = -1.65 and 2 + 0.1 * 2 = 2.2, so -3 and 4 are dropped.
    # phi = (2.25 + 1 + .25 + 0 + .25 + 1 + 2.25 + 4) / 8 = 1.375
    # w = 100 (x4), 25 (x4): sum w = 500, sum w^2 = 42500 -> 500 - 85 = 415; tau2 = (11 - 7) / 415
    od = estimate_overdispersion(Z, S, method="truncation").iloc[0]
    assert od["phi"] == pytest.approx(1.375)
    assert od["tau2"] == pytest.approx(4 / 415)
    assert (od["n_units"], od["n_used"]) == (10, 8)
    assert od["method"] == "truncation" and "SHMI truncation" in method_words(od["method"], od)


def test_overdispersion_cqc_winsorisation_by_hand():
    # z capped to -1.65 and 2.2: phi = (2.7225 + 11 + 4.84) / 10 = 1.85625
    # w = 100 (x5), 25 (x5): 625 - 53125 / 625 = 540; tau2 = (18.5625 - 9) / 540
    od = estimate_overdispersion(Z, S, method="winsorisation").iloc[0]
    assert od["phi"] == pytest.approx(1.85625)
    assert od["tau2"] == pytest.approx(9.5625 / 540)
    assert od["n_used"] == 10
    assert od["method"] == "winsorisation" and "CQC winsorisation" in method_words(od["method"], od)


def test_overdispersion_untrimmed_and_tau2_zero():
    od = estimate_overdispersion(Z, S, method="none").iloc[0]
    assert od["phi"] == pytest.approx(3.6)  # (9 + 11 + 16) / 10
    assert od["tau2"] == pytest.approx((36 - 9) / 540)
    od = estimate_overdispersion([0.1, -0.1, 0.2, -0.2], [0.1] * 4, method="none").iloc[0]
    assert od["phi"] == pytest.approx(0.025)
    assert od["tau2"] == 0  # n phi = 0.1 < n - 1 = 3


def test_bad_overdispersion_method():
    with pytest.raises(ValueError):
        estimate_overdispersion(Z, S, method="trimmed")
    with pytest.raises(ValueError):
        funnel_units(pd.DataFrame({"observed": [1], "expected": [1.0]}), method="trimmed")


def ratio_units() -> pd.DataFrame:
    return pd.DataFrame({"group": ["A", "B", "C"], "observed": [150, 100, 60], "expected": [100.0, 100.0, 100.0]})


def test_ratio_funnel_random_effects_limits_by_hand():
    # trim = 0: all three units. z = 10 ln(O/100); w = 100 each -> 300 - 30000/300 = 200.
    z = [10 * math.log(1.5), 0.0, 10 * math.log(0.6)]
    phi = sum(v * v for v in z) / 3
    tau2 = (3 * phi - 2) / 200
    u = funnel_units(ratio_units(), kind="ratio", method="winsorisation", trim=0.0)
    assert u["phi"].iloc[0] == pytest.approx(phi)
    assert u["tau2"].iloc[0] == pytest.approx(tau2)
    assert bool(u["adjusted"].iloc[0])
    a95 = u[(u["group"] == "A") & (u["confidence"] == 0.95)].iloc[0]
    a998 = u[(u["group"] == "A") & (u["confidence"] == 0.998)].iloc[0]
    assert a95["upper"] == pytest.approx(math.exp(Z95 * math.sqrt(0.01 + tau2)), rel=1e-6)
    assert a95["lower"] == pytest.approx(math.exp(-Z95 * math.sqrt(0.01 + tau2)), rel=1e-6)
    assert a998["upper"] == pytest.approx(math.exp(Z998 * math.sqrt(0.01 + tau2)), rel=1e-6)
    assert a95["z"] == pytest.approx(z[0])
    assert a95["z_adjusted"] == pytest.approx(math.log(1.5) / math.sqrt(0.01 + tau2))
    lim = funnel_limits(ratio_units(), kind="ratio", method="winsorisation", trim=0.0, precision=[400.0], confidence=0.95)
    assert lim.loc[0, "upper"] == pytest.approx(math.exp(Z95 * math.sqrt(1 / 400 + tau2)), rel=1e-6)
    assert {"statistic", "method", "confidence", "phi", "tau2", "expected"} <= set(lim.columns)


def test_proportion_funnel_random_effects_limits_by_hand():
    units = pd.DataFrame({"group": ["A", "B", "C"], "observed": [60, 40, 20], "n": [100, 100, 100]})
    target = math.asin(math.sqrt(0.4))
    z = [(math.asin(math.sqrt(p)) - target) / 0.05 for p in (0.6, 0.4, 0.2)]
    phi = sum(v * v for v in z) / 3
    w = 400.0  # 1 / s^2 with s = 1 / (2 sqrt(100))
    tau2 = (3 * phi - 2) / (3 * w - 3 * w * w / (3 * w))
    u = funnel_units(units, kind="proportion", method="winsorisation", trim=0.0, confidence=0.95)
    assert u.loc[0, "target"] == pytest.approx(0.4)
    assert u.loc[0, "phi"] == pytest.approx(phi)
    assert u.loc[0, "tau2"] == pytest.approx(tau2)
    half = Z95 * math.sqrt(0.0025 + tau2)
    assert u.loc[0, "lower"] == pytest.approx(math.sin(target - half) ** 2, rel=1e-6)
    assert u.loc[0, "upper"] == pytest.approx(math.sin(target + half) ** 2, rel=1e-6)
    assert u.loc[0, "statistic"] == "proportion"


def test_phi_at_most_one_falls_back_to_exact_poisson_limits():
    # Poisson(2): P(X >= 5) = 1 - 7 e^-2 = 0.052653, P(X >= 6) = 1 - (7 + 4/15) e^-2 = 0.016564.
    # So at E = 2 a unit is High (0.025) from O = 6, not O = 5: the 95% upper limit lies in (5/2, 6/2).
    # (The old interpolated limit, (5 - 0.23376) / 2 = 2.383, flagged O = 5.)
    units = pd.DataFrame({"group": ["A", "B", "C"], "observed": [2, 2, 2], "expected": [2.0, 2.0, 2.0]})
    u = funnel_units(units, kind="ratio", confidence=0.95)
    assert u["phi"].iloc[0] == pytest.approx(0.0)
    assert not bool(u["adjusted"].iloc[0])
    words = method_words(u["method"].iloc[0], u.iloc[0])
    assert u["method"].iloc[0] == "exact_poisson" and "phi <= 1" in words and "exact Poisson test" in words
    assert u["limits"].iloc[0] == "exact Poisson"
    assert 1 - 7 * math.exp(-2) == pytest.approx(0.052653, abs=1e-6)
    assert 2.5 < u.loc[0, "upper"] < 3.0
    # The line is the count at which the p-value, continued by the incomplete gamma function, is 0.025.
    assert special.gammainc(2 * u.loc[0, "upper"], 2.0) == pytest.approx(0.025, rel=1e-9)
    # Lower: P(X <= 0) = e^-2 = 0.135 > 0.025, so even O = 0 is not Low: the line is at 0.
    assert u.loc[0, "lower"] == 0
    labels = funnel_units(pd.DataFrame({"group": ["5", "6"], "observed": [5, 6], "expected": [2.0, 2.0]}),
                          method="none", confidence=0.95)
    assert labels["significance"].tolist() == ["Not significant", "High (0.025)"]


def test_exact_limits_approach_normal_at_large_expected():
    units = pd.DataFrame({"group": ["A"], "observed": [10000], "expected": [10000.0]})
    lim = funnel_limits(units, method="none", precision=[10000.0], confidence=0.95)
    assert lim.loc[0, "lower"] == pytest.approx(1 - Z95 / 100, abs=1e-3)
    assert lim.loc[0, "upper"] == pytest.approx(1 + Z95 / 100, abs=1e-3)


def test_ukhsa_significance_labels():
    # E = 100; exact Poisson 95% limits about 0.80-1.20, 99.8% about 0.70-1.32.
    units = pd.DataFrame(
        {"group": list("ABCDE"), "observed": [100, 125, 140, 78, 60], "expected": [100.0] * 5}
    )
    u = funnel_units(units, method="none")
    labels = u.drop_duplicates("group").set_index("group")["significance"].to_dict()
    assert labels == {
        "A": "Not significant",
        "B": "High (0.025)",
        "C": "High (0.001)",
        "D": "Low (0.025)",
        "E": "Low (0.001)",
    }
    b = u[u["group"] == "B"]
    assert list(b["outside"]) == ["High", ""]


def test_accepts_observed_vs_expected_output():
    cohort = pd.DataFrame(
        {"area": ["A"] * 100 + ["B"] * 100, "reoffended": [1] * 80 + [0] * 20 + [1] * 20 + [0] * 80, "expected": 0.5}
    )
    t = observed_vs_expected(cohort, "area", compare_rest=False)
    u = funnel_units(t, method="none")  # E = 50: 99.8% exact limits about 0.6 to 1.45
    assert list(u["group"]) == ["area=A", "area=A", "area=B", "area=B"]
    assert u.drop_duplicates("group")["significance"].tolist() == ["High (0.001)", "Low (0.001)"]


def test_funnel_plot_labels_outliers_and_prints_phi_tau2():
    units = pd.DataFrame(
        {"group": ["area=Dudley", "area=Sandwell", "area=Walsall"], "observed": [100, 160, 98], "expected": [100.0] * 3}
    )
    ax = funnel_plot(units, method="none", expected_source="supplied column 'expected'")
    texts = [t.get_text() for t in ax.texts]
    assert "Sandwell" in texts and "Dudley" not in texts
    footnote = " ".join(texts)
    assert "phi = " in footnote and "tau\u00b2 = " in footnote and "supplied column" in footnote
    plt.close(ax.figure)


# ----------------------------------------------------------------- laws

OVERDISPERSED = pd.DataFrame(
    {"group": list("ABCDEFGH"), "observed": [150, 100, 60, 90, 130, 70, 110, 85], "expected": [100.0] * 8,
     "n": [300] * 8}
)
precisions = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(a=precisions, b=precisions, kind=st.sampled_from(["ratio", "proportion"]))
def test_adjusted_limits_narrow_as_precision_grows(a, b, kind):
    lo, hi = sorted((a, b))
    if kind == "proportion":
        lo, hi = round(lo), round(hi)
    lim = funnel_limits(OVERDISPERSED, kind=kind, precision=[lo, hi], confidence=0.95)
    assert bool(lim["adjusted"].iloc[0])
    assert lim.loc[1, "lower"] >= lim.loc[0, "lower"] - 1e-12
    assert lim.loc[1, "upper"] <= lim.loc[0, "upper"] + 1e-12


@settings(max_examples=40, deadline=None)
@given(a=precisions, b=precisions, kind=st.sampled_from(["ratio", "proportion"]))
def test_exact_limits_narrow_as_precision_grows(a, b, kind):
    # The exact lines are smooth (the p-value is continuous in the count), and narrow steadily.
    lo, hi = sorted((a, b))
    p = [round(lo), round(hi)] if kind == "proportion" else [lo, hi]
    lim = funnel_limits(OVERDISPERSED, kind=kind, method="none", precision=p, confidence=[0.95, 0.998])
    for _, part in lim.groupby("confidence"):
        part = part.reset_index(drop=True)
        assert part.loc[1, "lower"] >= part.loc[0, "lower"] * (1 - 1e-9) - 1e-12
        assert part.loc[1, "upper"] <= part.loc[0, "upper"] * (1 + 1e-9) + 1e-12


@settings(max_examples=40, deadline=None)
@given(p=st.floats(min_value=10.0, max_value=5000.0), c1=st.floats(0.8, 0.999), c2=st.floats(0.8, 0.999),
       od=st.sampled_from(["truncation", "winsorisation", "none"]), kind=st.sampled_from(["ratio", "proportion"]))
def test_limits_widen_with_confidence(p, c1, c2, od, kind):
    lo, hi = sorted((c1, c2))
    lim = funnel_limits(OVERDISPERSED, kind=kind, method=od, precision=[round(p)], confidence=[lo, hi])
    narrow, wide = lim.iloc[0], lim.iloc[-1]
    assert wide["lower"] <= narrow["lower"] + 1e-12
    assert wide["upper"] >= narrow["upper"] - 1e-12
    assert wide["lower"] <= wide["target"] <= wide["upper"]


# ----------------------------------------------------------------- UKHSA's test vectors (tests/data/ukhsa)

UKHSA = Path(__file__).parent / "data" / "ukhsa"


def ukhsa_ratio_units() -> pd.DataFrame:
    return pd.read_csv(UKHSA / "funnel_ratio_inputs.csv")


def ukhsa_prop_units() -> pd.DataFrame:
    return pd.read_csv(UKHSA / "funnel_prop_inputs.csv")


def test_ukhsa_ratio_labels_on_all_300_units():
    d = ukhsa_ratio_units()
    assert len(d) == 300
    u = funnel_units(d, kind="ratio", observed="obs", expected="expected", method="none")
    ours = u[u["confidence"] == 0.95]["significance"].to_numpy()
    assert (ours == d["significance"].to_numpy()).all(), d[ours != d["significance"].to_numpy()]
    assert set(d["significance"]) == {"High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant"}


@pytest.mark.parametrize("method", ["exact", "score"])
def test_ukhsa_proportion_labels_on_all_303_units(method):
    d = ukhsa_prop_units()
    assert len(d) == 303
    u = funnel_units(d, kind="proportion", observed="numerator", n="denominator", label="Area",
                     method="none", limits=method)
    assert u["target"].iloc[0] * 100 == pytest.approx(80.642448, abs=5e-7)  # UKHSA's baseline
    ours = u[u["confidence"] == 0.95]["significance"].to_numpy()
    assert (ours == d["significance"].to_numpy()).all(), d[ours != d["significance"].to_numpy()]
    assert u["limits"].iloc[0] == ("exact binomial" if method == "exact" else "score")


@pytest.mark.parametrize("side, level", [("upper_2s", 0.95), ("upper_3s", 0.998), ("lower_2s", 0.95), ("lower_3s", 0.998)])
def test_exact_ratio_limits_pass_through_ukhsa_points(side, level):
    # UKHSA tabulates, for each O, the E at which the one-sided Poisson p-value equals the tail;
    # the limit there is O / E. UKHSA's E is found by bisection to about 1e-7.
    out = pd.read_csv(UKHSA / "funnel_ratio_outputs.csv")
    o = out.iloc[:, 0].to_numpy(dtype=float)
    e = out[f"{side}_exp_events"].to_numpy()
    lim = funnel_limits(ratio_units(), method="none", precision=e, confidence=level)
    ours = lim["upper" if side.startswith("upper") else "lower"].to_numpy()
    np.testing.assert_allclose(ours, o / e, rtol=1e-5)
    np.testing.assert_allclose(100 * ours, out[f"{side}_isr"].to_numpy(), rtol=1e-5)


def test_score_proportion_limits_equal_ukhsa_table():
    d = ukhsa_prop_units()
    table = pd.read_csv(UKHSA / "funnel_prop_outputs.csv")
    lim = funnel_limits(d, kind="proportion", observed="numerator", n="denominator", label="Area", method="none",
                        limits="score", precision=table["Population"].to_numpy(dtype=float), confidence=[0.95, 0.998])
    for level, tag in ((0.95, "2s0025"), (0.998, "3s0001")):
        part = lim[lim["confidence"] == level]
        np.testing.assert_allclose(100 * part["lower"].to_numpy(), table[f"Lower{tag}limit"], atol=1e-6)
        np.testing.assert_allclose(100 * part["upper"].to_numpy(), table[f"Upper{tag}limit"], atol=1e-6)
    words = method_words(lim["method"].iloc[0], lim.iloc[0])
    assert lim["method"].iloc[0] == "score" and "score limits" in words and "UKHSA" in words


# ----------------------------------------------------------------- the audit's units and hand-made cases


@pytest.mark.parametrize(
    "o, e, ukhsa",
    [(261, 230.9734513, "Not significant"), (118, 98.01478528, "Not significant"), (85, 67.9184978, "Not significant"),
     (182, 143.6804295, "High (0.025)"), (94, 67.43668843, "High (0.025)")],
)
def test_audit_units_follow_the_exact_poisson_test(o, e, ukhsa):
    # The five UKHSA units the old upper limit (one event too low) labelled differently.
    p = stats.poisson.sf(o - 1, e)  # P(X >= O)
    expected = "High (0.001)" if p < 0.001 else "High (0.025)" if p < 0.025 else "Not significant"
    assert expected == ukhsa
    u = funnel_units(pd.DataFrame({"group": ["u"], "observed": [o], "expected": [e]}), method="none")
    assert u["significance"].iloc[0] == ukhsa


@pytest.mark.parametrize(
    "o, e, label",
    [
        # P(X >= 1 | 0.2) = 1 - e^-0.2 = 0.181: not significant (the old limit, 4.77, flagged it).
        (1, 0.2, "Not significant"),
        # P(X >= 2 | 0.2) = 1 - 1.2 e^-0.2 = 0.0175.
        (2, 0.2, "High (0.025)"),
        # P(X >= 3 | 1) = 1 - 2.5 e^-1 = 0.0803 (old limit 2.90 flagged it); P(X >= 4 | 1) = 1 - (8/3) e^-1 = 0.0190.
        (3, 1.0, "Not significant"),
        (4, 1.0, "High (0.025)"),
        # P(X >= 10 | 5) = 0.0318 (old limit 9.38 / 5 flagged it); P(X >= 11 | 5) = 0.0137.
        (10, 5.0, "Not significant"),
        (11, 5.0, "High (0.025)"),
        # Low is unchanged: P(X <= 0 | 5) = e^-5 = 0.0067.
        (0, 5.0, "Low (0.025)"),
    ],
)
def test_small_expected_counts_follow_the_exact_test(o, e, label):
    p_high = 1 - sum(math.exp(-e) * e**k / math.factorial(k) for k in range(o))
    p_low = sum(math.exp(-e) * e**k / math.factorial(k) for k in range(o + 1))
    by_hand = ("High (0.001)" if p_high < 0.001 else "High (0.025)" if p_high < 0.025
               else "Low (0.001)" if p_low < 0.001 else "Low (0.025)" if p_low < 0.025 else "Not significant")
    assert by_hand == label
    u = funnel_units(pd.DataFrame({"group": ["u"], "observed": [o], "expected": [e]}), method="none")
    assert u["significance"].iloc[0] == label


@pytest.mark.parametrize("x, label", [(10, "Not significant"), (11, "High (0.025)"), (2, "Not significant"), (1, "Low (0.025)")])
def test_binomial_n20_p03_follows_the_exact_test(x, label):
    # Binomial(20, 0.3): P(X >= 10) = 0.0480 (the old limit, 9.745 / 20, flagged 10), P(X >= 11) = 0.0171;
    # P(X <= 2) = 0.0355, P(X <= 1) = 0.00764.
    pmf = [math.comb(20, k) * 0.3**k * 0.7 ** (20 - k) for k in range(21)]
    p_high, p_low = sum(pmf[x:]), sum(pmf[: x + 1])
    assert p_high == pytest.approx(stats.binom.sf(x - 1, 20, 0.3), rel=1e-12)
    by_hand = "High (0.025)" if 0.001 <= p_high < 0.025 else "Low (0.025)" if 0.001 <= p_low < 0.025 else "Not significant"
    assert by_hand == label
    units = pd.DataFrame({"group": ["u"], "observed": [x], "n": [20]})
    u = funnel_units(units, kind="proportion", target=0.3, method="none")
    assert u["significance"].iloc[0] == label


def test_score_and_exact_proportion_limits_differ_at_small_n():
    # Score limits at n = 3, p = 0.8, 95%: 0.8 - 1.959964 sqrt(0.16 / 3) = 0.3474 and 1 (clipped).
    units = pd.DataFrame({"group": ["a", "b"], "observed": [2, 3], "n": [3, 3]})
    score = funnel_limits(units, kind="proportion", target=0.8, method="none", limits="score", precision=[3], confidence=0.95)
    assert score.loc[0, "lower"] == pytest.approx(0.8 - 1.959964 * math.sqrt(0.16 / 3), abs=1e-6)
    assert score.loc[0, "upper"] == 1
    exact = funnel_limits(units, kind="proportion", target=0.8, method="none", precision=[3], confidence=0.95)
    # Exact: P(X <= 0) = 0.008 < 0.025 <= P(X <= 1) = 0.104, so only x = 0 is Low: the line lies in (0, 1/3].
    assert 0 < exact.loc[0, "lower"] <= 1 / 3
    assert exact.loc[0, "upper"] == 1  # P(X >= 3) = 0.512: nothing is High
    assert exact.loc[0, "lower"] != pytest.approx(score.loc[0, "lower"], abs=0.01)
    # So x = 1 of 3 is Low by score (1/3 < 0.3474) but not by the exact test (P(X <= 1) = 0.104).
    one = pd.DataFrame({"group": ["u"], "observed": [1], "n": [3]})
    assert funnel_units(one, kind="proportion", target=0.8, method="none", limits="score")["significance"].iloc[0] == "Low (0.025)"
    assert funnel_units(one, kind="proportion", target=0.8, method="none")["significance"].iloc[0] == "Not significant"


# ----------------------------------------------------------------- false alarms, from the distributions


GRID_E = np.geomspace(0.05, 2000, 300)
GRID_N = np.arange(1, 301)


@pytest.mark.parametrize("level", [0.95, 0.998])
def test_on_target_ratio_false_alarm_rate_at_most_nominal(level):
    tail = (1 - level) / 2
    lim = funnel_limits(ratio_units(), method="none", precision=GRID_E, confidence=level)
    e, upper, lower = GRID_E, lim["upper"].to_numpy(), lim["lower"].to_numpy()
    # High when O / E > upper, i.e. O >= floor(upper E) + 1; Low when O <= ceil(lower E) - 1.
    first_high = np.floor(upper * e) + 1
    last_low = np.ceil(lower * e) - 1
    p_flag_high = stats.poisson.sf(first_high - 1, e)
    p_flag_low = stats.poisson.cdf(last_low, e)
    assert (p_flag_high <= tail * (1 + 1e-9)).all()
    assert (p_flag_low <= tail * (1 + 1e-9)).all()
    # and not conservative by a whole event: one count nearer the target would exceed the tail
    assert (stats.poisson.sf(first_high - 2, e) > tail).all()
    assert (stats.poisson.cdf(last_low + 1, e) > tail).all()


def test_on_target_false_alarm_rates_from_the_audit():
    # Chance that a unit exactly on target is labelled High at 95%, now the exact test's:
    # E = 0.2: P(X >= 2) = 1 - 1.2 e^-0.2; E = 1: P(X >= 4) = 1 - (8/3) e^-1; E = 5: P(X >= 11).
    for e, want in ((0.2, 1 - 1.2 * math.exp(-0.2)), (1.0, 1 - 8 / 3 * math.exp(-1)), (5.0, stats.poisson.sf(10, 5.0))):
        upper = funnel_limits(ratio_units(), method="none", precision=[e], confidence=0.95)["upper"].iloc[0]
        assert stats.poisson.sf(np.floor(upper * e), e) == pytest.approx(want, rel=1e-12)
    assert 1 - 1.2 * math.exp(-0.2) == pytest.approx(0.0175, abs=1e-4)


@pytest.mark.parametrize("p", [0.02, 0.3, 0.5, 0.8, 0.97])
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_on_target_proportion_false_alarm_rate_at_most_nominal(p, level):
    tail = (1 - level) / 2
    units = pd.DataFrame({"group": ["a"], "observed": [1], "n": [10]})
    lim = funnel_limits(units, kind="proportion", target=p, method="none", precision=GRID_N, confidence=level)
    n, upper, lower = GRID_N, lim["upper"].to_numpy(), lim["lower"].to_numpy()
    first_high = np.floor(upper * n + 1e-9) + 1
    last_low = np.ceil(lower * n - 1e-9) - 1
    assert (stats.binom.sf(first_high - 1, n, p) <= tail * (1 + 1e-9)).all()
    assert (stats.binom.cdf(last_low, n, p) <= tail * (1 + 1e-9)).all()
    assert (stats.binom.sf(first_high - 2, n, p) > tail).all()
    assert (stats.binom.cdf(last_low + 1, n, p) > tail).all()


# ----------------------------------------------------------------- labels agree with the lines drawn


@settings(max_examples=60, deadline=None)
@given(o=st.integers(0, 3000), e=st.floats(0.01, 3000.0, allow_nan=False), theta=st.sampled_from([1.0, 0.7, 1.3]))
def test_ratio_label_iff_beyond_line_iff_exact_p_below_tail(o, e, theta):
    units = pd.DataFrame({"group": ["u"], "observed": [o], "expected": [e]})
    u = funnel_units(units, method="none", target=theta)
    lim = funnel_limits(units, method="none", target=theta, precision=[e])
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        row = u[u["confidence"] == level].iloc[0]
        line = lim[lim["confidence"] == level].iloc[0]
        high = stats.poisson.sf(o - 1, theta * e) < tail
        low = stats.poisson.cdf(o, theta * e) < tail
        assert (row["outside"] == "High") == high == (o / e > line["upper"])
        assert (row["outside"] == "Low") == low == (o / e < line["lower"])
        assert (row["upper"], row["lower"]) == (line["upper"], line["lower"])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), data=st.data(), p=st.floats(0.01, 0.99), method=st.sampled_from(["exact", "score"]))
def test_proportion_label_iff_beyond_line(n, data, p, method):
    x = data.draw(st.integers(0, n))
    units = pd.DataFrame({"group": ["u"], "observed": [x], "n": [n]})
    u = funnel_units(units, kind="proportion", target=p, method="none", limits=method)
    lim = funnel_limits(units, kind="proportion", target=p, method="none", limits=method, precision=[n])
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        row = u[u["confidence"] == level].iloc[0]
        line = lim[lim["confidence"] == level].iloc[0]
        assert (row["outside"] == "High") == (x / n > line["upper"])
        assert (row["outside"] == "Low") == (x / n < line["lower"])
        if method == "exact":
            assert (row["outside"] == "High") == (stats.binom.sf(x - 1, n, p) < tail)
            assert (row["outside"] == "Low") == (stats.binom.cdf(x, n, p) < tail)


def test_default_limit_grid_passes_through_every_unit():
    units = pd.DataFrame({"group": list("ABCD"), "observed": [1, 7, 30, 160], "expected": [0.4, 3.3, 21.7, 131.2]})
    u = funnel_units(units, method="none")
    lim = funnel_limits(units, method="none")
    for _, row in u.iterrows():
        line = lim[(lim["expected"] == row["expected"]) & (lim["confidence"] == row["confidence"])]
        assert len(line) == 1
        assert (line["upper"].iloc[0], line["lower"].iloc[0]) == (row["upper"], row["lower"])


def test_method_argument_checks_and_text():
    with pytest.raises(ValueError, match="proportions"):
        funnel_units(ratio_units(), method="none", limits="score")
    with pytest.raises(ValueError):
        funnel_units(ratio_units(), method="none", limits="wilson")
    with pytest.raises(ValueError, match="limits='exact'"):  # method= chooses the overdispersion adjustment, not the limits
        funnel_units(ratio_units(), method="exact")
    props = pd.DataFrame({"group": list("ABC"), "observed": [60, 40, 20], "n": [100, 100, 100]})
    exact = funnel_units(props, kind="proportion", method="none")
    assert exact["method"].iloc[0] == "exact_binomial" and "exact binomial test limits" in method_words(exact["method"].iloc[0], exact.iloc[0])
    adjusted = funnel_units(props, kind="proportion", method="winsorisation", trim=0.0, limits="score")
    assert adjusted["limits"].iloc[0] == "random-effects" and adjusted["method"].iloc[0] == "random_effects_arcsine"
    assert "random-effects limits on the arcsine scale" in method_words(adjusted["method"].iloc[0], adjusted.iloc[0])


# ----------------------------------------------------------------- truncation rules

Z25 = [float(v) for v in range(-12, 13)]  # 25 distinct z-scores, -12 .. 12
S25 = [0.1] * 25


def test_percentile_truncation_drops_three_of_25_at_each_end():
    # 10th percentile at position 1 + 0.1 x 24 = 3.4 -> z = -9.6; 90th at 22.6 -> 9.6: z -12..-10 and 10..12 dropped.
    # phi = mean of z^2 over -9..9 = 2 x 285 / 19 = 30.
    od = estimate_overdispersion(Z25, S25, method="truncation").iloc[0]
    assert od["n_used"] == 19 and od["phi"] == pytest.approx(30.0)
    words = method_words(od["method"], od)
    assert od["truncation_rule"] == "percentile" and "percentile rule" in words and "10th" in words and "90th" in words


def test_nhs_digital_rank_truncation_drops_two_of_25_at_each_end():
    # Group floor(10 r / 26): r = 1, 2 -> 0 (dropped); r = 3 -> 1; r = 23 -> 8; r = 24, 25 -> 9 (dropped).
    # phi = mean of z^2 over -10..10 = 2 x 385 / 21.
    assert [math.floor(10 * r / 26) for r in (1, 2, 3, 23, 24, 25)] == [0, 0, 1, 8, 9, 9]
    od = estimate_overdispersion(Z25, S25, method="truncation", truncation_rule="rank").iloc[0]
    assert od["n_used"] == 21 and od["phi"] == pytest.approx(770 / 21)
    assert od["truncation_rule"] == "rank" and "NHS Digital's rank rule" in method_words(od["method"], od)


def test_rank_truncation_averages_tied_ranks():
    # Ten units, two tied lowest: ranks 1.5, 1.5, 3..10; groups floor(10 r / 11) = 1, 1, 2, ..., 8, 9:
    # nothing tied is dropped, only the top unit.
    z = [-2.0, -2.0, -1.0, -0.5, 0.0, 0.1, 0.2, 0.3, 0.4, 5.0]
    od = estimate_overdispersion(z, [0.1] * 10, method="truncation", truncation_rule="rank").iloc[0]
    assert od["n_used"] == 9
    assert od["phi"] == pytest.approx(sum(v * v for v in z[:9]) / 9)


def test_truncation_rule_reaches_the_funnel_and_is_checked():
    units = OVERDISPERSED
    pct = funnel_units(units, method="truncation")
    rank = funnel_units(units, method="truncation", truncation_rule="rank")
    assert (pct["truncation_rule"] == "percentile").all() and (rank["truncation_rule"] == "rank").all()
    assert "percentile rule" in method_words(pct["method"].iloc[0], pct.iloc[0])
    assert "NHS Digital's rank rule" in method_words(rank["method"].iloc[0], rank.iloc[0])
    with pytest.raises(ValueError):
        funnel_units(units, truncation_rule="decile")
    with pytest.raises(ValueError):
        estimate_overdispersion(Z25, S25, truncation_rule="decile")


def test_four_units_percentile_drops_two_rank_rule_keeps_all():
    # Percentile: 10th at position 1.3, 90th at 3.7 -> the lowest and highest are dropped.
    # Rank rule: groups floor(10 r / 5) = 2, 4, 6, 8 -> none is 0 or 9, all four kept.
    z, s = [-2.0, -0.5, 1.0, 3.0], [0.1] * 4
    assert estimate_overdispersion(z, s).iloc[0]["n_used"] == 2
    assert estimate_overdispersion(z, s, truncation_rule="rank").iloc[0]["n_used"] == 4
