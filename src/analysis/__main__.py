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


def _canonical_extract(cohort: str, mapping: str | None, reference: str | None, workdir: Path) -> Path:
    """Validate (and map) the extract, plus an optional reference-period extract, into one canonical Parquet file."""
    import pandas as pd

    frames = [load_cohort(cohort, mapping)]
    if reference:
        frames.append(load_cohort(reference, mapping))
    combined = pd.concat([f.astype({c: "object" for c in f.select_dtypes("category").columns}) for f in frames], ignore_index=True)
    target = workdir / "cohort.parquet"
    combined.to_parquet(target, index=False)
    return target


def _report(args: argparse.Namespace) -> int:
    from .build import build_reports, discover_notebooks

    with tempfile.TemporaryDirectory(prefix="analysis-") as tmp:
        extract = _canonical_extract(args.cohort, args.mapping, args.reference, Path(tmp))
        written = build_reports(discover_notebooks(), args.out, {"cohort_path": str(extract)}, progress=not args.quiet)
    for path in written:
        print(path)
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
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    report = sub.add_parser("report", help="validate the extract, run every notebook on it, write HTML without code")
    common(report)
    report.add_argument("--out", default=str(REPORTS_DIR), help="folder for the HTML reports (default: reports/)")
    report.set_defaults(run=_report)
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
