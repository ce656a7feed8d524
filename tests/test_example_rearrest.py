"""The embedded rearrest example: reproducible, shaped as promised, and carrying its true model.

Independent of the toolkit's loader: the extract is read with plain pandas and
recoded by hand the way ``examples/rearrest/study.toml`` says.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.examples.rearrest import EXAMPLE_DIR, generate_extract, true_log_odds, write_example

EXTRACT = EXAMPLE_DIR / "extract.csv"
MANIFEST = EXAMPLE_DIR / "manifest.json"
STUDY = EXAMPLE_DIR / "study.toml"

TEXT_COLUMNS = (
    "Sex", "Age_At_Release", "Offence_Category", "Supervision_Status", "Supervision_Level",
    "Prior_DV_Arrest", "MH_Condition", "Gang_Member", "Rearrested_Within_3yrs",
)
DRUG_TESTS = ("Positive_Tests_THC", "Positive_Tests_Cocaine", "Positive_Tests_Meth")
AGE_BANDS = ["18-22", "23-27", "28-32", "33-37", "38-42", "43-47", "48 or older"]
OFFENCES = {"Property", "Violent/Non-Sex", "Violent/Sex", "Drug", "Other"}
FLAGS = ["dv", "mental_health", "substance_misuse", "unemployed", "gang"]
ADJUST = "risk_score + C(age_band) + C(sex, Treatment('Male')) + C(offence_group, Treatment('Property'))"

# The true model as documented in examples/rearrest/README.md (log-odds; references:
# 18-22, Male, Property, area 1). Typed here, not imported, so the documentation is checked too.
TRUE = {
    "dv": np.log(1.3), "mental_health": np.log(1.4), "substance_misuse": np.log(1.8),
    "unemployed": np.log(1.6), "gang": np.log(2.0), "risk_score": 0.30,
    "C(age_band)[T.23-27]": -0.10, "C(age_band)[T.28-32]": -0.25, "C(age_band)[T.33-37]": -0.40,
    "C(age_band)[T.38-42]": -0.55, "C(age_band)[T.43-47]": -0.75, "C(age_band)[T.48 or older]": -1.05,
    "C(sex, Treatment('Male'))[T.Female]": -0.30,
    "C(offence_group, Treatment('Property'))[T.Violent/Non-Sex]": -0.15,
    "C(offence_group, Treatment('Property'))[T.Violent/Sex]": -0.70,
    "C(offence_group, Treatment('Property'))[T.Drug]": 0.10,
    "C(offence_group, Treatment('Property'))[T.Other]": -0.25,
}
TRUE_AREA = {2: -0.10, 3: 0.05, 4: 0.15, 5: -0.05, 6: -0.15, 7: 0.10, 8: 0.00, 9: -0.10, 10: 0.10,
             11: 0.70, 12: -0.05, 13: 0.05, 14: -0.10, 15: 0.00, 16: -0.10}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(EXTRACT, sep=";", decimal=",", encoding="utf-8", dtype={c: str for c in TEXT_COLUMNS})


def recode(raw: pd.DataFrame) -> pd.DataFrame:
    """The study file's [filter], [columns], [values] and [derive], done by hand."""
    kept = raw[raw["Supervision_Status"] != "Transferred out"]
    return pd.DataFrame(
        {
            "person_id": kept["ID"],
            "reoffended": kept["Rearrested_Within_3yrs"].map({"Yes": 1, "No": 0}),
            "dv": kept["Prior_DV_Arrest"].map({"Y": 1, "N": 0}),
            "mental_health": kept["MH_Condition"].map({"TRUE": 1, "FALSE": 0}),
            "substance_misuse": (kept[list(DRUG_TESTS)] > 0).any(axis=1).astype(int),
            "unemployed": (kept["Pct_Days_Employed"] < 0.5).astype(int),
            "gang": kept["Gang_Member"].map({"Yes": 1, "No": 0}).fillna(0).astype(int),  # missing_flags = "absent"
            "risk_score": kept["Risk_Score"],
            "area": kept["Residence_Area"],
            "sex": kept["Sex"].map({"M": "Male", "F": "Female"}),
            "age_band": kept["Age_At_Release"],
            "offence_group": kept["Offence_Category"].fillna("Not recorded"),
        }
    ).reset_index(drop=True)


@pytest.fixture(scope="module")
def cohort(raw) -> pd.DataFrame:
    return recode(raw)


# --------------------------------------------------------------------------- reproducible


def test_committed_files_match_their_manifest_and_a_fresh_run(tmp_path):
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["generator"] == "python -m analysis.examples.rearrest"
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((EXAMPLE_DIR / name).read_bytes()).hexdigest() == digest
    if manifest["numpy"] != np.__version__ or manifest["pandas"] != pd.__version__:
        pytest.skip(f"committed extract made with numpy {manifest['numpy']} / pandas {manifest['pandas']}; random streams may differ")
    fresh = write_example(out_dir=tmp_path, seed=manifest["seed"])
    assert fresh == manifest["sha256"]
    assert (tmp_path / "extract.csv").read_bytes() == EXTRACT.read_bytes()
    assert (tmp_path / "manifest.json").read_bytes() == MANIFEST.read_bytes()


def test_generation_is_deterministic_and_the_seed_matters():
    first, second = generate_extract(), generate_extract()
    pd.testing.assert_frame_equal(first, second)
    assert not generate_extract(seed=1)["Rearrested_Within_3yrs"].equals(first["Rearrested_Within_3yrs"])


def test_documented_true_model_is_the_generators():
    generator = true_log_odds()
    documented = {**TRUE, **{f"C(area)[T.{a}]": v for a, v in TRUE_AREA.items()}}
    assert generator.keys() == documented.keys()
    for term, value in documented.items():
        assert generator[term] == pytest.approx(value), term


# --------------------------------------------------------------------------- the file's shape


def test_file_format_semicolons_decimal_comma_utf8_small():
    data = EXTRACT.read_bytes()
    assert len(data) < 1_000_000
    text = data.decode("utf-8")
    assert not text.startswith("\ufeff") and "\r" not in text
    header, first = text.splitlines()[:2]
    assert header.count(";") == 18 and "," not in header
    employed = [line.split(";")[15] for line in text.splitlines()[1:]]
    assert all(re.fullmatch(r"[01],\d\d", v) for v in employed)  # "0,45", never "0.45"


def test_columns_are_the_systems_not_the_toolkits(raw):
    assert list(raw.columns) == [
        "ID", "Residence_Area", "Sex", "Age_At_Release", "Offence_Category", "Supervision_Status",
        "Supervision_Level", "Risk_Score", "Prior_Arrests", "Prior_DV_Arrest", "MH_Condition", "Gang_Member",
        *DRUG_TESTS, "Pct_Days_Employed", "Rearrested_Within_3yrs", "Release_Date",
        "Housing_Programme",
    ]
    canonical = {"reoffended", "dv", "child_protection", "mental_health", "substance_misuse", "homeless",
                 "unemployed", "area", "sex", "age_band", "age", "offence_group", "period", "expected",
                 "reoffences", "person_id"}
    assert not canonical & set(raw.columns)
    lowered = " ".join(raw.columns).lower()
    # no period column (one cohort); since issue 12 a release date (Release_Date), the KPI paper's date
    for absent in ("period", "cohort", "year", "child", "protection", "homeless", "accommodation", "nfa"):
        assert absent not in lowered, absent
    assert [c for c in raw.columns if "date" in c.lower()] == ["Release_Date"]


def test_rows_ids_outcome(raw):
    assert 5_500 <= len(raw) <= 6_500
    assert raw["ID"].is_unique and pd.api.types.is_integer_dtype(raw["ID"])
    assert raw["ID"].is_monotonic_increasing
    assert set(raw["Rearrested_Within_3yrs"]) == {"Yes", "No"}
    assert 0.50 <= raw["Rearrested_Within_3yrs"].eq("Yes").mean() <= 0.60


def test_four_of_six_flags_as_the_system_codes_them(raw, cohort):
    assert set(raw["Prior_DV_Arrest"]) == {"Y", "N"}
    assert set(raw["MH_Condition"]) == {"TRUE", "FALSE"}
    for column in DRUG_TESTS:
        assert pd.api.types.is_integer_dtype(raw[column]) and raw[column].min() == 0
    assert pd.api.types.is_float_dtype(raw["Pct_Days_Employed"])
    assert raw["Pct_Days_Employed"].between(0, 1).all()
    for flag in ("dv", "mental_health", "substance_misuse", "unemployed", "gang"):
        assert 0.05 < cohort[flag].mean() < 0.70, flag


def test_gang_is_blank_only_for_some_women(raw):
    blank = raw["Gang_Member"].isna()
    assert set(raw.loc[~blank, "Gang_Member"]) == {"Yes", "No"}
    assert blank.sum() > 100
    assert (raw.loc[blank, "Sex"] == "F").all()
    women = raw["Sex"] == "F"
    assert 0 < blank[women].mean() < 1


def test_own_age_bands_sex_offence_blanks(raw):
    assert sorted(raw["Age_At_Release"].unique()) == AGE_BANDS
    assert set(raw["Sex"]) == {"M", "F"}
    offence = raw["Offence_Category"]
    assert set(offence.dropna()) == OFFENCES
    assert 0.03 <= offence.isna().mean() <= 0.05


def test_risk_score_is_1_to_10_and_strongly_predictive(raw):
    score = raw["Risk_Score"]
    assert pd.api.types.is_integer_dtype(score) and sorted(score.unique()) == list(range(1, 11))
    rate = raw["Rearrested_Within_3yrs"].eq("Yes").groupby(score).mean()
    assert rate.is_monotonic_increasing
    assert rate[10] - rate[1] > 0.5


def test_numeric_areas_unequal_one_small(raw, cohort):
    area = raw["Residence_Area"]
    assert pd.api.types.is_integer_dtype(area)
    codes = sorted(area.unique())
    assert len(codes) >= 12 and max(codes) >= 10
    assert sorted(map(str, codes)) != [str(c) for c in codes]  # text sorting would be wrong
    sizes = cohort["area"].value_counts()
    assert sizes.min() < 60 and sizes.max() > 5 * sizes.min()
    assert (sizes.drop(sizes.idxmin()) >= 60).all()  # exactly one small area


def test_filter_column_and_no_period(raw, cohort):
    status = raw["Supervision_Status"]
    assert set(status) == {"Completed", "Active", "Transferred out"}
    assert 0.01 <= status.eq("Transferred out").mean() <= 0.05
    assert len(cohort) == status.ne("Transferred out").sum()


def test_flags_co_occur_with_each_other_and_the_risk_score(cohort):
    corr = cohort[[*FLAGS, "risk_score"]].corr()
    assert corr.loc["substance_misuse", "mental_health"] > 0.1
    assert corr.loc["substance_misuse", "unemployed"] > 0.1
    assert corr.loc["dv", "substance_misuse"] > 0.05
    for flag in ("dv", "substance_misuse", "unemployed", "gang"):
        assert corr.loc[flag, "risk_score"] > 0.05, flag


# --------------------------------------------------------------------------- the study file agrees


def test_study_file_recodes_give_the_hand_recoded_cohort(raw, cohort):
    """Apply study.toml mechanically (rename, recode, pandas-evaluated derive and filter) and compare."""
    study = tomllib.loads(STUDY.read_text(encoding="utf-8"))
    assert (STUDY.parent / study["study"]["extract"]).resolve() == EXTRACT.resolve()
    assert study["study"]["synthetic"] is True and study["study"]["follow_up_months"] == 36
    assert study["options"] == {"delimiter": ";", "decimal": ",", "encoding": "utf-8", "missing_flags": "absent"}

    frame = raw.copy()
    keep = frame.eval(study["filter"]["keep"], engine="python")
    derived = {name: frame.eval(expr, engine="python").astype(int) for name, expr in study["derive"].items()}
    frame = frame[keep].rename(columns=study["columns"])
    for name, values in derived.items():
        frame[name] = values[keep]
    for column, recode_map in study["values"].items():
        text = frame[column].fillna("")  # the key "" recodes blank cells
        frame[column] = text.map(lambda v, m=recode_map: m.get(v, np.nan if v == "" else v))
    frame["gang"] = frame["gang"].fillna(0).astype(int)  # missing_flags = "absent"
    frame = frame.reset_index(drop=True)

    for column in cohort.columns:
        pd.testing.assert_series_equal(
            frame[column].astype(object), cohort[column].astype(object), check_names=False, obj=column
        )
    assert set(study["model"]["flags"]) == set(FLAGS)
    assert study["model"]["adjust"] == ["sex", "age_band", "offence_group", "risk_score"]
    assert study["flags"]["gang"] == "Gang member"


# --------------------------------------------------------------------------- the true model is recovered


def _check_in_interval(fit, truth: dict[str, float]) -> list[str]:
    interval = fit.conf_int(alpha=0.01)
    return [
        f"{term}: true {value:+.3f}, 99% CI [{interval.loc[term, 0]:+.3f}, {interval.loc[term, 1]:+.3f}]"
        for term, value in truth.items()
        if not interval.loc[term, 0] <= value <= interval.loc[term, 1]
    ]


def test_study_model_recovers_the_true_flag_and_case_mix_effects(cohort):
    fit = smf.logit(f"reoffended ~ {' + '.join(FLAGS)} + {ADJUST}", cohort).fit(disp=0)
    assert set(TRUE) <= set(fit.params.index)
    assert not _check_in_interval(fit, TRUE)


def test_full_model_recovers_the_area_effects(cohort):
    fit = smf.logit(f"reoffended ~ {' + '.join(FLAGS)} + {ADJUST} + C(area)", cohort).fit(disp=0)
    truth = {**TRUE, **{f"C(area)[T.{a}]": v for a, v in TRUE_AREA.items()}}
    assert not _check_in_interval(fit, truth)


def test_area_11_is_clearly_above_its_case_mix(cohort):
    fit = smf.logit(f"reoffended ~ {' + '.join(FLAGS)} + {ADJUST}", cohort).fit(disp=0)
    frame = cohort.assign(expected=fit.predict(cohort))
    by_area = frame.groupby("area")[["reoffended", "expected"]].sum()
    ratio = by_area["reoffended"] / by_area["expected"]
    assert ratio.idxmax() == 11 and ratio[11] > 1.15
    # clearly: more than 3 standard errors above 1 (binomial variance of the observed count)
    variance = (frame["expected"] * (1 - frame["expected"])).groupby(frame["area"]).sum()
    assert (by_area.loc[11, "reoffended"] - by_area.loc[11, "expected"]) / np.sqrt(variance[11]) > 3
    # the crude rates differ by case mix: area 3 (higher-risk mix) has a higher crude rate than area 6
    crude = cohort.groupby("area")["reoffended"].mean()
    assert crude[3] > crude[6]


MAIN_EXTRACT_SHA256 = "79ac6da77bd6903a100fbb6b6f21784f5fed1aa6d1ad713909e5be79ea5e6121"
"""examples/rearrest/extract.csv before Release_Date was added (main at d7afb51): the dates must change no other column."""


PRE_IMPACT_EXTRACT_SHA256 = "655d7b0cd213f1033f10af42d734de02de3fc364a0c676d71e958682b255df86"
"""examples/rearrest/extract.csv before Housing_Programme was added (main at d1976d9)."""


def test_the_release_dates_change_no_other_column():
    lines = EXTRACT.read_bytes().split(b"\n")
    assert lines[0].endswith(b";Release_Date;Housing_Programme")
    without = b"\n".join(line.rsplit(b";", 2)[0] if line else line for line in lines)
    assert hashlib.sha256(without).hexdigest() == MAIN_EXTRACT_SHA256


def test_the_housing_programme_changes_no_other_column_and_embeds_a_known_effect():
    from analysis.examples.rearrest import IMPACT_COVARIATES, TRUE_ATT, true_att

    lines = EXTRACT.read_bytes().split(b"\n")
    without = b"\n".join(line.rsplit(b";", 1)[0] if line else line for line in lines)
    assert hashlib.sha256(without).hexdigest() == PRE_IMPACT_EXTRACT_SHA256
    raw = pd.read_csv(EXTRACT, sep=";", decimal=",", keep_default_na=False)
    assert set(raw["Housing_Programme"]) == {"Y", "N"}
    assert true_att(extract=raw)["att"] == pytest.approx(TRUE_ATT, abs=1e-12)
    assert IMPACT_COVARIATES == ("sex", "age_band", "substance_misuse", "unemployed")


def test_the_example_tracks_the_rearrest_rate_by_quarter_of_release():
    from analysis.cohort import open_study

    data = open_study(EXAMPLE_DIR / "study.toml")
    assert data.study.kpi.freq == "Q" and [m.flag for m in data.study.kpi.measures] == [None, "gang"]
    assert data.cohort["release_date"].dt.to_period("Q").nunique() == 12
