"""Bundle the default study, the published figures, the notebooks and the second example into the wheel.

Everything else about the package is in ``pyproject.toml``. A checkout (or an editable install) reads
these files where they are, under ``data/``, ``notebooks/`` and ``examples/``; a wheel carries copies
under ``analysis/_bundled/`` with the same layout, which ``analysis.paths`` finds with
``importlib.resources``, so ``pip install .`` works outside the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = (  # (folder, file pattern), relative to the checkout
    ("data/synthetic", "*"),
    ("data/published", "*.csv"),
    ("data", "data_dictionary.csv"),
    ("notebooks", "*.ipynb"),
    ("examples/rearrest", "*"),
    ("examples", "*.toml"),
)


class BuildWithResources(build_py):
    """``build_py`` that also copies the files a report needs into ``analysis/_bundled``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        target = Path(self.build_lib) / "analysis" / "_bundled"
        for folder, pattern in BUNDLED:
            for source in sorted((HERE / folder).glob(pattern)):
                if source.is_file():
                    destination = target / source.relative_to(HERE)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildWithResources})
