"""Benchmark of the out-of-core path: 50,000,000 rows end to end against 5,000,000, within 2 GiB.

End to end is what an analyst with a national extract needs before any paper:
``analysis.cohort_cells`` (DuckDB reads the Parquet file under a 1 GB memory limit,
validates the outcome, flags, categories and expected probabilities, and aggregates
to covariate-pattern cells), then from the cells alone the adjusted flags model
(``fit_flags_model(cells, trials="n")``), the case-mix expected rates of the latest
period from a model fitted on the first (``expected_probabilities(..., trials="n")``)
with O/E by area (``observed_vs_expected(..., trials="n")``), and the attributable
fractions (``attributable_fractions``).

Target (issue 10, deliverable 4): 50M rows in at most 12x the 5M-row time, with peak
memory at most 2 GiB. Each size runs in a fresh process; the figure is the timed work
after the imports, and the peak is the worker's maximum resident set size (interpreter,
libraries and DuckDB's own memory included). The ratio of two times measured in one
run is the target, since the machine is shared and noisy.

The inputs are written once, out of core, to ``$TMPDIR/analysis_bench/outofcore_<rows>.parquet``
by DuckDB: row ``i`` is row ``hash(i) % 16,000`` of ``data/synthetic/cohort.parquet``
(person_id and reoffences dropped, as a resample repeats people), so no size is ever held
in memory and every run writes the same file. On a loaded 2-core machine writing 50M rows
takes most of an hour; ``--parts`` writes the 5M file only and reads 50M rows as a glob of
ten hard links to it (the same rows ten times: the scan, validation and aggregation are the
same work; the cells have ten times the people). Run from the repository root:

    .venv/bin/python bench/bench_outofcore.py                          # 5,000,000 and 50,000,000 rows
    .venv/bin/python bench/bench_outofcore.py --parts                  # 50M rows as 10 links to the 5M file
    .venv/bin/python bench/bench_outofcore.py --sizes 500000 5000000   # a quick look
    .venv/bin/python bench/bench_outofcore.py --parts --report         # and the whole report, out of core, at each size

``--report`` also runs ``python -m analysis report --cohort <file> --out-of-core always`` at each size
(the default study's seven papers from DuckDB's cells, paper 07 on the people rebuilt from them) and
prints its wall time and the peak of its largest process (the command or a paper's kernel), with
whether ``--out-of-core auto`` would have chosen that route on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "data" / "synthetic" / "cohort.parquet"
CACHE = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "analysis_bench"
TARGET_RATIO = 12.0
TARGET_PEAK_MIB = 2048.0
MEMORY_LIMIT = "1GB"

WORKER = """
import json, resource, sys, time
import duckdb  # imported before the clock starts, like the rest
import analysis
from analysis.outofcore import cohort_cells

path, memory_limit = sys.argv[1], sys.argv[2]
steps = {}
start = time.perf_counter()
cells = cohort_cells(path, memory_limit=memory_limit, threads=2)
steps["validate_and_cells"] = time.perf_counter() - start
t = time.perf_counter()
fit = analysis.fit_flags_model(cells, trials="n")
steps["adjusted_fit"] = time.perf_counter() - t
t = time.perf_counter()
periods = list(cells["period"].cat.categories)
base, now = cells[cells["period"] == periods[0]], cells[cells["period"] == periods[-1]]
expected = analysis.expected_probabilities(base, now, trials="n")
oe = analysis.observed_vs_expected(now, "area", expected=expected, trials="n", confidence=0.95)
steps["expected_and_oe"] = time.perf_counter() - t
t = time.perf_counter()
paf = analysis.attributable_fractions(fit)
steps["attributable_fractions"] = time.perf_counter() - t
seconds = time.perf_counter() - start
print(json.dumps({"rows": int(cells["n"].sum()), "cells": len(cells), "seconds": seconds, "steps": steps,
                  "coefficients": int(fit.params.shape[0]), "areas": len(oe), "paf_joint": float(paf.loc[paf["kind"] == "joint", "paf"].iloc[0]),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_input(rows: int, folder: Path = CACHE) -> Path:
    """The benchmark's Parquet file of ``rows`` rows, written out of core by DuckDB once, then reused."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"outofcore_{rows}.parquet"
    if path.exists():
        import pyarrow.parquet as pq

        wanted = [c for c in pq.read_schema(SOURCE).names if c not in ("person_id", "reoffences")]
        if pq.read_schema(path).names == wanted:
            return path
        path.unlink()  # written from an older synthetic cohort (other columns): written again
        for part in (folder / f"outofcore_{rows * 10}").glob("*.parquet"):
            part.unlink()  # its hard links too
    import duckdb

    partial = path.with_suffix(".parquet.partial")
    spill = folder / "duckdb_tmp"
    con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT, "threads": 2, "temp_directory": str(spill)})
    con.execute("SET enable_progress_bar = false")
    try:
        source = str(SOURCE).replace("'", "''")
        con.execute(f"CREATE TABLE base AS SELECT row_number() OVER () - 1 AS idx, * EXCLUDE (person_id, reoffences) "
                    f"FROM read_parquet('{source}')")
        size = con.execute("SELECT count(*) FROM base").fetchone()[0]
        con.execute(f"COPY (SELECT base.* EXCLUDE (idx) FROM range({int(rows)}) AS r(i) JOIN base ON base.idx = hash(r.i) % {size}) "
                    f"TO '{str(partial).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    finally:
        con.close()
    partial.rename(path)
    return path


def make_parts(rows: int, base: Path) -> str:
    """``rows`` rows as a glob of hard links to ``base`` (the whole base file, ``rows / base rows`` times)."""
    import pyarrow.parquet as pq

    per = pq.ParquetFile(base).metadata.num_rows
    if rows % per:
        raise SystemExit(f"{rows:,} rows is not a whole number of copies of {base.name} ({per:,} rows)")
    folder = base.parent / f"outofcore_{rows}"
    folder.mkdir(exist_ok=True)
    for k in range(rows // per):
        part = folder / f"part-{k:03d}.parquet"
        if not part.exists():
            os.link(base, part)
    return str(folder / "*.parquet")


REPORT_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 0) / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "status": done.returncode, "stderr": done.stderr[-2000:]}))
"""


def run_report(path: Path | str) -> dict:
    """``python -m analysis report`` out of core on ``path``: wall time and the peak of its largest process (MiB)."""
    with tempfile.TemporaryDirectory(prefix="bench-ooc-report-") as out:
        command = [sys.executable, "-m", "analysis", "report", "--study", str(REPO / "data" / "synthetic" / "study.toml"),
                   "--cohort", str(path), "--out-of-core", "always", "--out", out, "--quiet"]
        done = subprocess.run([sys.executable, "-c", REPORT_LAUNCHER, *command], capture_output=True, text=True, check=True, cwd=REPO)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["papers"] = len(list(Path(out).glob("*.html")))
    if result["status"] != 0:
        raise SystemExit(f"the report failed on {path}:\n{result['stderr']}")
    return result


def run(path: Path | str) -> dict:
    """One fresh process: its timed work and its peak memory (MiB)."""
    out = subprocess.run([sys.executable, "-c", WORKER, str(path), MEMORY_LIMIT], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[5_000_000, 50_000_000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--parts", action="store_true",
                        help="write only the smaller file and read the larger size as a glob of links to it (the same rows repeated), "
                             "when writing the larger file would take too long")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--report", action="store_true", help="also time the report command out of core at each size")
    args = parser.parse_args()
    results = []
    for rows in args.sizes:
        if args.parts and rows != args.sizes[0]:
            path = make_parts(rows, make_input(args.sizes[0]))
            size = sum(p.stat().st_size for p in Path(path).parent.glob("*.parquet"))
        else:
            path = make_input(rows)
            size = path.stat().st_size
        r = run(path)
        assert r["rows"] == rows, (r["rows"], rows)
        r["file_mib"] = size / 2**20
        results.append(r)
        steps = "  ".join(f"{k} {v:.2f}s" for k, v in r["steps"].items())
        print(f"{rows:>11,} rows  {r['cells']:>8,} cells  end to end {r['seconds']:7.2f}s  peak {r['peak_mib']:7.1f} MiB  ({steps})", flush=True)
        if args.report:
            sys.path.insert(0, str(REPO / "src"))
            from analysis.outofcore import fits_in_memory

            report = run_report(path)
            r["report"] = report
            print(f"{'':>11}  report out of core: {report['papers']} papers in {report['seconds']:.1f}s, largest process "
                  f"{report['peak_mib']:,.0f} MiB (target <= {TARGET_PEAK_MIB:,.0f}: "
                  f"{'met' if report['peak_mib'] <= TARGET_PEAK_MIB else 'NOT met'}); --out-of-core auto would "
                  f"{'not ' if fits_in_memory(path) else ''}choose it here", flush=True)
    small, large = results
    ratio = large["seconds"] / small["seconds"]
    print()
    print("| rows | Parquet file | cells | end to end | peak memory (target) |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        ok = "met" if r["peak_mib"] <= TARGET_PEAK_MIB else "NOT met"
        print(f"| {r['rows']:,} | {r['file_mib']:,.0f} MiB | {r['cells']:,} | {r['seconds']:.1f} s | {r['peak_mib']:,.0f} MiB (<= {TARGET_PEAK_MIB:,.0f}: {ok}) |")
    print()
    print(f"ratio {large['rows']:,} / {small['rows']:,} rows: {ratio:.2f}x (target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
