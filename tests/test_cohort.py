"""load_cohort: mapping, policies, and one clear CohortError for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import CohortError, load_cohort
from analysis.paths import DEFAULT_COHORT, SYNTHETIC_DIR
from analysis.schema import FLAGS, REQUIRED


def _problem(err: CohortError, column: str):
    matches = [p for p in err.problems if column in p.column]
    assert matches, f"no problem reported for {column}: {err}"
    return matches[0]


def test_loads_the_synthetic_default_csv_and_parquet_identically():
    csv = load_cohort(DEFAULT_COHORT)
    parquet = load_cohort(SYNTHETIC_DIR / "cohort.parquet")
    assert len(csv) == 16000 and set(REQUIRED) <= set(csv.columns)
    assert csv["reoffended"].dtype == np.int8
    assert isinstance(csv["area"].dtype, pd.CategoricalDtype)
    pd.testing.assert_series_equal(csv["reoffended"], parquet["reoffended"])
    np.testing.assert_allclose(csv["expected"], parquet["expected"], atol=1e-6)
    assert csv["expected"].between(0, 1).all()


def test_valid_small_file_round_trips(rows, write_csv):
    cohort = load_cohort(write_csv(rows))
    assert cohort["reoffended"].tolist() == rows["reoffended"].tolist()
    for flag in FLAGS:
        assert cohort[flag].tolist() == rows[flag].tolist()


def test_mapping_renames_recodes_and_derives(rows, write_csv, tmp_path):
    raw = rows.rename(columns={"reoffended": "Proven Reoffence", "area": "LDU", "sex": "Gender"})
    raw["Proven Reoffence"] = raw["Proven Reoffence"].map({1: "Y", 0: "N"})
    raw["Gender"] = raw["Gender"].map({"Male": "M", "Female": "F"})
    raw["homeless"] = raw["homeless"].map({1: "True", 0: "False"})
    raw["pct_days_employed"] = np.where(rows["unemployed"] == 1, 10.0, 90.0)
    raw = raw.drop(columns="unemployed")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        """
[columns]
"Proven Reoffence" = "reoffended"
LDU = "area"
Gender = "sex"

[values.reoffended]
Y = 1
N = 0

[values.sex]
M = "Male"
F = "Female"

[derive]
unemployed = "pct_days_employed < 50"
""",
        encoding="utf-8",
    )
    cohort = load_cohort(write_csv(raw), mapping)
    assert cohort["reoffended"].tolist() == rows["reoffended"].tolist()
    assert cohort["sex"].astype(str).tolist() == rows["sex"].tolist()
    assert cohort["homeless"].tolist() == rows["homeless"].tolist()
    assert cohort["unemployed"].tolist() == rows["unemployed"].tolist()


def test_derived_flag_is_not_recorded_where_its_input_is_missing(rows, write_csv):
    raw = rows.drop(columns="unemployed")
    raw["pct_days_employed"] = 80.0
    raw.loc[[2, 5], "pct_days_employed"] = np.nan
    path = write_csv(raw)
    kept = load_cohort(path, {"derive": {"unemployed": "pct_days_employed < 50"}}, missing_flags="keep")
    assert kept["unemployed"].isna().sum() == 2
    absent = load_cohort(path, {"derive": {"unemployed": "pct_days_employed < 50"}})
    assert absent.attrs["not_recorded"]["unemployed"] == 2
    assert (absent["unemployed"] == 0).all()


def test_missing_flag_policies(rows, write_csv):
    raw = rows.copy().astype(object)
    raw.loc[[1, 3, 4], "dv"] = None
    path = write_csv(raw)
    assert load_cohort(path)["dv"].isna().sum() == 0
    assert load_cohort(path, missing_flags="keep")["dv"].isna().sum() == 3
    with pytest.raises(CohortError) as info:
        load_cohort(path, missing_flags="error")
    problem = _problem(info.value, "dv")
    assert problem.n_rows == 3 and problem.rows == (2, 4, 5)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_numeric_person_ids_are_kept_as_text_and_a_repeat_is_found(rows, tmp_path, suffix):
    ids = rows.assign(person_id=np.arange(1000, 1000 + len(rows), dtype="int64"))
    path = tmp_path / f"ids.{suffix}"
    ids.to_csv(path, index=False) if suffix == "csv" else ids.to_parquet(path, index=False)
    cohort = load_cohort(path)
    assert cohort["person_id"].tolist() == [str(i) for i in range(1000, 1000 + len(rows))]  # as str(int) writes them
    twice = ids.copy()
    twice.loc[5, "person_id"] = 1003
    path = tmp_path / f"twice.{suffix}"
    twice.to_csv(path, index=False) if suffix == "csv" else twice.to_parquet(path, index=False)
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    p = _problem(info.value, "person_id")
    assert (p.n_rows, p.rows, p.examples) == (2, (4, 6), ("1003",))


def test_every_kind_of_bad_value_is_reported_at_once(rows, write_csv):
    bad = rows.copy().astype(object)
    bad.loc[[0, 7], "reoffended"] = "Y"
    bad.loc[3, "mental_health"] = 2
    bad.loc[[4, 5, 6], "expected"] = 45.0
    bad.loc[9, "sex"] = None  # categories are open (the extract's own labels), but every row needs one
    bad.loc[11, "offence_group"] = " "
    bad.loc[12, "person_id"] = bad.loc[13, "person_id"]
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(bad))
    err = info.value
    text = str(err)
    assert "6 problems" in text
    p = _problem(err, "reoffended")
    assert (p.n_rows, p.rows, p.examples) == (2, (1, 8), ("Y",))
    assert "[values.reoffended]" in p.fix
    assert _problem(err, "mental_health").rows == (4,)
    p = _problem(err, "expected")
    assert p.n_rows == 3 and "outside [0, 1]" in p.message and "percentage" in p.fix
    assert _problem(err, "sex").rows == (10,) and '"" = "Not recorded"' in _problem(err, "sex").fix
    assert _problem(err, "offence_group").rows == (12,)
    p = _problem(err, "person_id")
    assert p.n_rows == 2 and p.rows == (13, 14)
    frame = err.to_frame()
    assert list(frame.columns) == ["column", "message", "n_rows", "rows", "examples", "fix"]


def test_the_outcome_and_a_flag_are_required_and_named(rows, write_csv):
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(rows.drop(columns=["reoffended", *FLAGS])))
    outcome = _problem(info.value, "reoffended")
    assert "missing" in outcome.message and "[columns]" in outcome.fix
    flags = _problem(info.value, "(flags)")
    assert "no risk flag column" in flags.message and "[flags]" in flags.fix


def test_everything_but_the_outcome_and_one_flag_is_optional(rows, write_csv):
    cohort = load_cohort(write_csv(rows[["reoffended", "homeless"]]))
    assert list(cohort.columns[:2]) == ["reoffended", "homeless"] and cohort["period"].iloc[0] == "All people"
    assert cohort.attrs["flags"] == ["homeless"]


def test_open_categories_keep_the_extracts_labels_in_reading_order(rows, write_csv):
    raw = rows.copy()
    raw["area"] = np.resize(["10", "2", "1", "Area 9"], len(raw))
    raw["age_band"] = np.resize(["48 or older", "18-22", "23-27"], len(raw))
    raw["sex"] = np.resize(["M", "F", "X"], len(raw))
    cohort = load_cohort(write_csv(raw))
    assert list(cohort["area"].cat.categories) == ["1", "2", "10", "Area 9"]
    assert list(cohort["age_band"].cat.categories) == ["18-22", "23-27", "48 or older"]
    assert set(cohort["sex"].cat.categories) == {"M", "F", "X"}


def test_a_study_declares_extra_flags_model_columns_and_a_filter(rows, write_csv):
    raw = rows.copy()
    raw["Gang"] = np.resize(["Yes", "No"], len(raw))
    raw["Score"] = np.resize(["3", "7", "10"], len(raw))
    raw["Status"] = np.resize(["Active", "Active", "Transferred out"], len(raw))
    study = {"columns": {"Gang": "gang", "Score": "risk_score"}, "values": {"gang": {"Yes": 1, "No": 0}},
             "flags": {"gang": "Gang member"}, "filter": {"keep": "Status != 'Transferred out'"},
             "model": {"adjust": ["sex", "risk_score"]}}
    from analysis.cohort import open_study

    data = open_study(study, write_csv(raw))
    assert data.flags[-1] == "gang" and data.labels["gang"] == "Gang member"
    assert data.quality.rows_dropped == (raw["Status"] == "Transferred out").sum()
    assert data.cohort["risk_score"].dtype.kind == "f"
    bad = dict(study, model={"adjust": ["nope"], "flags": ["gang", "child_abuse"]})
    with pytest.raises(CohortError) as info:
        open_study(bad, write_csv(raw))
    assert "[model] adjust names a column that is not in the data" in str(info.value)
    assert "child_abuse" in str(info.value)


def test_blank_cells_are_recoded_with_an_empty_key_and_ages_are_banded(rows, write_csv):
    raw = rows.drop(columns="age_band").copy()
    raw["age"] = np.resize([17, 19, 24, 33, 61], len(raw))
    raw.loc[[0, 1], "offence_group"] = ""
    from analysis.cohort import open_study

    data = open_study({"values": {"offence_group": {"": "Not recorded"}}}, write_csv(raw))
    assert data.quality.blanks_recoded == {"offence_group": 2}
    assert data.cohort["offence_group"].iloc[0] == "Not recorded"
    assert list(data.cohort["age_band"].cat.categories) == ["under 18", "18-20", "21-24", "30-34", "50+"]


def test_missing_outcome_is_an_error(rows, write_csv):
    raw = rows.copy().astype(object)
    raw.loc[2, "reoffended"] = None
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(raw))
    assert "outcome is missing" in _problem(info.value, "reoffended").message


def test_reoffences_must_agree_with_reoffended(rows, write_csv):
    raw = rows.copy()
    raw.loc[0, "reoffences"] = 0 if raw.loc[0, "reoffended"] == 1 else 3
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(raw))
    assert _problem(info.value, "reoffences").rows == (1,)


@pytest.mark.parametrize(
    "content, suffix, phrase",
    [
        ("", ".csv", "empty"),
        ("reoffended,dv\n", ".csv", "no data rows"),
        ("not,a,parquet", ".parquet", "cannot be read"),
        ("x", ".xlsx", "cannot be opened"),
    ],
)
def test_empty_or_unreadable_files(tmp_path: Path, content: str, suffix: str, phrase: str):
    path = tmp_path / f"extract{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    assert phrase in str(info.value)
    assert "Traceback" not in str(info.value)


def test_missing_file_and_bad_mapping(tmp_path: Path, rows, write_csv):
    with pytest.raises(CohortError, match="does not exist"):
        load_cohort(tmp_path / "nope.csv")
    bad_toml = tmp_path / "m.toml"
    bad_toml.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(CohortError, match="not valid TOML"):
        load_cohort(write_csv(rows), bad_toml)
    with pytest.raises(CohortError, match="not in the file"):
        load_cohort(write_csv(rows), {"columns": {"Nope": "area"}})
    with pytest.raises(CohortError, match="'no_such_column', which is not a column") as info:
        load_cohort(write_csv(rows), {"derive": {"unemployed": "no_such_column < 3"}})
    assert _problem(info.value, "unemployed").fix.startswith("use one of the file's columns (person_id, period")


def test_categories_are_matched_case_insensitively(rows, write_csv):
    raw = rows.copy()
    raw["sex"] = raw["sex"].str.upper()
    cohort = load_cohort(write_csv(raw))
    assert set(cohort["sex"].astype(str)) <= {"Male", "Female"}


def test_the_readme_example_mapping_loads_a_matching_extract(rows, write_csv):
    from analysis.paths import REPO_ROOT

    raw = rows.rename(
        columns={
            "reoffended": "Proven Reoffence (Y/N)", "dv": "DV Perpetrator", "child_protection": "Child Protection",
            "mental_health": "Mental Health", "substance_misuse": "Substance Misuse", "homeless": "NFA", "area": "LDU",
            "sex": "Gender", "age_band": "Age Band", "offence_group": "Offence Group", "period": "Cohort",
            "expected": "OGRS3 1yr",
        }
    )
    raw["Proven Reoffence (Y/N)"] = raw["Proven Reoffence (Y/N)"].map({1: "Y", 0: "N"})
    raw["DV Perpetrator"] = raw["DV Perpetrator"].map({1: "Y", 0: "N"})
    raw["Gender"] = raw["Gender"].map({"Male": "M", "Female": "F"})
    raw["Days Employed Pct"] = np.where(raw.pop("unemployed") == 1, 20, 75)
    cohort = load_cohort(write_csv(raw), REPO_ROOT / "examples" / "mapping.toml")
    for column in ("reoffended", "dv", "unemployed", "homeless"):
        assert cohort[column].tolist() == rows[column].tolist()


def test_reoffences_that_are_not_whole_numbers_are_a_problem_not_a_crash(rows, write_csv):
    # a fractional count used to escape as a TypeError from astype("Int64") instead of a CohortError
    raw = rows.copy().astype(object)
    raw.loc[[4, 9], "reoffences"] = ["1.5", "x"]
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(raw))
    p = _problem(info.value, "reoffences")
    assert (p.n_rows, p.rows, p.examples) == (2, (5, 10), ("1.5", "x")) and "whole numbers" in p.message


def test_an_empty_extra_column_passes_through_instead_of_crashing(rows, write_csv):
    # an all-blank column has no categories; its (empty) blank mask was a float array and `~` raised a TypeError
    cohort = load_cohort(write_csv(rows.assign(notes="")))
    assert cohort["notes"].isna().all() and cohort["notes"].dtype == np.float64


def test_the_kpi_date_column_becomes_dates_and_bad_dates_are_named(rows, write_csv):
    from analysis.cohort import open_study

    raw = rows.copy()
    raw["Start"] = np.resize(["2015-01-31", "2015-04-02", ""], len(raw))
    study = {"columns": {"Start": "start"}, "kpi": {"date": "start"}}
    cohort = open_study(study, write_csv(raw)).cohort
    assert pd.api.types.is_datetime64_any_dtype(cohort["start"])
    assert cohort["start"].isna().sum() == (raw["Start"] == "").sum()  # a blank date is missing, not an error
    assert cohort["start"].dropna().dt.strftime("%Y-%m-%d").isin(["2015-01-31", "2015-04-02"]).all()
    raw["Start"] = np.resize(["2015-01-31", "31/01/2015"], len(raw))
    with pytest.raises(CohortError) as info:
        open_study(study, write_csv(raw))
    problem = _problem(info.value, "start")
    assert "not dates in the form YYYY-MM-DD" in problem.message and "31/01/2015" in str(info.value)
    with pytest.raises(CohortError, match=r"\[kpi\] date names a column the data do not have"):
        open_study({"kpi": {"date": "started"}}, write_csv(rows))


def test_the_default_study_tracks_kpis_by_quarter_from_its_start_dates():
    from analysis.cohort import open_study

    data = open_study()
    kpi = data.study.kpi
    assert kpi.date == "cohort_start_date" and kpi.freq == "Q" and kpi.baseline == "2014-10/2015-09"
    assert [(m.by, m.flag) for m in kpi.measures] == [(None, None), ("area", None), (None, "dv")]
    assert data.cohort["cohort_start_date"].dt.to_period("Q").nunique() == 8
