"""The headline tables are the papers' published tables: same numbers, same suppression."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.cohort import open_study
from analysis.headline import headline_tables
from analysis.paper import RiskFlagsPaper
from analysis.results import analyse


@pytest.fixture(scope="module")
def data():
    return open_study()


def test_headline_tables_are_the_risk_flags_papers_tables(data):
    tables = headline_tables(data).tables
    paper = RiskFlagsPaper(analyse(data))
    odds = tables["odds_ratios"].set_index("flag")
    for row in paper.effects.to_dict("records"):
        for col in ("odds_ratio", "or_lower", "or_upper", "risk_ratio", "risk_difference", "rate_flagged"):
            assert odds.loc[row["flag"], col] == pytest.approx(row[col])
    assert set(tables) == {"rates_by_flag", "odds_ratios", "oe_by_area", "attributable_fractions"}
    assert set(tables["oe_by_area"]["expected_source"]) == {"supplied", "internal", "baseline"}


def test_small_groups_are_suppressed_in_the_csv_too(data):
    cohort = data.cohort.copy()
    current = cohort.index[cohort["period"] == "2015-10/2016-09"]
    cohort["homeless"] = 0
    cohort.loc[current[:6], "homeless"] = 1  # six people flagged: too few to publish
    from analysis.cohort import StudyData

    tables = headline_tables(StudyData(data.study, cohort, data.quality)).tables
    rates = tables["rates_by_flag"]
    assert rates.loc[rates["flag"] == "homeless", ["n", "events", "rate"]].isna().all().all()
    odds = tables["odds_ratios"].set_index("flag")
    assert np.isnan(odds.loc["homeless", "odds_ratio"])
    paf = tables["attributable_fractions"]
    homeless = paf.loc[paf["term"] == "homeless", "paf"]
    assert len(homeless) >= 1 and homeless.isna().all()


def test_rounding_to_base_five(data):
    rates = headline_tables(data, rounding=5).tables["rates_by_flag"]
    assert (rates["n"].dropna() % 5 == 0).all() and (rates["events"].dropna() % 5 == 0).all()
