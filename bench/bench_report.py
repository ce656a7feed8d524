"""Benchmark of ``python -m analysis report`` against its floor, and on a large extract, in one run.

Three measurements, each in a fresh process, one after another in the same run
(this machine is shared and noisy, so the targets are ratios of figures taken
together, never absolute times):

``floor``
    The same number of papers as the default report, each a minimal notebook
    that only imports the package and its paper layer, executed by the same
    machinery (papermill, as many at once as there are cores). Nothing a
    report does can be faster than this.
``default``
    ``python -m analysis report`` on the default study (the synthetic cohort).
``large``
    ``python -m analysis report --cohort <N rows>`` on the synthetic cohort
    resampled to N rows (default 5,000,000; ``--large 0`` skips it).

Targets (issue 10): ``default`` at most 1.3 x ``floor``; ``large`` at most
1.5 x ``default``; every process (kernels included) under 1.5 GiB peak.
Peak memory is the largest resident set of the command and all its
descendants (``RUSAGE_CHILDREN``), so it is the biggest kernel or the
command itself, whichever is larger.

Run from the repository root::

    .venv/bin/python bench/bench_report.py              # floor, default, 5,000,000 rows
    .venv/bin/python bench/bench_report.py --large 0    # floor and default only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR_CELL = "import analysis\nfrom analysis.paper import CohortPaper, RiskFlagsPaper, ObservedExpectedPaper, SummaryPaper\nanalysis.setup()\n"

LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "status": done.returncode, "stderr": done.stderr[-2000:]}))
"""
"""Runs one command and reports its wall time and the peak memory of it and its descendants (standard library only)."""


def run(command: list[str]) -> dict:
    """Wall time and peak memory of one command, measured by a lean launcher process."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result['stderr']}")
    return result


def floor_notebooks(folder: Path, count: int) -> list[Path]:
    """``count`` minimal notebooks that import the package, as the papers' first cell does."""
    import nbformat

    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(FLOOR_CELL)]
        path = folder / f"{i + 1:02d}_floor.ipynb"
        nbformat.write(nb, str(path))
        paths.append(path)
    return paths


FLOOR_RUNNER = """
import sys
from pathlib import Path
from analysis.build import build_reports
build_reports(notebooks=[Path(p) for p in sys.argv[2:]], out_dir=sys.argv[1], parameters={}, progress=False)
"""


def large_extract(rows: int, folder: Path) -> Path:
    """The default synthetic cohort resampled (seeded) to ``rows`` rows, as Parquet."""
    import numpy as np
    import pandas as pd

    from analysis.paths import SYNTHETIC_DIR

    base = pd.read_parquet(SYNTHETIC_DIR / "cohort.parquet")
    sample = base.iloc[np.random.default_rng(rows).integers(0, len(base), rows)].reset_index(drop=True)
    sample["person_id"] = np.arange(1, rows + 1)
    path = folder / f"cohort_{rows}.parquet"
    sample.to_parquet(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=5_000_000, help="rows of the large extract (0: skip)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from analysis.build import papers_for
    from analysis.paths import DEFAULT_STUDY
    from analysis.study import read_study

    papers = len(papers_for(read_study(DEFAULT_STUDY)))  # the default study's papers (07 and 06 need its sections)
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        notebooks = floor_notebooks(folder, papers)
        rows.append(("floor", run([sys.executable, "-c", FLOOR_RUNNER, str(folder / "floor-out"), *map(str, notebooks)])))
        rows.append(("default", run([sys.executable, "-m", "analysis", "report", "--out", str(folder / "default"), "--quiet"])))
        if args.large:
            extract = large_extract(args.large, folder)
            rows.append((f"large ({args.large:,} rows)",
                         run([sys.executable, "-m", "analysis", "report", "--cohort", str(extract), "--out", str(folder / "large"), "--quiet"])))
    figures = dict(rows)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {papers} papers; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'run':<26}{'wall (s)':>10}{'peak (MiB)':>12}")
    for name, r in rows:
        print(f"{name:<26}{r['seconds']:>10.1f}{r['peak_mib']:>12.0f}")
    ratio = figures["default"]["seconds"] / figures["floor"]["seconds"]
    print(f"default / floor = {ratio:.2f} (target at most 1.3: {'met' if ratio <= 1.3 else 'not met'})")
    if args.large:
        large = rows[-1][1]
        ratio = large["seconds"] / figures["default"]["seconds"]
        print(f"large / default = {ratio:.2f} (target at most 1.5: {'met' if ratio <= 1.5 else 'not met'})")
        print(f"large peak = {large['peak_mib'] / 1024:.2f} GiB (target under 1.5 GiB per process: "
              f"{'met' if large['peak_mib'] < 1536 else 'not met'})")


if __name__ == "__main__":
    main()
