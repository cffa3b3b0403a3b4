"""One source, no drift: a notebook cell marked ``#@save gan_utils.MODULE`` is the code gan_utils runs.

Each definition in such a cell (function, class, or assignment) must be, character for character, the
definition of the same name in ``gan_utils/MODULE.py``. To change one, edit it in gan_utils and run
``python tools/sync_saved_cells.py`` (README, "Contributing").
"""

import ast
from pathlib import Path

import pytest

from tools.notebook_cells import NOTEBOOKS, code_cells, without_save_mark
from tools.sync_saved_cells import module_definitions, statement_name

GAN_UTILS = Path(__file__).parents[1] / "gan_utils"
SAVED = [(path.stem, cell) for path in sorted(NOTEBOOKS.glob("*.ipynb")) for cell in code_cells(path.name)
         if cell.saved_module is not None]


def test_the_notebooks_that_teach_the_shared_code_mark_it():
    marked = {(notebook, name) for notebook, cell in SAVED for name in cell.defined_names()}
    for notebook, names in (("02_dcgan_mnist", ["build_dcgan_generator", "build_dcgan_discriminator",
                                                 "discriminator_loss", "generator_loss", "GAN"]),
                            ("01_vanilla_gan_mnist", ["VanillaGAN"])):
        for name in names:
            assert (notebook, name) in marked, f"{notebook} shows no #@save cell defining {name}"


@pytest.mark.parametrize("notebook, cell", SAVED, ids=[f"{notebook}-cell{cell.index}" for notebook, cell in SAVED])
def test_saved_cell_is_the_code_in_gan_utils(notebook, cell):
    module_path = GAN_UTILS / f"{cell.saved_module}.py"
    assert module_path.exists(), f"{notebook} cell {cell.index} names gan_utils.{cell.saved_module}, which does not exist"
    in_module = module_definitions(module_path.read_text())
    source = without_save_mark(cell.source)
    statements = ast.parse(source).body
    assert statements, "an empty #@save cell"
    for statement in statements:
        assert statement_name(statement) is not None, (
            f"{notebook} cell {cell.index}: a #@save cell holds only definitions (def, class, NAME = ...), "
            f"not {ast.get_source_segment(source, statement)[:80]!r}")
    for name, shown in module_definitions(source).items():
        assert name in in_module, f"{notebook} cell {cell.index} defines {name}, which gan_utils/{module_path.name} lacks"
        assert shown == in_module[name], (f"{notebook} cell {cell.index} shows another {name} than "
                                          f"gan_utils/{module_path.name}: edit gan_utils, then run `python tools/sync_saved_cells.py`")
