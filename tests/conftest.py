"""Shared fixtures: a small valid cohort frame and a writer for test files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import paper_browser
import pytest

from analysis.schema import FLAGS

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def make_rows(n: int = 20, seed: int = 0) -> pd.DataFrame:
    """A small, valid cohort in the canonical schema (as text, like a CSV)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:04d}" for i in range(n)],
            "period": "2015-10/2016-09",
            "area": rng.choice(["Dudley", "Sandwell", "Walsall", "Wolverhampton"], n),
            "sex": rng.choice(["Male", "Female"], n),
            "age_band": rng.choice(["18-20", "25-29", "40-49"], n),
            "offence_group": rng.choice(["violence", "theft_non_motor"], n),
            "expected": rng.uniform(0.1, 0.9, n).round(4),
            "reoffended": rng.integers(0, 2, n),
        }
    )
    for flag in FLAGS:
        frame[flag] = rng.integers(0, 2, n)
    frame["reoffences"] = np.where(frame["reoffended"] == 1, 2, 0)
    return frame


@pytest.fixture
def rows() -> pd.DataFrame:
    return make_rows()


@pytest.fixture
def write_csv(tmp_path: Path):
    def _write(frame: pd.DataFrame, name: str = "extract.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return _write


def run_cli(*args: str, timeout: int = 1200):
    """``python -m analysis ...`` as an analyst runs it (from the repository root)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)


@pytest.fixture(scope="session")
def default_reports(tmp_path_factory) -> Path:
    """Every paper of the default (synthetic) study, built once by the README's command."""
    out = tmp_path_factory.mktemp("reports-default")
    result = run_cli("report", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.strip() == "", f"the report command wrote to stderr: {result.stderr[-2000:]}"
    return out


@pytest.fixture(scope="session")
def rearrest_reports(tmp_path_factory) -> Path:
    """The papers of the second embedded example (examples/rearrest), built once by the README's command."""
    out = tmp_path_factory.mktemp("reports-rearrest")
    result = run_cli("report", "--study", "examples/rearrest/study.toml", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.strip() == "", f"the report command wrote to stderr: {result.stderr[-2000:]}"
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paper_browser.CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(paper_browser.CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("PAPER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
