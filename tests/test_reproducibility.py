"""One seed switch: two runs of notebook 02 in smoke mode with the same seed draw byte-identical pictures."""

import asyncio
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gan_utils import reproducibility

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "02_dcgan_mnist.ipynb"


async def run_notebook(output_dir):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    # Smoke mode and the shipped digits come from conftest.py's environment; each kernel gets its own output folder.
    await client.async_execute(env=dict(os.environ, GAN_OUTPUT_DIR=str(output_dir)))

def pictures(output_dir):
    folder = output_dir / "02_dcgan_mnist"
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.glob("**/*.png"))}


def test_notebook_02_twice_with_the_same_seed_draws_identical_pictures(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_EPOCHS", "1")
    monkeypatch.setenv("GAN_SEED", "7")
    first, second = tmp_path / "first", tmp_path / "second"

    async def both():  # two kernels at once: most of the time is their start-up
        await asyncio.gather(run_notebook(first), run_notebook(second))

    asyncio.run(both())
    first_pictures, second_pictures = pictures(first), pictures(second)
    assert {"frames/epoch_0001.png", "new_digits.png"} <= set(first_pictures)
    assert first_pictures.keys() == second_pictures.keys()
    for name, content in first_pictures.items():
        assert content == second_pictures[name], f"{name} differs between two runs with the same seed"


def test_set_seed_repeats_keras_noise_weights_and_shuffles_and_enables_op_determinism():
    import keras
    import numpy as np
    import tensorflow as tf

    draws = []
    for _ in range(2):
        reproducibility.set_seed(3)
        layer = keras.layers.Dense(4)
        layer.build((None, 2))
        draws.append((np.array(keras.random.normal((3,))), np.array(layer.kernel), np.random.rand(), list(
            tf.data.Dataset.range(10).shuffle(10).as_numpy_iterator())))
    for first, second in zip(*draws):
        np.testing.assert_array_equal(first, second)
    from tensorflow.python.framework import config  # TensorFlow exports no public getter or switch-off

    try:
        assert config.is_op_determinism_enabled()
    finally:
        config.disable_op_determinism()  # it would silently turn XLA off for the rest of the test process
