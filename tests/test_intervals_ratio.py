"""Intervals for proportions and for O/E ratios, checked against worked values (docs/methods.md).

Every expected number here is independent of the code: a published worked value,
UKHSA's convention (PHEindicatormethods), or a closed form evaluated by hand
(noted beside it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import proportion_ci, ratio_ci

# ----------------------------------------------------------------- proportions


def test_clopper_pearson_closed_forms_at_the_boundary():
    # x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n).
    t = proportion_ci([0, 10], [10, 10], method="clopper-pearson", confidence=0.95)
    assert t.loc[0, "lower"] == 0
    assert t.loc[0, "upper"] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    assert t.loc[1, "lower"] == pytest.approx(0.025 ** (1 / 10), rel=1e-9)
    assert t.loc[1, "upper"] == 1


def test_jeffreys_boundaries_include_the_estimate():
    # Brown, Cai & DasGupta (2001): lower bound 0 at x = 0 and upper bound 1 at x = n.
    t = proportion_ci([0, 5], [10, 5], method="jeffreys", confidence=0.95)
    assert t.loc[0, "lower"] == 0 and t.loc[1, "upper"] == 1


def test_default_gives_both_levels_and_series_index_as_group():
    t = proportion_ci(pd.Series([3, 40], index=["a", "b"]), pd.Series([10, 50], index=["a", "b"]))
    assert list(t["group"]) == ["a", "a", "b", "b"]
    assert list(t["confidence"]) == [0.95, 0.998, 0.95, 0.998]


# ----------------------------------------------------------------- ratios O/E


def test_byar_worked_values_methods_s3():
    t = ratio_ci([10, 230], [1.0, 1.0], confidence=0.95, method="byar")
    assert t.loc[0, "observed_lower"] == pytest.approx(4.7874, abs=5e-5)
    assert t.loc[0, "observed_upper"] == pytest.approx(18.3915, abs=5e-5)
    assert t.loc[1, "observed_lower"] == pytest.approx(201.233, abs=5e-4)
    assert t.loc[1, "observed_upper"] == pytest.approx(261.725, abs=5e-4)
    assert set(t["method"]) == {"byar"}


def test_exact_worked_value_methods_s3():
    t = ratio_ci(10, 1.0, confidence=0.95, method="exact")
    assert t.loc[0, "observed_lower"] == pytest.approx(4.7954, abs=5e-5)
    assert t.loc[0, "observed_upper"] == pytest.approx(18.3904, abs=5e-5)
    assert t.loc[0, "method"] == "exact"


def test_standardised_ratio_worked_value_methods_s3():
    # n = 500, actual 46.02% (O = 230) against expected 39.58% (E = 197.9).
    t = ratio_ci(230, 197.9, confidence=0.95)
    assert t.loc[0, "estimate"] == pytest.approx(1.1622, abs=5e-5)
    assert t.loc[0, "lower"] == pytest.approx(1.0168, abs=5e-5)
    assert t.loc[0, "upper"] == pytest.approx(1.3225, abs=5e-5)
    assert t.loc[0, "statistic"] == "standardised ratio (O/E)"


def test_auto_switches_from_exact_to_byar_at_ten():
    t = ratio_ci([9, 10], [5.0, 5.0], confidence=0.95)
    assert list(t["method"]) == ["exact", "byar"]


def test_zero_observed_exact_closed_form():
    # O = 0: lower 0, upper = chi2(0.975; 2)/2 = -ln(0.025).
    t = ratio_ci(0, 2.0, confidence=0.95)
    assert t.loc[0, "lower"] == 0
    assert t.loc[0, "observed_upper"] == pytest.approx(-math.log(0.025), rel=1e-9)
    assert t.loc[0, "upper"] == pytest.approx(-math.log(0.025) / 2, rel=1e-9)


def test_ratio_ci_vectorised_with_series_and_levels():
    o = pd.Series([5, 50], index=["Dudley", "Sandwell"])
    t = ratio_ci(o, pd.Series([4.0, 40.0], index=o.index))
    assert list(t["group"]) == ["Dudley", "Dudley", "Sandwell", "Sandwell"]
    assert list(t["confidence"]) == [0.95, 0.998, 0.95, 0.998]
    assert {"observed", "expected", "statistic", "method", "confidence"} <= set(t.columns)


@pytest.mark.parametrize("o, e", [(-1, 2.0), (3, 0.0), (2.5, 1.0)])
def test_ratio_ci_rejects_bad_counts(o, e):
    with pytest.raises(ValueError):
        ratio_ci(o, e)


def test_ratio_ci_rejects_bad_method_and_level():
    with pytest.raises(ValueError):
        ratio_ci(3, 1.0, method="wald")
    with pytest.raises(ValueError):
        ratio_ci(3, 1.0, confidence=95)


# ----------------------------------------------------------------- laws

counts = st.integers(min_value=0, max_value=5000)
expecteds = st.floats(min_value=0.05, max_value=5000, allow_nan=False)
levels = st.floats(min_value=0.5, max_value=0.999)


@settings(max_examples=60, deadline=None)
@given(o=counts, e=expecteds, method=st.sampled_from(["auto", "byar", "exact"]))
def test_ratio_interval_contains_its_estimate(o, e, method):
    t = ratio_ci(o, e, method=method)
    assert (t["estimate"] <= t["upper"] + 1e-12).all()
    # Byar's lower limit is undefined (NaN) only where its formula is negative: small O at high confidence.
    z = np.array([1.959964, 3.090232])
    byar_negative = (t["method"] == "byar").to_numpy() & (o > 0) & (1 - 1 / (9 * max(o, 1)) < z / (3 * np.sqrt(max(o, 1))))
    assert (t["lower"].isna().to_numpy() == byar_negative).all()
    assert (t["lower"][~byar_negative] <= t["estimate"][~byar_negative] + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(o=counts, e=expecteds, a=levels, b=levels)
def test_ratio_interval_widens_with_confidence(o, e, a, b):
    lo, hi = sorted((a, b))
    t = ratio_ci(o, e, confidence=[lo, hi])
    assert t.loc[1, "lower"] <= t.loc[0, "lower"] + 1e-12
    assert t.loc[1, "upper"] >= t.loc[0, "upper"] - 1e-12




# ----------------------------------------------------------------- edge cases (UKHSA's conventions)


def test_byar_lower_limit_is_missing_where_the_formula_goes_negative():
    # O = 1: 95%: (1 - 1/9 - 1.959964/3)^3 = 0.013072; 99.8%: (1 - 1/9 - 3.090232/3)^3 = -0.002814 < 0,
    # where UKHSA's byars_lower returns NA. The upper limit is unaffected: 2 (1 - 1/18 + z / (3 sqrt 2))^3.
    t = ratio_ci(1, 1.0, method="byar")
    assert t.loc[0, "observed_lower"] == pytest.approx((1 - 1 / 9 - 1.959964 / 3) ** 3, rel=1e-5)
    assert (1 - 1 / 9 - 3.090232 / 3) ** 3 == pytest.approx(-0.002814, abs=1e-6)
    assert math.isnan(t.loc[1, "observed_lower"]) and math.isnan(t.loc[1, "lower"])
    assert t.loc[1, "observed_upper"] == pytest.approx(2 * (1 - 1 / 18 + 3.090232 / (3 * math.sqrt(2))) ** 3, rel=1e-6)
    # At O = 0 the lower limit is 0 (Byar's formula is undefined there; 0 is the exact limit), and
    # "auto" uses the exact interval below 10 anyway: chi2(0.001; 2) / 2 = -ln(0.999).
    assert ratio_ci(0, 1.0, method="byar").loc[1, "lower"] == 0
    assert ratio_ci(1, 1.0).loc[1, "observed_lower"] == pytest.approx(-math.log(0.999), rel=1e-9)


def test_missing_counts_give_na_rows():
    t = proportion_ci([3, np.nan, 5, None], [10, 10, np.nan, 7], confidence=0.95)
    assert t.loc[0, "lower"] == pytest.approx(proportion_ci(3, 10, confidence=0.95).loc[0, "lower"])
    assert t.loc[1:, ["estimate", "lower", "upper"]].isna().all().all()
    assert (t["statistic"] == "proportion").all() and (t["method"] == "wilson").all() and (t["confidence"] == 0.95).all()
    r = ratio_ci(pd.Series([4, np.nan, 12], index=list("abc")), pd.Series([2.0, 3.0, np.nan], index=list("abc")))
    assert list(r["group"]) == ["a", "a", "b", "b", "c", "c"]
    assert r.loc[0, "upper"] == pytest.approx(ratio_ci(4, 2.0).loc[0, "upper"])
    assert r.loc[2:, ["estimate", "lower", "upper", "observed_lower", "observed_upper"]].isna().all().all()
    assert set(r.loc[2:, "method"]) == {"not_computed"}
    assert (r["statistic"] == "standardised ratio (O/E)").all()
    with pytest.raises(ValueError):
        proportion_ci([3, np.nan], [2, 10])  # a known count that is wrong is still an error


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_full_confidence_gives_zero_to_one_for_proportions(method):
    # UKHSA's wilson_lower / wilson_upper return 0 and 1 at confidence = 1.
    t = proportion_ci([0, 3, 10], [10, 10, 10], method=method, confidence=[0.95, 1])
    full = t[t["confidence"] == 1]
    assert (full["lower"] == 0).all() and (full["upper"] == 1).all()


def test_full_confidence_for_ratios_follows_ukhsa():
    # Exact: chi2 quantiles at 0 and 1 are 0 and infinity; Byar's: the lower formula is -infinity (NA), the upper infinity.
    t = ratio_ci([3, 30], [2.0, 2.0], confidence=1)
    assert t.loc[0, "lower"] == 0 and math.isinf(t.loc[0, "upper"])
    assert math.isnan(t.loc[1, "lower"]) and math.isinf(t.loc[1, "upper"])
    with pytest.raises(ValueError):
        ratio_ci(3, 2.0, confidence=1.5)
