"""A synthetic parole extract: rearrest within three years of release, by residence area.

No real person is in these data. The extract imitates what an analyst might
export from a parole service's case-management system, and is shaped nothing
like the toolkit's default cohort (:mod:`analysis.synthetic`): its own column
names and codings, a three-year rearrest outcome, four of the six flags (two
of them only derivable from raw columns), one extra flag, its own age bands, a
numeric risk score, sixteen numbered areas, semicolons and decimal commas, and
no period column. ``examples/rearrest/study.toml`` reads it.

Run ``python -m analysis.examples.rearrest`` to (re)write
``examples/rearrest/extract.csv`` and ``examples/rearrest/manifest.json``
(seed, library versions, SHA-256); a rerun gives byte-identical files on the
same library versions.

The file
--------
6,000 rows, one per person released, 18 columns, ``;``-separated, UTF-8, a
decimal comma, blank cells for "not recorded":

``ID``
    Person id, a unique six-digit number; rows are in ID order.
``Residence_Area``
    Area code 1-16 (:data:`AREA_SIZES`); area 7 is small (52 people).
``Sex``
    ``M`` / ``F``.
``Age_At_Release``
    ``18-22``, ``23-27``, ``28-32``, ``33-37``, ``38-42``, ``43-47``, ``48 or older``.
``Offence_Category``
    ``Property``, ``Violent/Non-Sex``, ``Violent/Sex``, ``Drug``, ``Other``;
    blank in about 4% of rows.
``Supervision_Status``
    ``Completed``, ``Active`` or ``Transferred out`` (about 3%, which the
    study's ``[filter]`` drops).
``Supervision_Level``
    ``Low``, ``Medium``, ``High``, ``Intensive``: set from the risk score
    with some overrides; not in the outcome model.
``Risk_Score``
    Integer 1-10 from the service's risk tool.
``Prior_Arrests``
    Count of arrests before the index offence; not in the outcome model.
``Prior_DV_Arrest``
    ``Y`` / ``N``: the domestic-violence flag.
``MH_Condition``
    ``TRUE`` / ``FALSE``: the mental-health flag.
``Gang_Member``
    ``Yes`` / ``No``, blank for some women (the question is not always asked
    of women): the extra flag.
``Positive_Tests_THC``, ``Positive_Tests_Cocaine``, ``Positive_Tests_Meth``
    Counts of positive drug tests on supervision; substance misuse is "any of
    the three > 0".
``Pct_Days_Employed``
    Share of supervised days in work, 0-1 with two decimals and a decimal
    comma (``0,45``); unemployed is "< 0,5".
``Rearrested_Within_3yrs``
    ``Yes`` / ``No``: the outcome.

How it is built (every assumption; ``examples/rearrest/README.md`` repeats them)
-----------------------------------------------------------------------------
1. People: :data:`AREA_SIZES` people per area (6,000 in all); women
   :data:`FEMALE_SHARE`; age band from :data:`AGE_BAND_SHARES`; index offence
   from :data:`OFFENCE_SHARES` (by sex), independent of everything else.
2. Latent traits: six correlated standard normals
   (:data:`LATENT_CORRELATION`): a "criminality" and one latent per flag
   (domestic violence, mental health, substance misuse, unemployment, gang).
   Each area shifts criminality by :data:`AREA_CRIMINALITY_SHIFT`, so areas
   differ in case mix (risk score and, through the correlations, flags).
3. Flags: a flag is present when its latent plus shifts (women:
   :data:`FEMALE_FLAG_SHIFT`; gang by age band: :data:`GANG_AGE_SHIFT`)
   exceeds the normal quantile of :data:`FLAG_PREVALENCE` (the prevalence
   among men with no shift). Flags therefore co-occur with each other and
   with criminality as in the correlation matrix (e.g. substance misuse with
   mental health 0.35, gang with criminality 0.40).
4. Risk score: ``0.85 * criminality + RISK_SCORE_AGE_SHIFT[band] + 0.5 * noise``,
   scaled by :data:`RISK_SCORE_SCALE` around :data:`RISK_SCORE_CENTRE`,
   rounded and clipped to 1-10. It thus reflects criminal history, age and
   (through criminality) the flags, but not the flags themselves.
5. Raw columns behind the derived flags: a person with substance misuse has
   at least one positive test (each drug positive with the probabilities in
   :data:`DRUG_POSITIVE`, ``1 + Poisson(1.2)`` tests when positive; THC if none
   came up); everyone else has none. ``Pct_Days_Employed`` is 0-0.49 for the
   unemployed (0 for 45% of them) and 0.50-1 for the rest (1 for 35%).
6. Gang recording: every man has ``Yes``/``No``; a woman who is a gang
   member has ``Yes``; other women have ``No`` with probability
   :data:`WOMEN_GANG_ASKED`, otherwise blank. A blank therefore always means
   "not a gang member", and the study's ``missing_flags = "absent"`` is right.
7. Outcome: rearrest within three years drawn once from the logistic model

   ``logit p = INTERCEPT + RISK_SCORE_LOG_ODDS * Risk_Score
   + sum of log(FLAG_ODDS_RATIOS[flag]) * flag + AGE_LOG_ODDS[band]
   + FEMALE_LOG_ODDS * female + OFFENCE_LOG_ODDS[offence] + AREA_LOG_ODDS[area]``

   with the true (not the blanked) offence. Reference levels (log-odds 0):
   age 18-22, men, Property, area 1. Area 11's +0.70 is an excess that its
   case mix does not explain; the other area effects are small.
8. Recording: ``Offence_Category`` is blanked at random (MCAR) in
   :data:`OFFENCE_BLANK_SHARE` of rows; ``Supervision_Status`` is
   ``Transferred out`` at random in :data:`TRANSFERRED_OUT_SHARE` of rows
   (independent of the outcome, so dropping them leaves the model unchanged).
   ``Supervision_Level`` follows the risk score (1-3 Low, 4-6 Medium, 7-8
   High, 9-10 Intensive) with one level up or down for
   :data:`LEVEL_OVERRIDE_SHARE` of people; ``Prior_Arrests`` is
   ``Poisson(Gamma(2, exp(1.4 + 0.5 * criminality) / 2))``.

The rearrest rate is about 55% overall.

Examples
--------
>>> from analysis.examples.rearrest import generate_extract
>>> extract = generate_extract()
>>> extract.shape
(6000, 19)
>>> sorted(extract["Rearrested_Within_3yrs"].unique())
['No', 'Yes']
>>> int(extract["Residence_Area"].max())
16
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from scipy.special import expit, ndtri

from ..paths import EXAMPLES_DIR

__all__ = [
    "generate_extract",
    "write_example",
    "true_log_odds",
    "housing_programme",
    "true_att",
    "TRUE_ATT",
    "DEFAULT_SEED",
    "EXAMPLE_DIR",
    "COLUMNS",
]

DEFAULT_SEED: int = 20192021
"""Seed of the committed extract."""

EXAMPLE_DIR: Path = EXAMPLES_DIR / "rearrest"
"""Where ``python -m analysis.examples.rearrest`` writes by default."""

COLUMNS: tuple[str, ...] = (
    "ID",
    "Residence_Area",
    "Sex",
    "Age_At_Release",
    "Offence_Category",
    "Supervision_Status",
    "Supervision_Level",
    "Risk_Score",
    "Prior_Arrests",
    "Prior_DV_Arrest",
    "MH_Condition",
    "Gang_Member",
    "Positive_Tests_THC",
    "Positive_Tests_Cocaine",
    "Positive_Tests_Meth",
    "Pct_Days_Employed",
    "Rearrested_Within_3yrs",
    "Release_Date",
    "Housing_Programme",
)
"""The extract's columns, in file order."""

DATE_STREAM: int = 1
"""Spawn key of the random stream of ``Release_Date``: drawn last, from a stream of its own, so no other column changed."""

IMPACT_STREAM: int = 2
"""Spawn key of the random stream of ``Housing_Programme``: drawn last, from a stream of its own, so no other column changed."""

IMPACT_COVARIATES: tuple[str, ...] = ("sex", "age_band", "substance_misuse", "unemployed")
"""What taking part in the housing programme depends on (its assumed referral criteria), the exact patterns within
which participants are swapped, and the example's ``[impact] covariates`` (in the study's names)."""

IMPACT_INTERCEPT: float = -3.2
"""Log odds of a place on the housing programme for a man of 48 or older with neither flag (about 4%)."""

IMPACT_LOG_ODDS: dict[str, float] = {"substance_misuse": 0.9, "unemployed": 0.7, "F": 0.4, "18-22": 0.6, "23-27": 0.4}
"""Assumed: who takes part. Younger people, drug users and the unemployed, the most likely to be rearrested."""

IMPACT_MOVE_SHARE: float = 0.09
"""Share of participants who were rearrested swapped for a like non-participant who was not (the embedded effect)."""

TRUE_ATT: float = -0.07097586649131564
"""The effect embedded in the example: about -7.1 points of rearrest, among the 649 participants the study keeps
(its [filter]), by exact stratification on :data:`IMPACT_COVARIATES` (:func:`true_att`)."""

RELEASE_YEARS: tuple[int, int] = (2019, 2021)
"""``Release_Date`` is uniform over the days of these years (the extract's "released 2019-2021")."""

# --------------------------------------------------------------------------- people

AREA_SIZES: dict[int, int] = {
    1: 680, 2: 410, 3: 980, 4: 300, 5: 515, 6: 265, 7: 52, 8: 340,
    9: 785, 10: 190, 11: 455, 12: 380, 13: 230, 14: 148, 15: 170, 16: 100,
}
"""Assumed people released per residence area (6,000); area 7 is the small one."""

AREA_CRIMINALITY_SHIFT: dict[int, float] = {
    1: 0.00, 2: -0.10, 3: 0.30, 4: -0.20, 5: 0.10, 6: -0.30, 7: 0.20, 8: -0.10,
    9: 0.20, 10: -0.20, 11: 0.00, 12: 0.10, 13: -0.10, 14: 0.35, 15: -0.25, 16: 0.00,
}
"""Assumed shift of the latent criminality by area: the areas' case mix differs."""

FEMALE_SHARE: float = 0.12
"""Assumed share of women among people released."""

AGE_BANDS: tuple[str, ...] = ("18-22", "23-27", "28-32", "33-37", "38-42", "43-47", "48 or older")
"""The extract's own age bands at release (not OGRS3's)."""

AGE_BAND_SHARES: dict[str, float] = {
    "18-22": 0.14, "23-27": 0.19, "28-32": 0.19, "33-37": 0.16, "38-42": 0.12, "43-47": 0.09, "48 or older": 0.11,
}
"""Assumed age distribution at release."""

OFFENCES: tuple[str, ...] = ("Property", "Violent/Non-Sex", "Violent/Sex", "Drug", "Other")
"""The extract's offence categories."""

OFFENCE_SHARES: dict[str, dict[str, float]] = {
    "M": {"Property": 0.32, "Violent/Non-Sex": 0.28, "Violent/Sex": 0.06, "Drug": 0.20, "Other": 0.14},
    "F": {"Property": 0.42, "Violent/Non-Sex": 0.18, "Violent/Sex": 0.01, "Drug": 0.24, "Other": 0.15},
}
"""Assumed index-offence mix by sex."""

# --------------------------------------------------------------------------- flags and risk score

LATENT: tuple[str, ...] = ("criminality", "dv", "mental_health", "substance_misuse", "unemployed", "gang")
"""The latent normals, in the order of :data:`LATENT_CORRELATION`."""

LATENT_CORRELATION: np.ndarray = np.array(
    [
        # crim   dv    mh    sm   unemp  gang
        [1.00, 0.20, 0.10, 0.35, 0.30, 0.40],
        [0.20, 1.00, 0.15, 0.25, 0.10, 0.10],
        [0.10, 0.15, 1.00, 0.35, 0.30, 0.00],
        [0.35, 0.25, 0.35, 1.00, 0.30, 0.20],
        [0.30, 0.10, 0.30, 0.30, 1.00, 0.20],
        [0.40, 0.10, 0.00, 0.20, 0.20, 1.00],
    ]
)
"""Assumed correlations of criminality and the five flags' latents."""

FLAG_PREVALENCE: dict[str, float] = {
    "dv": 0.20, "mental_health": 0.30, "substance_misuse": 0.45, "unemployed": 0.55, "gang": 0.15,
}
"""Assumed prevalence of each flag among men before the age and area shifts."""

FEMALE_FLAG_SHIFT: dict[str, float] = {"dv": -0.8, "mental_health": 0.4, "gang": -1.0}
"""Assumed latent shifts for women: fewer DV arrests and gang members, more mental-health conditions."""

GANG_AGE_SHIFT: dict[str, float] = {
    "18-22": 0.5, "23-27": 0.3, "28-32": 0.1, "33-37": -0.1, "38-42": -0.3, "43-47": -0.5, "48 or older": -0.8,
}
"""Assumed latent gang shift by age band: gang membership is commoner among the young."""

RISK_SCORE_AGE_SHIFT: dict[str, float] = {
    "18-22": 0.40, "23-27": 0.25, "28-32": 0.10, "33-37": 0.00, "38-42": -0.15, "43-47": -0.30, "48 or older": -0.45,
}
"""Assumed contribution of age to the risk tool's latent score (younger: higher)."""

RISK_SCORE_CENTRE: float = 5.0
RISK_SCORE_SCALE: float = 1.8
"""``Risk_Score = clip(round(RISK_SCORE_CENTRE + RISK_SCORE_SCALE * latent score), 1, 10)``."""

DRUG_POSITIVE: dict[str, float] = {"THC": 0.65, "Cocaine": 0.35, "Meth": 0.20}
"""Assumed chance that a person with substance misuse has positive tests for each drug."""

WOMEN_GANG_ASKED: float = 0.40
"""Assumed share of women who are not gang members whose ``Gang_Member`` is recorded ``No`` (the rest blank)."""

OFFENCE_BLANK_SHARE: float = 0.04
"""Share of rows whose ``Offence_Category`` is blank, at random."""

TRANSFERRED_OUT_SHARE: float = 0.03
"""Share of rows ``Transferred out`` (to be dropped by the study's filter), at random."""

ACTIVE_SHARE: float = 0.35
"""Share of the others still ``Active`` on supervision (the rest ``Completed``)."""

LEVEL_OVERRIDE_SHARE: float = 0.10
"""Share of people whose supervision level is overridden one level up or down."""

# --------------------------------------------------------------------------- the outcome model

INTERCEPT: float = -1.55
"""Log-odds of rearrest at the reference levels with a risk score of 0 and no flags."""

RISK_SCORE_LOG_ODDS: float = 0.30
"""Log-odds per point of ``Risk_Score`` (odds ratio 1.35 a point, about 15 from 1 to 10)."""

FLAG_ODDS_RATIOS: dict[str, float] = {
    "dv": 1.3, "mental_health": 1.4, "substance_misuse": 1.8, "unemployed": 1.6, "gang": 2.0,
}
"""True adjusted odds ratios of the flags (the model uses their logarithms)."""

AGE_LOG_ODDS: dict[str, float] = {
    "18-22": 0.0, "23-27": -0.10, "28-32": -0.25, "33-37": -0.40, "38-42": -0.55, "43-47": -0.75, "48 or older": -1.05,
}
"""Log-odds by age band, 18-22 the reference."""

FEMALE_LOG_ODDS: float = -0.30
"""Log-odds for women, men the reference."""

OFFENCE_LOG_ODDS: dict[str, float] = {
    "Property": 0.0, "Violent/Non-Sex": -0.15, "Violent/Sex": -0.70, "Drug": 0.10, "Other": -0.25,
}
"""Log-odds by (true) index offence, Property the reference."""

AREA_LOG_ODDS: dict[int, float] = {
    1: 0.00, 2: -0.10, 3: 0.05, 4: 0.15, 5: -0.05, 6: -0.15, 7: 0.10, 8: 0.00,
    9: -0.10, 10: 0.10, 11: 0.70, 12: -0.05, 13: 0.05, 14: -0.10, 15: 0.00, 16: -0.10,
}
"""Log-odds by residence area, area 1 the reference: area 11 is clearly above its case mix."""


def true_log_odds() -> dict[str, float]:
    """The true coefficients, named as ``statsmodels`` names the terms of a formula over the study's columns.

    The formula is ``reoffended ~ dv + mental_health + substance_misuse +
    unemployed + gang + risk_score + C(age_band) + C(sex, Treatment('Male'))
    + C(offence_group, Treatment('Property')) + C(area)`` with the study's
    recodes (sex ``Male``/``Female``); drop the ``C(area)`` terms for the
    study's own adjustment, which leaves area out.

    Returns
    -------
    dict
        Term name to true log-odds (the intercept is not included: it depends
        on which terms are in the model).

    Examples
    --------
    >>> coefs = true_log_odds()
    >>> round(coefs["gang"], 3), coefs["risk_score"], coefs["C(area)[T.11]"]
    (0.693, 0.3, 0.7)
    """
    out: dict[str, float] = {flag: float(np.log(ratio)) for flag, ratio in FLAG_ODDS_RATIOS.items()}
    out["risk_score"] = RISK_SCORE_LOG_ODDS
    out.update({f"C(age_band)[T.{band}]": value for band, value in AGE_LOG_ODDS.items() if band != AGE_BANDS[0]})
    out["C(sex, Treatment('Male'))[T.Female]"] = FEMALE_LOG_ODDS
    out.update(
        {f"C(offence_group, Treatment('Property'))[T.{o}]": v for o, v in OFFENCE_LOG_ODDS.items() if o != "Property"}
    )
    out.update({f"C(area)[T.{a}]": v - AREA_LOG_ODDS[1] for a, v in AREA_LOG_ODDS.items() if a != 1})
    return out


# --------------------------------------------------------------------------- generation


def _people(rng: np.random.Generator) -> pd.DataFrame:
    area = np.repeat(np.array(list(AREA_SIZES), dtype=np.int64), list(AREA_SIZES.values()))
    n = area.size
    female = rng.random(n) < FEMALE_SHARE
    band = rng.choice(len(AGE_BANDS), size=n, p=np.array([AGE_BAND_SHARES[b] for b in AGE_BANDS]))
    offence = np.empty(n, dtype=object)
    for sex, mask in (("M", ~female), ("F", female)):
        shares = np.array([OFFENCE_SHARES[sex][o] for o in OFFENCES])
        offence[mask] = np.array(OFFENCES, dtype=object)[rng.choice(len(OFFENCES), size=int(mask.sum()), p=shares)]
    return pd.DataFrame(
        {
            "area": area,
            "female": female,
            "age_band": np.array(AGE_BANDS, dtype=object)[band],
            "offence": offence,
        }
    )


def _latents_and_flags(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    n = len(people)
    latent = rng.standard_normal((n, len(LATENT))) @ np.linalg.cholesky(LATENT_CORRELATION).T
    female = people["female"].to_numpy()
    out = pd.DataFrame(index=people.index)
    out["criminality"] = latent[:, 0] + people["area"].map(AREA_CRIMINALITY_SHIFT).to_numpy()
    for j, flag in enumerate(LATENT[1:], start=1):
        shift = np.where(female, FEMALE_FLAG_SHIFT.get(flag, 0.0), 0.0)
        if flag == "gang":
            shift = shift + people["age_band"].map(GANG_AGE_SHIFT).to_numpy()
        threshold = ndtri(1.0 - FLAG_PREVALENCE[flag])
        out[flag] = (latent[:, j] + shift > threshold).astype(np.int8)
    score = 0.85 * out["criminality"].to_numpy() + people["age_band"].map(RISK_SCORE_AGE_SHIFT).to_numpy()
    score = score + 0.5 * rng.standard_normal(n)
    out["risk_score"] = np.clip(np.round(RISK_SCORE_CENTRE + RISK_SCORE_SCALE * score), 1, 10).astype(np.int64)
    return out


def _drug_tests(rng: np.random.Generator, substance_misuse: np.ndarray) -> dict[str, np.ndarray]:
    n = substance_misuse.size
    positive = np.column_stack([rng.random(n) < p for p in DRUG_POSITIVE.values()]) & (substance_misuse[:, None] == 1)
    none = (substance_misuse == 1) & ~positive.any(axis=1)
    positive[none, 0] = True  # substance misuse means at least one positive test: THC if none came up
    counts = 1 + rng.poisson(1.2, size=positive.shape)
    counts = np.where(positive, counts, 0).astype(np.int64)
    return {f"Positive_Tests_{drug}": counts[:, j] for j, drug in enumerate(DRUG_POSITIVE)}


def _days_employed(rng: np.random.Generator, unemployed: np.ndarray) -> np.ndarray:
    n = unemployed.size
    steps = np.floor(rng.random(n) * 50)  # 0..49 hundredths
    edge = rng.random(n)
    low = np.where(edge < 0.45, 0.0, steps / 100)  # 0.00-0.49
    high = np.where(edge < 0.35, 1.0, (50 + steps) / 100)  # 0.50-1.00
    return np.round(np.where(unemployed == 1, low, high), 2)


def _supervision_level(rng: np.random.Generator, risk_score: np.ndarray) -> np.ndarray:
    levels = np.array(["Low", "Medium", "High", "Intensive"], dtype=object)
    index = np.digitize(risk_score, [4, 7, 9])  # 1-3, 4-6, 7-8, 9-10
    override = rng.random(risk_score.size) < LEVEL_OVERRIDE_SHARE
    step = np.where(rng.random(risk_score.size) < 0.5, -1, 1)
    index = np.clip(index + np.where(override, step, 0), 0, 3)
    return levels[index]


def generate_extract(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the synthetic rearrest extract, as the case-management system would export it.

    Parameters
    ----------
    seed
        Seed of the :class:`numpy.random.Generator`; the same seed gives the
        same extract.

    Returns
    -------
    pandas.DataFrame
        One row per person in :data:`COLUMNS` order, sorted by ``ID``; codes
        are text as in the file (blank cells are ``""``), counts and scores
        are integers and ``Pct_Days_Employed`` is a float.

    Examples
    --------
    >>> extract = generate_extract(seed=1)
    >>> len(extract), extract["ID"].is_unique
    (6000, True)
    >>> sorted(extract["Prior_DV_Arrest"].unique())
    ['N', 'Y']
    """
    rng = np.random.default_rng(seed)
    people = _people(rng)
    n = len(people)
    traits = _latents_and_flags(rng, people)
    female = people["female"].to_numpy()

    eta = (
        INTERCEPT
        + RISK_SCORE_LOG_ODDS * traits["risk_score"].to_numpy()
        + sum(np.log(ratio) * traits[flag].to_numpy() for flag, ratio in FLAG_ODDS_RATIOS.items())
        + people["age_band"].map(AGE_LOG_ODDS).to_numpy()
        + FEMALE_LOG_ODDS * female
        + people["offence"].map(OFFENCE_LOG_ODDS).to_numpy()
        + people["area"].map(AREA_LOG_ODDS).to_numpy()
    )
    rearrested = rng.random(n) < expit(eta)

    tests = _drug_tests(rng, traits["substance_misuse"].to_numpy())
    employed = _days_employed(rng, traits["unemployed"].to_numpy())

    gang = traits["gang"].to_numpy()
    women_asked = rng.random(n) < WOMEN_GANG_ASKED
    gang_text = np.where(gang == 1, "Yes", np.where(~female | women_asked, "No", "")).astype(object)

    offence = people["offence"].to_numpy().copy()
    offence[rng.random(n) < OFFENCE_BLANK_SHARE] = ""

    transferred = rng.random(n) < TRANSFERRED_OUT_SHARE
    active = rng.random(n) < ACTIVE_SHARE
    status = np.where(transferred, "Transferred out", np.where(active, "Active", "Completed")).astype(object)
    level = _supervision_level(rng, traits["risk_score"].to_numpy())

    crim = traits["criminality"].to_numpy()
    prior_arrests = rng.poisson(rng.gamma(shape=2.0, scale=np.exp(1.4 + 0.5 * crim) / 2.0)).astype(np.int64)

    ids = np.sort(rng.choice(np.arange(100_000, 1_000_000), size=n, replace=False))
    order = rng.permutation(n)  # people get their IDs in random order, so areas interleave in ID order

    extract = pd.DataFrame(
        {
            "ID": ids[order],
            "Residence_Area": people["area"].to_numpy(),
            "Sex": np.where(female, "F", "M").astype(object),
            "Age_At_Release": people["age_band"].to_numpy(),
            "Offence_Category": offence,
            "Supervision_Status": status,
            "Supervision_Level": level,
            "Risk_Score": traits["risk_score"].to_numpy(),
            "Prior_Arrests": prior_arrests,
            "Prior_DV_Arrest": np.where(traits["dv"].to_numpy() == 1, "Y", "N").astype(object),
            "MH_Condition": np.where(traits["mental_health"].to_numpy() == 1, "TRUE", "FALSE").astype(object),
            "Gang_Member": gang_text,
            **tests,
            "Pct_Days_Employed": employed,
            "Rearrested_Within_3yrs": np.where(rearrested, "Yes", "No").astype(object),
        }
    )
    extract = extract.sort_values("ID", kind="stable").reset_index(drop=True)
    extract["Release_Date"] = release_dates(n, seed)  # its own stream, in file order: no other column changes
    extract["Housing_Programme"] = np.where(housing_programme(extract, seed=seed) == 1, "Y", "N").astype(object)  # likewise
    return extract[list(COLUMNS)]


def _impact_frame(extract: pd.DataFrame) -> pd.DataFrame:
    """The columns the housing programme depends on, in the study's names (as the study file derives them)."""
    drugs = cast(pd.Series, sum(extract[f"Positive_Tests_{d}"] for d in DRUG_POSITIVE) > 0)  # sum() is typed as maybe its start, 0
    return pd.DataFrame({
        "sex": extract["Sex"], "age_band": extract["Age_At_Release"],
        "substance_misuse": drugs.astype(np.int8), "unemployed": (extract["Pct_Days_Employed"] < 0.5).astype(np.int8),
        "kept": extract["Supervision_Status"] != "Transferred out",
        "reoffended": (extract["Rearrested_Within_3yrs"] == "Yes").astype(np.int8),
    }, index=extract.index)


def housing_programme(extract: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> np.ndarray:
    """0/1: who took part in the (made-up) housing programme: confounded, with an embedded effect on rearrest.

    The log odds of taking part are :data:`IMPACT_INTERCEPT` plus
    :data:`IMPACT_LOG_ODDS`; the effect is embedded by
    :func:`analysis.synthetic.participation`, which swaps
    :data:`IMPACT_MOVE_SHARE` of the participants who were rearrested for a
    non-participant who was not, in exactly the same pattern of
    :data:`IMPACT_COVARIATES` (and of being kept by the study's filter).
    No other column changes. The stream is ``SeedSequence(seed, spawn_key=(IMPACT_STREAM,))``.

    Examples
    --------
    >>> t = housing_programme(generate_extract())
    >>> 300 < int(t.sum()) < 900
    True
    """
    from ..synthetic import participation

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(IMPACT_STREAM,)))
    frame = _impact_frame(extract)
    eta = np.full(len(frame), IMPACT_INTERCEPT)
    for key, value in IMPACT_LOG_ODDS.items():
        hit = frame[key] == 1 if key in frame else (frame["sex"] == key) | (frame["age_band"] == key)
        eta = eta + value * hit.to_numpy()
    patterns = frame.groupby([*IMPACT_COVARIATES, "kept"], sort=True).ngroup().to_numpy()
    return participation(patterns, frame["reoffended"].to_numpy(), eta, IMPACT_MOVE_SHARE, rng)


def true_att(*, extract: pd.DataFrame | None = None) -> dict[str, float]:
    """The effect embedded in the example among the people the study keeps, by exact stratification.

    See :func:`analysis.synthetic.exact_att`.

    Examples
    --------
    >>> truth = true_att()
    >>> -0.12 < truth["att"] < -0.03
    True
    """
    from ..synthetic import exact_att

    extract = generate_extract() if extract is None else extract
    frame = _impact_frame(extract).assign(treated=(extract["Housing_Programme"] == "Y").astype(np.int8))
    return exact_att(frame[frame["kept"]], "treated", IMPACT_COVARIATES)


def release_dates(n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``n`` release dates (``YYYY-MM-DD``), uniform over :data:`RELEASE_YEARS`, from the stream :data:`DATE_STREAM`.

    Nothing else in the extract depends on them: a KPI chart of the example
    shows chance, not a planted change.

    Examples
    --------
    >>> d = release_dates(3, seed=1)
    >>> bool((d >= "2019-01-01").all() and (d <= "2021-12-31").all())
    True
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DATE_STREAM,)))
    first = np.datetime64(f"{RELEASE_YEARS[0]}-01-01")
    days = int((np.datetime64(f"{RELEASE_YEARS[1] + 1}-01-01") - first).astype(int))
    return np.datetime_as_string(first + rng.integers(0, days, size=n), unit="D").astype(object)


# --------------------------------------------------------------------------- writing


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_example(*, out_dir: str | Path = EXAMPLE_DIR, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write ``extract.csv`` and ``manifest.json`` to ``out_dir``.

    The CSV is written as the case-management system would export it:
    ``;``-separated, UTF-8 without a byte-order mark, ``\\n`` line ends, a
    decimal comma, blank cells for unrecorded values. Files are written to
    temporary names and renamed only when both are complete, so a failure
    leaves the earlier files intact. The study file and README beside them are
    written by hand and never touched.

    Parameters
    ----------
    out_dir
        Folder to write to (created if needed); default ``examples/rearrest``.
    seed
        Seed passed to :func:`generate_extract`.

    Returns
    -------
    dict
        File name to SHA-256 checksum.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_example(out_dir=tmp)
    ...     first = (Path(tmp) / "extract.csv").read_text(encoding="utf-8").splitlines()[0]
    >>> list(sums)
    ['extract.csv']
    >>> first.split(";")[:3]
    ['ID', 'Residence_Area', 'Sex']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extract = generate_extract(seed=seed)
    tmp_csv, tmp_manifest = out / ".extract.csv.tmp", out / ".manifest.json.tmp"
    extract.to_csv(
        tmp_csv, sep=";", decimal=",", float_format="%.2f", index=False, lineterminator="\n", encoding="utf-8"
    )
    checksums = {"extract.csv": _sha256(tmp_csv)}
    truth = true_att(extract=extract)
    manifest = {
        "generator": "python -m analysis.examples.rearrest",
        "seed": seed,
        "rows": int(len(extract)),
        "columns": list(extract.columns),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "sha256": checksums,
        "impact": {"treatment": "Housing_Programme", "covariates": list(IMPACT_COVARIATES), "true_att": round(truth["att"], 6),
                   "participants": truth["n_participants"],
                   "definition": "participants' rate minus non-participants' rate within each exact pattern of the "
                                 "covariates, weighted by participants, among the people the study keeps"},
        "note": "Synthetic data: no real person is in these files. See examples/rearrest/README.md.",
    }
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for tmp, final in ((tmp_csv, "extract.csv"), (tmp_manifest, "manifest.json")):
        tmp.replace(out / final)
    return checksums


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m analysis.examples.rearrest [--out DIR] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.examples.rearrest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(EXAMPLE_DIR), help="output folder (default: examples/rearrest)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    checksums = write_example(out_dir=args.out, seed=args.seed)
    for name, digest in checksums.items():
        print(f"{Path(args.out) / name}  sha256 {digest}")


if __name__ == "__main__":
    main()
