"""environment.yml mirrors pyproject.toml; the Makefile and CI call the documented commands."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(s) for s in project["dependencies"]} | {_name(s) for s in project["optional-dependencies"]["dev"]}
    listed = set()
    text = (REPO / "environment.yml").read_text()
    dependencies = text.split("dependencies:", 1)[1]
    for line in dependencies.splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+.*)$", line)
        if m and not line.strip().startswith("- -e") and ":" not in m.group(1):
            listed.add(_name(m.group(1)))
    listed -= {"python", "pip"}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_ci_runs_make_test_and_make_test_runs_strict_nbval():
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test")
    makefile = (REPO / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:")[1].split("\n\n")[0]
    assert "--nbval " in test_recipe and "--nbval-lax" not in test_recipe


def test_environment_yml_pins_the_versions_of_constraints_txt():
    """The conda route installs the versions the committed notebooks were run with, or strict nbval fails."""
    pinned = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[_name(name)] = version.strip()
    dependencies = (REPO / "environment.yml").read_text().split("dependencies:", 1)[1]
    checked = 0
    for line in dependencies.splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*(==|=|>=|<=|~=)?\s*([^\s#]*)", line)
        if not m or m.group(1) in ("python", "pip", "-e") or line.strip().startswith("- -e") or m.group(1).endswith(":"):
            continue
        name = _name(m.group(1))
        assert m.group(2) in ("=", "=="), f"environment.yml: pin {name} to {pinned.get(name)} as in constraints.txt"
        assert m.group(3) == pinned[name], f"environment.yml pins {name} {m.group(3)}; constraints.txt has {pinned[name]}"
        checked += 1
    assert checked >= 25
