"""Where the repository keeps its data, so notebooks need no hard-coded paths.

Examples
--------
>>> from analysis.paths import DEFAULT_COHORT
>>> DEFAULT_COHORT.name
'cohort.csv'
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
DATA_DIR: Path = REPO_ROOT / "data"
PUBLISHED_DIR: Path = DATA_DIR / "published"
SYNTHETIC_DIR: Path = DATA_DIR / "synthetic"
DEFAULT_COHORT: Path = SYNTHETIC_DIR / "cohort.csv"
"""The embedded synthetic Black Country cohort, the default for every notebook."""
DEFAULT_STUDY: Path = SYNTHETIC_DIR / "study.toml"
"""The study file of the default cohort (its title, words and published reference)."""
REPORTS_DIR: Path = REPO_ROOT / "reports"
