"""A student can copy a notebook's model code into coursework: its standalone cells run without gan_utils.

The cells tagged ``standalone`` (the imports, the parameters, the networks, the losses, the training loop or
``GAN`` class, and the cells that compile and train it) are run in order in a fresh Python process where
``import gan_utils`` fails, with only TensorFlow, Keras, NumPy and Matplotlib. What the other cells would
give them (real images in [-1, 1], a dataset of them, an empty list of callbacks) is given instead.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gan_utils import data
from tools.notebook_cells import code_cells, tagged

ALLOWED_IMPORTS = {"keras", "tensorflow", "numpy", "matplotlib"} | set(sys.stdlib_module_names)
GIVEN_DATASET = """
train_dataset = tf.data.Dataset.from_tensor_slices(real_images).batch(BATCH_SIZE, drop_remainder=True).take(2)
training_callbacks, initial_epoch = [], 0
"""
CASES = {
    "01_vanilla_gan_mnist": (["build_mlp_generator", "build_mlp_discriminator", "VanillaGAN"], GIVEN_DATASET),
    "02_dcgan_mnist": (["build_dcgan_generator", "build_dcgan_discriminator", "discriminator_loss", "generator_loss", "GAN"],
                       GIVEN_DATASET),
    "04_classic_keras_gan": (["generator_model", "discriminator_model", "generator_containing_discriminator"],
                             "X_train = real_images"),
}

RUNNER = """
import json, sys
sys.modules["gan_utils"] = None  # `import gan_utils` now fails, as on a machine without the series' package
import numpy as np
real_images = np.load(sys.argv[1])
cells = json.load(open(sys.argv[2]))
namespace = {"real_images": real_images, "__name__": "__main__"}
for index, source in cells:
    print(f"--- cell {index}", flush=True)
    exec(compile(source, f"<cell {index}>", "exec"), namespace)
print("--- all cells ran", flush=True)
"""


def imported_modules(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield (node.module or "").split(".")[0]


@pytest.mark.parametrize("notebook", sorted(CASES))
def test_standalone_cells_run_in_order_without_gan_utils(notebook, tmp_path):
    wanted, given = CASES[notebook]
    cells = tagged(notebook, "standalone")
    assert cells, f"{notebook} tags no cell 'standalone'"
    defined = {name for cell in cells for name in cell.defined_names()}
    assert set(wanted) <= defined, f"{notebook}: no standalone cell defines {sorted(set(wanted) - defined)}"
    for cell in cells:
        outside = set(imported_modules(cell.source)) - ALLOWED_IMPORTS
        assert not outside, f"{notebook} cell {cell.index} imports {sorted(outside)}: only TensorFlow, Keras, NumPy, Matplotlib"

    parameters = tagged(notebook, "parameters")[0].index
    sources = []
    for cell in cells:
        sources.append((cell.index, cell.source))
        if cell.index == parameters:
            sources.append(("given", textwrap.dedent(given)))
    real_images = tmp_path / "real_images.npy"
    np.save(real_images, data.load_mnist_sample()[0][:256])
    (tmp_path / "cells.json").write_text(json.dumps(sources))
    (tmp_path / "runner.py").write_text(RUNNER)
    environment = dict(os.environ, GAN_SMOKE_TEST="1", GAN_OUTPUT_DIR=str(tmp_path / "outputs"), MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(real_images), str(tmp_path / "cells.json")],
                               capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=600)
    last_cell = [line for line in completed.stdout.splitlines() if line.startswith("--- ")][-1:]
    assert completed.returncode == 0 and last_cell == ["--- all cells ran"], (
        f"{notebook}: the standalone cells stopped at {last_cell}:\n{completed.stderr[-2500:]}")


def test_every_notebook_marks_its_parameters_cell():
    from tools.notebook_cells import NOTEBOOKS

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert len(tagged(path.name, "parameters")) == 1, f"{path.name}: tag its Parameters cell 'parameters'"
