"""Disclosure control across the tables of one paper: the differencing audit (docs/methods.md, "Disclosure control across tables").

:func:`analysis.disclosure.suppress_crosstab` protects each table on its own.
A paper, though, shows the same people in several tables -- by area and sex,
by area, sex and age band, by flag -- and a count suppressed in one table can
often be recovered by subtracting visible counts of another (*differencing*).
This module audits all the count tables of a paper together and adds
secondary suppression until no suppressed count can be narrowed down too far.

The intruder
------------
The intruder knows every visible cell of every table of the same population,
that counts are whole and non-negative, and that each table counts the same
people classified by its key columns. Formally: the unknowns are the counts of
the finest cross-classification (all key columns of the population, over the
levels seen in any table); each visible cell is the linear constraint "the fine
cells inside it add up to its value"; fine cells are ``>= 0``. For each
suppressed cell the intruder's best knowledge is the interval between its
smallest and largest feasible value, found by linear programming
(:func:`feasible_ranges`).

A count such as ``reoffenders`` that counts a *subset* of the people in ``n``
(declared by :attr:`CountTable.subsets`; by default every further count column
is a subset of the first) adds what the intruder knows about nesting: in every
fine cell ``0 <= reoffenders <= n``. Internally the measure becomes one more
binary key ("reoffended or not"), so the *non-events* ``n - reoffenders`` of a
row are a third measure; where ``n`` or ``reoffenders`` of a row is
suppressed, the row's non-events are not published either and are protected
like any suppressed count (a count hidden because only 3 people did *not*
reoffend must not come back through ``n - reoffenders``).

The rule
--------
A suppressed cell is *exposed* when the width of its feasible range,
``upper - lower``, is below ``min_width``. The default ``min_width`` is the
threshold (10): the intruder may not narrow a suppressed count to an interval
narrower than the threshold. In a single line of a table this is the ONS / NHS
rule that the suppressed cells of a line add up to at least the threshold;
here it holds for every combination of visible cells of every table.
``min_width=0.5`` only forbids exact recovery (the range is a single whole
number), which is what the single-table audit of
:func:`analysis.disclosure.suppress_crosstab` checks; it leaves e.g. a count
known to be 3 or 4 unprotected, which is why it is not the default.

Examples
--------
The publisher hid Dudley's 3 women in a table by area and sex, and Dudley's 25
men as their complement, so the table on its own passes the line rule. But a
table of men by area shows Dudley's 25 men, and a table by area shows Dudley's
28 people: the 3 women are 28 - 25.

>>> import pandas as pd
>>> from analysis.differencing import CountTable, audit_differencing, feasible_ranges
>>> cells = pd.DataFrame({"area": ["Dudley", "Dudley", "Walsall", "Walsall"],
...                       "sex": ["Female", "Male", "Female", "Male"], "n": [3, 25, 40, 45]})
>>> by_sex = CountTable("by area and sex", cells, keys=("area", "sex"),
...                     suppressed=pd.DataFrame({"n": [True, True, False, False]}))
>>> men = CountTable("men by area", cells[cells["sex"] == "Male"], keys=("area", "sex"), complete=False)
>>> by_area = CountTable("by area", cells.groupby("area", as_index=False)["n"].sum(), keys=("area",))
>>> feasible_ranges([by_sex, men, by_area])[["location", "lower", "upper"]]
                            location  lower  upper
0  row 'Dudley / Female', column 'n'    3.0    3.0
1    row 'Dudley / Male', column 'n'   25.0   25.0

The audit hides Dudley's men in the second table too, and then neither hidden
count can be narrowed below 0 to 28:

>>> safe = audit_differencing([by_sex, men, by_area])
>>> safe[1].published()
      area   sex     n
1   Dudley  Male  <NA>
3  Walsall  Male    45
>>> feasible_ranges(safe)[["table", "location", "lower", "upper"]]
             table                           location  lower  upper
0  by area and sex  row 'Dudley / Female', column 'n'    0.0   28.0
1  by area and sex    row 'Dudley / Male', column 'n'    0.0   28.0
2      men by area    row 'Dudley / Male', column 'n'    0.0   28.0
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from .disclosure import DERIVED_COLUMNS
from .disclosure_log import DisclosureLog, quoted
from .disclosure_rules import ZeroPolicy, check_zero_policy, is_small, non_events_rule_text, primary_rule_text, resolve_threshold

__all__ = ["MAX_CELLS", "CountTable", "DifferencingError", "audit_differencing", "feasible_ranges"]

MAX_CELLS: int = 200_000
"""Largest number of LP unknowns (fine cells after the reduction of :func:`feasible_ranges`) per population and measure."""

_TOL = 1e-6


class DifferencingError(ValueError):
    """The tables cannot be audited as given (inconsistent, too large, or a cell cannot be protected)."""


# --------------------------------------------------------------------------- the tables


@dataclass(frozen=True, eq=False)
class CountTable:
    """One count table of a paper, with its true values and what is suppressed.

    Parameters
    ----------
    name : str
        The table's name in the paper and in the disclosure log.
    data : DataFrame
        One row per cell: the key columns and the count columns, holding the
        *true* (unsuppressed) whole, non-negative counts. Other columns (rates,
        intervals) may be present; they are carried along.
    keys : tuple of str
        Grouping columns, e.g. ``("area", "sex")``; ``()`` for a grand total.
        A key value equal to ``margins_name`` marks a total over that key (a
        margin row such as ``area="Dudley", sex="All"``).
    counts : tuple of str
        Count columns, e.g. ``("n", "reoffenders")``. A column's name is the
        measure it counts: the ``n`` of one table and the ``n`` of another
        table of the same population are the same people.
    suppressed : DataFrame of bool, optional
        Aligned with ``data[list(counts)]`` (same index and columns); ``True``
        means the count is not published. ``None``: nothing is suppressed yet.
    population : str
        Tables constrain each other only within the same population (e.g.
        ``"cohort"``; a different period or a filtered sub-cohort is another
        population).
    complete : bool
        ``True`` (default): the rows cover every non-empty cell, so a
        combination of key levels (levels seen in any table of the population)
        that is absent is a published zero. ``False`` for a filtered table
        (e.g. only the flagged row of each flag): absent cells are unknown.
    subsets : mapping of str to str, optional
        ``{part: whole}``: the ``part`` count counts a subset of the people of
        the ``whole`` count (e.g. ``{"reoffenders": "n"}``). Default: every
        count column after the first is a subset of the first (the package's
        ``n``-first convention). Pass ``{}`` for unrelated measures (e.g. a
        count of offences, which can exceed ``n``). Declarations hold across
        the population; a part may not itself have parts.
    margins_name : hashable
        The key value that marks a total (default ``"All"``).

    Examples
    --------
    >>> t = CountTable("by area", pd.DataFrame({"area": ["A", "B"], "n": [30, 4], "reoffenders": [12, 1]}),
    ...                keys=("area",), counts=("n", "reoffenders"))
    >>> t.subsets
    (('reoffenders', 'n'),)
    >>> t.with_suppressed({(1, "n"), (1, "reoffenders")}).published()
      area     n  reoffenders
    0    A    30           12
    1    B  <NA>         <NA>
    """

    name: str
    data: pd.DataFrame
    keys: tuple[str, ...]
    counts: tuple[str, ...] = ("n",)
    suppressed: pd.DataFrame | None = None
    population: str = "cohort"
    complete: bool = True
    subsets: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None
    margins_name: Hashable = "All"

    def __post_init__(self) -> None:
        keys = (self.keys,) if isinstance(self.keys, str) else tuple(self.keys)
        counts = (self.counts,) if isinstance(self.counts, str) else tuple(self.counts)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "counts", counts)
        values = self._checked_values(keys, counts)
        object.__setattr__(self, "suppressed", self._checked_mask(counts))
        object.__setattr__(self, "subsets", self._checked_subsets(counts, values))

    def _checked_values(self, keys: tuple[str, ...], counts: tuple[str, ...]) -> np.ndarray:
        """The true counts (rows x counts), once the key and count columns are checked."""
        if not counts:
            raise ValueError(f"table {self.name!r}: give at least one count column")
        if len(set(keys)) != len(keys) or len(set(counts)) != len(counts) or set(keys) & set(counts):
            raise ValueError(f"table {self.name!r}: key and count columns must be distinct")
        missing = [c for c in keys + counts if c not in self.data.columns]
        if missing:
            raise ValueError(f"table {self.name!r}: columns {missing} not in data")
        if self.data[list(keys)].isna().to_numpy().any():
            raise ValueError(f"table {self.name!r}: key columns must not be missing")
        if not keys and len(self.data) != 1:
            raise ValueError(f"table {self.name!r}: a grand total (keys=()) has exactly one row")
        if keys and self.data.duplicated(subset=list(keys)).any():
            raise ValueError(f"table {self.name!r}: one row per cell (duplicate key values)")
        values = np.empty((len(self.data), len(counts)), dtype=float)
        for j, c in enumerate(counts):
            values[:, j] = pd.to_numeric(self.data[c], errors="raise").astype("Float64").to_numpy(
                dtype=float, na_value=np.nan)
        if np.isnan(values).any():
            raise ValueError(f"table {self.name!r}: data must hold the true counts (no missing values); "
                             "mark what is not published in `suppressed`")
        if (values < 0).any() or not np.all(values == np.round(values)):
            raise ValueError(f"table {self.name!r}: counts must be whole and non-negative")
        return values

    def _checked_mask(self, counts: tuple[str, ...]) -> pd.DataFrame:
        """The suppression mask, checked against the data (none given: nothing suppressed)."""
        if self.suppressed is None:
            mask = pd.DataFrame(False, index=self.data.index, columns=list(counts))
        else:
            mask = self.suppressed
            if not isinstance(mask, pd.DataFrame) or list(mask.columns) != list(counts) \
                    or not mask.index.equals(self.data.index):
                raise ValueError(f"table {self.name!r}: suppressed must be a DataFrame aligned with "
                                 "data[list(counts)] (same index and columns)")
            if mask.isna().to_numpy().any():
                raise ValueError(f"table {self.name!r}: suppressed must be True/False")
            mask = mask.astype(bool)
        return mask

    def _checked_subsets(self, counts: tuple[str, ...], values: np.ndarray) -> tuple[tuple[str, str], ...]:
        """The (part, whole) pairs of count columns, checked (default: every count is part of the first)."""
        if self.subsets is None:
            pairs = tuple((c, counts[0]) for c in counts[1:])
        else:
            items = self.subsets.items() if isinstance(self.subsets, Mapping) else self.subsets
            pairs = tuple((str(p), str(w)) for p, w in items)
        for p, w in pairs:
            if p not in counts:
                raise ValueError(f"table {self.name!r}: subset {p!r} is not a count column")
            if p == w:
                raise ValueError(f"table {self.name!r}: {p!r} cannot be a subset of itself")
            if w in counts and (values[:, counts.index(p)] > values[:, counts.index(w)]).any():
                raise ValueError(f"table {self.name!r}: {p!r} exceeds {w!r} in some row, so it is not a "
                                 f"subset of it; pass subsets={{}} for unrelated measures")
        return pairs

    @property
    def values(self) -> np.ndarray:
        """The true counts as a float array (rows x counts)."""
        return self.data[list(self.counts)].apply(pd.to_numeric).to_numpy(dtype=float)

    @property
    def mask(self) -> np.ndarray:
        """The suppression mask as a bool array (rows x counts)."""
        return cast(pd.DataFrame, self.suppressed).to_numpy(dtype=bool)  # __post_init__ always builds the mask

    @property
    def _subset_pairs(self) -> tuple[tuple[str, str], ...]:
        """The declared subsets as (part, whole) pairs: the form __post_init__ stores them in."""
        return cast(tuple[tuple[str, str], ...], self.subsets)

    def label(self, i: int) -> str:
        """The name of row ``i`` in the log: its key values joined by " / "."""
        if not self.keys:
            return str(self.margins_name)
        return " / ".join(str(self.data[k].iloc[i]) for k in self.keys)

    def with_suppressed(self, cells: Iterable[tuple[int, str]]) -> CountTable:
        """A copy with the cells ``(row position, count column)`` also suppressed."""
        mask = self.mask.copy()
        for i, c in cells:
            mask[int(i), self.counts.index(c)] = True
        return replace(self, suppressed=pd.DataFrame(mask, index=self.data.index, columns=list(self.counts)))

    def published(self, derived: Sequence[str] | None = None) -> pd.DataFrame:
        """The table as it may be published: suppressed counts become ``pd.NA`` (``Int64``).

        Derived columns (default: the rate-like columns present, as in
        :func:`analysis.disclosure.publish_rates`) are blanked (``Float64``)
        in every row where any count is suppressed.
        """
        out = self.data.copy()
        mask = self.mask
        for j, c in enumerate(self.counts):
            arr = pd.array(pd.to_numeric(out[c]).to_numpy(dtype=float), dtype="Float64")
            arr[mask[:, j]] = pd.NA
            out[c] = arr.round().astype("Int64")  # type: ignore[attr-defined]  # pandas-stubs: FloatingArray.round is missing
        if derived is None:
            derived = [c for c in DERIVED_COLUMNS if c in out.columns]
        row = mask.any(axis=1)
        for c in derived:
            arr = pd.array(pd.to_numeric(out[c]).astype("Float64"), dtype="Float64")  # type: ignore[call-overload]  # pandas-stubs: no overload for a Series with a dtype name
            arr[row] = pd.NA
            out[c] = arr
        return out

    @classmethod
    def from_published(cls, name: str, data: pd.DataFrame, published: pd.DataFrame, keys: Sequence[str],
                       counts: Sequence[str] = ("n",), **kwargs: object) -> CountTable:
        """A table from its true ``data`` and a ``published`` copy where suppressed counts are missing.

        ``published`` must have the same index as ``data`` (e.g. the output of
        :func:`analysis.disclosure.publish_rates`).
        """
        counts = tuple(counts)
        mask = published.loc[data.index, list(counts)].isna()
        return cls(name, data, tuple(keys), counts, suppressed=mask, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the model


class _Key:
    """The binary key "in the subset ``part`` or not" (1 = in it)."""

    __slots__ = ("part",)

    def __init__(self, part: str) -> None:
        self.part = part

    def __repr__(self) -> str:
        return f"<{self.part}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.part == self.part

    def __hash__(self) -> int:
        return hash(("_Key", self.part))


class _Unlisted:
    """The level "any level no table lists" of a key that only filtered tables show."""

    def __repr__(self) -> str:
        return "<not listed>"


_UNLISTED = _Unlisted()
PUBLISHED, ABSENT, NONEVENTS = 0, 1, 2


class _Universe:
    """One population and one root measure: the LP unknowns and every cell's row."""

    def __init__(self, population: str, root: str, keys: list, levels: dict, max_cells: int) -> None:
        self.population, self.root = population, root
        self.keys = keys
        self.levels = levels
        self.pos = {k: {v: i for i, v in enumerate(levels[k])} for k in keys}
        self.dims = {k: len(levels[k]) for k in keys}
        self.max_cells = max_cells
        self.edges: list[tuple] = []
        self.rows: list[sparse.csr_matrix] = []
        self.gids: list[np.ndarray] = []
        self.cqs: list[np.ndarray] = []

    # ---- structure
    def build_cliques(self, hyperedges: list[tuple]) -> None:
        order = {k: i for i, k in enumerate(self.keys)}
        adj: dict[Hashable, set[Hashable]] = {k: set() for k in self.keys}
        for e in hyperedges:
            for a in e:
                adj[a] |= set(e) - {a}
        remaining = set(self.keys)
        found: list[frozenset] = []
        while remaining:
            def cost(v):
                nb = adj[v] & remaining
                w = math.prod(self.dims[u] for u in nb | {v})
                fill = sum(1 for a in nb for b in nb if order[a] < order[b] and b not in adj[a])
                return (w, fill, order[v])
            v = min(remaining, key=cost)
            nb = adj[v] & remaining
            for a in nb:
                adj[a] |= nb - {a}
            found.append(frozenset(nb | {v}))
            remaining.remove(v)
        cliques = []
        for c in found:
            if not any(c < d for d in found) and c not in cliques:
                cliques.append(c)
        if not cliques:
            cliques = [frozenset()]
        cliques.sort(key=lambda c: sorted(order[k] for k in c))
        self.cliques = [tuple(sorted(c, key=order.__getitem__)) for c in cliques]
        self.sizes = [math.prod(self.dims[k] for k in c) for c in self.cliques]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.nvar = int(self.offsets[-1])
        if self.nvar > self.max_cells:
            big = max(range(len(self.cliques)), key=lambda i: self.sizes[i])
            names = " x ".join(str(k) for k in self.cliques[big])
            raise DifferencingError(
                f"population {self.population!r}, measure {self.root!r}: the joint formulation needs "
                f"{self.nvar:,} fine cells (more than max_cells={self.max_cells:,}); the largest block is "
                f"{names} ({self.sizes[big]:,} cells), forced by tables whose keys overlap in a cycle. "
                "No sound shortcut exists (leaving tables out of the audit would widen the intruder's "
                "ranges and could pass a recoverable cell): audit fewer or coarser tables together, "
                "give unrelated tables different populations, or raise max_cells.")
        self._coords: dict[int, dict] = {}
        self._margins: dict[tuple, sparse.csr_matrix] = {}
        # junction tree: maximum-weight spanning tree of the clique graph (Prim, deterministic)
        inside, tree = [0], []
        while len(inside) < len(self.cliques):
            best = None
            for a in inside:
                for b in range(len(self.cliques)):
                    if b in inside:
                        continue
                    w = len(set(self.cliques[a]) & set(self.cliques[b]))
                    if best is None or w > best[0]:
                        best = (w, a, b)
            assert best is not None  # some clique is still outside the tree
            _, a, b = best
            inside.append(b)
            tree.append((a, b))
        self.tree = tree

    def clique_of(self, keyset: Iterable) -> int:
        s = set(keyset)
        for i, c in enumerate(self.cliques):
            if s <= set(c):
                return i
        raise AssertionError("a table's keys are not inside any clique")  # pragma: no cover

    def margin(self, ci: int, sub: tuple) -> sparse.csr_matrix:
        """Matrix (cells of the margin on ``sub``) x (all unknowns) summing clique ``ci`` onto ``sub``."""
        key = (ci, sub)
        if key not in self._margins:
            clique = self.cliques[ci]
            size = self.sizes[ci]
            if ci not in self._coords:
                shape = tuple(self.dims[k] for k in clique)
                coords = np.unravel_index(np.arange(size), shape) if clique else ()
                self._coords[ci] = dict(zip(clique, coords))
            if sub:
                proj = np.ravel_multi_index(tuple(self._coords[ci][k] for k in sub),
                                            tuple(self.dims[k] for k in sub))
                n_rows = math.prod(self.dims[k] for k in sub)
            else:
                proj, n_rows = np.zeros(size, dtype=int), 1
            cols = self.offsets[ci] + np.arange(size)
            self._margins[key] = sparse.csr_matrix((np.ones(size), (proj, cols)), shape=(n_rows, self.nvar))
        return self._margins[key]

    def add_cells(self, ci: int, sub: tuple, levels: np.ndarray, gids: np.ndarray) -> None:
        """Cells that fix ``sub`` to ``levels`` (one row of level positions per cell) in clique ``ci``."""
        if len(gids) == 0:
            return
        if sub:
            idx = np.ravel_multi_index(tuple(levels[:, j] for j in range(len(sub))), tuple(self.dims[k] for k in sub))
        else:
            idx = np.zeros(len(gids), dtype=int)
        self.rows.append(self.margin(ci, sub)[idx])
        self.gids.append(np.asarray(gids, dtype=int))
        self.cqs.append(np.full(len(gids), ci, dtype=int))

    def finish(self, n_global: int) -> None:
        self.A = sparse.vstack(self.rows, format="csr") if self.rows else sparse.csr_matrix((0, self.nvar))
        self.gid = np.concatenate(self.gids) if self.gids else np.zeros(0, dtype=int)
        self.cq = np.concatenate(self.cqs) if self.cqs else np.zeros(0, dtype=int)
        self.local = np.full(n_global, -1, dtype=int)
        self.local[self.gid] = np.arange(len(self.gid))
        cons = []
        for a, b in self.tree:
            sep = tuple(k for k in self.cliques[a] if k in self.cliques[b])
            cons.append(self.margin(a, sep) - self.margin(b, sep))
        self.C = sparse.vstack(cons, format="csr") if cons else sparse.csr_matrix((0, self.nvar))
        del self.rows, self.gids, self.cqs


class _Registry:
    """The paper's cells, one entry each (published counts, their non-events, absent zeros), in the order added."""

    def __init__(self) -> None:
        self.tab: list[int] = []
        self.row: list[int] = []
        self.slot: list[int] = []
        self.kind: list[int] = []
        self.value: list[float] = []
        self.fixed: list[int] = []
        self.link: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self.tab)

    def new(self, ti, ri, si, k, v, n_fixed, lk=(-1, -1)) -> int:
        """Add one cell (table, row, slot, kind, value, keys it fixes, linked cells); its global id."""
        self.tab.append(ti)
        self.row.append(ri)
        self.slot.append(si)
        self.kind.append(k)
        self.value.append(v)
        self.fixed.append(n_fixed)
        self.link.append(lk)
        return len(self.tab) - 1


def _declared_parts(tables: Sequence[CountTable]) -> dict[str, dict[str, str]]:
    """The measures of each population: part -> whole, checked to agree across tables and nest one level only."""
    parts: dict[str, dict[str, str]] = {}
    for t in tables:
        declared = parts.setdefault(t.population, {})
        for p, w in t._subset_pairs:
            if declared.get(p, w) != w:
                raise ValueError(f"population {t.population!r}: {p!r} is declared a subset of both "
                                 f"{declared[p]!r} and {w!r}")
            declared[p] = w
    for pop, declared in parts.items():
        for p, w in declared.items():
            if w in declared:
                raise ValueError(f"population {pop!r}: {p!r} is a subset of {w!r}, itself a subset of "
                                 f"{declared[w]!r}; only one level of nesting is supported")
    return parts


def _universe_members(tables: Sequence[CountTable], parts: dict[str, dict[str, str]]) -> dict[tuple[str, str], list[tuple[int, list[int]]]]:
    """The tables' count slots grouped by universe: (population, root measure) -> [(table, slots)]."""
    by_universe: dict[tuple[str, str], list[tuple[int, list[int]]]] = {}
    for ti, t in enumerate(tables):
        declared = parts.get(t.population, {})
        groups: dict[str, list[int]] = {}
        for si, c in enumerate(t.counts):
            groups.setdefault(declared.get(c, c), []).append(si)
        for root, slots in groups.items():
            by_universe.setdefault((t.population, root), []).append((ti, slots))
    return by_universe


def _universe_levels(tables: Sequence[CountTable], members: list[tuple[int, list[int]]]) -> tuple[list, dict]:
    """The keys of a universe's tables with their levels, in order of appearance (totals left out)."""
    keys: list = []
    levels: dict = {}
    for ti, _slots in members:
        t = tables[ti]
        for k in t.keys:
            if k not in levels:
                keys.append(k)
                levels[k] = []
            seen = set(levels[k])
            for v in pd.unique(t.data[k]):
                if v != t.margins_name and v not in seen:
                    levels[k].append(v)
                    seen.add(v)
    for k in keys:
        # levels seen only in filtered tables need not be all: one more level stands for the rest
        if not any(tables[ti].complete and k in tables[ti].keys for ti, _ in members):
            levels[k].append(_UNLISTED)
    return keys, levels


def _universe_keys(tables: Sequence[CountTable], members: list[tuple[int, list[int]]], root: str) -> tuple[list, dict]:
    """The keys of a universe with their levels; each part measure becomes a binary key after the tables' keys."""
    keys, levels = _universe_levels(tables, members)
    part_keys = []
    for ti, slots in members:
        for si in slots:
            c = tables[ti].counts[si]
            if c != root and _Key(c) not in part_keys:
                part_keys.append(_Key(c))
    for pk in part_keys:
        keys.append(pk)
        levels[pk] = [0, 1]
    return keys, levels


class _Paper:
    """All cells of all tables, grouped into universes, with the LP machinery."""

    def __init__(self, tables: Sequence[CountTable], max_cells: int) -> None:
        names = [t.name for t in tables]
        if len(set(names)) != len(names):
            raise ValueError("table names must be unique")
        self.tables = list(tables)
        self.masks = [t.mask.copy() for t in tables]
        self.keyvals = [list(t.data[list(t.keys)].itertuples(index=False, name=None)) if t.keys
                        else [()] * len(t.data) for t in tables]
        self.vals = [t.values for t in tables]

        # measures: part -> whole per population
        self.parts = _declared_parts(tables)

        # global cell registry (published cells first, in table order)
        cells = _Registry()
        self.gid_of: dict[tuple[int, int, int], int] = {}
        self.derived: dict[int, list[int]] = {}  # published gid -> nonevents gids it feeds
        row_fixed = self._register_published(cells)
        self.n_published = len(cells)
        self.pair_slots = self._register_nonevents(cells, row_fixed)

        # universes
        self.universes: list[_Universe] = []
        self.universe_of: dict[int, int] = {}
        for (pop, root), members in _universe_members(tables, self.parts).items():
            self.universes.append(self._universe(pop, root, members, max_cells, cells))

        self.tab = np.array(cells.tab, dtype=int)
        self.row = np.array(cells.row, dtype=int)
        self.slot = np.array(cells.slot, dtype=int)
        self.kind = np.array(cells.kind, dtype=int)
        self.value = np.array(cells.value, dtype=float)
        self.fixed = np.array(cells.fixed, dtype=int)
        self.link = np.array(cells.link, dtype=int).reshape(-1, 2)
        n = len(cells)
        for ui, u in enumerate(self.universes):
            u.finish(n)
        self.uni = np.full(n, -1, dtype=int)
        for ui, u in enumerate(self.universes):
            self.uni[u.gid] = ui
        self.finest = np.array([int(self.fixed[u.gid].max()) if len(u.gid) else 0 for u in self.universes])
        # hidden state, kept in arrays: published cells from the masks, non-events from their two counts
        starts = np.concatenate([[0], np.cumsum([len(t.data) for t in tables])]).astype(int)
        self.rowid = np.where(self.row >= 0, starts[self.tab] + self.row, -1)
        self.hid = np.zeros(n, dtype=bool)
        pub = self.kind == PUBLISHED
        self.hid[pub] = [bool(self.masks[t][r, c]) for t, r, c in zip(self.tab[pub], self.row[pub], self.slot[pub])]
        self.row_hid = np.zeros(int(starts[-1]) + 1, dtype=int)
        np.add.at(self.row_hid, self.rowid[pub & self.hid], 1)
        ne = self.kind == NONEVENTS
        self.hid[ne] = self.hid[self.link[ne, 0]] | self.hid[self.link[ne, 1]]
        self.obs_lo = self.value.copy()
        self.obs_hi = self.value.copy()
        self._A: dict[int, dict] = {}
        self.base: dict[int, np.ndarray] = {}

    def _register_published(self, cells: _Registry) -> list[np.ndarray]:
        """Register every published count; per table, how many keys each row fixes (a total over a key does not fix it)."""
        row_fixed = []
        for ti, t in enumerate(self.tables):
            fixed = np.full(len(t.data), len(t.keys), dtype=int)
            for k in t.keys:
                fixed -= (t.data[k] == t.margins_name).to_numpy(dtype=bool)
            row_fixed.append(fixed)
            for ri in range(len(t.data)):
                for si in range(len(t.counts)):
                    self.gid_of[(ti, ri, si)] = cells.new(ti, ri, si, PUBLISHED, self.vals[ti][ri, si], int(fixed[ri]))
        return row_fixed

    def _register_nonevents(self, cells: _Registry, row_fixed: list[np.ndarray]) -> list[list[tuple[int, int]]]:
        """Register the non-events (whole - part) of every row of each table's pairs; per table, the pairs' slots."""
        pair_slots = []
        for ti, t in enumerate(self.tables):
            pairs = []
            for p, w in t._subset_pairs:
                if w in t.counts:
                    pairs.append((t.counts.index(p), t.counts.index(w)))
            pair_slots.append(pairs)
            for pi, (sp, sw) in enumerate(pairs):
                for ri in range(len(t.data)):
                    gp, gw = self.gid_of[(ti, ri, sp)], self.gid_of[(ti, ri, sw)]
                    g = cells.new(ti, ri, len(t.counts) + pi, NONEVENTS, self.vals[ti][ri, sw] - self.vals[ti][ri, sp],
                                  int(row_fixed[ti][ri]), (gp, gw))
                    self.gid_of[(ti, ri, len(t.counts) + pi)] = g
                    self.derived.setdefault(gp, []).append(g)
                    self.derived.setdefault(gw, []).append(g)
        return pair_slots

    def _universe(self, pop: str, root: str, members: list[tuple[int, list[int]]], max_cells: int,
                  cells: _Registry) -> _Universe:
        """One universe: its keys and cliques, and the cells of each member table placed in it."""
        keys, levels = _universe_keys(self.tables, members, root)
        u = _Universe(pop, root, keys, levels, max_cells)
        tkeys = {}
        for ti, slots in members:
            t = self.tables[ti]
            tk = list(t.keys) + [_Key(t.counts[si]) for si in slots if t.counts[si] != root]
            tkeys[ti] = tuple(k for k in keys if k in tk)
        u.build_cliques(list(tkeys.values()))
        for ti, slots in members:
            self._add_table(u, u.clique_of(tkeys[ti]), ti, slots, root, cells)
        return u

    def _add_table(self, u: _Universe, ci: int, ti: int, slots: list[int], root: str, cells: _Registry) -> None:
        """Place the cells of table ``ti`` (its count ``slots`` in universe ``u``) in clique ``ci``."""
        t = self.tables[ti]
        codes = np.zeros((len(t.data), len(t.keys)), dtype=int)
        is_tot = np.zeros((len(t.data), len(t.keys)), dtype=bool)
        for j, k in enumerate(t.keys):
            col = t.data[k].tolist()
            is_tot[:, j] = [v == t.margins_name for v in col]
            codes[:, j] = [u.pos[k].get(v, -1) for v in col]
        # group rows by which keys are totals
        patterns: dict[tuple, list[int]] = {}
        for ri in range(len(t.data)):
            patterns.setdefault(tuple(is_tot[ri]), []).append(ri)
        for pattern, rows in patterns.items():
            self._add_rows(u, ci, ti, slots, root, pattern, rows, codes)
        # absent combinations of a complete table are published zeros
        if t.complete and t.keys:
            self._add_absent_zeros(u, ci, ti, slots, root, codes, is_tot, cells)

    def _add_rows(self, u: _Universe, ci: int, ti: int, slots: list[int], root: str, pattern: tuple, rows: list[int],
                  codes: np.ndarray) -> None:
        """Place the rows of table ``ti`` whose keys are totals as in ``pattern`` (counts, then non-events)."""
        t = self.tables[ti]
        fixed = [j for j in range(len(t.keys)) if not pattern[j]]
        base_sub = tuple(t.keys[j] for j in fixed)
        base = codes[np.ix_(rows, fixed)] if fixed else np.zeros((len(rows), 0), dtype=int)
        for si in slots:
            c = t.counts[si]
            gids = np.array([self.gid_of[(ti, ri, si)] for ri in rows])
            if c == root:
                sub, lv = base_sub, base
            else:
                sub, lv = self._with_key(u, base_sub, base, _Key(c), 1)
            u.add_cells(ci, sub, lv, gids)
        for pi, (sp, sw) in enumerate(self.pair_slots[ti]):
            if sp in slots and sw in slots:
                gids = np.array([self.gid_of[(ti, ri, len(t.counts) + pi)] for ri in rows])
                sub, lv = self._with_key(u, base_sub, base, _Key(t.counts[sp]), 0)
                u.add_cells(ci, sub, lv, gids)

    def _add_absent_zeros(self, u: _Universe, ci: int, ti: int, slots: list[int], root: str, codes: np.ndarray,
                          is_tot: np.ndarray, cells: _Registry) -> None:
        """Register and place the absent key combinations of complete table ``ti``: published zeros."""
        t = self.tables[ti]
        shape = tuple(u.dims[k] for k in t.keys)
        n_comb = math.prod(shape)
        interior = ~is_tot.any(axis=1)
        present = np.ravel_multi_index(tuple(codes[interior, j] for j in range(len(t.keys))), shape) \
            if interior.any() else np.zeros(0, dtype=int)
        absent = np.setdiff1d(np.arange(n_comb), present)
        if not len(absent):
            return
        lv = np.stack(np.unravel_index(absent, shape), axis=1)
        sub = tuple(t.keys)
        use = [si for si in slots if t.counts[si] == root] or list(slots)
        for si in use:
            c = t.counts[si]
            gids = np.arange(len(cells), len(cells) + len(absent))
            for _a in absent:
                cells.new(ti, -1, si, ABSENT, 0.0, len(t.keys))
            if c == root:
                u.add_cells(ci, sub, lv, gids)
            else:
                s2, l2 = self._with_key(u, sub, lv, _Key(c), 1)
                u.add_cells(ci, s2, l2, gids)

    @staticmethod
    def _with_key(u: _Universe, sub: tuple, lv: np.ndarray, key: _Key, level: int) -> tuple[tuple, np.ndarray]:
        order = {k: i for i, k in enumerate(u.keys)}
        full = list(sub) + [key]
        perm = sorted(range(len(full)), key=lambda j: order[full[j]])
        lv2 = np.concatenate([lv, np.full((len(lv), 1), level, dtype=int)], axis=1)
        return tuple(full[j] for j in perm), lv2[:, perm]

    # ---- state
    def is_suppressed(self, g: int) -> bool:
        return bool(self.hid[g])

    def hidden(self) -> list[int]:
        """Every cell the intruder does not see (published-but-suppressed and their non-events), in order."""
        return [int(g) for g in np.nonzero(self.hid)[0]]

    def suppress(self, g: int) -> list[int]:
        """Suppress published cell ``g``; returns the cells that became hidden."""
        if self.hid[g]:
            return []
        self.masks[self.tab[g]][self.row[g], self.slot[g]] = True
        self.hid[g] = True
        self.row_hid[self.rowid[g]] += 1
        self._A.pop(int(self.uni[g]), None)
        new = [g] + [d for d in self.derived.get(g, []) if not self.hid[d]]
        self.hid[new] = True
        return new

    def spec(self, g: int) -> dict:
        """The keys a cell fixes, with their levels (a part measure fixes its own binary key)."""
        t = self.tables[self.tab[g]]
        out = {k: v for k, v in zip(t.keys, self.keyvals[self.tab[g]][self.row[g]]) if v != t.margins_name}
        if self.kind[g] == NONEVENTS:
            out[_Key(t.counts[self.pair_slots[self.tab[g]][self.slot[g] - len(t.counts)][0]])] = 0
        else:
            c = t.counts[self.slot[g]]
            if c in self.parts.get(t.population, {}):
                out[_Key(c)] = 1
        return out

    def related(self, h: int, g: int) -> bool:
        """Does cell ``h`` share a line with cell ``g``?

        True if their fine cells overlap (one is inside the other, or they
        cross), or if they differ in one key and agree on another (siblings of
        a line, e.g. Dudley/Male/18-24 for Dudley/Female), or if they are in
        the same table and differ in one key.
        """
        a, b = self.spec(h), self.spec(g)
        common = [k for k in a if k in b]
        differ = sum(a[k] != b[k] for k in common)
        return differ == 0 or (differ == 1 and (len(common) > 1 or self.tab[h] == self.tab[g]))

    def order(self, g: int) -> tuple[int, int, int]:
        return (int(self.tab[g]), int(self.row[g]), int(self.slot[g]))

    def system(self, ui: int, ci: int | None = None):
        """The intruder's equations in the current state: (A, b, row cells, columns).

        With ``ci``, only the block of unknowns of clique ``ci``, its shared
        margins held at those of the feasible table found by
        :meth:`check_consistent` (a restriction of the intruder's problem: its
        ranges can only be narrower, so a range found wide here is wide).
        """
        cache = self._A.setdefault(ui, {})
        if ci not in cache:
            u = self.universes[ui]
            g = u.gid
            visible = (self.kind[g] != NONEVENTS) & ~self.hid[g]
            if ci is None:
                A = sparse.vstack([u.A[visible], u.C], format="csr")
                b = np.concatenate([self.value[g][visible], np.zeros(u.C.shape[0])])
                cache[ci] = (A, b, g[visible], None)
            else:
                cols = np.arange(u.offsets[ci], u.offsets[ci + 1])
                sel = visible & (u.cq == ci)
                seps = [tuple(k for k in u.cliques[a] if k in u.cliques[b]) for a, b in u.tree if ci in (a, b)]
                S = (sparse.vstack([u.margin(ci, sep)[:, cols] for sep in seps], format="csr") if seps
                     else sparse.csr_matrix((0, len(cols))))
                A = sparse.vstack([u.A[sel][:, cols], S], format="csr")
                b = np.concatenate([self.value[g][sel], S @ self.base[ui][cols]])
                cache[ci] = (A, b, g[sel], cols)
        return cache[ci]

    # ---- the intruder's LP
    def solve(self, ui: int, objective: np.ndarray, ci: int | None = None):
        """Minimise ``objective @ x``; returns (status, value, x, duals, row cells).

        A solution is a feasible table (``x`` is always over all unknowns), so
        it widens the observed range of every cell.
        """
        A, b, rows, cols = self.system(ui, ci)
        res = linprog(objective if cols is None else objective[cols], A_eq=A, b_eq=b, bounds=(0, None),
                      method="highs")
        if res.status == 3:
            return "unbounded", -np.inf, None, None, rows
        if res.status == 2:
            self.inconsistent(ui)
        if res.status != 0:  # pragma: no cover - numerical trouble
            raise DifferencingError(f"linear programme failed: {res.message}")
        x = res.x
        if cols is not None:
            x = self.base[ui].copy()
            x[cols] = res.x
        self.observe(ui, x)
        return "ok", float(res.fun), x, np.asarray(res.eqlin.marginals)[: len(rows)], rows

    def observe(self, ui: int, x: np.ndarray) -> None:
        """Every LP solution is a feasible point: widen the observed range of every cell."""
        u = self.universes[ui]
        v = u.A @ x
        np.minimum.at(self.obs_lo, u.gid, v)
        np.maximum.at(self.obs_hi, u.gid, v)

    def check_consistent(self, ui: int) -> None:
        """Check that the tables of a universe describe one set of people; keep a feasible table."""
        u = self.universes[ui]
        g = u.gid
        keep = self.kind[g] != NONEVENTS
        A = sparse.vstack([u.A[keep], u.C], format="csr")
        b = np.concatenate([self.value[g][keep], np.zeros(u.C.shape[0])])
        res = linprog(np.zeros(u.nvar), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        if res.status != 0:
            self.inconsistent(ui)
        self.base[ui] = np.maximum(res.x, 0.0)

    def inconsistent(self, ui: int) -> None:
        u = self.universes[ui]
        raise DifferencingError(
            f"population {u.population!r}, measure {u.root!r}: the tables are not consistent with one set "
            "of people (check filters and periods; tables of different people need different populations; "
            "a filtered table needs complete=False)")

    def bounds(self, g: int, min_width: float | None, local: bool = False):
        """Whole-number feasible range of cell ``g``: (lower, upper, duals, solutions).

        Stops early once the range is proven at least ``min_width`` wide
        (then ``duals`` is None). With ``local``, the range within the block of
        unknowns that holds the cell (see :meth:`system`): never wider than
        the true range, so only a "wide" answer is conclusive.
        """
        ui = int(self.uni[g])
        u = self.universes[ui]
        ci = int(u.cq[u.local[g]]) if local and len(u.cliques) > 1 else None
        obj = np.asarray(u.A[u.local[g]].todense()).ravel()
        lo_seen = _lo(self.obs_lo[g])
        if min_width is not None and _width(self.obs_lo[g], self.obs_hi[g]) >= min_width:
            return lo_seen, _hi(self.obs_hi[g]), None, []
        duals, xs = [], []
        status, fun, x, d, rows = self.solve(ui, -obj, ci)
        hi = np.inf if status == "unbounded" else _hi(-fun)
        if d is not None:
            duals.append((d, rows))
            xs.append(x)
        if min_width is not None and hi - lo_seen >= min_width:
            return lo_seen, hi, None, xs
        if lo_seen <= 0:  # a feasible zero: the minimum is 0, held by non-negativity alone
            return 0.0, hi, duals, xs
        status, fun, x, d, rows = self.solve(ui, obj, ci)
        if d is not None:
            duals.append((d, rows))
            xs.append(x)
        return _lo(fun), hi, duals, xs

    def costs(self, cells: np.ndarray) -> np.ndarray:
        """Information lost by hiding each of the published ``cells``.

        Its value + 1, doubled for each key it leaves open compared with the finest cells of the
        population (a total of finer cells -- a margin row, or a cell of a coarser table -- is
        dearer than the cells inside it), halved where its row already has a hidden count (its
        rate is blanked anyway). A visible zero costs more than any other cell.
        """
        if len(cells) == 0:
            return np.zeros(0)
        v = self.value[cells]
        finest = self.finest[self.uni[cells]]
        c = (v + 1.0) * 2.0 ** (finest - self.fixed[cells])
        c = np.where(self.row_hid[self.rowid[cells]] > 0, 0.5 * c, c)
        return np.where(v == 0, 2.0 * (c.max() + 1.0) * 2.0 ** finest, c)

    def protect(self, g: int, base: np.ndarray, move: float) -> tuple[list[int], np.ndarray] | None:
        """The cheapest visible cells whose hiding lets cell ``g`` move by ``move`` from table ``base``.

        The protection LP: find a change ``d`` of the unknowns with ``base + d >= 0``, margins
        consistent, absent (zero) cells unchanged, cell ``g`` changed by ``move``, minimising the
        summed cost of the visible published cells it changes. Hiding exactly those cells makes
        ``base + d`` a feasible table, so ``g``'s range then spans at least ``|move|``. The change
        is first sought inside the block of unknowns that holds ``g``'s table, with its shared
        margins held fixed (a small LP); only if that fails, over all unknowns.
        Returns (cells to hide, the new feasible table) or None if no such change exists.
        """
        ui = int(self.uni[g])
        u = self.universes[ui]
        base = np.maximum(base, 0.0)
        ci = int(u.cq[u.local[g]])
        for local in (True, False):
            if local:
                cols = np.arange(u.offsets[ci], u.offsets[ci + 1])
                inside = u.cq == ci
                seps = [tuple(k for k in u.cliques[a] if k in u.cliques[b]) for a, b in u.tree if ci in (a, b)]
                C = (sparse.vstack([u.margin(ci, sep)[:, cols] for sep in seps], format="csr") if seps
                     else sparse.csr_matrix((0, len(cols))))
            else:
                if len(u.cliques) == 1:
                    return None
                cols = np.arange(u.nvar)
                inside = np.ones(len(u.gid), dtype=bool)
                C = u.C
            gl = u.gid
            vis = inside & (self.kind[gl] == PUBLISHED) & ~self.hid[gl]
            fixed = inside & (self.kind[gl] == ABSENT)
            Av, Af = u.A[vis][:, cols], u.A[fixed][:, cols]
            ag = u.A[u.local[g]][:, cols]
            n, m = len(cols), int(vis.sum())
            cost = self.costs(gl[vis])
            eye = sparse.identity(m, format="csr")
            z = lambda r: sparse.csr_matrix((r, 2 * m))  # noqa: E731, B023 (used within this iteration)
            A = sparse.vstack([sparse.hstack([Av, -eye, eye]), sparse.hstack([Af, z(Af.shape[0])]),
                               sparse.hstack([C, z(C.shape[0])]), sparse.hstack([ag, z(1)])], format="csr")
            b = np.concatenate([np.zeros(m + Af.shape[0] + C.shape[0]), [move]])
            lower = np.concatenate([-base[cols], np.zeros(2 * m)])
            bounds = np.stack([lower, np.full(n + 2 * m, np.inf)], axis=1)
            res = linprog(np.concatenate([np.zeros(n), cost, cost]), A_eq=A, b_eq=b, bounds=bounds,
                          method="highs")
            if res.status != 0:
                continue
            d = np.zeros(u.nvar)
            d[cols] = res.x[:n]
            change = np.abs(Av @ res.x[:n])
            hide = [int(x) for x in gl[vis][change > 1e-6]]
            return hide, base + d
        return None

    def spread(self, ui: int, cells: list[int]) -> None:
        """Two LPs that push all of ``cells`` up, then down, to prove many of them wide at once."""
        u = self.universes[ui]
        loc = u.local[np.asarray(cells, dtype=int)]
        obj = np.asarray(u.A[loc].sum(axis=0)).ravel()
        for sign in (-1.0, 1.0):
            A, b, _, _ = self.system(ui)
            res = linprog(sign * obj, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
            if res.status == 0:
                self.observe(ui, res.x)

    def location(self, g: int) -> str:
        t = self.tables[self.tab[g]]
        if self.kind[g] == NONEVENTS:
            sp, sw = self.pair_slots[self.tab[g]][self.slot[g] - len(t.counts)]
            return (f"row {quoted(t.label(self.row[g]))}, column {quoted(f'{t.counts[sw]} - {t.counts[sp]}')} "
                    "(non-events, not published)")
        return f"row {quoted(t.label(self.row[g]))}, column {quoted(t.counts[self.slot[g]])}"


def _lo(v: float) -> float:
    return float(math.ceil(v - _TOL * max(1.0, abs(v))))


def _hi(v: float) -> float:
    return float(math.floor(v + _TOL * max(1.0, abs(v)))) if np.isfinite(v) else np.inf


def _width(lo: float, hi: float) -> float:
    return _hi(hi) - _lo(lo)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------- public functions


def feasible_ranges(tables: Sequence[CountTable], *, max_cells: int = MAX_CELLS) -> pd.DataFrame:
    """The intruder's view: the smallest and largest value of every suppressed cell.

    For each suppressed count (and the non-events ``whole - part`` of every
    row where either is suppressed), the linear programme described in the
    module docstring is minimised and maximised; the bounds are rounded
    inwards to whole numbers (counts are whole).

    Parameters
    ----------
    tables : sequence of CountTable
        All the count tables of the paper (any populations).
    max_cells : int
        Largest number of LP unknowns per population and measure (see
        :func:`audit_differencing`).

    Returns
    -------
    DataFrame
        One row per hidden cell with ``table``, ``location`` (as in the log),
        the key columns of all tables (missing where a table lacks the key),
        ``column`` (the count, or ``"n - reoffenders"`` for non-events),
        ``published`` (False for non-events), ``lower``, ``upper`` and
        ``width`` (``upper`` is ``inf`` when nothing bounds the cell).

    Examples
    --------
    >>> t = CountTable("by area", pd.DataFrame({"area": ["A", "B", "C"], "n": [30, 4, 26]}), keys=("area",))
    >>> total = CountTable("total", pd.DataFrame({"n": [60]}), keys=())
    >>> feasible_ranges([t.with_suppressed({(1, "n"), (2, "n")}), total])[["location", "lower", "upper"]]
                  location  lower  upper
    0  row 'B', column 'n'    0.0   30.0
    1  row 'C', column 'n'    0.0   30.0
    """
    paper = _Paper(tables, max_cells)
    hidden = paper.hidden()
    for ui in sorted({int(paper.uni[g]) for g in hidden}):
        paper.check_consistent(ui)
    records = []
    all_keys: list[str] = []
    for t in tables:
        all_keys += [k for k in t.keys if k not in all_keys]
    for g in hidden:
        lo, hi, _, _ = paper.bounds(g, None)
        t = paper.tables[paper.tab[g]]
        rec: dict[str, object] = {"table": t.name, "location": paper.location(g)}
        for k in all_keys:
            rec[k] = t.data[k].iloc[paper.row[g]] if k in t.keys else None
        if paper.kind[g] == NONEVENTS:
            sp, sw = paper.pair_slots[paper.tab[g]][paper.slot[g] - len(t.counts)]
            rec["column"], rec["published"] = f"{t.counts[sw]} - {t.counts[sp]}", False
        else:
            rec["column"], rec["published"] = t.counts[paper.slot[g]], True
        rec.update(lower=lo, upper=hi, width=hi - lo)
        records.append(rec)
    columns = ["table", "location", *all_keys, "column", "published", "lower", "upper", "width"]
    return pd.DataFrame(records, columns=columns)


def audit_differencing(
    tables: Sequence[CountTable],
    *,
    threshold: int = 10,
    preset: str | int | None = None,
    min_width: float | None = None,
    zeros: ZeroPolicy = "suppress",
    primary: bool = True,
    log: DisclosureLog | None = None,
    max_rounds: int = 200,
    max_cells: int = MAX_CELLS,
) -> list[CountTable]:
    """Secondary suppression across the tables of a paper until no hidden count can be recovered.

    Parameters
    ----------
    tables : sequence of CountTable
        All the count tables of the paper, with their true values and their
        current suppression masks (e.g. from
        :func:`analysis.disclosure.publish_rates` via
        :meth:`CountTable.from_published`).
    threshold, preset : int, str or int
        Small-count threshold (default 10) or a preset (``"strict"``,
        ``"nhs"``, ``"ons"``), as in :func:`analysis.disclosure.resolve_threshold`.
    min_width : float, optional
        A hidden cell is *exposed* when its feasible range (whole numbers,
        ``upper - lower``) is narrower than this. Default: the threshold, so
        the intruder cannot narrow any hidden count to fewer than
        ``threshold + 1`` possible values (the ONS / NHS rule that the hidden
        cells of a line add up to at least the threshold, generalised across
        tables). ``0.5`` checks only exact recovery (as the single-table audit
        of :func:`analysis.disclosure.suppress_crosstab`).
    zeros : {"suppress", "show"}
        Zero policy of the primary rule (as in :mod:`analysis.disclosure`).
    primary : bool
        Also apply the primary rule first (counts below the threshold, and a
        subset count whose non-events ``whole - part`` fall below it), on top
        of the given masks, so that forgetting a mask cannot publish a small
        count. Default True.
    log : DisclosureLog, optional
        Records go here (rules ``"primary"`` and ``"secondary"``; never a
        value). A new log is made if omitted; read it from
        ``audit_differencing.last_log`` or pass your own.
    max_rounds : int
        Most single complementary suppressions before the audit switches to
        suppressing the whole lines of each remaining exposed cell.
    max_cells : int
        Largest number of LP unknowns per population and measure (default
        200,000); beyond it a :class:`DifferencingError` is raised.

    Returns
    -------
    list of CountTable
        The tables, in the same order, with updated ``suppressed`` masks.

    Notes
    -----
    **Algorithm.** Only populations and measures with a hidden cell take
    part. The unknowns are not the full product of all key levels: the key
    columns of each table form a clique of a graph on the key columns; the
    graph is triangulated (minimum-size elimination) and the unknowns are one
    count table per maximal clique, tied by equal margins along a junction
    tree. Because consistent margins on a junction tree always extend to a
    non-negative (and whole-number) fine table, this reduction gives exactly
    the same ranges as the full fine cross-classification, with far fewer
    unknowns (flags crossed with area become many small area x flag blocks,
    not 2^k x areas cells). Constraint matrices are sparse; the LPs are solved
    by HiGHS.

    Hidden cells are examined in table, row, column order. Since suppressing
    a cell only removes a constraint, the intruder's ranges can only widen
    as suppression is added: a cell once found safe stays safe and is not
    examined again. Every LP solution is a feasible table, so it shows values
    every hidden cell can take; a cell whose observed values already span
    ``min_width`` is safe without its own LP (the sound shortcut: feasible
    points prove a range *wide*; one-line bounds could only prove it narrow).
    For an exposed cell, the constraints that pin it are those with non-zero
    dual values in its two LPs; the complement is the smallest of their
    visible cells, preferring non-zero cells, then interior cells over
    totals, then the first in table order. The choice is logged with the cell
    it protects and the tables whose difference exposed it, and the cell is
    examined again. After ``max_rounds`` complements (or when no visible cell
    pins it), every visible cell in the exposed cell's lines of its own table
    (all cells differing from it in one key, totals included) is suppressed
    instead, and the log says so. The output depends only on the input.

    **Limits.** The bounds are those of the linear relaxation, rounded inwards
    to whole numbers. For nested tables and for two classifications crossed
    within a third (e.g. area x sex and area x age) the constraints are
    totally unimodular and the bounds are exact; with three or more
    classifications overlapping in a cycle (area x sex, area x age, sex x age)
    an intruder solving the integer programme can occasionally narrow a range
    a little further. The intruder is not assumed to know the suppression
    rule (e.g. that a primary cell is below the threshold), nor rounding;
    rates and intervals are assumed to be blanked with their counts. Absent
    rows of a complete table are published zeros and are never suppressed:
    list zero cells explicitly if they may need hiding. If the reduced
    problem still exceeds ``max_cells`` an error is raised rather than
    falling back to a relaxation: auditing subsets of the tables separately
    (the usual relaxation) drops constraints, which *widens* the intruder's
    ranges and could pass a recoverable cell, so it is not conservative.

    **Speed.** A paper of 16 tables (area x sex x age band, area x sex,
    area x age band, area, sex x age band, seven flags by area, offence
    group, the total; ``n`` and ``reoffenders``; 25 areas, 8 age bands; 5,500
    LP unknowns) with 62 primary-suppressed cells takes about 1 s on a
    2-core machine (see ``bench/bench_differencing.py``).

    Examples
    --------
    Dudley has 3 women (2 young, 1 old), hidden by the primary rule in the
    tables by area, sex and age and by area and sex; but the table by area
    (28) less Dudley's men (25) gives them back. The audit hides Dudley's men
    in both tables (the young men, 12, are the cheapest cell that lets the
    hidden women move):

    >>> cells = pd.DataFrame({"area": ["Dudley"] * 4 + ["Walsall"] * 4,
    ...                       "sex": ["Female", "Female", "Male", "Male"] * 2,
    ...                       "age": ["young", "old"] * 4,
    ...                       "n": [2, 1, 12, 13, 20, 22, 30, 31]})
    >>> tables = [CountTable("by area, sex and age", cells, keys=("area", "sex", "age")),
    ...           CountTable("by area and sex", cells.groupby(["area", "sex"], as_index=False)["n"].sum(),
    ...                      keys=("area", "sex")),
    ...           CountTable("by area", cells.groupby("area", as_index=False)["n"].sum(), keys=("area",))]
    >>> log = DisclosureLog()
    >>> safe = audit_differencing(tables, log=log)
    >>> log.to_frame()[["table", "location", "rule"]]
                      table                                   location       rule
    0  by area, sex and age  row 'Dudley / Female / young', column 'n'    primary
    1  by area, sex and age    row 'Dudley / Female / old', column 'n'    primary
    2       by area and sex          row 'Dudley / Female', column 'n'    primary
    3  by area, sex and age    row 'Dudley / Male / young', column 'n'  secondary
    4       by area and sex            row 'Dudley / Male', column 'n'  secondary
    >>> feasible_ranges(safe)["width"].min()
    np.float64(15.0)
    """
    threshold = resolve_threshold(threshold=threshold, preset=preset)
    check_zero_policy(zeros)
    min_width = _min_width(min_width, threshold)
    log = DisclosureLog(default_threshold=threshold) if log is None else log
    _note_settings(log, tables, threshold, zeros)
    if primary:
        tables = [_primary(t, threshold, zeros, log) for t in tables]
    paper = _Paper(tables, max_cells)

    hidden = paper.hidden()
    active = sorted({int(paper.uni[g]) for g in hidden})
    for ui in active:
        paper.check_consistent(ui)
        paper.spread(ui, [g for g in hidden if paper.uni[g] == ui])
    heap = [(paper.order(g), g) for g in hidden]
    heapq.heapify(heap)
    queued = set(hidden)
    safe: set[int] = set()
    rounds = 0

    def push(cells: list[int]) -> None:
        for c in cells:
            if c not in queued:
                queued.add(c)
                heapq.heappush(heap, (paper.order(c), c))

    while heap:
        _, g = heap[0]
        if g in safe:
            heapq.heappop(heap)
            continue
        lo, hi, duals, xs = paper.bounds(g, min_width, local=True)  # a small LP first: "wide" is conclusive
        if hi - lo < min_width and len(paper.universes[int(paper.uni[g])].cliques) > 1:
            lo, hi, duals, xs = paper.bounds(g, min_width)
        if hi - lo >= min_width:
            safe.add(g)
            heapq.heappop(heap)
            continue
        # exposed: which tables pin it? (the visible cells with non-zero duals in its LPs)
        pinning = _pinning(duals)
        how = _how_exposed(paper, g, pinning)
        protects = f"{paper.location(g)} of {quoted(paper.tables[int(paper.tab[g])].name)}"
        if rounds < max_rounds:
            found = _cheapest_complements(paper, g, xs[0], min_width)
            if found is not None:
                hide, point = found
                for r in hide:
                    push(paper.suppress(r))
                    log.add(paper.tables[paper.tab[r]].name, paper.location(r), "secondary",
                            f"complementary suppression: protects {protects} ({how})")
                paper.observe(int(paper.uni[g]), point)  # a feasible table now that `hide` is hidden
                rounds += 1
                continue
        line = _whole_line(paper, g, pinning, protects)
        why = ("no set of complements lets it move" if rounds < max_rounds
               else f"still exposed after {max_rounds} rounds of complements")
        for r in line:
            push(paper.suppress(r))
            log.add(paper.tables[paper.tab[r]].name, paper.location(r), "secondary",
                    f"complementary suppression: protects {protects} ({how}); {why}, so the whole line "
                    "was suppressed")

    return [replace(t, suppressed=pd.DataFrame(paper.masks[i], index=t.data.index, columns=list(t.counts)))
            for i, t in enumerate(tables)]


def _min_width(min_width: float | None, threshold: int) -> float:
    """The width a suppressed count's feasible range must reach (default: the threshold)."""
    if min_width is None:
        min_width = float(threshold)
    if min_width <= 0:
        raise ValueError("min_width must be positive")
    return min_width


def _note_settings(log: DisclosureLog, tables: Sequence[CountTable], threshold: int, zeros: str) -> None:
    """Note the settings of each table the log has not seen yet."""
    for t in tables:
        if t.name not in log.settings:
            log.note_settings(t.name, threshold=threshold, zeros=zeros, rounding=None)


def _pinning(duals: list[tuple[np.ndarray, np.ndarray]] | None) -> list[int]:
    """The visible cells that pin an exposed cell: those with non-zero duals in its LPs, in order."""
    pinning: list[int] = []
    for d, rows in duals or []:
        pinning += [int(r) for r in rows[np.abs(d) > 1e-9]]
    return sorted(set(pinning))


def _how_exposed(paper: _Paper, g: int, pinning: list[int]) -> str:
    """How cell ``g`` is exposed, for the log: differencing within its table, or across the tables named."""
    near = [r for r in pinning if paper.related(r, g)] or pinning
    own = int(paper.tab[g])
    involved = [own] + sorted({int(paper.tab[r]) for r in near} - {own})
    return ("differencing across tables: " + _join([quoted(paper.tables[i].name) for i in involved])
            if len(involved) > 1 else f"differencing within table {quoted(paper.tables[own].name)}")


def _cheapest_complements(paper: _Paper, g: int, x_hi: np.ndarray, min_width: float) -> tuple | None:
    """The cheapest set of visible cells whose hiding lets cell ``g`` move by the width (with a feasible table), or None.

    Down from its largest value (``x_hi``, a feasible table where it is largest) if it can, else up.
    """
    u = paper.universes[int(paper.uni[g])]
    top = float((u.A[u.local[g]] @ x_hi)[0])
    step = math.ceil(min_width - _TOL)  # the whole-number width to open
    down = step + max(0.0, top - math.floor(top + _TOL))
    up = step + max(0.0, math.ceil(top - _TOL) - top)
    found = paper.protect(g, x_hi, -down) if top - down >= -_TOL else None
    if found is None:
        found = paper.protect(g, x_hi, up)
    return found


def _whole_line(paper: _Paper, g: int, pinning: list[int], protects: str) -> list[int]:
    """The visible cells of a line through cell ``g`` (else the visible published cells pinning it), to suppress whole."""
    candidates = [r for r in pinning if paper.kind[r] == PUBLISHED]
    line = [r for r in _lines(paper, g) if not paper.is_suppressed(r)] or \
           [r for r in candidates if not paper.is_suppressed(r)]
    if not line:
        raise DifferencingError(
            f"{protects} cannot be protected: it is pinned by absent cells of complete tables, which "
            "are published zeros; list those zero cells explicitly (so they can be suppressed) or mark "
            "the table complete=False if it is filtered")
    return line


def _lines(paper: _Paper, g: int) -> list[int]:
    """Published cells in the lines of cell ``g`` within its own table (differing in one key)."""
    ti, ri = int(paper.tab[g]), int(paper.row[g])
    t = paper.tables[ti]
    if paper.kind[g] == NONEVENTS:
        slots = list(paper.pair_slots[ti][paper.slot[g] - len(t.counts)])
    else:
        slots = [int(paper.slot[g])]
    keyvals = paper.keyvals[ti]
    mine = keyvals[ri]
    rows = [i for i, kv in enumerate(keyvals) if sum(a != b for a, b in zip(kv, mine)) <= 1]
    return [paper.gid_of[(ti, i, s)] for i in rows for s in slots]


def _primary(t: CountTable, threshold: int, zeros: str, log: DisclosureLog) -> CountTable:
    """The primary rule of :mod:`analysis.disclosure` on top of the table's mask (new cells are logged)."""
    values, mask = t.values, t.mask.copy()
    small = is_small(values, threshold, zeros) & ~mask
    for i, j in zip(*np.nonzero(small)):
        log.add(t.name, f"row {quoted(t.label(i))}, column {quoted(t.counts[j])}", "primary", primary_rule_text(threshold, zeros))
    mask |= small
    for p, w in t._subset_pairs:
        if w not in t.counts:
            continue
        jp, jw = t.counts.index(p), t.counts.index(w)
        ne = is_small(values[:, jw] - values[:, jp], threshold, zeros) & ~mask[:, jp]
        for i in np.nonzero(ne)[0]:
            log.add(t.name, f"row {quoted(t.label(int(i)))}, column {quoted(p)}", "primary",
                    non_events_rule_text(p, w, threshold, zeros))
        mask[:, jp] |= ne
    return replace(t, suppressed=pd.DataFrame(mask, index=t.data.index, columns=list(t.counts)))
