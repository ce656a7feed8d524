"""Paper 06, KPI tracking: the default data, a planted shift named in the text, degenerate series, and disclosure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cohort import open_study
from analysis.paper.kpi import MIN_POINTS, KpiPaper
from analysis.paper.text import SUPPRESSED
from analysis.results import analyse

SHIFT_EVENTS = [30, 31, 29, 30, 31, 29, 30, 34, 35, 34, 35, 34, 35, 34]
"""Events per 100 people in 14 months: 7 months below the centre line, then 7 above, none beyond the limits."""


def _months(events: list[int], *, n: int = 100, start: str = "2020-01", area: str = "North") -> list[dict]:
    rows = []
    for k, e in enumerate(events):
        first = (pd.Period(start, "M") + k).start_time
        for i in range(n):
            rows.append({"reoffended": int(i < e), "dv": int(i % 3 == 0), "sex": "Male" if i % 2 else "Female",
                         "area": area, "start": (first + pd.Timedelta(days=i % 28)).strftime("%Y-%m-%d")})
    return rows


def _paper(tmp_path_factory, rows: list[dict], kpi: dict) -> KpiPaper:
    path = tmp_path_factory.mktemp("kpi") / "extract.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return KpiPaper(analyse(open_study({"study": {"title": "Hand-built"}, "kpi": kpi}, path)))


@pytest.fixture(scope="module")
def default_paper() -> KpiPaper:
    return KpiPaper.open()


@pytest.fixture(scope="module")
def default_whole(default_paper):
    return default_paper.render()  # once: a paper numbers its tables and figures as it shows them


@pytest.fixture(scope="module")
def shift_paper(tmp_path_factory) -> KpiPaper:
    return _paper(tmp_path_factory, _months(SHIFT_EVENTS),
                  {"date": "start", "frequency": "month", "measures": [{"label": "Reoffending", "target_percent": 25}]})


def test_the_default_paper_tracks_every_kpi_of_the_study(default_paper, default_whole):
    text = default_whole.text()
    summary = default_paper.kpi_summary()
    assert list(dict.fromkeys(summary["kpi"])) == [m.label for m in default_paper.study.kpi.measures]
    assert summary["latest_period"].eq("2016Q3").all() and len(summary) == 1 + 4 + 1  # overall, four areas, dv
    assert summary["variation"].isin(["common cause", "special cause improving", "special cause concerning"]).all()
    for phrase in ("p-chart", "Figure 1.", "Table 1.", "The latest complete quarter is 2016Q3",
                   "8 quarters", "Against a case-mix model fitted on the period October 2014 to September 2015",
                   "Dudley", "Walsall", "Disclosure control",
                   # a KPI by area: one sentence and one table for the four areas, not a sentence per area
                   "No local authority shows special cause variation in any quarter",
                   "Proven reoffending rate by local authority: the latest quarter against each local authority's own process",
                   "Period: October 2014 to September 2016, 8 quarters"):
        assert phrase in text, phrase
    overall = summary.iloc[0]
    assert overall["assurance"] == "consistently failing" and "the target is consistently missed" in text
    # the front matter counts the people in the series, not those of one period
    assert "People: 16,000" in text


def test_every_figure_has_alt_text_and_a_number(default_whole):
    from analysis.paper.blocks import Figure

    def figures(block):
        if isinstance(block, Figure):
            yield block
        for child in getattr(block, "blocks", []):
            yield from figures(child)

    found = list(figures(default_whole))
    assert [f.number for f in found] == list(range(1, len(found) + 1)) and len(found) >= 4
    assert all(f.alt and f.png[:4] == b"\x89PNG" for f in found)


def test_a_planted_shift_is_named_on_its_points(shift_paper):
    text = shift_paper.render().text()
    chart = shift_paper.charted[0].charts[0]
    assert chart["special_cause"].all() and not chart["outside_limits"].any()
    assert chart.loc[7:, "rule"].eq("shift (high)").all() and chart.loc[:6, "rule"].eq("shift (low)").all()
    assert "Special cause variation at 14 months" in text
    for month in ("2020-08", "2021-02"):
        assert f"{month} (shift (high))" in text
    assert "2020-01 (shift (low))" in text
    reading = shift_paper.kpi_summary().iloc[0]
    assert reading["variation"] == "special cause concerning"  # higher is worse by default
    assert reading["assurance"] == "hit and miss"  # the target lies between the limits
    assert ("The latest month, 2021-02, is 34.0% against a centre line of 32.2%. Special cause variation of a concerning nature: "
            "the latest value is significantly higher than the process usually produces. The target is not reliably met (target "
            "25.0%, lower is better). The target lies between the process limits") in text


def _large_months(rates: list[float], *, n: int) -> pd.DataFrame:
    """``n`` people a month with the given rates, built column-wise (tens of thousands of rows)."""
    parts = []
    for k, rate in enumerate(rates):
        first = (pd.Period("2020-01", "M") + k).start_time
        i = np.arange(n)
        parts.append(pd.DataFrame({"reoffended": (i < round(rate * n)).astype(int), "dv": (i % 3 == 0).astype(int),
                                   "sex": np.where(i % 2, "Male", "Female"), "area": "North",
                                   "start": (first + pd.to_timedelta(i % 28, unit="D")).strftime("%Y-%m-%d")}))
    return pd.concat(parts, ignore_index=True)


LARGE_RATES = [0.30, 0.325, 0.28, 0.31, 0.275, 0.30, 0.32, 0.29]
"""Eight months of 6,000 people: ordinary variation of two or three points, which binomial limits (+/- 1.8 points) flag."""


def test_large_denominators_are_drawn_on_an_xmr_chart_whose_limits_are_the_hand_computed_ones(tmp_path_factory):
    path = tmp_path_factory.mktemp("kpi") / "large.csv"
    _large_months(LARGE_RATES, n=6000).to_csv(path, index=False)
    paper = KpiPaper(analyse(open_study({"study": {"title": "Large"}, "kpi": {"date": "start", "frequency": "month"}}, path)))
    whole = paper.render()
    text, markup = whole.text(), str(whole.html())
    measure = paper.charted[0]
    chart = measure.charts[0]
    assert measure.kind == "xmr" and chart["chart"].eq("XmR").all()
    # by hand: mean 30%; moving ranges 2.5, 4.5, 3, 3.5, 2.5, 2, 3 points -> mean 3 points; limits 30 +/- 2.66 x 3 points
    assert np.isclose(chart["centre"][0], 0.30) and np.isclose(chart["mean_moving_range"][0], 0.03)
    assert np.isclose(chart["upper"][0], 0.3798) and np.isclose(chart["lower"][0], 0.2202)
    assert not chart["special_cause"].any()
    for phrase in ("Each is drawn on an XmR chart", "a median of 6,000", "Figure 1. XmR chart: Proven reoffending",
                   "XmR limits come from the variation between consecutive months"):
        assert phrase in text, phrase
    assert "from the moving range of the rates between consecutive months" in markup and "p-chart limits assume" not in text
    assert "XmR chart of the rates" in text  # the methods table


def test_the_study_file_can_ask_for_either_chart(tmp_path_factory):
    asked = _paper(tmp_path_factory, _months(SHIFT_EVENTS),
                   {"date": "start", "frequency": "month", "measures": [{"label": "Reoffending", "chart": "xmr"}]})
    text = asked.render().text()
    assert asked.charted[0].kind == "xmr" and "The study file asks for it." in text
    path = tmp_path_factory.mktemp("kpi") / "large.csv"
    _large_months(LARGE_RATES, n=6000).to_csv(path, index=False)
    forced = KpiPaper(analyse(open_study({"study": {"title": "Large"}, "kpi": {
        "date": "start", "frequency": "month", "measures": [{"label": "Reoffending", "chart": "p"}]}}, path)))
    chart = forced.charted[0].charts[0]
    # binomial limits 30% +/- 3 sqrt(.21 / 6000) = +/- 1.77 points: 32.5%, 28%, 27.5% and 32% fall outside
    assert chart["chart"].eq("p").all() and list(chart["outside_limits"]) == [False, True, True, False, True, False, True, False]
    assert "Each is drawn on a p-chart" in forced.render().text()


def test_one_period_gives_a_plain_sentence(tmp_path_factory):
    paper = _paper(tmp_path_factory, _months([30]), {"date": "start", "frequency": "month"})
    text = paper.render().text()
    assert "The data hold one month (2020-01), so there is no series to track" in text
    assert "There is only one month here, so there is no trend to adjust." in text
    assert paper.kpi_summary().empty


def test_too_few_periods_for_limits_and_no_target(tmp_path_factory):
    paper = _paper(tmp_path_factory, _months([30, 35]), {"date": "start", "frequency": "month"})
    text = paper.render().text()
    assert f"2 months with rates that may be published, fewer than the {MIN_POINTS} a chart needs" in text
    assert "Figure 1. p-chart" not in text
    three = _paper(tmp_path_factory, _months([30, 35, 31]), {"date": "start", "frequency": "month"})
    text = three.render().text()
    assert "No target is set for this KPI in the study file, so there is no assurance reading." in text
    assert three.kpi_summary()["assurance"].isna().all()


def test_without_dates_the_periods_are_used_and_a_missing_column_is_said(tmp_path_factory):
    rows = _months(SHIFT_EVENTS[:4])
    for i, row in enumerate(rows):
        row["period"] = "2020" if i < 200 else "2021"
    paper = _paper(tmp_path_factory, rows, {"measures": [{}, {"by": "offence_group"}]})
    text = paper.render().text()
    assert "taken from the cohort's periods" in text
    assert "The data have no column \u201coffence_group\u201d, so this KPI cannot be tracked by it." in text


def test_a_small_cell_is_suppressed_and_cannot_be_recovered_from_the_totals(tmp_path_factory):
    events = [30, 31, 29, 30, 31, 29]
    rows = _months(events, area="North") + _months(events, area="South")
    small = _months([20] * 6, n=50, area="East")
    # East has 5 people in the third month only: a primary suppression
    small = [r for r in small if not r["start"].startswith("2020-03")] + _months([2], n=5, start="2020-03", area="East")
    paper = _paper(tmp_path_factory, rows + small, {"date": "start", "frequency": "month", "measures": [{}, {"by": "area"}]})
    by_area = paper.pub[paper.measures[1].table]
    march = by_area[by_area["period"] == "2020-03"]
    assert march.loc[march["area"] == "East", "n"].isna().all()
    hidden = march["n"].isna().sum()
    assert hidden >= 2  # a complementary cell: the published total minus the others leaves at least two unknowns
    overall = paper.pub[paper.measures[0].table]
    total = overall.loc[overall["period"] == "2020-03", "n"]
    if total.notna().all():
        assert float(total.iloc[0]) - march["n"].dropna().sum() > 5  # the remainder is shared by two hidden cells
    whole = paper.render()
    assert SUPPRESSED in whole.text() and "A suppressed cell ([c]) is left out of the chart." in str(whole.html())


def test_the_kpi_notebook_joins_a_report_only_when_the_study_has_a_kpi_section(tmp_path):
    from analysis.build import papers_for
    from analysis.study import Kpi, Study

    for name in ("01_published_position", "02_cohort", "06_kpi_tracking"):
        (tmp_path / f"{name}.ipynb").write_text("{}", encoding="utf-8")
    assert [p.stem for p in papers_for(Study(), directory=tmp_path)] == ["02_cohort"]
    assert [p.stem for p in papers_for(Study(kpi=Kpi()), directory=tmp_path)] == ["02_cohort", "06_kpi_tracking"]


@pytest.mark.parametrize("frequency", ["month", "quarter", "year", "financial quarter", "financial year"])
def test_kpi_periods_from_distinct_dates_equal_a_label_per_row(frequency):
    # periods cut once per distinct date and spread by code: the same labels, categories and order as cutting every row
    from analysis.paper.kpi import kpi_periods
    from analysis.study import Kpi

    rng = np.random.default_rng(11)
    dates = pd.Series(rng.choice(pd.date_range("2018-11-20", "2021-02-10", freq="D"), 2000))
    dates[rng.random(2000) < 0.05] = pd.NaT
    cohort = pd.DataFrame({"start": dates, "period": pd.Categorical(["p"] * 2000)})
    frame, _, freq = kpi_periods(cohort, Kpi(date="start", frequency=frequency))
    per_row = dates.dt.to_period(freq)
    want = pd.Categorical(per_row.astype("string").where(per_row.notna()),
                          categories=[str(p) for p in sorted(per_row.dropna().unique())])
    pd.testing.assert_series_equal(frame["kpi_period"], pd.Series(want, name="kpi_period"))
    # without dates, the cohort's period categories present, in their order, from the codes
    periods = pd.Series(pd.Categorical(rng.choice(["b", "a"], 50), categories=["c", "b", "a"]))
    periods[3] = np.nan
    frame, _, freq = kpi_periods(pd.DataFrame({"period": periods}), Kpi())
    assert freq is None and list(frame["kpi_period"].cat.categories) == ["b", "a"]
    assert frame["kpi_period"].astype(object).fillna("-").tolist() == periods.astype(object).fillna("-").tolist()


def test_adjusted_trend_from_casemix_cells_equals_the_per_person_computation():
    # the paper fits and scores cells of people with the same case mix and period; the same O/E as scoring every person
    from analysis.expected import expected_probabilities
    from analysis.observed_expected import observed_vs_expected
    from analysis.paper.kpi import _casemix_cells

    rng = np.random.default_rng(5)
    n = 4000
    rows = pd.DataFrame({
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"]),
        "age_band": pd.Categorical(rng.choice(["18-24", "25-39", "40+"], n), categories=["18-24", "25-39", "40+", "none"]),
        "score": rng.choice([0.5, 1.5, 2.5, 3.5], n),  # a score entering linearly, not categorical
        "kpi_period": pd.Categorical(rng.choice(["2020Q1", "2020Q2", "2020Q3"], n), categories=["2020Q1", "2020Q2", "2020Q3"]),
        "period": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b"]),
    })
    rows.loc[rng.random(n) < 0.03, "kpi_period"] = np.nan  # people without a KPI period are still in the baseline's fit
    rows.loc[rng.random(n) < 0.02, "age_band"] = np.nan    # a missing case mix: left out of the fit, unscored
    logit = -1 + 0.4 * (rows["sex"] == "Male") + 0.3 * rows["score"]
    rows["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int8")
    keys = ["sex", "age_band", "score", "kpi_period", "period"]

    cells = _casemix_cells(rows, keys, trials="people")
    want = (rows.groupby(keys, observed=True, dropna=False).agg(people=("reoffended", "size"), reoffended=("reoffended", "sum"))
            .reset_index())
    merged = cells.merge(want, on=keys, how="outer", suffixes=("", "_want"), indicator=True)
    assert merged["_merge"].eq("both").all() and len(cells) == len(want)
    assert (merged["people"] == merged["people_want"]).all() and (merged["reoffended"] == merged["reoffended_want"]).all()
    for col in keys:
        assert cells[col].dtype == rows[col].dtype

    casemix = ["sex", "age_band", "score"]
    for column, baseline in (("period", "a"), ("kpi_period", "2020Q1")):
        fit_rows = rows[rows[column] == baseline]
        work_rows = rows[rows["kpi_period"].notna()]
        e_rows = expected_probabilities(fit_rows, work_rows, casemix=casemix)
        t_rows = observed_vs_expected(work_rows, "kpi_period", expected=e_rows, confidence=0.95, compare_rest=False)
        fit_cells = cells[cells[column] == baseline]
        work_cells = cells[cells["kpi_period"].notna()]
        e_cells = expected_probabilities(fit_cells, work_cells, casemix=casemix, trials="people")
        t_cells = observed_vs_expected(work_cells, "kpi_period", expected=e_cells, confidence=0.95, compare_rest=False,
                                       trials="people")
        assert e_cells.attrs["n_fit"] == e_rows.attrs["n_fit"] == int(fit_rows["age_band"].notna().sum())
        assert t_cells["n"].tolist() == t_rows["n"].tolist() and t_cells["observed"].tolist() == t_rows["observed"].tolist()
        for col in ("expected", "variance", "ratio", "ratio_lower", "ratio_upper"):
            np.testing.assert_allclose(t_cells[col], t_rows[col], rtol=1e-9)
        assert t_cells["significance"].tolist() == t_rows["significance"].tolist()


def test_a_baseline_the_cells_cannot_fit_reads_as_the_per_person_fit(tmp_path_factory):
    # one sex only in the baseline month: the fit on cells fails (IndexError inside irls) where the fit on the people fails
    # with a ValueError; the paper falls back to the people, so it still prints a sentence instead of raising
    rows = _months(SHIFT_EVENTS[:10])
    for r in rows[:100]:
        r["sex"] = "Male"
    paper = _paper(tmp_path_factory, rows, {"date": "start", "frequency": "month", "baseline": "2020-01",
                                            "measures": [{"label": "Reoffending"}]})
    assert "case-mix model could not be fitted" in str(paper.adjusted_problem)
    assert "could not be fitted" in paper.render().text()
