"""The impact of an intervention on reoffending: propensity score matching and weighting, Justice Data Lab style.

A provider asks: *did the people who took part in our programme reoffend
less than similar people who did not?* The Ministry of Justice's Justice
Data Lab (JDL) answers it by propensity score matching (Rosenbaum and Rubin
1983): a logistic model gives each person's probability of taking part from
their characteristics, each participant is matched to a non-participant with
a close probability, and the reoffending rates of the two groups are
compared. This module does the same, and the same by weighting, so that an
analyst can publish the estimate with the JDL's wording and caveats:

1. :func:`propensity_scores`: the logistic model of taking part (categorical
   covariates dummy-coded against a reference level), each person's score,
   its logit and their weight for the effect in the treated (ATT).
2. :func:`common_support`: the range of the scores in each group, and the
   participants outside the comparison group's range.
3. :func:`match_nearest`: 1:1 nearest-neighbour matching on the logit of the
   score within a caliper of 0.2 standard deviations of the logit (Austin
   2011), with or without replacement, ties broken at random from a seed;
   :func:`match_weights` turns the pairs into a weight per person.
4. :func:`matched_effect` and :func:`ipw_att`: the difference in reoffending
   rates, participants minus comparison, with its interval (paired for
   matching without replacement, weighted with replacement; an M-estimation
   sandwich that allows for the estimated scores for weighting).
5. :func:`balance`: standardised mean differences of every covariate level
   before and after matching or weighting, against the 10% rule (Austin 2009).
6. :func:`impact_sentence` and :func:`jdl_caveats`: the result in the JDL's
   words ("For every 100 people who took part, between 3 and 9 fewer
   reoffended ...") and the caveats the JDL attaches (imbalance, fewer than
   60 matched participants, many participants unmatched).
7. :func:`simulate_intervention`: a synthetic cohort with confounded
   participation and a known effect, whose true ATT is stated exactly.

Conventions, formulas and sources are in ``docs/methods.md`` ("Impact of an
intervention"). Every function returns a tidy DataFrame (or, for the
wording, strings) and prints nothing; estimates carry ``statistic``,
``method`` and ``confidence``. The comparison is only as fair as the
covariates: matching balances what was measured, never what was not.

Examples
--------
>>> cohort = simulate_intervention(n=3000, effect=-0.5, seed=2)
>>> covariates = cohort.attrs["covariates"]
>>> pairs = match_nearest(cohort, "took_part", covariates)
>>> effect = matched_effect(cohort, pairs)
>>> bool(effect.loc[0, "lower"] < cohort.attrs["true_att"] < effect.loc[0, "upper"])
True
>>> impact_sentence(effect)  # doctest: +ELLIPSIS
'For every 100 people who took part, between ... fewer reoffended than in a similar comparison group.'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .design import Design, Variable, binary_codes, cell_keys, encode
from .fitting import single_threaded_blas
from .intervals import critical_value, one_confidence_level
from .models import FlagsModel, fit_logistic
from .schema import OUTCOME

__all__ = [
    "propensity_scores",
    "common_support",
    "match_nearest",
    "match_weights",
    "matched_effect",
    "ipw_att",
    "balance",
    "impact_sentence",
    "jdl_caveats",
    "simulate_intervention",
    "DEFAULT_CALIPER",
    "SMD_THRESHOLD",
    "JDL_MINIMUM",
    "UNMATCHED_SHARE",
]

DEFAULT_CALIPER: float = 0.2
"""Caliper width in standard deviations of the logit of the propensity score (Austin 2011)."""

SMD_THRESHOLD: float = 0.1
"""The 10% rule: a covariate level with an absolute standardised mean difference above 0.1 is imbalanced."""

JDL_MINIMUM: int = 60
"""The Justice Data Lab's minimum number of participants for an analysis."""

UNMATCHED_SHARE: float = 0.1
"""Above this share of participants left unmatched, :func:`jdl_caveats` warns (the toolkit's threshold)."""

ORDERS: tuple[str, ...] = ("largest", "smallest", "data", "random")
"""Orders in which participants are matched without replacement (see :func:`match_nearest`)."""


# --------------------------------------------------------------------------- inputs


def _treatment_codes(cohort: pd.DataFrame, treatment: str) -> np.ndarray:
    """0/1 codes of the treatment column, -1 where missing; refuses anything else."""
    if treatment not in cohort.columns:
        raise KeyError(f"no treatment column '{treatment}' in the data")
    codes = binary_codes(cohort[treatment])
    if codes is None:
        raise ValueError(f"'{treatment}' must be 0/1 (1 = took part), with missing values allowed")
    return np.asarray(codes, dtype=np.int8)


def _outcome_values(cohort: pd.DataFrame, outcome: str) -> np.ndarray:
    """The 0/1 outcome as floats, NaN where missing; refuses anything else."""
    if outcome not in cohort.columns:
        raise KeyError(f"no outcome column '{outcome}' in the data")
    codes = binary_codes(cohort[outcome])
    if codes is None:
        raise ValueError(f"'{outcome}' must be 0/1 (or missing)")
    codes = np.asarray(codes)
    return np.where(codes < 0, np.nan, codes.astype(float))


def _check_covariates(cohort: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> list[str]:
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError("name the covariates the propensity model adjusts for (e.g. ['sex', 'age_band', 'dv'])")
    if treatment in covariates:
        raise ValueError(f"the treatment '{treatment}' cannot also be a covariate")
    missing = [c for c in covariates if c not in cohort.columns]
    if missing:
        raise KeyError(f"covariate(s) not in the data: {missing}")
    return covariates


def _both_groups(codes: np.ndarray, where: str = "") -> None:
    n_t, n_c = int((codes == 1).sum()), int((codes == 0).sum())
    if n_t == 0 or n_c == 0:
        raise ValueError(f"need participants and non-participants{where}; found {n_t} and {n_c}")


@dataclass
class PropensityFit:
    """The propensity model on its covariate-pattern cells, and each row's cell.

    Everything a person's score depends on is their cell, so the statistics
    of this module are sums over cells weighted by counts, not per-row
    design matrices. With a numeric covariate the model is fitted on rows and
    each cell is one row.

    Attributes
    ----------
    model
        The fit (:func:`analysis.fit_logistic` with the treatment as outcome).
    codes
        Per row: the treatment, 0/1, -1 where missing.
    cell
        Per row: the row's unit (cell) of the fit, -1 for rows not in the fit
        (treatment or some covariate missing).
    eta
        Per cell: the logit of the score, the model's linear predictor.
    treatment, covariates
        The treatment column (the model's outcome) and the covariates.
    """

    model: FlagsModel
    codes: np.ndarray
    cell: np.ndarray
    eta: np.ndarray
    treatment: str
    covariates: list[str]
    notes: list[str]

    @property
    def method(self) -> str:
        """The propensity model in the words the papers print (:func:`analysis.paper.method_text.propensity_words`)."""
        from .paper.method_text import propensity_words

        return propensity_words(self.treatment, self.covariates, self.model.method_code, self.model.fitted_on)

    @property
    def used(self) -> np.ndarray:
        """Per row: in the fit (treatment and every covariate recorded)."""
        return self.cell >= 0

    @property
    def X(self) -> np.ndarray:
        """The design matrix of the cells."""
        return self.model.X

    def row_eta(self) -> np.ndarray:
        """Per row: the logit of the score, NaN outside the fit."""
        used = self.used
        eta = np.full(self.cell.shape[0], np.nan)
        eta[used] = self.eta[self.cell[used]]
        return eta

    def counts(self, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """People per cell and treatment (cells x 2: non-participants, participants) and, with ``y``
        (per row, 0/1 where used), the sum of ``y`` in each."""
        used = self.used
        key = 2 * self.cell[used].astype(np.intp) + (self.codes[used] == 1)
        size = 2 * self.eta.shape[0]
        n = np.bincount(key, minlength=size).reshape(-1, 2).astype(float)
        s = np.zeros_like(n) if y is None else np.bincount(key, weights=y[used], minlength=size).reshape(-1, 2)
        return n, s


@single_threaded_blas
def _fit_propensity(cohort: pd.DataFrame, treatment: str, covariates: Sequence[str], reference: Mapping[str, Any] | None,
                    firth: bool | str, fit: PropensityFit | None = None) -> PropensityFit:
    """The propensity model fitted on the covariate-pattern cells of ``cohort`` (see :class:`PropensityFit`).

    ``fit``: one already fitted on these rows (by :func:`fit_propensity`), returned as it is after a check that it is.
    """
    if fit is not None:
        if len(fit.codes) != len(cohort) or fit.treatment != treatment or list(fit.covariates) != list(covariates):
            raise ValueError(f"fit= is a propensity fit of other rows or columns ({len(fit.codes):,} rows, '{fit.treatment}' on "
                             f"{', '.join(fit.covariates)}), not of these ({len(cohort):,} rows, '{treatment}' on "
                             f"{', '.join(covariates)})")
        return fit
    covariates = _check_covariates(cohort, treatment, covariates)
    codes = _treatment_codes(cohort, treatment)
    _both_groups(codes)
    model = fit_logistic(cohort, covariates, outcome=treatment, reference=reference, firth=firth)
    return PropensityFit(model=model, codes=codes, cell=np.asarray(model.units.inverse), eta=model.linear_predictor(),
                         treatment=treatment, covariates=covariates, notes=list(model.notes))


def fit_propensity(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    firth: bool | str = "auto",
) -> PropensityFit:
    """The propensity model on covariate-pattern cells: :func:`propensity_scores` without a frame per row.

    For callers that need the scores of millions of people only through
    their cells (a histogram, weights broadcast by ``fit.cell``).
    """
    return _fit_propensity(cohort, treatment, covariates, reference, firth)


# --------------------------------------------------------------------------- propensity scores


def propensity_scores(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    firth: bool | str = "auto",
) -> pd.DataFrame:
    """Each person's propensity score: the modelled probability of taking part given the covariates.

    Parameters
    ----------
    cohort
        One row per person (participants and potential comparisons).
    treatment
        The 0/1 column marking participants (1 = took part).
    covariates
        Columns the score is built on: 0/1 flags and categorical case-mix
        columns (dummy-coded against their first level in reading order, or
        ``reference``); a numeric column (a risk score, age in years) enters
        linearly.
    reference
        Reference level per categorical covariate, e.g. ``{"sex": "Male"}``;
        the scores do not depend on it.
    firth
        As :func:`analysis.fit_logistic`: ``"auto"`` refits by Firth's
        penalised likelihood when separation is found.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cohort``: ``treated`` (0/1, missing where not
        recorded), ``score`` (the probability), ``logit`` (its log odds, the
        model's linear predictor), ``att_weight`` (1 for a participant,
        ``score / (1 - score)`` for a non-participant), ``statistic``,
        ``model_method`` and ``fitted_on`` (the propensity model's, as
        :attr:`analysis.FlagsModel.method_code` and ``fitted_on``), ``method``
        (``"propensity_score"``: a logistic regression of the treatment on the
        covariates). Rows with a missing treatment or covariate have no score.
        ``attrs`` holds ``treatment``, ``covariates``, ``n_left_out`` and the
        model's ``notes``.

    Notes
    -----
    The model is :func:`analysis.fit_logistic` with the treatment as its
    outcome: maximum likelihood on the covariate-pattern cells, the same
    estimates as a row-level logistic regression.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 0, 0, 0, 1, 0, 0],
    ...                        "dv":        [1, 0, 1, 0, 0, 1, 1, 0]})
    >>> propensity_scores(people, "took_part", ["dv"])[["treated", "score", "att_weight"]].round(3)
       treated  score  att_weight
    0        1   0.50       1.000
    1        1   0.25       1.000
    2        0   0.50       1.000
    3        0   0.25       0.333
    4        0   0.25       0.333
    5        1   0.50       1.000
    6        0   0.50       1.000
    7        0   0.25       0.333
    """
    fit = _fit_propensity(cohort, treatment, covariates, reference, firth)
    codes, eta = fit.codes, fit.row_eta()
    score = expit(eta)
    weight = np.where(codes == 1, 1.0, np.exp(eta))
    weight[np.isnan(eta)] = np.nan
    out = pd.DataFrame(
        {
            "treated": pd.Series(codes, index=cohort.index).astype("Int8").mask(codes < 0),
            "score": score,
            "logit": eta,
            "att_weight": weight,
            "statistic": "propensity score",
            "model_method": fit.model.method_code,
            "fitted_on": fit.model.fitted_on,
            "method": "propensity_score",
        },
        index=cohort.index,
    )
    out.attrs.update(treatment=treatment, covariates=tuple(fit.covariates), n_left_out=int((~fit.used).sum()),
                     notes=fit.notes)
    return out


def common_support(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    firth: bool | str = "auto",
    fit: PropensityFit | None = None,
) -> pd.DataFrame:
    """The range of propensity scores in each group, and who lies outside the other group's range.

    ``fit``: the propensity model already fitted on these rows (:func:`fit_propensity`), instead of fitting it again.

    A participant whose score is above the highest (or below the lowest)
    score of any non-participant has nobody comparable: matching leaves them
    unmatched or pairs them with someone unlike them, and weighting leans on
    a few comparisons.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``participants`` and ``comparison``: ``group``, ``n``,
        ``score_min``, ``score_max``, ``outside_other_range`` (people in this
        group whose score is outside the other group's [min, max]),
        ``share_outside``, ``statistic``, ``model_method``, ``fitted_on``,
        ``method`` (as :func:`propensity_scores`). ``attrs["participants_outside"]``
        lists the index labels of the participants outside the comparison
        group's range; ``attrs`` also holds ``treatment`` and ``covariates``.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 1, 1, 0, 0, 0, 0, 0],
    ...                        "age":       [60, 50, 40, 30, 20, 25, 30, 45, 35]})
    >>> common_support(people, "took_part", ["age"])[["group", "n", "outside_other_range"]]
              group  n  outside_other_range
    0  participants  4                    2
    1    comparison  5                    2
    """
    fit = _fit_propensity(cohort, treatment, covariates, reference, firth, fit)
    score = expit(fit.eta)                      # per cell: everyone in a covariate pattern has the same score
    counts, _ = fit.counts()
    has_t, has_c = counts[:, 1] > 0, counts[:, 0] > 0
    lo_t, hi_t = float(score[has_t].min()), float(score[has_t].max())
    lo_c, hi_c = float(score[has_c].min()), float(score[has_c].max())
    # scores of one covariate pattern are identical, so a comparison within rounding error is inside the range
    tol = 1e-12
    out_t = has_t & ((score < lo_c - tol) | (score > hi_c + tol))
    out_c = has_c & ((score < lo_t - tol) | (score > hi_t + tol))
    rows = []
    for group, k, lo, hi, outside in (("participants", 1, lo_t, hi_t, out_t), ("comparison", 0, lo_c, hi_c, out_c)):
        n = int(counts[:, k].sum())
        n_out = int(counts[outside, k].sum())
        rows.append({"group": group, "n": n, "score_min": lo, "score_max": hi, "outside_other_range": n_out,
                     "share_outside": float(n_out / n)})
    used = fit.used
    rows_out = np.zeros(used.shape[0], dtype=bool)
    rows_out[used] = out_t[fit.cell[used]]
    rows_out &= fit.codes == 1
    out = pd.DataFrame(rows)
    out["statistic"] = "propensity score range"
    out["model_method"] = fit.model.method_code
    out["fitted_on"] = fit.model.fitted_on
    out["method"] = "propensity_score"
    out.attrs.update(participants_outside=list(cohort.index[rows_out]), treatment=treatment, covariates=tuple(fit.covariates),
                     n_left_out=int((~used).sum()))
    return out


# --------------------------------------------------------------------------- matching


class _NextFree:
    """The nearest unused position at or after (``right``) or at or before (``left``) an index.

    Disjoint-set forests with path compression over the runs of equal logits of
    the sorted comparisons, so matching without replacement finds the nearest
    run with a comparison left in near-constant time however many are used up.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._right = np.arange(n + 1)   # position n: none to the right
        self._left = np.arange(n + 1)    # shifted by one: entry j is position j - 1; entry 0: none to the left

    @staticmethod
    def _find(parent: np.ndarray, i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def right(self, i: int) -> int:
        """The first unused position >= i, or ``n`` when there is none."""
        return self._find(self._right, max(i, 0)) if i < self.n else self.n

    def left(self, i: int) -> int:
        """The last unused position <= i, or -1 when there is none."""
        return self._find(self._left, min(i, self.n - 1) + 1) - 1 if i >= 0 else -1

    def use(self, i: int) -> None:
        self._right[i] = i + 1
        self._left[i + 1] = i


def _match_without_replacement(t_logit: np.ndarray, sequence: np.ndarray, values: np.ndarray, priority: np.ndarray,
                               width: float) -> np.ndarray:
    """Greedy matching without replacement: for each participant, in ``sequence``, the sorted index of their comparison.

    ``values`` are the comparisons' logits sorted by (logit, ``priority``), a random rank drawn once per comparison.
    Each participant in turn takes the unused comparison nearest their logit ``t``: of a run of equal logits the
    unused one of lowest rank; of two at the same distance on either side, the lower rank; none when the nearest is
    further than ``width`` (greedy matching does not look for the next one). -1: unmatched.

    Because a run of equal logits is always taken from its lowest unused rank, each run is used up from its start
    and its state is one position: the work is per run (covariate pattern) and per block of consecutive
    participants with the same logit, not per person and comparison.
    """
    chosen = np.full(t_logit.shape[0], -1)
    if values.size == 0 or sequence.size == 0:
        return chosen
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], values.size]
    run_values = values[starts]
    head = starts.copy()                  # the next unused comparison of each run
    free = _NextFree(starts.size)        # runs with an unused comparison left
    ordered = t_logit[sequence]
    blocks = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    for lo, hi in zip(blocks.tolist(), np.r_[blocks[1:], sequence.size].tolist()):
        t = float(ordered[lo])
        start = int(np.searchsorted(run_values, t, side="left"))
        i = lo
        while i < hi:
            r = free.right(start)
            left = free.left(start - 1)
            if r >= starts.size and left < 0:
                break
            d_left = t - run_values[left] if left >= 0 else np.inf
            d_right = run_values[r] - t if r < starts.size else np.inf
            if d_left == d_right:  # equally near on both sides: the lower rank first, one at a time
                run = left if priority[head[left]] < priority[head[r]] else r
                take = 1
            else:
                run = left if d_left < d_right else r
                take = min(hi - i, int(ends[run] - head[run]))
            if min(d_left, d_right) > width:
                break  # the nearest is beyond the caliper, and stays so for this block
            chosen[sequence[i:i + take]] = np.arange(head[run], head[run] + take)
            head[run] += take
            if head[run] == ends[run]:
                free.use(run)
            i += take
    return chosen


def _nearest_shared(t: float, values: np.ndarray, rng: np.random.Generator) -> int:
    """Sorted index of a comparison nearest ``t``, drawn at random among all those equally near."""
    n = values.shape[0]
    start = int(np.searchsorted(values, t, side="left"))
    blocks: list[tuple[float, int, int]] = []
    if start < n:
        blocks.append((values[start] - t, start, int(np.searchsorted(values, values[start], side="right"))))
    if start > 0:
        blocks.append((t - values[start - 1], int(np.searchsorted(values, values[start - 1], side="left")), start))
    if not blocks:
        return -1
    best = min(d for d, _, _ in blocks)
    spans = [(lo, hi) for d, lo, hi in blocks if d == best]
    size = sum(hi - lo for lo, hi in spans)
    pick = int(rng.integers(size)) if size > 1 else 0
    for lo, hi in spans:
        if pick < hi - lo:
            return lo + pick
        pick -= hi - lo
    raise AssertionError("unreachable")


def match_nearest(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str] = (),
    *,
    caliper: float | None = DEFAULT_CALIPER,
    replace: bool = False,
    order: str = "largest",
    seed: int = 0,
    logit: str | None = None,
    reference: Mapping[str, Any] | None = None,
    firth: bool | str = "auto",
    fit: PropensityFit | None = None,
) -> pd.DataFrame:
    """1:1 nearest-neighbour matching of each participant to a non-participant on the logit of the score.

    Parameters
    ----------
    cohort
        One row per person, with a unique index (the pairs name rows by it).
    treatment
        The 0/1 column marking participants.
    covariates
        Columns of the propensity model (see :func:`propensity_scores`).
    caliper
        Maximum distance of a match, in standard deviations of the logit of
        the score: ``caliper * sqrt((var_t + var_c) / 2)``, the pooled SD of
        the two groups' logits (0.2 by default, Austin 2011). A participant
        whose nearest available comparison is further away is left unmatched
        (greedy matching does not look for the next one). ``None``: no caliper.
    replace
        ``False`` (default): each comparison is used at most once, and
        participants are matched one at a time in ``order``. ``True``: each
        participant gets their nearest comparison, who may be shared (the
        order then does not matter).
    order
        Order of greedy matching without replacement: ``"largest"`` score
        first (default; the hardest to match go first, as MatchIt's default),
        ``"smallest"`` first, ``"data"`` (row order) or ``"random"`` (a
        permutation drawn with ``seed``). Participants with equal scores go in row order.
    seed
        Seed of the tie-breaks (and of the random order): the same data and
        seed give the same matches.
    logit
        A column already holding the logit of a propensity score (from a
        model fitted elsewhere); the covariates are then not modelled.
    reference, firth
        Passed to the propensity model.
    fit
        The propensity model already fitted on these rows (:func:`fit_propensity`), instead of fitting it again.

    Returns
    -------
    pandas.DataFrame
        One row per participant with a score, in row order: ``participant``
        (index label), ``comparison`` (the matched person's index label,
        missing when unmatched), ``logit_participant``, ``logit_comparison``,
        ``distance`` (absolute difference of the logits), ``matched``,
        ``match_order`` (1 = matched first), ``caliper_width`` (on the logit
        scale), ``statistic``, ``caliper`` (in SDs of the logit; missing
        without one), ``replace``, ``order`` (``"data"`` with replacement),
        ``seed``, ``logit`` (the column of a supplied score's logit, or
        missing), ``model_method`` and ``fitted_on`` (the propensity model's,
        missing with ``logit``), ``method`` (``"nearest_neighbour_matching"``:
        1:1 on the logit, ties broken at random from ``seed``). ``attrs``
        holds ``treatment``, ``covariates`` (of the propensity model; empty with ``logit``),
        ``replace``, ``caliper``, ``caliper_width``, ``sd_logit``,
        ``n_participants``, ``n_matched``, ``n_unmatched``,
        ``n_comparison_pool``, ``n_comparison_used`` and ``n_left_out``.

    Notes
    -----
    Ties are common: with categorical covariates everyone in a covariate
    pattern has the same score. They are broken at random, reproducibly from
    ``seed``. Without replacement each comparison gets one random rank and,
    of comparisons at the same distance, the unused one of lowest rank is
    taken. With replacement each participant draws one comparison
    uniformly from all those at the smallest distance, so a pattern's
    participants spread over its comparisons instead of all sharing one.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 0, 0, 0], "lp": [0.4, 0.45, 0.1, 0.5, 2.0]},
    ...                       index=["a", "b", "c", "d", "e"])
    >>> match_nearest(people, "took_part", logit="lp", caliper=None)[["participant", "comparison", "match_order"]]
      participant comparison  match_order
    0           a          c            2
    1           b          d            1
    """
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError("replace must be True or False")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {list(ORDERS)}, not {order!r}")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ValueError(f"caliper must be a positive number of standard deviations (or None), not {caliper!r}")
    if not cohort.index.is_unique:
        raise ValueError("the cohort's index must be unique: the pairs name people by it (reset_index() first)")
    if logit is not None:
        if len(list(covariates)):
            raise ValueError("give covariates (to fit the propensity model) or logit= (a fitted score's logit), not both")
        if logit not in cohort.columns:
            raise KeyError(f"no logit column '{logit}' in the data")
        codes = _treatment_codes(cohort, treatment)
        eta = pd.to_numeric(cohort[logit], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        model_method: str | None = None
        fitted_on: str | None = None
        fitted_covariates: tuple[str, ...] = ()
    else:
        fit = _fit_propensity(cohort, treatment, covariates, reference, firth, fit)
        codes, eta = fit.codes, fit.row_eta()
        model_method, fitted_on, fitted_covariates = fit.model.method_code, fit.model.fitted_on, tuple(fit.covariates)
    known = (codes >= 0) & np.isfinite(eta)
    t_rows = np.flatnonzero(known & (codes == 1))
    c_rows = np.flatnonzero(known & (codes == 0))
    _both_groups(codes[known], " with a score")
    t_logit, c_logit = eta[t_rows], eta[c_rows]
    n_left_out, n_pool = int((~known).sum()), int(c_rows.size)
    del eta, known  # the logits of the comparisons are kept sorted below; nothing else per row is needed

    var_t = float(np.var(t_logit, ddof=1)) if t_logit.size > 1 else 0.0
    var_c = float(np.var(c_logit, ddof=1)) if c_logit.size > 1 else 0.0
    sd = float(np.sqrt((var_t + var_c) / 2))
    width = np.inf if caliper is None else float(caliper) * sd

    rng = np.random.default_rng(seed)
    rank_c = rng.permutation(c_rows.size)  # a random rank per comparison breaks ties without replacement
    # sorted by (logit, rank): the comparisons in rank order, then stably by logit (ranks are distinct, so this is
    # the one order lexsort((rank_c, c_logit)) gives, with one sort of one key instead of two)
    by_rank = np.empty(rank_c.size, dtype=np.intp)
    by_rank[rank_c] = np.arange(rank_c.size)
    sort = by_rank[np.argsort(c_logit[by_rank], kind="stable")]
    del by_rank
    values = c_logit[sort]
    del c_logit
    positions = c_rows[sort]
    del c_rows
    priority = rank_c[sort]
    del rank_c, sort
    if replace or order == "data":
        sequence = np.arange(t_rows.size)
    elif order == "largest":
        sequence = np.lexsort((t_rows, -t_logit))
    elif order == "smallest":
        sequence = np.lexsort((t_rows, t_logit))
    else:
        sequence = rng.permutation(t_rows.size)

    rank = np.zeros(t_rows.size, dtype=np.int64)
    rank[sequence] = np.arange(1, t_rows.size + 1)
    if replace:
        chosen = np.full(t_rows.size, -1)
        for k in sequence:  # one random draw per participant, in row order
            t = float(t_logit[k])
            j = _nearest_shared(t, values, rng)
            if j >= 0 and abs(values[j] - t) <= width:
                chosen[k] = j
    else:
        chosen = _match_without_replacement(t_logit, sequence, values, priority, width)

    matched = chosen >= 0
    c_pos = np.where(matched, positions[np.clip(chosen, 0, None)], -1)
    labels = cohort.index
    comparison = np.array([labels[p] if p >= 0 else None for p in c_pos], dtype=object)
    logit_c = np.where(matched, values[np.clip(chosen, 0, None)], np.nan)  # the matched comparison's logit
    out = pd.DataFrame(
        {
            "participant": np.array(list(labels[t_rows]), dtype=object),
            "comparison": comparison,
            "logit_participant": t_logit,
            "logit_comparison": logit_c,
            "distance": np.abs(t_logit - logit_c),
            "matched": matched,
            "match_order": rank,
            "caliper_width": width,
            "statistic": "nearest-neighbour match on the logit of the propensity score",
            "caliper": np.nan if caliper is None else float(caliper),
            "replace": bool(replace),
            "order": "data" if replace else order,
            "seed": seed,
            "logit": logit,
            "model_method": model_method,
            "fitted_on": fitted_on,
            "method": "nearest_neighbour_matching",
        }
    )
    used = c_pos[matched]
    out.attrs.update(
        treatment=treatment, covariates=fitted_covariates, replace=bool(replace), caliper=caliper, caliper_width=width, sd_logit=sd,
        order="data" if replace else order, seed=seed,
        n_participants=int(t_rows.size), n_matched=int(matched.sum()), n_unmatched=int((~matched).sum()),
        n_comparison_pool=n_pool, n_comparison_used=int(np.unique(used).size),
        n_left_out=n_left_out,
    )
    return out


def match_weights(matches: pd.DataFrame, cohort: pd.DataFrame) -> pd.Series:
    """Each person's weight in the matched sample: 1 for a matched participant, k for a comparison used k times.

    Everyone else (unmatched participants, unused comparisons, people
    without a score) has weight 0.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 0, 0], "lp": [0.1, 0.2, 0.15, 3.0]})
    >>> match_weights(match_nearest(people, "took_part", logit="lp", caliper=None, replace=True), people).tolist()
    [1.0, 1.0, 2.0, 0.0]
    """
    pairs = matches.loc[matches["matched"].astype(bool), ["participant", "comparison"]]  # not the texts per pair
    w = pd.Series(0.0, index=cohort.index, name="weight")
    w.loc[list(pairs["participant"])] = 1.0
    uses = pd.Series(list(pairs["comparison"])).value_counts()
    w.loc[list(uses.index)] = uses.to_numpy(dtype=float)
    return w


# --------------------------------------------------------------------------- effects


def _effect_row(estimate: float, se: float, level: float, **extra: Any) -> dict[str, Any]:
    z = critical_value(level)
    p = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else np.nan
    return {
        "statistic": "difference in rates (participants minus comparison group)",
        "estimate": estimate,
        "lower": estimate - z * se,
        "upper": estimate + z * se,
        "se": se,
        "p_value": p,
        **extra,
    }


def matched_effect(
    cohort: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    outcome: str = OUTCOME,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The difference in reoffending rates between matched participants and their matched comparisons.

    Parameters
    ----------
    cohort
        The data the matches were made on.
    matches
        The output of :func:`match_nearest`.
    outcome
        The 0/1 outcome; every matched person must have it recorded.
    confidence
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row: ``statistic``, ``estimate`` (rate of the matched
        participants minus rate of their comparisons, a fraction), ``lower``,
        ``upper``, ``se``, ``p_value``, ``rate_participants``,
        ``rate_comparison``, ``n_participants`` (matched), ``n_comparison``
        (distinct comparison people), ``n_unmatched``, ``outcome``,
        ``method`` (``"matched_pairs"``: no comparison serves twice, the
        paired variance; ``"matching_with_replacement"``: comparisons weighted
        by their uses), ``confidence``.

    Notes
    -----
    When no comparison serves twice (always, without replacement) the pairs
    are analysed as pairs: the estimate is the mean of the within-pair
    differences d = y_t - y_c, and with b pairs where only the participant
    reoffended, c where only the comparison did, and n pairs, its variance is
    ``((b + c) - (b - c)^2 / n) / n^2`` (the variance of paired proportions;
    Austin recommends paired methods for matched samples). With replacement
    a comparison used k times has weight k: the comparison rate is the
    weighted mean ``p_c = sum k_j y_j / n`` and the variance
    ``p_t (1 - p_t) / n + sum k_j^2 (y_j - p_c)^2 / n^2``, treating the
    weights as fixed and the groups as independent (conditional on the
    matches; it ignores that the scores were estimated). The interval is
    Wald, ``estimate +/- z * SE``, and the p-value its z-test.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 1, 0, 0, 0], "lp": [0, 1, 2, 0, 1, 2],
    ...                        "reoffended": [0, 1, 0, 1, 1, 0]})
    >>> m = match_nearest(people, "took_part", logit="lp")
    >>> matched_effect(people, m)[["estimate", "rate_participants", "rate_comparison", "n_participants"]].round(3)
       estimate  rate_participants  rate_comparison  n_participants
    0    -0.333              0.333            0.667               3
    """
    confidence = one_confidence_level(confidence, function="matched_effect")
    need = {"participant", "comparison", "matched"}
    if not need <= set(matches.columns):
        raise KeyError(f"matches need columns {sorted(need)} (the output of match_nearest)")
    pairs = matches.loc[matches["matched"].astype(bool), ["participant", "comparison"]]  # not the texts per pair
    if pairs.empty:
        raise ValueError("no participant was matched: widen the caliper or check the common support")
    y_rows = _outcome_values(cohort, outcome)

    def y(labels: Any) -> np.ndarray:
        """The outcomes of the people named by index labels (positions found once, no Series per person)."""
        where = cohort.index.get_indexer(pd.Index(list(labels)))
        if (where < 0).any():
            raise KeyError(f"{int((where < 0).sum())} matched people are not in the cohort's index")
        return y_rows[where]

    y_t = y(pairs["participant"])
    y_c = y(pairs["comparison"])
    if np.isnan(y_t).any() or np.isnan(y_c).any():
        raise ValueError(f"{int(np.isnan(y_t).sum() + np.isnan(y_c).sum())} matched people have no recorded '{outcome}': "
                         "drop people without an outcome before matching")
    n = y_t.size
    p_t, p_c = float(y_t.mean()), float(y_c.mean())
    estimate = p_t - p_c
    shared = bool(pairs["comparison"].duplicated().any())
    if not shared:
        b = float(((y_t == 1) & (y_c == 0)).sum())
        c = float(((y_t == 0) & (y_c == 1)).sum())
        var = ((b + c) - (b - c) ** 2 / n) / n**2
        method = "matched_pairs"
    else:
        uses = pairs.groupby("comparison", sort=False).size()
        k = uses.to_numpy(dtype=float)
        y_j = y(uses.index)
        var = p_t * (1 - p_t) / n + float((k**2 * (y_j - p_c) ** 2).sum()) / n**2
        method = "matching_with_replacement"
    row = _effect_row(estimate, float(np.sqrt(max(var, 0.0))), confidence,
                      rate_participants=p_t, rate_comparison=p_c, n_participants=int(n),
                      n_comparison=int(pairs["comparison"].nunique()), n_unmatched=int((~matches["matched"].astype(bool)).sum()),
                      outcome=outcome, method=method, confidence=float(confidence))
    return pd.DataFrame([row])


@single_threaded_blas
def ipw_att(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    outcome: str = OUTCOME,
    reference: Mapping[str, Any] | None = None,
    firth: bool | str = "auto",
    confidence: float = 0.95,
    fit: PropensityFit | None = None,
) -> pd.DataFrame:
    """The effect in the treated by inverse-probability weighting: participants against re-weighted non-participants.

    ``fit``: the propensity model already fitted on these rows (:func:`fit_propensity`), used when every row has
    its outcome (otherwise the model is fitted on those that have).

    Each participant has weight 1 and each non-participant ``e / (1 - e)``,
    with ``e`` their propensity score, so the weighted non-participants have
    the participants' distribution of covariates. The effect is the
    participants' rate minus the weighted rate of the non-participants
    (weights normalised to sum to one).

    Parameters
    ----------
    cohort, treatment, covariates, reference, firth
        As :func:`propensity_scores`. People without a recorded outcome are
        left out before the model is fitted (counted in ``n_left_out``).
    outcome
        The 0/1 outcome.
    confidence
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row with the columns of :func:`matched_effect` (``n_unmatched``
        is 0) plus ``effective_n_comparison`` (Kish's ``(sum w)^2 / sum w^2``
        over the non-participants), ``n_left_out``, ``treatment``,
        ``covariates`` (joined by ", "), ``model_method`` and ``fitted_on``
        (the propensity model's); ``method`` is ``"ipw_att"``.

    Notes
    -----
    The standard error is the M-estimation (stacked estimating equations)
    sandwich: the logistic score equations of the propensity model, the
    participants' mean and the weighted mean of the non-participants are
    solved together, and the variance of the difference is the sum of the
    squared influence values, each the person's own contribution plus the
    term that carries the uncertainty of the estimated scores (Lunceford and
    Davidian 2004; Reifeis and Hudgens 2022, who show that the "robust"
    variance that treats the weights as known can be too small for the
    ATT). The interval is Wald. When the propensity model is
    Firth-penalised the influence uses the unpenalised score equations, an
    approximation.

    Examples
    --------
    >>> cohort = simulate_intervention(n=2000, effect=-0.5, seed=1)
    >>> e = ipw_att(cohort, "took_part", cohort.attrs["covariates"])
    >>> bool(e.loc[0, "lower"] < cohort.attrs["true_att"] < e.loc[0, "upper"])
    True
    """
    confidence = one_confidence_level(confidence, function="ipw_att")
    covariates = _check_covariates(cohort, treatment, covariates)
    y_all = _outcome_values(cohort, outcome)
    recorded = ~np.isnan(y_all)
    data = cohort if recorded.all() else cohort.loc[recorded]
    fit = _fit_propensity(data, treatment, covariates, reference, firth, fit if recorded.all() else None)
    used = fit.used
    # Every statistic below depends on a person only through their cell (covariate pattern), treatment and outcome,
    # so the sums over people are sums over cells weighted by counts: n[:, k] people and s[:, k] with the outcome
    # among the non-participants (k = 0) and the participants (k = 1) of each cell.
    n, s = fit.counts(y_all[recorded] if not recorded.all() else y_all)
    X = fit.X
    eta = fit.eta
    e = expit(eta)
    w = np.exp(eta)                                    # a non-participant's weight e / (1 - e)
    n1 = n[:, 1].sum()
    mu1 = float(s[:, 1].sum() / n1)
    A00 = float(n[:, 0] @ w)
    mu0 = float((w * s[:, 0]).sum() / A00)
    # stacked estimating equations: psi_beta = X (T - e), psi_1 = T (y - mu1), psi_0 = (1 - T) w (y - mu0)
    A_bb = (X * ((n[:, 0] + n[:, 1]) * e * (1 - e))[:, None]).T @ X
    D = (w * (s[:, 0] - mu0 * n[:, 0])) @ X            # derivative of sum(psi_0) with respect to beta
    a_cell = X @ np.linalg.solve(A_bb, D)             # psi_beta' A_bb^-1 D = (T - e) a_cell
    # influence phi1 - phi0 of each (cell, treatment, outcome), and how many people share it
    infl = []
    for y_val in (0.0, 1.0):
        infl.append(((y_val - mu1) / n1 - (1 - e) * a_cell / A00, s[:, 1] if y_val else n[:, 1] - s[:, 1]))
        infl.append((-(w * (y_val - mu0) - e * a_cell) / A00, s[:, 0] if y_val else n[:, 0] - s[:, 0]))
    se = float(np.sqrt(sum(float(k @ phi**2) for phi, k in infl)))
    ess = float(A00**2 / (n[:, 0] @ w**2))
    row = _effect_row(mu1 - mu0, se, confidence, rate_participants=mu1, rate_comparison=mu0, n_participants=int(n1),
                      n_comparison=int(n[:, 0].sum()), n_unmatched=0, effective_n_comparison=ess,
                      n_left_out=int((~recorded).sum() + (~used).sum()), outcome=outcome, treatment=treatment,
                      covariates=", ".join(fit.covariates), model_method=fit.model.method_code, fitted_on=fit.model.fitted_on,
                      method="ipw_att", confidence=float(confidence))
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- balance


def _weighted_mean_var(x: np.ndarray, w: np.ndarray, w2: np.ndarray, binary: bool) -> tuple[float, float]:
    """Weighted mean and variance over cells of value ``x``, total weight ``w`` and total squared weight ``w2``.

    p(1 - p) for a 0/1 column, else the unbiased weighted variance of the people in the cells.
    """
    sw = w.sum()
    mean = float((w * x).sum() / sw)
    if binary:
        return mean, mean * (1 - mean)
    denom = sw - w2.sum() / sw   # reliability weights; with unit weights this is n - 1
    var = float((w * (x - mean) ** 2).sum() / denom) if denom > 0 else np.nan
    return mean, var


def _balance_cells(encoded: Mapping[str, tuple[Variable, np.ndarray]], codes: np.ndarray, complete: np.ndarray,
                   samples: Sequence[tuple[str, np.ndarray]]
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]]:
    """The covariate patterns of the complete rows and, per sample, each pattern's weights by treatment.

    Returns each covariate's code (or, for a numeric covariate, the position of its value in the sorted distinct
    values, also returned) per pattern, and per sample ``(name, W, W2, N)``: the sum of the weights and of the
    squared weights per pattern (patterns x 2: non-participants, participants), and the people with a non-zero
    weight in each group.
    """
    # Means and variances depend on a person only through their covariates, treatment and weight: sum the weights
    # (and squared weights) of each covariate pattern and treatment, then work on the patterns.
    every = bool(complete.all())
    rows_in = slice(None) if every else np.flatnonzero(complete)
    cell_codes: dict[str, np.ndarray] = {}
    cell_vars: dict[str, Variable] = {}
    numeric_values: dict[str, np.ndarray] = {}
    for name, (var, values) in encoded.items():
        if var.kind == "numeric":
            numeric_values[name], inverse = np.unique(values[rows_in], return_inverse=True)
            cell_codes[name] = inverse.ravel()
            size = numeric_values[name].shape[0]
        else:
            cell_codes[name] = values[rows_in]
            size = len(var.levels)
        cell_vars[name] = Variable(name, "categorical", tuple(range(size)))
    cell, _, patterns, _ = cell_keys(cell_codes, Design(cell_vars))
    treated = codes[rows_in] == 1
    key = 2 * cell.astype(np.intp) + treated
    size = 2 * (int(cell.max()) + 1)
    sums = []
    for sample, w in samples:
        wc = w[rows_in]
        positive = wc > 0
        n_t = int((positive & treated).sum())
        # the squared weights only enter the variance of a numeric covariate
        w2 = np.bincount(key, weights=wc**2, minlength=size) if numeric_values else np.zeros(size)
        sums.append((sample, np.bincount(key, weights=wc, minlength=size).reshape(-1, 2), w2.reshape(-1, 2),
                     np.array([int(positive.sum()) - n_t, n_t])))
    return patterns, numeric_values, sums


def balance(
    cohort: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    matches: pd.DataFrame | None = None,
    weights: pd.Series | np.ndarray | None = None,
    threshold: float = SMD_THRESHOLD,
) -> pd.DataFrame:
    """Standardised mean differences of every covariate level, before and after matching or weighting.

    For each 0/1 covariate, each level of a categorical covariate and each
    numeric covariate, ``SMD = (mean_t - mean_c) / sqrt((var_t + var_c) / 2)``
    (Austin 2009): for a 0/1 indicator the mean is the proportion p and the
    variance p(1 - p); for a numeric covariate the sample variance. After
    matching or weighting, the means and variances are those of the
    matched (weighted) sample. ``|SMD| > threshold`` (0.1, the 10% rule)
    marks an imbalance.

    Parameters
    ----------
    cohort, treatment, covariates
        The data, the 0/1 treatment column and the covariates to check.
    matches
        Output of :func:`match_nearest`: adds rows "after matching" (matched
        participants, and comparisons weighted by their number of uses).
    weights
        One weight per row of ``cohort`` (e.g. ``propensity_scores(...)["att_weight"]``):
        adds rows "after weighting". NaN or 0 leaves a person out.
    threshold
        The imbalance threshold for ``|SMD|``.

    Returns
    -------
    pandas.DataFrame
        One row per covariate level and sample: ``covariate``, ``level``
        (missing for a 0/1 or numeric covariate), ``sample`` ("before",
        "after matching", "after weighting"), ``mean_participants``,
        ``mean_comparison``, ``var_participants``, ``var_comparison``,
        ``smd``, ``imbalanced``, ``n_participants``, ``n_comparison``
        (people with a non-zero weight), ``statistic``, ``threshold`` (the
        ``|SMD|`` above which a row is imbalanced), ``method``
        (``"standardised_mean_difference"``, Austin 2009: p(1-p) for 0/1
        indicators, the weighted sample variance otherwise).
        People with a missing treatment or covariate are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"took_part": [1, 1, 0, 0, 0, 0], "dv": [1, 0, 1, 0, 0, 0]})
    >>> balance(people, "took_part", ["dv"])[["covariate", "mean_participants", "mean_comparison", "smd"]].round(4)
      covariate  mean_participants  mean_comparison     smd
    0        dv                0.5             0.25  0.5345
    """
    covariates = _check_covariates(cohort, treatment, covariates)
    codes = _treatment_codes(cohort, treatment)
    encoded = {}
    complete = codes >= 0
    for name in covariates:
        var, values = encode(cohort[name], name)
        if var.kind == "numeric":
            complete &= ~np.isnan(values)
        else:
            complete &= np.asarray(values) >= 0
        encoded[name] = (var, np.asarray(values))
    _both_groups(codes[complete], " with every covariate recorded")

    samples: list[tuple[str, np.ndarray]] = [("before", complete.astype(float))]
    if matches is not None:
        samples.append(("after matching", match_weights(matches, cohort).to_numpy(dtype=float) * complete))
    if weights is not None:
        wv = weights.reindex(cohort.index).to_numpy(dtype=float) if isinstance(weights, pd.Series) else np.asarray(weights, dtype=float)
        if wv.shape != (len(cohort),):
            raise ValueError("weights must have one value per row of the cohort")
        if (wv[~np.isnan(wv)] < 0).any():
            raise ValueError("weights must not be negative")
        samples.append(("after weighting", np.nan_to_num(wv, nan=0.0) * complete))

    patterns, numeric_values, sums = _balance_cells(encoded, codes, complete, samples)
    rows = []
    for name, (var, values) in encoded.items():
        pattern = patterns[name]
        columns: list[tuple[str | None, np.ndarray, bool]]
        if var.kind == "categorical":
            columns = [(str(level), (pattern == j).astype(float), True) for j, level in enumerate(var.levels)]
        elif var.kind == "binary":
            columns = [(None, (pattern == 1).astype(float), True)]
        else:
            columns = [(None, numeric_values[name][pattern], False)]
        for level, x, binary in columns:
            for sample, W, W2, N in sums:
                if N[1] == 0 or N[0] == 0:
                    continue
                m_t, v_t = _weighted_mean_var(x, W[:, 1], W2[:, 1], binary)
                m_c, v_c = _weighted_mean_var(x, W[:, 0], W2[:, 0], binary)
                diff = m_t - m_c
                sd = np.sqrt((v_t + v_c) / 2)
                smd = diff / sd if sd > 0 else (0.0 if diff == 0 else float(np.sign(diff) * np.inf))
                rows.append({
                    "covariate": name, "level": level, "sample": sample,
                    "mean_participants": m_t, "mean_comparison": m_c, "var_participants": v_t, "var_comparison": v_c,
                    "smd": float(smd), "imbalanced": bool(abs(smd) > threshold),
                    "n_participants": int(N[1]), "n_comparison": int(N[0]),
                })
    out = pd.DataFrame(rows)
    out["statistic"] = "standardised mean difference"
    out["threshold"] = float(threshold)
    out["method"] = "standardised_mean_difference"
    out.attrs.update(treatment=treatment, threshold=threshold)
    return out


# --------------------------------------------------------------------------- words


def _as_row(effect: pd.Series | pd.DataFrame | Mapping[str, Any]) -> Any:
    if isinstance(effect, pd.DataFrame):
        if len(effect) != 1:
            raise ValueError("pass one effect row (e.g. matched_effect(...).iloc[0])")
        return effect.iloc[0]
    return effect


def _per_100(values: Sequence[float]) -> list[str]:
    """Numbers per 100 as whole numbers, or with one decimal when rounding would show a non-zero as 0 or two as equal."""
    whole = [round(v) for v in values]
    if any(v != 0 and w == 0 for v, w in zip(values, whole)) or len(set(whole)) < len(whole):
        return [f"{v:.1f}" for v in values]
    return [f"{w:d}" for w in whole]


def impact_sentence(
    effect: pd.Series | pd.DataFrame | Mapping[str, Any],
    *,
    programme: str = "the programme",
    participants: str = "people who took part",
    verb: str = "reoffended",
    noun: str = "reoffending",
) -> str:
    """The result in the Justice Data Lab's words, per 100 participants.

    A reduction whose interval lies below 0: "For every 100 people who took
    part, between 3 and 9 fewer reoffended than in a similar comparison
    group." An increase whose interval lies above 0: "... between 3 and 9
    more reoffended ...". An interval that includes 0: "The analysis could
    not show whether the programme increased or decreased reoffending: for
    every 100 people who took part, between 4 fewer and 2 more reoffended
    than in a similar comparison group."

    Parameters
    ----------
    effect
        A row of :func:`matched_effect` or :func:`ipw_att` (``lower`` and
        ``upper`` as fractions; participants minus comparison).
    programme, participants, verb, noun
        The words of the sentence.

    Examples
    --------
    >>> impact_sentence({"estimate": -0.06, "lower": -0.091, "upper": -0.029})
    'For every 100 people who took part, between 3 and 9 fewer reoffended than in a similar comparison group.'
    >>> impact_sentence({"estimate": -0.01, "lower": -0.04, "upper": 0.02}, programme="the mentoring scheme")
    'The analysis could not show whether the mentoring scheme increased or decreased reoffending: for every 100 people who took part, between 4 fewer and 2 more reoffended than in a similar comparison group.'
    """
    row = _as_row(effect)
    lo, hi = 100 * float(row["lower"]), 100 * float(row["upper"])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("the effect has no interval")
    if hi < 0:
        a, b = _per_100([-hi, -lo])
        return f"For every 100 {participants}, between {a} and {b} fewer {verb} than in a similar comparison group."
    if lo > 0:
        a, b = _per_100([lo, hi])
        return f"For every 100 {participants}, between {a} and {b} more {verb} than in a similar comparison group."
    a, b = _per_100([-lo, hi])
    return (f"The analysis could not show whether {programme} increased or decreased {noun}: for every 100 {participants}, "
            f"between {a} fewer and {b} more {verb} than in a similar comparison group.")


def jdl_caveats(
    effect: pd.Series | pd.DataFrame | Mapping[str, Any],
    balance_table: pd.DataFrame | None = None,
    *,
    minimum: int = JDL_MINIMUM,
    unmatched_share: float = UNMATCHED_SHARE,
) -> list[str]:
    """The caveats a Justice Data Lab-style result needs, as sentences (none when there is nothing to say).

    - *Imbalance*: a covariate level still beyond the 10% rule after
      matching or weighting (rows of ``balance_table`` other than "before").
    - *Too few*: fewer than ``minimum`` (60, the JDL's minimum) participants
      in the estimate.
    - *Many unmatched*: more than ``unmatched_share`` of the participants
      could not be matched, so the estimate describes those who could.

    Examples
    --------
    >>> jdl_caveats({"n_participants": 48, "n_unmatched": 12})[0]
    'The estimate rests on 48 participants, fewer than the 60 the Justice Data Lab requires: treat it as indicative only.'
    """
    row = _as_row(effect)
    out: list[str] = []
    if balance_table is not None and not balance_table.empty:
        after = balance_table.loc[balance_table["sample"] != "before"]
        bad = after.loc[after["imbalanced"].astype(bool)]
        if not bad.empty:
            items = []
            for _, r in bad.iterrows():
                what = r["covariate"] if pd.isna(r["level"]) else f"{r['covariate']} = {r['level']}"
                items.append(f"{what} (SMD {r['smd']:.2f}, {r['sample']})")
            out.append(
                f"{len(items)} characteristic(s) still differ between participants and the comparison group by more than "
                "the 10% rule allows (a standardised difference above 0.1): " + "; ".join(items)
                + ". The groups are not fully alike, so part of the difference may be due to who took part."
            )
    n = int(row["n_participants"])
    if n < minimum:
        out.append(f"The estimate rests on {n} participants, fewer than the {minimum} the Justice Data Lab requires: "
                   "treat it as indicative only.")
    unmatched = int(row.get("n_unmatched", 0) or 0)
    total = n + unmatched
    if total and unmatched / total > unmatched_share:
        out.append(f"{unmatched} of the {total} participants ({100 * unmatched / total:.0f}%) could not be matched to a "
                   f"similar person; the result describes the {n} who could, who may differ from everyone who took part.")
    return out


# --------------------------------------------------------------------------- simulation


def simulate_intervention(*, n: int = 5000, effect: float = -0.4, seed: int = 0) -> pd.DataFrame:
    """A synthetic cohort in which taking part depends on the covariates and has a known effect.

    Higher-risk people (young, substance misuse, homeless, unemployed) are
    both more likely to take part and more likely to reoffend, so the raw
    difference in rates is biased upwards; taking part changes each
    participant's log odds of reoffending by ``effect``.

    Parameters
    ----------
    n
        Number of people.
    effect
        The change in the log odds of reoffending from taking part.
    seed
        Seed of the random numbers.

    Returns
    -------
    pandas.DataFrame
        ``person_id``, ``sex``, ``age_band``, ``offence_group`` (categorical),
        ``dv``, ``substance_misuse``, ``homeless``, ``unemployed`` (0/1),
        ``took_part`` (0/1) and ``reoffended`` (0/1). ``attrs`` holds
        ``true_att``, the effect in the treated as a risk difference
        computed exactly from the simulation's own probabilities: the mean,
        over the people who took part, of ``expit(eta + effect) - expit(eta)``
        with eta each person's log odds of reoffending without taking part;
        also ``effect_log_odds``, ``treatment`` and ``covariates``.

    Examples
    --------
    >>> sim = simulate_intervention(n=1000, effect=-0.4, seed=0)
    >>> sim.shape, round(sim.attrs["true_att"], 4) < 0
    ((1000, 10), True)
    """
    if n < 10:
        raise ValueError("n must be at least 10")
    rng = np.random.default_rng(seed)
    sexes = ("Male", "Female")
    ages = ("18-20", "21-24", "25-29", "30-34", "35-39", "40-49", "50+")
    offences = ("violence", "theft_non_motor", "drug_possession_supply", "burglary_domestic", "other")
    sex = rng.choice(2, n, p=[0.82, 0.18])
    age = rng.choice(len(ages), n, p=[0.12, 0.16, 0.18, 0.16, 0.13, 0.15, 0.10])
    offence = rng.choice(len(offences), n, p=[0.3, 0.25, 0.15, 0.1, 0.2])
    substance = (rng.random(n) < 0.25 + 0.1 * (offence == 2)).astype(np.int8)
    homeless = (rng.random(n) < 0.10 + 0.05 * substance).astype(np.int8)
    unemployed = (rng.random(n) < 0.40 + 0.15 * substance).astype(np.int8)
    dv = (rng.random(n) < 0.15 + 0.15 * (offence == 0)).astype(np.int8)

    age_risk = np.array([0.55, 0.45, 0.3, 0.15, 0.0, -0.25, -0.6])
    offence_risk = np.array([0.0, 0.45, 0.2, 0.35, -0.2])
    eta_y = (-0.85 + 0.25 * (sex == 0) + age_risk[age] + offence_risk[offence]
             + 0.5 * substance + 0.45 * homeless + 0.3 * unemployed + 0.15 * dv)
    age_take = np.array([0.7, 0.5, 0.3, 0.1, 0.0, -0.3, -0.6])
    eta_t = (-2.2 + 0.2 * (sex == 1) + age_take[age] + 0.4 * (offence == 2)
             + 1.0 * substance + 0.7 * homeless + 0.5 * unemployed + 0.2 * dv)
    took_part = (rng.random(n) < expit(eta_t)).astype(np.int8)
    p_untreated = expit(eta_y)
    p_treated = expit(eta_y + effect)
    reoffended = (rng.random(n) < np.where(took_part == 1, p_treated, p_untreated)).astype(np.int8)
    treated = took_part == 1
    true_att = float((p_treated[treated] - p_untreated[treated]).mean()) if treated.any() else float("nan")

    out = pd.DataFrame({
        "person_id": [f"S{i:06d}" for i in range(n)],
        "sex": pd.Categorical.from_codes(sex, categories=pd.Index(sexes)),
        "age_band": pd.Categorical.from_codes(age, categories=pd.Index(ages)),
        "offence_group": pd.Categorical.from_codes(offence, categories=pd.Index(offences)),
        "dv": dv,
        "substance_misuse": substance,
        "homeless": homeless,
        "unemployed": unemployed,
        "took_part": took_part,
        "reoffended": reoffended,
    })
    out.attrs.update(
        true_att=true_att, effect_log_odds=float(effect), treatment="took_part",
        covariates=("sex", "age_band", "offence_group", "dv", "substance_misuse", "homeless", "unemployed"),
    )
    return out
