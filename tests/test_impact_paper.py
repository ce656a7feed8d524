"""Paper 07, the impact of an intervention: the embedded effect recovered on both examples, the study file's
[impact] checks, the treatment's validation, degenerate extracts, and disclosure."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.cohort import open_study
from analysis.errors import CohortError
from analysis.paper.impact import ImpactPaper
from analysis.paths import EXAMPLES_DIR
from analysis.results import analyse
from analysis.study import study_from_mapping


@pytest.fixture(scope="module")
def default_paper() -> ImpactPaper:
    return ImpactPaper.open()


@pytest.fixture(scope="module")
def default_whole(default_paper):
    return default_paper.render()


@pytest.fixture(scope="module")
def rearrest_paper() -> ImpactPaper:
    return ImpactPaper.open(EXAMPLES_DIR / "rearrest" / "study.toml")


def test_the_default_paper_recovers_the_embedded_effect(default_paper, default_whole):
    from analysis.synthetic import TRUE_ATT

    est = default_paper.estimates().set_index("key")
    assert list(est.index) == ["matching", "weighting"]
    for key in est.index:
        assert est.loc[key, "lower"] < TRUE_ATT < est.loc[key, "upper"], key
        assert est.loc[key, "upper"] < 0  # the interval excludes 0
    assert est.loc["matching", "n_participants"] == 453 and est.loc["weighting", "n_participants"] == 455
    text = default_whole.text()
    for phrase in ("For every 100 people who took part, between", "fewer reoffended than in a similar comparison group",
                   "the resettlement programme", "Figure 1.", "Table 1.", "10% rule", "Common support",
                   "Disclosure control", "Propensity score",
                   "Impact of an intervention"):
        assert phrase in text, phrase
    assert "Weighting: inverse probability weighting (ATT)" in str(default_whole.html())  # the result table's note names both methods
    # the raw comparison points the other way: confounding, which the paper states
    assert "54.5% of those who took part reoffended against 41.9%" in text


def test_the_rearrest_paper_speaks_its_own_words_and_recovers_its_effect(rearrest_paper):
    from analysis.examples.rearrest import TRUE_ATT

    est = rearrest_paper.estimates().set_index("key")
    for key in est.index:
        assert est.loc[key, "lower"] < TRUE_ATT < est.loc[key, "upper"], key
    text = rearrest_paper.render().text()
    assert "fewer were rearrested than in a similar comparison group" in text
    assert "the housing programme" in text
    for foreign in ("resettlement", "proven reoffending", "Proven reoffending", "local authorit"):
        assert foreign not in text, foreign


def test_balance_after_matching_is_within_the_10_percent_rule(default_paper):
    b = default_paper.balance_table
    assert set(b["sample"]) == {"before", "after matching", "after weighting"}
    assert (b.loc[b["sample"] != "before", "smd"].abs() <= 0.1).all()
    assert (b.loc[b["sample"] == "before", "smd"].abs() > 0.1).any()  # participation is confounded
    assert default_paper.caveats() == []


def _extract(tmp_path, rows: list[dict]) -> str:
    path = tmp_path / "extract.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def _rows(n: int, treated) -> list[dict]:
    return [{"reoffended": int(i % 3 == 0), "dv": int(i % 4 == 0), "sex": "Male" if i % 2 else "Female",
             "took_part": treated(i)} for i in range(n)]


@pytest.mark.parametrize("treated, words", [(lambda i: 0, "took part"), (lambda i: 1, "did not take part")])
def test_a_degenerate_extract_gives_a_sentence_not_a_crash(tmp_path, treated, words):
    path = _extract(tmp_path, _rows(200, treated))
    spec = {"study": {"title": "Hand-built"}, "impact": {"treatment": "took_part", "label": "the scheme"}}
    paper = ImpactPaper(analyse(open_study(spec, path)))
    text = paper.render().text()
    assert f"Nobody in the cohort \u201cAll people\u201d {words} in the scheme" in text
    assert paper.estimates().empty


def test_nobody_matched_within_the_caliper_gives_a_sentence(tmp_path):
    # participants are all flagged dv and nobody else is: no two scores are equal, and a tiny caliper leaves no match
    rows = [{"reoffended": int(i % 3 == 0), "dv": int(i < 40), "sex": "Male" if i % 2 else "Female",
             "took_part": int(i < 40)} for i in range(400)]
    path = _extract(tmp_path, rows)
    spec = {"study": {"title": "Hand-built"}, "impact": {"treatment": "took_part", "caliper": 1e-9,
                                                         "covariates": ["dv", "sex"]}}
    paper = ImpactPaper(analyse(open_study(spec, path)))
    text = paper.render().text()
    assert getattr(paper, "matched", None) is None
    assert "so there is no matched estimate" in text or "could not be fitted" in text


def test_a_study_without_impact_gives_a_sentence(tmp_path):
    path = _extract(tmp_path, _rows(100, lambda i: i % 2))
    paper = ImpactPaper(analyse(open_study({"study": {"title": "Hand-built"}}, path)))
    assert "no [impact] section" in paper.render().text()


@pytest.mark.parametrize("section, fragment", [
    ({"label": "x"}, "[impact] has no treatment"),
    ({"treatment": "t", "caliper": 0}, "caliper = 0 is not a positive number"),
    ({"treatment": "t", "covariates": []}, "covariates should be a list of column names"),
    ({"treatment": "t", "covariates": ["t"]}, "covariates include the treatment"),
    ({"treatment": "t", "replacement": "yes"}, "replacement should be bool"),
    ({"treatment": "t", "matching": "nearest"}, "unknown key 'matching'"),
    ({"treatment": "t", "seed": -1}, "seed = -1 is negative"),
])
def test_the_impact_section_is_checked_with_a_fix(section, fragment):
    with pytest.raises(CohortError) as err:
        study_from_mapping({"impact": section})
    problems = [p for p in err.value.problems if fragment in p.message]
    assert problems and all(p.fix for p in problems), [p.message for p in err.value.problems]


def test_the_treatment_must_be_0_1_like_a_flag(tmp_path):
    rows = _rows(50, lambda i: "maybe" if i == 3 else i % 2)
    path = _extract(tmp_path, rows)
    with pytest.raises(CohortError) as err:
        open_study({"impact": {"treatment": "took_part"}}, path)
    (problem,) = [p for p in err.value.problems if p.column == "took_part"]
    assert problem.message == "values are not 0/1" and "maybe" in problem.examples and "[values.took_part]" in problem.fix
    with pytest.raises(CohortError) as err:
        open_study({"impact": {"treatment": "programme"}}, path)
    assert any("[impact] treatment names a column the data do not have" in p.message for p in err.value.problems)


def test_the_treatment_is_recoded_through_columns_and_values(tmp_path):
    rows = [dict(r, Programme="Y" if r.pop("took_part") else "N") for r in _rows(60, lambda i: i % 2)]
    path = _extract(tmp_path, rows)
    data = open_study({"columns": {"Programme": "hp"}, "values": {"hp": {"Y": 1, "N": 0}},
                       "impact": {"treatment": "hp"}}, path)
    assert data.cohort["hp"].dtype == "int8" and data.cohort["hp"].sum() == 30


def test_few_participants_hidden_bars_of_the_score_histogram_cannot_be_recovered(tmp_path):
    """An intruder written here: a group's hidden bars add up to its published total minus its drawn bars.

    With 40 participants spread over ten bands of the score some bars are under the threshold. For k hidden bars
    and a remainder R, each hidden bar lies in [low, R - (k - 1) low], where low is 0 when zeros are suppressed too
    and 1 when zeros are published: it must leave at least threshold + 1 possible values, or the bar is pinned down.
    """
    from analysis.paper.impact import _BANDS, _SUPPORT
    from analysis.paths import DEFAULT_COHORT, DEFAULT_STUDY

    cohort = pd.read_csv(DEFAULT_COHORT)
    few = pd.concat([cohort[cohort["took_part"] == 0], cohort[cohort["took_part"] == 1].head(40)])
    path = _extract(tmp_path, few.to_dict("records"))
    paper = ImpactPaper(analyse(open_study(DEFAULT_STUDY, path)))
    html = str(paper.render().html())
    threshold = paper.pub.threshold
    bands, support = paper.pub[_BANDS], paper.pub[_SUPPORT]
    assert bands["n"].isna().any()  # the case is exercised: some bars are hidden
    for group in ("participants", "comparison"):
        total = support.loc[support["group"] == group, "n"]
        assert total.notna().all()
        bars = bands.loc[bands["group"] == group, "n"]
        hidden = int(bars.isna().sum())
        assert hidden != 1, group  # one hidden bar would be the total minus the drawn ones
        if hidden:
            remainder = float(total.iloc[0]) - float(bars.dropna().sum())
            low = 0 if paper.pub.zeros == "suppress" else 1
            assert remainder - hidden * low + 1 >= threshold + 1, (group, hidden, remainder)
        true = paper.pub.entries[_BANDS].true
        true_bars = true.loc[true["group"] == group, "n"]
        assert int(true_bars.sum()) == int(paper.support_table.loc[paper.support_table["group"] == group, "n"].iloc[0])
    assert "hidden by disclosure control" in html and "not drawn" in html
    # every count the paper shows is at least the threshold, or hidden
    for name in paper.pub.entries:
        entry = paper.pub.entries[name]
        shown = entry.published[list(entry.counts)].stack().dropna()
        assert ((shown == 0) | (shown >= threshold)).all(), name


def test_no_single_persons_score_is_published(default_paper, default_whole):
    """The lowest and highest propensity score are each one person's: the paper gives the span of the bands drawn."""
    markup = str(default_whole.html())
    support = default_paper.support_table
    for low, high in zip(support["score_min"], support["score_max"]):  # the range as it was printed before: 0.015 to 0.456
        assert f"{low:.3f} to" not in markup and f"to {high:.3f}" not in markup and f"to {high:.2f}<" not in markup
    assert "Scores (bands drawn)" in markup and "each is one person" in markup
    edges = default_paper.score_edges
    assert f"{edges[0]:.2f} to " in markup
