"""Statistical process control for KPIs (docs/methods.md, "Tracking KPIs over time"), against independent values.

Every expected number here is worked by hand from the formulas (the arithmetic is in the comments),
or comes from statsmodels (Wilson intervals; a logistic GLM fitted on the baseline rows). The
special-cause rules are checked on short series built so that the answer is known: the charts
they run on are written out by hand (centre 0, sigma 1: process limits at +/-3, 2-sigma lines at
+/-2), not made by the module. The rules are NHS England's Making Data Count conventions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.paper.method_text import method_words
from analysis.spc import (
    LARGE_DENOMINATOR,
    chart_for_denominators,
    data_lag,
    oe_by_period,
    p_chart,
    rate_chart,
    rates_by_period,
    special_causes,
    variation_and_assurance,
    xmr_chart,
)


def hand_chart(values, centre: float = 0.0, sigma: float = 1.0) -> pd.DataFrame:
    """A chart written out by hand: centre line, process limits at +/-3 sigma and 2-sigma lines."""
    v = np.asarray(values, dtype=float)
    return pd.DataFrame({
        "period": [f"t{i + 1}" for i in range(v.size)],
        "value": v,
        "centre": centre,
        "lower": centre - 3 * sigma,
        "upper": centre + 3 * sigma,
        "lower_2sigma": centre - 2 * sigma,
        "upper_2sigma": centre + 2 * sigma,
    })


def flagged(table: pd.DataFrame, column: str = "special_cause") -> list[int]:
    return [int(i) for i in np.flatnonzero(table[column].to_numpy())]


# --------------------------------------------------------------------------- p-chart


def test_p_chart_centre_and_limits_vary_with_each_periods_n_by_hand():
    rates = pd.DataFrame({"period": ["Q1", "Q2", "Q3", "Q4"], "n": [100, 400, 25, 75], "events": [30, 100, 10, 10]})
    t = p_chart(rates)
    # centre = (30 + 100 + 10 + 10) / (100 + 400 + 25 + 75) = 150 / 600 = 0.25; p(1 - p) = 0.1875
    assert t["centre"].tolist() == pytest.approx([0.25] * 4)
    # sigma_i = sqrt(0.1875 / n_i): n = 100 -> 0.0433013, 400 -> 0.0216506, 25 -> 0.0866025, 75 -> 0.05
    assert t["sigma"].tolist() == pytest.approx([0.0433013, 0.0216506, 0.0866025, 0.05], abs=1e-7)
    # 3 sigma: 0.1299038, 0.0649519, 0.2598076, 0.15
    # n = 25: 0.25 - 0.2598076 = -0.0098076 is below 0, so the lower limit is clipped to 0
    assert t["lower"].tolist() == pytest.approx([0.1200962, 0.1850481, 0.0, 0.10], abs=1e-7)
    assert t["upper"].tolist() == pytest.approx([0.3799038, 0.3149519, 0.5098076, 0.40], abs=1e-7)
    # 2 sigma: 0.0866025, 0.0433013, 0.1732051, 0.10
    assert t["lower_2sigma"].tolist() == pytest.approx([0.1633975, 0.2066987, 0.0767949, 0.15], abs=1e-7)
    assert t["upper_2sigma"].tolist() == pytest.approx([0.3366025, 0.2933013, 0.4232051, 0.35], abs=1e-7)
    assert t["value"].tolist() == pytest.approx([0.30, 0.25, 0.40, 10 / 75])
    assert t["chart"].eq("p").all() and t["baseline"].all()
    assert t["confidence"].iloc[0] == pytest.approx(0.9973002)


def test_p_chart_limits_are_clipped_at_one():
    t = p_chart(pd.DataFrame({"period": ["a", "b"], "n": [4, 16], "events": [4, 14]}))
    # centre = 18 / 20 = 0.9; p(1 - p) = 0.09; n = 4: sigma = sqrt(0.09 / 4) = 0.15; n = 16: sigma = 0.075
    # n = 4: 0.9 - 0.45 = 0.45 and 0.9 + 0.45 = 1.35 -> 1; 2-sigma 0.6 and 1.2 -> 1
    # n = 16: 0.9 - 0.225 = 0.675 and 1.125 -> 1; 2-sigma 0.75 and 1.05 -> 1
    assert t["lower"].tolist() == pytest.approx([0.45, 0.675])
    assert t["upper"].tolist() == pytest.approx([1.0, 1.0])
    assert t["lower_2sigma"].tolist() == pytest.approx([0.6, 0.75])
    assert t["upper_2sigma"].tolist() == pytest.approx([1.0, 1.0])


def test_p_chart_baseline_sets_the_centre_from_the_first_periods_only():
    rates = pd.DataFrame({"period": ["Q1", "Q2", "Q3"], "n": [100, 400, 100], "events": [30, 100, 60]})
    t = p_chart(rates, baseline=2)
    # centre = (30 + 100) / (100 + 400) = 0.26; Q3: sigma = sqrt(0.26 * 0.74 / 100) = 0.0438634
    assert t["centre"].tolist() == pytest.approx([0.26] * 3)
    assert t["upper"].iloc[2] == pytest.approx(0.26 + 3 * 0.0438634, abs=1e-6)
    assert t["baseline"].tolist() == [True, True, False]
    # named periods give the same baseline
    assert p_chart(rates, baseline=["Q1", "Q2"])["centre"].iloc[0] == pytest.approx(0.26)


def test_p_chart_refuses_impossible_counts():
    with pytest.raises(ValueError, match="0 <= events <= n"):
        p_chart(pd.DataFrame({"period": ["a"], "n": [10], "events": [11]}))


# --------------------------------------------------------------------------- XmR chart


def test_xmr_centre_and_limits_by_hand():
    t = xmr_chart([5, 9, 6, 8, 7, 10])
    # mean = 45 / 6 = 7.5; moving ranges 4, 3, 2, 1, 3: mean 13 / 5 = 2.6
    # limits 7.5 -/+ 2.66 x 2.6 = 7.5 -/+ 6.916 -> 0.584 and 14.416
    # sigma = 2.6 / 1.128 (= 2.66 / 3 x 2.6) = 2.3053333; 2-sigma lines 7.5 -/+ 4.6106667
    assert t["centre"].iloc[0] == pytest.approx(7.5)
    assert t["mean_moving_range"].iloc[0] == pytest.approx(2.6)
    assert t["lower"].iloc[0] == pytest.approx(0.584)
    assert t["upper"].iloc[0] == pytest.approx(14.416)
    assert t["sigma"].iloc[0] == pytest.approx(2.3053333, abs=1e-7)
    assert t["lower_2sigma"].iloc[0] == pytest.approx(2.8893333, abs=1e-7)
    assert t["upper_2sigma"].iloc[0] == pytest.approx(12.1106667, abs=1e-7)
    assert t["moving_range"].tolist()[1:] == [4, 3, 2, 1, 3] and math.isnan(t["moving_range"].iloc[0])
    assert t["period"].tolist() == ["1", "2", "3", "4", "5", "6"]


# The example of NHSRplotthedots' vignette on deviations from the Excel tools: one outlier (10).
NELSON = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_xmr_unscreened_moving_ranges_as_the_making_data_count_tools():
    t = xmr_chart(NELSON)
    # sum = 16 + 19 = 35 over 18 points: mean 1.9444444
    # moving ranges: 1, 1, 1, 8, 9 and twelve 1s: sum 32 over 17 -> 1.8823529
    # limits 1.9444444 -/+ 2.66 x 1.8823529 = -/+ 5.0070588
    assert t["centre"].iloc[0] == pytest.approx(35 / 18)
    assert t["mean_moving_range"].iloc[0] == pytest.approx(32 / 17)
    assert t["upper"].iloc[0] == pytest.approx(6.9515033, abs=1e-6)
    assert t["lower"].iloc[0] == pytest.approx(-3.0626144, abs=1e-6)


def test_xmr_screen_outliers_leaves_out_moving_ranges_of_3_267_times_their_mean():
    t = xmr_chart(NELSON, screen_outliers=True)
    # screen: 3.267 x 1.8823529 = 6.1496471, so the ranges 8 and 9 are left out; the other 15 are all 1
    # mean moving range 1; limits 1.9444444 -/+ 2.66 -> -0.7155556 and 4.6044444; the mean itself is kept
    assert t["mean_moving_range"].iloc[0] == pytest.approx(1.0)
    assert t["centre"].iloc[0] == pytest.approx(35 / 18)
    assert t["upper"].iloc[0] == pytest.approx(4.6044444, abs=1e-6)
    assert t["lower"].iloc[0] == pytest.approx(-0.7155556, abs=1e-6)
    assert t["method"].iloc[0] == "xmr" and t["n_screened"].iloc[0] == 2
    assert "2 left out" in method_words(t["method"].iloc[0], t.iloc[0])


def test_xmr_baseline_of_named_periods_takes_moving_ranges_between_consecutive_baseline_points_only():
    values = pd.Series([1.0, 5.0, 2.0, 9.0, 3.0], index=["p1", "p2", "p3", "p4", "p5"])
    t = xmr_chart(values, baseline=["p1", "p2", "p4", "p5"])
    # centre = (1 + 5 + 9 + 3) / 4 = 4.5; moving ranges within the baseline: |5 - 1| = 4 and |3 - 9| = 6
    # (p2 to p4 is not a moving range: p3 lies between them): mean 5
    assert t["centre"].iloc[0] == pytest.approx(4.5)
    assert t["mean_moving_range"].iloc[0] == pytest.approx(5.0)
    assert t["upper"].iloc[0] == pytest.approx(4.5 + 2.66 * 5)
    assert t["baseline"].tolist() == [True, True, False, True, True]


def test_xmr_first_k_points_as_baseline():
    t = xmr_chart([4, 6, 4, 6, 20], baseline=4)
    # centre 5, moving ranges 2, 2, 2 -> 2; limits 5 -/+ 5.32
    assert (t["centre"].iloc[0], t["mean_moving_range"].iloc[0]) == pytest.approx((5.0, 2.0))
    assert t["upper"].iloc[0] == pytest.approx(10.32)


def test_xmr_takes_a_rate_column_and_keeps_the_rates_own_interval_apart():
    rates = pd.DataFrame({"period": ["a", "b", "c"], "n": [10, 10, 10], "rate": [0.1, 0.3, 0.2],
                          "lower": [0.0, 0.1, 0.05], "upper": [0.4, 0.6, 0.5]})
    t = xmr_chart(rates)
    # mean 0.2; moving ranges 0.2, 0.1 -> 0.15; limits 0.2 -/+ 0.399
    assert t["value"].tolist() == [0.1, 0.3, 0.2]
    assert t["upper"].iloc[0] == pytest.approx(0.599)
    assert t["rate_lower"].tolist() == [0.0, 0.1, 0.05] and "n" in t


# --------------------------------------------------------------------------- special-cause rules


# --------------------------------------------------------------------------- which chart for rates


def test_auto_draws_a_p_chart_below_the_large_denominator_and_xmr_from_it():
    assert chart_for_denominators([LARGE_DENOMINATOR - 1] * 3) == "p"
    assert chart_for_denominators([100, LARGE_DENOMINATOR, LARGE_DENOMINATOR + 5]) == "xmr"  # the median decides
    assert chart_for_denominators([100, 200, 10**6]) == "p"
    with pytest.raises(ValueError, match="denominator for every period"):
        chart_for_denominators([1000, np.nan])


def test_an_xmr_chart_of_large_rates_by_hand_where_the_p_chart_would_flag_ordinary_variation():
    n = 60_000
    events = [18_000, 18_600, 17_400, 18_300, 17_700, 18_000]  # 30%, 31%, 29%, 30.5%, 29.5%, 30%
    rates = pd.DataFrame({"period": [f"Q{i}" for i in range(1, 7)], "n": n, "events": events})
    xmr = rate_chart(rates)
    # by hand: mean 0.30; moving ranges .01, .02, .015, .01, .005 -> mean .012; limits 0.30 +/- 2.66 x .012
    assert xmr["chart"].eq("XmR").all()
    assert math.isclose(xmr["centre"][0], 0.30) and math.isclose(xmr["mean_moving_range"][0], 0.012)
    assert math.isclose(xmr["upper"][0], 0.30 + 0.03192) and math.isclose(xmr["lower"][0], 0.30 - 0.03192)
    assert not special_causes(xmr)["outside_limits"].any()
    assert list(xmr["n"]) == [n] * 6 and xmr["method"][0] == "xmr_rate" and xmr["chart_choice"][0] == "auto"
    assert "chosen because the median denominator is 5,000 or more" in method_words(xmr["method"][0], xmr.iloc[0])
    # the binomial limits are +/- 3 sqrt(.21 / 60000) = 0.0056: 31% and 29% fall outside them (30.5% and 29.5% are just inside)
    p = special_causes(rate_chart(rates, chart="p"))
    assert p["chart"].eq("p").all() and list(p["outside_limits"]) == [False, True, True, False, False, False]


def test_rate_chart_clips_xmr_limits_to_rates_and_refuses_an_unknown_chart():
    rates = pd.DataFrame({"period": ["a", "b", "c"], "n": [10, 10, 10], "events": [0, 10, 0]})
    xmr = rate_chart(rates, chart="xmr")
    assert xmr["lower"].eq(0.0).all() and xmr["upper"].eq(1.0).all()
    assert rate_chart(rates, chart="p").equals(p_chart(rates))
    with pytest.raises(ValueError, match="chart='bar'"):
        rate_chart(rates, chart="bar")


def test_common_cause_series_flags_nothing():
    t = special_causes(hand_chart([0.5, -0.5, 1.0, -1.0, 0.2, -0.3, 2.5, -2.5, 0.1]))
    assert flagged(t) == []
    assert t["rule"].eq("").all() and t["direction"].isna().all()


def test_a_point_beyond_the_process_limits():
    t = special_causes(hand_chart([0.5, -0.5, 3.2, -0.5, 0.5, -3.1, 0.5, 3.0]))
    # 3.2 > 3 and -3.1 < -3; 3.0 is on the limit, not beyond it
    assert flagged(t) == [2, 5]
    assert flagged(t, "outside_limits") == [2, 5]
    assert t.loc[2, "rule"] == "outside limits (high)" and t.loc[2, "direction"] == "high"
    assert t.loc[5, "rule"] == "outside limits (low)" and t.loc[5, "direction"] == "low"


def test_a_shift_of_seven_points_above_the_centre_line_flags_all_seven():
    values = [-0.5, 0.5, 0.4, 0.5, 0.4, 0.5, 0.4, 0.5, -0.5]
    t = special_causes(hand_chart(values))
    assert flagged(t) == [1, 2, 3, 4, 5, 6, 7]
    assert flagged(t, "shift") == [1, 2, 3, 4, 5, 6, 7]
    assert all(t.loc[i, "rule"] == "shift (high)" for i in range(1, 8))
    assert t.loc[1:7, "direction"].eq("high").all()


def test_a_shift_of_eight_below_flags_all_eight():
    values = [0.5, -0.5, -0.4, -0.5, -0.4, -0.5, -0.4, -0.5, -0.4, 0.5]
    t = special_causes(hand_chart(values))
    assert flagged(t) == list(range(1, 9))
    assert all(t.loc[i, "rule"] == "shift (low)" for i in range(1, 9))


def test_six_points_on_one_side_are_not_a_shift():
    t = special_causes(hand_chart([-0.5, 0.5, 0.4, 0.5, 0.4, 0.5, 0.4, -0.5]))
    assert flagged(t) == []


def test_a_point_on_the_centre_line_breaks_a_shift():
    # 4 above, one on the line, 4 above: no run of 7
    t = special_causes(hand_chart([0.5, 0.4, 0.5, 0.4, 0.0, 0.5, 0.4, 0.5, 0.4]))
    assert flagged(t) == []


# Seven points rising that cross the centre line (4 below, then 4 above), so no shift: a trend only.
RISE = [-0.9, -0.6, -0.3, 0.05, 0.3, 0.6, 0.9]


def test_a_trend_of_seven_rising_points_flags_all_seven():
    t = special_causes(hand_chart([0.3, -0.3, *RISE, -0.2]))
    # 0.3 -> -0.3 -> -0.9 falls (3 points, no trend); then 6 rises from -0.9 to 0.9: 7 points
    assert flagged(t) == [2, 3, 4, 5, 6, 7, 8]
    assert flagged(t, "trend") == [2, 3, 4, 5, 6, 7, 8]
    assert all(t.loc[i, "rule"] == "trend (rising)" for i in range(2, 9))
    assert t.loc[2:8, "direction"].eq("high").all()


def test_a_trend_of_seven_falling_points():
    t = special_causes(hand_chart([-0.3, *RISE[::-1], 0.2]))
    # -0.3 -> 0.9 rises, then 0.9 down to -0.9: 7 points each lower than the one before
    assert flagged(t) == [1, 2, 3, 4, 5, 6, 7]
    assert all(t.loc[i, "rule"] == "trend (falling)" for i in range(1, 8))
    assert t.loc[1:7, "direction"].eq("low").all()


def test_six_rising_points_are_not_a_trend():
    t = special_causes(hand_chart([0.3, -0.3, *RISE[1:], -0.2]))
    assert flagged(t) == []


def test_an_equal_value_breaks_a_trend():
    # -0.9, -0.6, -0.3, -0.3, 0.05, ...: the repeat stops the run at 3 (then 5) points
    t = special_causes(hand_chart([0.3, -0.9, -0.6, -0.3, -0.3, 0.05, 0.3, 0.6, 0.9, -0.2]))
    assert flagged(t, "trend") == []


def test_two_of_three_beyond_two_sigma_on_the_same_side():
    t = special_causes(hand_chart([-0.5, 0.5, 2.5, 0.5, 2.4, 0.5, -0.5]))
    # 2.5, 0.5, 2.4: two of three above +2 sigma, all three above the centre line; only those two are flagged
    assert flagged(t) == [2, 4]
    assert flagged(t, "two_of_three") == [2, 4]
    assert t.loc[2, "rule"] == "2 of 3 beyond 2 sigma (high)" and t.loc[4, "direction"] == "high"


def test_two_of_three_low_and_adjacent():
    t = special_causes(hand_chart([0.5, -0.5, -2.5, -2.2, -0.5, 0.5]))
    # windows (-0.5, -2.5, -2.2) and (-2.5, -2.2, -0.5) are both all below the centre line
    assert flagged(t) == [2, 3]
    assert t.loc[2, "rule"] == "2 of 3 beyond 2 sigma (low)" and t.loc[3, "direction"] == "low"


def test_two_beyond_two_sigma_on_opposite_sides_do_not_flag():
    t = special_causes(hand_chart([0.5, -0.5, 2.5, -2.5, 0.5, -0.5]))
    assert flagged(t) == []


def test_two_of_three_needs_all_three_points_on_the_same_side_of_the_centre_line():
    # Making Data Count: the third point need not be beyond 2 sigma, but it must be on the same side of
    # the mean. 2.5, -0.5, 2.5: two beyond +2 sigma, but the middle one is below the centre line.
    t = special_causes(hand_chart([0.5, -0.5, 2.5, -0.5, 2.5, -0.5, 0.5]))
    assert flagged(t) == []


def test_a_point_beyond_the_limit_counts_towards_two_of_three():
    # Making Data Count (since its 2023 tools): every point beyond 2 sigma counts, those beyond 3 sigma too
    t = special_causes(hand_chart([-0.5, 0.5, 2.5, 3.5, 0.5, -0.5]))
    assert flagged(t) == [2, 3]
    assert t.loc[2, "rule"] == "2 of 3 beyond 2 sigma (high)"
    assert t.loc[3, "rule"] == "outside limits (high); 2 of 3 beyond 2 sigma (high)"


def test_every_flagged_point_names_every_rule_that_applies():
    # 7 points above the centre line, the last two beyond 2 sigma and the last beyond 3 sigma
    values = [-0.5, 0.5, 0.4, 0.5, 0.4, 0.5, 2.5, 3.5]
    t = special_causes(hand_chart(values))
    assert flagged(t) == [1, 2, 3, 4, 5, 6, 7]
    assert t.loc[7, "rule"] == "outside limits (high); shift (high); 2 of 3 beyond 2 sigma (high)"
    assert t.loc[6, "rule"] == "shift (high); 2 of 3 beyond 2 sigma (high)"
    assert t.loc[1, "rule"] == "shift (high)"
    assert (t.loc[t["special_cause"], "rule"] != "").all()


def test_rules_on_an_xmr_chart_with_a_fixed_baseline():
    t = special_causes(xmr_chart([4, 6, 4, 6, 4, 6, 4, 6, 4, 6, 11, 5, 6, -1, 4], baseline=10))
    # baseline: centre 5, moving ranges all 2: limits 5 -/+ 5.32 = -0.32 and 10.32, 2-sigma lines 1.4533 and 8.5467
    # 11 is above 10.32 and -1 below -0.32; 5 is on the centre line and breaks any run
    assert flagged(t) == [10, 13]
    assert t.loc[10, "rule"] == "outside limits (high)" and t.loc[13, "rule"] == "outside limits (low)"


def test_special_causes_checks_its_input():
    with pytest.raises(KeyError, match="missing"):
        special_causes(pd.DataFrame({"value": [1.0]}))


# --------------------------------------------------------------------------- variation and assurance icons


def test_variation_common_cause_and_assurance_against_the_limits():
    chart = hand_chart([0.5, -0.5, 1.0, -1.0, 0.2])
    # process limits -3 and 3
    cases = [
        ("down", 4.0, "consistently passing"),   # lower is better, target above the upper limit
        ("down", -4.0, "consistently failing"),  # target below the lower limit
        ("down", 1.0, "hit and miss"),
        ("up", 4.0, "consistently failing"),     # higher is better, target above the upper limit
        ("up", -4.0, "consistently passing"),
        ("up", -1.0, "hit and miss"),
    ]
    for improvement, target, assurance in cases:
        row = variation_and_assurance(chart, target=target, improvement=improvement).iloc[0]
        assert row["variation"] == "common cause", (improvement, target)
        assert row["assurance"] == assurance, (improvement, target)
        assert row["period"] == "t5" and row["value"] == 0.2 and (row["lower"], row["upper"]) == (-3.0, 3.0)
        assert isinstance(row["assurance_text"], str) and isinstance(row["variation_text"], str)


def test_no_assurance_without_a_target_or_for_a_neutral_measure():
    chart = hand_chart([0.5, -0.5, 1.0])
    assert variation_and_assurance(chart, improvement="down")["assurance"].isna().all()
    assert variation_and_assurance(chart, target=4.0, improvement="neutral")["assurance"].isna().all()
    assert variation_and_assurance(chart, target=float("nan"), improvement="down")["assurance"].isna().all()


def test_special_cause_high_is_improving_when_higher_is_better_and_concerning_when_lower_is():
    chart = hand_chart([0.5, -0.5, 1.0, 3.5])
    up = variation_and_assurance(chart, improvement="up").iloc[0]
    down = variation_and_assurance(chart, improvement="down").iloc[0]
    neutral = variation_and_assurance(chart, improvement="neutral").iloc[0]
    assert up["variation"] == "special cause improving" and "higher" in up["variation_text"]
    assert down["variation"] == "special cause concerning" and "higher" in down["variation_text"]
    assert neutral["variation"] == "special cause" and "higher" in neutral["variation_text"]
    assert up["rule"] == "outside limits (high)" and bool(up["special_cause"])


def test_special_cause_low_is_improving_when_lower_is_better():
    # the last 7 points below the centre line (a shift), none beyond the limits
    chart = hand_chart([0.5, -0.5, -0.4, -0.5, -0.4, -0.5, -0.4, -0.5])
    assert variation_and_assurance(chart, improvement="down")["variation"].item() == "special cause improving"
    assert variation_and_assurance(chart, improvement="up")["variation"].item() == "special cause concerning"
    assert "lower" in variation_and_assurance(chart, improvement="up")["variation_text"].item()


def test_a_point_special_both_ways_shows_improvement_as_the_making_data_count_tool_does():
    # 7 points above the centre line (shift high) that fall one after another (trend falling)
    chart = hand_chart([-0.5, 0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35])
    t = special_causes(chart)
    assert t.loc[7, "rule"] == "shift (high); trend (falling)" and t.loc[7, "direction"] == "both"
    # lower is better: the fall is an improvement; higher is better: the shift up is. Either way: improving.
    for improvement in ("up", "down"):
        assert variation_and_assurance(chart, improvement=improvement)["variation"].item() == "special cause improving"
    assert variation_and_assurance(chart, improvement="neutral")["variation"].item() == "special cause"


def test_assurance_on_a_p_chart_uses_the_latest_periods_limits():
    rates = pd.DataFrame({"period": ["Q1", "Q2", "Q3", "Q4"], "n": [100, 400, 25, 75], "events": [30, 100, 10, 10]})
    chart = p_chart(rates)
    # latest period (n = 75): limits 0.10 and 0.40. A target of 0.39 is above Q1's upper limit (0.3799)
    # but within Q4's: hit and miss. 0.45 is above it: consistently passing (lower is better).
    assert variation_and_assurance(chart, target=0.39, improvement="down")["assurance"].item() == "hit and miss"
    assert variation_and_assurance(chart, target=0.45, improvement="down")["assurance"].item() == "consistently passing"
    assert variation_and_assurance(chart, target=0.05, improvement="down")["assurance"].item() == "consistently failing"


def test_variation_and_assurance_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="improvement"):
        variation_and_assurance(hand_chart([0.0, 1.0]), improvement="higher")


# --------------------------------------------------------------------------- data lag


@pytest.mark.parametrize(
    ("as_of", "follow_up", "waiting", "freq", "cutoff", "period", "start", "end"),
    [
        # 31 Mar 2024 - 18 months = 30 Sep 2022 (month ends kept): Q3 2022 ends on 30 Sep, so it is complete
        ("2024-03-31", 12, 6, "Q", "2022-09-30", "2022Q3", "2022-07-01", "2022-09-30"),
        # 30 Mar 2024 - 18 months = 30 Sep 2022; 30 Sep 2022 + 18 months = 30 Mar 2024: still complete
        ("2024-03-30", 12, 6, "Q", "2022-09-30", "2022Q3", "2022-07-01", "2022-09-30"),
        # 29 Mar 2024 - 18 months = 29 Sep 2022: people released on 30 Sep 2022 are not complete -> Q2
        ("2024-03-29", 12, 6, "Q", "2022-09-29", "2022Q2", "2022-04-01", "2022-06-30"),
        # leap day: 29 Feb 2024 is a month end, reached from 31 Aug 2022 (+18 months = 29 Feb 2024)
        ("2024-02-29", 12, 6, "M", "2022-08-31", "2022-08", "2022-08-01", "2022-08-31"),
        # 28 Feb 2024 is not a month end in 2024: 28 Aug 2022, so August is incomplete
        ("2024-02-28", 12, 6, "M", "2022-08-28", "2022-07", "2022-07-01", "2022-07-31"),
        # a two-year follow-up: 24 + 6 = 30 months before 30 Jun 2025 is 31 Dec 2022
        ("2025-06-30", 24, 6, "Y", "2022-12-31", "2022", "2022-01-01", "2022-12-31"),
        # financial years ending in March: 30 Sep 2025 - 18 months = 31 Mar 2024, the end of 2023/24
        ("2025-09-30", 12, 6, "Y-MAR", "2024-03-31", "2024", "2023-04-01", "2024-03-31"),
    ],
)
def test_data_lag_by_hand(as_of, follow_up, waiting, freq, cutoff, period, start, end):
    lag = data_lag(follow_up_months=follow_up, waiting_months=waiting, as_of=as_of, freq=freq)
    assert isinstance(lag, pd.DataFrame) and len(lag) == 1
    row = lag.iloc[0]
    assert row["cutoff"] == pd.Timestamp(cutoff)
    assert row["last_complete_period"] == period
    assert (row["period_start"], row["period_end"]) == (pd.Timestamp(start), pd.Timestamp(end))
    assert row["as_of"] == pd.Timestamp(as_of)
    assert (row["follow_up_months"], row["waiting_months"]) == (follow_up, waiting)


def test_data_lag_sentence():
    sentence = data_lag(as_of="2024-03-31")["sentence"].item()
    assert "on or before 30 September 2022" in sentence
    assert "18 months" in sentence and "31 March 2024" in sentence
    assert "The latest complete quarter is 2022Q3 (1 July 2022 to 30 September 2022)." in sentence


def test_data_lag_refuses_negative_or_fractional_months():
    with pytest.raises(ValueError, match="whole number"):
        data_lag(follow_up_months=-1, as_of="2024-01-01")
    with pytest.raises(ValueError, match="whole number"):
        data_lag(follow_up_months=12.5, as_of="2024-01-01")


# --------------------------------------------------------------------------- rates by period


def tiny_people() -> pd.DataFrame:
    return pd.DataFrame({
        "index_date": ["2023-01-05", "2023-02-11", "2023-03-31", "2023-04-20", "2023-06-30", "2023-11-02", None, "2023-05-01"],
        "reoffended": [1, 0, 0, 1, 1, 0, 1, None],
        "area": ["A", "B", "A", "A", "B", "A", "A", "B"],
    })


def test_rates_by_quarter_by_hand():
    t = rates_by_period(tiny_people(), date="index_date", freq="Q")
    # Q1: 5 Jan (1), 11 Feb (0), 31 Mar (0) -> 1 of 3; Q2: 20 Apr (1), 30 Jun (1) -> 2 of 2 (1 May has no outcome);
    # Q3: nobody (absent); Q4: 2 Nov (0) -> 0 of 1. Left out: the row without a date and the row without an outcome.
    assert t["period"].tolist() == ["2023Q1", "2023Q2", "2023Q4"]
    assert t["n"].tolist() == [3, 2, 1]
    assert t["events"].tolist() == [1, 2, 0]
    assert t["rate"].tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert t["period_start"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-04-01"), pd.Timestamp("2023-10-01")]
    assert t["period_end"].tolist() == [pd.Timestamp("2023-03-31"), pd.Timestamp("2023-06-30"), pd.Timestamp("2023-12-31")]
    assert t.attrs["n_left_out"] == 2
    assert t["statistic"].eq("proportion").all() and t["confidence"].eq(0.95).all()


def test_rates_by_period_wilson_intervals_equal_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    t = rates_by_period(tiny_people(), date="index_date", freq="Q", confidence=0.9)
    for events, n, lower, upper in t[["events", "n", "lower", "upper"]].itertuples(index=False):
        lo, hi = proportion_confint(events, n, alpha=0.1, method="wilson")
        assert (lower, upper) == pytest.approx((lo, hi), abs=1e-12)


def test_rates_by_period_by_group_and_for_a_subset():
    t = rates_by_period(tiny_people(), date="index_date", freq="Q", by="area")
    # area A: Q1 5 Jan (1), 31 Mar (0); Q2 20 Apr (1); Q4 2 Nov (0). Area B: Q1 11 Feb (0); Q2 30 Jun (1).
    assert t[["area", "period", "n", "events"]].values.tolist() == [
        ["A", "2023Q1", 2, 1], ["A", "2023Q2", 1, 1], ["A", "2023Q4", 1, 0],
        ["B", "2023Q1", 1, 0], ["B", "2023Q2", 1, 1],
    ]
    assert t.attrs["n_left_out"] == 2
    no_area = tiny_people().assign(area=lambda d: d["area"].where(d.index != 0))  # 5 Jan (1) loses its area
    t = rates_by_period(no_area, date="index_date", freq="Q", by="area")
    assert t[["area", "period", "n", "events"]].values.tolist()[0] == ["A", "2023Q1", 1, 0]
    assert t.attrs["n_left_out"] == 3
    sub = rates_by_period(tiny_people(), date="index_date", freq="Q", where=tiny_people()["area"].eq("B"))
    assert sub[["period", "n", "events"]].values.tolist() == [["2023Q1", 1, 0], ["2023Q2", 1, 1]]
    assert sub.attrs["n_left_out"] == 1  # B's row without an outcome


def test_rates_by_financial_quarter_and_existing_period_column():
    t = rates_by_period(tiny_people(), date="index_date", freq="Q-MAR")
    # financial quarters end in June, September, December and March; labelled by the financial year's end:
    # Jan-Mar 2023 is the 4th quarter of 2022/23 ("2023Q4"), Apr-Jun 2023 the 1st of 2023/24 ("2024Q1")
    assert t["period"].tolist() == ["2023Q4", "2024Q1", "2024Q3"]
    assert t["period_start"].iloc[1] == pd.Timestamp("2023-04-01")
    frame = pd.DataFrame({"period": ["Q10", "Q2", "Q2", "Q1"], "reoffended": [1, 0, 1, 1]})
    t = rates_by_period(frame)
    # natural order: Q1, Q2, Q10
    assert t[["period", "n", "events"]].values.tolist() == [["Q1", 1, 1], ["Q2", 2, 1], ["Q10", 1, 1]]


def test_rates_by_period_refuses_an_outcome_that_is_not_0_1():
    with pytest.raises(ValueError, match="0/1"):
        rates_by_period(pd.DataFrame({"period": ["a", "b"], "reoffended": [1, 2]}))
    with pytest.raises(ValueError, match="0/1"):
        rates_by_period(pd.DataFrame({"period": ["a", "b"], "reoffended": ["yes", "no"]}))


def test_rates_by_period_then_p_chart_end_to_end():
    chart = p_chart(rates_by_period(tiny_people(), date="index_date", freq="Q"))
    # centre = (1 + 2 + 0) / (3 + 2 + 1) = 0.5; Q1: sigma = sqrt(0.25 / 3) = 0.2886751
    assert chart["centre"].iloc[0] == pytest.approx(0.5)
    # limits 0.5 -/+ 3 x 0.2886751 = -0.3660254 and 1.3660254, clipped to 0 and 1
    assert (chart["lower"].iloc[0], chart["upper"].iloc[0]) == (0.0, 1.0)
    # Q2 (n = 2): sigma = sqrt(0.25 / 2) = 0.3535534; 2-sigma lines 0.5 -/+ 0.7071068, clipped to 0 and 1
    assert chart["sigma"].iloc[1] == pytest.approx(0.3535534, abs=1e-7)
    assert {"rate_lower", "rate_upper"} <= set(chart.columns)


# --------------------------------------------------------------------------- O/E by period


def oe_frame(seed: int = 7) -> pd.DataFrame:
    """Three periods; the case mix changes over time and the later periods reoffend more."""
    rng = np.random.default_rng(seed)
    rows = []
    for period, n, share_young, shift in (("2022Q1", 900, 0.3, 0.0), ("2022Q2", 700, 0.5, 0.2), ("2022Q3", 800, 0.6, 0.4)):
        young = rng.random(n) < share_young
        male = rng.random(n) < 0.7
        logit = -1.2 + 0.8 * young + 0.5 * male + shift
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        rows.append(pd.DataFrame({"period": period, "age": np.where(young, "young", "older"),
                                  "sex": np.where(male, "Male", "Female"), "reoffended": y}))
    return pd.concat(rows, ignore_index=True)


def glm_observed_expected(frame: pd.DataFrame, baseline: str) -> dict[str, tuple[int, int, float]]:
    """Per period: n, observed and expected, expected from statsmodels' GLM fitted on the baseline rows."""
    import statsmodels.formula.api as smf
    from statsmodels.genmod.families import Binomial

    glm = smf.glm("reoffended ~ C(age) + C(sex)", data=frame[frame["period"] == baseline], family=Binomial()).fit()
    out = {}
    for period, rows in frame.groupby("period"):
        out[period] = (len(rows), int(rows["reoffended"].sum()), float(glm.predict(rows).sum()))
    return out


def test_oe_by_period_against_a_glm_fitted_on_the_baseline_rows():
    frame = oe_frame()
    truth = glm_observed_expected(frame, "2022Q1")
    t = oe_by_period(frame, "2022Q1", ["age", "sex"], confidence=0.95)
    assert t["period"].tolist() == ["2022Q1", "2022Q2", "2022Q3"]
    assert t["baseline"].tolist() == [True, False, False]
    for row in t.itertuples(index=False):
        n, observed, expected = truth[row.period]
        assert (row.n, row.observed) == (n, observed)
        assert row.expected == pytest.approx(expected, rel=1e-7)
        assert row.ratio == pytest.approx(observed / expected, rel=1e-7)
    # in the baseline period O/E is 1: the score equation of the intercept
    assert t["ratio"].iloc[0] == pytest.approx(1.0, abs=1e-8)
    # the case mix grows riskier, so the later periods' expected rates rise above the baseline's
    assert t["expected_rate"].iloc[2] > t["expected_rate"].iloc[0]
    assert t["method"].iloc[0] == "oe_phe+adjusted_baseline" and (t["baseline_period"] == "2022Q1").all()
    assert "fitted on the baseline period 2022Q1" in method_words(t["method"].iloc[0], t.iloc[0])


def test_oe_by_period_from_a_date_column():
    frame = oe_frame()
    truth = glm_observed_expected(frame, "2022Q1")
    dated = frame.drop(columns="period").assign(
        index_date=frame["period"].map({"2022Q1": "2022-02-01", "2022Q2": "2022-05-01", "2022Q3": "2022-08-01"}))
    t = oe_by_period(dated, "2022Q1", ["age", "sex"], date="index_date", freq="Q", confidence=0.95)
    assert t["period"].tolist() == ["2022Q1", "2022Q2", "2022Q3"]
    for row in t.itertuples(index=False):
        n, observed, expected = truth[row.period]
        assert (row.n, row.observed) == (n, observed)
        assert row.ratio == pytest.approx(observed / expected, rel=1e-7)
    assert t["period_start"].tolist()[1:] == [pd.Timestamp("2022-04-01"), pd.Timestamp("2022-07-01")]
    assert t["period_end"].iloc[0] == pd.Timestamp("2022-03-31")


def test_oe_by_period_refuses_an_unknown_baseline():
    with pytest.raises(ValueError, match="baseline period"):
        oe_by_period(oe_frame(), "2021Q4", ["age"])


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500), st.floats(0, 1)), min_size=1, max_size=12))
def test_p_chart_limits_bracket_the_centre_and_stay_in_0_1(cells):
    n = [c[0] for c in cells]
    events = [int(round(c[0] * c[1])) for c in cells]
    t = p_chart(pd.DataFrame({"period": [f"p{i}" for i in range(len(n))], "n": n, "events": events}))
    tol = 1e-12
    assert (t["lower"] <= t["lower_2sigma"] + tol).all() and (t["lower_2sigma"] <= t["centre"] + tol).all()
    assert (t["centre"] <= t["upper_2sigma"] + tol).all() and (t["upper_2sigma"] <= t["upper"] + tol).all()
    assert (t["lower"] >= 0).all() and (t["upper"] <= 1).all()
    assert t["centre"].iloc[0] == pytest.approx(sum(events) / sum(n))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=30))
def test_xmr_centre_is_the_mean_and_limits_are_2_66_mean_moving_ranges_either_side(values):
    t = xmr_chart(values)
    mean = sum(values) / len(values)
    mr = sum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)
    assert t["centre"].iloc[0] == pytest.approx(mean, abs=1e-9)
    assert t["mean_moving_range"].iloc[0] == pytest.approx(mr, abs=1e-9)
    assert t["upper"].iloc[0] == pytest.approx(mean + 2.66 * mr, abs=1e-9)
    assert t["lower"].iloc[0] == pytest.approx(mean - 2.66 * mr, abs=1e-9)
    assert special_causes(t)["special_cause"].dtype == bool


def _per_row_rates(frame: pd.DataFrame, date: str | None, period: str | None, freq: str, by: list[str],
                   where: str | None) -> pd.DataFrame:
    """rates_by_period's counts the plain way: a text label per row and a pandas group-by on the rows' own values."""
    rows = frame if where is None else frame[frame[where] == 1]
    # labels from dates sort as text in time order; a period column keeps its categories' order
    rows = rows.assign(_label=rows[date].dt.to_period(freq).astype("string") if date else rows[period])
    rows = rows.dropna(subset=[*by, "_label", "reoffended"])
    return (rows.assign(**{c: rows[c].to_numpy() for c in by})  # values, so groups sort by value, not category order
            .groupby([*by, "_label"], sort=True, observed=True).agg(n=("reoffended", "size"), events=("reoffended", "sum"))
            .reset_index())


@pytest.mark.parametrize("freq", ["M", "Q", "Y-MAR"])
@pytest.mark.parametrize("by", [[], ["area"], ["area", "sex"], ["code"]])
@pytest.mark.parametrize("where", [None, "dv"])
def test_rates_by_period_grouped_on_codes_equal_a_per_row_group_by(freq, by, where):
    # distinct dates cut once and spread by code, counts from codes: the same rows, n and events as labelling every row
    rng = np.random.default_rng(7)
    n = 3000
    days = pd.Series(rng.choice(pd.date_range("2019-01-01", "2021-12-31", freq="D"), n))
    days[rng.random(n) < 0.05] = pd.NaT
    frame = pd.DataFrame({
        "start": days,
        "period": pd.Categorical(rng.choice(["b", "a"], n), categories=["b", "c", "a"]),  # "c" is never used
        # categories not in the order of their values: the group-by on values sorts "1", "10", "2", "Zed"
        "area": pd.Categorical(rng.choice(["10", "2", "1", "Zed"], n), categories=["1", "2", "10", "Zed", "none"]),
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"]),
        "code": rng.choice([30, 4, 12], n),  # not categorical
        "dv": (rng.random(n) < 0.4).astype("int8"),
        "reoffended": (rng.random(n) < 0.35).astype(float),
    })
    frame.loc[rng.random(n) < 0.05, "area"] = np.nan
    frame.loc[rng.random(n) < 0.02, "reoffended"] = np.nan
    for date, period in (("start", None), (None, "period")):
        got = rates_by_period(frame, date=date, period=period, freq=freq, by=by or None, where=where)
        want = _per_row_rates(frame, date, period, freq, by, where)
        assert got[[*by, "period"]].astype(str).values.tolist() == want[[*by, "_label"]].astype(str).values.tolist()
        assert got["n"].tolist() == want["n"].tolist() and got["events"].tolist() == want["events"].astype(int).tolist()
        subset = frame if where is None else frame[frame[where] == 1]
        assert got.attrs["n_left_out"] == len(subset) - int(want["n"].sum())
        for col in by:
            assert got[col].dtype == frame[col].dtype or not isinstance(frame[col].dtype, pd.CategoricalDtype)
