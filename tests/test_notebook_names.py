"""A name in a notebook means one thing: no function or class is also a variable in another cell.

Rerunning cells out of order is what students do; a name that is a tensor in one cell and a function in another
breaks every later cell that calls the function once the first cell runs again.
"""

import ast
from pathlib import Path

import pytest

from tools.notebook_cells import code_cells

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def top_level_names(source):
    """(functions and classes, assigned variables) a cell defines at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (%pip)
        return set(), set()
    defined, assigned = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.For)) else []
        for target in targets:
            assigned |= {name.id for name in ast.walk(target) if isinstance(name, ast.Name)}
    return defined, assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_function_or_class_is_also_a_variable(path):
    defined, assigned = set(), set()
    for cell in code_cells(path.name):
        cell_defined, cell_assigned = top_level_names(cell.source)
        defined |= cell_defined
        assigned |= cell_assigned
    assert not defined & assigned, f"{path.name}: {sorted(defined & assigned)} name both a function or class and a variable"


# Each notebook's own experiment harness: a loop that trains and measures that notebook's runs, not a piece of GAN
# code a reader would carry from one notebook to the next.
EXPERIMENT_HARNESSES = {"train_and_measure", "Measure", "new_gan", "train"}


def test_a_function_defined_in_two_notebooks_is_the_same_code():
    """One name, one meaning across the series: a reader who copies notebook 01's builders or notebook 04's
    ``generate`` into another notebook gets what that notebook's name means (notebook 07's is ``generate_digits``)."""
    sources = {}
    for path in NOTEBOOKS:
        for cell in code_cells(path.name):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in EXPERIMENT_HARNESSES:
                    sources.setdefault(node.name, {})[path.name] = ast.get_source_segment(cell.source, node)
    differing = {name: sorted(by_notebook) for name, by_notebook in sources.items() if len(set(by_notebook.values())) > 1}
    assert not differing, f"defined differently in several notebooks: {differing}"
