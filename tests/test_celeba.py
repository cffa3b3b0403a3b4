"""Notebook 05's own code: the listing of the face folder, the face crop, the tf.data pipeline, the batching and
article 001's networks (run from the notebook with tools.notebook_cells.definitions); and the notebook run twice."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from PIL import Image

from gan_utils import callbacks, models, training
from tests.synthetic_faces import write_synthetic_faces
from tools.notebook_cells import code_cells, definitions, notebook_path

NOTEBOOK = "05_celeba_faces"


@pytest.fixture(scope="module")
def notebook():
    """The notebook's parameters (smoke mode) and its own definitions, as a namespace."""
    return definitions(NOTEBOOK, "find_image_files", "decode_face", "read_faces", "batch_faces",
                       "build_celeba_generator", "build_celeba_discriminator")


def _write_images(folder):
    """Two JPEGs of CelebA's size (178x218), a small PNG, a grayscale PNG in a subfolder."""
    rng = np.random.default_rng(0)
    for index in range(2):
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / f"face_{index}.jpg")
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(folder / "small.png")
    (folder / "more").mkdir()
    Image.fromarray(np.full((64, 64), 200, np.uint8)).save(folder / "more" / "gray.png")


def _read_folder(notebook, folder):
    paths = notebook["find_image_files"](folder)
    faces, skipped = notebook["read_faces"](paths)
    return paths, np.stack(list(faces.as_numpy_iterator())), skipped


def test_folder_of_good_images_gives_28x28_rgb_faces_in_unit_range(notebook, tmp_path):
    _write_images(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image suffix: ignored, not counted")
    paths, images, skipped = _read_folder(notebook, tmp_path)
    assert [path.name for path in paths] == ["face_0.jpg", "face_1.jpg", "gray.png", "small.png"]
    assert skipped == []
    assert images.shape == (4, 28, 28, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_allclose(images[2], (200 - 127.5) / 127.5, atol=1e-6)  # grayscale became RGB


def test_face_crop_takes_the_central_108_square_as_the_article_does(notebook, tmp_path):
    image = np.zeros((218, 178, 3), np.uint8)
    image[55:163, 35:143] = 255  # exactly the central 108x108 square is white
    Image.fromarray(image).save(tmp_path / "face.png")
    face = notebook["decode_face"]((tmp_path / "face.png").read_bytes()).numpy()
    assert face.shape == (28, 28, 3) and face.dtype == np.uint8
    assert face.min() == 255  # nothing outside the crop came in
    shifted = np.zeros_like(image)
    shifted[54:162, 35:143] = 255  # one row higher: a black row enters the crop
    Image.fromarray(shifted).save(tmp_path / "shifted.png")
    assert notebook["decode_face"]((tmp_path / "shifted.png").read_bytes()).numpy().min() < 255


def test_corrupt_and_unreadable_files_are_skipped_and_counted(notebook, tmp_path):
    _write_images(tmp_path)
    (tmp_path / "garbage.jpg").write_bytes(b"definitely not a jpeg")
    good = (tmp_path / "face_0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (tmp_path / "empty.png").write_bytes(b"")
    paths, images, skipped = _read_folder(notebook, tmp_path)
    assert len(paths) == 7 and len(images) == 4  # the cached pipeline serves only the good ones
    assert sorted(path.name for path in skipped) == ["empty.png", "garbage.jpg", "truncated.jpg"]


def test_each_file_is_decoded_once_then_served_from_the_cache(notebook, tmp_path):
    paths = write_synthetic_faces(tmp_path / "faces", count=5)
    faces, _ = notebook["read_faces"](paths)
    shutil.rmtree(tmp_path / "faces")
    assert len(list(faces)) == 5 and len(list(faces)) == 5  # every pass, with the files gone


def test_missing_folder_says_where_to_get_celeba(notebook, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        notebook["find_image_files"](tmp_path / "celeba")
    message = str(error.value)
    assert "img_align_celeba.zip" in message and "GAN_CELEBA_DIR" in message and "mmlab.ie.cuhk.edu.hk" in message
    assert str(tmp_path / "celeba") in message  # the absolute path the notebook looked in
    assert error.value.__cause__ is None and error.value.__context__ is None  # no TensorFlow traceback behind it


def test_a_file_instead_of_a_folder_is_explained(notebook, tmp_path):
    image_file = write_synthetic_faces(tmp_path, count=1)[0]
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        notebook["find_image_files"](image_file)


def test_empty_folder_and_folder_of_only_corrupt_files_stop_with_advice(notebook, tmp_path):
    with pytest.raises(FileNotFoundError, match="has no image files") as error:
        notebook["find_image_files"](tmp_path)
    assert "Download" in str(error.value)
    (tmp_path / "a.jpg").write_bytes(b"nope")
    (tmp_path / "b.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="None of the 2 image files could be read") as error:
        notebook["read_faces"](notebook["find_image_files"](tmp_path))
    assert "a.jpg" in str(error.value) and "Download CelebA again" in str(error.value)


def test_a_zip_archive_is_unpacked_once_and_read(notebook, tmp_path):
    source = tmp_path / "img_align_celeba"
    write_synthetic_faces(source, count=3)
    archive = Path(shutil.make_archive(str(tmp_path / "download" / "img_align_celeba"), "zip", str(tmp_path), "img_align_celeba"))
    paths = notebook["find_image_files"](archive)
    unpacked = tmp_path / "download" / "img_align_celeba"
    assert len(paths) == 3 and all(unpacked in path.parents for path in paths)
    assert not (tmp_path / "download" / "img_align_celeba.partial").exists()
    (unpacked / "img_align_celeba" / "synthetic_000.jpg").unlink()  # unpacked once: the folder is used as it is
    assert len(notebook["find_image_files"](archive)) == 2
    faces, skipped = notebook["read_faces"](notebook["find_image_files"](archive))
    assert len(list(faces)) == 2 and skipped == []


def test_synthetic_faces_are_celeba_sized_jpegs_plus_requested_corrupt_files(notebook, tmp_path):
    paths = write_synthetic_faces(tmp_path, count=3, corrupt=1, seed=1)
    assert [p.name for p in paths] == ["synthetic_000.jpg", "synthetic_001.jpg", "synthetic_002.jpg", "corrupt_0.jpg"]
    assert Image.open(paths[0]).size == (178, 218) and Image.open(paths[0]).mode == "RGB"
    _, images, skipped = _read_folder(notebook, tmp_path)
    assert len(images) == 3 and [p.name for p in skipped] == ["corrupt_0.jpg"]


def test_the_suite_gives_notebook_05_drawn_faces_and_a_batch_that_fits(notebook):
    folder = Path(os.environ["GAN_CELEBA_DIR"])  # set by the root conftest.py
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 9 and "corrupt_0.jpg" in names
    assert notebook["smoke_test"] and notebook["BATCH_SIZE"] <= 8 and notebook["CELEBA_DIR"] == folder


def test_celeba_networks_map_noise_to_faces_and_faces_to_logits(notebook):
    generator = notebook["build_celeba_generator"](100)
    discriminator = notebook["build_celeba_discriminator"]()
    faces = generator(np.random.default_rng(0).normal(size=(2, 100)).astype("float32"), training=False)
    logits = discriminator(faces, training=False)
    assert tuple(faces.shape) == (2, 28, 28, 3) and float(np.max(np.abs(faces))) <= 1.0
    assert tuple(logits.shape) == (2, 1) and logits.dtype == "float32"
    assert generator.count_params() == 22_289_155 and discriminator.count_params() == 1_034_881
    assert generator.layers[0].units == 7 * 7 * 1024
    transposed = [layer for layer in generator.layers if "conv2d_transpose" in layer.name]
    assert [layer.filters for layer in transposed] == [512, 256, 128, 3]
    assert [layer.output.shape[1] for layer in transposed] == [14, 28, 28, 28]
    assert transposed[-1].activation.__name__ == "tanh"
    assert sum("dropout" in layer.name for layer in generator.layers) == 4  # every layer but the output
    convolutions = [layer for layer in discriminator.layers if layer.name.startswith("conv2d")]
    assert [layer.filters for layer in convolutions] == [64, 128, 256]
    assert sum("batch_normalization" in layer.name for layer in discriminator.layers) == 2  # none on the input layer
    assert discriminator.layers[-1].activation.__name__ == "linear"  # a logit: the sigmoid is in the loss


def test_fewer_images_than_a_batch_stop_with_a_clear_error(notebook, tmp_path):
    write_synthetic_faces(tmp_path, count=8, corrupt=1)
    faces, skipped = notebook["read_faces"](notebook["find_image_files"](tmp_path))
    count = 9 - len(skipped)
    with pytest.raises(ValueError, match=r"Only 8 images were read, fewer than the batch size 64") as error:
        notebook["batch_faces"](faces, count, 64)
    assert "BATCH_SIZE to 8 or less" in str(error.value) and "GAN_CELEBA_LIMIT" in str(error.value)
    batches = list(notebook["batch_faces"](faces, count, 3, seed=0))  # a batch that fits: full batches only
    assert [tuple(batch.shape) for batch in batches] == [(3, 28, 28, 3), (3, 28, 28, 3)]


def _notebook_and_client(environment, output_dir, epochs):
    """Notebook 05 without its stored outputs, and a client that runs it with ``environment``'s overrides."""
    environment = dict(environment, GAN_EPOCHS=str(epochs), GAN_OUTPUT_DIR=str(output_dir))
    path = notebook_path(NOTEBOOK)
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # the checked cell's stored output and count, gone: only this run's remain
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    return notebook, client, environment


def _printed(cell):
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


async def _run_until_error(environment, output_dir):
    """Run notebook 05 outside smoke mode (GAN_SMOKE_TEST unset); return its code cells and the one that failed."""
    environment = {name: value for name, value in environment.items() if name != "GAN_SMOKE_TEST"}
    notebook, client, environment = _notebook_and_client(environment, output_dir, epochs=1)
    with pytest.raises(CellExecutionError):
        await client.async_execute(env=environment)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    failed = [cell for cell in code if any(out.output_type == "error" for out in cell.outputs)]
    assert len(failed) == 1
    assert not any(cell.execution_count for cell in code[code.index(failed[0]) + 1:])  # nothing ran after it
    return code, failed[0], next(out for out in failed[0].outputs if out.output_type == "error")


def test_notebook_stops_early_with_a_clear_error_on_too_few_images_or_none(tmp_path):
    """The reported crash: 8 faces at batch 64 gave 0 steps, then ZeroDivisionError and KeyError 'd_loss'.

    With the real BATCH_SIZE 64 and 8 faces, the first cell that batches stops with the ValueError, before
    any network trains; with no CelebA folder, the first cell that lists files says where to get CelebA.
    """
    faces = tmp_path / "faces"
    write_synthetic_faces(faces, count=8, corrupt=1)

    async def both():  # two kernels at once: most of the time is their start-up
        return await asyncio.gather(
            _run_until_error(dict(os.environ, GAN_CELEBA_DIR=str(faces)), tmp_path / "few"),
            _run_until_error(dict(os.environ, GAN_CELEBA_DIR=str(tmp_path / "celeba")), tmp_path / "none"))

    (code, failed, error), (_, no_folder_failed, no_folder_error) = asyncio.run(both())
    assert error.ename == "ValueError", f"{error.ename}: {error.evalue}"
    assert "Only 8 images were read, fewer than the batch size 64" in error.evalue
    assert failed is next(cell for cell in code if "= batch_faces(" in cell.source)  # the first cell that batches
    assert not (tmp_path / "few" / "05_celeba_faces" / "frames").exists()  # nothing trained

    assert no_folder_error.ename == "FileNotFoundError"
    assert "does not exist" in no_folder_error.evalue and "img_align_celeba.zip" in no_folder_error.evalue
    assert "image_paths = find_image_files(" in no_folder_failed.source  # the first cell that lists files


def test_a_second_run_continues_after_the_first_runs_checkpoint_and_saves_the_generator(notebook, tmp_path):
    """Run in smoke mode for 1 epoch, then again for 2 in the same folder: the second run trains epoch 2 only,
    and the generator file it saves is the checkpoint's generator after epoch 2."""
    import keras

    output_dir = tmp_path / "outputs"
    runs = []
    for epochs in (1, 2):
        executed, client, environment = _notebook_and_client(os.environ, output_dir, epochs)
        client.execute(env=environment)
        runs.append([cell for cell in executed.cells if cell.cell_type == "code"])
    starts = [_printed(next(cell for cell in code if "checkpoint.start(" in cell.source)) for code in runs]
    assert "Starting from scratch" in starts[0] and "Continuing after epoch 1 of 2" in starts[1], starts
    second_fit = _printed(next(cell for cell in runs[1] if "gan.fit(" in cell.source))
    assert "Epoch 2/2" in second_fit and "Epoch 1/2" not in second_fit, second_fit

    folder = output_dir / NOTEBOOK
    assert sorted(path.name for path in (folder / "frames").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert len(json.loads((folder / "checkpoints" / "history.json").read_text())["d_loss"]) == 2
    restored = training.GAN(notebook["build_celeba_generator"](100), notebook["build_celeba_discriminator"](), 100)
    restored.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    assert callbacks.GANCheckpoint(restored, folder / "checkpoints").restore_latest() == 2
    saved = models.load_generator(folder / "celeba_generator.keras", latent_dim=100, image_shape=(28, 28, 3))
    noise = np.random.default_rng(0).normal(size=(2, 100)).astype("float32")
    np.testing.assert_allclose(saved(noise, training=False), restored.generator(noise, training=False), atol=1e-6)
    assert not list(folder.glob(".*.partial.keras"))


def test_setup_sets_memory_growth_on_every_gpu(monkeypatch):
    import tensorflow as tf

    gpus = [tf.config.PhysicalDevice(name=f"/physical_device:GPU:{n}", device_type="GPU") for n in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    set_on = []
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda gpu, enabled: set_on.append((gpu.name, enabled)))
    setup = next(cell for cell in code_cells(NOTEBOOK) if "set_memory_growth" in cell.source)
    exec(setup.source, {"tf": tf})
    assert set_on == [(gpu.name, True) for gpu in gpus]
