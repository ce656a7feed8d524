"""The exported HTML, opened in a real browser (headless Chromium): figures render, no code, a disclosure log.

Skipped, with the reason, where Chromium or its driver is not installed; `.ci/run` installs Debian's
`chromium` and `chromium-driver` so that CI runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.build import discover_notebooks
from analysis.paths import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver); .ci/run installs it",
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    """Every report, built by the user command on the default (synthetic) data."""
    out = tmp_path_factory.mktemp("reports")
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


NOTEBOOKS = [p.stem for p in discover_notebooks()]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_report_renders_in_chromium(reports, browser, name):
    page = reports / f"{name}.html"
    assert page.exists(), f"{page.name} was not written"
    browser.get(page.resolve().as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]);"
    )
    assert images, "no figures in the report"
    assert all(done and width > 0 and height > 0 for done, width, height in images), images
    code_inputs = browser.execute_script(
        "return document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-CodeCell .jp-Editor, .input_area').length;"
    )
    assert code_inputs == 0, "code cells are shown"
    text = browser.execute_script("return document.body.innerText;")
    assert "import analysis" not in text
    assert "Disclosure log" in text
    assert "Traceback" not in text


COUNT_HEADERS = {"n", "observed", "reoffenders", "flagged", "O", "n_flagged"}
THRESHOLD = 10


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if not n.startswith("01_")])  # 01 shows only published aggregates
def test_no_visible_count_in_a_report_is_below_the_threshold(reports, browser, name):
    """The disclosure check on the rendered reports: every count column shown has no value under the threshold."""
    browser.get((reports / f"{name}.html").resolve().as_uri())
    tables = browser.execute_script(
        """
        return Array.from(document.querySelectorAll('table')).map(t => {
          const head = Array.from(t.querySelectorAll('thead tr')).pop();
          const names = head ? Array.from(head.children).map(c => c.innerText.trim()) : [];
          const rows = Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.children).map(c => c.innerText.trim()));
          return [names, rows];
        });
        """
    )
    checked = 0
    for names, rows in tables:
        for j, header in enumerate(names):
            if header not in COUNT_HEADERS:
                continue
            for row in rows:
                if j >= len(row):
                    continue
                text = row[j].replace(",", "")
                try:
                    value = float(text)
                except ValueError:
                    continue  # <NA>: suppressed
                checked += 1
                assert value >= THRESHOLD, f"{name}: column {header!r} shows {text}, below the threshold {THRESHOLD}"
    if not name.startswith("05_"):  # the summary shows its counts in prose and charts, not tables
        assert checked > 0, f"{name}: no count columns found to check"
