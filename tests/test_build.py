"""End to end: the report command on a small extract writes code-free HTML, atomically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis import load_cohort
from analysis.build import discover_notebooks
from analysis.paths import DEFAULT_COHORT, REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "02_cohort.ipynb"


@pytest.fixture(scope="module")
def small_extract(tmp_path_factory) -> Path:
    cohort = load_cohort(DEFAULT_COHORT)
    sample = cohort.groupby("period", observed=True, group_keys=False).head(400)
    path = tmp_path_factory.mktemp("extract") / "small.csv"
    sample.to_csv(path, index=False)
    return path


def _build(out: Path, cohort: Path, notebook: Path = NOTEBOOK) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.build", "--out", str(out), "--cohort", str(cohort), str(notebook)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )


def test_notebooks_are_numbered_and_found():
    names = [p.name for p in discover_notebooks()]
    assert names[:2] == ["01_published_position.ipynb", "02_cohort.ipynb"]


def test_report_on_a_small_extract_has_figures_and_no_code(tmp_path, small_extract):
    result = _build(tmp_path, small_extract)
    assert result.returncode == 0, result.stderr[-2000:]
    html = (tmp_path / "02_cohort.html").read_text(encoding="utf-8")
    assert "The file holds <strong>800</strong> rows" in html  # the small extract, not the default data
    assert "data:image/png;base64," in html
    assert "analysis.load_cohort(" not in html and "hl-ipython3" not in html  # no code cells


def test_a_failed_run_leaves_earlier_reports_intact(tmp_path, small_extract):
    earlier = tmp_path / "02_cohort.html"
    earlier.write_text("earlier report", encoding="utf-8")
    missing = tmp_path / "no_such_extract.csv"
    result = _build(tmp_path, missing)
    assert result.returncode != 0
    assert earlier.read_text(encoding="utf-8") == "earlier report"
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_report_rejects_a_bad_extract_with_the_named_error_and_writes_nothing(tmp_path, small_extract):
    bad = tmp_path / "bad.csv"
    text = small_extract.read_text(encoding="utf-8").replace(",Male,", ",M,", 3)
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--cohort", str(bad), "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 2
    assert "column 'sex': values are not known categories" in result.stderr and "'M'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_help_documents_the_commands():
    result = subprocess.run([sys.executable, "-m", "analysis", "report", "--help"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0 and "--mapping" in result.stdout and "--cohort" in result.stdout


def test_report_on_an_analysts_own_extract_with_mapping_and_reference(tmp_path):
    """End to end, as an analyst would run it: other area names and period labels, coded values,
    no supplied expected column, a mapping file and a separate baseline-year extract."""
    cohort = load_cohort(DEFAULT_COHORT).drop(columns=["expected", "ogrs3", "age", "previous_sanctions", "age_first_sanction"])
    cohort["area"] = cohort["area"].astype(str).map({"Dudley": "North", "Sandwell": "South", "Walsall": "East", "Wolverhampton": "West"})
    cohort["period"] = cohort["period"].astype(str).map({"2014-10/2015-09": "2022-23", "2015-10/2016-09": "2023-24"})
    cohort["reoffended"] = cohort["reoffended"].map({1: "Y", 0: "N"})
    cohort = cohort.rename(columns={"reoffended": "Proven Reoffence", "area": "LDU"})
    current = tmp_path / "current.csv"
    baseline = tmp_path / "baseline.csv"
    cohort[cohort["period"] == "2023-24"].sample(1500, random_state=1).to_csv(current, index=False)
    cohort[cohort["period"] == "2022-23"].sample(1500, random_state=2).to_csv(baseline, index=False)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Proven Reoffence" = "reoffended"\nLDU = "area"\n\n[values.reoffended]\nY = 1\nN = 0\n', encoding="utf-8")
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--cohort", str(current), "--reference", str(baseline),
         "--mapping", str(mapping), "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.glob("*.html")) == [f"{p.stem}.html" for p in discover_notebooks()]
    oe = (out / "04_observed_vs_expected.html").read_text(encoding="utf-8")
    assert "North" in oe and "adjusted baseline" in oe and "2022-23" in oe
    summary = (out / "05_evidence_summary.html").read_text(encoding="utf-8")
    assert "For every 100 people" in summary and "Disclosure log" in summary
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text and "nan%" not in text, page.name
