"""Root pytest configuration.

- The notebooks' jupytext pairs (``notebooks/*.py``) are sources, not test modules: ``pytest --doctest-modules
  notebooks`` would import them, and so run a whole paper; nbval checks the ``.ipynb`` files instead, and
  ``tests/test_notebooks.py`` checks that each pair is in sync.
- ``make test`` runs on two workers (pytest-xdist, ``--dist loadscope``): the cells of one notebook stay on one
  worker, in order, in one kernel; the tests that read the built reports are all in ``tests/test_build.py`` so
  that each report is built once.
"""

collect_ignore_glob = ["notebooks/*.py"]
