"""Copy gan_utils' definitions into the notebook cells that show them (cells marked ``#@save gan_utils.MODULE``).

Usage (from the repository root):  python tools/sync_saved_cells.py [--check] [notebooks/NAME.ipynb ...]

gan_utils is the one source: change a shared function there, run this, and every ``#@save`` cell that shows
it is rewritten with the new code (and its stored output, if any, kept). ``--check`` changes nothing and
exits 1 when a cell differs. tests/test_saved_cells.py fails while any cell differs.
"""

import ast
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).parents[1]
SAVE_MARK = "#@save"


def statement_name(statement):
    """The name a top-level ``def``, ``class`` or ``NAME = ...`` defines; None for anything else."""
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return statement.name
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    return None


def module_definitions(source):
    """{name: source text} of every top-level definition in a module's source (decorators included)."""
    lines = source.splitlines()
    found = {}
    for statement in ast.parse(source).body:
        name = statement_name(statement)
        if name is not None:
            start = min([statement.lineno] + [decorator.lineno for decorator in getattr(statement, "decorator_list", [])])
            found[name] = "\n".join(lines[start - 1:statement.end_lineno])
    return found


def synced_source(cell_source):
    """The cell's source with each definition replaced by gan_utils' text of it; the layout between them kept."""
    mark, _, body = cell_source.partition("\n")
    module = mark[len(SAVE_MARK):].strip().removeprefix("gan_utils.")
    in_module = module_definitions((ROOT / "gan_utils" / f"{module}.py").read_text())
    lines = body.splitlines()
    pieces, position = [], 0
    for statement in ast.parse(body).body:
        name = statement_name(statement)
        if name is None or name not in in_module:
            raise SystemExit(f"{mark}: the cell defines {ast.dump(statement)[:60]}, which gan_utils.{module} lacks")
        start = min([statement.lineno] + [decorator.lineno for decorator in getattr(statement, "decorator_list", [])]) - 1
        pieces += lines[position:start] + [in_module[name]]
        position = statement.end_lineno
    pieces += lines[position:]
    return mark + "\n" + "\n".join(pieces)


def sync(path, check=False):
    notebook = nbformat.read(path, as_version=4)
    changed = 0
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(SAVE_MARK):
            new_source = synced_source(cell.source)
            if new_source != cell.source:
                changed += 1
                cell.source = new_source
    if changed and not check:
        nbformat.write(notebook, path)
    return changed


if __name__ == "__main__":
    arguments = sys.argv[1:]
    check = "--check" in arguments
    paths = [argument for argument in arguments if argument != "--check"] or sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    differing = 0
    for notebook_path in paths:
        count = sync(notebook_path, check)
        differing += count
        if count:
            print(f"{notebook_path}: {count} cell(s) {'differ' if check else 'rewritten'}")
    sys.exit(1 if check and differing else 0)
