"""The charts of the papers, each with alternative text that says what it shows.

Every function takes tidy, disclosure-controlled data (rows whose values
were suppressed are left out of the chart, and the caller says how many) and
returns ``(png, alt)``: the chart as PNG bytes and a plain description of it
for screen readers. Charts are drawn on their own matplotlib figure (no
pyplot state), sized by the number of rows so labels never overlap; long
labels wrap. The paper frame (:class:`analysis.paper.frame.Paper`) numbers
and captions them.

Examples
--------
>>> png, alt = dot_plot(["A", "B"], [0.4, 0.55], lower=[0.35, 0.5], upper=[0.45, 0.6], xlabel="Rate (%)", percent=True)
>>> png[:4] == b"\\x89PNG", alt
(True, 'Dot chart of 2 values with 95% intervals: highest B (55.0%), lowest A (40.0%).')
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import chart_text, pct, ratio

if TYPE_CHECKING:
    import pandas as pd

    # what the charts take and turn into arrays at once: a list, an array or a frame's column
    Labels = Sequence[Any] | np.ndarray | pd.Series
    Floats = Sequence[float] | np.ndarray | pd.Series

__all__ = ["dot_plot", "forest_plot", "heatmap", "bar_chart", "funnel_chart", "calibration_chart", "spc_chart", "love_plot",
           "score_histogram", "place_labels", "to_png"]

WIDTH_IN = 8.0
COLOURS = ("#1f5fa0", "#d4722a", "#3a923a", "#8c564b")


def _figure(rows: int, *, width: float = WIDTH_IN, per_row: float = 0.42, extra: float = 1.3, min_height: float = 2.4):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    height = max(min_height, extra + per_row * rows)
    fig = Figure(figsize=(width, height), dpi=100)
    return fig


def to_png(fig: Any) -> bytes:
    """The figure as PNG bytes (tight bounding box, 100 dpi).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> to_png(plt.figure(figsize=(1, 1)))[:4] == b"\\x89PNG"
    True
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _wrap(label: Any, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(chart_text(label), width)) or " "


def _style(ax: Any) -> None:
    ax.grid(axis="x", color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _fmt(value: float, percent: bool) -> str:
    return pct(value) if percent else ratio(value)


def dot_plot(
    labels: Labels,
    values: Floats,
    *,
    lower: Floats | None = None,
    upper: Floats | None = None,
    series: Labels | None = None,
    xlabel: str = "",
    percent: bool = False,
    reference: float | None = None,
    confidence: float = 0.95,
) -> tuple[bytes, str]:
    """Horizontal dots with interval bars, one row per label; ``series`` splits each row into groups.

    The interval bars are drawn at exactly the dots' positions (each series
    is offset by the same amount for both).

    Examples
    --------
    Two areas, each with a rate in two periods:

    >>> png, alt = dot_plot(["A", "A", "B", "B"], [0.4, 0.45, 0.55, 0.5], series=["2015", "2016", "2015", "2016"],
    ...                     xlabel="Rate", percent=True)
    >>> alt
    'Dot chart of 2 rows, each with 2 values (2015, 2016): highest B (2015, 55.0%), lowest A (2015, 40.0%).'
    """
    labels = [str(x) for x in labels]
    values = np.asarray(values, dtype=float)
    lo = None if lower is None else np.asarray(lower, dtype=float)
    hi = None if upper is None else np.asarray(upper, dtype=float)
    groups = [str(s) for s in series] if series is not None else [""] * len(labels)
    rows = list(dict.fromkeys(labels))
    kinds = list(dict.fromkeys(groups))
    fig = _figure(len(rows))
    ax = fig.add_subplot()
    scale = 100.0 if percent else 1.0
    step = 0.22 if len(kinds) > 1 else 0.0
    for k, kind in enumerate(kinds):
        mask = np.array([g == kind for g in groups])
        offset = (k - (len(kinds) - 1) / 2) * step
        y = np.array([rows.index(l) for l, m in zip(labels, mask) if m], dtype=float) + offset
        colour = COLOURS[k % len(COLOURS)]
        if lo is not None and hi is not None:
            ax.hlines(y, lo[mask] * scale, hi[mask] * scale, color=colour, linewidth=2, alpha=0.8)
        ax.plot(values[mask] * scale, y, "o", color=colour, markersize=7, label=chart_text(kind) if kind else None, zorder=3)
    if reference is not None:
        ax.axvline(reference * scale, color="0.4", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [_wrap(r) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(chart_text(xlabel))
    _style(ax)
    if len(kinds) > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.02 * len(rows) ** 0.5), ncol=len(kinds), frameon=False)
    png = to_png(fig)
    level = f"{100 * confidence:g}%"
    order = np.argsort(-values)
    if len(kinds) > 1:
        alt = f"Dot chart of {len(rows)} rows, each with {len(kinds)} values ({', '.join(kinds)})"
        alt += f" and {level} intervals" if lo is not None else ""
        alt += f": highest {labels[order[0]]} ({groups[order[0]]}, {_fmt(values[order[0]], percent)}), lowest {labels[order[-1]]} ({groups[order[-1]]}, {_fmt(values[order[-1]], percent)})."
    else:
        alt = f"Dot chart of {len(rows)} values" + (f" with {level} intervals" if lo is not None else "")
        alt += f": highest {labels[order[0]]} ({_fmt(values[order[0]], percent)}), lowest {labels[order[-1]]} ({_fmt(values[order[-1]], percent)})."
    return png, alt


def forest_plot(
    labels: Labels,
    estimates: Floats,
    lower: Floats,
    upper: Floats,
    *,
    series: Labels | None = None,
    xlabel: str = "Odds ratio (log scale)",
    reference: float = 1.0,
    log: bool = True,
    confidence: float = 0.95,
    what: str = "odds ratios",
    ylabel: str | None = None,
) -> tuple[bytes, str]:
    """Estimates with intervals on a log scale against a reference line (1 = no difference).

    ``ylabel`` names the rows when they are codes ("Residence area" over 1, 2, 3).

    Examples
    --------
    Only ``dv``'s interval (1.2 to 1.9) lies wholly above 1; ``mh``'s (0.6 to 1.1) straddles it:

    >>> png, alt = forest_plot(["dv", "mh"], [1.5, 0.8], [1.2, 0.6], [1.9, 1.1])
    >>> png[:4] == b"\\x89PNG", alt
    (True, 'Forest chart of odds ratios with 95% intervals for 2 rows. Interval wholly above 1: dv. None lies wholly below 1.')
    """
    labels = [str(x) for x in labels]
    est = np.asarray(estimates, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    groups = [str(s) for s in series] if series is not None else [""] * len(labels)
    rows = list(dict.fromkeys(labels))
    kinds = list(dict.fromkeys(groups))
    fig = _figure(len(rows))
    ax = fig.add_subplot()
    step = 0.24 if len(kinds) > 1 else 0.0
    for k, kind in enumerate(kinds):
        mask = np.array([g == kind for g in groups])
        offset = (k - (len(kinds) - 1) / 2) * step
        y = np.array([rows.index(l) for l, m in zip(labels, mask) if m], dtype=float) + offset
        colour = COLOURS[k % len(COLOURS)]
        ax.hlines(y, lo[mask], hi[mask], color=colour, linewidth=2, alpha=0.85)
        ax.plot(est[mask], y, "s" if k else "o", color=colour, markersize=7, label=chart_text(kind) if kind else None, zorder=3)
    ax.axvline(reference, color="0.4", linestyle="--", linewidth=1)
    if log:
        ax.set_xscale("log")
        finite = np.concatenate([lo[np.isfinite(lo) & (lo > 0)], hi[np.isfinite(hi)], [reference]])
        left, right = max(finite.min() / 1.15, 1e-3), finite.max() * 1.15
        ax.set_xlim(left, right)
        ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 10, 20, 50) if left <= t <= right]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
    ax.set_yticks(range(len(rows)), [_wrap(r) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(chart_text(xlabel))
    if ylabel:
        ax.set_ylabel(chart_text(ylabel))
    _style(ax)
    if len(kinds) > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.02 * len(rows) ** 0.5), ncol=len(kinds), frameon=False)
    png = to_png(fig)
    level = f"{100 * confidence:g}%"
    above = [l for l, a in zip(labels, lo) if a > reference]
    below = [l for l, b in zip(labels, hi) if b < reference]
    first = kinds[-1] if len(kinds) > 1 else None
    alt = f"Forest chart of {what} with {level} intervals for {len(rows)} rows" + (f" ({', '.join(kinds)})" if first else "") + ". "
    alt += (f"Interval wholly above {reference:g}: {', '.join(dict.fromkeys(above))}. " if above else f"No interval lies wholly above {reference:g}. ")
    alt += (f"Wholly below {reference:g}: {', '.join(dict.fromkeys(below))}." if below else f"None lies wholly below {reference:g}.")
    return png, alt


def heatmap(matrix: Any, *, row_labels: Sequence[Any], col_labels: Sequence[Any], value_label: str, fmt: str = "{:.0f}",
            cmap: str = "Blues", what: str = "values", skip_diagonal: bool = False) -> tuple[bytes, str]:
    """A labelled grid of numbers: missing cells marked [c]; with ``skip_diagonal``, the diagonal shown as a dash.

    Examples
    --------
    >>> import numpy as np
    >>> png, alt = heatmap(np.array([[1.0, 0.5], [0.25, np.nan]]), row_labels=["a", "b"], col_labels=["a", "b"],
    ...                    value_label="Share", fmt="{:.2f}")
    >>> alt
    'Grid of values: 2 rows by 2 columns; highest 1.00 for a and a; 1 cells suppressed.'
    """
    values = np.asarray(matrix, dtype=float).copy()
    diagonal = np.zeros(values.shape, dtype=bool)
    if skip_diagonal:
        np.fill_diagonal(diagonal, True)
        values[diagonal] = np.nan
    fig = _figure(len(row_labels), per_row=0.5, extra=1.8)
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, cmap=cmap, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "\u2013" if diagonal[i, j] else ("[c]" if not np.isfinite(v) else fmt.format(v))
            shade = np.isfinite(v) and (v - np.nanmin(values)) > 0.6 * (np.nanmax(values) - np.nanmin(values) + 1e-12)
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if shade else "black")
    ax.set_xticks(range(len(col_labels)), [_wrap(c, 14) for c in col_labels], rotation=30, ha="right")
    ax.set_yticks(range(len(row_labels)), [_wrap(r, 28) for r in row_labels])
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(chart_text(value_label))
    ax.grid(False)
    png = to_png(fig)
    finite = np.isfinite(values)
    alt = f"Grid of {what}: {values.shape[0]} rows by {values.shape[1]} columns"
    if finite.any():
        top_row, top_col = map(int, np.unravel_index(np.nanargmax(values), values.shape))
        alt += f"; highest {fmt.format(values[top_row, top_col])} for {row_labels[top_row]} and {col_labels[top_col]}"
    if (~finite & ~diagonal).any():
        alt += f"; {int((~finite & ~diagonal).sum())} cells suppressed"
    return png, alt + "."


def bar_chart(labels: Labels, values: Floats, *, xlabel: str, highlight: Sequence[bool] | None = None,
              percent: bool = False, what: str = "values", lower: Floats | None = None,
              upper: Floats | None = None) -> tuple[bytes, str]:
    """Horizontal bars, largest first as given; ``highlight`` colours some bars differently (e.g. a total).

    Examples
    --------
    >>> png, alt = bar_chart(["A", "B"], [0.3, 0.2], xlabel="Share", percent=True)
    >>> alt
    'Bar chart of values for 2 rows: largest A (30.0%), smallest B (20.0%).'
    """
    labels = [str(x) for x in labels]
    vals = np.asarray(values, dtype=float)
    fig = _figure(len(labels))
    ax = fig.add_subplot()
    scale = 100.0 if percent else 1.0
    colours = [COLOURS[1] if (highlight is not None and highlight[i]) else COLOURS[0] for i in range(len(labels))]
    y = np.arange(len(labels))
    ax.barh(y, vals * scale, color=colours, height=0.6)
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(vals[ok] * scale, y[ok], xerr=[(vals - lo)[ok] * scale, (hi - vals)[ok] * scale], fmt="none", ecolor="black", capsize=3)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, [_wrap(l) for l in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(chart_text(xlabel))
    _style(ax)
    png = to_png(fig)
    order = np.argsort(-vals)
    alt = (f"Bar chart of {what} for {len(labels)} rows: largest {labels[order[0]]} ({_fmt(vals[order[0]], percent) if percent else f'{vals[order[0]]:.1f}'}), "
           f"smallest {labels[order[-1]]} ({_fmt(vals[order[-1]], percent) if percent else f'{vals[order[-1]]:.1f}'}).")
    return png, alt


def _unit_name(label: Any) -> str:
    """A unit's label as a chart shows it: "area=Dudley;sex=Male" -> "Dudley / Male"."""
    text = str(label)
    return " / ".join(part.split("=", 1)[-1] for part in text.split(";")) if "=" in text else text


_LABEL_OFFSETS = ((4, -9), (4, 3), (-4, 3), (-4, -9), (4, -17), (4, 11))
"""Where a point's label may go (points right and below first), tried in turn until one overlaps nothing."""


def place_labels(ax: Any, points: Sequence[tuple[str, float, float]], *, fontsize: float = 7, color: str = "0.35") -> list[str]:
    """Label points without any two labels overlapping; a label with no free place is left off.

    Each label is tried at a few offsets around its point and kept at the
    first where it overlaps no text already on the axes (titles, the names
    of outlying points, labels placed before it) and no marker of a scatter.

    Returns
    -------
    list of str
        The labels left off (the table beside the chart still names them).

    Examples
    --------
    >>> fig = _figure(3)
    >>> ax = fig.add_subplot()
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> place_labels(ax, [("Dudley", 0.5, 0.5), ("Sandwell", 0.5, 0.5), ("Walsall", 0.5, 0.5)])
    []
    >>> len(ax.texts)
    3
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    fig = ax.figure
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    taken = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    for collection in ax.collections:  # the markers themselves: a label must not cover another unit's point
        for px, py in collection.get_offset_transform().transform(collection.get_offsets()):
            taken.append(Bbox.from_bounds(px - 4, py - 4, 8, 8))
    left_off: list[str] = []
    for text, x, y in points:
        for dx, dy in _LABEL_OFFSETS:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color=color,
                                ha="left" if dx > 0 else "right")
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in taken):
                taken.append(box)
                break
            label.remove()
        else:
            left_off.append(text)
    return left_off


def funnel_chart(units: Any, *, kind: str = "ratio", target: Any = None, method: str = "truncation",
                 label_all: bool | None = None, unit_name: str = "unit", unit_plural: str | None = None,
                 title: str | None = None, namer: Any = None, label_namer: Any = None, xlabel: str | None = None,
                 **kwargs: Any) -> tuple[bytes, str]:
    """A funnel plot (see :func:`analysis.funnel.funnel_plot`), with every unit labelled when there are few.

    The units outside the limits are always named (``namer`` turns a unit's
    ``group`` into the words of the alternative text, ``label_namer`` into
    the chart's shorter labels, default ``namer``); the others too when
    ``label_all``, where there is room: no two labels overlap
    (:func:`place_labels`). ``xlabel`` replaces the
    x axis's generic words with the study's own.

    Examples
    --------
    Three areas whose observed counts are near expected (30 against 25, 50 against 52, 20 against 23;
    the 95% limits at 25 expected are roughly 25 +/- 2 sqrt(25) = 15 to 35) all lie inside the limits:

    >>> import pandas as pd
    >>> units = pd.DataFrame({"group": ["A", "B", "C"], "observed": [30, 50, 20], "expected": [25.0, 52.0, 23.0]})
    >>> png, alt = funnel_chart(units)
    >>> print(alt)  # doctest: +NORMALIZE_WHITESPACE
    Funnel plot of 3 units: each unit's observed/expected ratio against its size, with 95% and 99.8% control limits.
    Every point lies within the limits.
    """
    from ..funnel import funnel_plot, funnel_units

    n_units = len(units.drop_duplicates(subset=["group"])) if "group" in units else len(units)
    label_all = n_units <= 20 if label_all is None else label_all
    fig = _figure(10, per_row=0.45, extra=1.0)
    ax = fig.add_subplot()
    funnel_plot(units, kind=kind, target=target, method=method, ax=ax, title=chart_text(title) if title else None,
                label_outside=False, footnote=False, **kwargs)
    table = funnel_units(units, kind=kind, target=target, method=method, **kwargs)
    first = table[table["confidence"] == table["confidence"].min()]
    x = "expected" if kind == "ratio" else "n"
    label_columns = list(first.columns[: list(first.columns).index("observed")])
    outlying = first["significance"] != "Not significant"

    name_of = namer or _unit_name

    def points(rows: Any) -> list[tuple[str, float, float]]:
        return [(chart_text((label_namer or name_of)(row["group"]) if "group" in rows else " / ".join(_unit_name(row[c]) for c in label_columns)), row[x],
                 row["estimate"] * (100 if kind == "proportion" else 1)) for _, row in rows.iterrows()]

    # the units outside the limits are named first, in dark type; the others after them, where there is room
    if xlabel:
        ax.set_xlabel(chart_text(xlabel))
    place_labels(ax, points(first[outlying]), fontsize=8, color="0.1")
    if label_all:
        place_labels(ax, points(first[~outlying]), fontsize=7, color="0.35")
    png = to_png(fig)
    outside = first[outlying]
    names = [name_of(g) for g in outside.get("group", [])]
    alt = (f"Funnel plot of {n_units} {unit_plural or unit_name + 's'}: each {unit_name}'s "
           + ("observed/expected ratio" if kind == "ratio" else "rate")
           + " against its size, with 95% and 99.8% control limits. "
           + (f"Outside the limits: {', '.join(names)}." if names else "Every point lies within the limits."))
    return png, alt


def calibration_chart(table: Any, *, title: str | None = None) -> tuple[bytes, str]:
    """Observed against predicted by tenth of predicted risk (see :func:`analysis.diagnostics.calibration_plot`).

    Examples
    --------
    A model of one flag predicts each group's own rate (3 of 4 and 2 of 6), so the largest gap is 0:

    >>> import pandas as pd, analysis
    >>> from analysis.diagnostics import calibration_table
    >>> people = pd.DataFrame({"homeless": [1] * 4 + [0] * 6, "reoffended": [1, 1, 1, 0] + [1, 1, 0, 0, 0, 0]})
    >>> table = calibration_table(analysis.fit_flags_model(people, flags=["homeless"], adjust=[]), groups=2)
    >>> png, alt = calibration_chart(table)
    >>> alt
    'Calibration chart: observed against predicted percentage in 2 groups of predicted risk; the largest gap between them is 0.0 percentage points.'
    """
    from ..diagnostics import calibration_plot

    fig = _figure(10, per_row=0.45, extra=1.0, width=6.5)
    ax = fig.add_subplot()
    calibration_plot(table, ax=ax, title=chart_text(title) if title else "")
    png = to_png(fig)
    worst = (100 * table["observed_rate"] - 100 * table["expected_rate"]).abs().max()
    alt = (f"Calibration chart: observed against predicted percentage in {len(table)} groups of predicted risk; "
           f"the largest gap between them is {worst:.1f} percentage points.")
    return png, alt


def spc_chart(
    panels: Sequence[dict[str, Any]],
    *,
    ylabel: str,
    percent: bool = True,
    what: str = "rates",
    chart: str = "p-chart",
    value_label: str | None = None,
) -> tuple[bytes, str]:
    """Statistical process control charts, one panel per series, in Making Data Count's manner.

    Each panel is a dict with ``periods`` (labels, in time order), ``value``,
    ``centre``, ``lower`` and ``upper`` (process limits, one per point),
    ``special`` (bool per point: a special cause), and optionally ``title``,
    ``target`` and ``target_label`` (the legend's name for the target line). Points of special cause are drawn larger, in orange;
    the target is a dotted green line. Period labels are rotated, and
    thinned when there are many, so they never overlap; the axis label is
    wrapped to the height of the chart. ``value_label`` names the plotted
    series in the legend (default "Rate" for percentages, "Value" otherwise).

    Examples
    --------
    >>> panel = {"periods": ["Q1", "Q2", "Q3"], "value": [0.3, 0.5, 0.32], "centre": [0.35] * 3,
    ...          "lower": [0.25] * 3, "upper": [0.45] * 3, "special": [False, True, False], "target": 0.3}
    >>> png, alt = spc_chart([panel], ylabel="Rate (%)")
    >>> png[:4] == b"\\x89PNG", alt
    (True, 'p-chart of rates over 3 periods (Q1 to Q3): centre line 35.0%, target 30.0%; 1 point of special cause (Q2).')
    """
    n_panels = len(panels)
    cols = 1 if n_panels <= 2 else 2
    rows = -(-n_panels // cols)
    most = max(len(p["periods"]) for p in panels)
    fig = _figure(rows, per_row=2.6, extra=0.9, min_height=3.0)
    label_width = max(18, int((fig.get_figheight() - 1.3) * 12))  # characters of a 10-point label that fit beside the axes
    scale = 100.0 if percent else 1.0
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    alt_parts = []
    for ax, panel in zip(axes, panels):
        periods = [str(p) for p in panel["periods"]]
        x = np.arange(len(periods))
        value = np.asarray(panel["value"], dtype=float) * scale
        special = np.asarray(panel["special"], dtype=bool)
        ax.plot(x, np.asarray(panel["centre"], dtype=float) * scale, color="0.35", linewidth=1.2, label="Centre line")
        ax.step(x, np.asarray(panel["upper"], dtype=float) * scale, where="mid", color="0.55", linestyle="--", linewidth=1,
                label="Process limits")
        ax.step(x, np.asarray(panel["lower"], dtype=float) * scale, where="mid", color="0.55", linestyle="--", linewidth=1)
        target = panel.get("target")
        if target is not None and not np.isnan(target):
            ax.axhline(float(target) * scale, color=COLOURS[2], linestyle=":", linewidth=1.6,
                       label=chart_text(panel.get("target_label") or "Target"))
        ax.plot(x, value, "-o", color=COLOURS[0], markersize=4, linewidth=1.2, label=value_label or ("Rate" if percent else "Value"), zorder=3)
        if special.any():
            ax.plot(x[special], value[special], "o", color=COLOURS[1], markersize=8, label="Special cause", zorder=4)
        step = max(1, -(-len(periods) // (12 if cols == 1 else 6)))
        ticks = x[::step]
        ax.set_xticks(ticks, [chart_text(periods[i]) for i in ticks], rotation=45 if len(ticks) > 4 else 0,
                      ha="right" if len(ticks) > 4 else "center")
        if panel.get("title"):
            ax.set_title(_wrap(panel["title"], 50), fontsize=10, loc="left")
        if n_panels == 1:
            ax.set_ylabel(_wrap(ylabel, label_width), fontsize=10)
        ax.grid(axis="y", color="0.88", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        flagged = [periods[i] for i in np.flatnonzero(special)]
        name = f"{panel['title']}: " if panel.get("title") else ""
        text = (f"{name}centre line {_fmt(float(np.asarray(panel['centre'], dtype=float)[-1]), percent)}"
                + ("" if target is None or np.isnan(target) else
                   f", reference line {_fmt(float(target), percent)} ({panel['target_label']})" if panel.get("target_label")
                   else f", target {_fmt(float(target), percent)}"))
        text += (f"; {len(flagged)} point{'s' if len(flagged) != 1 else ''} of special cause ({', '.join(flagged)})" if flagged
                 else "; no point of special cause")
        alt_parts.append(text)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.02))
    if n_panels > 1:  # one axis label for the grid: per-panel labels would run into the panel beside them
        fig.supylabel(_wrap(ylabel, label_width), fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    png = to_png(fig)
    first = str(panels[0]["periods"][0])
    last = str(panels[0]["periods"][-1])
    span = f"{most} period{'s' if most != 1 else ''} ({first} to {last})" if most > 1 else f"1 period ({first})"
    alt = f"{chart} of {what} over {span}" + (f", {n_panels} panels" if n_panels > 1 else "") + ": " + "; ".join(alt_parts) + "."
    return png, alt


def love_plot(labels: Labels, samples: Mapping[str, Floats], *, threshold: float = 0.1) -> tuple[bytes, str]:
    """A love plot: each covariate level's absolute standardised mean difference in each sample, with the 10% line.

    ``samples`` maps a sample's name ("before", "after matching", ...) to one
    SMD per label (NaN: not shown). The dashed line at ``threshold`` is the
    10% rule: a difference beyond it is an imbalance.

    Examples
    --------
    >>> png, alt = love_plot(["dv", "sex = Female"], {"before": [0.3, -0.05], "after matching": [0.02, 0.01]})
    >>> png[:4] == b"\\x89PNG", alt
    (True, 'Love plot of 2 characteristics: 1 beyond the 10% line before; none after matching.')
    """
    labels = [str(x) for x in labels]
    fig = _figure(len(labels), per_row=0.3)
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    markers = ("o", "s", "D", "^")
    words: list[str] = []
    for k, (name, values) in enumerate(samples.items()):
        v = np.abs(np.asarray(values, dtype=float))
        ok = np.isfinite(v)
        ax.scatter(v[ok], y[ok], color=COLOURS[k % len(COLOURS)], marker=markers[k % len(markers)], label=chart_text(name), zorder=3)
        beyond = int((v[ok] > threshold).sum())
        words.append(f"{beyond if beyond else 'none'}{' beyond the 10% line' if not words else ''} {name}")
    ax.axvline(threshold, color="0.3", linestyle="--", linewidth=1)
    ax.set_yticks(y, [_wrap(l) for l in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel("Absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(samples), frameon=False)  # above the axes: never on a point
    _style(ax)
    png = to_png(fig)
    alt = f"Love plot of {len(labels)} characteristics: " + "; ".join(words) + "."
    return png, alt


def score_histogram(edges: Floats, groups: Mapping[str, Floats], *, xlabel: str = "Propensity score") -> tuple[bytes, str]:
    """The distribution of a score in each group: the share of each group in each bin, groups side by side.

    ``groups`` maps a group's name to its share of people per bin (NaN or 0:
    not drawn, e.g. a bin suppressed for disclosure control); ``edges`` are
    the bins' edges (one more than the shares).

    Examples
    --------
    >>> png, alt = score_histogram([0, 0.5, 1], {"participants": [0.2, 0.8], "comparison": [0.7, 0.3]})
    >>> png[:4] == b"\\x89PNG", alt
    (True, 'Histogram of the score in 2 groups over 2 bins from 0 to 1: participants mostly 0.5 to 1; comparison mostly 0 to 0.5.')
    """
    edges = np.asarray(edges, dtype=float)
    fig = _figure(0, min_height=3.2)
    ax = fig.add_subplot()
    width = np.diff(edges)
    k = len(groups)
    words: list[str] = []
    for j, (name, shares) in enumerate(groups.items()):
        s = np.nan_to_num(np.asarray(shares, dtype=float), nan=0.0)
        ax.bar(edges[:-1] + width * j / k, 100 * s, width=width / k, align="edge", color=COLOURS[j % len(COLOURS)],
               label=chart_text(name))
        top = int(np.argmax(s))
        words.append(f"{name} mostly {edges[top]:g} to {edges[top + 1]:g}")
    ax.set_xlabel(chart_text(xlabel))
    ax.set_ylabel("Share of the group (%)")
    ax.legend(loc="upper right", frameon=False)
    ax.grid(axis="y", color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    png = to_png(fig)
    alt = (f"Histogram of the score in {k} groups over {len(width)} bins from {edges[0]:g} to {edges[-1]:g}: "
           + "; ".join(words) + ".")
    return png, alt
