"""Descriptive tables against hand counts."""

import pandas as pd
import pytest

from analysis.describe import data_quality, flag_combinations, flag_cooccurrence, flag_prevalence, rates_by, rates_by_flag


@pytest.fixture
def toy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "reoffended": [1, 1, 0, 0, 1, 0],
            "dv": [1, 1, 0, 0, 0, 0],
            "child_protection": [1, 0, 0, 0, 0, 0],
            "area": ["A", "A", "A", "B", "B", "B"],
        }
    )


def test_prevalence_and_rates_by_hand(toy):
    prev = flag_prevalence(toy, flags=["dv", "child_protection"])
    assert prev["flagged"].tolist() == [2, 1] and prev["prevalence"].tolist() == pytest.approx([2 / 6, 1 / 6])
    assert set(prev["method"]) == {"wilson"}
    rates = rates_by(toy, "area")
    assert rates["rate"].tolist() == pytest.approx([2 / 3, 1 / 3])
    by_flag = rates_by_flag(toy, flags=["dv"])
    assert by_flag["rate"].tolist() == pytest.approx([1 / 4, 1.0])


def test_cooccurrence_by_hand(toy):
    cond = flag_cooccurrence(toy, flags=["dv", "child_protection"])
    assert cond.loc["dv", "child_protection"] == pytest.approx(0.5)  # 1 of the 2 DV people
    assert cond.loc["child_protection", "dv"] == pytest.approx(1.0)
    assert flag_cooccurrence(toy, flags=["dv", "child_protection"], measure="joint").loc["dv", "child_protection"] == pytest.approx(1 / 6)


def test_combinations(toy):
    combos = flag_combinations(toy, flags=["dv", "child_protection"])
    assert combos["n"].tolist() == [4, 1, 1]
    assert combos.loc[0, "combination"] == "none" and combos.loc[0, "rate"] == pytest.approx(0.25)


def test_quality_reports_not_recorded(toy):
    toy.attrs["not_recorded"] = {"dv": 3}
    toy.attrs["missing_flags"] = "absent"
    q = data_quality(toy).set_index("column")
    assert q.loc["dv", "not_recorded"] == 3 and q.loc["dv", "policy"] == "absent"
