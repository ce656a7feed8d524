"""Benchmark of analysis.load_cohort (read + map + full validation) at 450,000 and 5,000,000 rows.

Prints wall time and peak memory of one load, each in a fresh process. The input is the
synthetic cohort resampled with replacement (person_id and reoffences dropped, since a
resample repeats people). Run from the repository root:

    .venv/bin/python bench/bench_load.py [--sizes 450000 5000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = """
import json, sys, time
import analysis
start = time.perf_counter()
cohort = analysis.load_cohort(sys.argv[1])
print(json.dumps({"rows": len(cohort), "seconds": time.perf_counter() - start}))
"""


def make_input(rows: int, folder: Path, fmt: str) -> Path:
    import numpy as np
    import pandas as pd

    from analysis.paths import SYNTHETIC_DIR

    base = pd.read_parquet(SYNTHETIC_DIR / "cohort.parquet").drop(columns=["person_id", "reoffences"])
    sample = base.iloc[np.random.default_rng(rows).integers(0, len(base), rows)].reset_index(drop=True)
    path = folder / f"cohort_{rows}.{fmt}"
    if fmt == "parquet":
        sample.to_parquet(path, index=False)
    else:
        sample.to_csv(path, index=False)
    return path


def measure(path: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", WORKER, str(path)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_mib"] = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[450_000, 5_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.sizes:
            for fmt in args.formats:
                path = make_input(rows, Path(tmp), fmt)
                r = measure(path)
                print(f"{rows:>10,} rows  {fmt:<7}  load_cohort  wall {r['seconds']:6.2f}s  peak {r['peak_mib']:7.1f} MiB")


if __name__ == "__main__":
    main()
