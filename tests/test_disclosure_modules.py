"""Disclosure control keeps one concept per module (issue 11): rules, log, table adapters.

``analysis.disclosure`` stays the one import callers need: it re-exports the
rules and the log, as the same objects.
"""

from __future__ import annotations

import ast
from pathlib import Path

import analysis.disclosure as tables
import analysis.disclosure_log as log
import analysis.disclosure_rules as rules

PACKAGE = Path(tables.__file__).parent


def _imported_modules(name: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level and node.module}


def test_the_table_adapters_module_re_exports_the_rules_and_the_log():
    for module in (rules, log):
        for name in module.__all__:
            assert getattr(tables, name) is getattr(module, name), f"analysis.disclosure.{name}"


def test_callers_names_are_still_importable_from_disclosure():
    # the names other modules, papers, notebooks and tests import from analysis.disclosure
    names = {"PRESETS", "DERIVED_COLUMNS", "FROM_OBSERVED_COLUMNS", "DisclosureLog", "DofCheck", "ZeroPolicy",
             "apply_disclosure_control", "check_model_dof", "check_zero_policy", "is_small", "primary_rule_text",
             "publish_observed_expected", "publish_rates", "quoted", "recoverable_cells", "resolve_threshold",
             "round_to_base", "suppress_counts", "suppress_crosstab", "suppress_rates"}
    assert not [n for n in sorted(names) if not hasattr(tables, n)]


def test_the_log_and_the_rules_do_not_depend_on_the_table_adapters():
    assert _imported_modules("disclosure_log") == set()
    assert _imported_modules("disclosure_rules") == {"disclosure_log"}


def test_the_non_events_rule_reads_as_the_primary_rule_does():
    assert rules.non_events_rule_text("reoffenders", "n", 10, "suppress") == "non-events (n - reoffenders) < 10 (zero included)"
    assert rules.non_events_rule_text("reoffenders", "n", 5, "show") == "non-events (n - reoffenders) < 5"
    assert rules.primary_rule_text(10, "suppress") == "primary: count < 10 (zeros included)"
