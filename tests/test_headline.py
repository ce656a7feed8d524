"""Headline tables and the `tables` command: the same numbers as the underlying functions, disclosure-controlled."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import fit_flags_model, load_cohort
from analysis.headline import choose_expected_source, headline_tables, latest_period
from analysis.paths import DEFAULT_COHORT, REPO_ROOT


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return load_cohort(DEFAULT_COHORT)


def test_headline_tables_on_the_default_data(cohort):
    results = headline_tables(cohort)
    assert results.period == latest_period(cohort) == "2015-10/2016-09"
    current = cohort[cohort["period"] == results.period]
    rates = results.tables["rates_by_flag"].set_index(["flag", "value"])
    by_hand = current.groupby("homeless")["reoffended"].mean()
    assert rates.loc[("homeless", 1), "rate"] == pytest.approx(by_hand[1])
    odds = results.tables["odds_ratios"].set_index("term")
    direct = fit_flags_model(current).odds_ratios.set_index("term")
    np.testing.assert_allclose(odds.loc["homeless", "odds_ratio"], direct.loc["homeless", "odds_ratio"])
    oe = results.tables["oe_by_area"]
    assert set(oe["area"].astype(str)) == {"Dudley", "Sandwell", "Walsall", "Wolverhampton"}
    assert "supplied" in results.expected_source.lower()
    paf = results.tables["paf"]
    assert {"single", "shapley", "joint"} <= set(paf["kind"])
    assert (results.log.to_frame()["rule"] == "model").any()


def test_expected_source_choice(cohort):
    without = cohort.drop(columns="expected")
    assert choose_expected_source(cohort, "2015-10/2016-09") == "supplied"
    assert choose_expected_source(without, "2015-10/2016-09", "2014-10/2015-09") == "reference"
    assert choose_expected_source(without, "2015-10/2016-09") == "internal"


def test_small_groups_are_suppressed_in_every_table(cohort):
    small = cohort[cohort["period"] == "2015-10/2016-09"].groupby("area", observed=True).head(60)
    results = headline_tables(small, threshold=10)
    rates = results.tables["rates_by_flag"]
    visible = rates.dropna(subset=["reoffenders"])
    assert (visible["reoffenders"] >= 10).all() and ((visible["n"] - visible["reoffenders"]) >= 10).all()
    assert rates["rate"].isna().equals(rates["reoffenders"].isna())
    oe = results.tables["oe_by_area"].dropna(subset=["observed"])
    assert (oe["observed"] >= 10).all()


def test_tables_command_writes_every_csv(tmp_path):
    out = tmp_path / "tables"
    result = subprocess.run([sys.executable, "-m", "analysis", "tables", "--out", str(out), "--quiet"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(p.name for p in out.glob("*.csv"))
    assert names == ["disclosure_log.csv", "odds_ratios.csv", "oe_by_area.csv", "paf.csv", "rates_by_flag.csv"]
    assert not list(out.glob(".*"))
    paf = pd.read_csv(out / "paf.csv")
    assert paf["sentence"].str.contains("predicted reoffending would be").any()


def test_rounding_to_base_five(cohort):
    results = headline_tables(cohort, rounding=5)
    rates = results.tables["rates_by_flag"].dropna(subset=["reoffenders"])
    assert (rates["reoffenders"] % 5 == 0).all() and (rates["n"] % 5 == 0).all()
    assert (results.log.to_frame()["rule"] == "rounding").any()
