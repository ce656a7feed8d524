"""Execute the notebooks and export them as papers: HTML (and PDF) with the code hidden.

``python -m analysis report`` (what ``make report`` runs) validates the
extract once, then executes the study's papers with papermill, as many at a
time as there are cores, and exports each through the paper template
(``analysis/paper/templates/evidence``): readable line length, a typographic
scale, print CSS, no scripts, the paper's title as the page title, figures
with their alternative text, and ``notebook-only`` cells left out. Each
paper's full disclosure log is written beside it as CSV. Everything is
written to a staging folder and moved into place only when every paper has
succeeded, so a failed run leaves the earlier papers intact.

Examples
--------
>>> from analysis.build import discover_notebooks
>>> [p.name for p in discover_notebooks()][:1]  # doctest: +SKIP
['01_published_position.ipynb']
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .paths import NOTEBOOK_DIR, REPORTS_DIR

__all__ = ["discover_notebooks", "papers_for", "execute_notebook", "export_html", "print_pdf", "build_reports",
           "refresh_notebook", "BuildError", "TEMPLATE_DIR"]

TEMPLATE_DIR: Path = Path(__file__).resolve().parent / "paper" / "templates"
"""nbconvert templates of the papers (``evidence``)."""

DISCLOSURE_MIME = "application/vnd.analysis.disclosure+json"


class BuildError(RuntimeError):
    """A paper could not be built; the message names the paper and the reason (no traceback for the analyst)."""


def discover_notebooks(*, directory: str | Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in a folder, in order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("02_cohort.ipynb", "01_published_position.ipynb", "scratch.ipynb"):
    ...     _ = (folder / name).write_text("{}")
    >>> [p.name for p in discover_notebooks(directory=folder)]
    ['01_published_position.ipynb', '02_cohort.ipynb']
    """
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def papers_for(study: Any, *, directory: str | Path = NOTEBOOK_DIR) -> list[Path]:
    """The notebooks a study's report holds.

    The published position (01) only when the study names a published
    reference; KPI tracking (06) only when the study has a ``[kpi]`` section;
    the impact of an intervention (07) only when it has an ``[impact]`` section.

    Examples
    --------
    A study file with a ``[kpi]`` section but no published reference and no ``[impact]``:

    >>> import pathlib, tempfile
    >>> from analysis.study import Kpi, Study
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("01_published_position", "02_cohort", "06_kpi_tracking", "07_intervention_impact"):
    ...     _ = (folder / f"{name}.ipynb").write_text("{}")
    >>> [p.stem for p in papers_for(Study(kpi=Kpi()), directory=folder)]
    ['02_cohort', '06_kpi_tracking']
    """
    notebooks = discover_notebooks(directory=directory)
    if not getattr(study, "published", None):
        notebooks = [p for p in notebooks if not p.name.startswith("01_")]
    if getattr(study, "kpi", None) is None:
        notebooks = [p for p in notebooks if not p.name.startswith("06_")]
    if getattr(study, "impact", None) is None:
        notebooks = [p for p in notebooks if not p.name.startswith("07_")]
    return notebooks


def _kernel_manager_class() -> type:
    """A kernel manager that talks to its kernel over local (IPC) sockets in a private temporary folder.

    Nothing leaves the machine, and the kernel has no reason to warn about unencrypted TCP on stderr.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            import uuid

            return str(Path(tempfile.gettempdir()) / f"analysis-kernel-{uuid.uuid4().hex[:12]}")

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts a kernel before asking it to shut down; ours is idle by then (every cell has
            # run), and on a loaded machine the SIGINT can race the shutdown: the kernel then logs "KeyboardInterrupt
            # caught in kernel" on the report's stderr. A kernel that is shutting down is not interrupted.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return LocalKernelManager


def execute_notebook(source: Path, target: Path, *, parameters: dict[str, Any] | None = None, kernel_name: str = "python3") -> Path:
    """Run a notebook top to bottom with papermill; the executed copy is written to ``target``.

    Examples
    --------
    >>> from pathlib import Path
    >>> execute_notebook(Path("notebooks/02_cohort.ipynb"), Path("/tmp/02_cohort.ipynb"),
    ...                  parameters={"disclosure_threshold": 5})  # doctest: +SKIP
    PosixPath('/tmp/02_cohort.ipynb')
    """
    import papermill as pm

    try:
        pm.execute_notebook(str(source), str(target), parameters=parameters or {}, kernel_name=kernel_name,
                            cwd=str(source.parent), progress_bar=False, log_output=False, report_mode=False,
                            kernel_manager_class=_kernel_manager_class())
    except pm.PapermillExecutionError as exc:
        raise BuildError(f"the paper {source.stem} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}") from None
    return target


def _title(notebook: Any) -> str | None:
    """The paper's title: the first level-one heading any output carries."""
    import re

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/html", "")
            text = "".join(text) if isinstance(text, list) else text
            match = re.search(r"<h1[^>]*>(.*?)</h1>", text, flags=re.S)
            if match:
                import html as _html

                return _html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    return None


def export_html(executed: Path, target: Path) -> Path:
    """Export an executed notebook as a paper (HTML, code hidden), and its disclosure log as CSV beside it.

    Returns the HTML's path; the log is ``<stem>.disclosure.csv`` when the paper has one.

    Examples
    --------
    >>> from pathlib import Path
    >>> export_html(Path("/tmp/02_cohort.ipynb"), Path("/tmp/02_cohort.html"))  # doctest: +SKIP
    PosixPath('/tmp/02_cohort.html')
    """
    import nbformat
    import pandas as pd
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook = nbformat.read(str(executed), as_version=4)
    details = None
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if DISCLOSURE_MIME in output.get("data", {}):
                details = output["data"][DISCLOSURE_MIME]
                continue
            kept.append(output)
        if cell.get("cell_type") == "code":
            cell["outputs"] = kept
    title = _title(notebook) or executed.stem
    exporter = HTMLExporter(template_name="evidence", extra_template_basedirs=[str(TEMPLATE_DIR)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    remover = TagRemovePreprocessor(remove_cell_tags={"notebook-only"}, remove_input_tags={"parameters", "injected-parameters"})
    exporter.register_preprocessor(remover, enabled=True)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    target.write_text(body, encoding="utf-8")
    if details is not None:
        frame = pd.DataFrame(details, columns=["table", "location", "rule", "detail"])
        frame.to_csv(target.with_name(f"{target.stem}.disclosure.csv"), index=False, lineterminator="\n")
    return target


def print_pdf(html: Path, pdf: Path, *, chromium: str | None = None, timeout: int = 120) -> Path:
    """Print a paper to A4 PDF with headless Chromium (the paper's print CSS sets the page).

    Examples
    --------
    >>> from pathlib import Path
    >>> print_pdf(Path("reports/02_cohort.html"), Path("reports/02_cohort.pdf"))  # doctest: +SKIP
    PosixPath('reports/02_cohort.pdf')
    """
    browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise BuildError("printing to PDF needs Chromium (apt-get install chromium); the HTML papers were not changed")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--no-pdf-header-footer",
             f"--print-to-pdf={pdf}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise BuildError(f"Chromium could not print {html.name} to PDF")
    return pdf


def refresh_notebook(path: Path, *, timeout: int = 900) -> Path:
    """Execute a notebook top to bottom in place on the default data, for committing.

    Cell timing metadata is dropped so that a rerun changes only what the
    code's outputs change (nbval ignores metadata, reviewers should too).

    Examples
    --------
    >>> from pathlib import Path
    >>> refresh_notebook(Path("notebooks/02_cohort.ipynb"))  # doctest: +SKIP
    PosixPath('notebooks/02_cohort.ipynb')
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   kernel_manager_class=_kernel_manager_class()).execute()  # local sockets: no TCP warning on stderr
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, str(path))
    return path


def build_reports(
    *,
    notebooks: Iterable[Path] | None = None,
    out_dir: str | Path = REPORTS_DIR,
    parameters: dict[str, Any] | None = None,
    progress: bool = True,
    workers: int | None = None,
    pdf: bool = False,
    notebook_parameters: dict[str, dict[str, Any]] | None = None,
) -> list[Path]:
    """Execute notebooks concurrently and write their papers atomically.

    Parameters
    ----------
    notebooks
        Notebooks to run (default: every numbered notebook).
    out_dir
        Folder for ``<notebook>.html`` (and ``.pdf``, ``.disclosure.csv``).
    parameters
        Papermill parameters for every notebook (e.g. ``{"study_path": ...}``).
    progress
        Show a progress bar (tqdm) on stderr.
    workers
        Papers executed at once (default: the number of cores).
    pdf
        Also print each paper to A4 PDF with headless Chromium.
    notebook_parameters
        Parameters for some notebooks only, by the notebook's file stem
        (``"02_cohort"``), over ``parameters``.

    Returns
    -------
    list of Path
        The files written (HTML, then PDF and CSV where made).

    Raises
    ------
    BuildError
        A paper failed; nothing in ``out_dir`` was changed.

    Examples
    --------
    >>> from pathlib import Path
    >>> build_reports(notebooks=[Path("notebooks/02_cohort.ipynb")], out_dir="reports", progress=False)  # doctest: +SKIP
    [PosixPath('reports/02_cohort.html'), PosixPath('reports/02_cohort.disclosure.csv')]
    """
    notebooks = list(notebooks) if notebooks is not None else discover_notebooks()
    out = Path(out_dir)
    workers = workers or max(1, min(len(notebooks), os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="reports-") as tmp:
        staging = Path(tmp)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(notebooks), desc="papers", unit="paper")

        def one(notebook: Path) -> Path:
            mine = {**(parameters or {}), **(notebook_parameters or {}).get(notebook.stem, {})}
            executed = execute_notebook(notebook, staging / notebook.name, parameters=mine)
            try:
                html = export_html(executed, staging / f"{notebook.stem}.html")
            except (ValueError, OSError) as exc:  # nbconvert's errors, e.g. a template or an output it cannot read
                raise BuildError(f"the paper {notebook.stem} ran but could not be exported to HTML: {type(exc).__name__}: {exc}; "
                                 "nothing in the output folder was changed") from None
            if pdf:
                print_pdf(html, staging / f"{notebook.stem}.pdf")
            if bar is not None:
                bar.update(1)
            return html

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, notebooks))
        finally:
            if bar is not None:
                bar.close()
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for notebook in notebooks:
            for suffix in (".html", ".pdf", ".disclosure.csv"):
                staged = staging / f"{notebook.stem}{suffix}"
                if not staged.exists():
                    continue
                final = out / staged.name
                partial = out / f".{staged.name}.tmp"
                shutil.copyfile(staged, partial)
                partial.replace(final)
                written.append(final)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m analysis.build [--out DIR] [--in-place] [NOTEBOOK ...]``.

    Examples
    --------
    >>> main(["--out", "reports", "notebooks/02_cohort.ipynb"])  # doctest: +SKIP
    reports/02_cohort.html
    reports/02_cohort.disclosure.csv
    """
    parser = argparse.ArgumentParser(prog="python -m analysis.build", description="Execute the notebooks and write the papers (code hidden).")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all numbered notebooks)")
    parser.add_argument("--out", default=str(REPORTS_DIR), help="output folder (default: reports/)")
    parser.add_argument("--in-place", action="store_true", help="re-execute the notebooks in place on the default data (for committing)")
    args = parser.parse_args(argv)
    if args.in_place:
        paths = args.notebooks or discover_notebooks()
        with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
            for path in pool.map(refresh_notebook, [Path(p) for p in paths]):
                print(path)
        return
    for path in build_reports(notebooks=args.notebooks or None, out_dir=args.out, parameters={}):
        print(path)


if __name__ == "__main__":
    main()
