"""Benchmark of analysis.load_cohort (read + map + full validation) against a bare pyarrow read.

For each size and format it times, each in a fresh process, a bare pyarrow read of the
file (``pyarrow.parquet.read_table``; ``pyarrow.csv.read_csv`` with its defaults, which is
multi-threaded and infers the column types) and ``analysis.load_cohort`` of the same file,
and prints a table of the times, their ratio against the issue's target and the peak memory
of the load against its target. Ratios, not times, are the targets: the machine is shared
and noisy, and a ratio measured in one run cancels most of that noise.

Targets (issue 10, "National scale"), at 5,000,000 rows:

* Parquet: load_cohort at most 5x the bare read, and at most 1 GiB peak memory;
* CSV: load_cohort at most 3x the bare (multi-threaded) read.

The input is the synthetic cohort resampled with replacement (person_id and reoffences dropped,
since a resample repeats people), written once to ``$TMPDIR/analysis_bench/load_<rows>.<fmt>``
(CSV as pandas writes it) and reused. Wall time is the timed work inside the worker, after the
imports; peak memory is the worker's maximum resident set size, interpreter and imports
included. Each figure is the best of ``--repeat`` runs (the bare read and the load alternate).
Run from the repository root:

    .venv/bin/python bench/bench_load.py                      # 5,000,000 rows, Parquet and CSV
    .venv/bin/python bench/bench_load.py --sizes 450000 5000000 --repeat 3
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

TARGETS = {"parquet": {"ratio": 5.0, "peak_mib": 1024.0}, "csv": {"ratio": 3.0, "peak_mib": None}}
"""The issue's targets: load_cohort / bare pyarrow read, and peak memory of load_cohort (MiB)."""

WORKERS = {
    "arrow-parquet": """
import json, resource, sys, time
import pyarrow.parquet as pq
start = time.perf_counter()
table = pq.read_table(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"rows": table.num_rows, "seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""",
    "arrow-csv": """
import json, resource, sys, time
import pyarrow.csv as pacsv
start = time.perf_counter()
table = pacsv.read_csv(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"rows": table.num_rows, "seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""",
    "load": """
import json, resource, sys, time
import analysis
start = time.perf_counter()
cohort = analysis.load_cohort(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"rows": len(cohort), "seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""",
}


def make_input(rows: int, fmt: str, folder: Path = CACHE) -> Path:
    """The benchmark's file of ``rows`` rows (written once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"load_{rows}.{fmt}"
    if path.exists():
        return path
    import numpy as np
    import pandas as pd

    base = pd.read_parquet(SOURCE).drop(columns=["person_id", "reoffences"])
    sample = base.iloc[np.random.default_rng(rows).integers(0, len(base), rows)].reset_index(drop=True)
    partial = path.with_suffix(path.suffix + ".partial")
    if fmt == "parquet":
        sample.to_parquet(partial, index=False)
    else:
        sample.to_csv(partial, index=False)
    partial.rename(path)
    return path


def run(worker: str, path: Path) -> dict:
    """One fresh process: its timed work (seconds) and its peak memory (MiB)."""
    out = subprocess.run([sys.executable, "-c", WORKERS[worker], str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rows: int, fmt: str, repeat: int) -> dict:
    path = make_input(rows, fmt)
    bare, load = [], []
    for _ in range(repeat):
        bare.append(run(f"arrow-{fmt}", path))
        load.append(run("load", path))
    assert all(r["rows"] == rows for r in bare + load)
    return {
        "rows": rows,
        "format": fmt,
        "arrow_seconds": min(r["seconds"] for r in bare),
        "load_seconds": min(r["seconds"] for r in load),
        "arrow_peak_mib": max(r["peak_mib"] for r in bare),
        "load_peak_mib": max(r["peak_mib"] for r in load),
        "ratio": min(r["seconds"] for r in load) / min(r["seconds"] for r in bare),
        "runs": {"arrow": [r["seconds"] for r in bare], "load": [r["seconds"] for r in load]},
    }


def table(results: list[dict]) -> str:
    lines = [
        "| rows | format | pyarrow read | load_cohort | ratio (target) | peak memory of load_cohort (target) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        target = TARGETS[r["format"]]
        ratio_ok = "met" if r["ratio"] <= target["ratio"] else "NOT met"
        ratio = f"{r['ratio']:.2f}x (<= {target['ratio']:g}x: {ratio_ok})"
        if target["peak_mib"] is None:
            peak = f"{r['load_peak_mib']:,.0f} MiB (no target)"
        else:
            peak_ok = "met" if r["load_peak_mib"] <= target["peak_mib"] else "NOT met"
            peak = f"{r['load_peak_mib']:,.0f} MiB (<= {target['peak_mib']:,.0f} MiB: {peak_ok})"
        lines.append(f"| {r['rows']:,} | {r['format']} | {r['arrow_seconds']:.2f} s | {r['load_seconds']:.2f} s | {ratio} | {peak} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best time is kept")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = []
    for rows in args.sizes:
        for fmt in args.formats:
            r = measure(rows, fmt, args.repeat)
            results.append(r)
            print(f"{rows:>10,} rows  {fmt:<7}  pyarrow {r['arrow_seconds']:6.2f}s  load_cohort {r['load_seconds']:6.2f}s  "
                  f"ratio {r['ratio']:5.2f}  peak {r['load_peak_mib']:7.1f} MiB", flush=True)
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
