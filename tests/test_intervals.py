"""proportion_ci and compare_proportions against worked and published values."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.intervals import compare_proportions, proportion_ci


def test_wilson_worked_value():
    row = proportion_ci(230, 500, confidence=0.95).iloc[0]
    assert (row["lower"], row["upper"]) == (pytest.approx(0.41679, abs=5e-6), pytest.approx(0.50382, abs=5e-6))
    assert (row["statistic"], row["method"], row["confidence"], row["x"], row["n"]) == ("proportion", "wilson", 0.95, 230, 500)


def test_wilson_by_the_formula():
    x, n, z = 19, 133, 3.090232306
    centre, half = 2 * x + z**2, z * np.sqrt(z**2 + 4 * x * (1 - x / n))
    row = proportion_ci(x, n, confidence=0.998).iloc[0]
    assert row["lower"] == pytest.approx((centre - half) / (2 * (n + z**2)), rel=1e-6)
    assert row["upper"] == pytest.approx((centre + half) / (2 * (n + z**2)), rel=1e-6)


def test_clopper_pearson_and_jeffreys_by_beta_quantiles():
    from scipy.stats import beta

    row = proportion_ci(10, 20, method="clopper-pearson", confidence=0.95).iloc[0]
    assert row["lower"] == pytest.approx(beta.ppf(0.025, 10, 11)) and row["upper"] == pytest.approx(beta.ppf(0.975, 11, 10))
    row = proportion_ci(3, 40, method="jeffreys", confidence=0.95).iloc[0]
    assert row["lower"] == pytest.approx(beta.ppf(0.025, 3.5, 37.5)) and row["upper"] == pytest.approx(beta.ppf(0.975, 3.5, 37.5))
    zero = proportion_ci(0, 12, method="clopper-pearson").iloc[0]
    assert zero["lower"] == 0 and zero["upper"] == pytest.approx(1 - 0.025 ** (1 / 12))


def test_vectorised_over_series_and_levels():
    counts = pd.DataFrame({"x": [5, 50], "n": [10, 200]}, index=["A", "B"])
    out = proportion_ci(counts["x"], counts["n"])
    assert out["group"].tolist() == ["A", "A", "B", "B"]
    assert out["confidence"].tolist() == [0.95, 0.998, 0.95, 0.998]
    with pytest.raises(ValueError):
        proportion_ci(11, 10)
    with pytest.raises(ValueError):
        proportion_ci(1, 10, method="wald")


@settings(deadline=None)  # the first call can be slow on a loaded machine (imports); the law is what matters
@given(n=st.integers(1, 5000), data=st.data(), method=st.sampled_from(["wilson", "clopper-pearson", "jeffreys"]))
def test_interval_contains_estimate_and_widens_with_confidence(n, data, method):
    x = data.draw(st.integers(0, n))
    out = proportion_ci(x, n, method=method, confidence=(0.95, 0.998))
    assert ((out["lower"] <= out["estimate"] + 1e-12) & (out["estimate"] <= out["upper"] + 1e-12)).all()
    assert out.loc[1, "lower"] <= out.loc[0, "lower"] + 1e-12 and out.loc[1, "upper"] >= out.loc[0, "upper"] - 1e-12


def test_newcombe_difference_matches_newcombe_1998():
    # Newcombe (1998) Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339.
    diff = compare_proportions(56, 70, 48, 80).set_index("statistic").loc["difference"]
    assert diff["estimate"] == pytest.approx(0.2)
    assert diff["lower"] == pytest.approx(0.0524, abs=1e-4) and diff["upper"] == pytest.approx(0.3339, abs=1e-4)


def test_ratio_and_odds_ratio_by_hand():
    out = compare_proportions(30, 100, 20, 100).set_index("statistic")
    assert out.loc["rate_ratio", "estimate"] == pytest.approx(1.5)
    se = np.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert out.loc["rate_ratio", "lower"] == pytest.approx(1.5 * np.exp(-1.959964 * se), rel=1e-6)
    assert out.loc["odds_ratio", "estimate"] == pytest.approx((30 / 70) / (20 / 80))
    # Pooled z by hand.
    p = 50 / 200
    z = (0.3 - 0.2) / np.sqrt(p * (1 - p) * (2 / 100))
    assert out.loc["difference", "z"] == pytest.approx(z)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 400), st.integers(1, 400), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=8),
       st.sampled_from([0.8, 0.95, 0.998]))
def test_law_array_comparison_equals_statsmodels_newcombe_and_the_closed_forms(pairs, level):
    """The vectorised comparison (used for every group against the rest) against statsmodels' Newcombe interval
    and proportions_ztest, and the Katz and Woolf closed forms, one pair at a time."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    from analysis.intervals import two_proportion_arrays

    n1 = np.array([p[0] for p in pairs])
    n2 = np.array([p[1] for p in pairs])
    x1 = np.floor(n1 * np.array([p[2] for p in pairs]))
    x2 = np.floor(n2 * np.array([p[3] for p in pairs]))
    c = two_proportion_arrays(x1, n1, x2, n2, confidence=level)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    for i in range(len(pairs)):
        low, high = confint_proportions_2indep(x1[i], n1[i], x2[i], n2[i], method="newcomb", compare="diff", alpha=1 - level)
        assert c["difference_lower"][i] == pytest.approx(low, abs=1e-12)
        assert c["difference_upper"][i] == pytest.approx(high, abs=1e-12)
        if 0 < x1[i] + x2[i] < n1[i] + n2[i]:
            _, p = proportions_ztest([x1[i], x2[i]], [n1[i], n2[i]])
            assert c["p_value"][i] == pytest.approx(p, rel=1e-9)
        if 0 < x1[i] < n1[i] and 0 < x2[i] < n2[i]:
            a, b, cc, d = x1[i], n1[i] - x1[i], x2[i], n2[i] - x2[i]
            se = math.sqrt(1 / a + 1 / b + 1 / cc + 1 / d)
            assert c["odds_ratio_lower"][i] == pytest.approx(a * d / (b * cc) * math.exp(-z * se), rel=1e-12)
        else:
            assert np.isnan(c["odds_ratio"][i])
        if x1[i] > 0 and x2[i] > 0:
            rr = (x1[i] / n1[i]) / (x2[i] / n2[i])
            se = math.sqrt(1 / x1[i] - 1 / n1[i] + 1 / x2[i] - 1 / n2[i])
            assert c["rate_ratio_upper"][i] == pytest.approx(rr * math.exp(z * se), rel=1e-12)
