"""notebooks/explore.ipynb runs headlessly against the generated lake and shows what is in it; the
executed notebook is then written back, outputs included, so the repository keeps it executed.

The notebook runs in a real kernel of this interpreter, which starts its own Spark driver: a second JVM
next to the tests' one, so it gets a small heap.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from pyspark.sql import functions as F

from coretelecoms.platform import storage
from coretelecoms.platform.tables import COMPLAINT_FEATURES, COMPLAINT_LIFECYCLE, DQ_ISSUES, ORPHANED_COMPLAINTS
from coretelecoms.platform import lake
from tests.conftest import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore.ipynb"
PLOTS = 5  # dq issues by rule, orphan ages, time in each status, SLA hit rate, one customer's months


def this_interpreters_kernel() -> AsyncKernelManager:
    """The `python3` kernel as ipykernel defines it, which runs `sys.executable`: searching no kernel
    folders means no kernelspec installed on the machine can stand in for it, and none is installed."""
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def kernel_environment(lake: str) -> dict[str, str]:
    return {
        **os.environ,
        "CORETELECOMS_ENV": "test",
        "CORETELECOMS__LAKE": lake,
        "CORETELECOMS__SPARK__DRIVER_MEMORY": "1g",
    }


def run_notebook(lake: str) -> nbformat.NotebookNode:
    """The executed notebook; raises CellExecutionError on the first cell that fails."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, km=this_interpreters_kernel(), timeout=600, record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})  # the kernel's working folder
    client.execute(env=kernel_environment(lake))
    return notebook


def stored(executed: nbformat.NotebookNode, lake: str) -> nbformat.NotebookNode:
    """The executed notebook as the repository keeps it, so that a user reads its outputs (text, tables,
    plots) on GitHub without running it, and a run on the same data writes the same bytes: the authored
    notebook metadata (not the kernel's version details), no execution timestamps (the client records
    none), execution counts 1, 2, 3... and the generated lake's temporary folder shown as
    `$CORETELECOMS__LAKE`, the variable that pointed the kernel at it."""
    kept = copy.deepcopy(executed)
    kept.metadata = nbformat.read(NOTEBOOK, as_version=4).metadata
    code = (cell for cell in kept.cells if cell.cell_type == "code")
    for count, cell in enumerate(code, start=1):
        cell.metadata.pop("execution", None)
        cell.execution_count = count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
            if output.output_type == "stream":
                output.text = output.text.replace(lake, "$CORETELECOMS__LAKE")
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/"):
                    output.data[mime] = value.replace(lake, "$CORETELECOMS__LAKE")
    nbformat.validate(kept)
    return kept


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(output.text for cell in code_cells(notebook)
                   for output in cell.outputs if output.output_type == "stream" and output.name == "stdout")


def images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.outputs)


def test_the_stored_notebook_holds_its_outputs():
    """The repository keeps the notebook executed (the test below writes it): a commit that strips
    its outputs fails here. Runs before the test below rewrites it."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = code_cells(notebook)
    assert [bool(cell.outputs) for cell in cells] == [True] * len(cells)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert sum(images(cell) for cell in cells) == PLOTS


def test_the_explore_notebook_runs_on_a_generated_lake_and_shows_its_numbers_and_plots(generated_run, spark):
    settings, _, _ = generated_run

    notebook = run_notebook(settings.lake)

    plot_cells = [cell for cell in code_cells(notebook) if "plt.show()" in cell.source]
    assert len(plot_cells) == PLOTS
    assert [images(cell) for cell in plot_cells] == [1] * PLOTS

    def table(location: str):
        return spark.read.format("delta").load(storage.spark_path(location))

    orphans = table(lake.silver(settings, ORPHANED_COMPLAINTS))
    lifecycle = table(lake.gold(settings, COMPLAINT_LIFECYCLE))
    text = printed(notebook)
    assert f"dq_issues rows: {table(lake.silver(settings, DQ_ISSUES)).count()}\n" in text
    assert f"orphaned complaints: {orphans.count()} ({orphans.where(F.col('status') == 'open').count()} open)" in text
    assert f"complaints in the lifecycle: {lifecycle.count()}\n" in text
    assert f"resolved complaints: {lifecycle.where(F.col('met_sla').isNotNull()).count()}\n" in text
    features = table(lake.gold(settings, COMPLAINT_FEATURES))
    latest = features.where(F.col("month") == features.agg(F.max("month")).first()[0])
    busiest = latest.orderBy(F.desc("complaints_12m"), "customer_id").first()["customer_id"]
    assert f"customers with features: {features.select('customer_id').distinct().count()}; plotted: {busiest}\n" in text

    kept = stored(notebook, settings.lake)
    assert str(Path(settings.lake).parent) not in nbformat.writes(kept)  # no temporary folder is stored
    nbformat.write(kept, NOTEBOOK)
