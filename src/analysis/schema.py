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

import re
from collections.abc import Iterable
from typing import cast

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

CATEGORICAL: tuple[str, ...] = ("area", "sex", "age_band", "offence_group", "period")
"""Canonical categorical columns; all optional in the open schema, and their labels are the extract's own."""

CANONICAL: tuple[str, ...] = (OUTCOME, *FLAGS, *CATEGORICAL, "age", "expected", "reoffences", "person_id")
"""Every canonical column name (a column renamed to one of these takes its role)."""

_FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def natural_key(label: object) -> tuple:
    """Sort key that orders numbers inside labels by value: "2" before "10", "Area 9" before "Area 10".

    Examples
    --------
    >>> sorted(["10", "2", "1", "Area 10", "Area 9"], key=natural_key)
    ['1', '2', '10', 'Area 9', 'Area 10']
    """
    text = str(label)
    parts = re.split(r"(\d+)", text.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def age_band_key(label: object) -> tuple:
    """Sort key for age bands: by their first number, "under 18" before "18-20", "50+" last among equals.

    Examples
    --------
    >>> sorted(["48 or older", "23-27", "18-22", "under 18"], key=age_band_key)
    ['under 18', '18-22', '23-27', '48 or older']
    """
    text = str(label).strip().lower()
    match = _FIRST_NUMBER.search(text)
    first = float(match.group()) if match else float("inf")
    before = text.startswith(("under", "<", "below", "less than", "up to"))
    after = text.endswith(("+", "older", "over", "more", "above"))
    return (first, 0 if before else (2 if after else 1), natural_key(text))


def ordered_levels(column: str, values: Iterable[object]) -> list[str]:
    """The levels of a categorical column in reading order: age bands by age, everything else naturally.

    Examples
    --------
    >>> ordered_levels("area", ["11", "2", "1"]), ordered_levels("age_band", ["50+", "18-20", "10-17"])
    (['1', '2', '11'], ['10-17', '18-20', '50+'])
    """
    levels = [str(v) for v in dict.fromkeys(values)]
    known = CATEGORIES.get(column)
    if known and set(levels) <= set(known):  # the toolkit's own codes keep their documented order
        return [k for k in known if k in set(levels)]
    return sorted(levels, key=age_band_key if column == "age_band" else natural_key)


def flags_in(frame: object, *, extra: Iterable[str] = ()) -> list[str]:
    """The flags a cohort holds: the six canonical ones present, then any extras present.

    Examples
    --------
    >>> import pandas as pd
    >>> flags_in(pd.DataFrame(columns=["reoffended", "homeless", "dv", "gang"]), extra=["gang"])
    ['dv', 'homeless', 'gang']
    """
    columns = set(cast(Iterable[str], getattr(frame, "columns", frame)))  # a frame's columns, or the names given
    return [f for f in FLAGS if f in columns] + [f for f in extra if f in columns and f not in FLAGS]

OFFENCE_LABELS: dict[str, str] = {
    "violence": "Violence", "robbery": "Robbery", "public_order": "Public order", "sexual_not_child": "Sexual (not against a child)",
    "sexual_child": "Sexual (against a child)", "soliciting": "Soliciting", "burglary_domestic": "Burglary (domestic)",
    "burglary_other": "Burglary (other)", "theft_non_motor": "Theft (non-motor)", "handling": "Handling stolen goods",
    "fraud_forgery": "Fraud and forgery", "absconding_bail": "Absconding or bail offences",
    "taking_driving_away": "Taking and driving away", "theft_from_vehicles": "Theft from vehicles",
    "other_motoring": "Other motoring", "drink_driving": "Drink driving", "criminal_damage": "Criminal damage",
    "drug_import_export_production": "Drug import, export or production", "drug_possession_supply": "Drug possession or supply",
    "other": "Other",
}
"""How the toolkit's own offence codes (OGRS3's groups) read in a paper; an extract's own labels are shown as written."""


def value_label(column: str, value: object) -> str:
    """A category value as a paper shows it: the toolkit's own codes in words, anything else as written.

    Examples
    --------
    >>> value_label("offence_group", "burglary_domestic"), value_label("offence_group", "Property")
    ('Burglary (domestic)', 'Property')
    """
    text = str(value)
    if column == "offence_group":
        return OFFENCE_LABELS.get(text, text)
    return text
