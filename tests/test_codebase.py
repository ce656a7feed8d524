"""The codebase keeps its own rules (docs/api.md, CONTRIBUTING.md).

These tests read the source and the signatures of the public API; they compute
no statistic. Each rule has a list of the places that do not follow it yet.
The list must only shrink: an entry that now follows the rule fails the test
until it is removed, so the list always says exactly what is left to change.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from conftest import make_rows

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


# Public functions of every module (not only what ``import analysis`` offers) that still take an
# option by position, as {"module.function": {parameters}}. It is empty: every public function of the
# package takes its options by keyword. It may only shrink; an entry that no longer deviates fails.
MODULE_POSITIONAL_OPTIONS_LEFT: dict[str, set[str]] = {}


def _module_public_functions() -> dict[str, object]:
    """Every public function defined in a module of the package, by ``module.name``.

    Public: no leading underscore, defined in that module (not imported into it), and listed in the
    module's ``__all__`` if it has one.
    """
    out: dict[str, object] = {}
    for path in MODULES:
        name = _module_name(path)
        module = importlib.import_module(name)
        listed = getattr(module, "__all__", None)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != name:
                continue
            if listed is None or attr in listed:
                out[f"{name}.{attr}"] = obj
    return out


def _positional_options(func) -> set[str]:
    return {
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty and p.name not in INPUTS
    }


def test_options_are_keyword_only_in_every_module():
    functions = _module_public_functions()
    deviations = {name: bad for name, func in functions.items() if (bad := _positional_options(func))}
    stale = {name: MODULE_POSITIONAL_OPTIONS_LEFT[name] for name in MODULE_POSITIONAL_OPTIONS_LEFT if name not in functions}
    assert not stale, f"these are no longer public functions of their module; take them off the list: {stale}"
    follow = sorted(name for name in MODULE_POSITIONAL_OPTIONS_LEFT if name in functions and name not in deviations)
    assert not follow, f"these now take every option by keyword; take them off the list: {follow}"
    assert deviations == MODULE_POSITIONAL_OPTIONS_LEFT, (
        "options must be keyword-only in every module (docs/api.md); a function that now follows the rule leaves the list"
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


# Public functions of every module (as ``_module_public_functions`` finds them) whose docstring has no
# Examples section yet: none. (Those that run kernels, write files or build the synthetic cohort show
# the call with ``+SKIP``.) It may only shrink; an entry that shows an example fails the test.
EXAMPLES_BEYOND_LEFT: set[str] = set()


def test_public_functions_of_every_module_show_an_example():
    functions = _module_public_functions()
    missing = {name for name, func in functions.items() if "Examples\n--------" not in (inspect.getdoc(func) or "")}
    stale = sorted(name for name in EXAMPLES_BEYOND_LEFT if name not in functions)
    assert not stale, f"these are no longer public functions of their module; take them off the list: {stale}"
    follow = sorted(EXAMPLES_BEYOND_LEFT - missing)
    assert not follow, f"these now show an example; take them off the list: {follow}"
    assert missing == EXAMPLES_BEYOND_LEFT, (
        "every public function of every module shows a short example (docs/api.md); add one or, if it needs files or kernels, "
        f"list it: {sorted(missing - EXAMPLES_BEYOND_LEFT)}"
    )


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


# ----------------------------------------------------------------- the columns of the results (rules 6 and 8)

# Public functions that return a DataFrame that is not a result to check here: the cohort itself, the
# published figures as filed, and cells read from a file by DuckDB (counts, no statistic).
NOT_RESULTS = {"load_cohort", "validate_cohort", "load_published", "cohort_cells"}
OLD_NAMES = {"ci_lower", "ci_upper", "std_error"}


def _small_cohort() -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A valid two-period cohort of 200 people a period: (the first period, the cohort, its first and second period)."""
    before, after = "2014-10/2015-09", "2015-10/2016-09"
    rows = pd.concat([make_rows(200, seed=1).assign(period=before), make_rows(200, seed=2).assign(period=after)], ignore_index=True)
    rows["person_id"] = [f"P{i:04d}" for i in range(len(rows))]
    cohort = analysis.validate_cohort(rows)
    return before, cohort, cohort[cohort["period"] == before], cohort[cohort["period"] == after]


@pytest.fixture(scope="module")
def results() -> dict[str, pd.DataFrame]:
    """Every public table function's result on a small two-period cohort (200 people a period), by name."""
    before, cohort, base, now = _small_cohort()
    model = analysis.fit_flags_model(now)
    oe = analysis.observed_vs_expected(now, "area")
    counts = now.groupby("area", observed=True)["reoffended"].agg(n="size", reoffenders="sum").reset_index()
    counts["rate"] = counts["reoffenders"] / counts["n"]
    rates = analysis.rates_by_period(cohort, period="period")
    chart = analysis.special_causes(analysis.p_chart(rates))
    sim = analysis.simulate_intervention(n=300, seed=1)
    covariates = list(sim.attrs["covariates"])
    matches = analysis.match_nearest(sim, "took_part", covariates)
    log = analysis.DisclosureLog()
    out = {
        "compare_proportions": analysis.compare_proportions(30, 100, 20, 100),
        "proportion_ci": analysis.proportion_ci([30], [100]),
        "ratio_ci": analysis.ratio_ci([30], [25.0]),
        "recompute_derived": analysis.recompute_derived(),
        "compare_with_rest": analysis.compare_with_rest(now, "area"),
        "observed_vs_expected": oe,
        "estimate_overdispersion": analysis.estimate_overdispersion([1.5, -0.5, 2.0, 0.1], [0.1, 0.2, 0.1, 0.2]),
        "funnel_units": analysis.funnel_units(oe),
        "funnel_limits": analysis.funnel_limits(oe, points=5),
        "attributable_fractions": analysis.attributable_fractions(model, flags=["dv", "homeless"]),
        "calibration": analysis.calibration(model, base),
        "calibration_table": analysis.calibration_table(model),
        "discrimination": analysis.discrimination(model),
        "flag_collinearity": analysis.flag_collinearity(model),
        "flag_effect_by": analysis.flag_effect_by(now, "dv", "sex"),
        "hosmer_lemeshow": analysis.hosmer_lemeshow(model),
        "interaction_tests": analysis.interaction_tests(now, flags=["dv"], by="sex"),
        "apply_disclosure_control": analysis.apply_disclosure_control(counts, count_columns=["n", "reoffenders"], labels=["area"]),
        "suppress_rates": analysis.suppress_rates(counts, "reoffenders", "n", ["rate"], labels=["area"]),
        "suppress_crosstab": analysis.suppress_crosstab(pd.crosstab(now["area"], now["sex"], margins=True)),
        "publish_rates": analysis.publish_rates(counts, name="rates", labels=["area"], log=log),
        "publish_observed_expected": analysis.publish_observed_expected(oe, name="oe", log=log),
        "oe_with_model_uncertainty": analysis.oe_with_model_uncertainty(base, now, "area"),
        "data_lag": analysis.data_lag(as_of="2024-03-31"),
        "oe_by_period": analysis.oe_by_period(cohort, before, ["sex"]),
        "rates_by_period": rates,
        "p_chart": analysis.p_chart(rates),
        "special_causes": chart,
        "variation_and_assurance": analysis.variation_and_assurance(chart),
        "xmr_chart": analysis.xmr_chart([10, 12, 11, 13, 12]),
        "simulate_intervention": sim,
        "propensity_scores": analysis.propensity_scores(sim, "took_part", covariates),
        "common_support": analysis.common_support(sim, "took_part", covariates),
        "match_nearest": matches,
        "matched_effect": analysis.matched_effect(sim, matches),
        "ipw_att": analysis.ipw_att(sim, "took_part", covariates),
        "balance": analysis.balance(sim, "took_part", covariates, matches=matches),
    }
    for name, member in vars(analysis.FlagsModel).items():  # the model's tables
        if isinstance(member, property) and "DataFrame" in str(inspect.signature(member.fget).return_annotation):
            out[f"FlagsModel.{name}"] = getattr(model, name)
    return out


def test_every_public_table_function_is_run_on_the_small_cohort(results):
    frames = {name for name, func in _public_functions().items() if "DataFrame" in str(inspect.signature(func).return_annotation)}
    assert frames - NOT_RESULTS == {name for name in results if "." not in name}, "add the new table function to results()"
    assert {"FlagsModel.coefficients", "FlagsModel.odds_ratios", "FlagsModel.marginal_effects"} <= set(results)


def test_interval_bounds_are_lower_and_upper_and_standard_errors_se(results):
    for name, frame in results.items():
        assert isinstance(frame, pd.DataFrame), name
        columns = set(frame.columns)
        assert not columns & OLD_NAMES, f"{name} has {sorted(columns & OLD_NAMES)}: bounds are lower/upper, errors se (docs/api.md rule 8)"
        assert ("lower" in columns) == ("upper" in columns), f"{name} has one bound of an interval without the other"
        for column in columns:
            if column.endswith("_lower"):
                assert column.removesuffix("_lower") + "_upper" in columns, f"{name} has {column} without its upper bound"


def test_a_function_that_logs_takes_log_by_keyword_and_returns_one_thing():
    """Rule 6: one kind of return. A function that records to a DisclosureLog takes it as an optional ``log=`` and returns its result alone."""
    for name, func in _public_functions().items():
        parameters = inspect.signature(func).parameters
        if "log" not in parameters:
            continue
        log = parameters["log"]
        assert log.kind is inspect.Parameter.KEYWORD_ONLY and log.default is None, f"{name}: log= is keyword-only and optional"
        returns = str(inspect.signature(func).return_annotation)
        assert "tuple" not in returns and "DisclosureLog" not in returns, f"{name} returns {returns}: return the result alone"
    assert {"suppress_counts", "suppress_crosstab", "suppress_rates", "apply_disclosure_control", "publish_rates",
            "publish_observed_expected", "check_model_dof"} <= {n for n, f in _public_functions().items() if "log" in inspect.signature(f).parameters}


def test_numbers_are_fractions_not_percentages(results):
    """Rule 6: no table names a column in percent or percentage points; the papers do the x100 where they print."""
    for name, frame in results.items():
        scaled = sorted(c for c in frame.columns if str(c).endswith(("_pct", "_pp")))
        assert not scaled, f"{name} has {scaled}: return fractions under a plain name (docs/api.md rule 6)"


# ----------------------------------------------------------------- the method codes (rule 7)

METHOD_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _more_tables() -> dict[str, pd.DataFrame]:
    """Tables with a ``method`` column from public functions beyond ``analysis.__all__`` (and the other paths of some)."""
    from analysis import describe, intervals, spc

    before, cohort, base, now = _small_cohort()
    rates = analysis.rates_by_period(cohort, period="period", where="dv")
    large = pd.DataFrame({"period": ["Q1", "Q2", "Q3", "Q4"], "n": [60000] * 4, "events": [18000, 18600, 17400, 18000]})
    sim = analysis.simulate_intervention(n=300, seed=1)
    firth = analysis.fit_flags_model(now, firth=True, interactions=[("dv", "sex")])
    return {
        "describe.rates_by": describe.rates_by(now, "area"),
        "describe.rates_by_flag": describe.rates_by_flag(now),
        "describe.flag_prevalence": describe.flag_prevalence(now),
        "intervals.two_proportion_frame": intervals.two_proportion_frame(*(np.array([v]) for v in (30, 100, 20, 100))),
        "proportion_ci(jeffreys, clopper-pearson)": pd.concat([analysis.proportion_ci([3], [10], method=m) for m in ("jeffreys", "clopper-pearson")]),
        "spc.rate_chart(auto)": analysis.special_causes(spc.rate_chart(large)),
        "spc.rate_chart(p)": spc.rate_chart(rates, chart="p"),
        "xmr_chart(screened)": analysis.xmr_chart([10, 12, 11, 30, 12, 11], screen_outliers=True, baseline=4),
        "observed_vs_expected(byar, no rest, reference rate)": analysis.observed_vs_expected(now, "area", method="byar", compare_rest=False,
                                                                                             reference_rate=0.4),
        "calibration_table(quantile, data)": analysis.calibration_table(analysis.fit_flags_model(base), now, grouping="quantile"),
        "funnel_units(proportion)": analysis.funnel_units(now.groupby("area", observed=True)["reoffended"].agg(observed="sum", n="size")
                                                          .reset_index().rename(columns={"area": "group"}), kind="proportion"),
        "match_nearest(logit)": analysis.match_nearest(sim.assign(lp=np.linspace(-1, 1, len(sim))), "took_part", logit="lp", caliper=None),
        "FlagsModel(firth).odds_ratios": firth.odds_ratios,
        "FlagsModel(firth).comparison": firth.comparison,
        "FlagsModel.unadjusted": analysis.fit_flags_model(now).unadjusted,
    }


def test_method_columns_hold_stable_codes_that_have_words(results):
    """Rule 7: a ``method`` column holds snake_case codes (joined by ``+`` when applied one after another), each with its
    words in the presentation layer, which compose from the table's own columns (and, for a propensity model, the
    treatment and covariates its ``attrs`` name)."""
    from analysis.paper.method_text import CODE_SEPARATOR, METHOD_WORDS, table_method_words

    tables = {**results, **_more_tables()}
    seen: set[str] = set()
    for name, frame in tables.items():
        for column in ("method", "ratio_method"):
            if column not in frame.columns:
                continue
            codes = set(frame[column].dropna().astype(str))
            assert codes or frame.empty, f"{name}: the {column} column is empty"
            for code in codes:
                parts = code.split(CODE_SEPARATOR)
                bad = [p for p in parts if not METHOD_CODE.match(p)]
                assert not bad, f"{name}: {column} holds {code!r}, not a code (docs/api.md rule 7)"
                missing = [p for p in parts if p not in METHOD_WORDS]
                assert not missing, f"{name}: add the words of {missing} to analysis.paper.method_text.METHOD_WORDS"
                seen.update(parts)
            extra = {k: frame.attrs[k] for k in ("treatment", "covariates") if k in frame.attrs and k not in frame.columns}
            words = table_method_words(frame, column=column, **extra)
            assert words.map(lambda w: isinstance(w, str) and len(w) > 3).all(), name
    for name in ("delong", "p_chart", "xmr", "special_causes", "xmr_rate", "shapley_paf", "firth_profile", "oe_byar", "jeffreys"):
        assert name in seen, f"no table of this test wrote {name!r}"


# Functions that take one level but do not yet say so when given several (issue 11, rule 5): none left.
ONE_LEVEL_LEFT: set[str] = set()


def test_several_confidence_levels_are_honoured_or_refused_with_a_clear_error():
    """Rule 5 over every public function with a ``confidence`` argument: one row per level, or a ValueError."""
    before, cohort, base, now = _small_cohort()
    model = analysis.fit_flags_model(now)
    oe = analysis.observed_vs_expected(now, "area")
    sim = analysis.simulate_intervention(n=300, seed=1)
    covariates = list(sim.attrs["covariates"])
    both = (0.95, 0.998)
    calls = {
        "attributable_fractions": lambda c: analysis.attributable_fractions(model, flags=["dv"], confidence=c),
        "calibration": lambda c: analysis.calibration(model, base, confidence=c),
        "calibration_table": lambda c: analysis.calibration_table(model, confidence=c),
        "compare_proportions": lambda c: analysis.compare_proportions(30, 100, 20, 100, confidence=c),
        "compare_with_rest": lambda c: analysis.compare_with_rest(now, "area", confidence=c),
        "discrimination": lambda c: analysis.discrimination(model, confidence=c),
        "fit_flags_model": lambda c: analysis.fit_flags_model(now, confidence=c),
        "fit_logistic": lambda c: analysis.fit_logistic(now, ["dv"], confidence=c),
        "flag_effect_by": lambda c: analysis.flag_effect_by(now, "dv", "sex", confidence=c),
        "funnel_limits": lambda c: analysis.funnel_limits(oe, points=5, confidence=c),
        "funnel_units": lambda c: analysis.funnel_units(oe, confidence=c),
        "observed_vs_expected": lambda c: analysis.observed_vs_expected(now, "area", confidence=c),
        "oe_by_period": lambda c: analysis.oe_by_period(cohort, before, ["sex"], confidence=c),
        "oe_with_model_uncertainty": lambda c: analysis.oe_with_model_uncertainty(base, now, "area", confidence=c),
        "proportion_ci": lambda c: analysis.proportion_ci([30], [100], confidence=c),
        "rates_by_period": lambda c: analysis.rates_by_period(cohort, period="period", confidence=c),
        "ipw_att": lambda c: analysis.ipw_att(sim, "took_part", covariates, confidence=c),
        "matched_effect": lambda c: analysis.matched_effect(sim, analysis.match_nearest(sim, "took_part", covariates), confidence=c),
        "ratio_ci": lambda c: analysis.ratio_ci([30], [25.0], confidence=c),
    }
    takes = {n for n, f in _public_functions().items() if "confidence" in inspect.signature(f).parameters}
    assert takes - ONE_LEVEL_LEFT - {"funnel_plot"} == set(calls), "add the new function to this test"  # funnel_plot draws funnel_limits
    for name, call in calls.items():
        try:
            result = call(both)
        except ValueError as err:
            assert "takes one confidence level" in str(err) and "0.998" in str(err), (name, err)
            continue
        frame = result if isinstance(result, pd.DataFrame) else None
        assert frame is not None and "confidence" in frame.columns, f"{name} neither honours nor refuses several levels"
        assert set(frame["confidence"]) == set(both), name
