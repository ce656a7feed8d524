"""The papers in a real browser (headless Chromium), shared by the end-to-end test modules.

Titles set, figures load with real alternative text, no code, no script, nothing unreadable (NaN, <NA>,
None), nothing wider than the page, the synthetic banner, no visible count under the threshold, a
disclosure appendix, and each paper prints to PDF. Full-page screenshots are saved for a reader to look at.
The ``browser`` and ``screenshots`` fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import pytest

BLACK_COUNTRY_WORDS = ("black country", "dudley", "sandwell", "walsall", "wolverhampton", "crc", "12 months", "12-month",
                       "six flags", "proven reoffending", "strategy")


def _text(page: Path) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")



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
    clipped = browser.execute_script(  # a table's box scrolls rather than widen the page: a reader would see it cut off
        "return Array.from(document.querySelectorAll('.table-block')).filter(b => b.scrollWidth > b.clientWidth + 1)"
        ".map(b => (b.querySelector('caption') || {}).innerText || '?');")
    assert not clipped, f"{page.name}: tables wider than the page's measure: {clipped}"
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
