"""The notebook runs top to bottom (nbclient) on a small setting; any cell error fails the test."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "sock_classification.ipynb"


def test_the_notebook_runs_every_cell_without_error(tmp_path, monkeypatch):
    small = {"SOCKSORT_NB_CLASSES": "2", "SOCKSORT_NB_PER_CLASS": "6", "SOCKSORT_NB_PHOTO_SIZE": "160x120",
             "SOCKSORT_NB_RESIZE": "96", "SOCKSORT_NB_INPUT_SIZE": "64", "SOCKSORT_NB_EPOCHS": "1",
             "SOCKSORT_NB_WARMUP_EPOCHS": "1", "SOCKSORT_NB_WORKDIR": str(tmp_path / "run"),
             "SOCKSORT_OFFLINE": "1", "SOCKSORT_BOX_SCENES": "60"}   # the notebook draws no boxes
    for key, value in small.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # curves, validation and unseen confusion matrices, sample predictions
    assert (tmp_path / "run" / "model" / "model.onnx").is_file()
