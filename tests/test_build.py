"""End to end: the report and tables commands on the default study, on bad input (one clear error, exit 2,
nothing written), then the default papers in a real browser (``paper_browser``: headless Chromium, as a
reader would open them).

Skipped, with the reason, where Chromium or its driver is not installed; `.ci/run` installs Debian's
`chromium` and `chromium-driver` so that CI runs it. The second example and the hostile labels are in
``test_build_example.py``: with ``make test`` (pytest-xdist, ``--dist loadscope``) each module's reports are
built once, the two modules on the two workers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from paper_browser import DEFAULT_PAPERS, _check_paper, _text, needs_chromium

from analysis import load_cohort
from analysis.build import discover_notebooks
from analysis.paths import DEFAULT_COHORT
from conftest import REPO, run_cli


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
        build.build_reports(notebooks=[Path("02_cohort.ipynb")], out_dir=tmp_path, progress=False)
    assert earlier.read_text(encoding="utf-8") == "earlier report" and not list(tmp_path.glob(".*.tmp"))


def test_cli_help_documents_the_commands():
    result = run_cli("report", "--help")
    assert result.returncode == 0
    for option in ("--study", "--mapping", "--cohort", "--pdf", "--threshold", "--round-to"):
        assert option in result.stdout


@needs_chromium
@pytest.mark.parametrize("name", DEFAULT_PAPERS)
def test_default_papers_in_chromium(default_reports, browser, screenshots, name):
    _check_paper(browser, default_reports / f"{name}.html", "Risk flags and proven reoffending: the Black Country CRC cohort", screenshots)


# ----------------------------------------------------------------- the report from cells (beside default_reports: built once per worker)


def _page(page) -> str:
    return re.sub(r'<div class="jp-Cell[^"]*celltag_injected-parameters[^"]*" id="[^"]*">', "", page.read_text(encoding="utf-8"))


def _table(page: str, number: int) -> str:
    match = re.search(rf"<table[^>]*><caption>Table {number}\..*?</table>", page, flags=re.S)
    assert match, number
    return match.group(0)


def test_the_out_of_core_report_prints_the_papers_of_the_rows(default_reports, tmp_path):
    out = tmp_path / "ooc"
    result = run_cli("report", "--out-of-core", "always", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "read out of core: DuckDB counted its people in 13,156 cells" in result.stderr
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == sorted(p.name for p in default_reports.glob("*.html")) and len(pages) == 7
    sentence = re.compile(r" It was read out of core: DuckDB counted its people in [\d,]+ cells of identical values, and every "
                          r"figure in this series comes from those counts, the same as from one row per person\.")
    for page in pages[:6]:  # papers 01 to 06: byte for byte, but for paper 02's sentence on how the extract was read
        ours, theirs = _page(out / page), _page(default_reports / page)
        if page == "02_cohort.html":
            assert sentence.search(ours)
            ours = sentence.sub("", ours)
        assert ours == theirs, page
        assert (out / page.replace(".html", ".disclosure.csv")).read_text() == \
            (default_reports / page.replace(".html", ".disclosure.csv")).read_text()
    # paper 07 matches people one by one: out of core they are rebuilt from the cells in a random order, so the matched
    # estimate is another draw of the same matching; the raw rates, the weighted estimate and the support are the same
    ours, theirs = _page(out / pages[6]), _page(default_reports / pages[6])
    assert "its people were rebuilt from the counts of each pattern of values, in a random order (seed 0)" in ours
    for number in (1, 5):
        assert _table(ours, number) == _table(theirs, number), number
    weighting = re.compile(r"Weighting</th>.*?</tr>", flags=re.S)
    assert weighting.search(ours).group(0) == weighting.search(theirs).group(0)


class _Text(__import__("html.parser").parser.HTMLParser):
    """The visible text of an HTML fragment, white space collapsed (attribute order and entities do not matter)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(markup: str) -> str:
    """With the version line's commit and the publication date replaced, as nbval's sanitize rules replace them."""
    parser = _Text()
    parser.feed(markup)
    text = " ".join(" ".join(parser.parts).split())
    text = re.sub(r"analysis \d+\.\d+\.\d+( \(commit [0-9a-f]{7,40}\))?", "analysis VERSION", text)
    return re.sub(r"Published \d{4}-\d{2}-\d{2}", "Published DATE", text)


def test_the_report_prints_what_the_notebooks_compute_from_the_rows(default_reports):
    """The report computes from cells (and hands 06 and 07 the rows with those results); the committed notebooks
    compute everything in their kernel from one row per person. Every output of every paper reads the same."""
    import nbformat

    for notebook in sorted((REPO / "notebooks").glob("0[1-7]_*.ipynb")):
        page = visible_text((default_reports / f"{notebook.stem}.html").read_text(encoding="utf-8"))
        nb = nbformat.read(str(notebook), as_version=4)
        fragments = 0
        for cell in nb.cells:
            if "notebook-only" in cell.metadata.get("tags", []):
                continue
            for output in cell.get("outputs", []):
                markup = output.get("data", {}).get("text/html")
                if markup is None:
                    continue
                text = visible_text("".join(markup) if isinstance(markup, list) else markup)
                assert text in page, f"{notebook.stem}: {text[:200]}"
                fragments += 1
        assert fragments >= 10, notebook.stem
