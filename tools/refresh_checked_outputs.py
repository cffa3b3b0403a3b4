"""Execute notebooks in smoke mode (as the test suite runs them) and keep only the outputs of `# NBVAL_CHECK_OUTPUT` cells.

Usage (from the repository root):  python tools/refresh_checked_outputs.py notebooks/02_dcgan_mnist.ipynb [...]

nbval compares a checked cell's stored output with a fresh run, and silently skips a cell with no
stored execution count, so checked cells keep output and count in git; every other output is
stripped, as are stderr streams (TensorFlow's log lines), so the comparison is of what cells print.
"""

import os
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from the repository root
from tests.synthetic_faces import write_synthetic_faces  # noqa: E402

CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def is_checked(cell):
    return cell.cell_type == "code" and any(
        line.strip().lstrip("#").strip() == CHECK_MARK for line in cell.source.splitlines()
    )


def strip(notebook):
    """Remove outputs and counts from every code cell except checked ones (which lose stderr only)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if is_checked(cell):
            cell.outputs = [out for out in cell.outputs if not (out.output_type == "stream" and out.name == "stderr")]
        else:
            cell.outputs, cell.execution_count = [], None
    return notebook


def refresh(path):
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(GAN_SMOKE_TEST="1", GAN_DATA="sample", GAN_OUTPUT_DIR=scratch, TF_CPP_MIN_LOG_LEVEL="2",
                          GAN_CELEBA_DIR=os.path.join(scratch, "synthetic_faces"))
        write_synthetic_faces(os.environ["GAN_CELEBA_DIR"], count=8, seed=42, corrupt=1)  # notebook 05's test images
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    nbformat.write(strip(notebook), path)
    print(f"{path}: {sum(is_checked(cell) for cell in notebook.cells)} checked cell(s) refreshed")


if __name__ == "__main__":
    for notebook_path in sys.argv[1:]:
        refresh(notebook_path)
