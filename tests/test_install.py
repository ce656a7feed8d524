"""A non-editable install works outside the checkout (issue 11, deliverable 4).

The package is built as a wheel from a copy of the tracked files, installed
with pip (no dependencies: the test environment's own packages are shared
through a ``.pth`` file, not the editable install) into a fresh virtual
environment, and used from a directory that is not the checkout. The default
study, the published figures, the notebooks and the second example must come
from inside the installed package, found with ``importlib.resources``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
"""The environment of the installed package's processes: no PYTHONPATH may put a checkout's src/ first."""


def _tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files a wheel is built from")
    return [name for name in result.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh environment with the package installed from a wheel."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = base / "wheels"
    wheels.mkdir()
    build = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; print(build_meta.build_wheel({str(wheels)!r}))"],
                           cwd=source, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = wheels / build.stdout.strip().splitlines()[-1]

    env = base / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=CLEAN_ENV).stdout.strip()
    Path(purelib, "zz_shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                              "--no-index", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    return python


def test_an_installed_wheel_finds_its_data_and_notebooks_outside_the_checkout(installed, tmp_path):
    probe = """
import json, analysis, analysis.paths as paths
from analysis.build import discover_notebooks
from analysis.examples.rearrest import EXAMPLE_DIR
data = analysis.open_study(analysis.DEFAULT_STUDY)
print(json.dumps({
    "module": analysis.__file__,
    "root": str(paths.RESOURCE_ROOT),
    "reports": str(paths.REPORTS_DIR),
    "notebooks": [n.name for n in discover_notebooks()],
    "people": len(data.cohort),
    "published": len(analysis.load_published()),
    "example": sorted(p.name for p in EXAMPLE_DIR.iterdir()),
}))
"""
    result = subprocess.run([str(installed), "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=CLEAN_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    package = Path(found["module"]).parent
    assert package.is_relative_to(installed.parents[1]), "the wheel's copy, not the checkout's, was imported"
    assert Path(found["root"]) == package / "_bundled"
    assert found["reports"] == "reports"  # under the analyst's current folder
    assert found["notebooks"] == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert found["people"] == 16000
    assert found["published"] > 0
    assert {"extract.csv", "study.toml"} <= set(found["example"])
