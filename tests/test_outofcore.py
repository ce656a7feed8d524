"""Cells from a file by DuckDB (analysis.outofcore) against the in-memory path on the same file.

References: a pandas groupby of the cohort :func:`analysis.load_cohort` reads
from the same file with the same study; the problems it reports for the same
bad file; and ``fit_flags_model`` on that cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.errors import CohortError
from analysis.outofcore import cohort_cells
from conftest import make_rows

FLAGS = list(analysis.FLAGS)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return make_rows(3000, seed=4)


def groupby_cells(cohort: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("area", "sex", "age_band", "offence_group", "period") if c in cohort] + [f for f in FLAGS if f in cohort]
    return cohort.groupby(keys, observed=True, sort=True, as_index=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"), expected_sum=("expected", "sum"))


def assert_cells_equal(cells: pd.DataFrame, cohort: pd.DataFrame) -> None:
    expected = groupby_cells(cohort)
    assert cells.columns.tolist() == expected.columns.tolist()
    pd.testing.assert_frame_equal(cells, expected, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
    for column in ("area", "sex", "age_band", "offence_group", "period"):
        assert cells[column].cat.categories.tolist() == cohort[column].cat.categories.tolist()
    assert cells["n"].sum() == len(cohort) == cells.attrs["rows"]


def test_parquet_cells_equal_a_groupby_of_the_loaded_cohort(rows, tmp_path):
    path = tmp_path / "extract.parquet"
    rows.to_parquet(path, index=False)
    cells = cohort_cells(path, memory_limit="200MB", threads=1)
    assert_cells_equal(cells, analysis.load_cohort(path))


def test_semicolon_csv_with_renames_and_recodes(rows, tmp_path):
    raw = rows.rename(columns={"reoffended": "Reoffended (Y/N)", "dv": "DV flag"})
    raw["Reoffended (Y/N)"] = raw["Reoffended (Y/N)"].map({1: "Y", 0: "N"})
    raw["expected"] = raw["expected"].map(lambda v: f"{v:.4f}".replace(".", ","))
    raw["homeless"] = raw["homeless"].astype(object)
    raw.loc[::7, "homeless"] = ""  # not recorded: 0 under missing_flags = "absent"
    path = tmp_path / "extract.csv"
    raw.to_csv(path, index=False, sep=";")
    study = {"columns": {"Reoffended (Y/N)": "reoffended", "DV flag": "dv"},
             "values": {"reoffended": {"Y": 1, "N": 0}}, "options": {"delimiter": ";", "decimal": ","}}
    cells = cohort_cells(path, study)
    cohort = analysis.load_cohort(path, study=study)
    assert_cells_equal(cells, cohort)
    assert cells.attrs["not_recorded"] == cohort.attrs["not_recorded"] and cells.attrs["not_recorded"]["homeless"] == 429


def test_the_model_from_cells_is_the_model_on_the_cohort(rows, tmp_path):
    path = tmp_path / "extract.parquet"
    rows.to_parquet(path, index=False)
    cohort = analysis.load_cohort(path)
    on_rows = analysis.fit_flags_model(cohort)
    on_cells = analysis.fit_flags_model(cohort_cells(path), trials="n")
    np.testing.assert_allclose(on_cells.params, on_rows.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(on_cells.cov, on_rows.cov, rtol=0, atol=1e-10)
    assert on_cells.nobs == on_rows.nobs and on_cells.notes == on_rows.notes


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_every_problem_is_reported_as_load_cohort_reports_it(rows, tmp_path, suffix):
    bad = rows.astype({"reoffended": object, "dv": object, "expected": object, "area": object}).copy()
    bad.loc[[3, 10, 11], "dv"] = "2"
    bad.loc[12, "dv"] = "yes"
    bad.loc[[5, 40], "reoffended"] = ""
    bad.loc[[7, 8, 9, 20, 21, 22], "area"] = ""
    bad.loc[14, "expected"] = "abc"
    bad.loc[[15, 16], "expected"] = "1.5"
    bad.loc[17, "expected"] = ""
    path = tmp_path / f"bad.{suffix}"
    if suffix == "csv":
        bad.to_csv(path, index=False)
    else:
        bad.astype(str).replace({"nan": ""}).to_parquet(path, index=False)
    with pytest.raises(CohortError) as in_memory:
        analysis.load_cohort(path)
    with pytest.raises(CohortError) as out_of_core:
        cohort_cells(path)
    assert out_of_core.value.problems == in_memory.value.problems
    assert len(out_of_core.value.problems) == 6


def test_study_features_not_yet_out_of_core_are_refused_in_words(rows, tmp_path):
    path = tmp_path / "extract.parquet"
    rows.to_parquet(path, index=False)
    with pytest.raises(CohortError, match=r"does not support \[derive\] and \[filter\] yet") as err:
        cohort_cells(path, {"derive": {"unemployed": "0"}, "filter": {"keep": "sex == 'Male'"}})
    assert "load_cohort" in err.value.problems[0].fix


def test_a_glob_of_parts_is_one_extract(rows, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    rows.iloc[:1000].to_parquet(folder / "part-0.parquet", index=False)
    rows.iloc[1000:].to_parquet(folder / "part-1.parquet", index=False)
    whole = tmp_path / "extract.parquet"
    rows.to_parquet(whole, index=False)
    cells = cohort_cells(folder / "*.parquet")
    pd.testing.assert_frame_equal(cells, cohort_cells(whole), check_exact=False, rtol=0, atol=1e-9)
    assert cells.attrs["rows"] == len(rows)


def test_an_unreadable_file_is_a_problem_in_words(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not a parquet file")
    with pytest.raises(CohortError, match="DuckDB could not read it") as err:
        cohort_cells(path)
    assert err.value.problems[0].column == "(file)"
