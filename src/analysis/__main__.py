"""Command line: ``python -m analysis report|tables ...``.

``report`` validates an extract with its study file once, then executes the
study's papers on the canonical cohort and writes them as HTML without code
(and PDF with ``--pdf``). ``tables`` writes the headline tables as CSV, from
the same published tables the papers show. Bad input (an extract, a study
file, a period) prints the reason, exits with status 2 and writes nothing;
no traceback reaches the analyst.

Examples
--------
::

    python -m analysis report --study examples/rearrest/study.toml --out reports/rearrest
    python -m analysis report --cohort data/private/extract.csv --study my_study.toml --out reports/
    python -m analysis tables --study examples/rearrest/study.toml --out tables/
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import CohortError, Problem
from .paths import REPORTS_DIR

EXIT_BAD_INPUT = 2

ROW_PAPERS = ("07",)
"""Papers that take people one by one (matching): given the rows when the extract was read in memory (out of core, the
people rebuilt from the cells, in the order of their values)."""


def _study_data(args: argparse.Namespace):
    """The validated study, with a reference-period extract appended when one is given."""
    import pandas as pd

    from .cohort import StudyData, open_study

    study = args.study or args.mapping
    if _out_of_core(args):
        from .outofcore import open_study_cells

        return open_study_cells(study if study is not None or args.cohort is not None else _default_study(), args.cohort)
    data = open_study(study, args.cohort)
    if args.reference:
        ref = open_study(data.study, args.reference)
        ref_periods = ref.periods
        if len(ref_periods) != 1 or ref_periods[0] in data.periods:
            raise CohortError(args.reference, [Problem("period", f"the reference extract must hold one period that is not in the main extract (it has {', '.join(ref_periods)})",
                                                       fix="give the reference (baseline) period's extract, with its own period label")])
        frames = [ref.cohort, data.cohort]
        combined = pd.concat([f.astype({c: "object" for c in f.select_dtypes("category").columns}) for f in frames], ignore_index=True)
        for col in data.cohort.select_dtypes("category").columns:
            from .schema import ordered_levels

            combined[col] = pd.Categorical(combined[col], categories=ordered_levels(col, combined[col].dropna().unique()))
        combined.attrs.update(data.cohort.attrs)
        data = StudyData(data.study, combined, data.quality)
    return data


def _default_study() -> Path:
    from .paths import DEFAULT_STUDY

    return Path(DEFAULT_STUDY)


def _out_of_core(args: argparse.Namespace) -> bool:
    """Whether ``report`` reads the extract out of core: asked for, or (``auto``) too large for this machine's memory."""
    choice = getattr(args, "out_of_core", "never")
    if choice == "never" or args.reference:
        return False
    if choice == "always":
        return True
    from .outofcore import fits_in_memory
    from .study import read_study

    path = args.cohort
    if path is None:
        study = args.study or args.mapping
        spec = read_study(study if study is not None else _default_study())
        path = spec.resolve_extract()
    if path is None:
        return False
    import glob

    present = Path(path).exists() or any(c in str(path) for c in "*?[") and bool(glob.glob(str(path)))
    return present and not fits_in_memory(path)


def _analysed(data, period: str | None, reference: str | None):
    """The study's results for the period asked for; a period not in the data is bad input."""
    from .results import analyse

    try:
        return analyse(data, period=period, reference_period=reference)
    except ValueError as exc:
        raise CohortError(data.quality.source, [Problem("period", str(exc), fix="pass one of the periods in the data to --period / --reference-period")]) from None


def _checked_periods(data, period: str | None, reference: str | None) -> tuple[str, str | None]:
    results = _analysed(data, period, reference)
    return results.period, results.reference_period


def _threshold(args: argparse.Namespace) -> int:
    from .disclosure import resolve_threshold

    return resolve_threshold(threshold=args.threshold, preset=args.preset)


def _report(args: argparse.Namespace) -> int:
    from .build import BuildError, build_reports, papers_for
    from .cells import study_cells

    threshold = _threshold(args)
    data = _study_data(args)
    results = _analysed(data, args.period, args.reference_period)
    notebooks = papers_for(data.study)
    rows_papers = [p for p in notebooks if p.name[:2] in ROW_PAPERS] if data.trials is None else []
    if data.trials is not None:
        print(f"The extract ({data.quality.rows_read:,} rows) was read out of core: DuckDB counted its people in "
              f"{len(data.cohort):,} cells, and the papers are computed from them.", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="analysis-") as tmp:
        folder = Path(tmp)
        try:
            # every result once, from the people counted in cells: the same numbers as from the rows (docs/methods.md),
            # in a fraction of the time at scale, and small enough for every paper's kernel to load
            cells = study_cells(data)
            from_cells = _analysed(cells, results.period, results.reference_period).compute()
            rows = results.adopt(from_cells) if rows_papers else None
        except (ArithmeticError, LookupError, ValueError, TypeError) as exc:
            raise BuildError(f"the study's results could not be computed ({type(exc).__name__}: {exc})") from None
        parameters = {"study_path": str(cells.save(folder / "cells")), "cohort_path": None, "period": results.period,
                      "reference_period": results.reference_period, "disclosure_threshold": threshold,
                      "disclosure_rounding": args.round_to, "results_path": str(from_cells.save(folder / "cells" / "results.pickle"))}
        by_rows: dict[str, dict[str, Any]] = {}
        if rows is not None:  # paper 07 reads the people themselves (matching, one by one)
            on_rows = {"study_path": str(data.save(folder / "rows")), "results_path": str(rows.save(folder / "rows" / "results.pickle"))}
            by_rows = {p.stem: on_rows for p in rows_papers}
        written = build_reports(notebooks=notebooks, out_dir=args.out, parameters=parameters, notebook_parameters=by_rows,
                                progress=not args.quiet, pdf=args.pdf)
    for path in written:
        print(path)
    return 0


def _tables(args: argparse.Namespace) -> int:
    from .headline import headline_tables

    threshold = _threshold(args)
    data = _study_data(args)
    period, reference = _checked_periods(data, args.period, args.reference_period)
    results = headline_tables(data, period=period, reference_period=reference, threshold=threshold, rounding=args.round_to)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = dict(results.tables)
    frames["disclosure_log"] = results.log
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
        description="Risk flags and reoffending: evidence papers from a case-level extract and its study file.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--study", default=None, help="study file (TOML): the extract's columns and the paper's words (docs/study-file.md); default: the synthetic example")
        p.add_argument("--mapping", default=None, help="a mapping file (a study file with only [columns], [values], [derive], [options])")
        p.add_argument("--cohort", default=None, help="the extract: CSV, Excel or Parquet (default: the one the study file names)")
        p.add_argument("--reference", default=None, help="extract of the reference (baseline) period, if it is in a separate file")
        p.add_argument("--period", default=None, help="period to report (default: the latest in the data)")
        p.add_argument("--reference-period", default=None, help="baseline period (default: the one before the period reported)")
        p.add_argument("--threshold", type=int, default=10, help="disclosure control: suppress counts below this (default 10)")
        p.add_argument("--preset", default=None, choices=["strict", "nhs", "ons"],
                       help="disclosure threshold preset: strict 10, nhs 7, ons 5 (overrides --threshold)")
        p.add_argument("--round-to", type=int, default=None, metavar="BASE",
                       help="disclosure control: also round visible counts to this base, e.g. 5 (default: no rounding)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    report = sub.add_parser("report", help="validate the extract, run the study's papers on it, write HTML without code")
    common(report)
    report.add_argument("--out", default=str(REPORTS_DIR), help="folder for the papers (default: reports/)")
    report.add_argument("--pdf", action="store_true", help="also print each paper to A4 PDF with headless Chromium")
    report.add_argument("--out-of-core", choices=["auto", "always", "never"], default="auto",
                        help="read the extract with DuckDB and report from counts of people (cells): auto (default) when "
                             "the extract would not fit in this machine's memory, always, or never")
    report.set_defaults(run=_report)

    tables = sub.add_parser("tables", help="write the headline tables as CSV (rates by flag, odds ratios, O/E by area, PAF), disclosure-controlled")
    common(tables)
    tables.add_argument("--out", default="tables", help="folder for the CSV files (default: tables/)")
    tables.set_defaults(run=_tables)
    return parser


def main(*, argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status (0, or 2 for bad input, said in one message and nothing written).

    Examples
    --------
    >>> main(argv=["tables", "--out", "tables"])  # doctest: +SKIP
    tables/rates_by_flag.csv
    ...
    0
    """
    from .build import BuildError

    args = _parser().parse_args(argv)
    if args.study and args.mapping:
        print("Give --study or --mapping, not both (a mapping file is a study file).", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.run(args))
    except CohortError as err:
        print(str(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    except BuildError as err:
        print(f"The papers could not be built: {err}. Nothing was written to {args.out}. This is a fault in the toolkit, "
              "not in your extract: please report it with the command you ran.", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
