"""examples/notebook.ipynb run headless in a Jupyter kernel, top-level await and all.

The kernel is the ``python3`` kernel that ipykernel installs into the virtual
environment (``share/jupyter/kernels``), so no install step is needed; it runs
with this interpreter and inherits ``COODIE_HOSTS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"
KEYSPACE = "coodie_example_notebook"


@pytest.fixture(autouse=True)
def _jupyter_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    # Use the platform's directories, as jupyter_core will by default; without
    # this it warns about the change on import, and warnings fail the tests.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")


def _output_text(cell: dict[str, object]) -> str:
    texts = []
    for output in cell.get("outputs", []):  # type: ignore[attr-defined]
        if output.get("output_type") == "stream":
            texts.append(output["text"])
        elif "data" in output:
            texts.append(output["data"].get("text/plain", ""))
    return "".join(texts)


def test_notebook_runs_top_to_bottom(
    drop_keyspace_around: Callable[[str], None],
) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the docs group is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the docs group is not installed")
    drop_keyspace_around(KEYSPACE)

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env=os.environ.copy())

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [_output_text(cell) for cell in code_cells]
    assert "7" in outputs[2], "the count of saved rows"
    assert (
        "wet days: ['2024-10-02', '2024-10-03', '2024-10-06', '2024-10-07']"
        in (outputs[3])
    )
    assert "total: 24.4 mm" in outputs[3]
    assert outputs[4].strip() == "11.0"
    errors = [
        output
        for cell in code_cells
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
