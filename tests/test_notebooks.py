"""The notebooks follow the series' conventions: nbval really checks them, and they read as teaching."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def cells(path):
    return json.loads(path.read_text())["cells"]


def code_cells(path):
    return [cell for cell in cells(path) if cell["cell_type"] == "code"]


def markdown(path):
    return ["".join(cell["source"]) for cell in cells(path) if cell["cell_type"] == "markdown"]


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_teaches_in_at_most_1200_words(path):
    words = sum(len(text.split()) for text in markdown(path))
    assert words <= 1200, f"{path.name} has {words} markdown words: measurements and logs belong in docs/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_text_speaks_to_students_not_of_issues_or_the_test_suite(path):
    texts = markdown(path)
    assert not [text for text in texts if re.search(r"\bissues?\b", text, re.I)], "a notebook speaks of an issue"
    about_tests = [text for text in texts if re.search(r"\b(tests?|test suite|nbval|pytest|CI)\b", text)]
    assert len(about_tests) <= 1, f"{path.name} speaks of tests in {len(about_tests)} cells: {[t[:60] for t in about_tests]}"
    if about_tests:  # the one line, at the Parameters cell
        index = next(i for i, cell in enumerate(cells(path)) if "parameters" in cell.get("metadata", {}).get("tags", []))
        assert "".join(cells(path)[index - 1]["source"]) == about_tests[0], "only the Parameters cell's text may say how tests run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_colab_install_cell_stays_python_without_its_pip_line(path):
    install = [cell for cell in code_cells(path) if "%pip install" in "".join(cell["source"])]
    assert len(install) == 1, f"{path.name}: one Colab install cell"
    source = "".join(install[0]["source"])
    without_magic = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))
    compile(without_magic, f"{path.name} install cell", "exec")  # a SyntaxError (an `if` left with no body) fails here
    assert "find_spec(\"gan_utils\")" in source  # it installs only where gan_utils is missing


def test_notebook_02_explains_tensorflows_remapper_line_before_its_first_training_cell():
    """Some CPUs print `remapper failed: ... LeakyReluGrad ... BiasAdd` in red when the DCGAN trains: notebook 02,
    where students first see it, says what it is before the cell that prints it."""
    path = next(path for path in NOTEBOOKS if path.name.startswith("02_"))
    all_cells = cells(path)
    first_fit = next(i for i, cell in enumerate(all_cells) if cell["cell_type"] == "code" and ".fit(" in "".join(cell["source"]))
    before = " ".join("".join(cell["source"]) for cell in all_cells[:first_fit] if cell["cell_type"] == "markdown")
    assert re.search(r"remapper failed.*LeakyReluGrad.*BiasAdd.*training is unaffected", before, re.S)


def test_the_first_notebook_explains_tensorflows_cuinit_line_before_it_appears():
    """On a machine without an NVIDIA GPU, TensorFlow's GPU check prints `failed call to cuInit` in red: notebook 01
    (and 02, where the quick start begins) say what it is before the cell that prints it."""
    for prefix in ("01_", "02_"):
        path = next(path for path in NOTEBOOKS if path.name.startswith(prefix))
        all_cells = cells(path)
        check = next(i for i, cell in enumerate(all_cells) if "check_hardware()" in "".join(cell["source"]))
        before = " ".join("".join(cell["source"]) for cell in all_cells[:check] if cell["cell_type"] == "markdown")
        assert re.search(r"failed\s+call to cuInit", before), path.name
