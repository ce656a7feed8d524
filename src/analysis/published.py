"""The published figures of the strategy's section 5, as tidy tables.

``data/published/*.csv`` hold every figure of section 5 ("Adult and Youth
Reoffending - Current Position") of the Black Country Reducing Reoffending
Strategy 2018-2020 and its CRC table, one figure a row, with provenance
(source table, period, cohort, group, measure, value, unit). Where a figure
can be derived from others (a rate from its counts), ``derived_from`` says
how, ``derived_value`` holds the recomputed value, and ``discrepancy`` flags
a published value that disagrees with its own counts; neither is corrected.

Examples
--------
>>> from analysis.published import load_published
>>> table = load_published()
>>> float(table.set_index("figure_id").loc["crc_dudley_actual", "value"])
46.02
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import PUBLISHED_DIR

__all__ = ["load_published", "recompute_derived", "published_value", "TABLES"]

TABLES: tuple[str, ...] = (
    "moj_cohorts",
    "offence_types",
    "youth_cohorts",
    "crc_area_rates",
    "crc_flag_rates",
    "area_focus",
)
"""The published tables, one CSV each in ``data/published``."""

COLUMNS: tuple[str, ...] = (
    "figure_id", "source_table", "period", "cohort", "group", "measure", "value", "unit",
    "decimals", "derived_from", "derived_value", "discrepancy", "note",
)


def load_published(tables: str | tuple[str, ...] | None = None, *, directory: str | Path = PUBLISHED_DIR) -> pd.DataFrame:
    """Read the published figures (all tables, or the ones named).

    Returns
    -------
    pandas.DataFrame
        One row per figure with the columns of :data:`COLUMNS` plus ``table``.

    Examples
    --------
    The MoJ cohort's rate, derived from its counts (6,436 of 21,536 = 29.88%, published as 29.9%):

    >>> rate = load_published("moj_cohorts").set_index("figure_id").loc["moj_1516_rate"]
    >>> float(rate["value"]), rate["unit"], rate["derived_from"]
    (29.9, 'percent', 'moj_1516_reoffenders/moj_1516_offenders')
    """
    names = TABLES if tables is None else ((tables,) if isinstance(tables, str) else tables)
    frames = []
    for name in names:
        frame = pd.read_csv(Path(directory) / f"{name}.csv", dtype={"figure_id": str, "group": str, "note": str})
        missing = set(COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"data/published/{name}.csv lacks columns {sorted(missing)}")
        frame.insert(0, "table", name)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["discrepancy"] = out["discrepancy"].astype(str).str.lower().eq("true")
    out["note"] = out["note"].astype(object).fillna("").astype(str)
    out["derived_from"] = out["derived_from"].astype(object).fillna("").astype(str)
    return out


def published_value(figure_id: str, table: pd.DataFrame | None = None) -> float:
    """The published value of one figure.

    Examples
    --------
    >>> published_value("moj_1516_offenders")
    21536.0
    """
    table = load_published() if table is None else table
    match = table.loc[table["figure_id"] == figure_id, "value"]
    if match.empty:
        raise KeyError(f"no published figure {figure_id!r}")
    return float(match.iloc[0])


_TERM = re.compile(r"[a-z0-9_]+")


def recompute_derived(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recompute every derivable figure from the figures it is derived from.

    ``derived_from`` is ``a/b`` (a ratio; times 100 when the unit is percent)
    or ``a+b`` (a sum) of other figure ids.

    Returns
    -------
    pandas.DataFrame
        The derivable rows with ``recomputed`` (full precision),
        ``recomputed_rounded`` (to the published decimals) and ``agrees``
        (the published value equals the recomputed one at its published precision).

    Examples
    --------
    211 reoffenders of 859 is 24.56%, 24.6% at one decimal, but 24.5% was published:

    >>> import pandas as pd
    >>> t = pd.DataFrame({"figure_id": ["reoffenders", "offenders", "rate"], "value": [211, 859, 24.5],
    ...                   "unit": ["count", "count", "percent"], "decimals": [0, 0, 1],
    ...                   "derived_from": ["", "", "reoffenders/offenders"]})
    >>> recompute_derived(t)[["figure_id", "value", "recomputed_rounded", "agrees"]]
      figure_id  value  recomputed_rounded  agrees
    2      rate   24.5                24.6   False
    """
    table = load_published() if table is None else table
    values = dict(zip(table["figure_id"], table["value"].astype(float)))
    rows = table[table["derived_from"].ne("")].copy()
    recomputed = []
    for expr, unit in zip(rows["derived_from"], rows["unit"]):
        ids = _TERM.findall(expr)
        if "/" in expr:
            num, den = (values[i] for i in ids)
            recomputed.append(num / den * (100.0 if unit == "percent" else 1.0))
        elif "+" in expr:
            recomputed.append(sum(values[i] for i in ids))
        else:
            raise ValueError(f"cannot read derived_from {expr!r}")
    rows["recomputed"] = recomputed
    rows["recomputed_rounded"] = [round(v + 1e-9, int(d)) for v, d in zip(rows["recomputed"], rows["decimals"])]
    rows["agrees"] = np.isclose(rows["recomputed_rounded"], rows["value"].astype(float), atol=1e-9)
    return rows
