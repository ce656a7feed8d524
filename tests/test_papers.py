"""The papers on extracts shaped nothing like the default: degenerate data get a sentence, not a crash;
labels from the data are text, never markup; the summary quotes the other papers' numbers."""

from __future__ import annotations

import html as _html
import re

import numpy as np
import pandas as pd
import pytest

from analysis import load_cohort
from analysis.cohort import open_study
from analysis.paper import CohortPaper, ObservedExpectedPaper, RiskFlagsPaper, SummaryPaper
from analysis.paths import DEFAULT_COHORT
from analysis.results import analyse
from analysis.schema import FLAGS

PAPERS = (CohortPaper, RiskFlagsPaper, ObservedExpectedPaper, SummaryPaper)


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    """1,500 people from each period of the default cohort, as text (like an analyst's CSV)."""
    cohort = load_cohort(DEFAULT_COHORT)
    sample = cohort.groupby("period", observed=True, group_keys=False).sample(1500, random_state=3)
    return sample.drop(columns=["ogrs3", "age", "previous_sanctions", "age_first_sanction", "reoffences"]).astype(
        {c: object for c in sample.select_dtypes("category").columns})


def _papers(frame: pd.DataFrame, tmp_path, study: dict | None = None, name: str = "x.csv", only: tuple[str, ...] = ()):
    """The study's results and its papers (those numbered in ``only``, or all): each paper costs seconds, so a
    test builds the ones it reads."""
    path = tmp_path / name
    frame.to_csv(path, index=False)
    data = open_study(study or {}, path)
    results = analyse(data)
    return results, {cls.number: cls(results) for cls in PAPERS if not only or cls.number in only}


def _visible(section) -> str:
    """The text a reader sees (tags dropped, entities decoded)."""
    return _html.unescape(re.sub(r"<[^>]+>", " ", str(section.html())))


def _render(papers) -> dict[str, str]:
    out = {number: _visible(paper.render()) for number, paper in papers.items()}
    for number, text in out.items():
        for bad in ("nan%", "NaN", "<NA>", " None", "Traceback"):
            assert bad not in text, f"paper {number} shows {bad!r}"
    return out


def test_every_flag_zero_gets_a_sentence(base, tmp_path):
    frame = base.copy()
    for flag in FLAGS:
        frame[flag] = 0
    results, papers = _papers(frame, tmp_path, only=("02", "03"))
    assert results.flags == [] and set(results.flags_left_out) == set(FLAGS)
    text = _render(papers)
    assert "No flag has both values in the period" in text["03"]
    assert "no one in the period has it" in text["02"]
    assert "“Domestic violence perpetrator”" not in text["03"]  # named only as left out, never as analysed


def test_a_single_area_and_a_single_period(base, tmp_path):
    frame = base[base["period"] == "2015-10/2016-09"].copy()
    frame["area"] = "Dudley"
    results, papers = _papers(frame, tmp_path, only=("03", "04"))
    assert results.reference_period is None and results.areas == ["Dudley"]
    text = _render(papers)
    assert "holds one area (Dudley), so there is nothing to compare it with" in text["04"]
    assert "There is no baseline period" in text["03"]
    assert "Does the association differ by area" not in text["03"] and "differ by age band" in text["03"]


def test_an_area_under_the_threshold_is_suppressed_everywhere(base, tmp_path):
    frame = base.copy()
    current = frame.index[frame["period"] == "2015-10/2016-09"]
    frame.loc[current[:7], "area"] = "Tiny"
    results, papers = _papers(frame, tmp_path, only=("02", "04"))
    text = _render(papers)
    for number in ("02", "04"):
        assert "[c]" in text[number]
        row = re.search(r"Tiny\s+([^\n]*)", text[number])
        assert row and "[c]" in row.group(1)
    log = papers["04"].pub.details()
    assert (log["location"].str.contains("Tiny")).any()


def test_a_flag_everyone_has_is_named_once_as_left_out(base, tmp_path):
    frame = base.copy()
    frame["homeless"] = 1
    results, papers = _papers(frame, tmp_path, only=("03",))
    assert results.flags_left_out == {"homeless": "everyone in the period has it"}
    text = _render(papers)
    assert "everyone in the period has it" in text["03"]
    assert "“Homeless”" not in text["03"]  # never written about as if analysed


def test_an_extract_without_areas_or_case_mix(base, tmp_path):
    frame = base[["reoffended", "dv", "mental_health", "period"]].copy()
    results, papers = _papers(frame, tmp_path, {"study": {"area_label": "PUMA"}}, only=("04", "05"))
    assert results.flags == ["dv", "mental_health"] and results.adjust == []
    text = _render(papers)
    assert "The extract has no PUMA column" in text["04"]
    assert "Child protection" not in text["05"] and "six flags" not in text["05"]


HOSTILE = {
    "Dudley": "<script>alert(1)</script>Dudley",
    "Sandwell": "Walsall_North *A*",
    "Walsall": "Sandwell | #1 & <img src=x onerror=alert(2)>",
    "Wolverhampton": "Wolves `code` " + "very long label " * 12,
}


def test_hostile_labels_are_shown_exactly_and_never_as_markup(base, tmp_path):
    frame = base.copy()
    frame["area"] = frame["area"].map(HOSTILE)
    frame.loc[frame["offence_group"] == "violence", "offence_group"] = "Violence <b>bold</b> & _under_"
    study = {"study": {"title": "Title <script>x()</script> & *stars*", "organisation": "Org <i onmouseover=alert(3)>"}}
    results, papers = _papers(frame, tmp_path, study)
    from bs4 import BeautifulSoup

    for number, paper in papers.items():
        rendered = paper.render()
        raw = str(rendered.html())
        soup = BeautifulSoup(raw, "html.parser")
        assert not soup.find_all("script"), number
        handlers = [(tag.name, a) for tag in soup.find_all(True) for a in tag.attrs if a.lower().startswith("on")]
        assert not handlers, (number, handlers)  # no event-handler attribute came from the data
        assert not soup.find_all("b") and [img.get("src", "")[:10] for img in soup.find_all("img")] == \
            ["data:image"] * len(soup.find_all("img"))
        seen = _visible(rendered)
        for label in (*HOSTILE.values(), "Title <script>x()</script> & *stars*"):
            if number in ("02", "04") or "Title" in label:
                assert label in seen, (number, label)
        for table in re.findall(r"<table.*?</table>", raw, flags=re.S):
            head = len(re.findall(r"<th scope=\"col\"", table))
            for row in re.findall(r"<tbody>(.*?)</tbody>", table, flags=re.S)[0].split("</tr>")[:-1]:
                assert len(re.findall(r"<t[hd] ", row)) == head  # every row keeps its columns


def test_the_summary_quotes_the_other_papers_numbers(base, tmp_path):
    results, papers = _papers(base, tmp_path, {"study": {"published": "black-country-2018"}}, only=("03", "04", "05"))
    summary = papers["05"]
    rf = papers["03"]
    for row in rf.effects.to_dict("records"):
        quoted = summary.flags_paper.effects.set_index("flag").loc[row["flag"]]
        for col in ("odds_ratio", "risk_ratio", "risk_difference", "rate_flagged"):
            assert quoted[col] == pytest.approx(row[col]), (row["flag"], col)
    text = _visible(summary.flags())
    for row in rf.effects.to_dict("records"):
        assert f"odds ratio {row['odds_ratio']:.2f}" in text
        assert f"a risk {row['risk_ratio']:.2f} times as high" in text or "could be chance" in text
    oe = papers["04"]
    shown = _html.unescape(re.sub(r"<[^>]+>", "", str(summary.areas().html())))
    for sentence in oe.together_sentences():
        assert _html.unescape(re.sub(r"<[^>]+>", "", str(sentence))) in shown


def test_numbered_areas_are_named_with_their_label_in_sentences(base, tmp_path):
    """A code such as 3 in a sentence reads as a count; the paper writes "local authority 3" (table cells keep the code)."""
    frame = base.copy()
    codes = {name: str(i + 1) for i, name in enumerate(sorted(frame["area"].unique()))}
    frame["area"] = frame["area"].map(codes)
    current = frame["period"] == "2015-10/2016-09"
    in_three = current & (frame["area"] == "3")
    frame.loc[in_three, "reoffended"] = np.array([i % 10 != 0 for i in range(int(in_three.sum()))], dtype=frame["reoffended"].dtype)
    results, papers = _papers(frame, tmp_path, {"study": {"area_label": "local authority"}}, only=("04",))
    oe = papers["04"]
    together = " ".join(_html.unescape(re.sub(r"<[^>]+>", "", str(s))) for s in oe.together_sentences())
    assert "local authority 3" in together  # 90% reoffended there: above every source of expected
    for listed in re.findall(r"beyond chance: ([^;.]*)", together):
        for name in re.split(r", | and ", listed):
            assert name.startswith("local authority "), (name, together)
    for named in re.findall(r"\), ([^.]*?) stands? apart", together):
        assert named.startswith("local authority "), (named, together)


def test_results_computed_once_and_read_back_give_the_same_paper(base, tmp_path):
    """What the report command does: compute every result once, save, and build each paper from the saved file."""
    from analysis.results import load_results

    results, papers = _papers(base, tmp_path, only=("02",))
    saved = results.compute().save(tmp_path / "results.pickle")
    again = CohortPaper.open(results=saved, period=results.period)
    assert again.results is not results and again.results.period == results.period
    pd.testing.assert_frame_equal(load_results(saved).effects, results.effects)
    assert _visible(again.render()) == _visible(papers["02"].render())
    with pytest.raises(ValueError, match="not '2014-10/2015-09'"):
        CohortPaper.open(results=saved, period="2014-10/2015-09")


def test_point_labels_never_overlap_each_other_or_a_marker():
    """Thirty labels on a tight cluster of points: every label kept is clear of every other and of every point."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    from analysis.paper.figures import place_labels

    fig = Figure(figsize=(6, 4), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, 30), rng.uniform(0, 1, 30)
    ax.scatter(x, y, s=40)
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.2, 1.2)
    names = [f"Unit {i}" for i in range(30)]
    left_off = place_labels(ax, list(zip(names, x, y)))
    renderer = canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) + len(left_off) == 30 and len(boxes) >= 20
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    markers = [Bbox.from_bounds(px - 4, py - 4, 8, 8) for px, py in ax.transData.transform(np.column_stack([x, y]))]
    assert not any(box.overlaps(m) for box in boxes for m in markers)


def test_the_funnel_legend_speaks_plain_words():
    from matplotlib.figure import Figure

    from analysis.funnel import funnel_plot

    units = pd.DataFrame({"group": ["A", "B", "C", "D"], "observed": [160, 40, 30, 52], "expected": [100.0, 40.0, 35.0, 50.0]})
    ax = Figure().add_subplot()
    funnel_plot(units, kind="ratio", method="none", ax=ax, footnote=False)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Above the 99.8% limit" in legend and "Within the limits" in legend
    assert not any("0.001" in t or "0.025" in t for t in legend)


def test_an_estimate_may_break_only_before_its_interval_and_a_table_too_wide_gets_the_small_type():
    from analysis.paper.blocks import WIDE_TABLE_CHARACTERS, Column, Table

    frame = pd.DataFrame({"flag": ["Domestic violence perpetrator"], "or": ["1.84 (1.56 to 2.18)"], "n": [1200]})
    columns = [Column("flag", "Flag"), Column("or", "Odds ratio (95% interval)", "numtext"), Column("n", "People", "count")]
    markup = str(Table(frame, columns).html())
    assert '<td class="num wrap">1.84 <span class="nw">(1.56 to 2.18)</span></td>' in markup
    assert '<td class="num">1,200</td>' in markup and "table-block wide" not in markup
    # by hand: 'perpetrator' 11, '(1.56 to 2.18)' 14, 'People' 6, each + 2 = 37 characters
    assert Table(frame, columns)._characters(Table(frame, columns).cells()) == 37 < WIDE_TABLE_CHARACTERS
    many = pd.DataFrame({f"c{i}": ["12,345.6 (12,000.1 to 12,999.9)"] for i in range(4)})
    three = Table(many.iloc[:, :3], [Column(f"c{i}", f"Column {i}", "numtext") for i in range(3)])
    four = Table(many, [Column(f"c{i}", f"Column {i}", "numtext") for i in range(4)])
    # each column needs its interval, 22 characters, + 2: three need 72 (they fit), four 96 (they do not)
    assert "table-block wide" not in str(three.html()) and "table-block wide" in str(four.html())
