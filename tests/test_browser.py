"""The papers, opened in a real browser (headless Chromium) as a reader would: on the default study and on the
second example. Titles set, figures load with real alternative text, no code, no script, nothing unreadable
(NaN, <NA>, None), nothing wider than the page, the synthetic banner, no visible count under the threshold,
a disclosure appendix, and each paper prints to PDF. Full-page screenshots are saved for a reader to look at.

Skipped, with the reason, where Chromium or its driver is not installed; `.ci/run` installs Debian's
`chromium` and `chromium-driver` so that CI runs it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver); .ci/run installs it",
)
THRESHOLD = 10
DEFAULT_PAPERS = ["01_published_position", "02_cohort", "03_risk_flags", "04_observed_vs_expected", "05_evidence_summary"]
REARREST_PAPERS = DEFAULT_PAPERS[1:]


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
    browser.set_window_size(1280, min(int(height) + 100, 16000))
    browser.save_screenshot(str(screenshots / f"{page.parent.name}-{page.stem}.png"))
    pdf = base64.b64decode(browser.print_page())
    assert pdf[:4] == b"%PDF" and len(pdf) > 20000


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


@pytest.mark.parametrize("name", DEFAULT_PAPERS)
def test_default_papers_in_chromium(default_reports, browser, screenshots, name):
    _check_paper(browser, default_reports / f"{name}.html", "Risk flags and proven reoffending: the Black Country CRC cohort", screenshots)


@pytest.mark.parametrize("name", REARREST_PAPERS)
def test_second_example_papers_in_chromium(rearrest_reports, browser, screenshots, name):
    _check_paper(browser, rearrest_reports / f"{name}.html", "Rearrest within three years of release: risk flags and areas", screenshots)
