"""The codebase keeps its own rules (docs/api.md, CONTRIBUTING.md).

These tests read the source and the signatures of the public API; they compute
no statistic. Each rule has a list of the places that do not follow it yet.
The list must only shrink: an entry that now follows the rule fails the test
until it is removed, so the list always says exactly what is left to change.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import analysis

PACKAGE = Path(analysis.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))

# Parameters that are the data a function works on (or the groups within it):
# they may be passed by position, with or without a default. Every other
# parameter with a default is an option and must be keyword-only.
INPUTS = {"path", "mapping", "study", "cohort", "data", "table", "tables", "balance_table", "covariates"}

# Options still passed by position somewhere; changing them changes call sites
# in papers, notebooks or tests (issue 11, deliverable 1).
POSITIONAL_OPTIONS_LEFT: dict[str, set[str]] = {}

# The method selector is ``method=`` everywhere; these still use another name.
# (The funnel functions' ``method`` is the overdispersion adjustment, as in
# ``estimate_overdispersion``; their second choice, the unadjusted limits, is
# ``limits=``, named after the ``limits`` column that reports it.)
SELECTOR_NAMES_LEFT: dict[str, set[str]] = {}
OTHER_SELECTOR_NAMES = {"ratio_method", "overdispersion", "rate_method", "interval_method", "ci_method"}

# Public functions whose docstring has no Examples section yet.
EXAMPLES_LEFT: set[str] = set()


def _public_functions() -> dict[str, object]:
    return {name: getattr(analysis, name) for name in analysis.__all__ if inspect.isfunction(getattr(analysis, name))}


def _module_name(path: Path) -> str:
    return ".".join(("analysis", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


def _relative_imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(module imported, names, at module level) for every relative import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            out.append((target, [a.name for a in node.names], id(node) in top))
    return out


def test_every_public_name_exists_once_and_has_a_docstring():
    assert len(analysis.__all__) == len(set(analysis.__all__))
    for name in analysis.__all__:
        obj = getattr(analysis, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"analysis.{name} has no docstring"


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in MODULES:
        for target, names, _ in _relative_imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                found.append(f"{_module_name(path)} imports {private} from {target}")
    assert not found, "make these public in the module that owns them:\n" + "\n".join(found)


def test_module_level_imports_have_no_cycle():
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        name = _module_name(path)
        graph[name] = set()
        for target, names, top in _relative_imports(path):
            if not top:
                continue
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate != name and (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists():
                    graph[name].add(candidate)
                    break
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail else nxt)
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_critical_value_is_computed_in_one_place():
    two_sided = re.compile(r"norm\.ppf\(\s*(0\.5\s*\+|1\s*-\s*\(1\s*-)")
    places = [str(p.relative_to(PACKAGE)) for p in MODULES if two_sided.search(p.read_text(encoding="utf-8"))]
    assert places == ["intervals.py"], f"use intervals.critical_value instead, in {places}"


def test_options_are_keyword_only():
    deviations: dict[str, set[str]] = {}
    for name, func in _public_functions().items():
        for p in inspect.signature(func).parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty and p.name not in INPUTS:
                deviations.setdefault(name, set()).add(p.name)
    assert deviations == POSITIONAL_OPTIONS_LEFT, (
        "options must be keyword-only (docs/api.md); a function that now follows the rule leaves the list"
    )


def test_the_method_selector_is_called_method():
    deviations: dict[str, set[str]] = {}
    for name, func in _public_functions().items():
        other = set(inspect.signature(func).parameters) & OTHER_SELECTOR_NAMES
        if other:
            deviations[name] = other
    assert deviations == SELECTOR_NAMES_LEFT


def test_public_functions_show_an_example():
    missing = {name for name, func in _public_functions().items() if "Examples\n--------" not in (inspect.getdoc(func) or "")}
    assert missing == EXAMPLES_LEFT, "every public function's docstring ends with a short example (docs/api.md)"


def test_by_takes_a_string_or_a_list():
    for name, func in _public_functions().items():
        by = inspect.signature(func).parameters.get("by")
        if by is not None and by.annotation is not inspect.Parameter.empty:
            assert "str" in str(by.annotation), f"{name}(by=...) must take a column name as well as a list"


def test_several_confidence_levels_are_honoured_not_dropped():
    table = analysis.compare_proportions(6436, 21536, 5900, 20548, confidence=(0.95, 0.998))
    assert table.groupby("statistic").size().to_dict() == {"difference": 2, "odds_ratio": 2, "rate_ratio": 2}
    single = analysis.compare_proportions(6436, 21536, 5900, 20548, confidence=0.95)
    both = table[table["confidence"] == 0.95].reset_index(drop=True)
    assert both[["statistic", "estimate", "lower", "upper"]].equals(single[["statistic", "estimate", "lower", "upper"]])
    wide = table[table["confidence"] == 0.998].set_index("statistic")
    narrow = single.set_index("statistic")
    assert (wide["lower"] < narrow["lower"]).all() and (wide["upper"] > narrow["upper"]).all()


def test_all_lists_everything_the_package_exports():
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    imported = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert imported <= set(analysis.__all__), f"add to analysis.__all__: {sorted(imported - set(analysis.__all__))}"
