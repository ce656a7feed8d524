"""A study's results and papers from cells of people equal those from one row per person.

The route an extract too large for memory takes (``report --out-of-core``):
DuckDB counts the people per pattern of values (:func:`analysis.outofcore.open_study_cells`),
or pandas does for a loaded study (:func:`analysis.cells.study_cells`), and
every result of :func:`analysis.analyse` follows from the counts. The
references are the row route's results, which the other test files check
against independent fits and worked values, and the row route's papers.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import __main__ as cli
from analysis.cells import people_from_cells, people_to_cells, study_cells
from analysis.diagnostics import calibration_table, hosmer_lemeshow
from analysis.errors import CohortError
from analysis.models import fit_flags_model
from analysis.outofcore import extract_rows, fits_in_memory, open_study_cells
from analysis.paths import DEFAULT_STUDY
from analysis.results import StudyResults, analyse
from conftest import REPO

TABLES = ["prevalence", "rates_by_flag", "effects", "interaction_tests", "interactions_found", "discrimination", "calibration",
          "hosmer_lemeshow", "collinearity", "attributable", "oe_by_flag", "oe_baseline_with_model_uncertainty"]
REARREST = REPO / "examples" / "rearrest" / "study.toml"


def assert_same_results(rows: StudyResults, cells: StudyResults) -> None:
    assert cells.describe() == rows.describe()
    assert cells.overall == rows.overall
    for name in TABLES:
        # every number, label and method code; not fitted_on, which says whether a model with a numeric term was fitted
        # on rows or on cells (the default study's model is all categories: fitted on cells either way)
        a, b = (getattr(r, name).drop(columns="fitted_on", errors="ignore").reset_index(drop=True) for r in (rows, cells))
        pd.testing.assert_frame_equal(b, a, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-12, obj=name)
    assert list(cells.oe_by_area) == list(rows.oe_by_area)
    for source, table in rows.oe_by_area.items():
        pd.testing.assert_frame_equal(cells.oe_by_area[source], table, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-12,
                                      obj=f"O/E by area, {source}")
    pd.testing.assert_series_equal(cells.period_counts("area"), rows.period_counts("area"), check_dtype=False)


@pytest.mark.parametrize("study", [None, REARREST], ids=["default", "rearrest"])
def test_every_result_from_cells_equals_the_rows(study):
    data = analysis.open_study(study)
    cells = study_cells(data)
    assert cells.trials == "n" and len(cells.cohort) < len(data.cohort)
    assert int(cells.cohort["n"].sum()) == len(data.cohort)
    assert_same_results(analyse(data), analyse(cells))


def test_duckdb_cells_equal_the_pandas_cells_and_give_the_same_results():
    data = analysis.open_study()
    by_pandas = study_cells(data)
    by_duckdb = open_study_cells(DEFAULT_STUDY, memory_limit="500MB", threads=1)
    assert by_duckdb.trials == "n"
    a = by_pandas.cohort.sort_values(list(by_pandas.cohort.columns[:12])).reset_index(drop=True)
    b = by_duckdb.cohort[a.columns].sort_values(list(a.columns[:12])).reset_index(drop=True)
    pd.testing.assert_frame_equal(b, a, check_dtype=False, check_categorical=False, check_exact=False, rtol=1e-12, atol=1e-12)
    assert by_duckdb.quality.rows_read == len(data.cohort) and by_duckdb.quality.read.columns == data.quality.read.columns
    assert_same_results(analyse(data), analyse(by_duckdb))


def test_supplied_expected_keeps_the_peoples_binomial_variance():
    # two people in one cell with p = 0.1 and 0.9: the mean 0.5 would give 2 x 0.25 = 0.5; the people give 0.09 + 0.09
    people = pd.DataFrame({"area": ["A", "A", "B", "B"], "reoffended": [0, 1, 1, 0], "expected": [0.1, 0.9, 0.5, 0.5]})
    cells = people_to_cells(people, keys=["area"])
    t = analysis.observed_vs_expected(cells, "area", expected="expected", trials="n", variance="expected_variance",
                                      confidence=0.95, compare_rest=False)
    assert t["variance"].round(12).tolist() == [0.18, 0.5]
    rows = analysis.observed_vs_expected(people, "area", confidence=0.95, compare_rest=False)
    pd.testing.assert_frame_equal(t, rows, check_dtype=False)


def test_equal_size_risk_groups_never_split_people_with_the_same_prediction():
    # a numeric term scores each person: ties between people are kept together, as cells of the same people keep them
    rng = np.random.default_rng(5)
    people = pd.DataFrame({"dv": rng.integers(0, 2, 600), "score": rng.integers(0, 4, 600).astype(float),
                           "area": rng.choice(["A", "B", "C"], 600)})
    people["reoffended"] = (rng.random(600) < 0.2 + 0.1 * people["score"] / 3 + 0.2 * people["dv"]).astype(int)
    on_rows = fit_flags_model(people, flags=["dv"], adjust=["score"])
    assert not on_rows.units.grouped
    table = calibration_table(on_rows)
    # by hand: the 8 distinct predictions in order, each block of tied people in group floor(10 x midpoint / 600)
    p = on_rows.predict(people).round(12)
    block = p.value_counts().sort_index()
    midpoint = block.cumsum() - block / 2
    by_hand = block.groupby(np.minimum((midpoint / 600 * 10).astype(int), 9).to_numpy()).sum()
    assert len(block) == 8 and table["n"].tolist() == by_hand.tolist()
    cells = people_to_cells(people, keys=["dv", "score", "area"])
    on_cells = fit_flags_model(cells, flags=["dv"], adjust=["score"], trials="n")
    pd.testing.assert_frame_equal(hosmer_lemeshow(on_cells).drop(columns="method"), hosmer_lemeshow(on_rows).drop(columns="method"),
                                  check_exact=False, rtol=1e-9)


def test_what_the_out_of_core_route_cannot_count_is_refused_with_the_fix():
    from analysis.paths import SYNTHETIC_DIR

    with pytest.raises(CohortError) as caught:
        open_study_cells({"model": {"adjust": ["sex", "age"]}}, SYNTHETIC_DIR / "cohort.parquet")
    problem = caught.value.problems[0]
    assert problem.column == "[model]" and "age" in problem.message and "band" in problem.fix
    with pytest.raises(CohortError) as caught:
        open_study_cells(REARREST)  # its flags are derived from its own columns
    assert "does not support [derive]" in caught.value.problems[0].message


def test_fits_in_memory_from_the_extract_rows(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n" + "10,20\n" * 300_000)  # more than the first MiB: estimated from it
    assert abs(extract_rows(csv) - 300_000) <= 300
    parquet = tmp_path / "x.parquet"
    pd.DataFrame({"a": range(1234)}).to_parquet(parquet)
    assert extract_rows(parquet) == 1234
    assert fits_in_memory(csv, available=10 ** 10) and not fits_in_memory(csv, available=10 ** 8)
    assert fits_in_memory(tmp_path / "x.xlsx", available=1)  # a workbook is read in memory


def test_report_chooses_the_out_of_core_route_when_the_extract_would_not_fit(monkeypatch):
    args = argparse.Namespace(out_of_core="auto", reference=None, cohort=None, study=None, mapping=None)
    assert not cli._out_of_core(args)
    monkeypatch.setattr("analysis.outofcore.available_memory", lambda: 1_000_000)  # 16,000 rows x 400 bytes > half of it
    assert cli._out_of_core(args)
    assert not cli._out_of_core(argparse.Namespace(**{**vars(args), "out_of_core": "never"}))
    assert not cli._out_of_core(argparse.Namespace(**{**vars(args), "reference": "baseline.csv"}))


def test_people_to_cells_equals_a_sorted_group_by_with_missing_values_last():
    rng = np.random.default_rng(11)
    n = 3000
    people = pd.DataFrame({
        "area": pd.Categorical(rng.choice(["Dudley", "Sandwell", None], n), categories=["Sandwell", "Dudley"]),  # reading order
        "dv": pd.array(rng.choice([0, 1, None], n), dtype="Int8"),  # "keep": a flag not recorded stays missing
        "band": rng.choice(["18-24", "25-34", "35+"], n),  # text, not a category
        "score": rng.choice([0.5, 1.5, np.nan], n),
        "reoffended": rng.integers(0, 2, n).astype("int8"),
        "expected": rng.random(n),
    })
    keys = ["area", "dv", "band", "score"]
    cells = people_to_cells(people, keys=keys)
    reference = people.assign(n=1, reoffended=people["reoffended"].astype("int64"), expected_variance=people["expected"] * (1 - people["expected"])) \
        .groupby(keys, observed=True, sort=True, dropna=False, as_index=False)[["n", "reoffended", "expected", "expected_variance"]].sum()
    reference["expected"] /= reference["n"]
    reference["expected_variance"] /= reference["n"]
    pd.testing.assert_frame_equal(cells, reference, check_exact=False, rtol=1e-12)
    assert cells["area"].isna().iloc[-1] and str(cells["dv"].dtype) == "Int8"


def test_kpi_rates_by_period_from_cells_equal_the_rows():
    from analysis import spc

    data = analysis.open_study()
    cells = study_cells(data)
    kpi = data.study.kpi
    rows = data.cohort.assign(kpi_period=analysis.periods.kpi_period_column(data.cohort, date=kpi.date, freq=kpi.freq)[0])
    for by, where in ((None, None), ("area", None), (None, "homeless")):
        a = spc.rates_by_period(rows, period="kpi_period", by=by, where=where)
        b = spc.rates_by_period(cells.cohort, period="kpi_period", by=by, where=where, trials="n")
        pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-12)
        assert b.attrs["n_left_out"] == a.attrs["n_left_out"]
    with pytest.raises(ValueError, match="must count the people"):
        spc.rates_by_period(cells.cohort.assign(reoffended=cells.cohort["n"] + 1), period="kpi_period", trials="n")


def test_people_rebuilt_from_cells_count_back_to_the_same_cells_in_a_shuffled_order():
    data = analysis.open_study()
    cells = study_cells(data).cohort
    people = people_from_cells(cells, seed=3)
    assert len(people) == len(data.cohort) and people["reoffended"].sum() == data.cohort["reoffended"].sum()
    keys = [c for c in cells.columns if c not in ("n", "reoffended", "expected", "expected_variance")]
    back = people_to_cells(people, keys=keys, expected=None)
    pd.testing.assert_frame_equal(back, cells.drop(columns=["expected", "expected_variance"]), check_dtype=False)
    cell_of_row = people.groupby(keys, observed=True, sort=False, dropna=False).ngroup()
    assert not cell_of_row.is_monotonic_increasing  # not sorted by cell: a greedy matcher sees a shuffled file
