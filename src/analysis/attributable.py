"""Attributable fractions of reoffending by counterfactual standardisation (docs/methods.md, attributable fractions).

For a fitted flags model, ``A`` is the mean predicted probability over the
people in the model and ``B`` the mean with a flag set to 0 (everything else
as observed): ``PAR = A - B`` (a difference in probability) and ``PAF = 1 - B/A``
(Greenland and Drescher 1993; Newson's ``punaf``/``regpar``). This is right
for a common outcome such as reoffending, where the Levin/Bruzzi formulas
built on odds ratios overstate the fraction.

Several flags: the *joint* PAF sets all of them to 0 at once; the *average*
(Shapley) PAF of a flag is the mean, over all orders of removing the flags,
of the fraction it removes when its turn comes. The Shapley PAFs add up to
the joint PAF; **single-flag PAFs are never summed** (they overlap).

Intervals are by the delta method, *unconditional*: the variance from the
model coefficients (``g' V g``) plus the variance from the case mix being a
sample (the spread of each person's contribution), which are uncorrelated
when the model is right (the analogue of Stata's ``margins, vce(unconditional)``).
All sums run over covariate-pattern cells weighted by their counts, so the
cost does not grow with the number of people.

Examples
--------
>>> import analysis
>>> fit = analysis.fit_flags_model(cohort)              # doctest: +SKIP
>>> paf = analysis.attributable_fractions(fit)          # doctest: +SKIP
>>> paf.loc[paf["kind"] == "single", "sentence"].tolist()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd
from scipy.special import expit

from .fitting import single_threaded_blas
from .intervals import critical_value, one_confidence_level
from .models import FlagsModel
from .schema import FLAG_LABELS

__all__ = ["attributable_fractions", "paf_sentence", "paf_sentences", "FLAG_PHRASES"]

FLAG_PHRASES: dict[str, str] = {
    "dv": "a domestic violence perpetrator",
    "child_protection": "having child protection concerns",
    "mental_health": "having a mental health need",
    "substance_misuse": "misusing substances",
    "homeless": "homeless",
    "unemployed": "unemployed",
}
"""How each flag reads after "With no one recorded as ..." in the PAF sentences."""


def _column_flags(model: FlagsModel, flags: Sequence[str]) -> np.ndarray:
    """Boolean (coefficients x flags): does the coefficient's column involve the flag?"""
    involved: list[tuple[str, ...]] = []
    for _, cols, variables in model.design.blocks():
        involved.extend([variables] * len(cols))
    involved = [v for v, k in zip(involved, model.keep) if k]
    return np.array([[f in v for f in flags] for v in involved], dtype=bool).reshape(len(involved), len(flags))


@single_threaded_blas
def attributable_fractions(
    model: FlagsModel,
    *,
    flags: Sequence[str] | None = None,
    confidence: float | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Population attributable risk (PAR) and fraction (PAF) of each flag, jointly and averaged (Shapley).

    Parameters
    ----------
    model
        A fitted :class:`analysis.models.FlagsModel` (binary flags).
    flags
        The flags to attribute (default: the model's flags).
    confidence
        Interval level (default: the model's).
    labels
        Phrases for the sentences, read after "With no one recorded as"
        (default: :data:`FLAG_PHRASES`, then the flag's label).

    Returns
    -------
    pandas.DataFrame
        One row per flag with ``kind == "single"`` (that flag alone set to 0),
        one row per flag with ``kind == "shapley"`` (average over removal
        orders), and one ``kind == "joint"`` row (all flags set to 0). Columns:
        ``term``, ``kind``, ``predicted_rate`` (A, the mean predicted
        probability), ``counterfactual_rate`` (B, the mean with the flag(s) set
        to 0), ``par`` (A - B, a difference in probability: 0.035 is 3.5
        percentage points) with ``par_lower``/``par_upper``, ``paf`` (1 - B/A)
        with ``paf_lower``/``paf_upper``, all fractions; ``n`` (people), ``n_flagged``,
        ``statistic``, ``model_method`` and ``fitted_on`` (the model's, as
        :attr:`analysis.FlagsModel.method_code` and ``fitted_on``), ``method``
        (``"counterfactual_paf"``: counterfactual standardisation, Greenland
        and Drescher 1993, with the unconditional delta-method interval; on
        the Shapley rows ``"shapley_paf"``, the same averaged over removal
        orders), ``confidence`` and, for single flags, a
        plain-English ``sentence``. The Shapley rows add up to the joint row;
        the single rows must not be added.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.models import fit_flags_model
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"dv": rng.integers(0, 2, 3000), "homeless": rng.integers(0, 2, 3000)})
    >>> df["reoffended"] = (rng.random(3000) < 0.3 + 0.1 * df["dv"] + 0.1 * df["homeless"]).astype(int)
    >>> t = attributable_fractions(fit_flags_model(df, flags=["dv", "homeless"], adjust=[]))
    >>> s = t[t["kind"] == "shapley"]["paf"].sum(); j = t[t["kind"] == "joint"]["paf"].item()
    >>> bool(np.isclose(s, j))
    True
    """
    if confidence is not None:
        confidence = one_confidence_level(confidence, function="attributable_fractions")
    flags = list(model.flags if flags is None else flags)
    for f in flags:
        var = model.design.variables.get(f)
        if var is None or var.kind != "binary":
            raise ValueError(f"'{f}' is not a 0/1 term of the model")
    level = model.confidence if confidence is None else confidence
    zc = critical_value(level)
    labels = {**{f: FLAG_LABELS[f].lower() for f in FLAG_LABELS}, **FLAG_PHRASES, **(labels or {})}

    n = model.units.trials
    N = float(n.sum())
    X = model.X
    beta = model.params.to_numpy()
    V = model.cov.to_numpy()
    off = 0.0 if model.units.offset is None else model.units.offset
    touch = _column_flags(model, flags)
    k = len(flags)

    a = expit(X @ beta + off)
    A = float(n @ a) / N
    dA = (n * a * (1 - a)) @ X / N

    # every subset of flags set to 0: B_S, its gradient and per-cell values
    subsets = [frozenset(c) for r in range(k + 1) for c in combinations(range(k), r)]
    cache: dict[frozenset[int], tuple[float, np.ndarray, np.ndarray]] = {}
    for S in subsets:
        if not S:
            cache[S] = (A, dA, a)
            continue
        mask = ~touch[:, sorted(S)].any(axis=1)
        b = expit(X @ (beta * mask) + off)
        B = float(n @ b) / N
        dB = ((n * b * (1 - b)) @ X) * mask / N
        cache[S] = (B, dB, b)

    def paf_parts(S: frozenset[int]) -> tuple[float, np.ndarray, np.ndarray]:
        B, dB, b = cache[S]
        est = 1 - B / A
        grad = -(dB * A - B * dA) / A**2
        psi = -(b - (B / A) * a) / A
        return est, grad, psi

    def par_parts(S: frozenset[int]) -> tuple[float, np.ndarray, np.ndarray]:
        B, dB, b = cache[S]
        return A - B, dA - dB, (a - b) - (A - B)

    def interval(est: float, grad: np.ndarray, psi: np.ndarray) -> tuple[float, float, float]:
        var = float(grad @ V @ grad) + float(n @ (psi - (n @ psi) / N) ** 2) / N**2
        se = float(np.sqrt(max(var, 0.0)))
        return se, est - zc * se, est + zc * se

    def combine(weights: dict[frozenset[int], float], parts) -> tuple[float, np.ndarray, np.ndarray]:
        est, grad, psi = 0.0, np.zeros_like(beta), np.zeros_like(a)
        for S, w in weights.items():
            e, g, p = parts(S)
            est += w * e
            grad = grad + w * g
            psi = psi + w * p
        return est, grad, psi

    rows = []

    def row(term: str, kind: str, weights: dict[frozenset[int], float], n_flagged: int) -> dict:
        e_paf, g_paf, p_paf = combine(weights, paf_parts)
        e_par, g_par, p_par = combine(weights, par_parts)
        _, lo_paf, hi_paf = interval(e_paf, g_paf, p_paf)
        _, lo_par, hi_par = interval(e_par, g_par, p_par)
        B_equiv = A - e_par
        return {
            "term": term,
            "kind": kind,
            "predicted_rate": A,
            "counterfactual_rate": B_equiv,
            "par": e_par,
            "par_lower": lo_par,
            "par_upper": hi_par,
            "paf": e_paf,
            "paf_lower": lo_paf,
            "paf_upper": hi_paf,
            "n": int(N),
            "n_flagged": n_flagged,
            "statistic": "population_attributable_fraction",
            "model_method": model.method_code,
            "fitted_on": model.fitted_on,
            "method": "counterfactual_paf",
            "confidence": level,
        }

    flagged = {f: int(n @ (model.units.data[f] == 1)) for f in flags}
    for j, f in enumerate(flags):
        S = frozenset([j])
        rows.append(row(f, "single", {S: 1.0, frozenset(): 0.0}, flagged[f]))
    for j, f in enumerate(flags):
        rows.append(row(f, "shapley", _shapley_weights(j, k, subsets), flagged[f]))
    any_flag = np.zeros_like(n, dtype=bool)
    for f in flags:
        any_flag |= model.units.data[f] == 1
    rows.append(row("all flags", "joint", {frozenset(range(k)): 1.0}, int(n @ any_flag)))
    out = pd.DataFrame(rows)
    out.loc[out["kind"] == "shapley", "method"] = "shapley_paf"
    out["sentence"] = ""
    single = out["kind"] == "single"
    out.loc[single, "sentence"] = [paf_sentence(r, labels.get(r["term"], r["term"]), confidence=level) for _, r in out[single].iterrows()]
    joint = out["kind"] == "joint"
    out.loc[joint, "sentence"] = [paf_sentence(r, "having any of these flags", confidence=level) for _, r in out[joint].iterrows()]
    out.attrs["note"] = "Single-flag PAFs overlap and must not be added; the Shapley PAFs add up to the joint PAF."
    return out


def _shapley_weights(j: int, k: int, subsets: list[frozenset[int]]) -> dict[frozenset[int], float]:
    """The weight of each subset's counterfactual in flag ``j``'s Shapley PAF (``k`` flags; average over removal orders)."""
    weights: dict[frozenset[int], float] = {}
    for S in subsets:
        if j in S:
            continue
        w = factorial(len(S)) * factorial(k - len(S) - 1) / factorial(k)
        weights[S | {j}] = weights.get(S | {j}, 0.0) + w
        weights[S] = weights.get(S, 0.0) - w
    return weights


def paf_sentence(row: pd.Series | dict, label: str, *, confidence: float = 0.95) -> str:
    """One plain-English sentence for a PAF row (the wording of docs/methods.md, attributable fractions).

    The row's rates and differences are fractions, as :func:`attributable_fractions` returns them;
    the sentence gives them in percent and percentage points.

    Examples
    --------
    >>> r = dict(predicted_rate=0.45, counterfactual_rate=0.415, par=0.035, par_lower=0.021, par_upper=0.049,
    ...          paf=0.0778, paf_lower=0.047, paf_upper=0.108)
    >>> paf_sentence(r, "homeless")
    'With no one recorded as homeless, other characteristics unchanged, predicted reoffending would be 41.5% instead of 45.0% (-3.5 points, 95% CI -4.9 to -2.1; PAF 7.8%, 95% CI 4.7% to 10.8%). An association, not proven cause.'
    """
    sign = "-" if row["par"] >= 0 else "+"
    lo, hi = sorted((-100 * row["par_upper"], -100 * row["par_lower"]))
    pct = f"{confidence * 100:g}%"
    return (
        f"With no one recorded as {label}, other characteristics unchanged, predicted reoffending would be "
        f"{100 * row['counterfactual_rate']:.1f}% instead of {100 * row['predicted_rate']:.1f}% "
        f"({sign}{abs(100 * row['par']):.1f} points, {pct} CI {lo:.1f} to {hi:.1f}; "
        f"PAF {100 * row['paf']:.1f}%, {pct} CI {100 * row['paf_lower']:.1f}% to {100 * row['paf_upper']:.1f}%). "
        "An association, not proven cause."
    )


def paf_sentences(table: pd.DataFrame) -> list[str]:
    """The sentences of the single-flag and joint rows of :func:`attributable_fractions`, in order.

    Examples
    --------
    >>> t = pd.DataFrame({"kind": ["single", "shapley", "joint"],
    ...                   "sentence": ["Homeless: 3.5 points.", "", "All flags: 9.1 points."]})
    >>> paf_sentences(t)   # the Shapley shares have no sentence of their own
    ['Homeless: 3.5 points.', 'All flags: 9.1 points.']
    """
    return [s for s in table.loc[table["kind"].isin(["single", "joint"]), "sentence"] if s]
