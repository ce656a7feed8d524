"""End to end on the second example (an extract shaped nothing like the default) and on labels that try to be
markup, then the second example's papers in a real browser.

Apart from ``test_build.py`` so that ``make test`` (pytest-xdist, ``--dist loadscope``) builds this module's
reports on one worker while the default report is built on the other.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from paper_browser import BLACK_COUNTRY_WORDS, REARREST_PAPERS, _check_paper, _text, needs_chromium

from analysis import load_cohort
from analysis.paths import DEFAULT_COHORT
from conftest import run_cli


def test_the_second_example_speaks_its_own_words(rearrest_reports):
    pages = sorted(p.name for p in rearrest_reports.glob("*.html"))
    assert pages == ["02_cohort.html", "03_risk_flags.html", "04_observed_vs_expected.html", "05_evidence_summary.html",
                     "06_kpi_tracking.html", "07_intervention_impact.html"]
    for page in rearrest_reports.glob("*.html"):
        text = _text(page)
        assert "Rearrest within three years of release: risk flags and areas" in text
        assert "were rearrested" in text or page.stem == "04_observed_vs_expected"
        lower = text.lower()
        for word in BLACK_COUNTRY_WORDS:
            assert word not in lower, (page.name, word)
    cohort = _text(rearrest_reports / "02_cohort.html")
    assert "semicolon-delimited" in cohort and "decimal commas" in cohort and "198 were left out" in cohort
    assert re.search(r"Residence area.*\b1\b.*\b2\b.*\b10\b.*\b16\b", cohort, flags=re.S)  # 2 before 10
    assert "Gang member" in _text(rearrest_reports / "03_risk_flags.html")
    oe = _text(rearrest_reports / "04_observed_vs_expected.html")
    assert "residence area" in oe and "no adjusted baseline" in oe
    kpi = _text(rearrest_reports / "06_kpi_tracking.html")
    assert "the dates in \u201cRelease_Date\u201d cut into quarters" in kpi  # the extract's own name, not the study's
    assert "release_date" not in kpi


def test_hostile_labels_through_report_and_tables(tmp_path):
    """Labels from the data are text: no script or event handler reaches a paper, every label is shown as written."""
    from bs4 import BeautifulSoup

    cohort = load_cohort(DEFAULT_COHORT).groupby("period", observed=True, group_keys=False).sample(900, random_state=1)
    labels = {"Dudley": "<script>alert(1)</script>Dudley", "Sandwell": "Walsall_North *A*",
              "Walsall": "Sandwell | #1 & <img src=x onerror=alert(2)>", "Wolverhampton": "`Wolves` " + "long label " * 15}
    cohort["area"] = cohort["area"].astype(str).map(labels)
    path = tmp_path / "hostile.csv"
    cohort.drop(columns=["expected"]).to_csv(path, index=False)
    study = tmp_path / "study.toml"
    study.write_text('[study]\ntitle = "Title <script>x()</script> & *stars*"\norganisation = "<i onmouseover=alert(3)>Org</i>"\n',
                     encoding="utf-8")
    out = tmp_path / "reports"
    result = run_cli("report", "--study", str(study), "--cohort", str(path), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    for page in out.glob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert not soup.find_all("script"), page.name
        assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.lower().startswith("on")], page.name
        assert soup.title.get_text() == "Title <script>x()</script> & *stars*"
        if page.stem in ("02_cohort", "04_observed_vs_expected"):
            text = soup.get_text(" ")
            for label in labels.values():
                assert label in text, (page.name, label)
    tables = tmp_path / "tables"
    result = run_cli("tables", "--study", str(study), "--cohort", str(path), "--out", str(tables))
    assert result.returncode == 0, result.stderr[-2000:]
    oe = pd.read_csv(tables / "oe_by_area.csv")
    assert set(oe["area"]) == {label.strip() for label in labels.values()}  # surrounding blanks are trimmed on reading


@needs_chromium
@pytest.mark.parametrize("name", REARREST_PAPERS)
def test_second_example_papers_in_chromium(rearrest_reports, browser, screenshots, name):
    _check_paper(browser, rearrest_reports / f"{name}.html", "Rearrest within three years of release: risk flags and areas", screenshots)
