"""The canonical cohort: column names, allowed categories and labels.

One row per person and cohort period. Every other module refers to these
names, so a user's extract only has to be mapped onto them once (see
:func:`analysis.cohort.load_cohort` and ``data/data_dictionary.csv``).

Examples
--------
>>> from analysis.schema import FLAGS, FLAG_LABELS
>>> FLAGS[0], FLAG_LABELS["dv"]
('dv', 'Domestic violence perpetrator')
"""

from __future__ import annotations

OUTCOME: str = "reoffended"
"""Proven reoffending within the 12-month follow-up (0/1)."""

FLAGS: tuple[str, ...] = (
    "dv",
    "child_protection",
    "mental_health",
    "substance_misuse",
    "homeless",
    "unemployed",
)
"""The six risk flags, each 0/1; a missing value means "not recorded"."""

FLAG_LABELS: dict[str, str] = {
    "dv": "Domestic violence perpetrator",
    "child_protection": "Child protection",
    "mental_health": "Mental health",
    "substance_misuse": "Substance misuse",
    "homeless": "Homeless",
    "unemployed": "Unemployed",
}

CASEMIX: tuple[str, ...] = ("area", "sex", "age_band", "offence_group", "period")
"""Case-mix columns, all required and categorical."""

OPTIONAL: tuple[str, ...] = ("expected", "reoffences", "person_id")
"""Optional columns: per-person expected probability, re-offence count, person id."""

REQUIRED: tuple[str, ...] = (OUTCOME, *FLAGS, *CASEMIX)

SEXES: tuple[str, ...] = ("Male", "Female")

AGE_BANDS: tuple[str, ...] = (
    "10-17",
    "18-20",
    "21-24",
    "25-29",
    "30-34",
    "35-39",
    "40-49",
    "50+",
)
"""Age at the start of follow-up; adult bands are those of OGRS3, 10-17 is the youth cohort."""

OFFENCE_GROUPS: tuple[str, ...] = (
    "violence",
    "robbery",
    "public_order",
    "sexual_not_child",
    "sexual_child",
    "soliciting",
    "burglary_domestic",
    "burglary_other",
    "theft_non_motor",
    "handling",
    "fraud_forgery",
    "absconding_bail",
    "taking_driving_away",
    "theft_from_vehicles",
    "other_motoring",
    "drink_driving",
    "criminal_damage",
    "drug_import_export_production",
    "drug_possession_supply",
    "other",
)
"""Index offence groups, as in OGRS3 (Howard et al. 2009)."""

CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": SEXES,
    "age_band": AGE_BANDS,
    "offence_group": OFFENCE_GROUPS,
}
"""Columns with a closed list of allowed values (area and period are open)."""

MISSING_FLAG_POLICIES: tuple[str, ...] = ("absent", "keep", "error")
"""How a flag that is not recorded is treated.

``absent``
    Not recorded is read as "flag not present" (0). This is how case-management
    flags work: a flag is raised when a need is identified. The number of rows
    affected is kept in ``cohort.attrs["not_recorded"]`` and shown by
    :func:`analysis.describe.data_quality`.
``keep``
    Kept as missing (pandas ``<NA>``); analyses of that flag drop those rows.
``error``
    Any missing flag is a validation error.
"""
