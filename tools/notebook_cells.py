"""The code cells of the series' notebooks, read as tests and benchmarks need them.

Three kinds of cell matter here:

- a cell whose first line is ``#@save gan_utils.MODULE`` holds definitions that ``gan_utils/MODULE.py``
  keeps character for character (tests/test_saved_cells.py);
- a cell tagged ``standalone`` (in its metadata) runs without ``gan_utils``: copied in order with the other
  standalone cells of its notebook, it needs only TensorFlow, Keras, NumPy and Matplotlib
  (tests/test_standalone_cells.py);
- the cell tagged ``parameters`` holds the notebook's constants.

:func:`definitions` runs a notebook's own definitions (networks, loops, helpers that live only in that
notebook) so that unit tests can test exactly the code a student reads.
"""

import ast
import json
import os
from pathlib import Path

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
SAVE_MARK = "#@save"


class Cell:
    def __init__(self, index, source, tags):
        self.index, self.source, self.tags = index, source, tags

    @property
    def saved_module(self):
        """``"models"`` for a cell that starts with ``#@save gan_utils.models``, else None."""
        first_line = self.source.splitlines()[0] if self.source else ""
        if not first_line.startswith(SAVE_MARK):
            return None
        return first_line[len(SAVE_MARK):].strip().removeprefix("gan_utils.")

    def defined_names(self):
        """Names of the functions and classes the cell defines at its top level (not inside an if or a loop)."""
        try:
            tree = ast.parse(self.source)
        except SyntaxError:  # a cell with IPython syntax (%pip) defines nothing
            return []
        return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def notebook_path(name):
    path = NOTEBOOKS / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.exists():
        matches = sorted(NOTEBOOKS.glob(f"{name}*.ipynb"))
        if len(matches) != 1:
            raise FileNotFoundError(f"No single notebook called {name!r} in {NOTEBOOKS}: {matches}")
        path = matches[0]
    return path


def code_cells(name):
    """The notebook's code cells, in order."""
    cells = json.loads(notebook_path(name).read_text())["cells"]
    return [Cell(index, "".join(cell["source"]), cell.get("metadata", {}).get("tags", []))
            for index, cell in enumerate(cells) if cell["cell_type"] == "code"]


def tagged(name, tag):
    return [cell for cell in code_cells(name) if tag in cell.tags]


def definitions(name, *wanted, given=None):
    """Run notebook ``name``'s standalone imports and parameters cells, then each cell that defines one of
    ``wanted`` (and, before it, the standalone cells that only define things, which it may use); returns the
    namespace. ``given``: names the notebook's other cells would provide (e.g. ``{"GAN": training.GAN}``).

    Runs in smoke mode (``GAN_SMOKE_TEST=1``, as the suite sets it), so the parameters are the tiny ones.
    """
    os.environ.setdefault("GAN_SMOKE_TEST", "1")
    cells = code_cells(name)
    parameters = tagged(name, "parameters")
    if len(parameters) != 1:
        raise ValueError(f"{name} needs exactly one cell tagged 'parameters', has {len(parameters)}")
    defining = [cell for cell in cells if set(cell.defined_names()) & set(wanted)]
    missing = set(wanted) - {defined for cell in defining for defined in cell.defined_names()}
    if missing:
        raise KeyError(f"{name} defines no {sorted(missing)} at the top level of a cell")
    last = max(cell.index for cell in defining)
    to_run = [cell for cell in cells if "standalone" in cell.tags and cell.index <= parameters[0].index]
    to_run += [cell for cell in cells if parameters[0].index < cell.index <= last and (
        cell in defining or ("standalone" in cell.tags and cell.defined_names() and only_definitions(cell.source)))]
    namespace = {"__name__": f"notebook_{Path(notebook_path(name)).stem}", **(given or {})}
    for cell in to_run:
        exec(compile(without_save_mark(cell.source), f"<{name} cell {cell.index}>", "exec"), namespace)
    return namespace


def without_save_mark(source):
    return source if not source.startswith(SAVE_MARK) else source.split("\n", 1)[1]


def only_definitions(source):
    """Whether every top-level statement is an import, a def, a class or an assignment (nothing that runs a model)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    return all(isinstance(node, allowed) or (isinstance(node, ast.Assign) and not _calls_a_model(node))
               for node in tree.body)


def _calls_a_model(node):
    return any(isinstance(child, ast.Call) and getattr(child.func, "attr", None) in ("fit", "train_on_batch", "predict")
               for child in ast.walk(node))
