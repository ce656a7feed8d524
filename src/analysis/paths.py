"""Where the toolkit keeps its data, notebooks and examples, so nothing hard-codes a path.

In a checkout (or an editable install) they are the repository's own ``data/``,
``notebooks/`` and ``examples/``. A wheel (``pip install .``) carries copies of
them inside the package, under ``analysis/_bundled/`` with the same layout
(``setup.py``), found with :mod:`importlib.resources`; papers are then written to
``reports/`` under the current directory unless ``--out`` says otherwise.

Examples
--------
>>> from analysis.paths import DEFAULT_COHORT
>>> DEFAULT_COHORT.name
'cohort.csv'
>>> (RESOURCE_ROOT / "notebooks").is_dir()
True
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_CHECKOUT: Path = Path(__file__).resolve().parents[2]
_IN_CHECKOUT: bool = (_CHECKOUT / "data" / "synthetic" / "study.toml").is_file() and (_CHECKOUT / "notebooks").is_dir()

RESOURCE_ROOT: Path = _CHECKOUT if _IN_CHECKOUT else Path(str(files("analysis") / "_bundled"))
"""The folder holding ``data/``, ``notebooks/`` and ``examples/``: the checkout, or the installed bundle."""
REPO_ROOT: Path = RESOURCE_ROOT
"""Kept for existing code: the same folder as :data:`RESOURCE_ROOT`."""
DATA_DIR: Path = RESOURCE_ROOT / "data"
PUBLISHED_DIR: Path = DATA_DIR / "published"
SYNTHETIC_DIR: Path = DATA_DIR / "synthetic"
DEFAULT_COHORT: Path = SYNTHETIC_DIR / "cohort.csv"
"""The embedded synthetic Black Country cohort, the default for every notebook."""
DEFAULT_STUDY: Path = SYNTHETIC_DIR / "study.toml"
"""The study file of the default cohort (its title, words and published reference)."""
NOTEBOOK_DIR: Path = RESOURCE_ROOT / "notebooks"
"""The numbered notebooks, one per paper."""
EXAMPLES_DIR: Path = RESOURCE_ROOT / "examples"
"""The second example and the example mapping file."""
REPORTS_DIR: Path = _CHECKOUT / "reports" if _IN_CHECKOUT else Path("reports")
"""Where papers go by default: ``reports/`` in the checkout, or under the current directory when installed."""
