"""A student can copy a notebook's model code into coursework: its standalone cells run without gan_utils.

The cells tagged ``standalone`` (the imports, the parameters, the data with plain Keras, the networks, the
losses, the training loop or ``GAN`` class, and the cells that compile and train it) are run in order in a fresh
Python process where ``import gan_utils`` fails, with only TensorFlow, Keras, NumPy and Matplotlib, as a student
copies them into a new Colab notebook. Nothing is put into their namespace: they get their data where a copy
would, from ``keras.datasets``, which reads a local file here (the shipped digits in ``mnist.npz``'s format)
instead of downloading it.
"""

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gan_utils import data
from tools.notebook_cells import tagged

ALLOWED_IMPORTS = {"keras", "tensorflow", "numpy", "matplotlib"} | set(sys.stdlib_module_names)
CASES = {  # the functions and classes each notebook's standalone cells must define
    "01_vanilla_gan_mnist": ["build_mlp_generator", "build_mlp_discriminator", "VanillaGAN"],
    "02_dcgan_mnist": ["build_dcgan_generator", "build_dcgan_discriminator", "discriminator_loss", "generator_loss", "GAN"],
    "03_fashion_mnist_dcgan": ["build_generator", "build_discriminator", "build_article_gan", "train_article_step"],
    "04_classic_keras_gan": ["generator_model", "discriminator_model", "generator_containing_discriminator"],
    "07_conditional_gan_mnist": ["build_conditional_generator", "build_conditional_discriminator", "one_hot_labels", "generate_digits"],
    "08_wgan_gp_mnist": ["build_critic", "gradient_penalty", "WGANGP"],
    "09_when_a_gan_goes_wrong": ["build_mlp_generator", "build_mlp_discriminator"],
    "05_celeba_faces": ["find_image_files", "decode_face", "read_faces", "batch_faces", "build_celeba_generator", "build_celeba_discriminator"],
    "10_little_data": ["random_translation", "random_cutout", "diff_augment"],
}

RUNNER = """
import json, sys, traceback
sys.modules["gan_utils"] = None  # `import gan_utils` now fails, as on a machine without the series' package
import keras
import numpy as np


def reading(path):  # keras.datasets.X.load_data, reading the file it would have downloaded
    def load_data(*args, **kwargs):
        with np.load(path) as file:
            return (file["x_train"], file["y_train"]), (file["x_test"], file["y_test"])
    return load_data


keras.datasets.mnist.load_data = reading(sys.argv[1])
keras.datasets.fashion_mnist.load_data = reading(sys.argv[2])
for notebook, cells in json.load(open(sys.argv[3])).items():  # each notebook in a namespace of its own
    namespace = {"__name__": "__main__"}  # nothing given: the cells must make all they use
    try:
        for index, source in cells:
            last = index
            exec(compile(source, f"<{notebook} cell {index}>", "exec"), namespace)
        print(json.dumps([notebook, "all cells ran"]), flush=True)
    except Exception:
        print(json.dumps([notebook, f"stopped at cell {last}: " + traceback.format_exc()[-2500:]]), flush=True)
"""


def imported_modules(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield (node.module or "").split(".")[0]


RUN = ["01_vanilla_gan_mnist", "02_dcgan_mnist", "03_fashion_mnist_dcgan", "04_classic_keras_gan"]  # run them all; the
# other notebooks' standalone cells are checked for their imports only (each run costs a TensorFlow start-up)


@pytest.mark.parametrize("notebook", sorted(CASES))
def test_standalone_cells_import_only_tensorflow_keras_numpy_and_matplotlib(notebook):
    wanted = CASES[notebook]
    cells = tagged(notebook, "standalone")
    defined = {name for cell in cells for name in cell.defined_names()}
    assert set(wanted) <= defined, f"{notebook}: no standalone cell defines {sorted(set(wanted) - defined)}"
    for cell in cells:
        outside = set(imported_modules(cell.source)) - ALLOWED_IMPORTS
        assert not outside, f"{notebook} cell {cell.index} imports {sorted(outside)}: only TensorFlow, Keras, NumPy, Matplotlib"


@pytest.fixture(scope="module")
def standalone_runs(tmp_path_factory):
    """Each notebook of RUN: its standalone cells, in order, in one fresh process where gan_utils cannot be imported
    (one process for all: each would otherwise pay TensorFlow's start-up). {notebook: what happened}."""
    folder = tmp_path_factory.mktemp("standalone")
    runs = {notebook: [(cell.index, cell.source) for cell in tagged(notebook, "standalone")] for notebook in RUN}
    for name, (train, test) in {"mnist": (data.load_mnist("sample"), data.load_mnist_test("sample")),
                                "fashion_mnist": (data.load_fashion_mnist("sample"), data.load_fashion_mnist("sample"))}.items():
        as_downloaded = {key: np.rint(images[..., 0] * 127.5 + 127.5).astype(np.uint8)  # uint8, no channel axis
                         for key, images in (("x_train", train[0]), ("x_test", test[0][:100]))}
        np.savez(folder / f"{name}.npz", **as_downloaded, y_train=train[1], y_test=test[1][:100])
    (folder / "cells.json").write_text(json.dumps(runs))
    (folder / "runner.py").write_text(RUNNER)
    environment = dict(os.environ, GAN_SMOKE_TEST="1", GAN_OUTPUT_DIR=str(folder / "outputs"), MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, str(folder / "runner.py"), str(folder / "mnist.npz"),
                                str(folder / "fashion_mnist.npz"), str(folder / "cells.json")],
                               capture_output=True, text=True, cwd=folder, env=environment, timeout=900)
    results = dict(json.loads(line) for line in completed.stdout.splitlines() if line.startswith("["))
    return {notebook: results.get(notebook, f"never ran:\n{completed.stderr[-2500:]}") for notebook in RUN}


@pytest.mark.parametrize("notebook", RUN)
def test_standalone_cells_run_in_order_without_gan_utils(notebook, standalone_runs):
    assert standalone_runs[notebook] == "all cells ran", f"{notebook}: the standalone cells {standalone_runs[notebook]}"


def test_every_notebook_marks_its_parameters_cell():
    from tools.notebook_cells import NOTEBOOKS

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert len(tagged(path.name, "parameters")) == 1, f"{path.name}: tag its Parameters cell 'parameters'"
