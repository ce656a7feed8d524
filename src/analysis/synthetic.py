"""A deterministic synthetic Black Country CRC cohort, calibrated to the published figures.

No real person is in these data. The cohort imitates the CRC service users of
the Black Country Reducing Reoffending Strategy 2018-2020 (section 5) so that
every notebook runs out of the box and its stored outputs can be checked.

Run ``python -m analysis.synthetic`` to write ``data/synthetic/`` (CSV,
Parquet and a manifest with SHA-256 checksums); a rerun gives byte-identical
files on the same library versions.

How it is built (each assumption is also stated in ``data/README.md``)
---------------------------------------------------------------------
1. People: 8,000 per period across the four areas (:data:`AREA_SIZES`), with
   sex, age, index offence and criminal history (previous sanctions, age at
   first sanction) drawn from assumed distributions; a latent "criminality"
   drives history and the flags.
2. Flags: thresholds on correlated latent normals (:data:`FLAG_CORRELATION`),
   so flags co-occur; prevalences are fixed counts (:data:`FLAG_PREVALENCE`),
   with homelessness and unemployment set to the prevalences that the
   published with/without rates and the overall rate imply.
3. ``ogrs3``: the OGRS3 one-year probability from the published equation.
4. ``expected``: OGRS3's log-odds shifted by raking (iterative additive
   log-odds terms) until the expected rate of each area, of the child
   protection, mental health and homeless groups, and of Dudley women equals
   the published expected rate exactly.
5. ``reoffended``: a logistic model on top of ``expected`` with flag
   effects, a domestic-violence effect concentrated in Walsall and a higher
   rate for 18-21-year-olds in Sandwell (the seed's qualitative findings),
   raked to every published actual rate; outcomes are then drawn and the
   fewest, most borderline outcomes are flipped until each published rate is
   met within :data:`TOLERANCE_PP`.
6. The baseline period (Oct 2014 - Sep 2015) has the same structure with
   assumed rates 2 points higher in each area, except Walsall's 18-24s, whose
   reduction is assumed to be only 0.5 points (the seed: "less significant
   reductions" for them).
7. ``cohort_start_date``: the day each person entered the cohort, uniform
   over the days of their period, drawn from a random stream of its own
   (:data:`DATE_STREAM`) after everything else, so every other column is
   exactly what it was before the dates were added. Nothing about the
   outcome depends on the date: a KPI chart of these data shows whatever
   chance and the two periods' rates give, with no planted change.
8. ``took_part``: 0/1, who took part in a (made-up) intervention in the
   published period, from a stream of its own (:data:`IMPACT_STREAM`), last.
   Higher-risk people are more likely to take part (confounding), and an
   effect is embedded without changing anyone's outcome: some participants
   who reoffended swap their participation with a like non-participant who
   did not (:func:`participation`). The effect is stated exactly
   (:data:`TRUE_ATT`, also in the manifest) and paper 07 recovers it.

Examples
--------
>>> from analysis.synthetic import generate_cohort
>>> cohort = generate_cohort(seed=1)  # doctest: +SKIP
>>> cohort.groupby("period")["person_id"].count().tolist()  # doctest: +SKIP
[8000, 8000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from .ogrs3 import ogrs3_age_band, ogrs3_probability
from .paths import SYNTHETIC_DIR
from .schema import FLAGS, OFFENCE_GROUPS

__all__ = ["generate_cohort", "write_synthetic", "calibration_targets", "DEFAULT_SEED", "participation", "exact_att",
           "took_part", "true_att", "TRUE_ATT", "TREATMENT_COLUMN", "IMPACT_COVARIATES", "IMPACT_PERIOD"]

DEFAULT_SEED: int = 20180410
PUBLISHED_PERIOD: str = "2015-10/2016-09"
BASELINE_PERIOD: str = "2014-10/2015-09"
TOLERANCE_PP: float = 0.25
"""Outcomes are adjusted until every published rate is met within this many points."""

AREA_SIZES: dict[str, int] = {"Dudley": 1900, "Sandwell": 2300, "Walsall": 1800, "Wolverhampton": 2000}
"""Assumed CRC caseload per area and year (not published): 8,000 in all."""

FEMALE_SHARE: float = 0.16
"""Assumed share of women among CRC service users."""

AGE_BAND_SHARES: dict[str, float] = {
    "18-20": 0.08, "21-24": 0.15, "25-29": 0.20, "30-34": 0.18, "35-39": 0.14, "40-49": 0.17, "50+": 0.08,
}
"""Assumed age distribution of adult CRC service users."""

OFFENCE_SHARES: dict[str, float] = {
    "violence": 0.22, "robbery": 0.01, "public_order": 0.07, "sexual_not_child": 0.01, "sexual_child": 0.005,
    "soliciting": 0.003, "burglary_domestic": 0.04, "burglary_other": 0.03, "theft_non_motor": 0.15,
    "handling": 0.03, "fraud_forgery": 0.04, "absconding_bail": 0.02, "taking_driving_away": 0.02,
    "theft_from_vehicles": 0.02, "other_motoring": 0.06, "drink_driving": 0.06, "criminal_damage": 0.06,
    "drug_import_export_production": 0.007, "drug_possession_supply": 0.10, "other": 0.055,
}
"""Assumed index-offence mix (normalised to 1)."""

FLAG_PREVALENCE: dict[str, float | None] = {
    "dv": 0.20, "child_protection": 0.12, "mental_health": 0.35, "substance_misuse": 0.40,
    "homeless": None, "unemployed": None,
}
"""Assumed flag prevalences; ``None`` means implied by the published rates (see :func:`implied_prevalence`)."""

# Latent correlations: criminality first, then the flags in FLAGS order.
_LATENT = ("criminality", *FLAGS)
FLAG_CORRELATION: np.ndarray = np.array(
    [
        # crim   dv    cp    mh    sm   home  unemp
        [1.00, 0.05, 0.20, 0.15, 0.35, 0.35, 0.30],
        [0.05, 1.00, 0.45, 0.15, 0.20, 0.10, 0.10],
        [0.20, 0.45, 1.00, 0.20, 0.20, 0.10, 0.15],
        [0.15, 0.15, 0.20, 1.00, 0.35, 0.30, 0.25],
        [0.35, 0.20, 0.20, 0.35, 1.00, 0.40, 0.30],
        [0.35, 0.10, 0.10, 0.30, 0.40, 1.00, 0.35],
        [0.30, 0.10, 0.15, 0.25, 0.30, 0.35, 1.00],
    ]
)
"""Assumed correlation of the latent variables behind criminal history and the six flags."""

FEMALE_FLAG_SHIFT: dict[str, float] = {"dv": -0.8, "child_protection": 0.3, "mental_health": 0.3}
"""Assumed latent shifts for women (fewer DV perpetrator flags; more child-protection and mental-health flags)."""

FLAG_LOG_ODDS: dict[str, float] = {
    "dv": -0.15, "child_protection": 0.35, "mental_health": 0.45, "substance_misuse": 0.60,
    "homeless": 1.30, "unemployed": 0.70,
}
"""Starting flag effects (log-odds over ``expected``) before raking to the published rates."""

WALSALL_DV_LOG_ODDS: float = 1.4
"""Extra DV effect in Walsall (seed: "much increased re-offending rates in Walsall")."""

SANDWELL_18_21_LOG_ODDS: float = 1.0
"""Extra effect for 18-21-year-olds in Sandwell (seed: higher than the Black Country trend)."""

BASELINE_SHIFT_PP: float = 2.0
"""Assumed: each area's actual rate in the baseline year is this many points higher."""

WALSALL_18_24_BASELINE_SHIFT_PP: float = 0.5
"""Assumed: Walsall's 18-24s were only this many points higher in the baseline year."""

DATE_STREAM: int = 1
"""Spawn key of the random stream that draws ``cohort_start_date`` (a stream separate from the main one)."""

DATE_COLUMN: str = "cohort_start_date"
"""The date each person entered the cohort (``YYYY-MM-DD``), after the canonical columns."""

IMPACT_STREAM: int = 2
"""Spawn key of the random stream that draws ``took_part`` (a stream separate from the others)."""

TREATMENT_COLUMN: str = "took_part"
"""The 0/1 column marking the people who took part in the (made-up) intervention, the last column of the cohort."""

IMPACT_PERIOD: str = PUBLISHED_PERIOD
"""The intervention ran in this period only: nobody in the baseline year took part."""

IMPACT_COVARIATES: tuple[str, ...] = ("area", "sex", "age_band", "substance_misuse", "homeless", "unemployed")
"""The columns participation depends on (the programme's assumed referral criteria), the exact patterns within
which participants are swapped, and the default study's ``[impact] covariates``. Patterns of every covariate
(offence groups and all six flags too) are nearly all unique among 8,000 people, so no swap could be made in them."""

IMPACT_INTERCEPT: float = -4.2
"""Log odds of taking part for a 25-29-year-old man with no flag (about 1.5%); the flags and youth raise it."""

IMPACT_LOG_ODDS: dict[str, float] = {
    "substance_misuse": 1.1, "homeless": 0.8, "unemployed": 0.6,
    "Female": 0.3, "18-20": 0.6, "21-24": 0.4, "Walsall": 0.5, "Wolverhampton": 0.2,
}
"""Assumed: who takes part. Higher-risk people are more likely to, so the raw difference is biased towards harm."""

IMPACT_MOVE_SHARE: float = 0.15
"""Share of participants who reoffended swapped for a like non-participant who did not (the embedded effect)."""

TRUE_ATT: float = -0.09104678818715096
"""The effect embedded in the default cohort: participants minus like non-participants, a risk difference of about
-9.1 points, by exact stratification on :data:`IMPACT_COVARIATES` in :data:`IMPACT_PERIOD` (:func:`true_att`;
445 of the 455 participants are in a pattern with a comparison). The raw difference is about +12.6 points: the
people referred are those most likely to reoffend."""


# --------------------------------------------------------------------------- published targets


@dataclass(frozen=True)
class Target:
    """A published rate that a group of the synthetic cohort must reproduce."""

    name: str
    group: str  # "var=value;var=value" as in data/published
    measure: str  # "actual_rate" or "expected_rate"
    percent: float


def _published() -> pd.DataFrame:
    from .published import load_published

    return load_published()


def calibration_targets(*, period: str = PUBLISHED_PERIOD) -> list[Target]:
    """The published CRC rates that the synthetic published period reproduces.

    Read from ``data/published`` (CRC areas, risk flags and the Dudley women
    figure); statements without a number are not targets.

    Examples
    --------
    >>> t = calibration_targets()
    >>> [x.percent for x in t if x.group == "homeless=1"]
    [82.5, 48.25]
    """
    table = _published()
    keep = table[
        table["period"].eq(period)
        & table["measure"].isin(["actual_rate", "expected_rate"])
        & table["source_table"].isin(["S5 CRC expected vs actual by area", "S5 CRC rates by risk flag", "S5 CRC area focus"])
        & ~table["group"].str.contains("offence_group", regex=False)
    ]
    # pandas-stubs types itertuples fields as any scalar: these are the published table's text and numbers
    return [Target(r.figure_id, r.group, r.measure, float(r.value)) for r in keep.itertuples()]  # type: ignore[arg-type]


def group_mask(frame: pd.DataFrame, group: str) -> np.ndarray:
    """Rows of ``frame`` in a published group such as ``"area=Dudley;sex=Female"`` or ``"homeless=0"``.

    Examples
    --------
    >>> f = pd.DataFrame({"area": ["Dudley", "Walsall"], "homeless": [1, 0]})
    >>> group_mask(f, "area=Dudley").tolist(), group_mask(f, "homeless=0").tolist()
    ([True, False], [False, True])
    """
    mask = np.ones(len(frame), dtype=bool)
    if group == "all":
        return mask
    for part in group.split(";"):
        key, value = part.split("=", 1)
        column = frame[key]
        if pd.api.types.is_numeric_dtype(column):
            mask &= column.to_numpy() == float(value)
        else:
            mask &= column.astype(str).to_numpy() == value
    return mask


def implied_prevalence(flag_rate: float, complement_rate: float, overall_rate: float) -> float:
    """Prevalence p that makes ``p*flag_rate + (1-p)*complement_rate == overall_rate``.

    Examples
    --------
    >>> round(implied_prevalence(82.50, 38.36, 42.6), 4)
    0.0961
    """
    return (overall_rate - complement_rate) / (flag_rate - complement_rate)


# --------------------------------------------------------------------------- generation steps


def _people(rng: np.random.Generator, period: str, id_offset: int) -> pd.DataFrame:
    areas = np.repeat(list(AREA_SIZES), list(AREA_SIZES.values()))
    n = areas.size
    female = rng.random(n) < FEMALE_SHARE
    bands = list(AGE_BAND_SHARES)
    band = rng.choice(len(bands), size=n, p=np.array(list(AGE_BAND_SHARES.values())))
    low = np.array([18, 21, 25, 30, 35, 40, 50])[band]
    high = np.array([20, 24, 29, 34, 39, 49, 69])[band]
    age = low + np.floor(rng.random(n) * (high - low + 1)).astype(int)
    shares = np.array([OFFENCE_SHARES[o] for o in OFFENCE_GROUPS])
    offence = np.array(OFFENCE_GROUPS, dtype=object)[rng.choice(len(OFFENCE_GROUPS), size=n, p=shares / shares.sum())]

    latent = rng.standard_normal((n, len(_LATENT))) @ np.linalg.cholesky(FLAG_CORRELATION).T
    criminality = latent[:, 0]
    mean_sanctions = np.exp(1.2 + 0.7 * criminality + 0.025 * (np.minimum(age, 45) - 30) - 0.3 * female)
    previous = rng.poisson(rng.gamma(shape=2.0, scale=mean_sanctions / 2.0))
    onset = 13 + rng.gamma(shape=2.0, scale=3.0 * np.exp(-0.35 * criminality), size=n)
    first = np.minimum(np.round(onset), age).astype(int)
    first = np.where(previous == 0, age, first)  # no previous sanctions: first sanction is this one

    frame = pd.DataFrame(
        {
            "person_id": [f"BC{id_offset + i:06d}" for i in range(1, n + 1)],
            "period": period,
            "area": areas,
            "sex": np.where(female, "Female", "Male"),
            "age_band": ogrs3_age_band(age),
            "offence_group": offence,
            "age": age,
            "previous_sanctions": previous,
            "age_first_sanction": first,
        }
    )
    frame["_criminality"] = criminality
    for j, flag in enumerate(FLAGS, start=1):
        frame[f"_latent_{flag}"] = latent[:, j] + np.where(female, FEMALE_FLAG_SHIFT.get(flag, 0.0), 0.0)
    return frame


def _assign_flags(frame: pd.DataFrame, prevalence: dict[str, float]) -> None:
    """Flag the top ``round(p*n)`` latent values: exact, reproducible counts."""
    n = len(frame)
    for flag in FLAGS:
        k = int(round(prevalence[flag] * n))
        order = np.argsort(-frame[f"_latent_{flag}"].to_numpy(), kind="stable")
        values = np.zeros(n, dtype=np.int8)
        values[order[:k]] = 1
        frame[flag] = values


def rake_log_odds(
    base: np.ndarray,
    masks: Sequence[np.ndarray],
    targets: Sequence[float],
    *,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> np.ndarray:
    """Add one log-odds shift per group until each group's mean probability equals its target.

    Cyclic Newton steps on each group's shift (the logistic analogue of
    iterative proportional fitting).

    Parameters
    ----------
    base
        Starting log-odds per person.
    masks
        Boolean membership of each group (groups may overlap).
    targets
        Target mean probability per group (0-1).

    Returns
    -------
    numpy.ndarray
        Raked log-odds.

    Examples
    --------
    >>> import numpy as np
    >>> x = rake_log_odds(np.zeros(4), [np.array([1, 1, 0, 0], bool)], [0.75])
    >>> np.round(1 / (1 + np.exp(-x)), 4).tolist()
    [0.75, 0.75, 0.5, 0.5]
    """
    eta = np.asarray(base, dtype=float).copy()
    worst = np.inf
    for _ in range(max_iter):
        for mask, target in zip(masks, targets):
            for _newton in range(20):
                p = expit(eta[mask])
                step = (p.mean() - target) / (p * (1 - p)).mean()
                eta[mask] -= step
                if abs(step) < tol:
                    break
        worst = max(abs(expit(eta[mask]).mean() - target) for mask, target in zip(masks, targets))
        if worst < tol:
            return eta
    raise RuntimeError(f"raking did not converge (largest gap {worst:.2e}); the targets may be inconsistent")


def _match_counts(
    y: np.ndarray,
    masks: Sequence[np.ndarray],
    targets: Sequence[float],
    closeness: np.ndarray,
    tolerance: float,
    max_flips: int = 5000,
) -> np.ndarray:
    """Flip the most borderline outcomes until every group's rate is within ``tolerance`` of its target.

    Each step flips the outcome that most reduces the summed squared gaps
    (in rate units) across all groups; among flips at least half as good as
    the best, the one whose uniform draw was closest to its probability
    (smallest ``closeness``) is taken, so the model's structure is disturbed
    as little as possible.
    """
    member = np.column_stack(masks).astype(float)
    size = member.sum(axis=0)
    goal = np.asarray(targets) * size
    y = y.astype(float).copy()
    for _ in range(max_flips):
        gap = member.T @ y - goal
        if np.all(np.abs(gap) / size <= tolerance):
            return y.astype(np.int8)
        up = member @ ((2 * gap + 1) / size**2)  # change in loss for 0 -> 1
        down = member @ ((-2 * gap + 1) / size**2)  # change in loss for 1 -> 0
        delta = np.where(y == 0, up, down)
        best = delta.min()
        if best >= 0:
            break
        candidates = np.flatnonzero(delta <= 0.5 * best)
        pick = candidates[np.argmin(closeness[candidates])]
        y[pick] = 1 - y[pick]
    gap = member.T @ y - goal
    raise RuntimeError(f"could not meet the published rates within {tolerance:.4f} (largest gap {np.max(np.abs(gap) / size):.4f})")


def _reoffences(rng: np.random.Generator, frame: pd.DataFrame) -> np.ndarray:
    """About three proven re-offences per reoffender, more for higher criminality."""
    rate = 2.0 * np.exp(0.3 * frame["_criminality"].to_numpy() - 0.045)
    extra = rng.poisson(rate)
    return np.where(frame["reoffended"].to_numpy() == 1, 1 + extra, 0)


def _period(
    rng: np.random.Generator,
    period: str,
    id_offset: int,
    expected_targets: list[tuple[str, float]],
    actual_targets: list[tuple[str, float]],
    prevalence: dict[str, float],
    extra_actual: list[tuple[Callable[[pd.DataFrame], np.ndarray], float]] | None = None,
) -> pd.DataFrame:
    frame = _people(rng, period, id_offset)
    _assign_flags(frame, prevalence)
    frame["ogrs3"] = ogrs3_probability(
        frame["age"], frame["age_first_sanction"], frame["previous_sanctions"], frame["sex"], frame["offence_group"]
    )
    masks = [group_mask(frame, g) for g, _ in expected_targets]
    eta_expected = rake_log_odds(logit(frame["ogrs3"].to_numpy()), masks, [t / 100 for _, t in expected_targets])
    frame["expected"] = expit(eta_expected)

    eta = eta_expected.copy()
    for flag in FLAGS:
        eta += FLAG_LOG_ODDS[flag] * frame[flag].to_numpy()
    eta += WALSALL_DV_LOG_ODDS * (group_mask(frame, "area=Walsall") & (frame["dv"].to_numpy() == 1))
    eta += SANDWELL_18_21_LOG_ODDS * (group_mask(frame, "area=Sandwell") & (frame["age"].to_numpy() <= 21))
    groups = [group_mask(frame, g) for g, _ in actual_targets]
    goals = [t / 100 for _, t in actual_targets]
    for make_mask, goal in extra_actual or []:
        groups.append(make_mask(frame))
        goals.append(goal / 100)
    # Counts are whole people, so the with/without-flag targets are consistent only to ~1e-5:
    # rake to 1e-4 here; the outcome matching below enforces the published tolerance.
    q = expit(rake_log_odds(eta, groups, goals, tol=1e-4))
    u = rng.random(len(frame))
    frame["reoffended"] = _match_counts((u < q).astype(np.int8), groups, goals, np.abs(u - q), TOLERANCE_PP / 100)
    frame["reoffences"] = _reoffences(rng, frame)
    return frame


def start_dates(periods: pd.Series, seed: int = DEFAULT_SEED) -> pd.Series:
    """A date for each row, uniform over the days of its period (``"YYYY-MM"/"YYYY-MM"`` labels), from its own stream.

    The stream is ``SeedSequence(seed, spawn_key=(DATE_STREAM,))``: drawing
    the dates consumes nothing from the generator of the other columns.

    Examples
    --------
    >>> d = start_dates(pd.Series(["2014-10/2015-09"] * 3 + ["2015-10/2015-12"]), seed=1)
    >>> bool(d.between("2014-10-01", "2015-09-30")[:3].all()), bool("2015-10-01" <= d[3] <= "2015-12-31")
    (True, True)
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DATE_STREAM,)))
    labels = periods.astype(str).to_numpy()
    out = np.empty(labels.size, dtype="datetime64[D]")
    for label in pd.unique(labels):
        first, last = label.split("/")
        start = np.datetime64(first, "M").astype("datetime64[D]")
        end = (np.datetime64(last, "M") + 1).astype("datetime64[D]")  # the day after the period
        mask = labels == label
        out[mask] = start + rng.integers(0, int((end - start).astype(int)), size=int(mask.sum()))
    return pd.Series(pd.to_datetime(out).strftime("%Y-%m-%d"), index=periods.index, name=DATE_COLUMN)


# --------------------------------------------------------------------------- participation in an intervention


def participation(patterns: np.ndarray, outcome: np.ndarray, log_odds: np.ndarray, move_share: float,
                  rng: np.random.Generator) -> np.ndarray:
    """A 0/1 participation column with a confounded propensity and an embedded effect, leaving the outcome untouched.

    Each person first takes part with probability ``expit(log_odds)`` (so
    participation depends on the covariates the log odds use: confounding).
    Then, to embed the effect without changing anyone's outcome, each
    participant who has the outcome is, with probability ``move_share``,
    swapped with a non-participant *without* the outcome in exactly the
    same covariate pattern (``patterns``, one integer per person): the
    swapped pair exchange their participation. Every pattern keeps the same
    number of participants, and every other column (the outcome included)
    is unchanged; only who took part changes, so participants reoffend less
    than comparable non-participants. The effect is therefore exactly
    :func:`exact_att` of the result.

    Parameters
    ----------
    patterns
        Integer code of each person's covariate pattern (people with the
        same code are alike on every covariate).
    outcome
        The 0/1 outcome.
    log_odds
        Each person's log odds of taking part.
    move_share
        Share of participants with the outcome swapped for a non-participant
        without it, where the pattern has one free.
    rng
        The random stream (a stream of its own, so no other column changes).

    Returns
    -------
    numpy.ndarray
        ``int8`` 0/1, one per person.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = participation(np.zeros(6, dtype=int), np.array([1, 1, 1, 0, 0, 0]), np.zeros(6), 1.0, rng)
    >>> int(t.sum()), int(t[:3].sum()) <= int(t[3:].sum())
    (3, True)
    """
    patterns = np.asarray(patterns)
    outcome = np.asarray(outcome)
    treated = (rng.random(patterns.size) < expit(np.asarray(log_odds, dtype=float))).astype(np.int8)
    coin = rng.random(patterns.size)
    order = np.argsort(patterns, kind="stable")
    bounds = np.flatnonzero(np.diff(patterns[order])) + 1
    for group in np.split(order, bounds):
        movers = group[(treated[group] == 1) & (outcome[group] == 1) & (coin[group] < move_share)]
        free = group[(treated[group] == 0) & (outcome[group] == 0)]
        k = min(movers.size, free.size)
        if k:
            takers = rng.permutation(free)[:k]
            treated[movers[:k]] = 0
            treated[takers] = 1
    return treated


def exact_att(frame: pd.DataFrame, treatment: str, covariates: Sequence[str], *, outcome: str = "reoffended") -> dict[str, float]:
    """The effect in the treated by exact stratification on the covariate patterns: the embedded effect, by hand.

    Within each pattern of ``covariates`` that holds both participants and
    non-participants, the difference in outcome rates (participants minus
    non-participants) is weighted by the pattern's number of participants:
    ``ATT = sum_p n_t,p (rate_t,p - rate_c,p) / sum_p n_t,p``.

    Returns
    -------
    dict
        ``att`` (a risk difference), ``n_participants`` (all),
        ``n_stratified`` (those in a pattern with a comparison) and
        ``rate_participants`` / ``rate_comparison`` (raw, unadjusted rates).

    Examples
    --------
    >>> f = pd.DataFrame({"x": [0, 0, 0, 0, 1, 1], "t": [1, 0, 1, 0, 1, 0], "y": [0, 1, 1, 1, 1, 1]})
    >>> exact_att(f, "t", ["x"], outcome="y")["att"]
    -0.3333333333333333
    """
    t = frame[treatment].astype(int)
    y = frame[outcome].astype(float)
    keys = [frame[c].astype(str) for c in covariates]
    grouped = pd.DataFrame({"t": t, "y": y}).groupby([k.rename(c) for k, c in zip(keys, covariates)], observed=True, sort=False)
    rows = grouped.apply(lambda g: pd.Series({"n_t": (g["t"] == 1).sum(), "n_c": (g["t"] == 0).sum(),
                                              "r_t": g.loc[g["t"] == 1, "y"].mean(), "r_c": g.loc[g["t"] == 0, "y"].mean()}))
    both = rows[(rows["n_t"] > 0) & (rows["n_c"] > 0)]
    att = float((both["n_t"] * (both["r_t"] - both["r_c"])).sum() / both["n_t"].sum()) if len(both) else float("nan")
    return {"att": att, "n_participants": int((t == 1).sum()), "n_stratified": int(both["n_t"].sum()),
            "rate_participants": float(y[t == 1].mean()), "rate_comparison": float(y[t == 0].mean())}


def _overall_actual(actual_by_area: dict[str, float]) -> float:
    return sum(AREA_SIZES[a] * r for a, r in actual_by_area.items()) / sum(AREA_SIZES.values())


_COLUMNS = [
    "person_id", "period", "area", "sex", "age_band", "offence_group", "age", "previous_sanctions",
    "age_first_sanction", "ogrs3", "expected", *FLAGS, "reoffended", "reoffences",
]


def generate_cohort(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the two-period synthetic cohort (baseline and published period).

    Parameters
    ----------
    seed
        Seed of the numpy random generator; the same seed gives the same cohort.

    Returns
    -------
    pandas.DataFrame
        16,000 rows: 8,000 people in each of the baseline (``2014-10/2015-09``)
        and published (``2015-10/2016-09``) periods, in the canonical schema
        plus ``age``, ``previous_sanctions``, ``age_first_sanction``, ``ogrs3``
        and, last, ``cohort_start_date`` (text, ``YYYY-MM-DD``).

    Examples
    --------
    >>> cohort = generate_cohort()  # doctest: +SKIP
    >>> cohort.groupby("period").size().tolist()  # doctest: +SKIP
    [8000, 8000]
    """
    rng = np.random.default_rng(seed)
    targets = calibration_targets()
    actual = {t.group: t.percent for t in targets if t.measure == "actual_rate"}
    expected = {t.group: t.percent for t in targets if t.measure == "expected_rate"}
    area_actual = {g.split("=", 1)[1]: v for g, v in actual.items() if g.startswith("area=") and ";" not in g}
    overall = _overall_actual(area_actual)
    prevalence = {k: v for k, v in FLAG_PREVALENCE.items() if v is not None}
    prevalence["homeless"] = implied_prevalence(actual["homeless=1"], actual["homeless=0"], overall)
    prevalence["unemployed"] = implied_prevalence(actual["unemployed=1"], actual["unemployed=0"], overall)

    current = _period(rng, PUBLISHED_PERIOD, 0, list(expected.items()), list(actual.items()), prevalence)

    # Baseline year: same case mix; assumed higher actual rates (see module docstring).
    walsall_young = lambda f: group_mask(f, "area=Walsall") & f["age_band"].isin(["18-20", "21-24"]).to_numpy()  # noqa: E731
    current_walsall_young = 100 * current.loc[walsall_young(current), "reoffended"].mean()
    base_expected = [(g, v) for g, v in expected.items() if g.startswith("area=") and ";" not in g]
    base_actual = [(f"area={a}", r + BASELINE_SHIFT_PP) for a, r in area_actual.items()]
    baseline = _period(
        rng, BASELINE_PERIOD, len(current), base_expected, base_actual, prevalence,
        extra_actual=[(walsall_young, current_walsall_young + WALSALL_18_24_BASELINE_SHIFT_PP)],
    )
    cohort = pd.concat([baseline, current], ignore_index=True)[_COLUMNS]
    cohort[DATE_COLUMN] = start_dates(cohort["period"], seed)  # its own stream, last: no other column changes
    cohort[TREATMENT_COLUMN] = took_part(cohort, seed=seed)  # its own stream, last: no other column changes
    return cohort


def _impact_patterns(cohort: pd.DataFrame) -> np.ndarray:
    keys = ["period", *IMPACT_COVARIATES]
    return cohort.groupby(keys, sort=True, observed=True).ngroup().to_numpy()


def took_part(cohort: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``took_part`` for the default cohort: confounded participation in :data:`IMPACT_PERIOD` with an embedded effect.

    The log odds of taking part are :data:`IMPACT_INTERCEPT` plus
    :data:`IMPACT_LOG_ODDS` (substance misuse, homelessness, unemployment,
    youth: the people most likely to reoffend), so a raw comparison is
    biased. The effect is embedded by :func:`participation`, which swaps
    :data:`IMPACT_MOVE_SHARE` of the participants who reoffended for a
    non-participant who did not in exactly the same pattern of period and
    :data:`IMPACT_COVARIATES`: no other column (the outcome included)
    changes. The stream is ``SeedSequence(seed,
    spawn_key=(IMPACT_STREAM,))``.

    Examples
    --------
    >>> c = generate_cohort()
    >>> int(c.loc[c["period"] != IMPACT_PERIOD, TREATMENT_COLUMN].sum()), int(c[TREATMENT_COLUMN].sum()) > 200
    (0, True)
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(IMPACT_STREAM,)))
    eta = np.full(len(cohort), IMPACT_INTERCEPT)
    for key, value in IMPACT_LOG_ODDS.items():
        if key in FLAGS:
            eta = eta + value * cohort[key].to_numpy()
        else:
            hit = (cohort["sex"] == key) | (cohort["age_band"] == key) | (cohort["area"] == key)
            eta = eta + value * hit.to_numpy()
    eta = np.where(cohort["period"].to_numpy() == IMPACT_PERIOD, eta, -np.inf)
    return participation(_impact_patterns(cohort), cohort["reoffended"].to_numpy(), eta, IMPACT_MOVE_SHARE, rng)


def true_att(cohort: pd.DataFrame | None = None) -> dict[str, float]:
    """The effect embedded in the default cohort, by exact stratification (:func:`exact_att`) in :data:`IMPACT_PERIOD`.

    Examples
    --------
    >>> truth = true_att()
    >>> -0.10 < truth["att"] < -0.03
    True
    """
    cohort = generate_cohort() if cohort is None else cohort
    current = cohort[cohort["period"] == IMPACT_PERIOD]
    return exact_att(current, TREATMENT_COLUMN, IMPACT_COVARIATES)


# --------------------------------------------------------------------------- writing


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_synthetic(*, out_dir: str | Path = SYNTHETIC_DIR, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write ``cohort.csv``, ``cohort.parquet`` and ``manifest.json`` to ``out_dir``.

    Files are written to temporary names and renamed only when all are
    complete, so a failure leaves the earlier files intact.

    Returns
    -------
    dict
        File name to SHA-256 checksum.

    Examples
    --------
    >>> write_synthetic(out_dir="data/synthetic")  # doctest: +SKIP
    {'cohort.csv': '...', 'cohort.parquet': '...'}
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cohort = generate_cohort(seed=seed)
    tmp_csv, tmp_parquet, tmp_manifest = out / ".cohort.csv.tmp", out / ".cohort.parquet.tmp", out / ".manifest.json.tmp"
    cohort.to_csv(tmp_csv, index=False, float_format="%.6f", lineterminator="\n")
    table = pa.Table.from_pandas(cohort, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, tmp_parquet, compression="zstd", write_statistics=False)
    checksums = {"cohort.csv": _sha256(tmp_csv), "cohort.parquet": _sha256(tmp_parquet)}
    truth = true_att(cohort)
    manifest = {
        "generator": "python -m analysis.synthetic",
        "seed": seed,
        "rows": int(len(cohort)),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "sha256": checksums,
        "impact": {"treatment": TREATMENT_COLUMN, "period": IMPACT_PERIOD, "covariates": list(IMPACT_COVARIATES),
                   "true_att": round(truth["att"], 6), "participants": truth["n_participants"],
                   "participants_stratified": truth["n_stratified"],
                   "definition": "participants' rate minus non-participants' rate within each exact pattern of the "
                                 "covariates, weighted by participants (exact stratification)"},
        "note": "Synthetic data: no real person is in these files. See data/README.md.",
    }
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for tmp, final in ((tmp_csv, "cohort.csv"), (tmp_parquet, "cohort.parquet"), (tmp_manifest, "manifest.json")):
        tmp.replace(out / final)
    return checksums


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m analysis.synthetic [--out DIR] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(SYNTHETIC_DIR), help="output folder (default: data/synthetic)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    checksums = write_synthetic(out_dir=args.out, seed=args.seed)
    for name, digest in checksums.items():
        print(f"{Path(args.out) / name}  sha256 {digest}")


if __name__ == "__main__":
    main()
