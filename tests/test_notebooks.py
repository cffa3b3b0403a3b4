"""The notebooks follow the series' conventions, so nbval really checks them."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def code_cells(path):
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def is_checked(cell):
    return any(line.strip().lstrip("#").strip() == CHECK_MARK for line in "".join(cell["source"]).splitlines())


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_only_checked_cells_keep_outputs_and_they_keep_their_count(path):
    checked = [cell for cell in code_cells(path) if is_checked(cell)]
    assert checked, f"{path.name} has no {CHECK_MARK} cell"
    for cell in checked:
        assert cell["execution_count"] is not None, "nbval silently skips a checked cell without a count"
        assert cell["outputs"], "a checked cell must store the output to compare with"
        assert not any(out.get("name") == "stderr" for out in cell["outputs"]), "stderr must not be compared"
    for cell in code_cells(path):
        if not is_checked(cell):
            assert not cell["outputs"] and cell["execution_count"] is None, (
                f"stored output in an unchecked cell: {''.join(cell['source'])[:60]!r} "
                "(run tools/refresh_checked_outputs.py)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_imports_gan_utils_without_path_hacks_and_reads_smoke_mode(path):
    source = "\n".join("".join(cell["source"]) for cell in code_cells(path))
    assert "sys.path" not in source
    assert "import gan_utils" in source or "from gan_utils" in source
    assert re.search(r"GAN_SMOKE_TEST", source), "parameters must shrink through the environment"


def test_nbval_comparison_ignores_stderr_streams():
    nbval_plugin = pytest.importorskip("nbval.plugin")
    from nbformat import NotebookNode

    outputs = [
        NotebookNode(output_type="stream", name="stdout", text="shape (None, 1)\n"),
        NotebookNode(output_type="stream", name="stderr", text="I0000 tensorflow log line\n"),
    ]
    compared = nbval_plugin.transform_streams_for_comparison(outputs)
    assert compared == [{"output_type": "stream", "stdout": "shape (None, 1)\n"}]
