"""Benchmark: the risk-flags pipeline against statsmodels' individual-level formula Logit.

For 21,500, 450,000 and 5,000,000 synthetic rows (rows resampled, seeded,
from ``data/synthetic/cohort.parquet`` and written as Parquet with the full
cohort schema), it measures, each in a fresh subprocess so that wall time and
peak memory are isolated:

* ``read``     - one read of the needed columns (pyarrow, dictionary-encoded
  categoricals, into pandas);
* ``pipeline`` - read + the adjusted six-flag model (exact grouped fit on
  covariate-pattern cells) + case-mix expected probabilities (fitted on the
  baseline period, applied to every row) + attributable fractions (single,
  joint and Shapley, with intervals);
* ``logit``    - read + ``statsmodels.formula.api.logit`` on the individual
  rows with the same terms (run once per size; slow at 5M).

Wall time is of the timed work inside the subprocess (after the interpreter
has started and the libraries are imported; that start-up cost is reported
separately as ``imports``). Peak memory is the subprocess's maximum resident
set size: a lean launcher process (standard library only) runs one worker
child and reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, so each
figure is that one child's peak, imports included. Coefficients of ``pipeline`` and ``logit`` are compared.

Usage::

    .venv/bin/python bench/bench_models.py                       # all sizes
    .venv/bin/python bench/bench_models.py --sizes 21500 450000  # a subset
    .venv/bin/python bench/bench_models.py --no-logit-above 450000

Not a test: it prints a table (and ``--json`` writes the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "data" / "synthetic" / "cohort.parquet"
BASELINE = "2014-10/2015-09"
FLAGS = ["dv", "child_protection", "mental_health", "substance_misuse", "homeless", "unemployed"]
CATEGORICAL = ["period", "area", "sex", "age_band", "offence_group"]
COLUMNS = [*CATEGORICAL, *FLAGS, "reoffended"]
ADJUST = ["area", "sex", "age_band", "offence_group", "period"]


# --------------------------------------------------------------------------- data


def make_data(n: int, path: Path, seed: int = 20180410) -> None:
    """Write ``n`` synthetic rows to ``path`` (Parquet, the full cohort schema).

    Rows are resampled (seeded) from the embedded synthetic cohort, and their
    outcome is drawn afresh from a flags model fitted to it (with the DV x area
    interaction), so that a large file has fresh binomial noise rather than
    copies of the same 16,000 people.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import analysis

    source = analysis.load_cohort(SOURCE)
    truth = analysis.fit_flags_model(source, flags=FLAGS, adjust=ADJUST, interactions=[("dv", "area")])
    table = pq.read_table(SOURCE)
    rng = np.random.default_rng(seed + n)
    rows = rng.integers(0, table.num_rows, n)
    p = truth.predict().to_numpy()[rows]
    y = (rng.random(n) < p).astype(np.int8)
    table = table.take(pa.array(rows))
    table = table.set_column(table.schema.get_field_index("reoffended"), "reoffended", pa.array(y))
    pq.write_table(table, path)


def read(path: str | Path):
    """Read the model's columns into pandas, one row group at a time.

    Categorical columns are read dictionary-encoded and land directly as
    ``int8`` category codes in preallocated arrays (levels in the schema's
    order), 0/1 columns as ``int8``; so peak memory is the final frame plus
    one row group, not the whole Arrow table plus its pandas copy.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from analysis.schema import AGE_BANDS, OFFENCE_GROUPS, SEXES

    pa.set_memory_pool(pa.system_memory_pool())  # give freed buffers back to the OS
    source = pq.ParquetFile(path, read_dictionary=CATEGORICAL)
    n = source.metadata.num_rows
    out = {c: np.empty(n, dtype=np.int8) for c in COLUMNS}
    levels: dict[str, dict[str, int]] = {c: {} for c in CATEGORICAL}
    start = 0
    for i in range(source.num_row_groups):
        table = source.read_row_group(i, columns=COLUMNS)
        m = table.num_rows
        for c in CATEGORICAL:
            column = table.column(c)
            for chunk in column.chunks:
                if not pa.types.is_dictionary(chunk.type):
                    chunk = chunk.dictionary_encode()
                seen = levels[c]
                lookup = np.array([seen.setdefault(v, len(seen)) for v in chunk.dictionary.to_pylist()] + [-1], dtype=np.int8)
                idx = pc.fill_null(chunk.indices, len(lookup) - 1).to_numpy()
                out[c][start:start + len(chunk)] = lookup[idx]
                start_chunk = len(chunk)
                start += start_chunk
            start -= m
        for c in COLUMNS:
            if c not in levels:
                out[c][start:start + m] = table.column(c).to_numpy()
        start += m
        del table
        pa.default_memory_pool().release_unused()
    order = {"sex": SEXES, "age_band": AGE_BANDS, "offence_group": OFFENCE_GROUPS}
    frame = {}
    for c in COLUMNS:
        if c in levels:
            cats = list(levels[c])
            wanted = [v for v in order[c] if v in cats] if c in order else sorted(cats)
            wanted += [v for v in cats if v not in wanted]
            remap = np.array([wanted.index(v) for v in cats] + [-1], dtype=np.int8)
            codes = remap[out[c]] if remap[:-1].tolist() != list(range(len(cats))) else out[c]
            frame[c] = pd.Categorical.from_codes(codes, categories=wanted)
        else:
            frame[c] = out[c]
    return pd.DataFrame(frame, copy=False)


# --------------------------------------------------------------------------- the measured tasks


def _import_pipeline() -> None:
    import statsmodels.genmod.generalized_linear_model  # noqa: F401  (what the grouped fit uses)

    import analysis  # noqa: F401


def task_imports(path: str) -> dict:
    import pyarrow.parquet  # noqa: F401

    _import_pipeline()
    return {}


def task_read(path: str) -> dict:
    import pyarrow.parquet  # noqa: F401

    import analysis.schema  # noqa: F401

    t0 = time.perf_counter()
    df = read(path)
    return {"seconds": time.perf_counter() - t0, "rows": len(df)}


def task_pipeline(path: str) -> dict:
    _import_pipeline()
    import analysis

    t0 = time.perf_counter()
    df = read(path)
    t1 = time.perf_counter()
    fit = analysis.fit_flags_model(df, flags=FLAGS, adjust=ADJUST)
    t2 = time.perf_counter()
    expected = analysis.expected_probabilities(df[df["period"] == BASELINE], df)
    t3 = time.perf_counter()
    paf = analysis.attributable_fractions(fit)
    t4 = time.perf_counter()
    ame = fit.marginal_effects
    t5 = time.perf_counter()
    return {
        "seconds": t5 - t0,
        "steps": {"read": t1 - t0, "fit": t2 - t1, "expected": t3 - t2, "paf": t4 - t3, "marginal_effects": t5 - t4},
        "rows": len(df),
        "cells": fit.n_units,
        "params": {k: float(v) for k, v in fit.params.items()},
        "bse": {k: float(v) for k, v in zip(fit.params.index, fit.coefficients["se"])},
        "expected_mean": float(expected.mean()),
        "joint_paf": float(paf.loc[paf["kind"] == "joint", "paf"].iloc[0]),
        "ame_dv_pp": 100 * float(ame.loc[ame["term"] == "dv", "ame"].iloc[0]),
    }


def _formula_name(name: str) -> str:
    """Map 'area[Sandwell]' to patsy's 'C(area)[T.Sandwell]'."""
    if name == "Intercept" or "[" not in name:
        return name
    var, level = name[:-1].split("[", 1)
    return f"C({var})[T.{level}]"


def task_logit(path: str) -> dict:
    import statsmodels.formula.api as smf

    import analysis.schema  # noqa: F401

    t0 = time.perf_counter()
    df = read(path)
    formula = "reoffended ~ " + " + ".join(FLAGS + [f"C({a})" for a in ADJUST])
    res = smf.logit(formula, data=df).fit(disp=0, method="newton", tol=1e-10, maxiter=50)
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "rows": len(df), "params": {k: float(v) for k, v in res.params.items()},
            "bse": {k: float(v) for k, v in res.bse.items()}}


TASKS = {"imports": task_imports, "read": task_read, "pipeline": task_pipeline, "logit": task_logit}


# --------------------------------------------------------------------------- the harness


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))


def launch(task: str, path: str) -> None:
    """(In a lean launcher process.) Run one worker child, then report its peak RSS from RUSAGE_CHILDREN."""
    proc = subprocess.run([sys.executable, __file__, "--worker", task, path], capture_output=True, text=True, env=_env())
    if proc.returncode != 0:
        raise SystemExit(f"{task} failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(out))


def measure(task: str, path: Path) -> dict:
    """Run one task in a fresh launcher + worker pair, so each peak-memory figure is isolated."""
    proc = subprocess.run([sys.executable, __file__, "--measure", task, str(path)], capture_output=True, text=True, env=_env())
    if proc.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{proc.stderr}{proc.stdout}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[21_500, 450_000, 5_000_000])
    parser.add_argument("--no-logit-above", type=int, default=None, help="skip the individual Logit above this size")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "analysis_bench")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        task, path = args.worker
        print(json.dumps(TASKS[task](path)))
        return
    if args.measure:
        launch(*args.measure)
        return
    if args.make:
        make_data(int(args.make[0]), Path(args.make[1]))
        return

    args.data_dir.mkdir(parents=True, exist_ok=True)
    results = []
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    for n in args.sizes:
        path = args.data_dir / f"cohort_{n}.parquet"
        if not path.exists():  # made in a subprocess, so this process stays small
            subprocess.run([sys.executable, __file__, "--make", str(n), str(path)], check=True, env=_env())
        base = measure("imports", path)
        rows = {"imports": base, "read": measure("read", path), "pipeline": measure("pipeline", path)}
        if args.no_logit_above is None or n <= args.no_logit_above:
            rows["logit"] = measure("logit", path)
        for name, r in rows.items():
            extra = ""
            if name == "pipeline":
                extra = f"  cells={r['cells']:,}  steps: " + ", ".join(f"{k} {v:.3f}s" for k, v in r["steps"].items())
            secs = f"{r['seconds']:8.3f}s" if "seconds" in r else "     n/a "
            print(f"{n:>10,} rows  {name:<9} wall {secs}  peak {r['peak_mib']:7.1f} MiB{extra}")
        if "logit" in rows:
            ours, ref = rows["pipeline"], rows["logit"]
            diffs = [abs(v - ref["params"][_formula_name(k)]) for k, v in ours["params"].items()]
            bdiffs = [abs(v - ref["bse"][_formula_name(k)]) for k, v in ours["bse"].items()]
            print(f"{n:>10,} rows  coefficients: max |difference| {max(diffs):.2e}, standard errors {max(bdiffs):.2e} "
                  f"({len(diffs)} coefficients)")
            rows["max_abs_coef_diff"] = max(diffs)
            rows["max_abs_se_diff"] = max(bdiffs)
        for r in rows.values():
            if isinstance(r, dict):
                r.pop("params", None)
                r.pop("bse", None)
        results.append({"rows": n, **rows})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
