"""Root pytest configuration.

- The notebooks' jupytext pairs (``notebooks/*.py``) are sources, not test modules: ``pytest --doctest-modules
  notebooks`` would import them, and so run a whole paper; nbval checks the ``.ipynb`` files instead, and
  ``tests/test_notebooks.py`` checks that each pair is in sync.
- ``make test`` runs on two workers (pytest-xdist, ``--dist loadgroup``). The cells of one notebook must run in
  order in one kernel, so each notebook is one group; the tests that share the built reports (a session fixture)
  are one group too, so the reports are built once.
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["notebooks/*.py"]

#: test modules whose tests share the session-scoped report builds (tests/conftest.py)
REPORT_MODULES = ("test_build.py", "test_browser.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(name=path.stem))
        elif path.name in REPORT_MODULES:
            item.add_marker(pytest.mark.xdist_group(name="reports"))
