"""OGRS3: the Offender Group Reconviction Scale, version 3 (a static actuarial score).

Implements the published equation (Howard, Francis, Soothill and Humphreys,
2009, *OGRS 3: the revised Offender Group Reconviction Scale*, Ministry of
Justice Research Summary 7/09), as set out in ``docs/methods.md`` (OGRS3)::

    C = ln((1 + P) / (10 + A_conv - A_first))
    y = a_k + 1.251124464*C + G + AS[age band, sex] + OFF[offence]
    p = 1 / (1 + exp(-y))

Examples
--------
>>> round(float(ogrs3_probability(27, 16, 5, "Male", "burglary_domestic", years=1)[0]), 3)
0.27
>>> round(float(ogrs3_probability(27, 16, 5, "Male", "burglary_domestic", years=2)[0]), 3)
0.432
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["ogrs3_probability", "ogrs3_age_band", "INTERCEPTS", "AGE_SEX", "OFFENCE"]

INTERCEPTS: dict[int, float] = {1: 1.402562384, 2: 2.121705678}
COPAS_COEF: float = 1.251124464
FIRST_SANCTION: float = 0.126142106
LATER_SANCTION: float = 0.463062792

AGE_SEX: dict[tuple[str, str], float] = {
    ("18-20", "Male"): -0.625103618, ("18-20", "Female"): -0.897480934,
    ("21-24", "Male"): -1.051515067, ("21-24", "Female"): -1.028488454,
    ("25-29", "Male"): -1.166679288, ("25-29", "Female"): -1.052777806,
    ("30-34", "Male"): -1.325976554, ("30-34", "Female"): -1.129127959,
    ("35-39", "Male"): -1.368045933, ("35-39", "Female"): -1.421874940,
    ("40-49", "Male"): -1.499690953, ("40-49", "Female"): -1.524652221,
    ("50+", "Male"): -2.025261458, ("50+", "Female"): -2.449837160,
}
"""Age-band by sex terms of OGRS3 (adults only)."""

OFFENCE: dict[str, float] = {
    "violence": 0.0,
    "robbery": -0.634795912,
    "public_order": 0.181917975,
    "sexual_not_child": 0.003276327,
    "sexual_child": -0.653434071,
    "soliciting": 0.760608858,
    "burglary_domestic": -0.12394352,
    "burglary_other": 0.240604429,
    "theft_non_motor": 0.661244321,
    "handling": 0.351866973,
    "fraud_forgery": 0.159910192,
    "absconding_bail": 0.733378677,
    "taking_driving_away": 0.380059431,
    "theft_from_vehicles": 0.427225615,
    "other_motoring": 0.262228428,
    "drink_driving": -0.121439408,
    "criminal_damage": 0.204960477,
    "drug_import_export_production": -0.795556373,
    "drug_possession_supply": 0.077165871,
    "other": -0.060667525,
}
"""Offence terms of OGRS3 (violence is the reference, 0)."""

_BAND_EDGES = [(18, 20, "18-20"), (21, 24, "21-24"), (25, 29, "25-29"), (30, 34, "30-34"),
               (35, 39, "35-39"), (40, 49, "40-49")]


def ogrs3_age_band(age: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """OGRS3 age band of an age in whole years (18 and over).

    Examples
    --------
    >>> ogrs3_age_band([18, 24, 49, 50]).tolist()
    ['18-20', '21-24', '40-49', '50+']
    """
    ages = np.atleast_1d(np.asarray(age, dtype=float))
    if np.any(ages < 18):
        raise ValueError("OGRS3 is defined for adults (18 and over)")
    out = np.full(ages.shape, "50+", dtype=object)
    for low, high, label in reversed(_BAND_EDGES):
        out[(ages >= low) & (ages <= high)] = label
    return out


def ogrs3_probability(
    age: float | Sequence[float] | np.ndarray | pd.Series,
    age_first_sanction: float | Sequence[float] | np.ndarray | pd.Series,
    previous_sanctions: int | Sequence[int] | np.ndarray | pd.Series,
    sex: str | Sequence[str] | np.ndarray | pd.Series,
    offence_group: str | Sequence[str] | np.ndarray | pd.Series,
    *,
    years: int = 1,
) -> np.ndarray:
    """Predicted probability of proven reoffending within one or two years, by OGRS3.

    Parameters
    ----------
    age
        Age at the current conviction (years, 18+).
    age_first_sanction
        Age at first sanction (years, no more than ``age``).
    previous_sanctions
        Number of previous sanctions (excluding the current one).
    sex
        ``"Male"`` or ``"Female"``.
    offence_group
        Current offence, one of :data:`OFFENCE` (the canonical offence groups).
    years
        1 or 2: the follow-up of the published intercept.

    Returns
    -------
    numpy.ndarray
        Probabilities, one per person.

    Examples
    --------
    A woman of 30 at her first sanction for violence, and a man of 22 first
    sanctioned at 16, with 3 previous sanctions, now for theft. For her,
    ``C = ln(1 / 10)`` and ``y = 1.4026 + 1.2511 C + 0.1261 - 1.1291 = -2.481``,
    so ``p = 1 / (1 + e^2.481) = 0.077``; for him ``C = ln(4 / 16)`` and
    ``y = 1.4026 + 1.2511 C + 0.4631 - 1.0515 + 0.6612 = -0.259``, so ``p = 0.436``.

    >>> ogrs3_probability([30, 22], [30, 16], [0, 3], ["Female", "Male"], ["violence", "theft_non_motor"]).round(3).tolist()
    [0.077, 0.436]
    """
    if years not in INTERCEPTS:
        raise ValueError("years must be 1 or 2")
    ages = np.atleast_1d(np.asarray(age, dtype=float))
    first = np.atleast_1d(np.asarray(age_first_sanction, dtype=float))
    prev = np.atleast_1d(np.asarray(previous_sanctions, dtype=float))
    sexes = np.atleast_1d(np.asarray(sex, dtype=object))
    offences = np.atleast_1d(np.asarray(offence_group, dtype=object))
    ages, first, prev, sexes, offences = np.broadcast_arrays(ages, first, prev, sexes, offences)
    if np.any(first > ages):
        raise ValueError("age at first sanction cannot exceed the current age")
    copas = np.log((1 + prev) / (10 + ages - first))
    g = np.where(prev == 0, FIRST_SANCTION, LATER_SANCTION)
    bands = ogrs3_age_band(ages)
    try:
        age_sex = np.array([AGE_SEX[(b, s)] for b, s in zip(bands, sexes)], dtype=float)
        offence = np.array([OFFENCE[o] for o in offences], dtype=float)
    except KeyError as exc:
        raise ValueError(f"unknown sex or offence group for OGRS3: {exc.args[0]!r}") from None
    y = INTERCEPTS[years] + COPAS_COEF * copas + g + age_sex + offence
    return 1.0 / (1.0 + np.exp(-y))


def ogrs3_frame(frame: pd.DataFrame, years: int = 1) -> pd.Series:
    """OGRS3 probability for each row of a frame with ``age``, ``age_first_sanction``,
    ``previous_sanctions``, ``sex`` and ``offence_group`` columns.
    """
    return pd.Series(
        ogrs3_probability(
            frame["age"].to_numpy(),
            frame["age_first_sanction"].to_numpy(),
            frame["previous_sanctions"].to_numpy(),
            frame["sex"].astype(object).to_numpy(),
            frame["offence_group"].astype(object).to_numpy(),
            years=years,
        ),
        index=frame.index,
        name=f"ogrs3_{years}yr",
    )
