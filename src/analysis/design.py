"""The design of a logistic model: how columns are coded, and the units it is fitted on.

A model variable is binary (a 0/1 column, one coefficient), categorical
(treatment dummies against a reference level) or numeric (one coefficient on
the value). :class:`Design` holds the variables, their interactions and the
coefficient names; :func:`make_units` turns per-row codes into the units a
model is fitted on: covariate-pattern cells when every term is categorical
(the binomial likelihood of the cells equals the individual-level one; see
docs/methods.md, logistic regression on grouped data), rows otherwise.

This module knows nothing of fitting (:mod:`analysis.fitting`) or of the
results a fit reports (:mod:`analysis.models`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"dv": [0, 1, 1, 0], "area": ["B", "A", "B", "A"]})
>>> var, codes = encode(frame["area"], "area")
>>> var.kind, var.levels, codes.tolist()
('categorical', ('A', 'B'), [1, 0, 1, 0])
>>> Design({"area": var}).columns
['Intercept', 'area[B]']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Variable",
    "Design",
    "Units",
    "narrow_codes",
    "binary_codes",
    "encode",
    "codes_for",
    "encode_with",
    "outcome_codes",
    "parse_interactions",
    "cell_keys",
    "make_units",
    "MAX_DENSE_CELLS",
]

MAX_DENSE_CELLS = 20_000_000
"""Above this many possible covariate patterns, cells are found by sorting rather than a dense key."""


# --------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Variable:
    """One model variable and how it is coded.

    ``kind`` is ``"binary"`` (a 0/1 column, one coefficient), ``"categorical"``
    (treatment dummies against ``levels[0]``, the reference) or ``"numeric"``
    (one coefficient on the value; forces a row-level fit).
    """

    name: str
    kind: str
    levels: tuple[Any, ...] = ()

    def columns(self) -> list[str]:
        """Coefficient names contributed by this variable's main effect."""
        if self.kind == "categorical":
            return [f"{self.name}[{level}]" for level in self.levels[1:]]
        return [self.name]

    def dummies(self, values: np.ndarray) -> np.ndarray:
        """The main-effect columns for codes (categorical/binary) or values (numeric)."""
        if self.kind == "numeric":
            return np.asarray(values, dtype=float)[:, None]
        if self.kind == "binary":
            return (np.asarray(values) == 1).astype(float)[:, None]
        codes = np.asarray(values)
        out = np.zeros((codes.shape[0], len(self.levels) - 1))
        for j in range(1, len(self.levels)):
            out[:, j - 1] = codes == j
        return out


def narrow_codes(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Codes in the narrowest signed integer type (memory matters at millions of rows).

    Examples
    --------
    >>> import numpy as np
    >>> narrow_codes(np.array([0, 2, 1]), 3).dtype, narrow_codes(np.array([0, 200]), 201).dtype
    (dtype('int8'), dtype('int16'))
    """
    dtype = np.int8 if n_levels < 127 else (np.int16 if n_levels < 32_000 else np.int32)
    return codes.astype(dtype, copy=False)


def binary_codes(series: pd.Series) -> np.ndarray | None:
    """0/1 codes (-1 missing) when the column is 0/1, else None. Fast for plain integer columns.

    Examples
    --------
    >>> import pandas as pd
    >>> binary_codes(pd.Series([0, 1, None])).tolist(), binary_codes(pd.Series([0, 2]))
    ([0, 1, -1], None)
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype) and not series.hasnans:
        return series.to_numpy(dtype=bool).astype(np.int8)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        arr = series.to_numpy()
        if arr.size == 0 or (arr.min() >= 0 and arr.max() <= 1):
            return arr.astype(np.int8, copy=False)
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    nan = np.isnan(values)
    finite = values[~nan]
    if not (finite.size and np.isin(finite, (0.0, 1.0)).all()):
        return None
    return np.where(nan, -1, values).astype(np.int8)


def encode(series: pd.Series, name: str, *, reference: Any = None, levels: Sequence[Any] | None = None) -> tuple[Variable, np.ndarray]:
    """Integer codes (reference = 0) or float values for one column.

    ``levels`` fixes the coding (used to apply a fitted model to new data); codes
    of values outside them are -1.

    Examples
    --------
    A 0/1 column is binary, numbers are numeric, anything else categorical (levels sorted, the reference first):

    >>> import pandas as pd
    >>> encode(pd.Series([0, 1, 1]), "dv")
    (Variable(name='dv', kind='binary', levels=(0, 1)), array([0, 1, 1], dtype=int8))
    >>> var, codes = encode(pd.Series(["A", "B", "C"]), "area", reference="B")
    >>> var.levels, codes.tolist()
    (('B', 'A', 'C'), [1, 0, 2])
    """
    if levels is not None:
        kind = "binary" if tuple(levels) == (0, 1) else "categorical"
        var = Variable(name, kind, tuple(levels))
        if kind == "binary":
            codes = binary_codes(series) if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype) else None
            if codes is None:
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                codes = np.where((values == 0) | (values == 1), values, -1).astype(np.int8)
            return var, codes
        return var, codes_for(series, var.levels)

    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
        if isinstance(series.dtype, pd.CategoricalDtype):
            raw = np.asarray(series.cat.codes)
            cats = list(series.cat.categories)
            present = np.bincount(raw.astype(np.intp, copy=False) + 1, minlength=len(cats) + 1)[1:] > 0
            order = [c for c, p in zip(cats, present) if p]
        else:
            order = sorted(pd.unique(series.dropna()).tolist(), key=str)
        if reference is not None:
            if reference not in order:
                raise ValueError(f"reference level {reference!r} of '{name}' is not in the data (levels: {order})")
            order = [reference] + [lv for lv in order if lv != reference]
        var = Variable(name, "categorical", tuple(order))
        return var, codes_for(series, var.levels)

    codes = binary_codes(series)
    if codes is not None:
        return Variable(name, "binary", (0, 1)), codes
    return Variable(name, "numeric"), series.to_numpy(dtype=float, na_value=np.nan)


def codes_for(series: pd.Series, levels: tuple[Any, ...]) -> np.ndarray:
    """Codes of ``series`` against ``levels`` (position), -1 when missing or unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> codes_for(pd.Series(["B", "Z", None]), ("A", "B")).tolist()  # Z is unknown, None missing
    [1, -1, -1]
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = list(series.cat.categories)
        position = {lv: i for i, lv in enumerate(levels)}
        mapping = [position.get(c, -1) for c in cats]
        raw = np.asarray(series.cat.codes)
        if mapping == list(range(len(cats))):
            return narrow_codes(raw, len(levels))  # already coded in this order; -1 stays missing
        lookup = np.array(mapping + [-1], dtype=np.int16 if len(levels) < 32_000 else np.int32)
        return narrow_codes(lookup[raw], len(levels))  # raw == -1 picks the last entry, -1
    index = pd.Index(levels)
    return narrow_codes(np.asarray(index.get_indexer(series.to_numpy(dtype=object))), len(levels))


# --------------------------------------------------------------------------- the design


@dataclass
class Design:
    """Variables, interactions and the coefficient names of a logistic model."""

    variables: dict[str, Variable]
    interactions: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def grouped(self) -> bool:
        """True when every term is categorical, so the model can be fitted on cells."""
        return all(v.kind != "numeric" for v in self.variables.values())

    def blocks(self) -> list[tuple[str, list[str], tuple[str, ...]]]:
        """(term, coefficient names, variables involved) for every term, intercept first."""
        out: list[tuple[str, list[str], tuple[str, ...]]] = [("Intercept", ["Intercept"], ())]
        for name, var in self.variables.items():
            out.append((name, var.columns(), (name,)))
        for a, b in self.interactions:
            cols = [f"{ca}:{cb}" for ca in self.variables[a].columns() for cb in self.variables[b].columns()]
            out.append((f"{a}:{b}", cols, (a, b)))
        return out

    @property
    def columns(self) -> list[str]:
        return [c for _, cols, _ in self.blocks() for c in cols]

    def matrix(self, data: Mapping[str, np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
        """The design matrix for per-unit codes/values in ``data`` (one array per variable)."""
        n = len(next(iter(data.values()))) if data else 0
        parts = [np.ones((n, 1))]
        main = {name: var.dummies(data[name]) for name, var in self.variables.items()}
        parts.extend(main.values())
        for a, b in self.interactions:
            da, db = main[a], main[b]
            parts.append((da[:, :, None] * db[:, None, :]).reshape(n, -1))
        X = np.hstack(parts) if parts else np.empty((n, 0))
        return X if keep is None else X[:, keep]


def parse_interactions(interactions: Iterable[Any]) -> list[tuple[str, str]]:
    """Interactions as (variable, variable) pairs, from ``"dv:area"`` strings or pairs.

    Examples
    --------
    >>> parse_interactions(["dv:area", ("mental_health", "sex")])
    [('dv', 'area'), ('mental_health', 'sex')]
    """
    out = []
    for item in interactions:
        pair = tuple(item.split(":")) if isinstance(item, str) else tuple(item)
        if len(pair) != 2:
            raise ValueError(f"an interaction names two variables, e.g. ('dv', 'area') or 'dv:area'; got {item!r}")
        out.append((str(pair[0]).strip(), str(pair[1]).strip()))
    return out


# --------------------------------------------------------------------------- units: cells or rows


@dataclass
class Units:
    """The units a model is fitted on: covariate-pattern cells, or rows (cells of one).

    ``data`` holds one array per variable (codes or values), ``trials`` and
    ``successes`` the counts, ``offset`` an optional offset, ``inverse`` maps
    each input row to its unit (``-1`` for rows dropped as incomplete).
    """

    data: dict[str, np.ndarray]
    trials: np.ndarray
    successes: np.ndarray
    offset: np.ndarray | None
    inverse: np.ndarray
    grouped: bool

    @property
    def n(self) -> int:
        return int(self.trials.sum())


_CHUNK = 1 << 20


def cell_keys(codes: Mapping[str, np.ndarray], design: Design, *, y: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Each row's covariate pattern as one cell: (inverse into cells, trials, cell codes, successes).

    Uses a dense mixed-radix key and ``bincount`` when the number of possible
    patterns is moderate, ``np.unique`` on the stacked codes otherwise. Rows
    are processed in chunks of about a million, so temporary arrays stay
    small at millions of rows. Codes must be valid (>= 0).

    Examples
    --------
    Five rows (dv, area) = (0, A), (1, A), (1, B), (0, B), (1, B) fall in four cells,
    numbered (0, A), (0, B), (1, A), (1, B); the last holds two rows, one of them a reoffender.

    >>> import numpy as np, pandas as pd
    >>> f = pd.DataFrame({"dv": [0, 1, 1, 0, 1], "area": ["A", "A", "B", "B", "B"], "reoffended": [0, 1, 1, 0, 0]})
    >>> (dv, dv_codes), (area, area_codes) = encode(f["dv"], "dv"), encode(f["area"], "area")
    >>> design = Design({"dv": dv, "area": area})
    >>> inverse, trials, cells, successes = cell_keys({"dv": dv_codes, "area": area_codes}, design, y=f["reoffended"].to_numpy())
    >>> inverse.tolist(), trials.tolist(), successes.tolist()
    ([0, 2, 3, 1, 3], [1, 1, 1, 2], [0.0, 0.0, 1.0, 1.0])
    """
    names = list(design.variables)
    sizes = [len(design.variables[v].levels) for v in names]
    m = len(next(iter(codes.values()))) if codes else 0
    total = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
    if total <= MAX_DENSE_CELLS:
        kdtype = np.int32 if total < 2**31 else np.int64

        def keys(lo: int, hi: int) -> np.ndarray:
            key: np.ndarray = np.zeros(hi - lo, dtype=kdtype)
            for v, size in zip(names, sizes):
                key *= size
                key += codes[v][lo:hi]
            return key.astype(np.intp, copy=False)

        counts_all = np.zeros(total, dtype=np.int64)
        succ_all = np.zeros(total, dtype=np.float64) if y is not None else None
        chunks = [(lo, min(lo + _CHUNK, m)) for lo in range(0, m, _CHUNK)]
        for lo, hi in chunks:
            key = keys(lo, hi)
            counts_all += np.bincount(key, minlength=total)
            if succ_all is not None and y is not None:  # one is None exactly when the other is
                succ_all += np.bincount(key, weights=y[lo:hi], minlength=total)
        occupied = np.flatnonzero(counts_all)
        position = np.full(total, -1, dtype=np.int32)
        position[occupied] = np.arange(occupied.size, dtype=np.int32)
        inverse: np.ndarray = np.empty(m, dtype=np.int32)
        for lo, hi in chunks:
            inverse[lo:hi] = position[keys(lo, hi)]
        data: dict[str, np.ndarray] = {}
        rest = occupied.copy()
        for v, size in zip(reversed(names), reversed(sizes)):
            data[v] = rest % size
            rest //= size
        return inverse, counts_all[occupied], {v: data[v] for v in names}, (None if succ_all is None else succ_all[occupied])
    stacked = np.column_stack([codes[v] for v in names])
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel().astype(np.int32 if uniq.shape[0] < 2**31 else np.int64)
    trials = np.bincount(inverse)
    succ = None if y is None else np.bincount(inverse, weights=y, minlength=trials.shape[0])
    return inverse, trials, {v: uniq[:, i] for i, v in enumerate(names)}, succ


def make_units(codes: dict[str, np.ndarray], y: np.ndarray, design: Design, offset: np.ndarray | None, ok: np.ndarray) -> Units:
    """The units a model is fitted on, from the rows where ``ok``: covariate-pattern cells when the design is grouped and
    there is no offset, else the rows themselves.

    Examples
    --------
    The four cells of :func:`cell_keys`' example (every term is categorical, so the fit is grouped):

    >>> import numpy as np, pandas as pd
    >>> f = pd.DataFrame({"dv": [0, 1, 1, 0, 1], "area": ["A", "A", "B", "B", "B"], "reoffended": [0, 1, 1, 0, 0]})
    >>> (dv, dv_codes), (area, area_codes) = encode(f["dv"], "dv"), encode(f["area"], "area")
    >>> design = Design({"dv": dv, "area": area})
    >>> units = make_units({"dv": dv_codes, "area": area_codes}, f["reoffended"].to_numpy(), design, None, np.ones(5, dtype=bool))
    >>> units.grouped, units.trials.tolist(), units.successes.tolist()
    (True, [1.0, 1.0, 1.0, 2.0], [0.0, 0.0, 1.0, 1.0])
    """
    rows = np.flatnonzero(ok) if not ok.all() else None
    sub = {k: (v if rows is None else v[rows]) for k, v in codes.items()}
    yy = y if rows is None else y[rows]
    n_in = ok.shape[0]
    if design.grouped and offset is None and design.variables:
        inv, trials, data, successes = cell_keys(sub, design, y=yy)
        if rows is None:
            inverse = inv
        else:
            inverse = np.full(n_in, -1, dtype=inv.dtype)
            inverse[rows] = inv
        assert successes is not None  # y is given, so cell_keys counts the successes
        return Units(data, trials.astype(float), successes.astype(float), None, inverse, True)
    m = yy.shape[0]
    inverse = np.full(n_in, -1, dtype=np.int64)
    if rows is None:
        inverse = np.arange(m)
    else:
        inverse[rows] = np.arange(m)
    off = None if offset is None else (offset if rows is None else offset[rows]).astype(float)
    return Units(sub, np.ones(m), yy.astype(float), off, inverse, False)


# --------------------------------------------------------------------------- building


def encode_with(frame: pd.DataFrame, design: Design) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Codes of ``frame``'s columns against a fitted design's levels; ok = all known.

    Examples
    --------
    Area ``Z`` was not in the fitted data, so its row is not ok:

    >>> import pandas as pd
    >>> area, _ = encode(pd.Series(["A", "B"]), "area")
    >>> codes, ok = encode_with(pd.DataFrame({"area": ["B", "Z"]}), Design({"area": area}))
    >>> codes["area"].tolist(), ok.tolist()
    ([1, -1], [True, False])
    """
    data: dict[str, np.ndarray] = {}
    ok = np.ones(len(frame), dtype=bool)
    for name, var in design.variables.items():
        if var.kind == "numeric":
            values = frame[name].to_numpy(dtype=float, na_value=np.nan)
            ok &= ~np.isnan(values)
            data[name] = values
        else:
            _, codes = encode(frame[name], name, levels=var.levels)
            ok &= codes >= 0
            data[name] = codes
    return data, ok


def outcome_codes(frame: pd.DataFrame, outcome: str) -> np.ndarray:
    """The 0/1 outcome as int8 codes, or as floats with NaN where it is missing; a ValueError unless it is 0/1.

    Examples
    --------
    >>> import pandas as pd
    >>> outcome_codes(pd.DataFrame({"r": [0, 1, 1]}), "r").tolist(), outcome_codes(pd.DataFrame({"r": [1.0, None]}), "r").tolist()
    ([0, 1, 1], [1.0, nan])
    """
    codes = binary_codes(frame[outcome])
    if codes is None:
        raise ValueError(f"'{outcome}' must be 0/1")
    if codes.size and codes.min() < 0:
        return np.where(codes < 0, np.nan, codes.astype(float))
    return codes
