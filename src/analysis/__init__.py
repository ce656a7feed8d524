"""Risk flags and proven reoffending: the analysis package behind the notebooks.

The public functions are re-exported here so that notebooks and scripts can
write ``import analysis`` and call ``analysis.load_cohort(...)``.

Examples
--------
>>> import analysis
>>> analysis.FLAGS[:2]
('dv', 'child_protection')
"""

from .schema import AGE_BANDS, CASEMIX, FLAG_LABELS, FLAGS, OFFENCE_GROUPS, OUTCOME, SEXES
from .errors import CohortError, Problem
from .cohort import DataQuality, StudyData, load_cohort, open_study, read_mapping, validate_cohort
from .study import Study, read_study
from .intervals import compare_proportions, proportion_ci
from .ogrs3 import ogrs3_probability
from .published import load_published, recompute_derived

__version__ = "0.1.0"
from .notebook import setup
from .paths import DEFAULT_COHORT, DEFAULT_STUDY

# Modules added by later work append their exports below this line.
from .models import FlagsModel, fit_flags_model, fit_logistic
from .expected import check_comparison, expected_probabilities
from .intervals import RATIO_METHODS, ratio_ci
from .observed_expected import compare_with_rest, expected_from, observed_vs_expected
from .funnel import estimate_overdispersion, funnel_limits, funnel_plot, funnel_units
from .attributable import attributable_fractions, paf_sentences
from .diagnostics import (
    calibration,
    calibration_plot,
    calibration_table,
    discrimination,
    flag_collinearity,
    flag_effect_by,
    hosmer_lemeshow,
    interaction_tests,
)
from .disclosure import DisclosureLog, apply_disclosure_control, check_model_dof, publish_observed_expected, publish_rates, suppress_counts, suppress_crosstab, suppress_rates
from .expected_uncertainty import oe_with_model_uncertainty
from .spc import data_lag, oe_by_period, p_chart, rates_by_period, special_causes, variation_and_assurance, xmr_chart
from .outofcore import cohort_cells
from .impact import balance, common_support, impact_sentence, ipw_att, jdl_caveats, match_nearest, match_weights, matched_effect, propensity_scores, simulate_intervention

__all__ = [
    "AGE_BANDS",
    "CASEMIX",
    "FLAG_LABELS",
    "FLAGS",
    "OFFENCE_GROUPS",
    "OUTCOME",
    "SEXES",
    "CohortError",
    "Problem",
    "DataQuality",
    "StudyData",
    "load_cohort",
    "open_study",
    "read_mapping",
    "validate_cohort",
    "Study",
    "read_study",
    "compare_proportions",
    "proportion_ci",
    "ogrs3_probability",
    "load_published",
    "recompute_derived",
    "setup",
    "DEFAULT_COHORT",
    "DEFAULT_STUDY",
    "FlagsModel",
    "fit_flags_model",
    "fit_logistic",
    "check_comparison",
    "expected_probabilities",
    "RATIO_METHODS",
    "ratio_ci",
    "compare_with_rest",
    "expected_from",
    "observed_vs_expected",
    "estimate_overdispersion",
    "funnel_limits",
    "funnel_plot",
    "funnel_units",
    "attributable_fractions",
    "cohort_cells",
    "paf_sentences",
    "calibration",
    "calibration_plot",
    "calibration_table",
    "discrimination",
    "flag_collinearity",
    "flag_effect_by",
    "hosmer_lemeshow",
    "interaction_tests",
    "DisclosureLog",
    "apply_disclosure_control",
    "check_model_dof",
    "publish_observed_expected",
    "publish_rates",
    "suppress_counts",
    "suppress_crosstab",
    "suppress_rates",
    "oe_with_model_uncertainty",
    "data_lag",
    "oe_by_period",
    "p_chart",
    "rates_by_period",
    "special_causes",
    "variation_and_assurance",
    "xmr_chart",
    "balance",
    "common_support",
    "impact_sentence",
    "ipw_att",
    "jdl_caveats",
    "match_nearest",
    "match_weights",
    "matched_effect",
    "propensity_scores",
    "simulate_intervention",
    "__version__",
]
"""The public API: what ``import analysis`` offers, each documented with an example (docs/api.md)."""
