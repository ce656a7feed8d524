"""The study file: its sections are checked, its defaults filled in, and a mapping file is a study file."""

from __future__ import annotations

import pytest

from analysis.errors import CohortError
from analysis.paths import DEFAULT_STUDY, REPO_ROOT
from analysis.study import Study, read_study, study_from_mapping


def test_defaults_say_nothing_about_any_place():
    study = read_study(None)
    assert study.outcome == "Proven reoffending within 12 months" and study.follow_up_months == 12
    assert study.published is None and not study.synthetic and study.area_label == "area"


def test_the_default_study_names_its_reference_and_is_synthetic():
    study = read_study(DEFAULT_STUDY)
    assert study.published == "black-country-2018" and study.synthetic
    assert study.resolve_extract().name == "cohort.csv" and study.area_plural == "local authorities"


def test_the_rearrest_example_study():
    study = read_study(REPO_ROOT / "examples" / "rearrest" / "study.toml")
    assert study.follow_up_months == 36 and study.event == "were rearrested"
    assert study.extra_flags == ("gang",) and study.flag_label("gang") == "Gang member"
    assert study.delimiter == ";" and study.decimal == ","
    assert study.adjust == ("sex", "age_band", "offence_group", "risk_score")


@pytest.mark.parametrize("label, plural", [("PUMA", "PUMAs"), ("local authority", "local authorities"), ("LDU", "LDUs"),
                                           ("borough", "boroughs"), ("address", "addresses")])
def test_area_plurals(label, plural):
    assert Study(area_label=label).area_plural == plural


def test_every_problem_in_a_study_file_is_reported_at_once():
    spec = {
        "study": {"titel": "x", "follow_up_months": "twelve", "published": "nowhere"},
        "model": {"adjust": "sex", "interactions": ["dv*area"]},
        "options": {"missing_flags": "maybe", "age_bands": [30, 18]},
        "filters": {},
    }
    with pytest.raises(CohortError) as info:
        study_from_mapping(spec, source="s.toml")
    text = str(info.value)
    for phrase in ("unknown key 'titel'", "follow_up_months should be int", "not a known published reference",
                   "adjust should be list", "dv*area", "missing_flags = 'maybe'", "age_bands", "unknown section(s) [filters]"):
        assert phrase in text, phrase


def test_a_mapping_file_is_a_study_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nLDU = "area"\n[values.reoffended]\nY = 1\n[options]\nmissing_flags = "keep"\n', encoding="utf-8")
    study = read_study(path)
    assert study.columns == {"LDU": "area"} and study.values == {"reoffended": {"Y": 1}} and study.missing_flags == "keep"


def test_blank_keys_and_bad_toml(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[values.offence_group]\n"" = "Not recorded"\n', encoding="utf-8")
    assert read_study(path).values["offence_group"] == {"": "Not recorded"}
    path.write_text("[study\n", encoding="utf-8")
    with pytest.raises(CohortError, match="not valid TOML"):
        read_study(path)
    with pytest.raises(CohortError, match="does not exist"):
        read_study(tmp_path / "nope.toml")


def test_round_trip_through_the_resolved_form():
    from analysis.study import study_from_dict

    study = read_study(REPO_ROOT / "examples" / "rearrest" / "study.toml")
    assert study_from_dict(study.to_dict()) == study


def test_the_kpi_section_is_read_with_its_defaults():
    spec = {"kpi": {"date": "start", "frequency": "month", "baseline": "2015-01", "extracted": "2018-03-31",
                    "measures": [{"label": "All"}, {"by": "area", "target_percent": 40}, {"flag": "dv", "improvement": "up"}]}}
    kpi = study_from_mapping(spec).kpi
    assert kpi.date == "start" and kpi.freq == "M" and kpi.baseline == "2015-01" and kpi.extracted == "2018-03-31"
    assert [m.chart for m in kpi.measures] == ["auto"] * 3
    assert [(m.label, m.by, m.flag, m.target, m.improvement) for m in kpi.measures] == [
        ("All", None, None, None, "down"), (None, "area", None, 0.4, "down"), (None, None, "dv", None, "up")]
    assert study_from_mapping({"kpi": {}}).kpi.measures[0].by is None  # no measures: the overall rate
    assert study_from_mapping({}).kpi is None


def test_every_problem_in_the_kpi_section_is_reported_at_once_with_its_fix():
    spec = {"kpi": {"frequncy": "quarter", "frequency": "fortnight", "extracted": "31/03/2018", "waiting_months": -1,
                    "measures": [{"flag": "gangs", "target_percent": 140, "improvement": "lower", "chart": "bar"},
                                 {"by": "area", "flag": "dv"}, {"target": 0.4}]}}
    with pytest.raises(CohortError) as info:
        study_from_mapping(spec, source="s.toml")
    text = str(info.value)
    for phrase in ("[kpi] has an unknown key 'frequncy'", "frequency = 'fortnight' is not a frequency", "'quarter'",
                   "extracted = '31/03/2018' is not a date", "YYYY-MM-DD", "waiting_months",
                   "flag = 'gangs' is not a flag", "declared in [flags]", "target_percent = 140 is not a percentage",
                   "improvement = 'lower' is not a direction", "has both by and flag",
                   "chart = 'bar' is not a chart", '"auto"',
                   "[kpi.measures 3] has an unknown key 'target'"):
        assert phrase in text, phrase


def test_a_declared_flag_can_be_a_kpi_and_the_kpi_survives_the_round_trip():
    from analysis.study import study_from_dict

    study = study_from_mapping({"flags": {"gang": "Gang member"},
                                "kpi": {"measures": [{"flag": "gang", "target_percent": 35.5, "chart": "xmr"}]}})
    assert study.kpi.measures[0].target == 0.355 and study.kpi.measures[0].chart == "xmr"
    assert study_from_dict(study.to_dict()) == study
