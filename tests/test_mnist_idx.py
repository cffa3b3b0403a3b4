"""benchmarks/mnist_idx.py: all 60,000 MNIST digits from their original IDX files, offline."""

import gzip

import numpy as np
import pytest

from benchmarks.mnist_idx import load_mnist_idx
from gan_utils import data


def write_idx(path, array):
    """An IDX file as MNIST's are written: 00 00 08 (unsigned bytes), the number of dimensions, each size, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_files_load_as_the_same_digits(tmp_path, suffix):
    images, labels = data.load_mnist_sample()
    pixels = np.rint(images[..., 0] * 127.5 + 127.5).astype(np.uint8)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", pixels)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels)
    loaded_images, loaded_labels = load_mnist_idx(tmp_path, split="test")
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist_idx(tmp_path)  # the train pair is not there


def test_mnist_idx_refuses_other_files_and_cut_files(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04 a zip, not IDX")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5))
    with pytest.raises(ValueError, match="not an IDX file"):
        load_mnist_idx(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 28, 28)))
    cut = (tmp_path / "train-images-idx3-ubyte").read_bytes()[:-28]
    (tmp_path / "train-images-idx3-ubyte").write_bytes(cut)
    with pytest.raises(ValueError, match="cut short"):
        load_mnist_idx(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match="do not belong together"):
        load_mnist_idx(tmp_path)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist_idx(tmp_path, split="validation")
