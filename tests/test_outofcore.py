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
from analysis.periods import kpi_period_column
from conftest import make_rows

FLAGS = list(analysis.FLAGS)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return make_rows(3000, seed=4)


def with_variance(cohort: pd.DataFrame) -> pd.DataFrame:
    """The rows with ``_v = p(1-p)`` of their expected probability (summed per cell as ``expected_variance_sum``)."""
    return cohort.assign(_v=cohort["expected"] * (1 - cohort["expected"]))


def groupby_cells(cohort: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("area", "sex", "age_band", "offence_group", "period") if c in cohort] + [f for f in FLAGS if f in cohort]
    return cohort.assign(_v=cohort["expected"] * (1 - cohort["expected"])).groupby(keys, observed=True, sort=True, as_index=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"), expected_sum=("expected", "sum"), expected_variance_sum=("_v", "sum"))


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


def write(frame: pd.DataFrame, path) -> None:
    """A bad extract as a CSV, or as a Parquet file of text (blank where a value is missing)."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.astype(str).replace({"nan": "", "None": ""}).to_parquet(path, index=False)


def same_problems(path, study) -> list:
    """The out-of-core problems, after asserting they are exactly the in-memory ones (column, rows, examples, fix, order)."""
    with pytest.raises(CohortError) as in_memory:
        analysis.load_cohort(path, study=study)
    with pytest.raises(CohortError) as out_of_core:
        cohort_cells(path, study)
    assert out_of_core.value.problems == in_memory.value.problems
    return out_of_core.value.problems


IMPACT_STUDY = {"columns": {"Took part": "took_part", "Start": "start"},
                "values": {"took_part": {"Y": 1, "N": 0, "unknown": ""}},
                "kpi": {"date": "start"}, "impact": {"treatment": "took_part"}}


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_bad_treatment_and_bad_kpi_dates_are_reported_as_load_cohort_reports_them(rows, tmp_path, suffix):
    bad = rows.astype({"dv": object}).copy()
    bad["Took part"] = np.resize(["Y", "N", "N", ""], len(bad)).astype(object)  # a blank treatment is left out, not wrong
    bad.loc[[6, 30, 31], "Took part"] = "2"
    bad.loc[[9, 50], "Took part"] = "maybe"
    bad.loc[11, "Took part"] = "unknown"  # recoded to a blank: missing, not wrong
    bad["Start"] = np.resize(["2015-01-31", "2015-04-02 10:30", ""], len(bad)).astype(object)
    bad.loc[[4, 5], "Start"] = "31/01/2015"
    bad.loc[8, "Start"] = "2015-13-01"
    bad.loc[12, "dv"] = "yes"
    path = tmp_path / f"bad.{suffix}"
    write(bad, path)
    problems = same_problems(path, IMPACT_STUDY)
    assert [(p.column, p.n_rows) for p in problems] == [("dv", 1), ("start", 3), ("took_part", 5)]
    assert problems[2].examples == ("2", "maybe") and problems[2].rows == (7, 10, 31, 32, 51)
    assert problems[1].examples == ("31/01/2015", "2015-13-01")


def test_a_treatment_stored_as_numbers_is_judged_as_load_cohort_judges_it(rows, tmp_path):
    bad = rows.copy()
    bad["took_part"] = np.resize([1.0, 0.0, np.nan], len(bad))
    bad.loc[[3, 4], "took_part"] = 2.0
    bad.loc[7, "took_part"] = 0.5
    bad["start"] = pd.to_datetime("2015-01-01") + pd.to_timedelta(np.arange(len(bad)) % 300, unit="D")
    path = tmp_path / "typed.parquet"
    bad.to_parquet(path, index=False)
    study = {"kpi": {"date": "start"}, "impact": {"treatment": "took_part"}}
    problems = same_problems(path, study)
    assert [(p.column, p.n_rows, p.examples) for p in problems] == [("took_part", 3, ("2", "0.5"))]


def test_columns_the_study_names_but_the_file_lacks_are_problems_as_in_memory(rows, tmp_path):
    path = tmp_path / "extract.csv"
    rows.to_csv(path, index=False)
    problems = same_problems(path, {"kpi": {"date": "started"}, "impact": {"treatment": "programme"}})
    assert [p.column for p in problems] == ["started", "programme"]
    problems = same_problems(path, {"impact": {"treatment": "dv"}})
    assert problems[0].message == "[impact] treatment is the outcome or a flag"


def test_every_problem_is_found_even_without_an_outcome_column(rows, tmp_path):
    bad = rows.drop(columns="reoffended").astype({"dv": object, "area": object})
    bad.loc[[2, 3], "dv"] = "2"
    bad.loc[5, "area"] = ""
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    problems = same_problems(path, {"columns": {"Outcome": "reoffended"}, "values": {"gang": {"Y": 1}}})
    assert [p.column for p in problems] == ["Outcome", "gang", "reoffended", "dv", "area"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_cells_carry_the_treatment_and_count_as_a_groupby_of_the_rows(rows, tmp_path, suffix):
    raw = rows.copy()
    raw["Took part"] = np.resize(["Y", "N", "N", "", "unknown"], len(raw))
    raw["Start"] = "2015-01-31"
    path = tmp_path / f"good.{suffix}"
    write(raw, path)
    cells = cohort_cells(path, IMPACT_STUDY)
    assert cells.attrs["treatment"] == "took_part" and str(cells["took_part"].dtype) == "Int8"
    # independent of both paths: the file's own rows, grouped by pandas
    treated = raw["Took part"].map({"Y": 1, "N": 0}).astype("Int8")
    expected = raw.assign(took_part=treated).groupby(["area", "sex", "took_part"], dropna=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"))
    got = cells.astype({"area": str, "sex": str}).groupby(["area", "sex", "took_part"], dropna=False)[["n", "reoffended"]].sum()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # and the cohort load_cohort reads from the same file, grouped by every key of the cells
    cohort = analysis.load_cohort(path, study=IMPACT_STUDY)
    cohort["kpi_period"] = kpi_period_column(cohort, date="start", freq="Q")[0]  # people counted by KPI period, not date
    keys = ["area", "sex", "age_band", "offence_group", "period", *FLAGS, "took_part", "kpi_period"]
    reference = with_variance(cohort).groupby(keys, observed=True, sort=True, dropna=False, as_index=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"), expected_sum=("expected", "sum"),
        expected_variance_sum=("_v", "sum"))
    pd.testing.assert_frame_equal(cells, reference, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
    on_cells = analysis.fit_flags_model(cells, trials="n")
    np.testing.assert_allclose(on_cells.params, analysis.fit_flags_model(cohort).params, rtol=0, atol=1e-10)


def test_a_treatment_recorded_for_everyone_is_int8_as_in_memory(rows, tmp_path):
    path = tmp_path / "extract.parquet"
    rows.assign(took_part=np.resize([0, 1, 1], len(rows))).to_parquet(path, index=False)
    study = {"impact": {"treatment": "took_part"}}
    cells = cohort_cells(path, study)
    cohort = analysis.load_cohort(path, study=study)
    assert cells["took_part"].dtype == cohort["took_part"].dtype == np.int8
    assert cells.groupby("took_part")["n"].sum().to_dict() == cohort["took_part"].value_counts().to_dict()


def test_a_nan_expected_probability_in_parquet_is_missing_as_in_memory(rows, tmp_path):
    # Parquet's min and max leave NaN out: DuckDB must not fold isnan() to false from them
    import pyarrow as pa
    import pyarrow.parquet as pq

    expected = rows["expected"].to_numpy().copy()
    expected[[3, 9]] = np.nan
    expected[4] = 1.5
    table = pa.Table.from_pandas(rows, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("expected"), "expected", pa.array(expected, from_pandas=False))
    path = tmp_path / "nan.parquet"
    pq.write_table(table, path)
    problems = same_problems(path, None)
    assert [(p.message, p.n_rows, p.rows) for p in problems] == [
        ("probabilities are outside [0, 1]", 1, (5,)), ("values are missing", 2, (4, 10))]


def test_expected_text_that_is_not_written_plainly_is_judged_as_in_memory(rows, tmp_path):
    bad = rows.astype({"expected": object})
    bad.loc[3, "expected"] = "nan"  # DuckDB reads NaN, pandas a value that is not a number
    bad.loc[5, "expected"] = "0x1A"
    bad.loc[[6, 40], "expected"] = "1_0"  # DuckDB reads 10
    bad.loc[7, "expected"] = "Infinity"
    bad.loc[8, "expected"] = "1.5\u00a0"  # white space SQL does not trim: 1.5, outside
    bad.loc[10, "expected"] = "\u00a0"  # blank
    path = tmp_path / "odd.csv"
    bad.to_csv(path, index=False)
    problems = same_problems(path, None)
    assert [(p.message, p.n_rows, p.examples) for p in problems] == [
        ("values are not numbers", 4, ("nan", "0x1A", "1_0")),
        ("probabilities are outside [0, 1]", 2, ("Infinity", "1.5")), ("values are missing", 1, ())]


def test_odd_text_that_is_a_probability_after_all_enters_the_sums(rows, tmp_path):
    raw = rows.astype({"expected": object})
    raw.loc[[2, 3], "expected"] = "0.25\u00a0"
    path = tmp_path / "extract.csv"
    raw.to_csv(path, index=False)
    assert_cells_equal(cohort_cells(path), analysis.load_cohort(path))


def test_decimal_commas_are_read_only_where_load_cohort_reads_them(rows, tmp_path):
    raw = rows.astype({"expected": object})
    raw["expected"] = rows["expected"].map(lambda v: f"{v:.4f}".replace(".", ","))
    path = tmp_path / "commas.csv"
    raw.to_csv(path, index=False, sep=";")  # no [options] decimal: detected, as in memory
    assert_cells_equal(cohort_cells(path), analysis.load_cohort(path))
    raw.loc[[4, 6], "expected"] = "0.5"  # a point among commas: the column is not read as decimal commas
    raw.loc[9, "expected"] = "abc"
    raw.to_csv(path, index=False, sep=";")
    problems = same_problems(path, None)
    assert problems[0].message == "values are not numbers" and problems[0].n_rows == len(raw) - 2


def test_the_default_study_runs_out_of_core_with_its_kpi_date_and_treatment():
    from analysis.paths import DEFAULT_STUDY, SYNTHETIC_DIR

    path = SYNTHETIC_DIR / "cohort.parquet"
    cells = cohort_cells(path, DEFAULT_STUDY)
    cohort = analysis.load_cohort(path, study=DEFAULT_STUDY)
    kpi = analysis.read_study(DEFAULT_STUDY).kpi
    cohort["kpi_period"] = kpi_period_column(cohort, date=kpi.date, freq=kpi.freq)[0]
    assert cells.attrs["kpi_freq"] == kpi.freq and cells["kpi_period"].nunique() > cells["period"].nunique()
    treatment = cells.attrs["treatment"]
    assert treatment is not None and treatment in cohort
    keys = [c for c in cells.columns if c not in ("n", "reoffended", "expected_sum", "expected_variance_sum")]
    reference = with_variance(cohort).groupby(keys, observed=True, sort=True, dropna=False, as_index=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"), expected_sum=("expected", "sum"),
        expected_variance_sum=("_v", "sum"))
    pd.testing.assert_frame_equal(cells, reference, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
    assert cells.groupby(treatment)["n"].sum().to_dict() == cohort[treatment].value_counts().to_dict()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_reoffences_and_repeated_people_are_reported_as_in_memory(rows, tmp_path, suffix):
    bad = rows.astype({"reoffences": object, "person_id": object})
    bad.loc[[3, 7], "reoffences"] = "-1"
    bad.loc[8, "reoffences"] = "1.5"
    bad.loc[9, "reoffences"] = "x"
    bad.loc[[20, 21, 22], "person_id"] = "P0005"  # with row 6: four rows of one person in one period
    bad.loc[[30, 31], "person_id"] = ""  # no id: not a repeat
    path = tmp_path / f"bad.{suffix}"
    write(bad, path)
    problems = same_problems(path, None)
    assert [(p.column, p.n_rows, p.examples) for p in problems] == [
        ("reoffences", 4, ("-1", "1.5", "x")), ("person_id, period", 4, ("P0005",))]
    agree = rows.copy()
    agree.loc[[2, 4], "reoffences"] = np.where(agree.loc[[2, 4], "reoffended"] == 1, 0, 3)  # disagrees with the outcome
    write(agree, path)
    problems = same_problems(path, None)
    assert [(p.column, p.n_rows, p.rows) for p in problems] == [("reoffences", 2, (3, 5))]


def test_the_model_section_is_checked_as_in_memory(rows, tmp_path):
    raw = rows.assign(risk=np.resize(["0.2", "0.7", ""], len(rows)), band=np.resize(["high", "low"], len(rows)))
    path = tmp_path / "extract.csv"
    raw.to_csv(path, index=False)
    study = {"model": {"flags": ["dv", "gang"], "adjust": ["risk", "band", "score", "area"], "expected": ["dv", "sex"],
                       "interactions": ["dv:area", "dv:band", "homeless:offence"]}}
    problems = same_problems(path, study)
    assert [p.column for p in problems] == ["gang", "risk", "band", "score", "dv", "offence"]
    assert problems[1].n_rows == (len(raw) + 2) // 3


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_an_extract_without_rows_is_said_as_in_memory(rows, tmp_path, suffix):
    path = tmp_path / f"empty.{suffix}"
    write(rows.iloc[:0], path)
    assert same_problems(path, None)[0].message.endswith("no data rows")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("policy", ["absent", "keep", "error"])
def test_recodes_spellings_and_every_missing_flags_policy_agree_with_load_cohort(rows, tmp_path, suffix, policy):
    raw = rows.astype({"homeless": object, "area": object, "sex": object, "dv": object})
    raw.loc[::9, "homeless"] = ""
    raw.loc[::11, "area"] = ""  # recoded to a label of its own
    raw["sex"] = raw["sex"].str.upper()  # the toolkit's own codes in another case
    raw.loc[::13, "dv"] = " TRUE "
    raw.loc[::17, "dv"] = "1.0"
    path = tmp_path / f"x.{suffix}"
    write(raw, path)
    study = {"values": {"area": {"": "Not recorded"}}}
    if policy == "error":
        with pytest.raises(CohortError) as in_memory:
            analysis.load_cohort(path, study=study, missing_flags=policy)
        with pytest.raises(CohortError) as out_of_core:
            cohort_cells(path, study, missing_flags=policy)
        assert out_of_core.value.problems == in_memory.value.problems
        return
    cells = cohort_cells(path, study, missing_flags=policy)
    cohort = analysis.load_cohort(path, study=study, missing_flags=policy)
    keys = [c for c in cells.columns if c not in ("n", "reoffended", "expected_sum", "expected_variance_sum")]
    reference = with_variance(cohort).groupby(keys, observed=True, sort=True, dropna=False, as_index=False).agg(
        n=("reoffended", "size"), reoffended=("reoffended", "sum"), expected_sum=("expected", "sum"),
        expected_variance_sum=("_v", "sum"))
    pd.testing.assert_frame_equal(cells, reference, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
    assert cells.attrs["not_recorded"] == cohort.attrs["not_recorded"]
    assert cells["sex"].cat.categories.tolist() == ["Male", "Female"]
