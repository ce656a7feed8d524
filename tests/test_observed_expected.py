"""observed_vs_expected and compare_with_rest on small hand-built cohorts.

Expected numbers are the worked values of docs/methods.md or closed forms evaluated here by
hand (Wilson's formula from docs/methods.md, the binomial variance
sum p(1-p), Newcombe's method 10 from two Wilson intervals).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import compare_with_rest, expected_from, observed_vs_expected
from analysis.paper.method_text import method_words

Z95 = 1.959964


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    root = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    return (2 * x + z * z - root) / (2 * (n + z * z)), (2 * x + z * z + root) / (2 * (n + z * z))


def people(group: str, n: int, events: int, p: float, col: str = "area") -> pd.DataFrame:
    return pd.DataFrame({col: group, "reoffended": [1] * events + [0] * (n - events), "expected": p})


@pytest.fixture
def crc_like() -> pd.DataFrame:
    # docs/methods.md worked value: n = 500, actual 46.02% (O = 230), expected 39.58% (E = 197.9).
    return pd.concat([people("Dudley", 500, 230, 0.3958), people("Sandwell", 400, 120, 0.30)], ignore_index=True)


def test_methods_worked_ratio_and_counts(crc_like):
    t = observed_vs_expected(crc_like, "area", confidence=0.95)
    d = t[t["area"] == "Dudley"].iloc[0]
    assert (d["n"], d["observed"]) == (500, 230)
    assert d["expected"] == pytest.approx(197.9)
    assert d["observed_rate"] == pytest.approx(0.46)
    assert d["expected_rate"] == pytest.approx(0.3958)
    assert d["ratio"] == pytest.approx(1.1622, abs=5e-5)
    assert d["ratio_lower"] == pytest.approx(1.0168, abs=5e-5)
    assert d["ratio_upper"] == pytest.approx(1.3225, abs=5e-5)
    assert d["ratio_method"] == "byar"
    assert d["significance"] == "Higher than expected"
    assert (d["observed_rate_lower"], d["observed_rate_upper"]) == pytest.approx((0.41679, 0.50382), abs=5e-6)
    assert d["group"] == "area=Dudley"


def test_binomial_variance_z_and_interval(crc_like):
    t = observed_vs_expected(crc_like, "area", confidence=0.95)
    d = t[t["area"] == "Dudley"].iloc[0]
    v = 500 * 0.3958 * (1 - 0.3958)  # sum p(1 - p) = 119.57118
    assert d["variance"] == pytest.approx(v)
    assert d["z"] == pytest.approx((230 - 197.9) / math.sqrt(v))  # 2.9356
    assert d["z"] == pytest.approx(2.9356, abs=1e-4)
    assert d["p_value"] == pytest.approx(math.erfc(d["z"] / math.sqrt(2)), rel=1e-6)
    assert d["z_ratio_lower"] == pytest.approx((230 - Z95 * math.sqrt(v)) / 197.9, rel=1e-6)
    assert d["z_ratio_upper"] == pytest.approx((230 + Z95 * math.sqrt(v)) / 197.9, rel=1e-6)


def test_risk_adjusted_rate(crc_like):
    overall = (230 + 120) / 900
    t = observed_vs_expected(crc_like, "area", confidence=0.95)
    d = t[t["area"] == "Dudley"].iloc[0]
    assert d["reference_rate"] == pytest.approx(overall)
    assert d["adjusted_rate"] == pytest.approx(230 / 197.9 * overall)
    t = observed_vs_expected(crc_like, "area", confidence=0.95, reference_rate=0.40)
    d = t[t["area"] == "Dudley"].iloc[0]
    assert d["adjusted_rate"] == pytest.approx(230 / 197.9 * 0.40)
    assert d["adjusted_rate_lower"] == pytest.approx(1.0168 * 0.40, abs=5e-5)


def test_small_counts_use_exact_poisson():
    cohort = people("A", 20, 4, 0.1)  # O = 4, E = 2: exact interval, chi2 quantiles
    t = observed_vs_expected(cohort, "area", confidence=0.95, compare_rest=False)
    assert t.loc[0, "ratio_method"] == "exact"
    # exact 95% limits for O = 4 (Garwood): 1.0899 and 10.2416
    assert t.loc[0, "ratio_lower"] == pytest.approx(1.0899 / 2, abs=5e-5)
    assert t.loc[0, "ratio_upper"] == pytest.approx(10.2416 / 2, abs=5e-5)
    assert t.loc[0, "significance"] == "Not significant"


def test_group_against_rest_newcombe_rate_ratio_odds_ratio():
    cohort = pd.concat([people(1, 50, 40, 0.5, "homeless"), people(0, 50, 20, 0.5, "homeless")], ignore_index=True)
    t = observed_vs_expected(cohort, "homeless", confidence=0.95)
    h = t[t["homeless"] == 1].iloc[0]
    l1, u1 = wilson(40, 50)
    l2, u2 = wilson(20, 50)
    d = 0.8 - 0.4
    assert h["difference"] == pytest.approx(d)
    assert h["difference_lower"] == pytest.approx(d - math.sqrt((0.8 - l1) ** 2 + (u2 - 0.4) ** 2), abs=1e-6)
    assert h["difference_upper"] == pytest.approx(d + math.sqrt((u1 - 0.8) ** 2 + (0.4 - l2) ** 2), abs=1e-6)
    assert h["rate_ratio"] == pytest.approx(2.0)
    se = math.sqrt(1 / 40 - 1 / 50 + 1 / 20 - 1 / 50)
    assert (h["rate_ratio_lower"], h["rate_ratio_upper"]) == pytest.approx(
        (2 * math.exp(-Z95 * se), 2 * math.exp(Z95 * se)), rel=1e-6
    )
    assert h["odds_ratio"] == pytest.approx((40 / 10) / (20 / 30))
    assert (h["rest_n"], h["rest_observed"]) == (50, 20)

    long = compare_with_rest(cohort, "homeless", confidence=0.95)
    row = long[(long["homeless"] == 1) & (long["statistic"] == "difference")].iloc[0]
    assert row["lower"] == pytest.approx(h["difference_lower"])
    assert (row["x1"], row["n1"], row["x2"], row["n2"]) == (40, 50, 20, 50)
    assert {"statistic", "method", "confidence"} <= set(long.columns)


def test_every_table_carries_statistic_method_confidence_counts_and_source(crc_like):
    t = observed_vs_expected(crc_like, "area")
    for col in ("statistic", "method", "confidence", "n", "observed", "expected", "expected_source"):
        assert col in t.columns
    assert list(t["confidence"]) == [0.95, 0.998, 0.95, 0.998]
    assert set(t["expected_source"]) == {"supplied column 'expected'"}
    assert t.loc[0, "method"] == "oe_phe" and t.loc[0, "reference_rate_from"] == "cohort"
    words = method_words(t.loc[0, "method"], t.loc[0])
    assert "Byar" in words and "sum p(1-p)" in words


def test_categorical_order_and_missing_flags_dropped():
    cohort = pd.DataFrame(
        {
            "area": pd.Categorical(["Walsall", "Dudley", "Walsall", "Dudley"], categories=["Walsall", "Dudley"]),
            "dv": pd.array([1, 0, pd.NA, 1], dtype="Int8"),
            "reoffended": [1, 0, 1, 1],
            "expected": [0.5, 0.5, 0.5, 0.5],
        }
    )
    t = observed_vs_expected(cohort, "area", confidence=0.95, compare_rest=False)
    assert list(t["area"]) == ["Walsall", "Dudley"]
    t = observed_vs_expected(cohort, "dv", confidence=0.95, compare_rest=False)
    assert t["n"].sum() == 3


def test_expected_as_series_with_description_and_unscored_rows(crc_like):
    p = crc_like["expected"].copy()
    p.iloc[:10] = np.nan
    p.attrs["description"] = "a model"
    t = observed_vs_expected(crc_like, "area", expected=p, confidence=0.95)
    assert t.loc[0, "n"] == 490
    assert t.loc[0, "expected_source"].startswith("a model") and "10 rows" in t.loc[0, "expected_source"]


def test_expected_rejects_percentages(crc_like):
    with pytest.raises(ValueError):
        observed_vs_expected(crc_like, "area", expected=crc_like["expected"] * 100)
    with pytest.raises(KeyError):
        observed_vs_expected(crc_like, "area", expected="ogrs")


# ----------------------------------------------------------------- the three sources of expected


@pytest.fixture
def two_periods() -> pd.DataFrame:
    # Reference period: men 30/100 reoffend, women 10/50. Current: 60 men (24 reoffend), 40 women (10).
    rows = []
    for period, sex, n, events, area in [
        ("p1", "Male", 100, 30, "A"), ("p1", "Female", 50, 10, "B"),
        ("p2", "Male", 60, 24, "A"), ("p2", "Female", 40, 10, "B"),
    ]:
        rows.append(pd.DataFrame({"period": period, "sex": sex, "area": area,
                                  "reoffended": [1] * events + [0] * (n - events), "expected": 0.25}))
    cohort = pd.concat(rows, ignore_index=True)
    cohort["area"] = np.where(cohort.index % 2 == 0, "A", "B")
    return cohort


def test_reference_period_model_gives_baseline_cell_rates(two_periods):
    # A logistic model with one categorical term reproduces the reference cell rates: 0.30 and 0.20.
    e = expected_from(two_periods, source="reference", period="p2", reference_period="p1", casemix=["sex"])
    current = two_periods[two_periods["period"] == "p2"]
    t = observed_vs_expected(current, "sex", expected=e, confidence=0.95, compare_rest=False)
    men = t[t["sex"] == "Male"].iloc[0]
    assert men["expected"] == pytest.approx(60 * 0.30, rel=1e-6)
    assert men["ratio"] == pytest.approx(24 / 18, rel=1e-6)
    assert "fitted on p1" in men["expected_source"] and "applied to p2" in men["expected_source"]


def test_internal_standardisation_is_one_overall_and_refuses_in_model_groupings(two_periods):
    e = expected_from(two_periods, source="internal", period="p2", casemix=["sex"])
    current = two_periods[two_periods["period"] == "p2"]
    t = observed_vs_expected(current, "area", expected=e, confidence=0.95, compare_rest=False)
    assert t["expected"].sum() == pytest.approx(t["observed"].sum(), rel=1e-6)
    assert "internal standardisation" in t.loc[0, "expected_source"]
    with pytest.raises(ValueError, match="exactly 1"):
        observed_vs_expected(current, "sex", expected=e)


def test_supplied_source_is_described(two_periods):
    e = expected_from(two_periods, source="supplied", period="p2")
    assert len(e) == 100 and e.attrs["source"] == "supplied"
    t = observed_vs_expected(two_periods[two_periods["period"] == "p2"], "area", expected=e, confidence=0.95)
    assert "supplied with the data" in t.loc[0, "expected_source"]
    with pytest.raises(ValueError):
        expected_from(two_periods, source="reference", period="p2")
    assert analysis.observed_vs_expected is observed_vs_expected
