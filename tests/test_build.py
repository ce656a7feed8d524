"""End to end: the report and tables commands on the default study, on an extract shaped nothing like it,
on bad input (one clear error, exit 2, nothing written) and on labels that try to be markup; then the papers
in a real browser.

The browser check: The papers, opened in a real browser (headless Chromium) as a reader would: on the default study and on the
second example. Titles set, figures load with real alternative text, no code, no script, nothing unreadable
(NaN, <NA>, None), nothing wider than the page, the synthetic banner, no visible count under the threshold,
a disclosure appendix, and each paper prints to PDF. Full-page screenshots are saved for a reader to look at.

Skipped, with the reason, where Chromium or its driver is not installed; `.ci/run` installs Debian's
`chromium` and `chromium-driver` so that CI runs it.

Everything that reads the built reports is in this one module, so that ``make test`` (pytest-xdist,
``--dist loadscope``) builds each report once, on one worker.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis import load_cohort
from analysis.build import discover_notebooks
from analysis.paths import DEFAULT_COHORT
from conftest import run_cli

BLACK_COUNTRY_WORDS = ("black country", "dudley", "sandwell", "walsall", "wolverhampton", "crc", "12 months", "12-month",
                       "six flags", "proven reoffending", "strategy")


def _text(page: Path) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")


def test_notebooks_are_numbered_and_found():
    names = [p.name for p in discover_notebooks()]
    assert names[:2] == ["01_published_position.ipynb", "02_cohort.ipynb"]


def test_the_default_report_has_every_paper_with_its_frame(default_reports):
    pages = sorted(p.name for p in default_reports.glob("*.html"))
    assert pages == [f"{p.stem}.html" for p in discover_notebooks()]
    for page in default_reports.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<title>Risk flags and proven reoffending: the Black Country CRC cohort</title>" in html
        text = _text(page)
        # each paper reports the study's period; the KPI paper tracks every quarter of the series since its baseline
        period = "8 quarters (baseline: October 2014 to September 2015)" if page.stem == "06_kpi_tracking" else "October 2015 to September 2016"
        for words in ("Synthetic data, not real findings", "Contents", "Summary", "Glossary", "Methods", "Disclosure control", period):
            assert words in text, (page.name, words)
        assert "analysis.load_cohort(" not in html and "hl-ipython3" not in html  # no code
        assert (default_reports / f"{page.stem}.disclosure.csv").exists()


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


def test_tables_odds_ratios_equal_an_individual_level_logit(tmp_path):
    from test_example_rearrest import EXTRACT, TEXT_COLUMNS, recode

    result = run_cli("tables", "--study", "examples/rearrest/study.toml", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    odds = pd.read_csv(tmp_path / "odds_ratios.csv").set_index("flag")
    raw = pd.read_csv(EXTRACT, sep=";", decimal=",", encoding="utf-8", dtype={c: str for c in TEXT_COLUMNS})
    people = recode(raw)
    fit = smf.logit("reoffended ~ dv + mental_health + substance_misuse + unemployed + gang + C(sex) + C(age_band)"
                    " + C(offence_group) + risk_score", data=people).fit(disp=0)
    ci = fit.conf_int()
    for flag in ("dv", "mental_health", "substance_misuse", "unemployed", "gang"):
        assert odds.loc[flag, "odds_ratio"] == pytest.approx(np.exp(fit.params[flag]), rel=1e-6)
        assert odds.loc[flag, "or_lower"] == pytest.approx(np.exp(ci.loc[flag, 0]), rel=1e-6)
        assert odds.loc[flag, "or_upper"] == pytest.approx(np.exp(ci.loc[flag, 1]), rel=1e-6)
    for name in ("rates_by_flag", "oe_by_area", "attributable_fractions", "disclosure_log"):
        assert (tmp_path / f"{name}.csv").exists()


def test_a_bad_extract_gets_one_error_exit_2_and_nothing_written(tmp_path):
    cohort = load_cohort(DEFAULT_COHORT).head(300)
    bad = cohort.astype({"reoffended": object})
    bad.loc[[3, 7], "reoffended"] = "maybe"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "reports"
    result = run_cli("report", "--cohort", str(path), "--out", str(out), "--quiet")
    assert result.returncode == 2
    assert "column 'reoffended': values are not 0/1 (2 rows, e.g. rows 4, 8: 'maybe')" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_semicolon_file_read_with_a_comma_names_the_delimiter(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("reoffended;dv\n1;0\n0;1;9\n", encoding="utf-8")
    result = run_cli("tables", "--cohort", str(path), "--out", str(tmp_path / "t"))
    assert result.returncode == 2 and "semicolon" in result.stderr and "Traceback" not in result.stderr


def test_a_failed_run_leaves_earlier_reports_intact(tmp_path):
    earlier = tmp_path / "02_cohort.html"
    earlier.write_text("earlier report", encoding="utf-8")
    result = run_cli("report", "--cohort", str(tmp_path / "no_such_extract.csv"), "--out", str(tmp_path), "--quiet")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert earlier.read_text(encoding="utf-8") == "earlier report"
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_export_failure_is_one_build_error_and_nothing_written(tmp_path, monkeypatch):
    import analysis.build as build

    earlier = tmp_path / "02_cohort.html"
    earlier.write_text("earlier report", encoding="utf-8")

    def broken_export(executed: Path, target: Path) -> Path:
        raise ValueError("No template sub-directory with name 'classic' found")

    monkeypatch.setattr(build, "execute_notebook", lambda source, target, parameters=None: target)
    monkeypatch.setattr(build, "export_html", broken_export)
    with pytest.raises(build.BuildError, match=r"02_cohort ran but could not be exported to HTML: ValueError: No template"):
        build.build_reports([Path("02_cohort.ipynb")], tmp_path, progress=False)
    assert earlier.read_text(encoding="utf-8") == "earlier report" and not list(tmp_path.glob(".*.tmp"))


def test_cli_help_documents_the_commands():
    result = run_cli("report", "--help")
    assert result.returncode == 0
    for option in ("--study", "--mapping", "--cohort", "--pdf", "--threshold", "--round-to"):
        assert option in result.stdout


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


# --------------------------------------------------------------------------- the papers in headless Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver); .ci/run installs it",
)
THRESHOLD = 10
DEFAULT_PAPERS = ["01_published_position", "02_cohort", "03_risk_flags", "04_observed_vs_expected", "05_evidence_summary",
                  "06_kpi_tracking", "07_intervention_impact"]
REARREST_PAPERS = DEFAULT_PAPERS[1:]  # no published reference (01)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("PAPER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_paper(browser, page: Path, title: str, screenshots: Path) -> None:
    assert page.exists(), f"{page.name} was not written"
    browser.set_window_size(1280, 900)
    browser.get(page.resolve().as_uri())
    assert browser.title == title
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.getAttribute('alt') || '']);")
    assert images, "no figures in the paper"
    for done, width, alt in images:
        assert done and width > 0
        assert alt and alt != "No description has been provided for this image" and len(alt) > 25, alt
    assert browser.execute_script("return document.scripts.length;") == 0, "a script element is in the paper"
    assert browser.execute_script(
        "return document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-CodeCell .jp-Editor, .input_area').length;") == 0
    text = browser.execute_script("return document.body.innerText;")
    for bad in (r"\bNaN\b", r"<NA>", r"\bNone\b", r"\bnan%", "Traceback", "import analysis"):
        assert not re.search(bad, text), f"{page.name} shows {bad!r}"
    for heading in ("Contents", "Summary", "Glossary", "Methods", "Disclosure control"):
        assert heading in text, f"{page.name} has no {heading}"
    assert "Synthetic data, not real findings." in text
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    assert overflow <= 0, f"{page.name} is {overflow}px wider than a 1280px window"
    _check_counts(browser, page)
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(1280, min(int(height) + 100, 8000))
    _patient(lambda: browser.save_screenshot(str(screenshots / f"{page.parent.name}-{page.stem}.png")))
    browser.set_window_size(1280, 900)
    pdf = base64.b64decode(_patient(browser.print_page))
    assert pdf[:4] == b"%PDF" and len(pdf) > 20000


def _patient(action, attempts: int = 4):
    """Run a browser action; on a loaded machine the renderer can miss chromedriver's 10 s, so try again (a few times)."""
    from selenium.common.exceptions import TimeoutException

    for attempt in range(attempts):
        try:
            return action()
        except TimeoutException:
            if attempt == attempts - 1:
                raise
            time.sleep(2 * (attempt + 1))
    return None


def _check_counts(browser, page: Path) -> None:
    """No count shown in a table is under the disclosure threshold (suppressed cells read [c])."""
    if page.stem.startswith("01_"):
        return  # the published position shows only figures already published in aggregate
    cells = browser.execute_script(
        """
        const out = [];
        for (const t of document.querySelectorAll('table.data')) {
          const heads = Array.from(t.querySelectorAll('thead th')).map(h => [h.dataset.kind, h.innerText.trim()]);
          for (const r of t.querySelectorAll('tbody tr')) {
            Array.from(r.children).forEach((c, j) => { if (heads[j] && heads[j][0] === 'count') out.push([heads[j][1], c.innerText.trim()]); });
          }
        }
        return out;
        """)
    checked = 0
    for header, value in cells:
        if value in ("[c]", ""):
            continue
        if header in ("Rows", "Primary", "Complementary", "Across tables", "Cells hidden", "Rank", "Degrees of freedom"):
            continue  # the disclosure appendix counts cells, not people; ranks and df are not counts of people
        checked += 1
        assert float(value.replace(",", "")) >= THRESHOLD, f"{page.name}: {header} shows {value}"
    assert checked > 0, f"{page.name}: no count cells found to check"


@needs_chromium
@pytest.mark.parametrize("name", DEFAULT_PAPERS)
def test_default_papers_in_chromium(default_reports, browser, screenshots, name):
    _check_paper(browser, default_reports / f"{name}.html", "Risk flags and proven reoffending: the Black Country CRC cohort", screenshots)


@needs_chromium
@pytest.mark.parametrize("name", REARREST_PAPERS)
def test_second_example_papers_in_chromium(rearrest_reports, browser, screenshots, name):
    _check_paper(browser, rearrest_reports / f"{name}.html", "Rearrest within three years of release: risk flags and areas", screenshots)
