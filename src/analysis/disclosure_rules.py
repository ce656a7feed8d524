"""The rules of statistical disclosure control (docs/methods.md, disclosure control).

One of the three modules of disclosure control: the thresholds, the zero
policy, the primary rule and its wording, rounding to a base and the model
rule live here; :mod:`analysis.disclosure` applies them to tables (primary,
complementary and derived suppression) and :mod:`analysis.disclosure_log`
records what was done. :mod:`analysis.disclosure` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import pandas as pd

from .disclosure_log import DisclosureLog

__all__ = [
    "PRESETS",
    "DofCheck",
    "ZeroPolicy",
    "check_model_dof",
    "check_zero_policy",
    "is_small",
    "non_events_rule_text",
    "primary_rule_text",
    "resolve_threshold",
    "round_to_base",
]

PRESETS: dict[str, int] = {"strict": 10, "nhs": 7, "ons": 5}
"""Named small-count thresholds: ``"strict"`` (TRE/ACRO default) 10, ``"nhs"`` 7, ``"ons"`` 5."""

ZeroPolicy = Literal["suppress", "show"]
_ZERO_POLICIES = ("suppress", "show")


# --------------------------------------------------------------------------- primary suppression


def resolve_threshold(*, threshold: int = 10, preset: str | int | None = None) -> int:
    """The small-count threshold from ``threshold`` or a ``preset``.

    ``preset`` may be a name in :data:`PRESETS` (``"strict"`` 10, ``"nhs"`` 7,
    ``"ons"`` 5) or one of the numbers 5, 7, 10; it overrides ``threshold``.

    Examples
    --------
    >>> resolve_threshold(preset="nhs"), resolve_threshold(preset=5), resolve_threshold(threshold=12)
    (7, 5, 12)
    """
    if preset is not None:
        if isinstance(preset, str):
            if preset not in PRESETS:
                raise ValueError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)} or 5, 7, 10")
            return PRESETS[preset]
        if int(preset) not in PRESETS.values():
            raise ValueError(f"preset must be 5, 7 or 10, not {preset!r}")
        return int(preset)
    if int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be a positive whole number, not {threshold!r}")
    return int(threshold)


def check_zero_policy(zeros: str) -> None:
    """Raise a ValueError unless ``zeros`` is a known policy for zero counts (``"suppress"`` or ``"show"``).

    Examples
    --------
    >>> check_zero_policy("show")  # a known policy: nothing happens
    >>> check_zero_policy("hide")
    Traceback (most recent call last):
    ...
    ValueError: zeros must be one of ('suppress', 'show'), not 'hide'
    """
    if zeros not in _ZERO_POLICIES:
        raise ValueError(f"zeros must be one of {_ZERO_POLICIES}, not {zeros!r}")


def is_small(values: np.ndarray, threshold: int, zeros: str) -> np.ndarray:
    """Primary rule on a float array (NaN -> False).

    Examples
    --------
    Below 10 is small; zeros count as small only under ``"suppress"``; NaN never does.

    >>> import numpy as np
    >>> values = np.array([0.0, 3.0, 10.0, np.nan])
    >>> is_small(values, 10, "suppress").tolist(), is_small(values, 10, "show").tolist()
    ([True, True, False, False], [False, True, False, False])
    """
    with np.errstate(invalid="ignore"):
        small = values < threshold
        if zeros == "show":
            small &= values > 0
    return small & ~np.isnan(values)


def primary_rule_text(threshold: int, zeros: str) -> str:
    """The primary suppression rule in words, as the disclosure log states it.

    Examples
    --------
    >>> primary_rule_text(10, "suppress"), primary_rule_text(10, "show")
    ('primary: count < 10 (zeros included)', 'primary: count between 1 and 9')
    """
    if zeros == "suppress":
        return f"primary: count < {threshold} (zeros included)"
    return f"primary: count between 1 and {threshold - 1}"


def non_events_rule_text(numerator: str, denominator: str, threshold: int, zeros: str) -> str:
    """The non-events rule in words, as the disclosure log states it.

    Examples
    --------
    >>> non_events_rule_text("reoffended", "n", 10, "suppress")
    'non-events (n - reoffended) < 10 (zero included)'
    """
    return f"non-events ({denominator} - {numerator}) < {threshold}" + (" (zero included)" if zeros == "suppress" else "")


# --------------------------------------------------------------------------- rounding


@overload
def round_to_base(values: pd.Series, *, base: int = 5) -> pd.Series: ...
@overload
def round_to_base(values: np.ndarray | Sequence[float] | float, *, base: int = 5) -> np.ndarray: ...
def round_to_base(values: object, *, base: int = 5) -> pd.Series | np.ndarray:
    """Round half up to the nearest multiple of ``base`` (missing stays missing).

    ``base * floor(x / base + 1/2)``: 12 -> 10, 12.5 -> 15, 13 -> 15, 17.5 -> 20.

    Examples
    --------
    >>> round_to_base(pd.Series([12, 13, 17.5, None]), base=5).tolist()
    [10, 15, 20, <NA>]
    """
    if int(base) != base or base < 1:
        raise ValueError(f"base must be a positive whole number, not {base!r}")
    if isinstance(values, pd.Series):
        x = pd.to_numeric(values, errors="raise").astype("Float64")
        out = (np.floor(x.to_numpy(dtype=float, na_value=np.nan) / base + 0.5) * base)
        return pd.Series(out, index=values.index, name=values.name).astype("Float64").round().astype("Int64")
    arr = np.asarray(values, dtype=float)
    return np.floor(arr / base + 0.5) * base


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class DofCheck:
    """The result of :func:`check_model_dof` (one record for the log)."""

    name: str
    n_obs: int
    n_params: int
    residual_df: int
    threshold: int
    passed: bool

    @property
    def detail(self) -> str:
        op = ">=" if self.passed else "<"
        verdict = "pass" if self.passed else "fail: do not publish the coefficients"
        return f"model: residual df {self.residual_df} {op} {self.threshold} ({verdict})"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "n_obs": self.n_obs, "n_params": self.n_params,
                "residual_df": self.residual_df, "threshold": self.threshold,
                "passed": self.passed, "detail": self.detail}


def check_model_dof(
    n_obs: int,
    n_params: int,
    *,
    threshold: int = 10,
    log: DisclosureLog | None = None,
    name: str = "model",
) -> DofCheck:
    """Check that a model has at least ``threshold`` residual degrees of freedom.

    Residual df = ``n_obs - n_params`` (count the intercept among the
    parameters; for grouped binomial data ``n_obs`` is the number of people,
    as ACRO uses the model's ``df_resid``). The check is logged if a log is
    given, pass or fail.

    Examples
    --------
    >>> check_model_dof(16, 10).detail
    'model: residual df 6 < 10 (fail: do not publish the coefficients)'
    >>> check_model_dof(500, 12).passed
    True
    """
    n_obs, n_params = int(n_obs), int(n_params)
    if n_obs < 0 or n_params < 0:
        raise ValueError("n_obs and n_params must be non-negative")
    df = n_obs - n_params
    result = DofCheck(name, n_obs, n_params, df, int(threshold), df >= threshold)
    if log is not None:
        log.add(name, "model", "model", result.detail)
    return result
