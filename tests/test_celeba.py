"""Notebook 05: the face-folder loader (good, corrupt, missing, empty) and article 001's networks."""

import numpy as np
import pytest
from PIL import Image

from gan_utils import callbacks, data, models, training


def _write_images(folder):
    """Two JPEGs of CelebA's size (178x218), a small PNG, a grayscale PNG in a subfolder."""
    rng = np.random.default_rng(0)
    for index in range(2):
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / f"face_{index}.jpg")
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(folder / "small.png")
    (folder / "more").mkdir()
    Image.fromarray(np.full((64, 64), 200, np.uint8)).save(folder / "more" / "gray.png")


def test_folder_of_good_images_gives_28x28_rgb_faces_in_unit_range(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image suffix: ignored, not counted")
    faces = data.load_face_folder(tmp_path)
    images = np.stack(list(faces.dataset.as_numpy_iterator()))
    assert faces.count == 4 and faces.skipped == [] and "none skipped" in faces.summary()
    assert images.shape == (4, 28, 28, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    gray = images[[p.name for p in faces.paths].index("gray.png")]
    np.testing.assert_allclose(gray, (200 - 127.5) / 127.5, atol=1e-6)  # grayscale became RGB


def test_face_crop_takes_the_central_108_square_as_the_article_does(tmp_path):
    image = np.zeros((218, 178, 3), np.uint8)
    image[55:163, 35:143] = 255  # exactly the central 108x108 square is white
    Image.fromarray(image).save(tmp_path / "face.png")
    face = next(data.load_face_folder(tmp_path).dataset.as_numpy_iterator())
    assert face.min() == 1.0  # nothing outside the crop came in


def test_corrupt_and_unreadable_files_are_skipped_and_counted(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "garbage.jpg").write_bytes(b"definitely not a jpeg")
    good = (tmp_path / "face_0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (tmp_path / "empty.png").write_bytes(b"")
    faces = data.load_face_folder(tmp_path)
    assert faces.count == 4
    assert sorted(path.name for path in faces.skipped) == ["empty.png", "garbage.jpg", "truncated.jpg"]
    assert "skipped 3 corrupt or unreadable" in faces.summary() and "garbage.jpg" in faces.summary()
    assert len(list(faces.dataset)) == 4  # and the cached pipeline serves only the good ones


def test_missing_folder_says_where_to_get_celeba(tmp_path):
    with pytest.raises(data.ImageFolderError, match="does not exist") as error:
        data.load_face_folder(tmp_path / "celeba")
    assert "img_align_celeba.zip" in str(error.value) and "GAN_CELEBA_DIR" in str(error.value)
    assert error.value.__cause__ is None and error.value.__context__ is None  # no TensorFlow traceback behind it


def test_a_file_instead_of_a_folder_and_a_bad_limit_are_explained(tmp_path):
    image_file = data.write_synthetic_faces(tmp_path, count=1)[0]
    with pytest.raises(data.ImageFolderError, match="is a file, not a folder"):
        data.load_face_folder(image_file)
    with pytest.raises(ValueError, match="limit"):
        data.load_face_folder(tmp_path, limit=0)
    assert data.load_face_folder(tmp_path, limit=1).count == 1


def test_empty_folder_and_folder_of_only_corrupt_files_stop_with_advice(tmp_path):
    with pytest.raises(data.ImageFolderError, match="has no image files"):
        data.load_face_folder(tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"nope")
    (tmp_path / "b.png").write_bytes(b"nope")
    with pytest.raises(data.ImageFolderError, match="None of the 2 image files") as error:
        data.load_face_folder(tmp_path)
    assert error.value.__cause__ is None and "Download" in str(error.value)


def test_a_zip_archive_is_unpacked_once_and_read(tmp_path):
    import shutil

    source = tmp_path / "img_align_celeba"
    source.mkdir()
    data.write_synthetic_faces(source, count=3)
    archive = shutil.make_archive(str(tmp_path / "download" / "img_align_celeba"), "zip", str(tmp_path), "img_align_celeba")
    faces = data.load_face_folder(archive)
    assert faces.count == 3 and (tmp_path / "download" / "img_align_celeba").is_dir()


def test_synthetic_faces_are_celeba_sized_jpegs_plus_requested_corrupt_files(tmp_path):
    paths = data.write_synthetic_faces(tmp_path, count=3, corrupt=1, seed=1)
    assert [p.name for p in paths] == ["synthetic_000.jpg", "synthetic_001.jpg", "synthetic_002.jpg", "corrupt_0.jpg"]
    assert Image.open(paths[0]).size == (178, 218) and Image.open(paths[0]).mode == "RGB"
    faces = data.load_face_folder(tmp_path)
    assert faces.count == 3 and [p.name for p in faces.skipped] == ["corrupt_0.jpg"]


def test_celeba_networks_map_noise_to_faces_and_faces_to_probabilities():
    generator = models.build_celeba_generator(100)
    discriminator = models.build_celeba_discriminator((28, 28, 3))
    faces = generator(np.random.default_rng(0).normal(size=(2, 100)).astype("float32"), training=False)
    scores = discriminator(faces, training=False)
    assert tuple(faces.shape) == (2, 28, 28, 3) and float(np.max(np.abs(faces))) <= 1.0
    assert tuple(scores.shape) == (2, 1) and 0.0 < float(np.min(scores)) and float(np.max(scores)) < 1.0
    transposed = [layer for layer in generator.layers if "conv2d_transpose" in layer.name]
    assert [layer.filters for layer in transposed] == [512, 256, 128, 3]
    assert generator.layers[0].units == 7 * 7 * 1024
    convolutions = [layer for layer in discriminator.layers if layer.name.startswith("conv2d")]
    assert len(convolutions) + 1 == 4  # three convolutions and the sigmoid unit
    with pytest.raises(ValueError, match="dropout"):
        models.build_celeba_generator(dropout=1.5)


def test_generator_saved_after_each_epoch_loads_in_safe_mode(tmp_path):
    import keras
    import tensorflow as tf

    # The small networks of notebook 03 (the callback works for any GAN; CelebA's generator is slow to train on a CPU).
    gan = training.GAN(models.build_fashion_mnist_generator(8), models.build_fashion_mnist_discriminator(), from_logits=False, seed=0)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    images = tf.data.Dataset.from_tensor_slices(np.zeros((2, 28, 28, 1), np.float32)).batch(2)
    path = tmp_path / "generator.keras"
    gan.fit(images, epochs=1, verbose=0, callbacks=[callbacks.SaveGeneratorCallback(path)])
    loaded = keras.models.load_model(path, safe_mode=True)
    noise = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    np.testing.assert_allclose(loaded(noise, training=False), gan.generator(noise, training=False), atol=1e-6)
    assert not list(tmp_path.glob("*.partial.keras"))
    with pytest.raises(ValueError, match=".keras"):
        callbacks.SaveGeneratorCallback(tmp_path / "generator.h5")
