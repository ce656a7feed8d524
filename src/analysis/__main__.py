"""Command line: ``python -m analysis report|tables ...``.

``report`` validates an extract, then executes every notebook against it and
writes HTML without code. ``tables`` writes the headline tables as CSV.
A bad extract prints the :class:`~analysis.cohort.CohortError`, exits with
status 2 and writes nothing.

Examples
--------
::

    python -m analysis report --cohort data/private/extract.csv --mapping examples/mapping.toml --out reports/
    python -m analysis tables --cohort data/private/extract.csv --out tables/
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from .cohort import CohortError, load_cohort
from .paths import DEFAULT_COHORT, REPORTS_DIR

EXIT_BAD_INPUT = 2


def _canonical_extract(
    cohort: str, mapping: str | None, reference: str | None, workdir: Path, period: str | None = None
) -> tuple[Path, str, str | None]:
    """Validate (and map) the extract, plus an optional reference-period extract, into one canonical Parquet file.

    Returns the file, the period to report (``period``, or the latest in the
    extract) and the reference period (the reference extract's period, or the
    period before the reported one in the extract, or ``None``).
    """
    import pandas as pd

    from .cohort import Problem
    from .headline import latest_period, previous_period

    main = load_cohort(cohort, mapping)
    periods = sorted(main["period"].astype(str).unique())
    period = period or latest_period(main)
    if period not in periods:
        raise CohortError(cohort, [Problem("period", f"the period {period!r} is not in the extract (it has {', '.join(periods)})",
                                           fix="pass one of those to --period")])
    frames = [main]
    reference_period = previous_period(main, period)
    if reference:
        ref = load_cohort(reference, mapping)
        ref_periods = sorted(ref["period"].astype(str).unique())
        if len(ref_periods) != 1 or ref_periods[0] == period:
            raise CohortError(reference, [Problem("period", f"the reference extract must hold one period other than {period!r} (it has {', '.join(ref_periods)})",
                                                  fix="give the reference (baseline) year's extract")])
        reference_period = ref_periods[0]
        frames.append(ref)
    combined = pd.concat([f.astype({c: "object" for c in f.select_dtypes("category").columns}) for f in frames], ignore_index=True)
    target = workdir / "cohort.parquet"
    combined.to_parquet(target, index=False)
    return target, period, reference_period


def _threshold(args: argparse.Namespace) -> int:
    from .disclosure import resolve_threshold

    return resolve_threshold(args.threshold, args.preset)


def _report(args: argparse.Namespace) -> int:
    from .build import build_reports, discover_notebooks

    threshold = _threshold(args)
    with tempfile.TemporaryDirectory(prefix="analysis-") as tmp:
        extract, period, reference_period = _canonical_extract(args.cohort, args.mapping, args.reference, Path(tmp), args.period)
        parameters = {"cohort_path": str(extract), "period": period, "reference_period": reference_period,
                      "disclosure_threshold": threshold, "disclosure_rounding": args.round_to}
        written = build_reports(discover_notebooks(), args.out, parameters, progress=not args.quiet)
    for path in written:
        print(path)
    return 0


def _tables(args: argparse.Namespace) -> int:
    from .headline import headline_tables

    threshold = _threshold(args)
    with tempfile.TemporaryDirectory(prefix="analysis-") as tmp:
        extract, period, reference_period = _canonical_extract(args.cohort, args.mapping, args.reference, Path(tmp), args.period)
        cohort = load_cohort(extract)
    results = headline_tables(cohort, period, reference_period=args.reference_period or reference_period, threshold=threshold,
                              rounding=args.round_to)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = dict(results.tables)
    frames["disclosure_log"] = results.log.to_frame()
    staged = []
    for name, frame in frames.items():  # write every file first, then move them all into place
        partial = out / f".{name}.csv.tmp"
        frame.to_csv(partial, index=False, lineterminator="\n")
        staged.append((partial, out / f"{name}.csv"))
    for partial, final in staged:
        partial.replace(final)
        print(final)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Risk flags and proven reoffending: evidence reports from a case-level extract.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--cohort", default=str(DEFAULT_COHORT), help="extract: CSV or Parquet, one row per person and period (default: the synthetic cohort)")
        p.add_argument("--mapping", default=None, help="TOML mapping file: rename, recode and derive columns (see examples/mapping.toml)")
        p.add_argument("--reference", default=None, help="extract of the reference (baseline) period, if in a separate file")
        p.add_argument("--period", default=None, help="cohort period to report (default: the latest in the data)")
        p.add_argument("--threshold", type=int, default=10, help="disclosure control: suppress counts below this (default 10)")
        p.add_argument("--preset", default=None, choices=["strict", "nhs", "ons"],
                       help="disclosure threshold preset: strict 10, nhs 7, ons 5 (overrides --threshold)")
        p.add_argument("--round-to", type=int, default=None, metavar="BASE",
                       help="disclosure control: also round visible counts to this base, e.g. 5 (default: no rounding)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    report = sub.add_parser("report", help="validate the extract, run every notebook on it, write HTML without code")
    common(report)
    report.add_argument("--out", default=str(REPORTS_DIR), help="folder for the HTML reports (default: reports/)")
    report.set_defaults(run=_report)

    tables = sub.add_parser("tables", help="write the headline tables as CSV (rates by flag, odds ratios, O/E by area, PAF), disclosure-controlled")
    common(tables)
    tables.add_argument("--reference-period", default=None, help="baseline period for a case-mix expected model when the extract has no 'expected' column")
    tables.add_argument("--out", default="tables", help="folder for the CSV files (default: tables/)")
    tables.set_defaults(run=_tables)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CohortError as err:
        print(str(err), file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
