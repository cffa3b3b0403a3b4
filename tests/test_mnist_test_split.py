"""MNIST's 10,000 test digits, the series' held-out real digits: from Keras, from IDX files, or the shipped 1,000."""

import keras
import numpy as np
import pytest

from gan_utils import data
from tests.test_mnist_idx import write_idx


def pixels(images):
    return np.rint(images[..., 0] * 127.5 + 127.5).astype(np.uint8)


def test_the_shipped_test_digits_are_balanced_real_digits_none_of_them_a_shipped_training_digit():
    images, labels = data.load_mnist_test("sample")
    assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels, minlength=10).tolist() == [100] * 10
    ink = (images > 0).reshape(len(images), -1).sum(axis=1)  # a stroke of some hundred pixels, as real digits have
    assert 40 < ink.mean() < 250
    assert len({image.tobytes() for image in pixels(images)}) == 1000
    training = {image.tobytes() for image in pixels(data.load_mnist("sample")[0])}
    assert not training & {image.tobytes() for image in pixels(images)}


def test_sample_source_gives_the_shipped_test_digits_also_through_gan_data(monkeypatch):
    expected, expected_labels = data.load_mnist_test("sample")
    monkeypatch.setenv(data.DATA_SOURCE_ENV, "sample")
    images, labels = data.load_mnist_test()
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, expected_labels)
    assert not np.array_equal(images, data.load_mnist()[0])


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_folder_of_idx_files_gives_the_t10k_files_as_test_digits_and_the_train_files_as_training_digits(tmp_path, suffix):
    train_images, train_labels = data.load_mnist("sample")
    test_images, test_labels = data.load_mnist_test("sample")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        data.load_mnist_test(tmp_path)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", pixels(train_images))
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", train_labels)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", pixels(test_images[:300]))
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", test_labels[:300])
    images, labels = data.load_mnist_test(tmp_path)
    np.testing.assert_array_equal(images, test_images[:300])
    np.testing.assert_array_equal(labels, test_labels[:300])
    np.testing.assert_array_equal(data.load_mnist(tmp_path)[0], train_images)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load_mnist_idx(tmp_path, split="t10k")


def test_keras_source_gives_the_test_split_of_keras_datasets_mnist(monkeypatch):
    """keras.datasets.mnist.load_data returns (train, test); load_mnist_test must take the second."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.arange(6, dtype=np.uint8)
    test = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), np.array([9, 8, 7, 6], dtype=np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (train, test))
    images, labels = data.load_mnist_test("keras")
    np.testing.assert_allclose(images[..., 0], (test[0] - 127.5) / 127.5)
    assert labels.tolist() == [9, 8, 7, 6]
    assert data.load_mnist("keras")[1].tolist() == list(range(6))


def test_a_failed_download_of_the_test_digits_says_where_to_put_the_file(monkeypatch):
    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError, match="mnist.npz"):
        data.load_mnist_test("keras")
