import gzip
import os

import numpy as np
import pytest

from gan_utils import data


def test_shipped_sample_is_real_balanced_digits_in_unit_range():
    images, labels = data.load_mnist("sample")
    assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels, minlength=10).tolist() == [100] * 10
    # Real digits: mostly background, with a stroke of a few hundred pixels in each image.
    ink = (images > 0).reshape(len(images), -1).sum(axis=1)
    assert 40 < ink.mean() < 250


def test_source_switch_reads_the_environment(monkeypatch):
    monkeypatch.setenv(data.DATA_SOURCE_ENV, "sample")
    images, _ = data.load_mnist()
    assert len(images) == 1000
    monkeypatch.setenv(data.DATA_SOURCE_ENV, "somewhere-else")
    with pytest.raises(ValueError, match="'keras', 'sample' or a folder of MNIST's IDX files, got 'somewhere-else'"):
        data.load_mnist()
    with pytest.raises(ValueError, match="'keras' or 'sample', got 'somewhere-else'"):
        data.load_fashion_mnist(None)  # Fashion-MNIST has no IDX folder source


def test_to_unit_range_maps_0_and_255_to_the_ends():
    scaled = data.to_unit_range(np.array([[[0, 255], [127, 128]]], dtype=np.uint8))
    assert scaled.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(scaled[0, :, :, 0], [[-1.0, 1.0], [-0.5 / 127.5, 0.5 / 127.5]], rtol=1e-6)


def _write_idx(path, array, header_bytes):
    with gzip.open(path, "wb") as file:
        file.write(b"\0" * header_bytes + array.tobytes())


def test_fashion_mnist_loads_through_keras_from_the_local_cache():
    """The real loading path, offline: keras.datasets reads files already in the cache folder."""
    folder = data.keras_cache_dir() / "fashion-mnist"
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    for split in ("train", "t10k"):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", images, 16)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels, 8)
    try:
        loaded, loaded_labels = data.load_fashion_mnist()
    finally:
        for file in folder.iterdir():
            file.unlink()
    assert loaded.shape == (5, 28, 28, 1) and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded[..., 0], (images - 127.5) / 127.5)
    assert loaded_labels.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 28, 28), np.float32), "channels"),
        (np.zeros((0, 28, 28, 1), np.float32), "empty"),
        (np.zeros((4, 28, 28, 1), np.uint8), "dtype uint8"),
        (np.full((4, 28, 28, 1), 255.0, np.float32), r"\[-1, 1\]"),
        (np.full((4, 28, 28, 1), np.nan, np.float32), r"\[-1, 1\]"),
    ],
)
def test_check_images_rejects_bad_input_with_advice(images, message):
    with pytest.raises(ValueError, match=message):
        data.check_images(images)


def test_check_images_compares_the_expected_shape():
    with pytest.raises(ValueError, match=r"shaped \(N, 28, 28, 1\), got \(2, 32, 32, 3\)"):
        data.check_images(np.zeros((2, 32, 32, 3), np.float32), image_shape=(28, 28, 1))


def test_dataset_gives_full_batches_in_unit_range():
    images, _ = data.load_mnist("sample")
    dataset = data.make_dataset(images[:100], batch_size=32, seed=0)
    batches = [batch.numpy() for batch in dataset]
    assert [len(batch) for batch in batches] == [32, 32, 32]  # the partial batch of 4 is dropped
    assert all(batch.min() >= -1.0 and batch.max() <= 1.0 for batch in batches)


def test_dataset_refuses_too_few_images_and_bad_batch_size():
    images = np.full((10, 28, 28, 1), -1.0, np.float32)
    with pytest.raises(ValueError, match="Only 10 images"):
        data.make_dataset(images, batch_size=32)
    with pytest.raises(ValueError, match="positive"):
        data.make_dataset(images, batch_size=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        data.make_dataset(images + 5, batch_size=2)


@pytest.mark.parametrize("low, high, accepted", [
    (-1.0, 1.0, True),  # both ends are in range
    (-1.0001, 1.0, False), (-1.0, 1.0001, False),  # just past either end
    (-3.0, 0.5, False), (0.0, 255.0, False), (-np.inf, 0.0, False),
])
def test_check_images_accepts_both_ends_of_the_range_and_nothing_past_either(low, high, accepted):
    images = np.zeros((2, 4, 4, 1), np.float32)
    images[0, 0, 0, 0], images[1, 3, 3, 0] = low, high
    if accepted:
        np.testing.assert_array_equal(data.check_images(images), images)
    else:
        with pytest.raises(ValueError, match=rf"got values from {low:g}.* to {high:g}"):
            data.check_images(images)
