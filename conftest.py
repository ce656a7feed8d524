"""Root pytest configuration: the notebooks' jupytext pairs (notebooks/*.py) are sources, not test modules.

``pytest --doctest-modules notebooks`` would import them, and so run a whole paper; nbval checks the
``.ipynb`` files instead, and ``tests/test_notebooks.py`` checks that each pair is in sync.
"""

collect_ignore_glob = ["notebooks/*.py"]
