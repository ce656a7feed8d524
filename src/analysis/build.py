"""Execute the notebooks and export them as HTML with the code hidden.

``python -m analysis.build`` (what ``make report`` runs) executes every
numbered notebook in ``notebooks/`` with papermill, injecting the cohort
path as a parameter, and writes ``reports/<notebook>.html`` without code
cells. All HTML is first written to a temporary folder and moved into place
only when every notebook has succeeded, so a failed run leaves the earlier
reports intact.

Examples
--------
>>> from analysis.build import discover_notebooks
>>> [p.name for p in discover_notebooks()][:1]  # doctest: +SKIP
['01_published_position.ipynb']
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

from .paths import REPO_ROOT, REPORTS_DIR

__all__ = ["discover_notebooks", "execute_notebook", "export_html", "build_reports", "refresh_notebook"]

NOTEBOOK_DIR: Path = REPO_ROOT / "notebooks"


def discover_notebooks(directory: str | Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in a folder, in order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def execute_notebook(source: Path, target: Path, parameters: dict[str, Any] | None = None, kernel_name: str = "python3") -> Path:
    """Run a notebook top to bottom with papermill; the executed copy is written to ``target``."""
    import papermill as pm

    pm.execute_notebook(
        str(source),
        str(target),
        parameters=parameters or {},
        kernel_name=kernel_name,
        cwd=str(source.parent),
        progress_bar=False,
        log_output=False,
        report_mode=False,
    )
    return target


def export_html(executed: Path, target: Path) -> Path:
    """Export an executed notebook to HTML with code cells and prompts hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")
    return target


def refresh_notebook(path: Path, timeout: int = 600) -> Path:
    """Execute a notebook top to bottom in place on the default data, for committing.

    Cell timing metadata is dropped so that a rerun changes only what the
    code's outputs change (nbval ignores metadata, reviewers should too).
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, str(path))
    return path


def build_reports(
    notebooks: Iterable[Path] | None = None,
    out_dir: str | Path = REPORTS_DIR,
    parameters: dict[str, Any] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Execute notebooks and write their HTML reports atomically.

    Parameters
    ----------
    notebooks
        Notebooks to run (default: every numbered notebook).
    out_dir
        Folder for ``<notebook>.html``.
    parameters
        Papermill parameters for every notebook (e.g. ``{"cohort_path": ...}``).
    progress
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    list of Path
        The HTML files written.
    """
    notebooks = list(notebooks) if notebooks is not None else discover_notebooks()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="reports-") as tmp:
        staging = Path(tmp)
        iterator: Iterable[Path] = notebooks
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(notebooks, desc="notebooks", unit="nb")
        for notebook in iterator:
            executed = execute_notebook(notebook, staging / notebook.name, parameters)
            export_html(executed, staging / f"{notebook.stem}.html")
        for notebook in notebooks:
            final = out / f"{notebook.stem}.html"
            partial = out / f".{notebook.stem}.html.tmp"
            shutil.copyfile(staging / f"{notebook.stem}.html", partial)
            partial.replace(final)
            written.append(final)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m analysis.build [--out DIR] [--cohort PATH] [NOTEBOOK ...]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.build", description="Execute the notebooks and write HTML reports (code hidden).")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all numbered notebooks)")
    parser.add_argument("--out", default=str(REPORTS_DIR), help="output folder (default: reports/)")
    parser.add_argument("--cohort", default=None, help="cohort file passed to every notebook as cohort_path")
    parser.add_argument("--in-place", action="store_true", help="re-execute the notebooks in place on the default data (for committing)")
    args = parser.parse_args(argv)
    if args.in_place:
        for path in args.notebooks or discover_notebooks():
            print(refresh_notebook(Path(path)))
        return
    parameters = {"cohort_path": str(Path(args.cohort).resolve())} if args.cohort else {}
    for path in build_reports(args.notebooks or None, args.out, parameters):
        print(path)


if __name__ == "__main__":
    main()
