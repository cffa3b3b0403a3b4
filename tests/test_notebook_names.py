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
