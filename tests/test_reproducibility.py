"""One seed switch: two runs of notebook 02 in smoke mode with the same seed draw byte-identical pictures.

The switch is the Parameters cell's `keras.utils.set_random_seed(SEED)`, which seeds Python, NumPy,
TensorFlow (so also `tf.random.normal`, the GAN's noise) and Keras."""

import asyncio
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

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
